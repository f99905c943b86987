"""Staged output folders: a complete run replaces the previous one, an interrupted one touches
nothing and is marked incomplete, and nothing from an earlier run is listed as this run's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from validation import outdir


def _run(target: Path, files: dict[str, str], status: int = 0,
         stop: BaseException | None = None, command: str = "sliced-bench x") -> outdir.Staging:
    """A run that writes ``files`` (relative name -> text) in its staging folder, then raises
    ``stop`` if given, else returns ``status``."""
    staging = outdir.Staging(target, command, ["x"])
    with staging:
        for name, text in files.items():
            (staging.path / name).parent.mkdir(parents=True, exist_ok=True)
            (staging.path / name).write_text(text)
        if stop is not None:
            raise stop
        staging.status = status
    return staging


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _manifest(folder: Path) -> dict:
    return json.loads((folder / outdir.MANIFEST).read_text())


def test_a_complete_run_lists_exactly_its_files(tmp_path):
    target = tmp_path / "new" / "out"  # created, parents included
    staging = _run(target, {"a.txt": "1", "sub/b.csv": "2"}, status=1)
    assert staging.outcome == "committed"
    assert _tree(target) == {"a.txt": "1", "sub/b.csv": "2",
                             outdir.MANIFEST: (target / outdir.MANIFEST).read_text()}
    manifest = _manifest(target)
    assert manifest["files"] == ["a.txt", "sub/b.csv"]
    assert manifest["exit_status"] == 1 and manifest["command"] == "sliced-bench x"
    assert "2 file(s)" in staging.summary()


def test_files_of_an_earlier_run_are_removed_and_others_never_listed(tmp_path):
    # mutation caught: committing without removing the earlier manifest's files (b.txt and the
    # emptied folder old/ stay, looking like this run's output)
    _run(tmp_path, {"a.txt": "old a", "b.txt": "old b", "old/c.txt": "old c"})
    (tmp_path / "mine.txt").write_text("the user's")  # in no manifest: never touched
    _run(tmp_path, {"a.txt": "new a"})
    assert _tree(tmp_path) == {"a.txt": "new a", "mine.txt": "the user's",
                               outdir.MANIFEST: (tmp_path / outdir.MANIFEST).read_text()}
    assert _manifest(tmp_path)["files"] == ["a.txt"]


def test_a_subfolder_manifest_of_an_earlier_command_is_replaced(tmp_path):
    # an earlier `rae --out D/rae`, then a run into D that writes D/rae/: the earlier rae
    # files it does not rewrite go, and D/rae/manifest.json no longer claims them
    _run(tmp_path / "rae", {"rae_table.md": "old", "rae_old.png": "old"})
    _run(tmp_path, {"index.md": "new", "rae/rae_table.md": "new"})
    assert not (tmp_path / "rae" / "rae_old.png").exists()
    assert not (tmp_path / "rae" / outdir.MANIFEST).exists()
    assert _manifest(tmp_path)["files"] == ["index.md", "rae/rae_table.md"]


def test_a_manifest_cannot_remove_files_outside_the_folder(tmp_path):
    # mutation caught: dropping the containment check deletes ../keep.txt
    (tmp_path / "keep.txt").write_text("keep")
    target = tmp_path / "out"
    target.mkdir()
    (target / outdir.MANIFEST).write_text(json.dumps(
        {"written_by": "sliced-bench", "files": ["../keep.txt", "/etc/hostname"]}))
    _run(target, {"a.txt": "1"})
    assert (tmp_path / "keep.txt").read_text() == "keep"


def test_a_folder_with_a_manifest_of_another_tool_is_refused(tmp_path):
    # mutation caught: taking any manifest.json for ours (its files deleted, it overwritten)
    (tmp_path / "data.bin").write_text("theirs")
    (tmp_path / outdir.MANIFEST).write_text(json.dumps({"files": ["data.bin"]}))
    with pytest.raises(outdir.OutDirError, match="not written by sliced-bench"):
        _run(tmp_path, {"a.txt": "1"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin", outdir.MANIFEST]


@pytest.mark.parametrize("stop", [KeyboardInterrupt(), RuntimeError("boom")])
def test_an_interrupted_run_leaves_the_previous_result_and_is_marked(tmp_path, stop):
    # mutation caught: committing in __exit__ whatever happened (the partial a.txt replaces the
    # previous one and b.txt disappears); and not writing INCOMPLETE.md on the way out
    _run(tmp_path, {"a.txt": "old a", "b.txt": "old b"}, command="sliced-bench rae")
    before = _tree(tmp_path)
    with pytest.raises(type(stop)):
        _run(tmp_path, {"a.txt": "partial a"}, stop=stop, command="sliced-bench rae")
    stages = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(stages) == 1 and stages[0].name.startswith("incomplete-")
    assert {k: v for k, v in _tree(tmp_path).items() if not k.startswith("incomplete-")} == before
    assert (stages[0] / "a.txt").read_text() == "partial a"
    note = (stages[0] / outdir.INCOMPLETE).read_text()
    assert "Files it wrote before it stopped:\n- a.txt\n" in note
    assert "this one did not:\n- b.txt\n" in note  # what is missing, from the previous manifest
    if isinstance(stop, KeyboardInterrupt):
        assert "interrupted" in note and not (stages[0] / outdir.TRACEBACK).exists()
    else:
        assert "RuntimeError: boom" in note
        assert "RuntimeError: boom" in (stages[0] / outdir.TRACEBACK).read_text()


def test_a_running_stage_says_it_is_not_finished(tmp_path):
    # what a killed process leaves behind
    staging = outdir.Staging(tmp_path, "sliced-bench x", ["x"])
    assert "has not finished" in (staging.path / outdir.INCOMPLETE).read_text()


def test_a_usage_error_leaves_the_folder_as_it_was(tmp_path):
    # mutation caught: committing an empty run (the previous result is deleted)
    _run(tmp_path / "out", {"a.txt": "old"})
    before = _tree(tmp_path / "out")
    assert _run(tmp_path / "out", {}, status=2).outcome == "discarded"
    assert _tree(tmp_path / "out") == before and len(list((tmp_path / "out").iterdir())) == 2
    # a folder created for a run that wrote nothing is removed again
    assert _run(tmp_path / "fresh", {}, status=2).outcome == "discarded"
    assert not (tmp_path / "fresh").exists()


def test_bad_targets_are_refused_before_anything(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(outdir.OutDirError, match=r"/file is a file, not a folder"):
        outdir.Staging(tmp_path / "file", "c", [])
    with pytest.raises(outdir.OutDirError, match=r"/file/sub is below .*/file, which is a file"):
        outdir.Staging(tmp_path / "file" / "sub", "c", [])

    # unwritable (chmod does not stop root, so the write itself is made to fail)
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outdir.tempfile, "mkdtemp", refuse)
    with pytest.raises(outdir.OutDirError, match=r"cannot write in .*: Permission denied"):
        outdir.Staging(tmp_path / "ro", "c", [])
    assert not (tmp_path / "ro").exists()  # the folder it created for nothing is gone


def test_a_conflict_at_commit_moves_nothing(tmp_path):
    # the destination of sub/b.txt is blocked by a file named sub: nothing moves, the previous
    # result stays, the run is marked incomplete
    _run(tmp_path, {"a.txt": "old"})
    (tmp_path / "sub").write_text("a file in the way")
    with pytest.raises(outdir.OutDirError, match="could not move"):
        _run(tmp_path, {"a.txt": "new", "sub/b.txt": "new"})
    assert (tmp_path / "a.txt").read_text() == "old"
    assert _manifest(tmp_path)["files"] == ["a.txt"]
