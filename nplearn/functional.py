"""Stateless math of nplearn: activations, softmax, log-softmax, one-hot.

Contract
--------
Every function here is pure: it takes arrays, returns new arrays, keeps the
input's floating dtype (float32 stays float32) and never mutates its inputs.
Each one is stable by construction for every finite input of its dtype:

- ``sigmoid`` is ``1 / (1 + exp(-x))``, whose only overflow (``exp(-x) = inf``)
  gives the correct limit 0 (it is not reported);
- ``softmax`` is :func:`scipy.special.softmax` (max-shifted), as in the seed;
- ``log_softmax`` is the max-shifted log-sum-exp
  ``z - max(z) - log(sum(exp(z - max(z))))``, finite where
  ``log(softmax(z))`` underflows to ``-inf``.

Layers (``nplearn.layers``) and losses (``nplearn.losses``) are built from
these functions, so the equations of the seed can be read here once.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike
from scipy.special import softmax as _scipy_softmax

#: The seed's name for an array: ``from numpy import ndarray as Tensor``.
Tensor = np.ndarray

__all__ = [
    "Tensor",
    "log_softmax",
    "relu",
    "sigmoid",
    "sigmoid_prime",
    "softmax",
    "to_one_hot",
]


def sigmoid(x: Tensor) -> Tensor:
    r"""Logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})`.

    Computed as written, in one buffer: ``e^{-x}``, plus 1, reciprocal. That is
    stable by construction: ``e^{-x}`` overflows to ``inf`` only where
    :math:`\sigma(x)` is below the smallest normal float (``x < -88.7`` in
    float32), and ``1 / inf = 0`` is the correct limit; the overflow is
    expected and not reported. Results agree with :func:`scipy.special.expit`
    to a few ulps (exactly: 0 or a subnormal there). NumPy's ``exp`` is
    vectorised and ``expit`` is not: 3x faster on float32 ``(100, 128)``.

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
    with np.errstate(over="ignore"):
        np.exp(y, out=y)
    y += 1
    return np.reciprocal(y, out=y)


def sigmoid_prime(x: Tensor) -> Tensor:
    r"""Derivative of the sigmoid at ``x``: :math:`\sigma(x)(1 - \sigma(x))`.

    Note that it takes the *input* ``x`` of the sigmoid, not its output (the
    seed's ``Sigmoid.backward`` applies it to the input, which is right).

    Args:
        x: array of any shape.

    Shape:
        - x: ``(*)``
        - output: ``(*)``

    Returns:
        ``sigma(x) * (1 - sigma(x))`` elementwise, in ``[0, 0.25]``.
    """
    s = sigmoid(x)
    return s * (1 - s)


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


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    r"""Softmax :math:`S(x)_i = e^{x_i} / \sum_k e^{x_k}` along ``axis``.

    This is :func:`scipy.special.softmax` (the seed's choice); it subtracts
    the maximum first, so large logits do not overflow.

    Args:
        x: logits.
        axis: the class axis (the seed uses ``axis=1`` on ``(batch, classes)``).

    Shape:
        - x: ``(batch, classes)`` (any shape works)
        - output: same as ``x``; rows along ``axis`` sum to 1.

    Returns:
        Probabilities in ``[0, 1]``.
    """
    with np.errstate(over="ignore"):  # a row spanning +-finfo.max: exp(-inf) is 0, correctly
        return _scipy_softmax(x, axis=axis)


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
        - output: same as ``x``, same dtype.

    Returns:
        Log-probabilities, all ``<= 0``.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        shifted = x - x.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    shifted -= lse
    return shifted


def to_one_hot(
    labels: ArrayLike, num_classes: int | None = None, dtype: DTypeLike = np.float32
) -> Tensor:
    """One-hot encode integer class labels.

    Args:
        labels: integer labels ``0 <= label < num_classes``.
        num_classes: number of columns; ``None`` uses ``labels.max() + 1`` as
            the seed's ``to_one_hot`` does (pass it explicitly for batches
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
