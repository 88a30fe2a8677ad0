"""Render the markdown body of ``reports/mnist.md`` from the summarised results.

Contract
--------
:func:`render` takes plain data (the aggregated final metrics, ablation rows,
time-to-accuracy summary, the plan and the run's settings) and returns
markdown; every number and every verdict in it is computed from that data
(nothing is hard-coded except the claims quoted from the seed's post and the
issue's targets). ``nplearn.report.write_report`` adds the title and the
provenance header and writes the file atomically (see ``__main__``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from benchmarks.mnist.ablation import FACTORS, WORKING, Row
from benchmarks.mnist.configs import RunConfig
from benchmarks.mnist.schedule import Plan
from benchmarks.mnist.summary import pm
from nplearn.report import markdown_table

__all__ = ["BEST_TARGET", "RATIO_TARGET", "Inputs", "render"]

BEST_TARGET = 0.980  # the target for the best configuration
RATIO_TARGET = 0.6  # nplearn's time to 97 % at most 0.6x PyTorch's
SEED_CE_CLAIM = 0.95  # "Average Test Accuracy: 0.95"
SEED_MSE_CLAIM = 2643.26  # "Test Error is 2643.26"
NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


@dataclass(frozen=True)
class Inputs:
    """What the report is rendered from.

    Attributes:
        plan: the runs' plan (configs as run, seeds, data sets).
        table: ``summary.aggregate`` of the final metrics.
        ablation_rows: the ablation table; ablation_text its conclusion.
        tta: ``summary.tta_summary`` frame (may be empty when torch is missing).
        tta_configs: the configs timed, as run (epoch caps applied).
        settings: mode, workers, threads and timing notes, shown verbatim.
        figures: figure name -> path relative to the report.
        data_files: file names of the CSV/JSON data beside the figures.
    """

    plan: Plan
    table: pd.DataFrame
    ablation_rows: Sequence[Row]
    ablation_text: str
    tta: pd.DataFrame
    tta_configs: Sequence[RunConfig]
    settings: Mapping[str, str]
    figures: Mapping[str, str]
    data_files: Sequence[str]


def _get(inputs: Inputs, dataset: str, key: str, metric: str, stat: str = "mean") -> float:
    return float(inputs.table.loc[(dataset, key), (metric, stat)])


def _pm(inputs: Inputs, dataset: str, key: str, metric: str, digits: int = 4) -> str:
    return pm(_get(inputs, dataset, key, metric), _get(inputs, dataset, key, metric, "std"), digits)


def _seeds(inputs: Inputs, dataset: str, key: str) -> int:
    return int(inputs.table.loc[(dataset, key), ("seed", "count")])


def _headline(inputs: Inputs) -> str:
    ce, mse, best = inputs.plan.headline
    rows = []
    for dataset in inputs.plan.datasets:
        name = NAMES.get(dataset, dataset)
        claims = dataset == "mnist"
        n = _seeds(inputs, dataset, ce.key)
        wall = {c.key: _pm(inputs, dataset, c.key, "wall_time", 1) for c in (ce, mse, best)}
        rows += [
            [
                f"{name}: {ce.label}, evaluated as the seed did (test not /255, mean of batch "
                "accuracies)",
                ce.claim if claims else "-",
                f"accuracy {_pm(inputs, dataset, ce.key, 'seed_accuracy')}",
                ce.epochs,
                wall[ce.key],
            ],
            [
                f"{name}: {ce.label}, correct evaluation (test /255)",
                ce.claim if claims else "-",
                f"accuracy {_pm(inputs, dataset, ce.key, 'test_accuracy')}",
                ce.epochs,
                wall[ce.key],
            ],
            [
                f"{name}: {mse.label}, evaluated as the seed did",
                mse.claim if claims else "-",
                f"test error {_pm(inputs, dataset, mse.key, 'seed_error', 2)}; accuracy "
                f"{_pm(inputs, dataset, mse.key, 'seed_accuracy')}",
                mse.epochs,
                wall[mse.key],
            ],
            [
                f"{name}: {mse.label}, correct evaluation",
                mse.claim if claims else "-",
                f"accuracy {_pm(inputs, dataset, mse.key, 'test_accuracy')}",
                mse.epochs,
                wall[mse.key],
            ],
            [
                f"{name}: {best.label}",
                best.claim if claims else "-",
                f"accuracy {_pm(inputs, dataset, best.key, 'test_accuracy')}",
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
    seed_ce = _get(inputs, "mnist", ce.key, "seed_accuracy")
    right_ce = _get(inputs, "mnist", ce.key, "test_accuracy")
    ok = round(seed_ce, 2) >= SEED_CE_CLAIM
    mse_acc = _get(inputs, "mnist", mse.key, "test_accuracy")
    error = _get(inputs, "mnist", mse.key, "seed_error")
    best_acc = _get(inputs, "mnist", best.key, "test_accuracy")
    return (
        f"- **Cross-entropy claim {'confirmed' if ok else 'refuted'}:** evaluated as the seed "
        f"did, the seed's CE recipe scores {seed_ce:.4f} (the seed printed 2 decimals: "
        f"{seed_ce:.2f} vs its 0.95); with the test images divided by 255 it scores "
        f"{right_ce:.4f}.\n"
        f"- **MSE:** the seed's MSE recipe reaches {mse_acc:.4f} test accuracy (chance: about "
        f'0.10); its "test error" computed the seed\'s way is {error:.2f} (the seed printed '
        f"{SEED_MSE_CLAIM}; it is a mean batch loss on images 255 times too bright, so it "
        "depends mostly on the random initialisation and says little about the model).\n"
        f"- **Best configuration:** {best_acc:.4f} test accuracy on MNIST, target "
        f"{BEST_TARGET:.3f}: {'met' if best_acc >= BEST_TARGET else 'NOT met'}.\n"
        + _tta_verdict(inputs)
    )


def _tta_verdict(inputs: Inputs) -> str:
    best = inputs.plan.headline[2]
    if inputs.tta.empty:
        return "- **Time to accuracy:** PyTorch not installed; no comparison.\n"
    ratio = inputs.tta.query("config == @best.key and framework == 'ratio' and threshold == 0.97")
    if ratio.empty or ratio["reached"].iloc[0] == 0:
        return "- **Time to 97 %:** not reached by both frameworks; no ratio.\n"
    value = float(ratio["mean"].iloc[0])
    return (
        f"- **Time to 97 % ({best.key}):** nplearn / PyTorch = {value:.2f} (target <= "
        f"{RATIO_TARGET}): {'met' if value <= RATIO_TARGET else 'NOT met'}.\n"
    )


def _faithful_table(inputs: Inputs) -> str:
    rows = []
    for dataset in inputs.plan.datasets:
        for cfg in inputs.plan.headline:
            active = _get(inputs, dataset, cfg.key, "active_units")
            rows.append(
                [
                    NAMES.get(dataset, dataset),
                    cfg.key,
                    cfg.epochs,
                    _pm(inputs, dataset, cfg.key, "test_accuracy"),
                    _pm(inputs, dataset, cfg.key, "seed_accuracy"),
                    _pm(inputs, dataset, cfg.key, "seed_error", 3),
                    "-" if active != active else f"{active:.3f}",
                    _pm(inputs, dataset, cfg.key, "train_time", 1),
                ]
            )
    return markdown_table(
        [
            "data set",
            "config",
            "epochs",
            "test accuracy (/255)",
            "seed-style accuracy",
            "seed-style test error",
            "live hidden units",
            "training s",
        ],
        rows,
    )


def _ablation(inputs: Inputs) -> str:
    epochs = inputs.plan.variants[0].config.epochs
    rows = [
        [
            r.label,
            pm(r.accuracy, r.accuracy_std),
            "diverged (NaN)" if r.loss != r.loss else f"{r.loss:.4g}",
            "-" if r.active_units != r.active_units else f"{r.active_units:.3f}",
            r.seeds,
        ]
        for r in inputs.ablation_rows
    ]
    factors = "\n".join(f"- `{k}`: {text}" for k, (text, _) in FACTORS.items())
    return (
        f"**Conclusion:** {inputs.ablation_text}\n\n"
        f"Each variant starts from the seed-faithful MSE run and changes the listed factors; "
        f"{epochs} epochs each (the seed's MSE run has 100: the ablation is shortened to fit "
        f"the time budget; the per-epoch curves in the figure show which variants were still "
        f'improving). A "working classifier" means >= {WORKING:.0%} test accuracy.\n\n'
        f"{factors}\n\n"
        + markdown_table(
            [
                "variant",
                "test accuracy (/255)",
                "final training loss per sample",
                "live hidden units",
                "seeds",
            ],
            rows,
        )
        + "\nWhy the seed's ReLU backward is fatal: it returns `max(grad, 0)` for every unit, so "
        "the first layer's gradient `x^T max(grad, 0)` is >= 0 elementwise (pixels are >= 0) "
        "and SGD can only *decrease* every first-layer weight and bias; hidden pre-activations "
        'drift down until units are dead for every input (the "live hidden units" column: '
        "the fraction of units positive on at least one test image). A large step makes this "
        "happen within the first epoch; the randn init (outputs of size ~10-100 against 0/1 "
        "targets) makes the first gradients huge.\n"
    )


def _tta(inputs: Inputs) -> str:
    if inputs.tta.empty:
        return "PyTorch is not installed: only nplearn was timed.\n"
    rows = []
    for (config, threshold), frame in inputs.tta.groupby(["config", "threshold"], sort=False):
        cells = {
            r.framework: ("not reached" if r.reached == 0 else pm(r.mean, r.std, 2))
            + f" ({r.reached}/{r.seeds})"
            for r in frame.itertuples()
        }
        rows.append([config, f"{threshold:.0%}", cells["nplearn"], cells["torch"], cells["ratio"]])
    caps = ", ".join(f"{c.key}: at most {c.epochs} epochs" for c in inputs.tta_configs)
    return (
        "Training seconds (evaluation excluded) from the first step until the test accuracy "
        "(10k images / 255) first reaches each threshold, measured every quarter epoch. Both "
        "frameworks train the same 784-128-10 float32 model from the same initial weights "
        "(nplearn's, copied into torch), with the same optimiser, hyperparameters, learning-"
        f"rate schedule and batch order, one after the other in this process ({caps}; a run "
        "stops once it reaches 98 %). `(k/n)`: seeds that reached the threshold.\n\n"
        + markdown_table(
            ["config", "threshold", "nplearn s", "PyTorch s", "ratio nplearn / PyTorch"], rows
        )
    )


def _fashion(inputs: Inputs) -> str:
    if "fashion-mnist" not in inputs.plan.datasets:
        return "Fashion-MNIST was not run.\n"
    lines = []
    for cfg in inputs.plan.headline:
        mnist = _get(inputs, "mnist", cfg.key, "test_accuracy")
        fashion = _get(inputs, "fashion-mnist", cfg.key, "test_accuracy")
        lines.append(
            f"- `{cfg.key}`: {fashion:.4f} on Fashion-MNIST vs {mnist:.4f} on MNIST "
            f"({100 * (fashion - mnist):+.1f} points)."
        )
    order = [
        c.key
        for c in sorted(
            inputs.plan.headline,
            key=lambda c: -_get(inputs, "fashion-mnist", c.key, "test_accuracy"),
        )
    ]
    same = order == [
        c.key
        for c in sorted(
            inputs.plan.headline, key=lambda c: -_get(inputs, "mnist", c.key, "test_accuracy")
        )
    ]
    return (
        "The same three recipes, unchanged, on Fashion-MNIST (same split, seeds and epochs):\n\n"
        + "\n".join(lines)
        + f"\n\nThe ranking of the recipes {'carries over' if same else 'changes'}: "
        + " > ".join(order)
        + ".\n"
    )


def render(inputs: Inputs) -> str:
    """The report body (everything below the provenance header)."""
    settings = "\n".join(f"- {k}: {v}" for k, v in inputs.settings.items())
    figures = inputs.figures
    data = ", ".join(f"`{name}`" for name in inputs.data_files)
    return f"""## Run settings

