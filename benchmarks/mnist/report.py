"""The markdown body of ``mnist.md``: results as plain data in, markdown out.

Contract
--------
:func:`render` fills ``report_template.md`` from an :class:`Inputs` bundle. Every number and
verdict is computed from that data; only the post's claims, the targets and the best recipe's
fixed choices are constants. A quick or reduced run shows the numbers and no verdict; a full
run's verdicts name what they depend on (CPU, BLAS kernel, threads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from benchmarks.mnist.ablation import FACTORS, WORKING, Row, conclusion
from benchmarks.mnist.configs import RunConfig
from benchmarks.mnist.datasets import NAMES
from benchmarks.mnist.execute import Plan
from benchmarks.mnist.results import CONFIDENCE, aggregate, pm
from verification.markdown import markdown_table

BEST_TARGET = 0.980  # the target of the best configuration
RATIO_TARGET = 0.5  # nplearn's time to 97 % at most half of PyTorch's
POST_CE_CLAIM = 0.95  # "Average Test Accuracy: 0.95"
POST_MSE_CLAIM = 2643.26  # "Test Error is 2643.26"
TTA_THRESHOLD = 0.97
SAME_TRAJECTORY = 0.002  # max accuracy gap (20 test images) still read as float rounding
RATIO = f"ratio nplearn / PyTorch [{CONFIDENCE:.0%} interval]"
TEMPLATE = Path(__file__).with_name("report_template.md")


@dataclass(frozen=True)
class Inputs:
    """What the report is rendered from: ``results`` frames, ablation rows, settings shown as
    they are, ``judged`` (can this run judge), what the verdicts ``depends`` on, figure paths."""

    plan: Plan
    finals: pd.DataFrame
    ablation_rows: Sequence[Row]
    tta: pd.DataFrame
    tta_configs: Sequence[RunConfig]
    tta_agreement: float
    settings: Mapping[str, str]
    judged: bool
    depends: str
    tta_depends: str
    figures: Mapping[str, str]
    data_files: Sequence[str]

    @cached_property
    def table(self) -> pd.DataFrame:
        """Mean and std of the final metrics per ``(dataset, config)``."""
        return aggregate(self.finals)

    def get(self, dataset: str, key: str, metric: str, stat: str = "mean") -> float:
        """One aggregated value, e.g. ``get("mnist", "best", "test_accuracy")``."""
        return float(self.table.loc[(dataset, key), (metric, stat)])

    def pm(self, dataset: str, key: str, metric: str, digits: int = 4) -> str:
        """``"mean ± std"`` of one metric."""
        return pm(self.get(dataset, key, metric), self.get(dataset, key, metric, "std"), digits)


def _or(value: float, spec: str, missing: str = "-") -> str:
    """``value`` formatted with ``spec``, or ``missing`` for NaN."""
    return missing if value != value else format(value, spec)


def _headline(inputs: Inputs) -> str:
    ce, mse, best = inputs.plan.headline
    post, right = "evaluated as the post did", "correct evaluation (test /255)"
    lines = (
        (ce, f"{post} (test not /255, mean of batch accuracies)", "accuracy {post_accuracy}"),
        (ce, right, "accuracy {test_accuracy}"),
        (mse, post, "test error {post_error}; accuracy {post_accuracy}"),
        (mse, right, "accuracy {test_accuracy}"),
        (best, "", "accuracy {test_accuracy}"),
    )
    digits = {"post_accuracy": 4, "test_accuracy": 4, "post_error": 2}
    rows = []
    for dataset in inputs.plan.datasets:
        for cfg, how, result in lines:
            cells = {m: inputs.pm(dataset, cfg.key, m, d) for m, d in digits.items()}
            name = f"{NAMES.get(dataset, dataset)}: {cfg.label}" + (f", {how}" if how else "")
            claim = cfg.claim if dataset == "mnist" else "-"
            wall = inputs.pm(dataset, cfg.key, "wall_time", 1)
            rows.append([name, claim, result.format(**cells), cfg.epochs, wall])
    seeds = len(inputs.plan.seeds)
    columns = ["configuration", "the post's claim", f"our result (mean ± std, {seeds} seed(s))"]
    return markdown_table([*columns, "epochs", "wall s per run"], rows)


def _verdicts(inputs: Inputs) -> dict[str, object]:
    ce, mse, best = inputs.plan.headline
    post_ce = inputs.get("mnist", ce.key, "post_accuracy")
    mse_acc = inputs.get("mnist", mse.key, "test_accuracy")
    best_acc = inputs.get("mnist", best.key, "test_accuracy")
    judged = inputs.judged

    def verdict(ok: bool, yes: str, no: str) -> str:
        return f" **{yes if ok else no}**" if judged else ""

    unjudged = f"_{inputs.settings['mode']}: too short a run or too few seeds to judge the claims "
    return {
        "unjudged": f"{unjudged}and targets; the numbers are shown, no verdict._\n\n"
        * (not judged),
        "ce_verdict": verdict(round(post_ce, 2) >= POST_CE_CLAIM, "confirmed", "refuted"),
        "ce_post": inputs.pm("mnist", ce.key, "post_accuracy"),
        "post_ce": post_ce,
        "ce_right": inputs.pm("mnist", ce.key, "test_accuracy"),
        "mse_verdict": verdict(mse_acc < WORKING, "confirmed", "refuted"),
        "mse_acc": mse_acc,
        "mse_error": inputs.pm("mnist", mse.key, "post_error", 2),
        "best_verdict": verdict(best_acc >= BEST_TARGET, "met", "NOT met"),
        "best_acc": inputs.pm("mnist", best.key, "test_accuracy"),
        "tta_verdict": tta_verdict(inputs.tta, inputs.tta_configs, judged, inputs.tta_depends),
        "judged_note": f"\nThe accuracy verdicts were measured with {inputs.depends}.\n" * judged,
    }


def interval_verdict(low: float, high: float, target: float) -> str:
    """``"met"`` when the whole interval is at or below ``target``, ``"NOT met"`` when it lies
    above, else (NaN bounds included) ``"inconclusive"``."""
    if high <= target:
        return "met"
    return "NOT met" if low > target else "inconclusive"


def tta_verdict(tta: pd.DataFrame, configs: Sequence[RunConfig], judged: bool, depends: str) -> str:
    """The headline's time-to-97 % line: per config the pooled ratio, its interval and (judged
    runs only) :func:`interval_verdict` against :data:`RATIO_TARGET`.

    Args:
        tta: ``results.tta_summary`` rows; configs: the timed configs; depends: what the
            timings were measured with (named by judged runs).
    """
    if not tta.query("framework == 'torch'")["seeds"].any():
        return "- Time to accuracy: PyTorch not installed; no comparison."
    ratios = tta.query("framework == 'ratio' and threshold == @TTA_THRESHOLD").set_index("config")
    parts = []
    for cfg in configs:
        row = ratios.loc[cfg.key]
        if row.reached == 0:
            parts.append(f"{cfg.key}: not reached by both within {cfg.epochs} epochs")
            continue
        verdict = f", **{interval_verdict(row.low, row.high, RATIO_TARGET)}**" if judged else ""
        parts.append(f"{cfg.key}: nplearn / PyTorch = {_interval(row)}{verdict}")
    measured = f" (measured with {depends})" if judged else ""
    target = f"{TTA_THRESHOLD:.0%} (target: nplearn / PyTorch <= {RATIO_TARGET})"
    return f"- Time to {target}: {'; '.join(parts)}{measured}."


def _interval(row: object) -> str:
    """``"pooled [low, high]"`` of a ratio row, 3 decimals so the target's side shows."""
    ratio, low, high = (getattr(row, k) for k in ("pooled", "low", "high"))
    bounds = "no interval: fewer than 2 ABBA pairs" if high != high else f"{low:.3f}, {high:.3f}"
    return f"{ratio:.3f} [{bounds}]"


