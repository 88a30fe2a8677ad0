"""Numerical gradient checking of layers, networks and losses (like ``torch.autograd.gradcheck``).

Contract
--------
``gradcheck(module, x)`` compares the analytic gradients of ``module`` with central differences
``(f(v + eps) - f(v - eps)) / (2 eps)`` in float64, one element at a time, for the input ``x`` and
for every parameter, and raises :class:`GradcheckError` (an ``AssertionError``) on the first
element where ``|analytic - numeric| > atol + rtol * |numeric|`` (torch's criterion). The message
names the module (its ``repr``), the tensor (``"input"``, ``"params['W']"`` or ``"0.W"``), the
index and both values. It also checks, as torch does, that two backward passes agree exactly,
that a zero upstream gradient gives zero gradients, that gradients have the shapes and dtypes of
what they differentiate, and that the module does not modify its input.

``module`` is one of:

- a layer or network (``forward(x)``, ``backward(grad, *, input_grad=True)``, and ``params`` /
  ``grads`` dicts or ``named_parameters()``): the scalar checked is ``sum(upstream * forward(x))``
  with a random float64 ``upstream``, whose analytic gradients are ``backward(upstream)`` and the
  ``grads``;
- a loss (pass ``target``): the scalar is ``loss(x, target)`` and its gradient ``loss.grad``.

Parameters are perturbed in place and restored exactly. Checks run in float64 only (a float32
module or input raises ``ValueError``). On success the module is left as after one forward and
backward at ``x``, and the returned :class:`GradcheckResult` holds the worst errors per tensor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nplearn.functional import Tensor
from nplearn.losses import Loss

__all__ = [
    "GradcheckError", "GradcheckResult", "TensorErrors", "central_difference", "gradcheck",
    "relative_error",
]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the numerical one, or an extra check failed."""


@dataclass(frozen=True)
class TensorErrors:
    """Worst disagreement on one tensor: ``max |analytic - numeric|``, :func:`relative_error`
    (its scale floored at ``atol``), and how many of the tensor's ``size`` elements were checked.
    """

    max_abs_error: float
    max_rel_error: float
    checked: int
    size: int


@dataclass
class GradcheckResult:
    """What :func:`gradcheck` measured; it only exists if every check passed.

    Attributes:
        module: ``repr`` of the checked module.
        tensors: per tensor name (``"input"``, ``"params['W']"``, ``"0.W"``), its errors.
    """

    module: str
    tensors: dict[str, TensorErrors] = field(default_factory=dict)

    @property
    def max_abs_error(self) -> float:
        """Largest absolute error over all tensors."""
        return max((t.max_abs_error for t in self.tensors.values()), default=0.0)

    @property
    def max_rel_error(self) -> float:
        """Largest relative error over all tensors."""
        return max((t.max_rel_error for t in self.tensors.values()), default=0.0)


