"""Sphinx configuration: the API reference from the numpydoc docstrings, the Markdown pages
through myst-parser, and the gallery of examples/ executed at build time (sphinx-gallery).
Nothing is fetched from the network: the built-in alabaster theme, no intersphinx."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).parent / "_ext")]
# the gallery's examples run torch on these shared cores: one thread each is faster there
os.environ.setdefault("OMP_NUM_THREADS", "1")

project = "sliced-bench"
author = "the sliced-bench developers"
copyright = "the sliced-bench developers"

extensions = [
    "sphinx.ext.autodoc",
    "plainmath",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5"]
html_theme = "alabaster"
# MathJax would come from a CDN: the pages show the maths as LaTeX source instead
html_math_renderer = "plainmath"
html_static_path = []

autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_xref_param_type = False

myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath"]

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # every example is executed
    "abort_on_example_error": True,
    "write_computation_times": False,
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
}
