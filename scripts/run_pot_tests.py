"""Run POT's own sliced tests with this package's drop-in in POT's place.

    python scripts/run_pot_tests.py [--sdist pot-0.9.6.post1.tar.gz] [--keep DIR]

Downloads POT's source distribution (``pip download --no-deps --no-binary pot
pot==0.9.6.post1``: its ``test/test_sliced.py`` holds POT's sliced tests; the 0.9.7.post1 sdist
leaves its ``test/sliced/`` folder out) into a temporary folder, or takes ``--sdist``, extracts
that one file, and runs it with pytest next to a conftest written here that

- puts :func:`discrepancies.pot.sliced_wasserstein_distance` and
  :func:`discrepancies.pot.max_sliced_wasserstein_distance` in place of POT's, in ``ot`` and
  ``ot.sliced`` (the installed POT supplies everything else the tests use: ``ot.utils.unif``,
  ``ot.emd2_1d``, the backends, ``get_random_projections``);
- provides what POT's own conftest (not in the sdist) gives the tests: the ``nx`` fixture over
  the installed backends the drop-in supports (NumPy and torch) and ``pytest.skip_backend``;
- deselects, and lists with the reason, the tests that call neither replaced function (the
  sphere, Stiefel and random-projection functions the drop-in does not replace), and fails a
  selected test that did not call the drop-in.

Prints the count of POT's tests passing against the drop-in; exit status 1 if any fails. No
code of POT is kept in this repository.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "0.9.6.post1"
ROOT = Path(__file__).resolve().parents[1]

CONFTEST = r'''
import inspect
import re

import pytest

import ot
import ot.sliced
from discrepancies import pot as dropin

REPLACED = ("sliced_wasserstein_distance", "max_sliced_wasserstein_distance")
CALLS = re.compile(r"\b(?:max_)?sliced_wasserstein_distance\(")
calls = {"n": 0}


def counted(fn):
    def wrapper(*args, **kwargs):
        calls["n"] += 1
        return fn(*args, **kwargs)
    return wrapper


for name in REPLACED:
    for module in (ot, ot.sliced):
        setattr(module, name, counted(getattr(dropin, name)))

BACKENDS = [b for b in ot.backend.get_backend_list() if b.__name__ in ("numpy", "torch")]


@pytest.fixture(params=BACKENDS, ids=lambda b: b.__name__)
def nx(request):
    return request.param


def skip_backend(name, reason="backend not supported by the drop-in"):
    def decorate(fn):
        return fn
    return decorate


pytest.skip_backend = skip_backend


def pytest_collection_modifyitems(config, items):
    kept, dropped = [], []
    for item in items:
        source = inspect.getsource(item.function)
        (kept if CALLS.search(source) else dropped).append(item)
    for item in dropped:
        print(f"not applicable: {item.nodeid}: calls neither "
              f"{' nor '.join(REPLACED)} (a POT function the drop-in does not replace)")
    config.hook.pytest_deselected(items=dropped)
    items[:] = kept


@pytest.fixture(autouse=True)
def uses_the_dropin():
    before = calls["n"]
    yield
    assert calls["n"] > before, "the test did not call the drop-in"
'''


def download(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "pot",
                    f"pot=={VERSION}", "-d", str(folder), "-q"], check=True)
    return folder / f"pot-{VERSION}.tar.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, help="POT's sdist, instead of downloading it")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        sdist = args.sdist or download(work)
        with tarfile.open(sdist) as tar:
            member = tar.getmember(f"pot-{VERSION}/test/test_sliced.py")
            (work / "test_sliced.py").write_bytes(tar.extractfile(member).read())
        (work / "conftest.py").write_text(CONFTEST)
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p",
                               "no:cacheprovider", "--rootdir", str(work), "test_sliced.py"],
                              cwd=work, capture_output=True, text=True,
                              env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
        out = proc.stdout.splitlines()
        for line in out:
            if line.startswith(("not applicable:", "FAILED", "ERROR")):
                print(line)
        summary = out[-1] if out else proc.stderr.strip()[-500:]
        print(f"POT {VERSION} test/test_sliced.py against discrepancies.pot: {summary}")
        if proc.returncode != 0:
            print("\n".join(out[-60:]), file=sys.stderr)
        return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
