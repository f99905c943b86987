"""``index.html``: the page a person opens after a run, written beside the run's files.

Every command that writes ``--out`` ends with :func:`write_report` on its (staging) folder. The
page is plain HTML and CSS from a Jinja2 template, with no script and nothing fetched from the
network, so it opens from the file system, offline. It is generic over the run's files: each
file goes to a section of the page by the first rule of :data:`SECTIONS` its name matches, so a
command that renames or adds a file changes that table only. In order:

1. the verdict: the exit status of each command, the validation summary (failed checks on
   top) from ``report.json``, and the RAE table (with its verdict column) from ``rae*.md``;
2. the figures (``*.png``) inline;
3. the tables: the other Markdown files rendered, and every CSV as a table (its first rows);
4. links to every file of the run and to its ``manifest.json``, and to asv's published HTML
   when ``.asv/html/index.html`` exists in the folder the command was started from.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markdown_it import MarkdownIt

from validation.outdir import INCOMPLETE, MANIFEST

REPORT = "index.html"
#: the Markdown listing that ``sliced-bench all`` writes; the page lists it but does not render it
_LISTING = "index.md"
#: asv's published site, relative to the folder a command is started from (asv.conf.json)
ASV_HTML = Path(".asv/html/index.html")
#: CSV rows shown on the page; the link gives the whole file
CSV_ROWS = 15


@dataclass(frozen=True)
class Rule:
    """Files whose name matches ``pattern`` (:func:`fnmatch.fnmatch`, on the base name) go to
    ``section`` (``"verdict"``, ``"figures"`` or ``"tables"``), rendered as ``kind``
    (``"validation"``: a validate ``report.json``; ``"markdown"``, ``"image"``, ``"csv"``)."""

    pattern: str
    section: str
    kind: str


#: file name -> section of the page; the first matching rule wins, unmatched files are only
#: linked. The one place to change when a command renames its files.
SECTIONS: tuple[Rule, ...] = (
    Rule("report.json", "verdict", "validation"),
    Rule("rae*.md", "verdict", "markdown"),
    Rule("*.png", "figures", "image"),
    Rule("*.md", "tables", "markdown"),
    Rule("*.csv", "tables", "csv"),
)

_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _rule(name: str) -> Rule | None:
    return next((r for r in SECTIONS if fnmatch.fnmatch(name, r.pattern)), None)


def _validation(path: Path) -> dict:
    """Counts and failed checks of a validate ``report.json``."""
    data = json.loads(path.read_text())
    results = data.get("results", [])
    failed = [r for r in results if not r.get("passed")]
    return {"n": len(results), "n_failed": len(failed), "failed": failed,
            "seconds": data.get("seconds"), "quick": data.get("quick")}


def _csv(path: Path) -> dict:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    return {"header": header, "rows": body[:CSV_ROWS], "n_rows": len(body)}


def _render_markdown(text: str) -> str:
    """The Markdown as HTML, its headings moved two levels down so that they sit below the
    page's own sections (h2) and file titles (h3)."""
    html = _markdown.render(text)
    return re.sub(r"<(/?)h([1-6])>", lambda m: f"<{m[1]}h{min(int(m[2]) + 2, 6)}>", html)


def _item(folder: Path, rel: str, rule: Rule) -> dict:
    path = folder / rel
    item = {"path": rel, "kind": rule.kind}
    if rule.kind == "markdown":
        item["html"] = _render_markdown(path.read_text())
    elif rule.kind == "validation":
        item["summary"] = _validation(path)
    elif rule.kind == "csv":
        item["table"] = _csv(path)
    return item


def run_files(folder: Path) -> list[str]:
    """The files below ``folder`` that the page presents (relative POSIX paths, sorted): all of
    them but the page itself and a staging folder's ``INCOMPLETE.md`` (the files that
    :mod:`validation.outdir` lists in the manifest, less ``index.html``)."""
    return sorted(rel for p in folder.rglob("*") if p.is_file()
                  and (rel := p.relative_to(folder).as_posix()) not in (REPORT, INCOMPLETE))


def write_report(folder: Path, *, command: str, argv: list[str],
                 status: dict[str, tuple[int, float | None]], manifest: str = MANIFEST,
                 cwd: Path | None = None) -> Path:
    """Write ``folder/index.html`` for the run whose files are in ``folder``.

    Parameters
    ----------
    folder : pathlib.Path
        The run's folder (a staging folder: the page links ``manifest.json``, which the commit
        writes beside it).
    command : str
        The command, for the title (``"sliced-bench all"``).
    argv : list of str
        The command line, shown on the page.
    status : dict
        Command name -> (exit status, seconds or None), shown first.
    manifest : str
        The manifest that lists the files, relative to ``folder`` (``"../manifest.json"``
        for a sub-command's folder in ``sliced-bench all``).
    cwd : pathlib.Path, optional
        Where to look for asv's published HTML (``.asv/html/index.html``); default: the
        current folder.

    Returns
    -------
    path : pathlib.Path
        The page written.
    """
    files = run_files(folder)
    placed = sorted(((SECTIONS.index(rule), rel, rule) for rel in files
                     if (rule := _rule(Path(rel).name)) and Path(rel).name != _LISTING),
                    key=lambda t: t[:2])  # in each section: the rules' order, then the path
    sections: dict[str, list[dict]] = {"verdict": [], "figures": [], "tables": []}
    for _, rel, rule in placed:
        sections[rule.section].append(_item(folder, rel, rule))
    asv = (cwd or Path.cwd()) / ASV_HTML
    page = _env.get_template("report.html.j2").render(
        command=command, argv=" ".join(["sliced-bench", *argv]), status=status,
        sections=sections, files=files, manifest=manifest,
        asv=asv.resolve().as_uri() if asv.is_file() else None)
    path = folder / REPORT
    path.write_text(page)
    return path
