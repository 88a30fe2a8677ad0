"""Render the markdown body of ``reports/mnist.md`` from the summarised results.

Contract
--------
:func:`render` takes a ``reportdata.Inputs`` bundle (plan, final metrics,
ablation rows, time-to-accuracy summary, settings) and returns the markdown
body: run settings, the headline (``headline``), then one section per part of
the issue (seed-faithful runs, the MSE ablation, the best configuration, time
to accuracy, Fashion-MNIST). Every number and verdict is computed from that
data (only the seed's quoted claims and the issue's targets are constants).
``verification.markdown.write_report`` adds the title and the provenance header and
writes the file atomically (see ``__main__``).
"""

from __future__ import annotations

from benchmarks.mnist.ablation import FACTORS, WORKING
from benchmarks.mnist.configs import RunConfig
from benchmarks.mnist.headline import headline
from benchmarks.mnist.reportdata import NAMES, Inputs
from benchmarks.mnist.summary import pm
from verification.markdown import markdown_table

__all__ = ["render"]

SAME_TRAJECTORY = 0.002  # max accuracy gap (20 test images) still read as float rounding


def _faithful_table(inputs: Inputs) -> str:
    rows = []
    for dataset in inputs.plan.datasets:
        for cfg in inputs.plan.headline:
            active = inputs.get(dataset, cfg.key, "active_units")
            rows.append(
                [
                    NAMES.get(dataset, dataset),
                    cfg.key,
                    cfg.epochs,
                    inputs.pm(dataset, cfg.key, "test_accuracy"),
                    inputs.pm(dataset, cfg.key, "seed_accuracy"),
                    inputs.pm(dataset, cfg.key, "seed_error", 3),
                    "-" if active != active else f"{active:.3f}",
                    inputs.pm(dataset, cfg.key, "train_time", 1),
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
            f"`{r.short}`: {r.label}",
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
        f"{epochs} epoch(s) each (the seed's MSE run has 100: the ablation is shortened to fit "
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
        + _mechanism(inputs)
    )


def _mechanism(inputs: Inputs) -> str:
    """The mechanism of the failure, with the table's own numbers."""
    rows = {r.changes: r for r in inputs.ablation_rows}

    def live(changes: tuple[str, ...]) -> str:
        row = rows.get(changes)
        return "n/a" if row is None else f"{row.active_units:.2f}"

    def loss(changes: tuple[str, ...]) -> str:
        row = rows.get(changes)
        return "n/a" if row is None else f"{row.loss:.3g}"

    return (
        "\nHow the seed's ReLU backward kills the network: it returns `max(grad, 0)` for every "
        "unit, so the first layer's gradient `x^T max(grad, 0)` is >= 0 elementwise (pixels "
        "are >= 0) and SGD can only *decrease* every first-layer weight and bias; hidden "
        "pre-activations drift down until units are dead for every input. Live hidden units "
        "(positive on at least one test image) at the end: "
        f"{live(())} for the seed's run, {live(('lr',))} with the larger learning rate, "
        f"{live(('sum',))} with the summed gradient, {live(('relu',))} with the correct "
        "backward. The randn init makes the outputs and first gradients huge against 0/1 "
        f"targets: final training loss per sample {loss(())} for the seed's run vs "
        f"{loss(('init',))} with He init.\n"
    )


def _agreement(gap: float) -> str:
    if gap != gap:
        return "\n\n"
    verdict = (
        "float32 rounding only: the ratio compares the speed of the same computation"
        if gap <= SAME_TRAJECTORY
        else "more than rounding: the ratio also reflects different trajectories"
    )
    return (
        "The two frameworks' test accuracies at the same evaluation points differ by at most "
        f"{gap:.4f} ({verdict}).\n\n"
    )


def _tta(inputs: Inputs) -> str:
    if inputs.tta.empty:
        return "No time-to-accuracy runs.\n"
    note = "**PyTorch is not installed: only nplearn was timed.**\n\n"
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
        (note if inputs.without_torch else "")
        + "Training seconds (evaluation excluded) from the first step until the test accuracy "
        "(10k images / 255) first reaches each threshold, measured every quarter epoch. Both "
        "frameworks train the same 784-128-10 float32 model from the same initial weights "
        "(nplearn's, copied into torch), with the same optimiser, hyperparameters, learning-"
        f"rate schedule and batch order, in this process ({caps}; a run stops once it reaches "
        "98 %). The two are trained in lockstep, alternating every quarter epoch in ABBA order "
        "(nplearn, PyTorch, PyTorch, nplearn, ...), each timing only its own steps, so drift of "
        "the machine's speed affects both alike. `(k/n)`: seeds that reached the threshold. "
        + _agreement(inputs.tta_agreement)
        + markdown_table(
            ["config", "threshold", "nplearn s", "PyTorch s", "ratio nplearn / PyTorch"], rows
        )
    )


def _fashion(inputs: Inputs) -> str:
    if "fashion-mnist" not in inputs.plan.datasets:
        return "Fashion-MNIST was not run.\n"
    lines = []
    for cfg in inputs.plan.headline:
        mnist = inputs.get("mnist", cfg.key, "test_accuracy")
        fashion = inputs.get("fashion-mnist", cfg.key, "test_accuracy")
        lines.append(
            f"- `{cfg.key}`: {fashion:.4f} on Fashion-MNIST vs {mnist:.4f} on MNIST "
            f"({100 * (fashion - mnist):+.1f} points)."
        )
    order = [
        c.key
        for c in sorted(
            inputs.plan.headline,
            key=lambda c: -inputs.get("fashion-mnist", c.key, "test_accuracy"),
        )
    ]
    same = order == [
        c.key
        for c in sorted(
            inputs.plan.headline, key=lambda c: -inputs.get("mnist", c.key, "test_accuracy")
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

{headline(inputs)}
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

{_per_seed(inputs, inputs.plan.headline[2].key)}
## 4. Time to accuracy against PyTorch

{_tta(inputs)}
![time to accuracy]({figures["tta"]})

## 5. Fashion-MNIST

{_fashion(inputs)}
## Data files

Per-epoch histories and summaries beside the figures in `reports/mnist/`: {data}.
"""


def _per_seed(inputs: Inputs, key: str) -> str:
    rows = []
    for dataset in inputs.plan.datasets:
        runs = inputs.finals.query("dataset == @dataset and config == @key")
        rows.append(
            [NAMES.get(dataset, dataset)]
            + [f"{a:.4f}" for a in runs["test_accuracy"]]
            + [
                inputs.pm(dataset, key, "test_accuracy"),
                inputs.pm(dataset, key, "train_time", 1),
            ]
        )
    seeds = [f"seed {s}" for s in inputs.plan.seeds]
    return markdown_table(["data set", *seeds, "mean ± std", "training s"], rows)


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
