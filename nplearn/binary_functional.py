"""Stateless math of binary cross-entropy, on probabilities and on logits.

Contract
--------
Both functions are pure, keep the prediction's floating dtype for the gradient and return the
value as a Python float, reduced like PyTorch's ``BCELoss`` / ``BCEWithLogitsLoss``: ``"mean"``
over every element, or ``"sum"``.

- ``bce`` (probabilities ``p``): ``-(y log p + (1 - y) log(1 - p))`` with each log clamped at
  ``-100`` as PyTorch does, so ``p = 0`` or ``1`` gives a finite loss (``log(1 - p)`` is
  ``log1p(-p)``, exact for small ``p``). Its gradient is ``(1 - y) / (1 - p) - y / p`` with
  each denominator floored at ``1e-12``: the exact derivative at ``p = 0`` or ``1`` on its own
  target (where PyTorch's single floored denominator ``p (1 - p)`` gives 0), a large finite one
  on the other.
- ``bce_with_logits`` (logits ``z``): ``max(z, 0) - z y + log1p(exp(-|z|))``, finite for every
  finite ``z`` (logits of +-1000 included), gradient ``sigmoid(z) - y``.
"""

from __future__ import annotations

import numpy as np

from nplearn.functional import sigmoid

__all__ = ["LOG_FLOOR", "REDUCTIONS", "bce", "bce_with_logits"]

#: PyTorch's BCELoss clamps each log term at -100 so that p = 0 or 1 keeps the loss finite.
LOG_FLOOR = -100.0
#: The gradient's denominators p and 1 - p are floored at this value (PyTorch's p (1 - p)).
GRAD_FLOOR = 1e-12
REDUCTIONS = ("mean", "sum")


def _reduce(terms: np.ndarray, grad: np.ndarray, reduction: str) -> tuple[float, np.ndarray]:
    value = float(np.sum(terms, dtype=np.float64))
    if reduction == "mean" and terms.size:
        value /= terms.size
        grad /= grad.dtype.type(terms.size)
    return value, grad


def bce(p: np.ndarray, y: np.ndarray, reduction: str = "mean") -> tuple[float, np.ndarray]:
    r"""Binary cross-entropy of probabilities, :math:`-(y \log p + (1-y) \log(1-p))`.

    Args:
        p: predicted probabilities in ``[0, 1]``.
        y: targets in ``[0, 1]``, the shape of ``p``.
        reduction: ``"mean"`` (over all elements) or ``"sum"``.

    Shape:
        - p, y: ``(*)``; grad: same as ``p``, dtype of ``p``.

    Returns:
        ``(value, dL/dp)``.
    """
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), LOG_FLOOR)
        log_q = np.maximum(np.log1p(-p), LOG_FLOOR)
    terms = -(y * log_p + (1 - y) * log_q)
    grad = (1 - y) / np.maximum(1 - p, GRAD_FLOOR) - y / np.maximum(p, GRAD_FLOOR)
    grad = grad.astype(p.dtype, copy=False)
    return _reduce(terms, grad, reduction)


def bce_with_logits(
    z: np.ndarray, y: np.ndarray, reduction: str = "mean"
) -> tuple[float, np.ndarray]:
    r"""Binary cross-entropy of logits, :math:`\max(z, 0) - z y + \log(1 + e^{-|z|})`.

    Equal to ``bce(sigmoid(z), y)`` but without forming ``sigmoid(z)``'s logarithm, so it is
    exact where ``sigmoid(z)`` rounds to 0 or 1.

    Args:
        z: logits.
        y: targets in ``[0, 1]``, the shape of ``z``.
        reduction: ``"mean"`` (over all elements) or ``"sum"``.

    Shape:
        - z, y: ``(*)``; grad: same as ``z``, dtype of ``z``.

    Returns:
        ``(value, dL/dz)`` with ``dL/dz = sigmoid(z) - y`` (divided by the count for "mean").
    """
    terms = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    grad = np.subtract(sigmoid(z), y, dtype=z.dtype)
    return _reduce(terms, grad, reduction)