def _faithful_table(inputs: Inputs) -> str:
    rows = []
    for dataset in inputs.plan.datasets:
        for cfg in inputs.plan.headline:
            cells = [inputs.pm(dataset, cfg.key, m) for m in ("test_accuracy", "post_accuracy")]
            cells += [inputs.pm(dataset, cfg.key, "post_error", 3)]
            cells += [_or(inputs.get(dataset, cfg.key, "active_units"), ".3f")]
            cells += [inputs.pm(dataset, cfg.key, "train_time", 1)]
            rows.append([NAMES.get(dataset, dataset), cfg.key, cfg.epochs, *cells])
    columns = ["data set", "config", "epochs", "test accuracy (/255)", "post-style accuracy"]
    columns += ["post-style test error", "live hidden units", "training s"]
    return markdown_table(columns, rows)


def _ablation(inputs: Inputs) -> dict[str, object]:
    rows = []
    for r in inputs.ablation_rows:
        loss, live = _or(r.loss, ".4g", "diverged (NaN)"), _or(r.active_units, ".3f")
        rows.append(
            [f"`{r.short}`: {r.label}", pm(r.accuracy, r.accuracy_std), loss, live, r.seeds]
        )
    columns = ["variant", "test accuracy (/255)", "final training loss per sample"]
    unjudged = "none drawn from a quick or reduced run."
    return {
        "conclusion": conclusion(inputs.ablation_rows) if inputs.judged else unjudged,
        "ab": {r.short: r for r in inputs.ablation_rows},
        "factors": "\n".join(f"- `{k}`: {text}" for k, (text, _) in FACTORS.items()),
        "ablation_table": markdown_table([*columns, "live hidden units", "seeds"], rows),
    }


