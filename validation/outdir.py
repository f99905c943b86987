"""Output folders that tell the truth: a run is staged, then moved into place only when complete.

A command run through :class:`Staging` writes into a fresh folder ``OUT/incomplete-<UTC time>-*``
(same file system as ``OUT``). When the command returns, its files move into ``OUT`` and
``OUT/manifest.json`` lists exactly them (with the command line, times and exit status); the
files that an earlier run had listed in a manifest (``OUT``'s, or that of a subfolder this
run writes into) and that this run did not write again are removed, so nothing in ``OUT``
from an earlier run can pass for this run's. Files no manifest names (the user's own) are
left alone and never listed.

A run that stops on an exception or Ctrl-C moves nothing: ``OUT`` keeps the previous complete
result, and the staging folder stays, holding the partial files, an ``INCOMPLETE.md`` that
says why it stopped and what it wrote (and, where a previous run of the same command left a
manifest, which of its files this one did not get to), and ``traceback.txt`` after an
exception. A process killed outright leaves the ``INCOMPLETE.md`` written when the run began.
A run that returns a non-zero status without writing anything (a usage error found before the
work) leaves ``OUT`` as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

MANIFEST = "manifest.json"
INCOMPLETE = "INCOMPLETE.md"
TRACEBACK = "traceback.txt"
_WRITER = "sliced-bench"


class OutDirError(ValueError):
    """``--out`` cannot hold a result (a file, below a file, not writable), or a finished
    run could not be moved into it; the message names the path."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _blocking_file(path: Path) -> Path | None:
    """``path`` or its nearest ancestor that exists, when that is not a folder."""
    for p in (path, *path.parents):
        if p.exists():
            return None if p.is_dir() else p
    return None


