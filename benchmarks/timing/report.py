"""``bench.md``: the timing report, rendered from a finished run given as plain data.

Contract
--------
:class:`Run` holds every result of :func:`benchmarks.timing.run.run_all`; :func:`write_bench_report`
writes ``<reports>/bench/ratios.png`` and last ``<reports>/bench.md`` (provenance on top, prose
from ``report_template.md``), both atomically; no raw data. Every ratio comes from this run, with
its interval; verdicts are ``pass``/``FAIL``/``inconclusive`` (gate) and ``slower``/``faster``/
``same``/``inconclusive`` (A/B); a quick run shows numbers and no gate. Nothing here measures.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import ticker

from benchmarks.png import save_png
from benchmarks.threads import affinity
from benchmarks.timing import ab, gate
from benchmarks.timing.config import SEED
from benchmarks.timing.limit import DEFAULT, FLOOR_BOUND, LIMIT, OURS, name
from benchmarks.timing.sequential import ALPHA, LEVEL, LOOKS, ROUNDS, Outcome
from benchmarks.timing.steps import IMPLS
from verification.markdown import markdown_table, write_report

TEMPLATE = Path(__file__).with_name("report_template.md")
PEERS = ("nplearn", "torch", "jax", "post")
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
    limit: Outcome  # of :func:`.limit.measure`
    ab: tuple[list[ab.Comparison], str] | None
    tolerance: float
    seconds: float
    history: str = ""  # the section of :mod:`.history`

    def gate_status(self) -> tuple[str, str]:
        """Full mode: ``PASSED`` (every gated row passes, the plant flagged), ``FAILED`` or
        ``INCONCLUSIVE``, and why."""
        rows = self.gate["verdict"]
        failed, open_ = int((rows == "FAIL").sum()), int((rows == "inconclusive").sum())
        found = ab.overall(self.selftest or [])
        fails = [f"{failed} configurations over their limit"] if failed else []
        if found == "no regression":
            fails.append("the self-test's planted slowdown read no regression")
        opens = [f"{open_} configurations undecided against their limit"] if open_ else []
        if found == "INCONCLUSIVE":
            opens.append("the self-test could not decide on the planted slowdown")
        word = "FAILED" if fails else "INCONCLUSIVE" if opens else "PASSED"
        return word, "; ".join(fails or opens)

    def verdict_lines(self) -> list[str]:
        lines = [gate.line(r, judged=self.mode == "full") for r in self.gate.itertuples()]
        if self.mode == "quick":
            return [*lines, "quick run: numbers only; too short to judge (no gate, no self-test)"]
        lines.append("self-test: " + ab.summary(self.selftest or [], "the copy", self.tolerance))
        word, why = self.gate_status()
        return [*lines, f"GATE {word}" + (f": {why}" if why else "")]


def _prose(section: str, **values: object) -> str:
    """One section of :data:`TEMPLATE`, filled with ``values``."""
    parts = re.split(r"^<!-- (\w+) -->\n", TEMPLATE.read_text(encoding="utf-8"), flags=re.M)
    text = dict(zip(parts[1::2], parts[2::2], strict=True))[section]
    return text.format(**values).rstrip() + "\n"


def _ratio(r: Any) -> str:
    """``ratio [low, high]`` of a :class:`.sequential.Estimate` or a table row."""
    return f"{r.ratio:.3f} [{r.low:.3f}, {r.high:.3f}]"


def _gate(run: Run) -> list[str]:
    quick = run.mode == "quick"
    rows = [[r.net, r.dtype, r.batch, 1e3 * r.time, 1e3 * r.ref_time,
             _ratio(r) + (" (floor slower: noise)" if r.ratio < 1 else ""),
             *(() if quick else (r.measured, r.limit or "-", r.verdict))]
            for r in run.gate.itertuples()]  # fmt: skip
    columns = ["network", "dtype", "batch", "nplearn (ms)", "fused floor (ms)", "ratio [interval]"]
    if quick:
        return [_prose("quick_gate"), markdown_table(columns, rows)]
    prose = _prose("gate", title=run.gate_status()[0], kernel=run.limit.kernels[DEFAULT],
                   threads=run.threads, level=LEVEL, margin=gate.PROCESS_MARGIN)  # fmt: skip
    return [prose, markdown_table([*columns, "measured over", "limit", "verdict"], rows)]


def _comparisons(results: list[ab.Comparison], a: str, b: str) -> str:
    rows = [[c.config.id, c.tree_ms, c.base_ms, c.estimate.ratio,
             f"{c.estimate.low:.3f}-{c.estimate.high:.3f}", c.estimate.clusters, c.verdict,
             c.undecided() if c.verdict == "inconclusive" else ""] for c in results]  # fmt: skip
    columns = ["configuration", f"{a} (ms)", f"{b} (ms)", "ratio", f"{LEVEL:.2%} interval",
               "clusters", "verdict", "what would decide"]  # fmt: skip
    return markdown_table(columns, rows)


def _paired(run: Run, ratios: dict[str, pd.DataFrame]) -> list[str]:
    cells: dict[tuple, dict[str, str]] = {}
    for impl, frame in ratios.items():
        for r in frame.itertuples():
            noise = " (noise)" if impl == "nplearn" and r.ratio < 1 else ""
            cells.setdefault((r.net, r.dtype, r.batch), {})[impl] = _ratio(r) + noise
    rows = [[*key, *(row.get(impl, "") for impl in PEERS)] for key, row in sorted(cells.items())]
    times = run.blocks.groupby([*gate.CONFIG, "impl"])["value"].median().unstack() * 1e3
    times = times[[i for i in IMPLS if i in times]]
    noise = times["floor"] > times["nplearn"]  # a bound slower than what it bounds
    shown = times.astype(object)
    shown.loc[noise, "floor"] = [f"{value:.4g} (noise)" for value in times.loc[noise, "floor"]]
    time_rows = [[*key, *row] for key, row in zip(shown.index, shown.values.tolist(), strict=True)]
    columns = [*gate.CONFIG, *(LABELS[i] for i in PEERS)]
    return [_prose("paired"), markdown_table(columns, rows), _prose("times"),
            markdown_table([*gate.CONFIG, *(LABELS[i] for i in times.columns)], time_rows)]


def _limit(run: Run) -> list[str]:
    lim = run.limit  # ratios: nplearn (default kernel) / each arm, named by limit.name; FLOOR_BOUND
    worker = {w: f"default ({k})" if w == DEFAULT else w if w == k else f"{w} ({k})"
              for w, k in lim.kernels.items()}  # fmt: skip
    arms = [arm for arm in next(iter(lim.times.values()), {}) if arm != OURS]
    peers = [arm for arm in arms if arm[0] == DEFAULT and arm != LIMIT]
    kernels = [arm for arm in arms if arm[0] != DEFAULT and arm[1] == "nplearn"]
    peer_rows, bound_rows, kernel_rows = [], [], []
    for c, times in lim.times.items():
        ratio = {arm: _ratio(lim.estimates[c][name(arm)]) for arm in times}
        w, impl = min((a for a in times if a != LIMIT), key=times.__getitem__)  # fastest step
        peer_rows.append([c.id, times[OURS], *(ratio[a] for a in peers),
                          f"{LABELS[impl]}, {worker[w]}: {ratio[w, impl]}"])  # fmt: skip
        bound_rows.append([c.id, times[LIMIT], _ratio(lim.estimates[c][FLOOR_BOUND]), ratio[LIMIT]])
        kernel_rows.append([c.id, *(ratio[a] for a in kernels)])
    out = [_prose("limit", kernel=lim.kernels[DEFAULT], clusters=lim.clusters),
           markdown_table(["configuration", "bound (ms)", "fused floor / bound", "nplearn / bound"],
                          bound_rows),
           _prose("limit_peers"),
           markdown_table(["configuration", "nplearn, default kernel (ms)",
                           *(f"/ {LABELS[i]}" for _, i in peers), "fastest step: nplearn / it"],
                          peer_rows)]  # fmt: skip
    if kernels:
        columns = ["configuration", *(f"/ nplearn, {worker[w]}" for w, _ in kernels)]
        out += [_prose("limit_kernels"), markdown_table(columns, kernel_rows)]
    return out


def _figure(run: Run, ratios: dict[str, pd.DataFrame], path: Path) -> None:
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
    """Write the figure, then ``bench.md`` under ``reports``; return its path."""
    ratios = {impl: gate.paired(run.blocks, impl) for impl in PEERS}
    _figure(run, ratios, Path(reports) / "bench" / "ratios.png")
    body = _gate(run)
    if run.selftest is not None:
        body += [_prose("selftest"), _comparisons(run.selftest, "slowed copy", "working tree")]
    body += [*_paired(run, ratios), "![ratio to the fused floor](bench/ratios.png)\n", *_limit(run)]
    if run.ab is not None:
        results, what = run.ab
        body += [_prose("ab", what=what), _comparisons(results, "working tree", "baseline"),
                 ab.summary(results, "the baseline", run.tolerance) + "\n"]  # fmt: skip
    body.append(run.history)
    tol = run.tolerance
    body.append(_prose("method", mode=run.mode, seconds=run.seconds, threads=run.threads,
                       interval=1 + tol / 3, point=1 + tol / 2, low=1 - tol, tol_high=1 + tol,
                       rounds=ROUNDS, looks=", ".join(map(str, LOOKS)), k=len(LOOKS) + 1,
                       alpha=ALPHA, level=LEVEL))  # fmt: skip
    path = Path(reports) / "bench.md"
    title = "Timings of the 784-128-10 training step" + (" (quick run)" * (run.mode == "quick"))
    extra = {"mode": run.mode, "threads (pinned)": run.threads, "CPU affinity": affinity(),
             "BLAS kernel of the timings": run.limit.kernels[DEFAULT]}  # fmt: skip
    write_report(path, title, "\n".join(body), seeds={"base": SEED}, extra=extra)
    return path
