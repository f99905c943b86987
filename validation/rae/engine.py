"""Running the RAE protocol: every :class:`~validation.rae.plan.Task` on joblib, cached on disk.

- :func:`run_task` is the task itself: it loads its splits, trains one RAE with the task's
  own torch thread count and evaluates it, and returns plain floats and NumPy arrays (never
  torch tensors). A training whose loss stops being finite is a result (``diverged``,
  scored +inf by the selection), not a failure.
- :class:`Engine` runs tasks with joblib: the loky backend (one task per process, ``jobs``
  processes) by default, or, given a scheduler address, a ``dask.distributed.Client`` and
  joblib's dask backend (a worker per process, one thread each, as
  ``dask-worker --nthreads 1`` or ``dask_jobqueue``'s clusters with ``cores=1`` start them).
  Each finished task is written to the cache folder under :func:`~validation.rae.plan.task_key`
  as soon as it returns, atomically; a rerun loads what is there and runs only what is
  missing. A task that raises is not cached, and the exception stops the run.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import joblib
import numpy as np
import torch
from tqdm import tqdm

from validation.rae.data import DataSplits, load_data
from validation.rae.experiment import TIME
from validation.rae.metrics import FeatureClassifier, evaluate
from validation.rae.plan import FINAL, Task, task_key
from validation.rae.train import Discrepancy, train_rae

N_SHOW = 64  # generated images kept per final run, for the sample figure
N_RECON = 10  # first test images whose reconstructions a final run keeps


@functools.lru_cache(maxsize=2)
def _splits(data: str, seed: int, train_size: int | None) -> DataSplits:
    """A worker reads its splits once per protocol, not once per task."""
    return load_data(data, seed=seed, train_size=train_size)


def classifier_state(classifier: FeatureClassifier) -> dict[str, np.ndarray]:
    """The classifier's parameters as NumPy arrays (what a task receives)."""
    return {k: v.detach().cpu().numpy() for k, v in classifier.state_dict().items()}


def cached_classifier(cache: Path | None, base: Task,
                      train: Callable[[], tuple[FeatureClassifier, float]]
                      ) -> tuple[dict[str, np.ndarray], FeatureClassifier, float]:
    """The FD's classifier of the protocol ``base`` belongs to (its parameters as arrays, the
    network and its validation accuracy): loaded from ``cache`` under the key of ``base`` as a
    ``"classifier"`` task (data, seed, threads, device, version), else trained by ``train()``
    and stored, so that a rerun of a completed protocol does not retrain it."""
    key = task_key(dataclasses.replace(base, kind="classifier"))
    path = None if cache is None else cache / f"{key}.npz"
    if path is not None and path.is_file():
        with np.load(path, allow_pickle=False) as f:
            state = {k: f[k] for k in f.files if k != "accuracy"}
            accuracy = float(f["accuracy"])
        first = state["body.0.weight"]
        net = _classifier(state, first.shape[1], state["head.weight"].shape[0], base.device)
        return state, net, accuracy
    net, accuracy = train()
    state = classifier_state(net)
    if path is not None:
        cache.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{key}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, accuracy=np.array(accuracy), **state)
        os.replace(tmp, path)
    return state, net, accuracy


def _classifier(state: dict[str, np.ndarray], n_pixels: int, n_classes: int,
                device: str) -> FeatureClassifier:
    net = FeatureClassifier(n_pixels, n_classes, n_features=state["head.weight"].shape[1])
    net.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    return net.to(device).eval()


def run_task(task: Task, fn: Discrepancy | None, sw: Discrepancy,
             classifier: dict[str, np.ndarray], workers: int) -> dict:
    """Train and evaluate the RAE of ``task`` (``fn``: the discrepancy of ``task.method``,
    None for the plain autoencoder; ``sw`` and ``classifier``: the metrics' yardsticks).

    Returns ``{"metrics", "history", "diverged", "message", "workers", "samples",
    "reconstructions"}``: validation metrics for a trial, test metrics (and seconds per epoch,
    ``N_SHOW`` generated images and the reconstructions of the first ``N_RECON`` test images)
    for a final run. ``workers``: how many tasks the engine ran at once (concurrent tasks share
    cores, so it qualifies every time in the result).
    """
    splits = _splits(task.data, task.data_seed, task.train_size)
    data = splits.test if task.kind == FINAL else splits.validation
    threads = torch.get_num_threads()
    torch.set_num_threads(task.threads)
    try:
        config = dataclasses.replace(task.config, gamma=task.gamma)
        out = {"metrics": {}, "history": [], "diverged": False, "message": "",
               "workers": workers, "samples": None, "reconstructions": None}
        try:
            result = train_rae(data, config, fn, task.kwargs, seed=task.seed,
                               device=task.device)
        except FloatingPointError as err:
            out.update(diverged=True, message=str(err))
            return out
        net = _classifier(classifier, data.n_pixels, data.n_classes, task.device)
        metrics = evaluate(result.model, data, net, sw, seed=task.seed, device=task.device)
        out["metrics"] = {k: float(v) for k, v in metrics.items()}
        out["history"] = result.history
        if task.kind == FINAL:
            out["metrics"][TIME] = result.seconds_per_epoch
            gen = torch.Generator(device=task.device).manual_seed(task.seed)
            x_show = torch.as_tensor(data.x_test[:N_RECON], device=task.device)
            with torch.no_grad():
                out["samples"] = result.model.generate(N_SHOW, gen).cpu().numpy()
                out["reconstructions"] = result.model(x_show)[0].cpu().numpy()
        return out
    finally:
        torch.set_num_threads(threads)


