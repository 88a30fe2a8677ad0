"""The registry of layers and losses that drives the verification suite, as tinygrad's test_ops.

Contract
--------
Each :class:`LayerEntry` names a layer class, its PyTorch equivalent, how to build it, the range
its inputs are drawn from and the inputs where its derivative is not smooth (``kinks``; every
drawn input keeps :data:`KINK` away from them). An activation may give a plausible wrong
derivative, and another parameter-free layer a plausible wrong backward, which the must-fail test
plants in a copy of the layer. Each :class:`LossEntry`
gives the same for a loss and its targets. The gradcheck, oracle, API, stability and must-fail
tests are parametrised over :data:`LAYERS`, :data:`ACTIVATIONS` and :data:`LOSSES`: a new
layer is one class in ``nplearn`` plus one entry here.

PyTorch equivalents are given as functions of the ``torch`` module, so that only the oracle
tests import torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import DTypeLike

from nplearn import (
    MSE,
    Activation,
    CrossEntropyLoss,
    Layer,
    Linear,
    Loss,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    sigmoid,
    to_one_hot,
)
from nplearn.functional import Tensor, softmax_backward

__all__ = ["ACTIVATIONS", "KINK", "LAYERS", "LOSSES", "LayerEntry", "LossEntry", "values"]

#: Inputs stay at least this far from a kink, where central differences straddle two slopes.
KINK = 1e-3
F64 = np.float64


def values(
    shape: tuple[int, ...], bound: float, kinks: tuple[float, ...] = (), dtype: DTypeLike = F64
) -> st.SearchStrategy[Tensor]:
    """Arrays of ``shape`` and ``dtype``, entries in ``[-bound, bound]`` and ``KINK`` from kinks.

    An entry that falls within ``KINK`` of a kink is moved to ``KINK`` from it, on its side.
    """
    dtype = np.dtype(dtype)
    bound = float(dtype.type(bound))
    elements = st.floats(-bound, bound, width=dtype.itemsize * 8, allow_subnormal=False)

    def clear(v: float) -> float:
        for kink in kinks:
            if abs(v - kink) < KINK:
                v = kink + math.copysign(KINK, v - kink)
        return v

    return hnp.arrays(dtype, shape, elements=elements.map(clear) if kinks else elements)


@dataclass(frozen=True)
class LayerEntry:
    """A layer for the suite.

    Attributes:
        layer: the class; ``layer()`` builds it unless ``make`` is given.
        torch: ``torch -> f(x, **params)``, the PyTorch equivalent of the forward pass, taking
            the layer's parameters by their ``params`` keys.
        bound: inputs are drawn from ``[-bound, bound]`` for gradient checks.
        oracle_bound: inputs are drawn from ``[-oracle_bound, oracle_bound]`` for the torch
            comparison. An activation whose derivative is read off a saturating output narrows
            it: there the derivative's relative error grows like ``eps / f'(x)``, and one ulp
            between the two libraries' outputs exceeds the oracle's tolerance.
        kinks: inputs where the derivative is not smooth.
        make: ``(in_features, dtype, seed) -> layer`` for layers with sizes or parameters.
        wrong_derivative: a plausible wrong ``derivative(y)`` of an activation, and ``wrong``
            says what it gets wrong.
        wrong_backward: a plausible wrong ``backward(y, grad) -> dL/dx`` of a parameter-free
            layer that is not elementwise, from its last output ``y``; ``wrong`` says what.
    """

    layer: type[Layer]
    torch: Callable[[Any], Callable[..., Any]]
    bound: float = 3.0
    oracle_bound: float = 40.0
    kinks: tuple[float, ...] = ()
    make: Callable[[int, DTypeLike, int], Layer] | None = None
    wrong_derivative: Callable[[Tensor], Tensor] | None = None
    wrong_backward: Callable[[Tensor, Tensor], Tensor] | None = None
    wrong: str = ""

    @property
    def id(self) -> str:
        return self.layer.__name__

    def build(self, features: int, dtype: DTypeLike = F64, seed: int = 0) -> Layer:
        """The layer for inputs of ``features`` columns, parameters (if any) from ``seed``."""
        return self.layer() if self.make is None else self.make(features, dtype, seed)

    def inputs(
        self, shape: tuple[int, ...], bound: float | None = None, dtype: DTypeLike = F64
    ) -> st.SearchStrategy[Tensor]:
        """Inputs of ``shape`` in ``[-bound, bound]`` (default: the entry's), clear of kinks."""
        return values(shape, self.bound if bound is None else bound, self.kinks, dtype)


def _linear(features: int, dtype: DTypeLike, seed: int) -> Linear:
    """A Linear layer with 1 to 6 outputs, the count and the weights drawn from ``seed``."""
    out = int(np.random.default_rng(seed).integers(1, 7))
    return Linear(features, out, dtype=dtype, rng=seed)


LAYERS = [
    LayerEntry(
        Linear,
        lambda torch: lambda x, W, b: torch.nn.functional.linear(x, W.T, b),
        make=_linear,
    ),
    LayerEntry(
        ReLU,
        lambda torch: torch.relu,
        kinks=(0.0,),
        wrong_derivative=lambda y: y >= 0,
        wrong="slope 1 on both sides of the kink (y >= 0 holds for every output)",
    ),
    LayerEntry(
        Sigmoid,
        lambda torch: torch.sigmoid,
        bound=10.0,
        wrong_derivative=lambda y: sigmoid(y) * (1 - sigmoid(y)),
        wrong="sigma'(.) applied to the output instead of the input",
    ),
    LayerEntry(
        Tanh,
        lambda torch: torch.tanh,
        bound=5.0,
        oracle_bound=6.0,
        wrong_derivative=lambda y: 1 - np.tanh(y) ** 2,
        wrong="tanh'(.) applied to the output instead of the input",
    ),
    LayerEntry(
        Softmax,
        lambda torch: lambda x: torch.softmax(x, dim=1),
        # Logits within +-5: beyond, rows saturate and dx is a difference of nearly equal terms,
        # whose rounding is large beside the small result (the extremes are stability tests').
        oracle_bound=5.0,
        wrong_backward=lambda y, grad: softmax_backward(y, grad, axis=0),
        wrong="the Jacobian-vector product summed over axis 0, across the batch, not each row",
    ),
]
#: The parameter-free elementwise layers (``nplearn.Activation`` subclasses).
ACTIVATIONS = [entry for entry in LAYERS if issubclass(entry.layer, Activation)]


@dataclass(frozen=True)
class LossEntry:
    """A loss for the suite.

    Attributes:
        id: the test id.
        make: builds the loss.
        torch: ``torch -> f(pred, target)``, the PyTorch equivalent of the loss value.
        targets: ``"values"`` (any real rows), ``"one-hot"`` rows or integer ``"labels"``.
        bound: predictions are drawn from ``[-bound, bound]``.
    """

    id: str
    make: Callable[[], Loss]
    torch: Callable[[Any], Callable[[Any, Any], Any]]
    targets: str
    bound: float = 3.0

    def inputs(self, batch: int, classes: int) -> st.SearchStrategy[tuple[Tensor, Tensor]]:
        """``(pred, target)`` for a batch of ``batch`` rows of ``classes`` columns."""
        if self.targets == "values":
            target = values((batch, classes), self.bound)
        else:
            labels = hnp.arrays(np.int64, batch, elements=st.integers(0, classes - 1))
            if self.targets == "one-hot":
                target = labels.map(lambda y: to_one_hot(y, classes, dtype=F64))
            else:
                target = labels
        return st.tuples(values((batch, classes), self.bound), target)


def _cross_entropy(reduction: str, targets: str) -> LossEntry:
    return LossEntry(
        f"cross-entropy-{reduction}-{targets}",
        lambda: CrossEntropyLoss(reduction),
        lambda torch: lambda p, t: torch.nn.functional.cross_entropy(p, t, reduction=reduction),
        targets,
        bound=20.0,
    )


LOSSES = [
    LossEntry(
        "mse",
        MSE,
        lambda torch: lambda p, t: (
            0.5 * torch.nn.functional.mse_loss(p, t, reduction="sum") / p.shape[0]
        ),
        "values",
    ),
    *(_cross_entropy(r, t) for r in ("sum", "mean") for t in ("one-hot", "labels")),
]
