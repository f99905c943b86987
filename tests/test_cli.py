"""The command line wiring."""

import json

import pytest

from validation.cli import COMMANDS, SEED_MAX, build_parser


def test_every_command_parses_common_options():
    parser = build_parser()
    for name in ("validate", "curves", "rae", "all"):
        args = parser.parse_args([name, "--seed", "3", "--device", "cpu"])
        assert args.seed == 3 and args.device == "cpu"


def test_bad_device_is_rejected(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["validate", "--device", "tpu"])
    assert "--device" in capsys.readouterr().err


@pytest.mark.parametrize("only", [["samplers", "sampler"], []])
def test_validate_rejects_unknown_or_empty_groups(only, tmp_path, capsys):
    from validation import validate

    args = build_parser().parse_args(["validate", "--out", str(tmp_path), "--only", *only])
    assert validate.run(args) == 2
    err = capsys.readouterr().err
    assert "--only" in err
    assert ("choose from discrepancies, distributional, energy, samplers, slicing, "
            "spherical") in err
    assert not (tmp_path / "report.json").exists()


# --- errors and output folders, through main() --------------------------------------------------

def _main(argv: list[str], capsys) -> tuple[int, str, str]:
    """main's exit status (argparse's SystemExit included), stdout and stderr."""
    from validation.cli import main

    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def no_work(monkeypatch):
    """Every command's run fails the test if it starts: these errors come before the work."""
    import importlib

    def started(args):
        raise AssertionError("the work started")

    for module, _ in COMMANDS.values():
        monkeypatch.setattr(importlib.import_module(module), "run", started)


@pytest.mark.parametrize(("argv", "message"), [
    # mutation caught for each: the check removed (a traceback, or the work starts)
    (["curves", "--seed", "-1"], "argument --seed: must be an integer from 0 to 2**32 - 1"),
    (["rae", "--seed", str(2**64)], "got '18446744073709551616'"),
    (["validate", "--seed", str(2**32)], "got '4294967296'"),  # mutation: <= SEED_MAX + 1
    (["all", "--seed", "1.5"], "argument --seed"),
    (["validate", "--device", "tpu"], "argument --device: must be 'cpu' or 'cuda[:i]'"),
    (["rae", "--device", "cuda:x"], "argument --device"),
    (["rae", "--epochs", "0"], "argument --epochs: must be a positive integer"),
    (["nosuch"], "invalid choice: 'nosuch'"),
])
def test_bad_options_are_one_line_and_exit_2_before_any_work(argv, message, capsys, no_work):
    code, _, err = _main(argv, capsys)
    line = _one_line(err)
    assert code == 2 and message in line and line.startswith("sliced-bench")


def test_the_seed_range_is_inclusive():
    for seed in (0, SEED_MAX):
        assert build_parser().parse_args(["rae", "--seed", str(seed)]).seed == seed


@pytest.mark.parametrize("command", ["validate", "curves", "rae", "all"])
def test_out_a_file_or_below_a_file_is_refused_before_any_work(command, tmp_path, capsys,
                                                              no_work):
    # mutation caught: no --out check (validate and rae used to fail after the whole run)
    (tmp_path / "f").write_text("x")
    code, _, err = _main([command, "--out", str(tmp_path / "f")], capsys)
    assert code == 2
    assert _one_line(err) == (f"sliced-bench {command}: error: --out: {tmp_path / 'f'} is a "
                              "file, not a folder")
    code, _, err = _main([command, "--out", str(tmp_path / "f" / "sub")], capsys)
    assert code == 2 and "which is a file" in _one_line(err)


def test_out_unwritable_is_refused_before_any_work(tmp_path, capsys, no_work, monkeypatch):
    from validation import outdir

    def refuse(*args, **kwargs):  # root ignores chmod: make the write itself fail
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outdir.tempfile, "mkdtemp", refuse)
    code, _, err = _main(["rae", "--out", str(tmp_path)], capsys)
    assert code == 2
    assert _one_line(err) == f"sliced-bench rae: error: --out: cannot write in {tmp_path}: " \
                             "Permission denied"


@pytest.mark.parametrize(("argv", "message"), [
    (["validate", "--only", "sampler"], "--only: unknown group(s) 'sampler'"),
    (["rae", "--methods", "wasserstein"], "--methods: unknown 'wasserstein'"),
    (["curves", "--from-asv", "{missing}"], "--from-asv: '{missing}' is neither"),
    (["curves", "--from-asv", "{empty}"], "--from-asv: {empty} is not valid JSON"),
    (["curves", "--from-asv", "{bad}"], "--from-asv: {bad} is not valid JSON"),
    (["curves", "--from-asv", "{list}"], "--from-asv: {list} is not an asv 0.6 result file"),
    (["curves", "--from-asv", "{layout}"], "--from-asv: {layout} does not have the layout"),
    (["curves", "--from-asv", "{folder}"], "no asv result file (result_columns format) under "
                                           "{folder} (1 unreadable, e.g. {folder}/x.json)"),
])
def test_bad_paths_and_data_files_are_one_line_and_leave_out_as_it_was(argv, message, tmp_path,
                                                                       capsys):
    # mutation caught: the errors of load_asv_results not caught (a JSONDecodeError or
    # KeyError traceback), and a usage error committing an empty run over the previous result
    files = {"missing": tmp_path / "nope.json", "empty": tmp_path / "empty.json",
             "bad": tmp_path / "bad.json", "list": tmp_path / "list.json",
             "layout": tmp_path / "layout.json", "folder": tmp_path / "results"}
    files["empty"].write_text("")
    files["bad"].write_text('{"result_columns": [')
    files["list"].write_text("[1, 2]")
    files["layout"].write_text('{"result_columns": ["result"], "results": {"a.time_x": 3}}')
    files["folder"].mkdir()
    (files["folder"] / "x.json").write_text("{")
    names = {k: str(v) for k, v in files.items()}
    out = tmp_path / "out"
    out.mkdir()
    (out / "previous.txt").write_text("previous result")
    code, _, err = _main([a.format(**names) for a in argv] + ["--out", str(out)], capsys)
    assert code == 2 and message.format(**names) in _one_line(err)
    assert [p.name for p in out.iterdir()] == ["previous.txt"]