def _indexed(i: int, task: Task, fn: Discrepancy | None, sw: Discrepancy,
             classifier: dict[str, np.ndarray], workers: int) -> tuple[int, dict]:
    return i, run_task(task, fn, sw, classifier, workers)


ARRAYS = ("samples", "reconstructions")


def store(folder: Path, key: str, task: Task, result: dict) -> None:
    """Write ``result`` as ``folder/<key>.npz`` (the spec and the scalars as JSON, the arrays
    as arrays), through a temporary file renamed into place: a killed run leaves whole files
    or none."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"task": task.as_dict(), **{k: v for k, v in result.items() if k not in ARRAYS}}
    arrays = {k: result[k] for k in ARRAYS if result[k] is not None}
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta, default=repr)), **arrays)
        os.replace(tmp, folder / f"{key}.npz")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(folder: Path, key: str) -> dict | None:
    """The cached result of ``key`` (None when absent)."""
    path = folder / f"{key}.npz"
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as f:
        result = json.loads(str(f["meta"]))
        result.pop("task")
        for k in ARRAYS:
            result[k] = f[k] if k in f else None
    return result


@dataclasses.dataclass
class Engine:
    """Runs tasks on ``jobs`` loky processes, or on the Dask cluster at ``scheduler``, caching
    each result in ``cache`` (None: no cache). Use as a context manager around every
    :meth:`run` of one protocol; ``total`` sizes its one progress bar."""

    jobs: int = 1
    scheduler: str | None = None
    cache: Path | None = None
    progress: bool = True
    total: int = 0
    ran: int = 0  # tasks run (not loaded from the cache) so far
    _stack: ExitStack | None = dataclasses.field(default=None, repr=False)
    _bar: tqdm | None = dataclasses.field(default=None, repr=False)
    workers: int = 0

    def __enter__(self) -> Engine:
        self._stack = ExitStack()
        if self.scheduler is not None:
            from dask.distributed import Client

            client = self._stack.enter_context(Client(self.scheduler))
            self.workers = len(client.scheduler_info()["workers"])
            self._stack.enter_context(joblib.parallel_config(backend="dask"))
        else:
            self.workers = self.jobs
        self._bar = self._stack.enter_context(tqdm(
            total=self.total, desc=f"rae tasks ({self.workers} workers)", unit="task",
            file=sys.stderr, dynamic_ncols=True, disable=not self.progress))
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stack is not None
        self._stack.__exit__(*exc)

    def run(self, tasks: Sequence[Task], fns: Callable[[str], Discrepancy | None],
            sw: Discrepancy, classifier: dict[str, np.ndarray]) -> list[dict]:
        """Results of ``tasks``, in their order: from the cache where present, else run (each
        task once, however often it appears) and cached as it finishes."""
        assert self._bar is not None, "use the engine as a context manager"
        keys = [task_key(t) for t in tasks]
        done: dict[str, dict] = {}
        todo: dict[str, Task] = {}
        for key, task in zip(keys, tasks, strict=True):
            if key in done or key in todo:
                continue
            cached = None if self.cache is None else load(self.cache, key)
            if cached is None:
                todo[key] = task
            else:
                done[key] = cached
        self._bar.update(len(tasks) - len(todo))
        order = list(todo)
        calls = (joblib.delayed(_indexed)(i, todo[k], fns(todo[k].method), sw, classifier,
                                          self.workers) for i, k in enumerate(order))
        n_jobs = -1 if self.scheduler is not None else self.jobs
        for i, result in self._results(n_jobs, calls):
            key = order[i]
            if self.cache is not None:
                store(self.cache, key, todo[key], result)
            done[key] = result
            self.ran += 1
            self._bar.set_postfix_str(todo[key].method)
            self._bar.update(keys.count(key))
        return [done[k] for k in keys]

    @staticmethod
    def _results(n_jobs: int, calls: Iterator) -> Iterator[tuple[int, dict]]:
        with joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered") as parallel:
            yield from parallel(calls)


