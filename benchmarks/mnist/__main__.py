"""``python -m benchmarks.mnist``: run the MNIST reproduction and write its report.

Contract
--------
Runs the ablation conclusion's unit tests (``test_ablation.py``, no training); every training run
of ``execute.plan`` through joblib (``--jobs`` loky processes or a ``--dask`` cluster, 1 BLAS
thread per run, each saved as it finishes; ``--resume`` keeps the saved ones); then, alone in this
process with ``--threads`` BLAS and torch threads, the time-to-accuracy runs (``tta``); writes
``<out>/mnist.md`` (provenance header with the data files' SHA-256, body from ``report.render``)
and its figures, CSV and JSON under ``<out>/mnist/``. ``--quick`` (CI smoke test): one seed, every
run capped at 2 epochs, written under ``reports/quick/`` unless ``--out`` says otherwise, judged
by nothing; ``--epochs-scale`` or fewer than 3 seeds make a REDUCED RUN, not judged either. Exit
status 0 unless a unit test failed, the data is missing or a run failed (its name is printed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import pytest

from benchmarks.mnist import ablation, plots, report, results, tta
from benchmarks.mnist.datasets import digests, prepare
from benchmarks.mnist.execute import RunFailed, execute, plan
from benchmarks.threads import default_threads
from nplearn.data import DataError
from verification.markdown import write_report
from verification.provenance import provenance

FULL_SEEDS = 3
TITLE = "MNIST: the post's MSE vs cross-entropy, reproduced, explained and beaten"


def _options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mnist", description=__doc__)
    add = parser.add_argument
    add("--quick", action="store_true", help="smoke test: 1 seed, 2 epochs per run, no verdicts")
    add("--seeds", type=int, default=None, help=f"number of seeds 0..N-1 (default {FULL_SEEDS})")
    add("--epochs-scale", type=float, default=1.0, help="multiply every epoch count")
    jobs = "runs at a time (default: one process per core, or all of a --dask cluster's threads)"
    add("--jobs", type=int, help=jobs)
    add("--dask", metavar="ADDRESS", help="run on a Dask cluster: scheduler address, or 'local'")
    add("--resume", action="store_true", help="keep the runs already saved under --out")
    threads = "BLAS and torch threads of the time-to-accuracy runs ($NPLEARN_BENCH_THREADS or 1)"
    add("--threads", type=int, default=default_threads(), help=threads)
    add("--out", type=Path, help="report folder (default: reports/, or reports/quick/ if --quick)")
    opts = parser.parse_args(argv)
    if any(n is not None and n < 1 for n in (opts.seeds, opts.jobs)):
        parser.error("--seeds and --jobs must be at least 1")
    if opts.jobs is None:
        opts.jobs = -1 if opts.dask not in (None, "local") else os.cpu_count() or 1
    opts.out = opts.out or Path("reports/quick" if opts.quick else "reports")
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    """Run everything and write the report; returns the exit status."""
    opts = _options(argv)
    tests = Path(__file__).with_name("test_ablation.py")
    if pytest.main(["-q", "-p", "no:cacheprovider", str(tests)]) != pytest.ExitCode.OK:
        print(f"benchmarks.mnist: {tests.name} failed; nothing was run", file=sys.stderr)
        return 1
    start = time.perf_counter()
    seeds = tuple(range(opts.seeds or (1 if opts.quick else FULL_SEEDS)))
    reduced = opts.epochs_scale != 1.0 or len(seeds) < FULL_SEEDS
    mode = "QUICK MODE" if opts.quick else "REDUCED RUN" if reduced else "full"
    todo = plan(quick=opts.quick, seeds=seeds, epochs_scale=opts.epochs_scale)
    folder = opts.out / "mnist"
    try:
        # A missing data set stops the run before any training or timing.
        prepared = {name: prepare(name) for name in todo.datasets}
        runs, backend = execute(
            todo.jobs, folder / "runs", n_jobs=opts.jobs, dask=opts.dask, resume=opts.resume
        )
    except (DataError, RunFailed) as exc:
        print(f"benchmarks.mnist: {exc}", file=sys.stderr)
        return 1
    train_seconds = time.perf_counter() - start
    tta_configs, points, tta_kernel = tta.time_to_accuracy(
        todo, prepared[todo.datasets[0]], opts.threads, folder / "runs", opts.resume
    )
    tta_seconds = time.perf_counter() - start - train_seconds

    histories, finals = results.histories(runs), results.finals(runs)
    rows = ablation.summarise(todo.variants, runs)
    tta_table = results.tta_summary(points)
    figures = plots.write_figures(folder, todo, runs, histories, rows, points, tta_table)
    cpu = provenance()["CPU"]
    kernels = ", ".join(sorted(set(finals["blas"])))
    torch_threads = f"{opts.threads} torch thread(s)" if tta.torch_available() else "no PyTorch"
    settings = {
        "mode": mode + (" (every run capped at 2 epochs: a smoke test)" if opts.quick else ""),
        "seeds": ", ".join(map(str, seeds)),
        "training runs": f"{len(todo.jobs)} on {backend}, 1 BLAS thread each ({kernels}), "
        f"{train_seconds:.0f} s" + (" (resumed)" if opts.resume else ""),
        "time-to-accuracy runs": f"alone in the main process, {opts.threads} BLAS thread(s) "
        f"({tta_kernel}) and {torch_threads}, {tta_seconds:.0f} s",
        "total wall time": f"{time.perf_counter() - start:.0f} s",
        "command": "python -m benchmarks.mnist "
        + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    summary = {"mode": mode, "seeds": list(seeds), "settings": settings,
               "ablation_conclusion": ablation.conclusion(rows),
               "configs": {c.key: asdict(c) for c in todo.headline},
               "ablation": [asdict(r) for r in rows],
               "time_to_accuracy": tta_table.to_dict(orient="records")}  # fmt: skip
    frames = {"histories": histories, "finals": finals, "tta": points}
    inputs = report.Inputs(
        todo, finals, rows, tta_table, tta_configs, results.peer_agreement(points), settings,
        judged=mode == "full", depends=f"CPU {cpu}, BLAS {kernels}, 1 BLAS thread per run",
        tta_depends=f"CPU {cpu}, BLAS {tta_kernel}, {opts.threads} BLAS thread(s), {torch_threads}",
        figures=figures, data_files=results.write_data(folder, frames, summary),
    )  # fmt: skip
    title = TITLE if mode == "full" else f"{TITLE} — {mode}"
    extra = {"mode": mode, **digests(todo.datasets)}
    write_report(opts.out / "mnist.md", title, report.render(inputs), seeds=seeds, extra=extra)
    print(f"wrote {opts.out / 'mnist.md'} in {time.perf_counter() - start:.0f} s ({mode})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
