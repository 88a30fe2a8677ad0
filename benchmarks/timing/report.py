"""``bench.md``: the timing report, rendered from a finished run given as plain data.

Contract
--------
:class:`Run` holds every result of :func:`benchmarks.timing.run.run_all`; :func:`write_bench_report`
writes ``<reports>/bench/timings.json`` (the pytest-benchmark JSON), ``bench/ratios.png`` and last
``<reports>/bench.md`` (provenance on top, prose from ``report_template.md``), all atomically.
Every ratio comes from interleaved blocks of this run; a fused floor slower than nplearn reads
``noise``; a quick run shows numbers and no verdict. Nothing here measures.
"""

from __future__ import annotations

import os
import re
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

TEMPLATE = Path(__file__).with_name("report_template.md")
PEERS = ("nplearn", "torch", "jax", "post")
LIMIT_COLUMNS = ["configuration", "nplearn, default kernel (ms)", "fastest step", "its time (ms)",
                 "nplearn / fastest (range)", "fastest kernel"]  # fmt: skip
LABELS = {"floor": "fused floor", "nplearn": "nplearn", "torch": "PyTorch", "jax": "JAX jit",
          "post": "the post's code"}  # fmt: skip


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


def _prose(section: str, **values: object) -> str:
    """One section of :data:`TEMPLATE`, filled with ``values``."""
    parts = re.split(r"^<!-- (\w+) -->\n", TEMPLATE.read_text(encoding="utf-8"), flags=re.M)
    text = dict(zip(parts[1::2], parts[2::2], strict=True))[section]
    return text.format(**values).rstrip() + "\n"


def _noise(ratio: float) -> str:
    return ": noise (floor slower)" if ratio < 1 else ""


def _ratio(ratio: float, low: float, high: float) -> str:
    return f"{ratio:.3f} ({low:.3f}-{high:.3f})"


def _gate(run: Run) -> list[str]:
    quick = run.mode == "quick"
    rows = [
        [r.net, r.dtype, r.batch, 1e3 * r.time, 1e3 * r.ref_time,
         "noise" if r.ratio < 1 else _ratio(r.ratio, r.low, r.high),
         *(() if quick else (r.limit or "-", r.verdict))]
        for r in run.gate.itertuples()
    ]  # fmt: skip
    columns = ["network", "dtype", "batch", "nplearn (ms)", "fused floor (ms)", "ratio (range)"]
    if quick:
        return [_prose("quick_gate"), markdown_table(columns, rows)]
    title = "PASSED" if run.passed() else "FAILED"
    kernel = run.limit.kernels[DEFAULT]
    return [_prose("gate", title=title, kernel=kernel, threads=run.threads),
            markdown_table([*columns, "limit", "verdict"], rows)]  # fmt: skip


def _comparisons(results: list[ab.Comparison], a: str, b: str) -> str:
    rows = [
        [c.config.id, c.tree_ms, c.base_ms, c.ratio, f"{c.low:.3f}-{c.high:.3f}", c.verdict]
        for c in results
    ]
    columns = ["configuration", f"{a} (ms)", f"{b} (ms)", "ratio", "95% interval", "verdict"]
    return markdown_table(columns, rows)


def _paired(run: Run) -> list[str]:
    ratios = [
        gate.paired(run.blocks, impl).set_index(gate.CONFIG)["ratio"].rename(LABELS[impl])
        for impl in PEERS
    ]
    table = pd.concat(ratios, axis=1, join="outer").sort_index()
    nplearn = LABELS["nplearn"]
    rows = [
        [*key, *("" if pd.isna(v) else "noise" if col == nplearn and v < 1 else float(v)
                 for col, v in zip(table.columns, values, strict=True))]
        for key, values in zip(table.index, table.to_numpy(), strict=True)
    ]  # fmt: skip
    times = run.blocks.groupby([*gate.CONFIG, "impl"])["value"].median().unstack() * 1e3
    times = times[[i for i in IMPLS if i in times]]
    noise = times["floor"] > times["nplearn"]  # a bound slower than what it bounds

    def cell(key: tuple, impl: str) -> object:
        value = float(times.at[key, impl])
        return f"{value:.4g} (noise)" if impl == "floor" and noise[key] else value

    time_rows = [[*k, *(cell(k, i) for i in times.columns)] for k in times.index]
    return [
        _prose("paired"),
        markdown_table([*gate.CONFIG, *table.columns], rows),
        _prose("times"),
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
        ratio = _ratio(*ratios[(w, impl)])
        rows.append([c.id, ours, f"{LABELS[impl]}, {name[w]}", best, ratio, name[floor[0]]])
    floors = [[c.id, *(lim.times[c].get((w, "floor"), "") for w in lim.kernels)] for c in lim.times]
    return [
        _prose("limit", kernel=lim.kernels[DEFAULT]),
        markdown_table(LIMIT_COLUMNS, rows),
        _prose("limit_floors"),
        markdown_table(["configuration", *(name[w] for w in lim.kernels)], floors),
    ]


def _figure(run: Run, path: Path) -> None:
    ratios = {impl: gate.paired(run.blocks, impl) for impl in PEERS}
    groups = sorted(set(zip(run.blocks["net"], run.blocks["dtype"], strict=True)))
    batches = sorted(set(run.blocks["batch"]))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6), squeeze=False)
    for ax, (net, dtype) in zip(axes[0], groups, strict=True):
        for impl, frame in ratios.items():
            mine = frame[(frame["net"] == net) & (frame["dtype"] == dtype)]
            ax.plot(mine["batch"], mine["ratio"], marker="o", label=LABELS[impl])
        ax.axhline(1, color="grey", lw=0.8)
        ax.set(xscale="log", yscale="log", title=f"{net} {dtype}", xlabel="batch")
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
        body += [_prose("selftest"), _comparisons(run.selftest, "slowed copy", "working tree")]
    body += [*_paired(run), _prose("figure"), *_limit(run)]
    if run.ab is not None:
        results, what = run.ab
        body += [
            _prose("ab", what=what),
            _comparisons(results, "working tree", "baseline"),
            ab.summary(results, "the baseline", run.tolerance) + "\n",
        ]
    tol = run.tolerance
    body.append(_prose("method", mode=run.mode, seconds=run.seconds, threads=run.threads,
                       interval=1 + tol / 3, point=1 + tol / 2, tolerance=tol))  # fmt: skip
    path = Path(reports) / "bench.md"
    title = "Timings of the 784-128-10 training step" + (" (quick run)" * (run.mode == "quick"))
    extra = {"mode": run.mode, "threads (pinned)": run.threads,
             "BLAS kernel of the timings": run.limit.kernels[DEFAULT]}  # fmt: skip
    write_report(path, title, "\n".join(body), seeds={"base": SEED}, extra=extra)
    return path