{settings}

## Headline

{_headline(inputs)}
## 1. The seed's two scripts, reproduced

Reproduced as in the post: 784-128-10 network; the seed's 80/20 split
(`train_test_split(..., test_size=0.2, random_state=42)`); batches of 100 in file order, last
partial batch dropped; weights and biases ~ N(0, 1) (`init="randn"`, W1, b1, W2, b2 in that order,
from `numpy.random.SeedSequence(seed)`; the post used the unseeded global state); the seed's SGD
rule `w <- w - lr*g - 2*l2*w`; cross-entropy trained on `p - y` per sample (nplearn's
`reduction="sum"`); the seed's MSE with gradient `(p - t)/batch`.

Where nplearn differs from the seed: its ReLU backward is correct (`grad * (x > 0)`), while the
seed's was `np.maximum(grad, 0)`; the seed-faithful MSE run uses a `SeedReLU` layer that
reproduces the seed's bug on purpose (the ablation shows what fixing it does). Everything is
float32 (the seed's arrays were float64 because `np.random.randn` returns float64). Losses in the
figures are per sample (the seed's printed CE loss was averaged over batch*classes, not over its
gradient's batch).

The seed's evaluation quirks are reported as "seed-style": test images NOT divided by 255,
accuracy = mean of per-batch accuracies (identical to plain accuracy here, since 10000 splits into
full batches of 100; the difference between the two evaluations is the undivided images), "test
error" = sum over test batches of loss / (10000 / 100) (the seed's loss values: MSE as nplearn's,
CE divided by batch*classes). The correct evaluation uses the test images / 255.

{_faithful_table(inputs)}
![accuracy per epoch]({figures["accuracy"]})

![loss per epoch]({figures["loss"]})

Confusion matrices of seed {inputs.plan.seeds[0]} (MNIST; rows: true class, columns: predicted;
the seed's plot labelled its axes the other way round):

![confusion matrices]({figures["confusion"]})

## 2. Why the seed's MSE run fails

{_ablation(inputs)}
![ablation]({figures["ablation"]})

## 3. nplearn's best 784-128-10 configuration

`{inputs.plan.headline[2].label}`: {_best_text(inputs.plan.headline[2])}

## 4. Time to accuracy against PyTorch

{_tta(inputs)}
![time to accuracy]({figures["tta"]})

## 5. Fashion-MNIST

{_fashion(inputs)}
## Data files

Per-epoch histories and summaries beside the figures in `reports/mnist/`: {data}.
"""


def _best_text(cfg: RunConfig) -> str:
    optimiser = (
        f"SGD lr {cfg.lr:g}, momentum {cfg.momentum:g}"
        if cfg.optimizer == "sgd"
        else f"Adam lr {cfg.lr:g}"
    )
    return (
        f"{cfg.activation} hidden layer, `{cfg.init}` init, {optimiser}, weight decay "
        f"{cfg.weight_decay:g}, {cfg.schedule} learning-rate schedule over {cfg.epochs} epochs, "
        f"batch {cfg.batch_size}, mean cross-entropy, "
        f"{'reshuffled every epoch' if cfg.shuffle else 'in order'}, trained on "
        f"{'all 60k training images (no validation split; its curves show test accuracy)' if cfg.full_train else 'the 48k split'}; "  # noqa: E501
        "test accuracy on the 10k test set. Results in the headline table and section 1."
    )
