"""Plan the runs of one benchmark invocation and execute them on worker processes.

Contract
--------
:func:`plan` lists every ``(data set, config, seed)`` training job of a mode:
the seed-faithful CE and MSE runs and the best config on each data set, and
the ablation variants on MNIST. In the full mode the seed-faithful runs keep
the seed's epochs (200 and 100); the quick mode caps every run at
:data:`QUICK_EPOCHS` epochs and one seed; ``epochs_scale`` shrinks a full plan
for development. :func:`execute` runs the jobs, longest first, on
``workers`` spawned processes, each pinned to ONE BLAS thread (so two workers
use two cores without oversubscription), and returns the results in plan
order. Results do not depend on the number of workers.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks.mnist import ablation
from benchmarks.mnist.configs import BEST, SEED_CE, SEED_MSE, RunConfig, scaled
from benchmarks.mnist.datasets import Prepared, prepare
from benchmarks.mnist.runs import RunResult, run

__all__ = ["ABLATION_EPOCHS", "QUICK_EPOCHS", "Job", "Plan", "execute", "plan"]

QUICK_EPOCHS = 2
#: Epochs of each ablation run in the full mode (the seed's MSE run has 100;
#: the ablation is shortened to fit the 20-minute budget, see the report).
ABLATION_EPOCHS = 30
HEADLINE = (SEED_CE, SEED_MSE, BEST)


@dataclass(frozen=True)
class Job:
    """One training run to do."""

    dataset: str
    config: RunConfig
    seed: int

    @property
    def cost(self) -> float:
        """Relative cost (epochs times training-set size) for scheduling."""
        return self.config.epochs * (1.25 if self.config.full_train else 1.0)


@dataclass(frozen=True)
class Plan:
    """Everything one invocation trains.

    Attributes:
        jobs: the training jobs, in report order.
        headline: the seed-faithful and best configs as run (epochs scaled).
        variants: the ablation variants as run.
        seeds: the seeds.
        datasets: the data sets.
    """

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
    """The jobs of one invocation.

    Args:
        quick: cap every run at :data:`QUICK_EPOCHS` epochs.
        seeds: the seeds to run every config with.
        epochs_scale: multiply every epoch count (development only).
        datasets: data sets for the headline configs (the ablation uses the first).
    """
    cap = QUICK_EPOCHS if quick else None
    headline = tuple(scaled(cfg, epochs_scale, cap) for cfg in HEADLINE)
    ablation_epochs = max(1, round(ABLATION_EPOCHS * epochs_scale))
    variants = tuple(ablation.variants(SEED_MSE, min(ablation_epochs, cap or ablation_epochs)))
    jobs = [Job(name, cfg, seed) for name in datasets for cfg in headline for seed in seeds]
    jobs += [Job(datasets[0], v.config, seed) for v in variants for seed in seeds]
    return Plan(tuple(jobs), headline, variants, tuple(seeds), tuple(datasets))


_DATA: dict[str, Prepared] = {}


def _init_worker() -> None:
    threadpool_limits(limits=1, user_api="blas")


def _work(job: Job) -> RunResult:
    """Run one job in a worker (data sets are loaded once per worker)."""
    if job.dataset not in _DATA:
        _DATA[job.dataset] = prepare(job.dataset)
    if job.config.key.startswith("abl-"):
        # Some ablation variants diverge on purpose; their NaNs are reported, not warned about.
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return run(job.config, _DATA[job.dataset], job.seed)
    return run(job.config, _DATA[job.dataset], job.seed)


def execute(jobs: Sequence[Job], workers: int, log: bool = True) -> list[RunResult]:
    """Run ``jobs`` on ``workers`` processes (1 BLAS thread each); results in job order.

    Args:
        jobs: the jobs.
        workers: number of processes (1 runs them in this process, still 1 BLAS thread).
        log: print one line per finished job.
    """
    start = time.perf_counter()
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].cost)
    results: dict[int, RunResult] = {}

    def report(i: int, result: RunResult) -> None:
        results[i] = result
        if log:
            print(
                f"[{len(results):3d}/{len(jobs)} {time.perf_counter() - start:6.0f}s] "
                f"{result.dataset} {result.config} seed {result.seed}: "
                f"test accuracy {result.test_accuracy:.4f}, {result.epochs} epochs "
                f"in {result.train_time:.1f}s",
                flush=True,
            )

    if workers <= 1:
        with threadpool_limits(limits=1, user_api="blas"):
            for i in order:
                report(i, _work(jobs[i]))
    else:
        context = get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker) as pool:
            futures = {pool.submit(_work, jobs[i]): i for i in order}
            for future in as_completed(futures):
                report(futures[future], future.result())
    return [results[i] for i in range(len(jobs))]
