"""Plan the training runs of one invocation and run them through joblib, keeping every result.

Contract
--------
:func:`plan` lists every ``(data set, config, seed)`` job: the post's CE and MSE runs and the best
config on each data set, the ablation variants on MNIST (quick: at most :data:`QUICK_EPOCHS`
epochs; ``epochs_scale`` shrinks a full plan); a job is plain, picklable data. :func:`execute`
runs them with ``joblib.Parallel``, longest first (``Job.cost``, also ``progress.CostBar``'s
weights), on ``n_jobs`` loky processes or a Dask cluster (``dask="local"``: ``n_jobs`` one-thread
workers; else a scheduler address), one BLAS thread per run, so a run's outcome depends on its job
alone, whatever the backend or finishing order. Each finished run is saved at once, atomically, as
``<folder>/<data set>/<config>/seed<n>.json``; ``resume=True`` loads those saved with the same
config. A run that raises, or a dead worker, stops the execution with :class:`RunFailed` naming
the run(s), after every finished run is saved.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed, parallel_config
from threadpoolctl import threadpool_info, threadpool_limits

from benchmarks.mnist import ablation
from benchmarks.mnist.configs import BEST, POST_CE, POST_MSE, RunConfig, scaled
from benchmarks.mnist.datasets import Prepared, prepare, training_images
from benchmarks.mnist.progress import CostBar
from benchmarks.mnist.runs import RunResult, run
from nplearn.atomic import atomic_write_text

QUICK_EPOCHS = 2
ABLATION_EPOCHS = 30  # the post's MSE run has 100; shortened to fit the time budget
HEADLINE = (POST_CE, POST_MSE, BEST)
_DATA: dict[str, Prepared] = {}  # per worker process: each data set is loaded once


@dataclass(frozen=True)
class Job:
    """One training run to do."""

    dataset: str
    config: RunConfig
    seed: int

    @property
    def name(self) -> str:
        """``"<data set>/<config key>/seed <n>"``: how errors and the progress bar name it."""
        return f"{self.dataset}/{self.config.key}/seed {self.seed}"

    @property
    def cost(self) -> int:
        """Expected cost: epochs times batches per epoch (the last partial batch is dropped)."""
        batches = training_images(self.config.full_train) // self.config.batch_size
        return self.config.epochs * batches


@dataclass(frozen=True)
class Plan:
    """The ``jobs`` in report order, the ``headline`` configs and ablation ``variants`` as run."""

    jobs: tuple[Job, ...]
    headline: tuple[RunConfig, ...]
    variants: tuple[ablation.Variant, ...]
    seeds: tuple[int, ...]
    datasets: tuple[str, ...]


def plan(
    *,
    quick: bool,
    seeds: Sequence[int],
    epochs_scale: float = 1.0,
    datasets: Sequence[str] = ("mnist", "fashion-mnist"),
) -> Plan:
    """Every headline config on every data set and the ablation on the first, for every seed."""
    cap = QUICK_EPOCHS if quick else None
    headline = tuple(scaled(cfg, epochs_scale, cap) for cfg in HEADLINE)
    ablation_base = scaled(replace(POST_MSE, epochs=ABLATION_EPOCHS), epochs_scale, cap)
    variants = tuple(ablation.variants(POST_MSE, ablation_base.epochs))
    jobs = [Job(name, cfg, seed) for name in datasets for cfg in headline for seed in seeds]
    jobs += [Job(datasets[0], v.config, seed) for v in variants for seed in seeds]
    return Plan(tuple(jobs), headline, variants, tuple(seeds), tuple(datasets))


class RunFailed(RuntimeError):
    """A training run raised or its worker died (the message names the run), or no cluster ran."""


def blas_kernel() -> str:
    """The BLAS kernels of this process and who chose them (``OPENBLAS_CORETYPE`` or the CPU)."""
    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    kernels = ", ".join(sorted({f"{p['internal_api']} {p.get('architecture')}" for p in blas}))
    forced = os.environ.get("OPENBLAS_CORETYPE")
    chosen = f"forced by OPENBLAS_CORETYPE={forced}" if forced else "OPENBLAS_CORETYPE not set"
    return f"{kernels or 'unknown'} ({chosen})"


def _task(i: int, job: Job, datasets: Sequence[str]) -> tuple[int, RunResult]:
    """``(i, result of job)``, run with one BLAS thread; any error names the job.

    A worker loads every data set on its first job, so its memory stays flat from then on (loky
    restarts a worker whose memory grows, taking it for a leak).
    """
    try:
        for name in set(datasets) - _DATA.keys():
            _DATA[name] = prepare(name)
        # Some ablation variants diverge on purpose; their NaNs are reported, not warned.
        quiet = job.config.key.startswith("abl-")
        with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
            if quiet:
                warnings.simplefilter("ignore", RuntimeWarning)
            with np.errstate(all="ignore" if quiet else None):
                result = run(job.config, _DATA[job.dataset], job.seed)
            result.blas = blas_kernel()
        return i, result
    except Exception as exc:
        raise RunFailed(f"run {job.name} failed: {type(exc).__name__}: {exc}") from exc


def run_file(folder: Path, job: Job) -> Path:
    """Where the result of ``job`` is saved."""
    return folder / job.dataset / job.config.key / f"seed{job.seed}.json"


def save_checkpoint(path: Path, key: Mapping[str, Any], payload: Any) -> None:
    """Write ``{"key": key, "payload": payload}`` as JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps({"key": key, "payload": payload}) + "\n")


