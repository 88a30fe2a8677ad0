"""The headline of ``reports/mnist.md``: the seed's claims against our numbers, and verdicts.

Contract
--------
:func:`headline` renders the table "configuration, the seed's claim, our
result (mean ± std over seeds), epochs, wall time" for every data set, then
one verdict per claim or target (the seed's CE accuracy 0.95, its MSE "test
error", the best configuration's 98.0 %, nplearn's time to 97 % against
PyTorch's). Each verdict is computed from the numbers; only the quoted claims
and the issue's targets are constants.
"""

from __future__ import annotations

from benchmarks.mnist.ablation import WORKING
from benchmarks.mnist.reportdata import NAMES, Inputs
from verification.markdown import markdown_table

__all__ = ["BEST_TARGET", "RATIO_TARGET", "headline"]

BEST_TARGET = 0.980  # the target for the best configuration
RATIO_TARGET = 0.6  # nplearn's time to 97 % at most 0.6x PyTorch's
SEED_CE_CLAIM = 0.95  # "Average Test Accuracy: 0.95"
SEED_MSE_CLAIM = 2643.26  # "Test Error is 2643.26"
TTA_THRESHOLD = 0.97  # the time-to-accuracy target threshold


def headline(inputs: Inputs) -> str:
    """The headline table (one row per claim and evaluation) and the verdicts."""
    ce, mse, best = inputs.plan.headline
    rows = []
    for dataset in inputs.plan.datasets:
        name = NAMES.get(dataset, dataset)
        claims = dataset == "mnist"
        n = inputs.seeds(dataset, ce.key)
        wall = {c.key: inputs.pm(dataset, c.key, "wall_time", 1) for c in (ce, mse, best)}
        rows += [
            [
                f"{name}: {ce.label}, evaluated as the seed did (test not /255, mean of batch "
                "accuracies)",
                ce.claim if claims else "-",
                f"accuracy {inputs.pm(dataset, ce.key, 'seed_accuracy')}",
                ce.epochs,
                wall[ce.key],
            ],
            [
                f"{name}: {ce.label}, correct evaluation (test /255)",
                ce.claim if claims else "-",
                f"accuracy {inputs.pm(dataset, ce.key, 'test_accuracy')}",
                ce.epochs,
                wall[ce.key],
            ],
            [
                f"{name}: {mse.label}, evaluated as the seed did",
                mse.claim if claims else "-",
                f"test error {inputs.pm(dataset, mse.key, 'seed_error', 2)}; accuracy "
                f"{inputs.pm(dataset, mse.key, 'seed_accuracy')}",
                mse.epochs,
                wall[mse.key],
            ],
            [
                f"{name}: {mse.label}, correct evaluation",
                mse.claim if claims else "-",
                f"accuracy {inputs.pm(dataset, mse.key, 'test_accuracy')}",
                mse.epochs,
                wall[mse.key],
            ],
            [
                f"{name}: {best.label}",
                best.claim if claims else "-",
                f"accuracy {inputs.pm(dataset, best.key, 'test_accuracy')}",
                best.epochs,
                wall[best.key],
            ],
        ]
    table = markdown_table(
        [
            "configuration",
            "the seed's claim",
            f"our result (mean ± std, {n} seed(s))",
            "epochs",
            "wall s per run",
        ],
        rows,
    )
    return table + "\n" + _verdicts(inputs)


def _verdicts(inputs: Inputs) -> str:
    ce, mse, best = inputs.plan.headline
    seed_ce = inputs.get("mnist", ce.key, "seed_accuracy")
    ok = round(seed_ce, 2) >= SEED_CE_CLAIM
    mse_acc = inputs.get("mnist", mse.key, "test_accuracy")
    best_acc = inputs.get("mnist", best.key, "test_accuracy")
    caveat = (
        "" if inputs.mode == "full" else f"_{inputs.mode}: not the full benchmark's verdicts._\n\n"
    )
    return caveat + (
        f"- **Cross-entropy claim (0.95) {'confirmed' if ok else 'refuted'}:** evaluated as "
        f"the seed did, the seed's CE recipe scores {inputs.pm('mnist', ce.key, 'seed_accuracy')}"
        f" (printed with the seed's 2 decimals: {seed_ce:.2f}); with the test images divided "
        f"by 255 it scores {inputs.pm('mnist', ce.key, 'test_accuracy')}.\n"
        f'- **MSE claim ("performs poorly") {"confirmed" if mse_acc < WORKING else "refuted"}:'
        f"** the seed's MSE recipe reaches {mse_acc:.4f} test accuracy (chance: about 0.10; "
        f'a working classifier: >= {WORKING:.2f}); its "test error" computed the seed\'s way is '
        f"{inputs.pm('mnist', mse.key, 'seed_error', 2)} (the seed printed {SEED_MSE_CLAIM}; "
        "a mean batch loss on test images 255 times too bright, it varies with the random "
        "initialisation and says little about the model).\n"
        f"- **Best configuration:** {inputs.pm('mnist', best.key, 'test_accuracy')} test "
        "accuracy on MNIST, target "
        f"{BEST_TARGET:.3f}: {'met' if best_acc >= BEST_TARGET else 'NOT met'}.\n"
        + _tta_verdict(inputs)
    )


def _tta_verdict(inputs: Inputs) -> str:
    if inputs.without_torch:
        return "- **Time to accuracy:** PyTorch not installed; no comparison.\n"
    parts = []
    for cfg in inputs.tta_configs:
        ratio = inputs.tta.query(
            "config == @cfg.key and framework == 'ratio' and threshold == @TTA_THRESHOLD"
        )
        if ratio.empty or ratio["reached"].iloc[0] == 0:
            parts.append(f"{cfg.key}: not reached by both within {cfg.epochs} epochs")
            continue
        value = float(ratio["mean"].iloc[0])
        verdict = "met" if value <= RATIO_TARGET else "NOT met"
        parts.append(f"{cfg.key}: nplearn / PyTorch = {value:.2f}, {verdict}")
    return (
        f"- **Time to {TTA_THRESHOLD:.0%} (target: nplearn / PyTorch <= {RATIO_TARGET}):** "
        + "; ".join(parts)
        + ".\n"
    )
