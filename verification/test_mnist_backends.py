"""The MNIST reproduction's training runs give the same results on every backend, and keep them.

Contract
--------
``benchmarks.mnist.execute`` runs the quick mode's runs (2 epochs) in this process, on 2 loky
processes and on a Dask ``LocalCluster`` of 2 workers; every final metric, confusion matrix and
per-epoch history must be equal, except the timing columns. A run that raises is named in the
error, the runs finished before it are saved, and ``resume`` trains only the others.
"""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.mnist import execute as execute_module
from benchmarks.mnist.configs import RunConfig
from benchmarks.mnist.execute import RunFailed, execute, plan, run_file
from benchmarks.mnist.runs import RunResult

TIMING = ("train_time", "wall_time")
#: Runs of every kind: the post's two recipes, the best one and a diverging ablation variant.
KEYS = ("post-ce", "post-mse", "best", "abl-relu-lr")


def _comparable(result: RunResult) -> str:
    """Everything a run produced except how long it took, as JSON (NaN equals NaN there)."""
    fields = result.to_dict()
    for column in TIMING:
        del fields[column], fields["history"][column]
    return json.dumps(fields, sort_keys=True)


def test_same_results_in_process_on_loky_and_on_a_dask_cluster(tmp_path: Path) -> None:
    jobs = [j for j in plan(quick=True, seeds=(0, 1)).jobs if j.dataset == "mnist"]
    jobs = [j for j in jobs if j.config.key in KEYS]
    assert len(jobs) == 2 * len(KEYS)
    reference, _ = execute(jobs, tmp_path / "here", n_jobs=1, progress=False)
    assert {r.epochs for r in reference} >= {2}  # quick mode's epochs were trained
    assert any(np.isnan(r.history["loss"].iloc[-1]) for r in reference)  # a diverged run
    for name, options in {"loky": {}, "dask": {"dask": "local"}}.items():
        results, backend = execute(jobs, tmp_path / name, n_jobs=2, progress=False, **options)
        assert backend.startswith(f"joblib {name}") and "2 " in backend
        for want, got, job in zip(reference, results, jobs, strict=True):
            assert (got.dataset, got.config, got.seed) == (job.dataset, job.config.key, job.seed)
            assert _comparable(got) == _comparable(want), f"{job.name} differs on {name}"


def _fake_result(dataset: str, key: str, seed: int) -> RunResult:
    history = pd.DataFrame({"epoch": [1], "loss": [0.5], "train_time": [1.0], "wall_time": [1.0]})
    matrix = np.eye(10, dtype=np.int64)
    return RunResult(dataset, key, seed, 1, history, 0.5, 0.5, 1.0, matrix, matrix, None, 1.0, 1.0)


def test_a_failed_run_is_named_finished_runs_are_kept_and_resume_skips_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = plan(quick=True, seeds=(0,), datasets=("mnist",)).jobs[:3]
    bad = jobs[1]  # runs last: longest first (best), then post-ce and post-mse in plan order
    failing, trained = {bad.name}, []

    def fake_run(cfg: RunConfig, data: types.SimpleNamespace, seed: int) -> RunResult:
        name = f"{data.name}/{cfg.key}/seed {seed}"
        if name in failing:
            raise ValueError("planted failure")
        trained.append(name)
        return _fake_result(data.name, cfg.key, seed)

    monkeypatch.setattr(execute_module, "prepare", lambda name: types.SimpleNamespace(name=name))
    monkeypatch.setattr(execute_module, "run", fake_run)
    with pytest.raises(RunFailed, match=f"run {bad.name} failed: ValueError: planted failure"):
        execute(jobs, tmp_path, progress=False)
    assert sorted(trained) == sorted(j.name for j in jobs if j != bad)
    assert [run_file(tmp_path, j).exists() for j in jobs] == [True, False, True]

    failing.clear()
    trained.clear()
    results, _ = execute(jobs, tmp_path, resume=True, progress=False)
    assert trained == [bad.name]  # only the run that had failed is trained again
    for job, result in zip(jobs, results, strict=True):
        want = _fake_result("mnist", job.config.key, 0)
        want.blas = result.blas  # recorded by the process that ran it
        assert result.blas and _comparable(result) == _comparable(want)

    trained.clear()
    execute(jobs, tmp_path, progress=False)  # without resume, every run is trained again
    assert sorted(trained) == sorted(j.name for j in jobs)
