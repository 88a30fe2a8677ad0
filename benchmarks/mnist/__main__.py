"""``python -m benchmarks.mnist [--quick]``: run the MNIST reproduction and write its report.

Contract
--------
Runs, in order: the unit tests of the ablation's conclusion
(``test_ablation.py``, no training); every training job of ``schedule.plan`` on worker processes
(1 BLAS thread each); then, alone in this process with ``--threads`` BLAS
threads and as many torch threads, the time-to-accuracy runs of the seed's CE
recipe and the best recipe (per seed, nplearn and, when installed, PyTorch in
lockstep: ``tta.interleaved``);
then writes ``reports/mnist.md`` (title, provenance header with the data
files' SHA-256, body from ``report.render``), and the figures, CSV and JSON
under ``reports/mnist/``. ``--quick`` (CI): one seed, every run capped at 2
epochs, title marked QUICK MODE. ``--epochs-scale``/``--seeds`` shrink the
full plan for development; such a report is marked REDUCED RUN. Exit status 0
unless a unit test failed or a run raised.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from benchmarks.mnist import (
    ablation,
    outputs,
    report,
    reportdata,
    schedule,
    summary,
    torch_tta,
    tta,
)
from benchmarks.mnist.configs import scaled
from benchmarks.mnist.datasets import digests, prepare
from benchmarks.threads import default_threads
from verification.markdown import write_report

FULL_SEEDS = (0, 1, 2)
#: Epoch cap of the seed CE recipe's time-to-accuracy runs (its full run has 200).
TTA_SEED_CE_EPOCHS = 25
TITLE = "MNIST: the seed's MSE vs cross-entropy, reproduced, explained and beaten"


def _options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mnist", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI mode: 1 seed, 2 epochs per run")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (0, 1, ...)")
    parser.add_argument(
        "--epochs-scale",
        type=float,
        default=1.0,
        help="multiply every epoch count (development runs)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="training processes, 1 BLAS thread each",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=default_threads(),
        help="BLAS and torch threads of the time-to-accuracy runs "
        "(default: $NPLEARN_BENCH_THREADS or 1, as benchmarks.timing)",
    )
    parser.add_argument("--out", type=Path, default=Path("reports"), help="report folder")
    return parser.parse_args(argv)


def _mode(opts: argparse.Namespace, seeds: Sequence[int]) -> str:
    if opts.quick:
        return "QUICK MODE"
    if opts.epochs_scale != 1.0 or len(seeds) < len(FULL_SEEDS):
        return "REDUCED RUN"
    return "full"


def _time_to_accuracy(plan: schedule.Plan, threads: int) -> tuple[list, list[tta.Curve]]:
    """nplearn and PyTorch curves for the seed CE and best recipes, every seed.

    The two frameworks' trainings of a (seed, config) run interleaved, a
    quarter epoch each in ABBA order (``tta.interleaved``), so drift of the
    machine's speed affects both alike; without torch, nplearn runs alone.

    Args:
        plan: the plan (its headline configs, seeds and first data set).
        threads: BLAS and torch threads.

    Returns:
        ``(configs, curves)``: the two configs as run, and every curve.
    """
    configs = [scaled(plan.headline[0], cap=TTA_SEED_CE_EPOCHS), plan.headline[2]]
    data = prepare(plan.datasets[0])
    curves = []
    with_torch = torch_tta.available()
    if with_torch:
        import torch

        torch.set_num_threads(threads)
    with threadpool_limits(limits=threads, user_api="blas"):
        for seed in plan.seeds:
            for cfg in configs:
                x, _ = tta.training_set(cfg, data)
                order = tta.batch_order(cfg, len(x), seed, cfg.epochs)
                trainer, initial = tta.nplearn_trainer(cfg, data, seed, order)
                runs = {"nplearn": trainer}
                if with_torch:
                    runs["torch"] = torch_tta.torch_trainer(cfg, data, order, initial)
                results = tta.interleaved(list(runs.values()))
                for framework, points in zip(runs, results, strict=True):
                    curves.append(tta.Curve(framework, cfg.key, seed, points))
                print(f"time to accuracy: {cfg.key} seed {seed} done", flush=True)
    return configs, curves


def main(argv: Sequence[str] | None = None) -> int:
    """Run everything and write the report; returns the exit status."""
    opts = _options(argv)
    tests = Path(__file__).with_name("test_ablation.py")
    if pytest.main(["-q", "-p", "no:cacheprovider", str(tests)]) != pytest.ExitCode.OK:
        print(f"benchmarks.mnist: {tests.name} failed; nothing was run", file=sys.stderr)
        return 1
    start = time.perf_counter()
    seeds = tuple(range(opts.seeds)) if opts.seeds else FULL_SEEDS[: 1 if opts.quick else None]
    threads = opts.threads
    mode = _mode(opts, seeds)
    plan = schedule.plan(quick=opts.quick, seeds=seeds, epochs_scale=opts.epochs_scale)
    print(
        f"benchmarks.mnist: {mode}, {len(plan.jobs)} training runs on {opts.workers} "
        f"worker(s), seeds {list(seeds)}",
        flush=True,
    )
    results = schedule.execute(plan.jobs, opts.workers)
    train_seconds = time.perf_counter() - start
    tta_configs, curves = _time_to_accuracy(plan, threads)
    tta_seconds = time.perf_counter() - start - train_seconds

    histories, finals = summary.histories(results), summary.finals(results)
    table = summary.aggregate(finals)
    by_key: dict[str, list] = {}
    for r in results:
        by_key.setdefault(r.config, []).append(r)
    rows = ablation.summarise(plan.variants, by_key)
    conclusion = ablation.conclusion(rows)
    points = summary.tta_points(curves)
    tta_table = summary.tta_summary(curves, tta.THRESHOLDS)

    folder = opts.out / "mnist"
    figures = outputs.write_figures(folder, plan, results, histories, rows, points, tta_table)
    total = time.perf_counter() - start
    settings = {
        "mode": mode
        + (" (1 seed, every run capped at 2 epochs: NOT the full benchmark)" if opts.quick else ""),
        "seeds": ", ".join(map(str, seeds)),
        "training runs": f"{len(plan.jobs)} on {opts.workers} worker process(es), 1 BLAS "
        f"thread each, {train_seconds:.0f} s",
        "time-to-accuracy runs": f"alone, {threads} BLAS thread(s) and {threads} torch "
        f"thread(s), {'with' if torch_tta.available() else 'WITHOUT'} PyTorch, "
        f"{tta_seconds:.0f} s",
        "total wall time": f"{total:.0f} s",
        "command": "python -m benchmarks.mnist "
        + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    data_files = outputs.write_data(
        folder,
        histories,
        finals,
        points,
        tta_table,
        rows,
        {
            "mode": mode,
            "seeds": list(seeds),
            "settings": settings,
            "ablation_conclusion": conclusion,
            "configs": {c.key: vars(c) for c in plan.headline},
        },
    )
    inputs = reportdata.Inputs(
        plan,
        finals,
        table,
        rows,
        conclusion,
        tta_table,
        tta_configs,
        summary.peer_agreement(points),
        settings,
        figures,
        data_files,
    )
    title = TITLE if mode == "full" else f"{TITLE} — {mode}"
    write_report(
        opts.out / "mnist.md",
        title,
        report.render(inputs),
        seeds=list(seeds),
        extra={"mode": mode, **digests(plan.datasets)},
    )
    print(f"wrote {opts.out / 'mnist.md'} in {total:.0f} s ({mode})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
