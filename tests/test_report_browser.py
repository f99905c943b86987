"""The HTML report of a run, opened in headless Chromium through the DevTools protocol.

Marked ``browser``: CI installs Debian's ``chromium`` (``.ci/run``); elsewhere the tests are
skipped with the reason. What a person would see is checked in the browser itself: every image
decoded (non-zero natural size), every link resolving to a file of the run, no console error or
failed load; a screenshot of the page is left in the run's folder.
"""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from validation.browser import CHROMIUM, open_report, problems
from validation.cli import COMMANDS, build_parser, main
from validation.report import ASV_HTML, REPORT

SCREENSHOT = "report_screenshot.png"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on PATH (CI installs Debian's "
                       "chromium: `apt-get install chromium`)"),
]


def _quick_all(out: Path, monkeypatch, asv_results: Path) -> int:
    """``sliced-bench all`` with each command's quick form made smaller still: the real
    commands, through the real ``all``, on less work (``validate --quick --only slicing``,
    ``curves --from-asv`` on asv results written here, ``rae --quick`` on three methods, one
    epoch and three seeds so that the verdict column holds tests)."""
    from test_curves import write_asv_results

    write_asv_results(asv_results)
    smaller = {"validate": ["--only", "slicing"], "curves": ["--from-asv", str(asv_results)],
               "rae": ["--methods", "none", "sw", "sfg", "--epochs", "1", "--seeds", "3"]}
    parser = build_parser()
    for name, extra in smaller.items():
        module = importlib.import_module(COMMANDS[name][0])

        def run(args, _run=module.run, _name=name, _extra=extra):
            argv = [_name, "--out", str(args.out), "--seed", str(args.seed), *_extra]
            if _name != "curves":  # curves --from-asv does no sweep: --quick has no effect
                argv.append("--quick")
            return _run(parser.parse_args(argv))
        monkeypatch.setattr(module, "run", run)
    return main(["all", "--out", str(out)])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "results"
    with pytest.MonkeyPatch.context() as monkeypatch:
        _quick_all(out, monkeypatch, out.parent / "asv")
    return out


def test_the_report_of_a_quick_run_loads_fully_in_chromium(quick_run, tmp_path):
    found = open_report(quick_run, tmp_path / "profile", quick_run / SCREENSHOT)
    assert problems(found, quick_run) == []
    manifest = json.loads((quick_run / "manifest.json").read_text())
    linked = {Path(unquote(urlparse(h).path)).relative_to(quick_run.resolve()).as_posix()
              for h in found["links"] if Path(unquote(urlparse(h).path)) != ASV_HTML.resolve()}
    assert set(manifest["files"]) | {"manifest.json"} <= linked
    pngs = [f for f in manifest["files"] if f.endswith(".png")]
    assert len(found["images"]) == len(pngs) >= 5  # the curves' and the RAE's figures
    assert (quick_run / SCREENSHOT).stat().st_size > 10_000
    for sub in ("validate", "curves", "rae"):  # each command's own page too
        assert problems(open_report(quick_run / sub, tmp_path / f"profile-{sub}"),
                        quick_run) == []


def test_the_browser_check_catches_a_broken_image_a_dead_link_and_a_script_error(quick_run,
                                                                                tmp_path):
    # the mutation: the same checks on a copy of the run with a truncated figure, a link to a
    # missing file and a script that fails; each must be reported
    broken = tmp_path / "broken"
    shutil.copytree(quick_run, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    png = broken / next(f for f in manifest["files"] if f.endswith(".png"))
    png.write_bytes(png.read_bytes()[:100])
    page = (broken / REPORT).read_text().replace(
        "</body>", '<a href="gone.csv">gone</a><script>console.error("boom")</script></body>')
    (broken / REPORT).write_text(page)
    found = problems(open_report(broken, tmp_path / "profile"), broken)
    assert any(p.startswith("image not loaded") and png.name in p for p in found), found
    assert any("link not to a file of the run" in p and "gone.csv" in p for p in found), found
    assert any(p.startswith("console:") and "boom" in p for p in found), found