def relative_error(actual: Tensor, expected: Tensor, floor: float = 0.0) -> float:
    """Tensor-wise relative error ``max |actual - expected| / max(max |expected|, floor)``.

    Scaling by the largest entry (rather than entry by entry) keeps entries whose true value is
    near zero, where any rounding noise is relatively huge, from dominating the figure.

    Args:
        actual, expected: the arrays compared.
        floor: smallest scale; gradcheck passes ``atol`` (below it errors count absolutely).

    Shape:
        - actual, expected: equal shapes (any).

    Returns:
        The error; 0.0 if both are all zeros, ``inf`` if only the scale is 0.
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    diff = float(np.max(np.abs(actual - expected), initial=0.0))
    scale = max(float(np.max(np.abs(expected), initial=0.0)), floor)
    return diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))


def gradcheck(
    module: Any,
    x: Tensor,
    *,
    target: Tensor | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    max_elements: int | None = None,
    rng: np.random.Generator | int | None = None,
) -> GradcheckResult:
    """Check ``module``'s gradients against central differences (see the module docstring).

    Args:
        module: a layer, a network, or a loss (then ``target`` is required), built in float64,
            e.g. ``Linear(3, 2, dtype=np.float64)``.
        x: float64 input of the layer / network, or predictions of the loss. Not modified.
        target: the loss's target (one-hot rows or labels); None for layers and networks.
        eps: finite-difference step.
        atol, rtol: an element fails if ``|analytic - numeric| > atol + rtol * |numeric|``.
        max_elements: check at most this many elements per tensor, drawn without replacement
            with ``rng`` (for big layers; e.g. 2000 of the 100352 weights of a 784x128 layer).
            None (default) checks every element.
        rng: ``numpy.random.Generator`` or seed for ``upstream`` and the element subsets;
            None means seed 0, so a check is reproducible.

    Shape:
        - x: ``(batch, in_features)`` (whatever the module takes)
        - target: ``(batch, classes)`` or ``(batch,)`` for a loss

    Returns:
        A :class:`GradcheckResult` with the worst absolute and relative error per tensor.

    Raises:
        GradcheckError: a gradient element is outside the tolerance, or an extra check failed.
        ValueError: ``x`` or a parameter is not float64, or ``target`` is missing for a loss.
    """
    rng = np.random.default_rng(0 if rng is None else rng)
    x = np.array(x, copy=True)
    if x.dtype != np.float64:
        raise ValueError(f"gradcheck needs a float64 input, got {x.dtype}: use x.astype(float)")
    for name, param in _params(module).items():
        if param.dtype != np.float64:
            raise ValueError(
                f"gradcheck runs in float64 but {module!r} has {name} of dtype {param.dtype}; "
                f"build the layer with dtype=np.float64"
            )
    if target is None and isinstance(module, Loss):
        raise ValueError(f"{module!r} is a loss: pass target=...")
    if target is not None:
        f, analytic = _loss_problem(module, x, target)
    else:
        f, analytic = _layer_problem(module, x, rng)
    grads = analytic()
    result = GradcheckResult(repr(module))
    for name, value in {"input": x, **_params(module)}.items():
        idx = _choose(value.size, max_elements, rng)
        numeric = np.array([central_difference(f, value, i, eps) for i in idx])
        found = grads[name].reshape(-1)[idx]
        excess = np.abs(found - numeric) - (atol + rtol * np.abs(numeric))
        excess[np.isnan(excess)] = np.inf
        if excess.size and excess.max() > 0:
            k = int(np.argmax(excess))
            index = tuple(int(i) for i in np.unravel_index(idx[k], value.shape))
            raise _fail(
                module,
                f"gradient of {name} at index {index}: analytic "
                f"{float(found[k])!r} but numeric {float(numeric[k])!r} (atol={atol}, rtol={rtol}; "
                f"{int(np.sum(excess > 0))} of {idx.size} checked elements disagree)",
            )
        worst = float(np.max(np.abs(found - numeric), initial=0.0))
        rel = relative_error(found, numeric, atol)
        result.tensors[name] = TensorErrors(worst, rel, idx.size, value.size)
    analytic()  # leave the module as after one forward/backward at x
    return result


def _params(module: Any, grads: bool = False) -> dict[str, Tensor]:
    """Live parameters (or copies of their gradients), named ``"0.W"`` or ``"params['W']"``."""
    if hasattr(module, "named_parameters"):
        return {n: np.array(g) if grads else p for n, p, g in module.named_parameters()}
    source = getattr(module, "grads" if grads else "params", {})
    keys = getattr(module, "params", {})
    return {f"params[{k!r}]": np.array(source.get(k)) if grads else source[k] for k in keys}


def _fail(module: Any, message: str) -> GradcheckError:
    return GradcheckError(f"gradcheck of {module!r}: {message}")


def _check_like(module: Any, name: str, grad: Any, like: Tensor) -> None:
    """Raise unless the gradient ``grad`` has the shape and dtype of ``like``."""
    grad = np.asarray(grad)
    if grad.shape != like.shape or grad.dtype != like.dtype:
        raise _fail(
            module,
            f"gradient of {name} has shape {grad.shape} and dtype {grad.dtype}, "
            f"expected shape {like.shape} and dtype {like.dtype}",
        )


def _check_same(module: Any, what: str, first: dict[str, Tensor], again: dict[str, Tensor]) -> None:
    for name, value in first.items():
        if not np.array_equal(value, again[name]):
            raise _fail(module, f"{what}: {name} differs")


def _layer_problem(
    module: Any, x: Tensor, rng: np.random.Generator
) -> tuple[Callable[[], float], Callable[[], dict[str, Tensor]]]:
    """The scalar ``sum(upstream * forward(x))`` and its analytic gradients, after extra checks."""
    x_before = x.copy()
    out = module.forward(x)
    if not np.array_equal(x, x_before):
        raise _fail(module, "forward modified its input")
    if out.dtype != np.float64:
        raise ValueError(f"{module!r} gave {out.dtype} for a float64 input; build it in float64")
    upstream = rng.standard_normal(out.shape)

    def analytic(grad: Tensor = upstream) -> dict[str, Tensor]:
        module.forward(x)
        dx = module.backward(grad.copy(), input_grad=True)
        _check_like(module, "input", dx, x)
        grads = {"input": np.array(dx), **_params(module, grads=True)}
        for name, param in _params(module).items():
            _check_like(module, name, grads[name], param)
        return grads

    first = analytic()
    _check_same(module, "two backward passes disagree", first, analytic())
    for name, grad in analytic(np.zeros_like(upstream)).items():
        if np.any(grad != 0):
            raise _fail(module, f"a zero upstream gradient gave a nonzero gradient of {name}")
    return lambda: float(np.vdot(upstream, module.forward(x))), analytic


def _loss_problem(
    module: Any, pred: Tensor, target: Tensor
) -> tuple[Callable[[], float], Callable[[], dict[str, Tensor]]]:
    """The scalar ``loss(pred, target)`` and its analytic gradient ``loss.grad``."""
    target_before = np.array(target, copy=True)

    def analytic() -> dict[str, Tensor]:
        pred_before = pred.copy()
        value = module(pred, target)
        if not (np.array_equal(pred, pred_before) and np.array_equal(target, target_before)):
            raise _fail(module, "the loss modified its predictions or targets")
        if not np.isfinite(value):
            raise _fail(module, f"the loss value {value} is not finite")
        _check_like(module, "input", module.grad, pred)
        return {"input": np.array(module.grad)}

    _check_same(module, "two calls disagree", analytic(), analytic())
    return lambda: float(module(pred, target)), analytic


def _choose(size: int, max_elements: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_elements is None or size <= max_elements:
        return np.arange(size)
    return np.sort(rng.choice(size, max_elements, replace=False))


def central_difference(f: Callable[[], float], value: Tensor, i: int, eps: float) -> float:
    """Central difference of ``f`` with respect to one element of ``value``, perturbed in place.

    Args:
        f: a scalar function that reads ``value`` (e.g. a loss through a layer's forward).
        value: the array differentiated; element ``i`` is set to ``v + eps`` then ``v - eps``,
            and restored exactly, even if ``f`` raises.
        i: flat (C-order) index of the element.
        eps: the step.

    Shape:
        - value: any; ``i`` in ``[0, value.size)``.

    Returns:
        ``(f(v + eps) - f(v - eps)) / (2 eps)``.
    """
    index = np.unravel_index(i, value.shape)
    original = value[index]
    try:
        value[index] = original + eps
        plus = f()
        value[index] = original - eps
        minus = f()
    finally:
        value[index] = original
    return (plus - minus) / (2 * eps)
