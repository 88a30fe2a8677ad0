"""Overfit-50, the post's own sanity test: a 784-128-10 network must memorise 50 MNIST images.

The first 50 images of the real MNIST training set, scaled to [0, 1]; fixed seeds and fixed
hyperparameters; mini-batches of 10 in order; one BLAS thread. Each case must reach 100% training
accuracy and a per-sample loss below ``LOSS_BOUND`` within its epoch budget, with cross-entropy
and, as the post reports it can, with MSE. The epoch it got there is printed and recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from nplearn import MSE, SGD, CrossEntropyLoss, Linear, Network, ReLU, Sigmoid, to_one_hot
from nplearn.training import evaluate, fit

N_IMAGES = 50
BATCH = 10
LOSS_BOUND = 0.01  # mean cross-entropy per image, or the post's MSE (0.5*sum sq / batch)
SEED = 0


@dataclass(frozen=True)
class Case:
    """One overfitting run: activation, loss, learning rate and epoch budget."""

    id: str
    activation: type
    loss: str
    lr: float
    budget: int


CASES = [
    Case("ce-relu", ReLU, "ce", 0.1, 150),
    Case("ce-sigmoid", Sigmoid, "ce", 0.5, 150),
    Case("mse-relu", ReLU, "mse", 0.1, 60),
    Case("mse-sigmoid", Sigmoid, "mse", 0.1, 400),
]


def run(case: Case, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[int | None, dict]:
    """Train until the goal is met or the budget is spent; return (epoch reached, final eval)."""
    rng = np.random.default_rng(seed)
    net = Network([Linear(784, 128, rng=rng), case.activation(), Linear(128, 10, rng=rng)])
    loss = CrossEntropyLoss("mean") if case.loss == "ce" else MSE()
    target = y if case.loss == "ce" else to_one_hot(y, 10)
    reached: list[int] = []

    def goal(record: dict, net: Network) -> bool:
        result = evaluate(net, loss, x, target)
        if result["accuracy"] == 1.0 and result["loss"] < LOSS_BOUND:
            reached.append(int(record["epoch"]))
            return True
        return False

    with threadpool_limits(1):
        fit(
            net,
            loss,
            SGD(case.lr),
            x,
            target,
            epochs=case.budget,
            batch_size=BATCH,
            progress=False,
            callback=goal,
        )
        final = evaluate(net, loss, x, target)
    return (reached[0] if reached else None), final


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_overfit_50(check_record, mnist_train, case: Case) -> None:
    """784-128-10 reaches 100% accuracy and loss < 0.01 on 50 MNIST images within budget."""
    x = mnist_train[0][:N_IMAGES].astype(np.float32) / 255
    y = mnist_train[1][:N_IMAGES]
    epoch, final = run(case, x, y, SEED)
    print(f"{case.id}: goal reached at epoch {epoch} of {case.budget}; final {final}")
    check_record(
        f"epoch {epoch}/{case.budget}, accuracy {final['accuracy']:.0%}, loss {final['loss']:.2g}",
        f"100% and loss < {LOSS_BOUND} by epoch {case.budget}",
        what=f"overfit 50 images: {case.loss.upper()}, {case.activation.__name__}, SGD({case.lr})",
    )
    assert final["accuracy"] == 1.0, f"{case.id}: training accuracy {final['accuracy']}"
    assert final["loss"] < LOSS_BOUND, f"{case.id}: loss {final['loss']}"
    assert epoch is not None
