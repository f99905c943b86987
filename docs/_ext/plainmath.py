"""Show the maths as its LaTeX source, in monospace: the offline alternative to MathJax (which
a page would load from a CDN). The docstrings write their formulas to be read as LaTeX."""

from docutils import nodes
from sphinx.application import Sphinx


def _inline(self, node: nodes.Element) -> None:
    self.body.append(self.starttag(node, "code", "", CLASS="math"))
    self.body.append(self.encode(node.astext()))
    self.body.append("</code>")
    raise nodes.SkipNode


def _block(self, node: nodes.Element) -> None:
    self.body.append(self.starttag(node, "pre", "", CLASS="math"))
    self.body.append(self.encode(node.astext()))
    self.body.append("</pre>\n")
    raise nodes.SkipNode


def setup(app: Sphinx) -> dict:
    app.add_html_math_renderer("plainmath", (_inline, None), (_block, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
