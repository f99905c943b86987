"""The RAE protocol's engine: the same numbers whatever the backend (1 job, 2 loky jobs, a
2-worker Dask LocalCluster), a run killed midway and rerun ends with the files of an
uninterrupted run, and the cache holds finished tasks only."""

import csv
import functools
import json

import pytest

import discrepancies
from validation.cli import build_parser
from validation.rae import command
from validation.rae.command import TASKS
from validation.rae.metrics import train_feature_classifier

# a tiny protocol: 3 methods (one with knobs), 2 grid points, 1 selection seed, 3 final seeds
TINY = ["--methods", "none", "sw", "ssfg", "--epochs", "1", "--train-size", "300", "--seeds",
        "3", "--trials", "2", "--selection-seeds", "1"]
# what depends on the clock or on the engine, not on the computation
VOLATILE = {"seconds", "seconds_per_epoch", "cost", "wall_seconds", "tasks_run", "tasks_cached",
            "engine", "workers", "task_workers"}


@pytest.fixture(scope="module", autouse=True)
def quick_classifier():
    """The FD's classifier trained for 100 steps, not 1500: it is trained in the main process,
    the same way whatever the engine, and these tests are about the engine."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(command, "train_feature_classifier",
                      functools.partial(train_feature_classifier, steps=100))
        yield


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny protocol run once, uninterrupted, with 1 job."""
    out = tmp_path_factory.mktemp("one")
    assert command.run(_args(out, "--jobs", "1")) == 0
    return out


def _args(out, *extra):
    return build_parser().parse_args(["rae", "--out", str(out), *TINY, *extra])


def _stable(value):
    """The result file without what depends on the clock or the engine."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _results(out):
    return _stable(json.loads((out / "rae_results.json").read_text()))


def _csv(path):
    with open(path) as f:
        return list(csv.reader(f))


def test_every_number_is_the_same_with_1_job_2_jobs_and_a_dask_cluster(tmp_path, capsys,
                                                                       reference):
    distributed = pytest.importorskip("dask.distributed")
    assert command.run(_args(tmp_path / "loky", "--jobs", "2")) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        assert command.run(_args(tmp_path / "dask", "--scheduler",
                                 cluster.scheduler_address)) == 0
    one = _results(reference)
    assert one["notes"]["selection_seeds"] == [1000]
    assert one["notes"]["seeds"] == [0, 1, 2]
    assert len(one["selection"]["ssfg"]["trials"]) == 4
    assert len(one["runs"]) == 9
    for name in ("loky", "dask"):
        assert _results(tmp_path / name) == one, name
        assert (_csv(tmp_path / name / "rae_comparisons.csv")
                == _csv(reference / "rae_comparisons.csv"))
    notes = json.loads((tmp_path / "dask" / "rae_results.json").read_text())["notes"]
    assert notes["workers"] == 2 and notes["tasks_run"] == 6 + 9
    assert "(2 workers)" in capsys.readouterr().err


class Interrupted(RuntimeError):
    pass


def test_a_killed_run_resumes_from_its_cache_and_ends_as_an_uninterrupted_run(tmp_path,
                                                                             capsys,
                                                                             reference):
    """The first run stops on an exception in SW's final run on seed 2 (the 12th of 15
    tasks); the rerun runs only the missing tasks and its files equal those of a run that was
    never interrupted."""

    def flaky_sw(X, Y, *, seed=None, n_projections=100):
        if fail and seed // 1_000_003 == 2:  # the training's own seed (see train_rae)
            raise Interrupted("stopped on purpose")
        return discrepancies.sw(X, Y, seed=seed, n_projections=n_projections)

    registry = {**discrepancies.REGISTRY, "sw": flaky_sw}
    out = tmp_path / "resumed"
    fail = True
    with pytest.raises(Interrupted):
        command.run(_args(out, "--jobs", "1"), registry=registry, sw=discrepancies.sw)
    # the classifier, 6 trials, 3 runs of none, 2 of SW: the failed task is not cached
    assert len(list((out / TASKS).glob("*.npz"))) == 1 + 11
    cached = 11
    assert not (out / "rae_results.json").exists()
    assert not list((out / TASKS).glob(".*"))  # no half-written entry
    fail = False
    assert command.run(_args(out, "--jobs", "1"), registry=registry, sw=discrepancies.sw) == 0
    notes = json.loads((out / "rae_results.json").read_text())["notes"]
    assert (notes["tasks_run"], notes["tasks_cached"]) == (15 - cached, cached)
    assert _results(out) == _results(reference)
    for name in ("rae_comparisons.csv", "rae_selection.csv"):
        assert _csv(out / name) == _csv(reference / name), name
    # a third run of the completed protocol runs nothing
    assert command.run(_args(out, "--jobs", "1"), registry=registry, sw=discrepancies.sw) == 0
    notes = json.loads((out / "rae_results.json").read_text())["notes"]
    assert (notes["tasks_run"], notes["tasks_cached"]) == (0, 15)
    assert "0 task(s) run, 15 from the cache" in capsys.readouterr().out