def _tta(inputs: Inputs) -> dict[str, object]:
    rows = []
    for (config, threshold), frame in inputs.tta.groupby(["config", "threshold"], sort=False):
        cells = {}
        for r in frame.itertuples():
            shown = _interval(r) if r.framework == "ratio" else pm(r.mean, r.std, 2)
            cells[r.framework] = f"{shown if r.reached else 'not reached'} ({r.reached}/{r.seeds})"
        rows.append([config, f"{threshold:.0%}", cells["nplearn"], cells["torch"], cells["ratio"]])
    gap = inputs.tta_agreement
    same = "float32 rounding only: the ratio compares the speed of the same computation"
    other = "more than rounding: the ratio also reflects different trajectories"
    agreement = "The two frameworks' test accuracies at the same evaluation points differ by at "
    agreement += f"most {gap:.4f} ({same if gap <= SAME_TRAJECTORY else other})."
    return {
        "tta_caps": ", ".join(f"{c.key}: at most {c.epochs} epochs" for c in inputs.tta_configs),
        "tta_agreement": "" if gap != gap else agreement,
        "tta_table": markdown_table(["config", "threshold", "nplearn s", "PyTorch s", RATIO], rows),
    }


def _fashion(inputs: Inputs) -> dict[str, object]:
    keys = [c.key for c in inputs.plan.headline]
    accuracy = {(d, k): inputs.get(d, k, "test_accuracy") for d in NAMES for k in keys}
    rank = {d: " > ".join(sorted(keys, key=lambda k: -accuracy[d, k])) for d in NAMES}
    lines = [
        f"- `{k}`: {accuracy['fashion-mnist', k]:.4f} on Fashion-MNIST vs "
        f"{accuracy['mnist', k]:.4f} on MNIST "
        f"({100 * (accuracy['fashion-mnist', k] - accuracy['mnist', k]):+.1f} points)."
        for k in keys
    ]
    same = "carries over" if rank["fashion-mnist"] == rank["mnist"] else "changes"
    return {"fashion": "\n".join(lines), "ranking": f"{same}: {rank['fashion-mnist']}"}


def _best_table(inputs: Inputs) -> str:
    cfg = inputs.plan.headline[2]
    rows = []
    for dataset in inputs.plan.datasets:
        runs = inputs.finals.query("dataset == @dataset and config == @cfg.key")
        accuracies = [f"{a:.4f}" for a in runs["test_accuracy"]]
        spread = [inputs.pm(dataset, cfg.key, "test_accuracy")]
        spread += [inputs.pm(dataset, cfg.key, "train_time", 1)]
        rows.append([NAMES.get(dataset, dataset), *accuracies, *spread])
    seeds = [f"seed {s}" for s in inputs.plan.seeds]
    return markdown_table(["data set", *seeds, "mean ± std", "training s"], rows)


def render(inputs: Inputs) -> str:
    """The report body (everything below the provenance header)."""
    fields = {
        "settings": "\n".join(f"- {k}: {v}" for k, v in inputs.settings.items()),
        "headline": _headline(inputs),
        **_verdicts(inputs),
        "faithful": _faithful_table(inputs),
        "inputs": inputs,
        "working": WORKING,
        "best_target": BEST_TARGET,
        "mse_claim": POST_MSE_CLAIM,
        "confidence": CONFIDENCE,
        **_ablation(inputs),
        "best": inputs.plan.headline[2],
        "best_table": _best_table(inputs),
        **_tta(inputs),
        **_fashion(inputs),
        "data": ", ".join(f"`{name}`" for name in inputs.data_files),
        **{f"fig_{name}": path for name, path in inputs.figures.items()},
    }
    return TEMPLATE.read_text(encoding="utf-8").format_map(fields)
