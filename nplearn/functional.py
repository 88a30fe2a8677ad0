"""Stateless math of nplearn: activations, softmax (and its backward), log-softmax, one-hot.

Contract
--------
Every function here is pure: it takes arrays, returns new arrays, keeps the
input's floating dtype (float32 stays float32) and never mutates its inputs.
Each one is stable by construction for every finite input of its dtype:

- ``sigmoid`` is ``1 / (1 + exp(-x))``, whose only overflow (``exp(-x) = inf``)
  gives the correct limit 0 (it is not reported);
- ``softmax`` and ``log_softmax`` shift by the row maximum first, as
  :func:`scipy.special.softmax` does: ``softmax`` is ``exp(s) / sum(exp(s))``
  and ``log_softmax`` is ``s - log(sum(exp(s)))`` with ``s = z - max(z)``,
  finite where ``log(softmax(z))`` underflows to ``-inf``.

Layers (``nplearn.layers``) and losses (``nplearn.losses``) call these
functions, so each formula of the post and its speed tricks live here once.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

#: The post's name for an array: ``from numpy import ndarray as Tensor``.
Tensor = np.ndarray

__all__ = [
    "Tensor",
    "log_softmax",
    "relu",
    "row_starts",
    "sigmoid",
    "softmax",
    "softmax_backward",
    "summing_vector",
    "to_one_hot",
]


def sigmoid(x: Tensor) -> Tensor:
    r"""Logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})`.

    Computed as written, in one buffer: ``e^{-x}``, plus 1, reciprocal. That is
    stable by construction: ``e^{-x}`` overflows to ``inf`` only where
    :math:`\sigma(x)` is below the smallest normal float, and ``1 / inf = 0`` is
    the correct limit; the overflow is expected and not reported. Results agree
    with :func:`scipy.special.expit` to a few ulps; NumPy's ``exp`` is
    vectorised and ``expit`` is not.

    Args:
        x: array of any shape.

    Shape:
        - x: ``(*)``
        - output: ``(*)``, same dtype as ``x`` for float inputs (float64 otherwise).

    Returns:
        ``sigma(x)`` elementwise, in ``[0, 1]``.
    """
    x = np.asarray(x)
    y = np.negative(x) if x.dtype.kind == "f" else np.negative(x, dtype=np.float64)
    np.exp(y, out=y)
    y += 1
    return np.reciprocal(y, out=y)


# The overflow is silenced by np.errstate used as a decorator, not as a ``with`` block: NumPy 2 then
# builds no context manager per call, which costs a small batch's step more than the arithmetic it
# guards. Applied by assignment, not ``@``, because mutation testing (mutmut) skips decorated
# functions.
sigmoid = np.errstate(over="ignore")(sigmoid)


def relu(x: Tensor) -> Tensor:
    r"""Rectified linear unit :math:`\max(x, 0)`.

    Args:
        x: array of any shape.

    Shape:
        - x: ``(*)``
        - output: ``(*)``

    Returns:
        ``max(x, 0)`` elementwise, same dtype as ``x``.
    """
    return np.maximum(x, 0)


@functools.lru_cache(maxsize=32)
def row_starts(rows: int, classes: int) -> Tensor:
    """``[0, classes, 2 * classes, ...]``: the flat index of each row's first entry in a C-ordered
    ``(rows, classes)`` array, so ``row_starts(...) + labels`` indexes each row's label in
    ``x.ravel()``. Cached and read-only: a training step asks for the same one every time.

    Shape:
        - output: ``(rows,)``
    """
    starts = np.arange(rows) * classes
    starts.flags.writeable = False
    return starts


@functools.lru_cache(maxsize=32)
def summing_vector(n: int, dtype: DTypeLike) -> Tensor:
    """A read-only vector of ``n`` ones of ``dtype``, cached: ``summing_vector(n) @ a`` sums the
    ``n`` rows of ``a`` and ``a @ summing_vector(n)`` its ``n`` columns in one BLAS call, several
    times faster than NumPy's ``sum`` along a short axis.

    Shape:
        - output: ``(n,)``
    """
    ones = np.ones(n, dtype)
    ones.flags.writeable = False
    return ones


def _shifted_exp(x: Tensor, axis: int) -> tuple[Tensor, Tensor, Tensor]:
    """``(s, exp(s), sum(exp(s)))`` with ``s = x - max(x)`` along ``axis`` (sums kept as dims).

    ``s`` and ``exp(s)`` are new C-ordered arrays, so callers may write into them through flat
    views. On ``(batch, classes)`` rows the maxima are read at the argmax and the sums taken by
    :func:`summing_vector`, because NumPy's max and sum along a short last axis are several
    times slower. A row spanning ``+-finfo.max`` overflows to ``s = -inf``, whose ``exp`` is the
    correct 0; the overflow is not reported.
    """
    x = np.asarray(x)
    if x.ndim == 2 and axis in (1, -1) and x.size:
        top = x.ravel()[row_starts(*x.shape) + x.argmax(axis=1)]
        # Equivalent mutant: NumPy reads order="c" as "C".
        shifted = np.subtract(x, top[:, None], order="C")  # pragma: no mutate
        exp = np.exp(shifted)
        return shifted, exp, (exp @ summing_vector(x.shape[1], x.dtype))[:, None]
    # Equivalent mutant: NumPy reads order="c" as "C".
    shifted = np.subtract(x, x.max(axis=axis, keepdims=True), order="C")  # pragma: no mutate
    exp = np.exp(shifted)
    return shifted, exp, exp.sum(axis=axis, keepdims=True)


_shifted_exp = np.errstate(over="ignore", invalid="ignore")(_shifted_exp)  # as sigmoid's


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    r"""Softmax :math:`S(x)_i = e^{x_i} / \sum_k e^{x_k}` along ``axis``.

    The maximum is subtracted first (as :func:`scipy.special.softmax`, the
    post's choice), so large logits do not overflow.

    Args:
        x: logits (floating dtype).
        axis: the class axis (the post uses ``axis=1`` on ``(batch, classes)``).

    Shape:
        - x: ``(batch, classes)`` (any shape works)
        - output: same as ``x``, same dtype; rows along ``axis`` sum to 1.

    Returns:
        Probabilities in ``[0, 1]``.
    """
    _, exp, total = _shifted_exp(x, axis)
    return np.divide(exp, total, out=exp)


def softmax_backward(y: Tensor, grad: Tensor, axis: int = -1) -> Tensor:
    r"""``dL/dx`` of :math:`y = S(x)` along ``axis``, given ``y`` and ``grad = dL/dy``.

    The Jacobian-vector product :math:`y \odot (g - \sum_k g_k y_k)`: each row's Jacobian
    ``diag(y) - y y^T`` is never formed.

    Args:
        y: the softmax output along ``axis``.
        grad: ``dL/dy``, the shape of ``y``.
        axis: the class axis ``y`` was normalised over.

    Shape:
        - y, grad: ``(batch, classes)`` (any shape works)
        - output: same as ``y``, dtype of ``grad * y`` (float32 stays float32).

    Returns:
        ``y * (grad - sum(grad * y, axis, keepdims=True))``, a new array.
    """
    dot = np.sum(np.multiply(grad, y), axis=axis, keepdims=True)
    out = np.subtract(grad, dot)
    out *= y
    return out


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    r"""Stable :math:`\log S(x)_i = x_i - \max x - \log\sum_k e^{x_k - \max x}`.

    Finite wherever the shifted logits are representable, including where
    ``np.log(softmax(x))`` would give ``-inf`` (e.g. logits ``[0, -1e4]``).
    If the spread of one row exceeds the dtype's range (logits near
    ``finfo.max`` of both signs) the affected entries are ``-inf``, silently,
    which is the correctly rounded answer.

    Args:
        x: logits (floating dtype).
        axis: the class axis.

    Shape:
        - x: ``(batch, classes)`` (any shape works)
        - output: same as ``x``, same dtype, C-ordered.

    Returns:
        Log-probabilities, all ``<= 0``.
    """
    shifted, _, total = _shifted_exp(x, axis)
    shifted -= np.log(total)
    return shifted


def to_one_hot(
    labels: ArrayLike, num_classes: int | None = None, dtype: DTypeLike = np.float32
) -> Tensor:
    """One-hot encode integer class labels.

    Args:
        labels: integer labels ``0 <= label < num_classes``.
        num_classes: number of columns; ``None`` uses ``labels.max() + 1`` as
            the post's ``to_one_hot`` does (pass it explicitly for batches
            that may miss the highest class).
        dtype: dtype of the result (float32 by default).

    Shape:
        - labels: ``(batch,)``
        - output: ``(batch, num_classes)``

    Returns:
        Array with a single 1 per row, at the label's column.

    Raises:
        ValueError: labels that are not a 1-D integer array, or that lie
            outside ``[0, num_classes)``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"to_one_hot expects a 1-D integer label array, got shape {labels.shape} "
            f"and dtype {labels.dtype}"
        )
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}), got min {labels.min()} and max {labels.max()}"
        )
    out = np.zeros((labels.shape[0], num_classes), dtype=dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


# The formulas of the pieces beyond the post, each idea in its own module, are re-exported here so
# that this module stays the one place to import every formula from.
from nplearn.binary_functional import *  # noqa: E402, F403
from nplearn.conv_functional import *  # noqa: E402, F403
from nplearn.layer_functional import *  # noqa: E402, F403