def _fake_command(files: dict[str, str], stop: BaseException | None = None, status: int = 0):
    """A command's run that writes ``files`` into args.out, then raises ``stop`` or returns."""
    def run(args):
        args.out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (args.out / name).write_text(text)
        if stop is not None:
            raise stop
        return status
    return run


@pytest.fixture
def fake_commands(monkeypatch):
    import importlib

    def install(**runs):
        for name, run in runs.items():
            monkeypatch.setattr(importlib.import_module(COMMANDS[name][0]), "run", run)
    return install


def test_all_index_lists_only_this_runs_files(tmp_path, capsys, fake_commands):
    # mutation caught: index.md built from a walk of --out (the earlier run's rae_old.png is
    # listed as this run's)
    out = tmp_path / "results"
    (out / "rae").mkdir(parents=True)
    (out / "rae" / "rae_old.png").write_text("an earlier version's figure, in no manifest")
    fake_commands(validate=_fake_command({"report.md": "v"}, status=1),
                  curves=_fake_command({"curves.csv": "c"}),
                  rae=_fake_command({"rae_table.md": "r", "rae_new.png": "p"}))
    code, stdout, _ = _main(["all", "--out", str(out)], capsys)
    assert code == 1  # the worst of the three
    index = (out / "index.md").read_text()
    assert "rae_old.png" not in index
    for name in ("validate/report.md", "curves/curves.csv", "rae/rae_table.md",
                 "rae/rae_new.png"):
        assert f"({name})" in index
    assert "| validate | 1 |" in index
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"] == ["curves/curves.csv", "curves/index.html", "index.html",
                                 "index.md", "rae/index.html", "rae/rae_new.png",
                                 "rae/rae_table.md", "validate/index.html", "validate/report.md"]
    assert f"9 file(s) in {out}/" in stdout and f"report: {out / 'index.html'}" in stdout
    assert not [p for p in out.iterdir() if p.name.startswith("incomplete-")]


def test_an_interrupted_rae_keeps_the_previous_result_and_marks_the_partial(tmp_path, capsys,
                                                                           fake_commands):
    # mutation caught: writing straight into --out (7 of 8 files replaced, looking complete)
    out = tmp_path / "rae"
    old = {f"f{i}.txt": f"old {i}" for i in range(8)}
    fake_commands(rae=_fake_command(old))
    assert _main(["rae", "--out", str(out)], capsys)[0] == 0
    fake_commands(rae=_fake_command({f"f{i}.txt": f"new {i}" for i in range(7)},
                                    stop=KeyboardInterrupt()))
    code, _, err = _main(["rae", "--out", str(out)], capsys)
    assert code == 130
    line = _one_line(err)
    assert line.startswith("sliced-bench rae: interrupted; partial files in")
    assert f"{out}/ left as it was" in line
    assert {p.name: p.read_text() for p in out.glob("*.txt")} == old
    (stage,) = out.glob("incomplete-*")
    note = (stage / "INCOMPLETE.md").read_text()
    assert "interrupted" in note and "- f6.txt" in note and "did not:\n- f7.txt" in note


def test_a_failure_during_the_run_is_one_line_with_the_traceback_kept(tmp_path, capsys,
                                                                     fake_commands):
    # mutation caught: swallowing the exception (exit 0) or losing its traceback
    fake_commands(validate=_fake_command({"report.md": "half"},
                                         stop=ZeroDivisionError("division by zero")))
    code, _, err = _main(["validate", "--out", str(tmp_path)], capsys)
    assert code == 1
    line = _one_line(err)
    assert "error: the run failed: ZeroDivisionError: division by zero (raised at " in line
    assert "test_cli.py:" in line and "traceback in traceback.txt" in line
    (stage,) = tmp_path.glob("incomplete-*")
    assert "ZeroDivisionError" in (stage / "traceback.txt").read_text()
    assert not (tmp_path / "report.md").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["rae", "--seed", "-1"], "sliced-bench rae: error: argument --seed"),
    (["validate", "--out", "{file}"], "sliced-bench validate: error: --out: {file} is a file"),
])
def test_the_console_entry_prints_one_line(argv, message, tmp_path):
    import subprocess
    import sys

    (tmp_path / "f").write_text("x")
    argv = [a.format(file=tmp_path / "f") for a in argv]
    done = subprocess.run([sys.executable, "-m", "validation.cli", *argv], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert _one_line(done.stderr).startswith(message.format(file=tmp_path / "f"))
