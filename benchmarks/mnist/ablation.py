"""Why the post's MSE run fails: change one factor at a time, then combinations.

Contract
--------
:func:`variants` derives from the post-faithful MSE config one config per set of changed
:data:`FACTORS` in :data:`COMBINATIONS`; :func:`summarise` turns results into table rows (mean and
std over seeds) and :func:`conclusion` writes the one-sentence conclusion from those numbers alone
(only the :data:`WORKING` bar of a "working classifier" is a constant).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from benchmarks.mnist.configs import POST_CE, RunConfig
from benchmarks.mnist.runs import RunResult

#: Test accuracy from which a network counts as "a working classifier".
WORKING = 0.90

#: factor -> (description, the config fields it changes)
FACTORS: dict[str, tuple[str, dict[str, object]]] = {
    "relu": ("correct ReLU backward", {"activation": "relu"}),
    "init": ("He init", {"init": "he"}),
    "lr": (f"the CE run's learning rate {POST_CE.lr:g}", {"lr": POST_CE.lr}),
    "sum": ("the gradient summed over the batch (the CE run's scale)", {"loss": "mse-sum"}),
}

#: The sets of changed factors run: the baseline, each factor alone, both triples "correct ReLU +
#: He init + a larger step" and each of them with one factor left out, and all four (the CE run's
#: full step: lr 5e-2 on a summed gradient).
COMBINATIONS: tuple[tuple[str, ...], ...] = (
    (), ("relu",), ("init",), ("lr",), ("sum",),
    ("relu", "init"), ("relu", "lr"), ("init", "lr"), ("relu", "sum"), ("init", "sum"),
    ("relu", "init", "lr"), ("relu", "init", "sum"), ("relu", "init", "lr", "sum"),
)  # fmt: skip


@dataclass(frozen=True)
class Variant:
    """One ablation run: the post's MSE run with the factors ``changes`` (none: the baseline)."""

    changes: tuple[str, ...]
    config: RunConfig

    @property
    def label(self) -> str:
        """``"post MSE"`` or ``"+ a + b"`` with the factors' descriptions."""
        return _names(self.changes) if self.changes else "post MSE (baseline)"

    @property
    def short(self) -> str:
        """``"baseline"`` or the factor keys, e.g. ``"+relu +init"`` (for plots)."""
        return " ".join(f"+{c}" for c in self.changes) or "baseline"


def variants(base: RunConfig, epochs: int) -> list[Variant]:
    """One :class:`Variant` of the post-faithful MSE config ``base`` per :data:`COMBINATIONS`."""
    out = []
    for changes in COMBINATIONS:
        fields: dict[str, Any] = {k: v for c in changes for k, v in FACTORS[c][1].items()}
        key = "abl-" + ("-".join(changes) or "baseline")
        out.append(Variant(changes, replace(base, key=key, epochs=epochs, **fields)))
    return out


@dataclass(frozen=True)
class Row:
    """One line of the ablation table: test accuracy (/255), final per-sample training loss (NaN:
    diverged) and live hidden units, means over ``seeds`` (labels as :class:`Variant`'s)."""

    changes: tuple[str, ...]
    label: str
    short: str
    accuracy: float
    accuracy_std: float
    loss: float
    active_units: float
    seeds: int


def summarise(chosen: Sequence[Variant], results: Sequence[RunResult]) -> list[Row]:
    """One :class:`Row` per variant of ``chosen``, from its runs among ``results``."""
    rows = []
    for variant in chosen:
        runs = [r for r in results if r.config == variant.config.key]
        accuracy = np.array([r.test_accuracy for r in runs])
        active = [r.active_units for r in runs if r.active_units is not None]
        loss = float(np.mean([r.history["loss"].iloc[-1] for r in runs]))
        live = float(np.mean(active)) if active else float("nan")
        stats = (float(accuracy.mean()), float(accuracy.std()), loss, live, len(runs))
        rows.append(Row(variant.changes, variant.label, variant.short, *stats))
    return rows


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def conclusion(rows: Sequence[Row]) -> str:
    """The sentence naming the factor(s) that make the post's MSE network a working classifier.

    Computed from the rows alone: a working classifier has test accuracy >= :data:`WORKING`.
    """
    by_changes = {r.changes: r for r in rows}
    base = by_changes.get(())
    start = f"from {_pct(base.accuracy)} " if base else ""
    singles = [r for r in rows if len(r.changes) == 1]
    best_single = max(singles, key=lambda r: r.accuracy)
    if best_single.accuracy >= WORKING:
        return (
            f"One factor alone turns the post's MSE network into a working classifier: "
            f"{best_single.label} lifts its test accuracy {start}to {_pct(best_single.accuracy)}."
        )
    working = [r for r in rows if r.accuracy >= WORKING]
    if not working:
        best = max(rows, key=lambda r: r.accuracy)
        return (
            f"No variant reaches {_pct(WORKING)}: the best, {best.label}, lifts test accuracy "
            f"{start}to {_pct(best.accuracy)}."
        )
    smallest = min(len(r.changes) for r in working)
    fixes = sorted((r for r in working if len(r.changes) == smallest), key=lambda r: -r.accuracy)
    drop_one = [tuple(c for c in fix.changes if c != drop) for fix in fixes for drop in fix.changes]
    without = [by_changes.get(rest) for rest in drop_one]
    at_most = _pct(max(r.accuracy for r in without if r)) if all(without) else ""  # all were run
    opening = (
        f"No single factor is enough (the best alone, {best_single.label}, reaches "
        f"{_pct(best_single.accuracy)}); the post's MSE network"
    )
    if len(fixes) == 1:
        tail = f", and leaving out any one of them gives at most {at_most}" if at_most else ""
        return (
            f"{opening} becomes a working classifier ({start}to {_pct(fixes[0].accuracy)} test "
            f"accuracy) only with {_names(fixes[0].changes)} together{tail}."
        )
    # Several sets of the same size work: name what they share and what each one adds.
    shared = tuple(c for c in fixes[0].changes if all(c in r.changes for r in fixes))
    either = " or ".join(
        f"{_names(tuple(c for c in r.changes if c not in shared))} ({_pct(r.accuracy)})"
        for r in fixes
    )
    needs = f"{_names(shared)} together with either {either}" if shared else f"either {either}"
    post = f" ({_pct(base.accuracy)} test accuracy)" if base else ""
    tail = f"; leaving out any one factor of these gives at most {at_most}" if at_most else ""
    union = tuple(c for c in FACTORS if any(c in r.changes for r in fixes))
    if union in by_changes and by_changes[union].accuracy < WORKING:
        tail += f", and all of them at once give {_pct(by_changes[union].accuracy)}"
    return f"{opening}{post} becomes a working classifier only with {needs}{tail}."


def _names(changes: tuple[str, ...]) -> str:
    """The factors' descriptions joined with " + "."""
    return " + ".join(FACTORS[c][0] for c in changes)
