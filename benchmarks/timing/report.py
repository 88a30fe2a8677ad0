"""``reports/bench.md``: the timing report, its CSV tables and its plots.

Contract
--------
:func:`write_bench_report` takes the finished run as plain data (:class:`Run`) and writes, all
atomically and only then: ``reports/bench/timings.csv`` (every time), ``ratios.csv`` (every
ratio), ``gate.csv`` (the verdicts), the two PNGs of :mod:`benchmarks.timing.plots`, and last
``reports/bench.md`` through ``verification.markdown.write_report`` (the provenance header on top).
It computes nothing but formatting.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from benchmarks.timing.gate import Thresholds, Verdict
from benchmarks.timing.plots import LABELS, plot_ratios, plot_times
from benchmarks.timing.results import CONFIG
from nplearn.atomic import atomic_write
from verification.markdown import markdown_table, write_report

__all__ = ["Run", "write_bench_report"]

COLUMNS = ["floor-gemm", "floor-fused", "nplearn", "torch", "sklearn", "seed"]


@dataclass
class Run:
    """Everything the report shows.

    Attributes:
        mode: ``"quick"`` or ``"full"``.
        threads: the pinned BLAS (and PyTorch) thread count.
        times: :func:`results.time_table`; vs_floor, vs_torch: :func:`results.ratio_table`
            against the fused floor and against PyTorch.
        gate, selftest: verdicts for nplearn and for the slowed nplearn.
        thresholds: the thresholds used.
        settings: the run's settings (recorded in the header).
        seconds: wall time of the timings.
        seed: the base seed of the generators.
    """

    mode: str
    threads: int
    times: pd.DataFrame
    vs_floor: pd.DataFrame
    vs_torch: pd.DataFrame
    gate: list[Verdict]
    selftest: list[Verdict]
    thresholds: Thresholds
    settings: dict[str, object]
    seconds: float
    seed: int
    notes: list[str] = field(default_factory=list)


def _ms(value: float) -> object:
    return "" if pd.isna(value) else float(value * 1e3)


def _verdict_rows(
    verdicts: Sequence[Verdict], baseline: Sequence[Verdict] = ()
) -> list[list[object]]:
    """Table rows; with ``baseline`` (nplearn's verdicts) these are the self-test's rows."""
    library = {v.config: v for v in baseline}
    rows = []
    for v in verdicts:
        if baseline:
            outcome = "rejected (gate works)" if not v.passed else "**not rejected**"
        else:
            outcome = "pass" if v.passed else "**FAIL**"
        target = "" if v.meets_target is None else ("yes" if v.meets_target else "**no**")
        rows.append(
            [
                v.net,
                v.dtype,
                v.batch,
                _ms(v.time),
                _ms(v.floor_time),
                v.ratio,
                f"{v.low:.3f}-{v.high:.3f}",
                "-" if v.limit is None else v.limit,
                target,
                outcome,
                "yes" if v.rechecked else "",
            ]
        )
        if baseline:
            base = library.get(v.config)
            rows[-1].append("" if base is None else v.ratio / base.ratio)
    return rows


VERDICT_COLUMNS = [
    "network",
    "dtype",
    "batch",
    "step (ms)",
    "fused floor (ms)",
    "ratio",
    "block range",
    "threshold",
    "<= target",
    "verdict",
    "rechecked",
]


def _wide(frame: pd.DataFrame, value: str, dtype: str, impls: Sequence[str]) -> list[list[object]]:
    """Rows network, batch, one cell per implementation of ``value``."""
    mine = frame[frame["dtype"] == dtype]
    table = mine.pivot_table(index=["net", "batch"], columns="impl", values=value)
    rows = []
    for (net, batch), row in table.iterrows():
        cells = [row.get(i, float("nan")) for i in impls]
        rows.append([net, batch, *("" if pd.isna(c) else float(c) for c in cells)])
    return rows


def _body(run: Run) -> str:
    out: list[str] = []
    failed = [v for v in run.gate if not v.passed]
    verdict = "PASSED" if not failed else f"FAILED ({len(failed)} configurations)"
    t = run.thresholds
    out += [
        f"## Gate: {verdict}\n",
        f"nplearn's training step (`nplearn.training.train_step`) divided by the hand-fused "
        f"NumPy floor timed in the same run, against `{Path(t.path).name}`. The ratio is the "
        f"median over interleaved block pairs; the block range shows the noise. Target: "
        f"<= {t.target:g} for {t.target_dtype} at batch >= {t.target_min_batch}.\n",
        markdown_table(VERDICT_COLUMNS, _verdict_rows(run.gate), digits=4),
    ]
    out += [
        "## Gate self-test: nplearn with a slowed `Linear`\n",
        "The same step with `CopyingLinear` (stray copies of the layer input in forward and "
        "in backward and of its weight in forward), timed and judged exactly like nplearn "
        "against the same thresholds. "
        "The gate must reject it.\n",
        markdown_table(
            [*VERDICT_COLUMNS, "slowed / nplearn"],
            _verdict_rows(run.selftest, baseline=run.gate),
            digits=4,
        ),
        "The last column is the slowdown the gate has to see (ratio of the two ratios): a "
        "threshold catches it only if it lies between nplearn's ratio and the slowed one.\n",
    ]
    impls = [i for i in COLUMNS if i in set(run.times["impl"])]
    steps = run.times[run.times["kind"] == "step"].copy()
    steps["ms"] = steps["time"] * 1e3
    floor = run.vs_floor[run.vs_floor["impl"] != "nplearn-copy"]
    for dtype in dict.fromkeys(steps["dtype"]):
        out += [
            f"## {dtype}: median time per training step (ms)\n",
            markdown_table(["network", "batch", *impls], _wide(steps, "ms", dtype, impls)),
            f"## {dtype}: ratio to the fused floor (time / floor time)\n",
            markdown_table(
                ["network", "batch", *[i for i in impls if i != "floor-fused"]],
                _wide(floor, "ratio", dtype, [i for i in impls if i != "floor-fused"]),
            ),
            f"## {dtype}: nplearn's step relative to each peer (nplearn time / peer time)\n",
            markdown_table(
                ["network", "batch", "vs torch (paired)", "vs sklearn", "vs seed"],
                _relative_rows(run, dtype),
            ),
            f"## {dtype}: GFLOP/s of the five matrix products per step\n",
            markdown_table(["network", "batch", *impls], _wide(steps, "gflops", dtype, impls)),
        ]
    parts = run.times[run.times["impl"] == "nplearn"].copy()
    parts["ms"] = parts["time"] * 1e3
    rows = []
    for (net, dtype, batch), group in parts.groupby(CONFIG):
        by_kind = group.set_index("kind")
        rows.append(
            [
                net,
                dtype,
                batch,
                *(
                    x
                    for k in ("forward", "backward", "step")
                    if k in by_kind.index
                    for x in (float(by_kind.at[k, "ms"]), float(by_kind.at[k, "gflops"]))
                ),
            ]
        )
    rows = [r for r in rows if len(r) == 9]
    out += [
        "## nplearn: forward alone, backward alone, training step\n",
        "Backward alone is `net.backward(dL/dlogits, input_grad=False)` with the loss gradient "
        "computed beforehand.\n",
        markdown_table(
            [
                "network",
                "dtype",
                "batch",
                "forward (ms)",
                "GFLOP/s",
                "backward (ms)",
                "GFLOP/s",
                "step (ms)",
                "GFLOP/s",
            ],
            rows,
        ),
        "## Plots\n",
        "![time per step](bench/time_per_step.png)\n",
        "![ratio to the fused floor](bench/ratio_to_floor.png)\n",
        "## How these figures are made\n",
        *(f"- {line}" for line in _method(run)),
        "",
        "Raw tables: `reports/bench/timings.csv`, `ratios.csv`, `gate.csv`. pytest-benchmark "
        "results are also autosaved under `.benchmarks/` (git-ignored): "
        "`python -m benchmarks.timing --benchmark-compare` compares with your previous run on "
        "the same machine.\n",
    ]
    return "\n".join(out)


def _relative_rows(run: Run, dtype: str) -> list[list[object]]:
    """nplearn / torch (paired), nplearn / sklearn, nplearn / seed, per network and batch."""
    steps = run.times[(run.times["kind"] == "step")].set_index(["impl", *CONFIG])["time"]
    torch = run.vs_torch[(run.vs_torch["impl"] == "nplearn") & (run.vs_torch["dtype"] == dtype)]
    torch = torch.set_index(["net", "batch"])["ratio"]
    rows = []
    for (impl, net, dt, batch), value in steps.items():
        if impl != "nplearn" or dt != dtype:
            continue
        cells: list[object] = [net, batch, float(torch.get((net, batch), float("nan")))]
        for peer in ("sklearn", "seed"):
            key = (peer, net, dtype, batch)
            cells.append(float(value / steps[key]) if key in steps.index else "")
        rows.append(cells)
    return [["" if isinstance(c, float) and pd.isna(c) else c for c in r] for r in rows]


def _method(run: Run) -> list[str]:
    s = run.settings
    return [
        f"Mode **{run.mode}**; BLAS/OpenMP threads pinned to {run.threads} with threadpoolctl for "
        f"the whole run, `torch.set_num_threads({run.threads})`; timings took "
        f"{run.seconds:.0f} s.",
        "Network 784-128-10 (ReLU: the seed's MSE net; Sigmoid: its CE net), "
        "`CrossEntropyLoss(reduction='sum')` on integer labels, `SGD(lr=1e-6)`; random data "
        f"and weights from seeded generators (base seed {run.seed}).",
        "Every figure is a pytest-benchmark median. Paired implementations (fused floor, "
        f"nplearn, PyTorch, slowed nplearn) run in {s['pairs']} interleaved blocks of "
        f"~{s['block_time']} s in ABBA order; their time is the median of the block medians and "
        "their ratios the median of per-block ratios. Others run once for "
        f"~{s['single_time']} s.",
        "A failing ratio is re-timed with twice as many interleaved blocks before the gate "
        "fails (`rechecked`).",
        "Fused floor: the same step in plain NumPy with preallocated buffers and in-place "
        "elementwise work (`benchmarks/timing/floors.py`); it is checked to give nplearn's "
        "loss and gradients. GEMM floor: the five matrix products alone. PyTorch is checked "
        "the same way.",
        "GFLOP/s count the five matrix products of a step (2*B*(784*128*2 + 128*10*3) FLOPs), "
        "whatever an implementation computes on top (the seed also computes the input gradient).",
        "scikit-learn: one `MLPClassifier.partial_fit` on one batch with `batch_size=B`, i.e. "
        "one SGD step plus its per-call input validation and label binarization, a fixed cost "
        "that dominates at small batches.",
        "The seed's code (`verification/post_impl.py`, verbatim) always computes in "
        "float64 (its `randn` weights) on float32 inputs, as its script does; it is timed "
        "under both dtype headings so that each table compares it with that dtype's floor.",
        *run.notes,
    ]


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_write(path, "w", newline="") as f:
        frame.to_csv(f, index=False)


def write_bench_report(run: Run, reports: str | os.PathLike[str]) -> Path:
    """Write the CSVs, the plots, then ``bench.md`` under ``reports``; return its path."""
    folder = Path(reports) / "bench"
    _write_csv(run.times, folder / "timings.csv")
    both = pd.concat(
        [run.vs_floor.assign(reference="floor-fused"), run.vs_torch.assign(reference="torch")],
        ignore_index=True,
    )
    _write_csv(both, folder / "ratios.csv")
    verdicts = [{**asdict(v), "passed": v.passed} for v in [*run.gate, *run.selftest]]
    _write_csv(pd.DataFrame.from_records(verdicts), folder / "gate.csv")
    plot_times(run.times, folder / "time_per_step.png")
    plot_ratios(
        run.vs_floor, run.thresholds.limits, run.thresholds.target, folder / "ratio_to_floor.png"
    )
    path = Path(reports) / "bench.md"
    title = "Timings of the 784-128-10 training step" + (
        " (quick mode)" if run.mode == "quick" else ""
    )
    extra = {
        "mode": run.mode + (" (CI: fewer batch sizes and rounds)" if run.mode == "quick" else ""),
        "BLAS threads (pinned)": run.threads,
        "torch threads": run.threads,
        "thresholds": Path(run.thresholds.path).name,
        "implementations": ", ".join(LABELS[i] for i in LABELS if i in set(run.times["impl"])),
    }
    write_report(path, title, _body(run), seeds={"base": run.seed}, extra=extra)
    return path
