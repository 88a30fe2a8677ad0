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
    AvgPool2d,
    BatchNorm1d,
    BCELoss,
    BCEWithLogitsLoss,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Layer,
    LeakyReLU,
    Linear,
    Loss,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    sigmoid,
    to_one_hot,
)
from nplearn.functional import Tensor, softmax_backward
from verification import registry_builders as build
from verification.registry_builders import F64, KINK, distinct_values, values

__all__ = [
    "ACTIVATIONS", "KINK", "LAYERS", "LOSSES", "LayerEntry", "LossEntry",
    "distinct_values", "values",
]


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
        shape: ``(batch, features) -> input shape``: ``(batch, features)`` by default; a
            spatial layer's ``(N, C, H, W)`` grows with both.
        options: ``layer -> keyword arguments`` of ``torch`` beyond the parameters (a
            convolution's stride and padding).
        distinct: inputs are shuffled grids (:func:`distinct_values`), never near-ties, and
            upstream gradients seeded normal draws, never structured: for layers that pick one
            entry among several (max pooling), and for those whose dL/dx cancels exactly for
            upstream gradients in a subspace (batch norm: constant, or proportional to the
            normalised input), where both libraries return rounding noise that no relative
            tolerance can compare.
        stochastic: the forward draws fresh randomness in training (dropout), so it has no
            deterministic torch equivalent nor central differences; its own tests cover it.
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
    shape: Callable[[int, int], tuple[int, ...]] = build.rows
    options: Callable[[Layer], dict[str, Any]] = build.no_options
    distinct: bool = False
    stochastic: bool = False

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
        bound = self.bound if bound is None else bound
        if self.distinct:
            return distinct_values(shape, bound, dtype)
        return values(shape, bound, self.kinks, dtype)

    def upstream(self, shape: tuple[int, ...]) -> st.SearchStrategy[Tensor]:
        """Upstream gradients ``dL/dy`` of ``shape`` (:func:`build.upstream`)."""
        return build.upstream(shape, self.distinct)


LAYERS = [
    LayerEntry(
        Linear,
        lambda torch: lambda x, W, b: torch.nn.functional.linear(x, W.T, b),
        make=build.linear,
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
        distinct=True,  # a constant upstream gradient cancels exactly: dx is rounding noise
        wrong_backward=lambda y, grad: softmax_backward(y, grad, axis=0),
        wrong="the Jacobian-vector product summed over axis 0, across the batch, not each row",
    ),
    LayerEntry(
        LeakyReLU,
        lambda torch: lambda x: torch.nn.functional.leaky_relu(x, 0.01),
        kinks=(0.0,),
        wrong_derivative=lambda y: y > 0,
        wrong="slope 0 for negative inputs (ReLU's derivative, not the leak)",
    ),
    LayerEntry(
        BatchNorm1d,
        lambda torch: lambda x, gamma, beta: torch.nn.functional.batch_norm(
            x, None, None, gamma, beta, training=True
        ),
        make=build.batchnorm,
        # At 2 rows every output saturates at +-1 and dL/dx is rounding noise: 3 rows at least.
        shape=lambda batch, features: (batch + 2, features),
        distinct=True,
    ),
    LayerEntry(
        Dropout,
        lambda torch: torch.nn.functional.dropout,
        make=build.dropout,
        options=lambda layer: {"p": layer.p},
        stochastic=True,
    ),
    LayerEntry(
        Conv2d,
        lambda torch: lambda x, W, b, stride, padding: torch.nn.functional.conv2d(
            x, W, b, stride=stride, padding=padding
        ),
        make=build.conv2d,
        shape=build.images,
        options=lambda layer: {"stride": layer.stride, "padding": layer.padding},
    ),
    *(
        LayerEntry(
            cls,
            lambda torch, name=name: getattr(torch.nn.functional, name),
            make=build.pool(cls),
            shape=build.images,
            options=build.pool_options,
            distinct=cls is MaxPool2d,  # max pooling picks one entry: no near-ties
        )
        for cls, name in ((MaxPool2d, "max_pool2d"), (AvgPool2d, "avg_pool2d"))
    ),
    LayerEntry(Flatten, lambda torch: lambda x: x.flatten(1), shape=build.images),
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
        targets: ``"values"`` (any real rows), ``"one-hot"`` rows, integer ``"labels"`` or
            ``"binary"`` rows of 0.0 and 1.0.
        bound: predictions are drawn from ``[-bound, bound]``, or ``[low, bound]``.
        low: the lower end of the predictions when not ``-bound`` (probabilities).
    """

    id: str
    make: Callable[[], Loss]
    torch: Callable[[Any], Callable[[Any, Any], Any]]
    targets: str
    bound: float = 3.0
    low: float | None = None

    def inputs(self, batch: int, classes: int) -> st.SearchStrategy[tuple[Tensor, Tensor]]:
        """``(pred, target)`` for a batch of ``batch`` rows of ``classes`` columns."""
        if self.targets == "values":
            target = values((batch, classes), self.bound)
        elif self.targets == "binary":
            target = hnp.arrays(F64, (batch, classes), elements=st.sampled_from([0.0, 1.0]))
        else:
            labels = hnp.arrays(np.int64, batch, elements=st.integers(0, classes - 1))
            if self.targets == "one-hot":
                target = labels.map(lambda y: to_one_hot(y, classes, dtype=F64))
            else:
                target = labels
        if self.low is None:
            return st.tuples(values((batch, classes), self.bound), target)
        pred = hnp.arrays(F64, (batch, classes), elements=st.floats(self.low, self.bound))
        return st.tuples(pred, target)


def _cross_entropy(reduction: str, targets: str) -> LossEntry:
    return LossEntry(
        f"cross-entropy-{reduction}-{targets}",
        lambda: CrossEntropyLoss(reduction),
        lambda torch: lambda p, t: torch.nn.functional.cross_entropy(p, t, reduction=reduction),
        targets,
        bound=20.0,
    )


def _bce(reduction: str, logits: bool) -> LossEntry:
    """BCE of probabilities (clear of 0 and 1, where the slope 1/p is steep) or of logits."""
    cls, name = (BCEWithLogitsLoss, "_with_logits") if logits else (BCELoss, "")
    return LossEntry(
        f"bce{name.replace('_with', '')}-{reduction}".replace("_", "-"),
        lambda: cls(reduction),
        lambda torch: lambda p, t: getattr(torch.nn.functional, f"binary_cross_entropy{name}")(
            p, t, reduction=reduction
        ),
        "binary",
        bound=20.0 if logits else 0.98,
        low=None if logits else 0.02,
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
    *(_bce(r, logits) for logits in (False, True) for r in ("mean", "sum")),
]