class Staging:
    """Stage one run's output below ``target`` and commit it there when the run completes.

    Creating it checks that ``target`` can hold a result: it creates ``target`` if missing and
    the staging folder with its ``INCOMPLETE.md`` in it (a real write), and raises
    :class:`OutDirError` naming the path otherwise, before any work. Use it as a context
    manager around the run, which writes into :attr:`path` and sets :attr:`status` to its
    exit status::

        staging = Staging(Path("results"), "sliced-bench rae", ["rae", "--quick"])
        with staging:
            staging.status = run(out=staging.path)
        print(staging.summary())

    Leaving the block normally commits (or, for a non-zero status with no file written,
    discards the staging folder); leaving it on an exception marks the staging folder
    incomplete and lets the exception through.
    """

    def __init__(self, target: Path, command: str, argv: list[str]) -> None:
        self.target = Path(target)
        self.command = command
        self.argv = list(argv)
        self.status: int | None = None
        self.files: list[str] = []  # relative to target, set once committed or stopped
        self.outcome = "running"  # "committed", "discarded" or "stopped"
        self.started = _now()
        blocking = _blocking_file(self.target)
        if blocking == self.target:
            raise OutDirError(f"{self.target} is a file, not a folder")
        if blocking is not None:
            raise OutDirError(f"{self.target} is below {blocking}, which is a file")
        if (self.target / MANIFEST).exists() and _read_manifest(self.target) is None:
            raise OutDirError(f"{self.target / MANIFEST} was not written by sliced-bench; "
                              "choose another folder")
        self._created = not self.target.exists()
        try:
            self.target.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            self.path = Path(tempfile.mkdtemp(prefix=f"incomplete-{stamp}-", dir=self.target))
            self._write_incomplete(f"The run began at {self.started} (process {os.getpid()}) "
                                   "and has not finished: it is still running, or it was "
                                   "killed.", None)
        except OSError as err:
            self._remove_if_created()
            raise OutDirError(f"cannot write in {self.target}: "
                              f"{err.strerror or err}") from err

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is not None:
            self._stop(exc)
            return
        written = self._written()
        if not written and self.status:
            shutil.rmtree(self.path)
            self._remove_if_created()
            self.outcome = "discarded"
            return
        try:
            self._commit(written)
        except OSError as err:
            self._stop(err)
            raise OutDirError(f"could not move the finished run into {self.target}: "
                              f"{err}") from err

    def summary(self) -> str:
        """One line: where this run's files are, and what happened to ``target``."""
        if self.outcome == "committed":
            return (f"{len(self.files)} file(s) in {self.target}/, listed in "
                    f"{self.target / MANIFEST}")
        if self.outcome == "discarded":
            return f"nothing written; {self.target}/ left as it was"
        if self.outcome == "stopped":
            extra = f", traceback in {TRACEBACK}" if (self.path / TRACEBACK).exists() else ""
            return (f"partial files in {self.path}/ (see {INCOMPLETE}{extra}); "
                    f"{self.target}/ left as it was")
        return f"running in {self.path}/"

    # ----------------------------------------------------------------------------------------

    def _remove_if_created(self) -> None:
        if self._created and self.target.is_dir() and not any(self.target.iterdir()):
            self.target.rmdir()

    def _written(self) -> list[str]:
        return sorted(p.relative_to(self.path).as_posix() for p in self.path.rglob("*")
                      if not p.is_dir() and p.relative_to(self.path).as_posix() != INCOMPLETE)

    def _write_incomplete(self, state: str, written: list[str] | None,
                          missing: Sequence[str] = ()) -> None:
        lines = [f"# Incomplete: `{self.command}`", "",
                 "The files in this folder are the partial output of a run that did not "
                 "finish; they are not a result. A run that finishes moves its files to "
                 f"`{self.target}` and removes this folder.", "",
                 f"Command line: `{' '.join(['sliced-bench', *self.argv])}`", "", state]
        if written is not None:
            lines += ["", "Files it wrote before it stopped:" if written
                      else "It wrote no file before it stopped."]
            lines += [f"- {f}" for f in written]
        if missing:
            lines += ["", "Files the previous complete run of this command wrote and this one "
                      "did not:"]
            lines += [f"- {f}" for f in missing]
        (self.path / INCOMPLETE).write_text("\n".join(lines) + "\n")

    def _stop(self, exc: BaseException) -> None:
        self.outcome = "stopped"
        self.files = self._written()
        try:
            self._mark(exc)
        except OSError:
            pass  # the INCOMPLETE.md written when the run began still says it did not finish

    def _mark(self, exc: BaseException) -> None:
        if isinstance(exc, KeyboardInterrupt):
            state = f"It was interrupted (Ctrl-C) at {_now()}."
        else:
            (self.path / TRACEBACK).write_text("".join(traceback.format_exception(exc)))
            state = (f"It stopped at {_now()} on an exception: {type(exc).__name__}: {exc} "
                     f"(full traceback in {TRACEBACK}).")
        state += f" The previous result in `{self.target}`, if any, was left untouched."
        previous = _read_manifest(self.target)
        missing = []
        if previous is not None and previous.get("command") == self.command:
            missing = sorted(set(previous["files"]) - set(self.files))
        self._write_incomplete(state, self.files, missing)

    def _commit(self, written: list[str]) -> None:
        folders = {self.target} | {self.target / p.relative_to(self.path)
                                   for p in self.path.rglob("*") if p.is_dir()}
        # check every destination before moving anything, so a conflict moves nothing
        for rel in written:
            dest = self.target / rel
            blocking = _blocking_file(dest.parent)
            if blocking is not None or dest.is_dir():
                raise NotADirectoryError(f"{blocking or dest} is in the way of {rel}")
        stale: set[Path] = set()
        for folder in folders:
            manifest = _read_manifest(folder)
            if manifest is None:
                continue
            stale |= {folder / f for f in manifest["files"]}
            (folder / MANIFEST).unlink()
        keep = {self.target / rel for rel in written}
        for path in sorted(stale - keep):
            if _inside(path, self.target) and (path.is_file() or path.is_symlink()):
                path.unlink()
                _prune(path.parent, self.target)
        for rel in written:
            (self.target / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path / rel, self.target / rel)
        record = {"written_by": _WRITER, "command": self.command, "argv": self.argv,
                  "started": self.started, "finished": _now(), "exit_status": self.status,
                  "files": written}
        tmp = self.path / MANIFEST
        tmp.write_text(json.dumps(record, indent=1) + "\n")
        os.replace(tmp, self.target / MANIFEST)
        shutil.rmtree(self.path)
        self.files = written
        self.outcome = "committed"


def _read_manifest(folder: Path) -> dict | None:
    """The manifest a sliced-bench run left in ``folder``, or None (absent, or not ours)."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not (isinstance(data, dict) and data.get("written_by") == _WRITER
            and isinstance(data.get("files"), list)):
        return None
    return {**data, "files": [f for f in data["files"] if isinstance(f, str)]}


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is strictly below ``folder`` (a manifest cannot name files elsewhere)."""
    return path.parent.resolve().is_relative_to(folder.resolve())


def _prune(folder: Path, top: Path) -> None:
    """Remove ``folder`` and its ancestors below ``top`` while they are empty."""
    while folder != top and _inside(folder, top) and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
