"""index.html: what goes where, failures first, offline, and written by every command."""

from __future__ import annotations

import importlib
import json
import re

from validation.cli import COMMANDS, main
from validation.report import CSV_ROWS, SECTIONS, write_report


def _run_folder(folder):
    folder.mkdir(parents=True, exist_ok=True)
    results = [{"group": "samplers", "name": "ks_vmf", "passed": True, "measured": "p=0.4",
                "criterion": "p > 0.01", "detail": ""},
               {"group": "spherical", "name": "cost_vs_sfg", "passed": False,
                "measured": "ratio 9.1", "criterion": "<= 1.3 (T + 1)", "detail": "<b>x</b>"}]
    (folder / "report.json").write_text(json.dumps({"quick": True, "seconds": 3.0,
                                                    "results": results}))
    (folder / "report.md").write_text("# Validation\n\n| check | ok |\n|---|---|\n| a | yes |\n")
    (folder / "rae_table.md").write_text("## RAE comparison\n\n| method | verdict |\n|---|---|\n"
                                         "| ssfg | **worse** |\n")
    (folder / "fig.png").write_bytes(b"\x89PNG not decoded here")
    (folder / "fig.svg").write_text("<svg/>")
    rows = "\n".join(f"{i},{i * i}" for i in range(40))
    (folder / "points.csv").write_text(f"x,y\n{rows}\n")


def test_sections_order_and_content(tmp_path):
    _run_folder(tmp_path)
    page = write_report(tmp_path, command="sliced-bench all", argv=["all"],
                        status={"validate": (1, 3.0), "rae": (0, 9.0)}, cwd=tmp_path).read_text()
    order = [page.index(s) for s in ("1 of 2 checks failed", "cost_vs_sfg",
                                     "RAE comparison", 'id="figures"', '<img src="fig.png"',
                                     'id="tables"', "points.csv", 'id="files"')]
    assert order == sorted(order)  # the failure first, then the RAE verdict, figures, tables
    assert "ks_vmf" not in page.split('id="figures"')[0]  # passed checks are not in the verdict
    assert "&lt;b&gt;x&lt;/b&gt;" in page  # a check's text is escaped, never markup
    assert "<strong>worse</strong>" in page  # the Markdown table is rendered
    assert f"40 row(s), the first {CSV_ROWS} shown" in page
    assert page.count("<td>39</td>") == 0 and "<td>14</td>" in page
    links = re.findall(r'(?:href|src)="([^"]+)"', page)
    assert not [u for u in links if "://" in u]  # offline: nothing from the network
    files = {"fig.png", "fig.svg", "points.csv", "rae_table.md", "report.json", "report.md",
             "manifest.json"}
    assert files <= set(links)
    assert "asv" not in page.split('id="files"')[1]  # no .asv/html here


def test_the_asv_site_is_linked_when_it_exists(tmp_path):
    run, cwd = tmp_path / "run", tmp_path / "repo"
    _run_folder(run)
    (cwd / ".asv" / "html").mkdir(parents=True)
    (cwd / ".asv" / "html" / "index.html").write_text("asv")
    page = write_report(run, command="c", argv=[], status={}, cwd=cwd).read_text()
    assert f'href="{(cwd / ".asv/html/index.html").as_uri()}"' in page


def test_every_rule_places_a_file_name_the_commands_write():
    # the mapping's patterns against the names validate, curves and rae write today
    names = {"report.json": "verdict", "rae_table.md": "verdict", "curves.png": "figures",
             "slicing_equal_time.md": "tables", "rae_runs.csv": "tables"}
    from validation.report import _rule
    assert {n: _rule(n).section for n in names} == names
    assert len({r.pattern for r in SECTIONS}) == len(SECTIONS)


def test_a_single_command_writes_its_page_and_lists_it(tmp_path, monkeypatch, capsys):
    def run(args):
        _run_folder(args.out)
        return 1
    monkeypatch.setattr(importlib.import_module(COMMANDS["validate"][0]), "run", run)
    out = tmp_path / "v"
    assert main(["validate", "--out", str(out)]) == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert "index.html" in manifest["files"]
    page = (out / "index.html").read_text()
    assert "1 (failed)" in page and "sliced-bench validate --out" in page
    assert f"report: {out / 'index.html'}" in capsys.readouterr().out


def test_a_page_that_cannot_be_written_costs_the_page_not_the_run(tmp_path, monkeypatch,
                                                                    capsys):
    # mutation caught: the report's exception propagating (the run left incomplete, its
    # results never moved into --out)
    from validation import report

    def run(args):
        _run_folder(args.out)
        return 0

    def broken(folder, **kwargs):
        raise RuntimeError("template missing")
    monkeypatch.setattr(importlib.import_module(COMMANDS["rae"][0]), "run", run)
    monkeypatch.setattr(report, "write_report", broken)
    out = tmp_path / "r"
    assert main(["rae", "--out", str(out)]) == 0
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert "rae_table.md" in files and "index.html" not in files
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "warning: no index.html" in err[0] and "template missing" in err[0]
    assert "report:" not in captured.out