def load_checkpoint(path: Path, key: Mapping[str, Any]) -> Any:
    """The payload saved at ``path`` under the same ``key``, else None (missing, other key)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document.get("payload") if document.get("key") == json.loads(json.dumps(key)) else None


@contextlib.contextmanager
def _backend(n_jobs: int, dask: str | None) -> Iterator[str]:
    """Select joblib's backend; yields a description for the report."""
    if dask is None:
        with parallel_config(backend="loky", n_jobs=n_jobs):
            yield f"joblib loky, {n_jobs} process(es)"
        return
    from dask.distributed import Client

    # ":0": any free port, so a cluster already serving the default 8787 is no clash
    local = {"n_workers": n_jobs, "threads_per_worker": 1, "dashboard_address": ":0"}
    with Client(**local) if dask == "local" else Client(dask) as client:
        try:  # the scheduler unpickles the tasks too; without this module it waits forever
            client.run_on_scheduler(exec, f"import {__name__}")
            client.run(exec, f"import {__name__}")
        except ImportError as exc:
            raise RunFailed(
                f"the Dask cluster at {dask} cannot import {__name__} ({exc}): start its "
                "scheduler and workers in this checkout, with PYTHONPATH set to it"
            ) from exc
        workers = client.nthreads()
        size = f"{len(workers)} workers, {sum(workers.values())} threads"
        with parallel_config(backend="dask", n_jobs=n_jobs):
            yield f"joblib dask, {dask} cluster ({size})"


def execute(
    jobs: Sequence[Job],
    folder: Path,
    *,
    n_jobs: int = 1,
    dask: str | None = None,
    resume: bool = False,
    progress: bool = True,
) -> tuple[list[RunResult], str]:
    """Run ``jobs`` (see the module docstring); returns their results in job order and the backend.

    ``n_jobs``: loky processes or LocalCluster workers, or with a Dask address (``dask``) the most
    runs at a time (-1: one per thread of the cluster).

    Raises:
        RunFailed: a run raised or a worker died; finished runs are saved.
    """
    datasets = sorted({j.dataset for j in jobs})
    saved = [resume and load_checkpoint(run_file(folder, j), asdict(j.config)) for j in jobs]
    done = {i: RunResult.from_dict(r) for i, r in enumerate(saved) if r}
    todo = sorted((i for i in range(len(jobs)) if i not in done), key=lambda i: -jobs[i].cost)
    dispatched: list[int] = []
    bar = CostBar([j.cost for j in jobs], done, disable=not progress)

    def tasks() -> Iterator[object]:
        for i in todo:
            dispatched.append(i)
            bar.start(i)
            yield delayed(_task)(i, jobs[i], datasets)

    with bar, _backend(n_jobs, dask) as described:
        bar.set_description(f"training runs ({described})")
        parallel = Parallel(return_as="generator_unordered", pre_dispatch="n_jobs", batch_size=1)
        try:
            for i, result in parallel(tasks()):
                save_checkpoint(run_file(folder, jobs[i]), asdict(jobs[i].config), result.to_dict())
                done[i] = result
                bar.finish(i, f"{jobs[i].name}: {result.test_accuracy:.4f}")
        except RunFailed as exc:
            raise RunFailed(f"{exc}; {_kept(done, folder)}") from exc
        except Exception as exc:
            running = ", ".join(jobs[i].name for i in dispatched if i not in done) or "none"
            raise RunFailed(
                f"a worker failed ({type(exc).__name__}: {exc}) while running one of: {running}; "
                + _kept(done, folder)
            ) from exc
    return [done[i] for i in range(len(jobs))], described


def _kept(done: dict[int, RunResult], folder: Path) -> str:
    return f"the {len(done)} finished run(s) are kept in {folder}; rerun with --resume to go on"
