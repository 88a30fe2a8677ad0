"""``bench.md``: the timing report, rendered from a finished run given as plain data.

Contract
--------
:class:`Run` holds every result of :func:`benchmarks.timing.run.run_all`; :func:`write_bench_report`
writes ``<reports>/bench/timings.json`` (the pytest-benchmark JSON), ``bench/ratios.png`` and last
``<reports>/bench.md`` through ``verification.markdown.write_report`` (provenance on top), all
atomically. Every ratio shown comes from interleaved blocks of this run; a row where the fused
floor came out slower than nplearn reads ``noise``. A quick run is shown as numbers that are too
short to judge: no verdict is printed for it. Nothing here measures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import ticker

from benchmarks.png import save_png
from benchmarks.timing import ab, gate
from benchmarks.timing.limit import DEFAULT, Limit
from benchmarks.timing.steps import IMPLS, SEED
from nplearn.atomic import atomic_write_text
from verification.markdown import markdown_table, write_report

PEERS = ("nplearn", "torch", "jax", "post")
LIMIT_COLUMNS = ["configuration", "nplearn, default kernel (ms)", "fastest step", "its time (ms)",
                 "nplearn / fastest (range)", "fastest kernel"]  # fmt: skip
LABELS = {
    "floor": "fused floor",
    "nplearn": "nplearn",
    "torch": "PyTorch",
    "jax": "JAX jit",
    "post": "the post's code",
}


@dataclass
class Run:
    """A finished timing run (see :mod:`benchmarks.timing.run`)."""

    mode: str
    threads: int
    blocks: pd.DataFrame
    gate: pd.DataFrame
    selftest: list[ab.Comparison] | None
    limit: Limit
    ab: tuple[list[ab.Comparison], str] | None
    tolerance: float
    seconds: float
    raw: str

    def caught(self) -> bool:
        return self.selftest is not None and any(c.verdict == "slower" for c in self.selftest)

    def passed(self) -> bool:
        """Full mode: no configuration over its limit, and the self-test caught the slowdown."""
        return self.caught() and not (self.gate["verdict"] == "FAIL").any()

    def verdict_lines(self) -> list[str]:
        lines = [
            f"nplearn / floor {r.net} {r.dtype} batch {r.batch}: {_ratio(r.ratio, r.low, r.high)}"
            + (f", limit {r.limit}: {r.verdict}" if self.mode == "full" else _noise(r.ratio))
            for r in self.gate.itertuples()
        ]
        if self.mode == "quick":
            return [*lines, "quick run: numbers only; too short to judge (no gate, no self-test)"]
        flagged = sum(c.verdict == "slower" for c in self.selftest or [])
        lines.append(
            f"self-test: the A/B flagged the planted 3% slowdown in {flagged} of "
            f"{len(self.selftest or [])} configurations"
        )
        failed = int((self.gate["verdict"] == "FAIL").sum())
        why = [f"{failed} configurations over their limit"] if failed else []
        why += [] if self.caught() else ["the self-test's planted slowdown was not flagged"]
        return [*lines, "GATE PASSED" if not why else "GATE FAILED: " + "; ".join(why)]


def _noise(ratio: float) -> str:
    return ": noise (floor slower)" if ratio < 1 else ""


def _ratio(ratio: float, low: float, high: float) -> str:
    return f"{ratio:.3f} ({low:.3f}-{high:.3f})"


def _gate(run: Run) -> list[str]:
    rows = [
        [
            r.net,
            r.dtype,
            r.batch,
            1e3 * r.time,
            1e3 * r.ref_time,
            "noise" if r.ratio < 1 else _ratio(r.ratio, r.low, r.high),
            *(() if run.mode == "quick" else (r.limit or "-", r.verdict)),
        ]
        for r in run.gate.itertuples()
    ]
    columns = ["network", "dtype", "batch", "nplearn (ms)", "fused floor (ms)", "ratio (range)"]
    if run.mode == "quick":
        head = ["## nplearn / fused floor (quick run: too short to judge)\n"]
        return [*head, markdown_table(columns, rows)]
    title = "PASSED" if run.passed() else "FAILED"
    return [
        f"## Gate: {title}\n",
        "nplearn's training step over the hand-fused NumPy floor, timed in interleaved blocks "
        "of this run, against `benchmarks/thresholds.json`. It depends on this CPU, its BLAS "
        f"kernel ({run.limit.kernels[DEFAULT]}) and {run.threads} thread(s).\n",
        markdown_table([*columns, "limit", "verdict"], rows),
    ]


def _comparisons(results: list[ab.Comparison], a: str, b: str) -> str:
    rows = [
        [c.config.id, c.tree_ms, c.base_ms, c.ratio, f"{c.low:.3f}-{c.high:.3f}", c.verdict]
        for c in results
    ]
    return markdown_table(
        ["configuration", f"{a} (ms)", f"{b} (ms)", "ratio", "95% interval", "verdict"], rows
    )


def _paired(run: Run) -> list[str]:
    out = [
        "## Ratio to the fused floor (paired blocks)\n",
        "Each cell is the median over repeats of (implementation block / floor block of the same "
        "repeat); the floor is checked to compute nplearn's step. `noise`: the floor came out "
        "slower than nplearn, which it bounds.\n",
    ]
    table = None
    for impl in PEERS:
        p = gate.paired(run.blocks, impl).set_index(gate.CONFIG)["ratio"].rename(LABELS[impl])
        table = p.to_frame() if table is None else table.join(p, how="outer")
    assert table is not None
    rows = [
        [
            *key,
            *(
                "" if pd.isna(v) else "noise" if col == "nplearn" and v < 1 else float(v)
                for col, v in zip(table.columns, values, strict=True)
            ),
        ]
        for key, values in zip(table.index, table.to_numpy(), strict=True)
    ]
    times = run.blocks.groupby([*gate.CONFIG, "impl"])["value"].median().unstack() * 1e3
    times = times[[i for i in IMPLS if i in times]]
    noise = times["floor"] > times["nplearn"]  # a bound slower than what it bounds

    def cell(key: tuple, impl: str) -> object:
        value = float(times.at[key, impl])
        return f"{value:.4g} (noise)" if impl == "floor" and noise[key] else value

    time_rows = [[*k, *(cell(k, i) for i in times.columns)] for k in times.index]
    return [
        *out,
        markdown_table([*gate.CONFIG, *table.columns], rows),
        "## Time per step (ms, median over blocks of each block's 10th percentile)\n",
        "`(noise)`: the floor's median came out slower than nplearn's; not a result.\n",
        markdown_table([*gate.CONFIG, *(LABELS[i] for i in times.columns)], time_rows),
    ]


def _limit(run: Run) -> list[str]:
    lim = run.limit
    name = {
        w: f"default ({k})" if w == DEFAULT else w if w == k else f"{w} ({k})"
        for w, k in lim.kernels.items()
    }
    rows = []
    for c, ratios in lim.ratios.items():
        w, impl = lim.fastest(c)
        floor = min((k for k in lim.times[c] if k[1] == "floor"), key=lim.times[c].__getitem__)
        ours, best = lim.times[c][(DEFAULT, "nplearn")], lim.times[c][(w, impl)]
        rows.append(
            [
                c.id,
                ours,
                f"{LABELS[impl]}, {name[w]}",
                best,
                _ratio(*ratios[(w, impl)]),
                name[floor[0]],
            ]
        )
    floors = [[c.id, *(lim.times[c].get((w, "floor"), "") for w in lim.kernels)] for c in lim.times]
    return [
        "## How far from the limit\n",
        f"nplearn's step under the kernel OpenBLAS ran by default here ({lim.kernels[DEFAULT]}) "
        "against the fastest step measured on this machine: the fused floor and nplearn under "
        "every OpenBLAS kernel this CPU supports (one worker process per `OPENBLAS_CORETYPE`), "
        "PyTorch and JAX's `jit` step, all float32, in interleaved rounds. "
        "`python -m nplearn.doctor` gives the same kernel advice to users.\n",
        markdown_table(LIMIT_COLUMNS, rows),
        "Fused floor under each kernel (ms):\n",
        markdown_table(["configuration", *(name[w] for w in lim.kernels)], floors),
    ]


def _method(run: Run) -> list[str]:
    return [
        "## How these figures are made\n",
        f"- Mode **{run.mode}**, {run.seconds:.0f} s. BLAS, OpenMP, PyTorch and XLA pinned to "
        f"{run.threads} thread(s) (threadpoolctl in-process, environment variables for workers).",
        "- Network 784-128-10 with ReLU or Sigmoid, summed cross-entropy on integer labels, SGD; "
        "every implementation starts from the same seeded weights and batch.",
        "- Every step is timed alone; a block stands for its 10th percentile, so steps the "
        "scheduler interrupted on this shared machine do not count. Implementations run in "
        "blocks interleaved ABBA; ratios are medians of per-repeat block ratios.",
        "- The A/B runs each build in its own long-lived worker processes (two per side, taken "
        "in turn), rebuilds the step with random memory padding every round, and bootstraps "
        "the 20% trimmed mean of the per-round log ratios for a 95% interval. `slower` needs "
        f"the interval above {1 + run.tolerance / 3:.3f} and the estimate above "
        f"{1 + run.tolerance / 2:.3f} (tolerance {run.tolerance:.0%}).",
        "- Raw results: `bench/timings.json` (pytest-benchmark JSON).\n",
    ]


def _figure(run: Run, path: Path) -> None:
    ratios = {impl: gate.paired(run.blocks, impl) for impl in PEERS}
    groups = sorted({(n, d) for n, d in zip(run.blocks["net"], run.blocks["dtype"], strict=True)})
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
    for ax, (net, dtype) in zip(axes[0], groups, strict=True):
        for impl, frame in ratios.items():
            mine = frame[(frame["net"] == net) & (frame["dtype"] == dtype)]
            ax.plot(mine["batch"], mine["ratio"], marker="o", label=LABELS[impl])
        ax.axhline(1, color="grey", lw=0.8)
        ax.set(xscale="log", yscale="log", title=f"{net} {dtype}", xlabel="batch")
        batches = sorted(set(run.blocks["batch"]))
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.yaxis.set_major_locator(ticker.LogLocator(base=2))
        ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    axes[0][0].set_ylabel("time per step / fused floor")
    axes[0][0].legend(fontsize=8)
    save_png(fig, path)


def write_bench_report(run: Run, reports: str | os.PathLike[str]) -> Path:
    """Write the JSON, the figure, then ``bench.md`` under ``reports``; return its path."""
    folder = Path(reports) / "bench"
    atomic_write_text(folder / "timings.json", run.raw)
    _figure(run, folder / "ratios.png")
    body = _gate(run)
    if run.selftest is not None:
        body += [
            "## Self-test: the A/B catches a planted 3% slowdown\n",
            "A copy of the working tree whose `train_step` busy-waits 3% of its own time, "
            "against the working tree, judged like any A/B. The gate fails unless it is "
            "flagged.\n",
            _comparisons(run.selftest, "slowed copy", "working tree"),
        ]
    body += [*_paired(run), "![ratio to the fused floor](bench/ratios.png)\n", *_limit(run)]
    if run.ab is not None:
        results, what = run.ab
        body += [
            "## A/B against the baseline\n",
            f"Compared: {what}. Ratio = working tree / baseline.\n",
            _comparisons(results, "working tree", "baseline"),
            ab.summary(results, "the baseline", run.tolerance) + "\n",
        ]
    body += _method(run)
    path = Path(reports) / "bench.md"
    title = "Timings of the 784-128-10 training step" + (
        " (quick run)" if run.mode == "quick" else ""
    )
    extra = {
        "mode": run.mode,
        "threads (pinned)": run.threads,
        "BLAS kernel of the timings": run.limit.kernels[DEFAULT],
    }
    write_report(path, title, "\n".join(body), seeds={"base": SEED}, extra=extra)
    return path
