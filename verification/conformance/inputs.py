"""The checks' inputs: fixed examples and hypothesis strategies of small ones.

Contract
--------
Fixed examples use :data:`BATCH`, :data:`IN`, :data:`OUT` and :data:`CLASSES`, chosen so that the
batch size, the number of classes, their product and 2 are different numbers (a fitted factor
then names one of them). Values are drawn from a seeded generator within a bound and moved at
least ``margin`` away from the piece's kinks, where central differences would straddle two
slopes; :func:`onehot` gives targets. Strategies draw the same kinds of examples, smaller (batch,
features and classes from 1 or 2 to 3), for shrinking a counterexample; their values come from
``verification.registry.values``. :data:`ARGUMENTS` holds the arguments a layer factory is
called with (LeakyReLU's slope).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from verification.conformance.judge import Example
from verification.registry import KINK, values

__all__ = ["ARGUMENTS", "BATCH", "CLASSES", "IN", "OUT", "SLOPE", "clear", "layer_examples",
           "layer_strategy", "loss_examples", "loss_strategy", "onehot"]

BATCH, IN, OUT, CLASSES = 3, 4, 5, 5
SEED = 20200614
#: LeakyReLU's slope: no library's default (PyTorch's 0.01, TensorFlow's 0.2, Keras's 0.3, the
#: 0.1 of darknet and many ports), so that a library that ignores its argument for its own default
#: is caught, and large enough that a plain ReLU (slope 0) differs from it far beyond any tolerance.
SLOPE = 0.15
#: The arguments of a parameter-free layer factory (the others take none).
ARGUMENTS: dict[str, tuple[float, ...]] = {"leaky_relu": (SLOPE,)}


def clear(x: np.ndarray, kinks: tuple[float, ...], margin: float) -> np.ndarray:
    """``x`` with entries within ``margin`` of a kink moved to ``margin`` from it, on their side."""
    x = np.array(x, dtype=np.float64)
    for kink in kinks:
        near = np.abs(x - kink) < margin
        x[near] = kink + np.where(x[near] >= kink, margin, -margin)
    return x


def onehot(labels: np.ndarray, classes: int) -> np.ndarray:
    """Float64 one-hot rows ``(batch, classes)`` of integer ``labels``."""
    return np.eye(classes)[labels]


def _params(rng: np.random.Generator, n_in: int, n_out: int) -> dict[str, np.ndarray]:
    return {"W": rng.uniform(-1, 1, (n_in, n_out)), "b": rng.uniform(-1, 1, n_out)}


def layer_examples(
    linear: bool, bound: float, kinks: tuple[float, ...], margin: float, count: int = 2
) -> list[Example]:
    """``count`` examples ``{x, [W, b,] grad}``: x ``(BATCH, IN)``, grad of the output's shape."""
    out = []
    for i in range(count):
        rng = np.random.default_rng([SEED, i])
        example: Example = {"x": clear(rng.uniform(-bound, bound, (BATCH, IN)), kinks, margin)}
        if linear:
            example.update(_params(rng, IN, OUT))
        example["grad"] = rng.standard_normal((BATCH, OUT if linear else IN))
        out.append(example)
    return out


@st.composite
def _layer(draw, linear: bool, bound: float, kinks: tuple[float, ...], margin: float) -> Example:
    batch, n_in, n_out = (draw(st.integers(1, 3)) for _ in range(3))
    x = draw(values((batch, n_in), bound, kinks))
    example: Example = {"x": clear(x, kinks, max(margin, KINK))}
    if linear:
        example["W"] = draw(values((n_in, n_out), 1.0))
        example["b"] = draw(values((n_out,), 1.0))
    example["grad"] = draw(values((batch, n_out if linear else n_in), 2.0))
    return example


def layer_strategy(
    linear: bool, bound: float, kinks: tuple[float, ...], margin: float
) -> st.SearchStrategy[Example]:
    """Small examples shaped as :func:`layer_examples`'s."""
    return _layer(linear, bound, kinks, margin)


def loss_examples(onehot_targets: bool, bound: float, count: int = 2) -> list[Example]:
    """``count`` examples ``{z, target}`` of ``(BATCH, CLASSES)``: one-hot or real targets."""
    out = []
    for i in range(count):
        rng = np.random.default_rng([SEED, 100 + i])
        z = rng.uniform(-bound, bound, (BATCH, CLASSES))
        target = (
            onehot(rng.integers(0, CLASSES, BATCH), CLASSES)
            if onehot_targets
            else rng.uniform(-bound, bound, (BATCH, CLASSES))
        )
        out.append({"z": z, "target": target})
    return out


@st.composite
def _loss(draw, onehot_targets: bool, bound: float) -> Example:
    batch, classes = draw(st.integers(1, 3)), draw(st.integers(2, 3))
    z = draw(values((batch, classes), bound))
    if onehot_targets:
        labels = draw(st.lists(st.integers(0, classes - 1), min_size=batch, max_size=batch))
        target = onehot(np.array(labels), classes)
    else:
        target = draw(values((batch, classes), bound))
    return {"z": z, "target": target}


def loss_strategy(onehot_targets: bool, bound: float) -> st.SearchStrategy[Example]:
    """Small examples shaped as :func:`loss_examples`'s."""
    return _loss(onehot_targets, bound)
