r"""Stateless math of leaky ReLU, dropout and batch normalisation.

Contract
--------
Every function is pure (inputs are never mutated) and keeps the input's floating dtype.

- ``leaky_relu``: ``x`` where ``x > 0``, ``slope * x`` elsewhere.
- ``dropout_scale``: the inverted-dropout multiplier ``mask / (1 - p)`` drawn from a
  ``numpy.random.Generator``, one independent draw per element (so per row and per call).
- ``batch_norm`` / ``batch_norm_backward``: ``gamma * (x - mean) / sqrt(var + eps) + beta`` over
  the batch axis with the biased variance (PyTorch's normalisation), and its exact backward
  :math:`dx = \frac{\gamma}{N\sigma}(N g - \sum g - \hat x \sum g \hat x)`, which stays finite for
  a constant feature (``var = 0``: ``sigma = sqrt(eps)``, ``x_hat = 0``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["batch_norm", "batch_norm_backward", "dropout_scale", "leaky_relu"]


def leaky_relu(x: np.ndarray, slope: float = 0.01) -> np.ndarray:
    r"""Leaky rectified linear unit :math:`f(x) = x` if :math:`x > 0` else :math:`slope \cdot x`.

    Shape:
        - x: ``(*)``; output: same shape and dtype.
    """
    x = np.asarray(x)
    return np.where(x > 0, x, x * x.dtype.type(slope))


def dropout_scale(
    shape: tuple[int, ...], p: float, rng: np.random.Generator, dtype: np.dtype
) -> np.ndarray:
    """The inverted-dropout multiplier: 0 with probability ``p``, else ``1 / (1 - p)``.

    Shape:
        - output: ``shape``, of ``dtype``.
    """
    keep = rng.random(shape) >= p
    return keep.astype(dtype) * dtype.type(1 / (1 - p))


def batch_norm(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray, var: np.ndarray,
    eps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Normalise each feature, :math:`y = \gamma (x - \mu) / \sqrt{\sigma^2 + \epsilon} + \beta`.

    Args:
        x: input, ``(N, features)``.
        gamma, beta: scale and shift, ``(features,)``.
        mean, var: the statistics to normalise with (the batch's or the running ones).
        eps: added to the variance.

    Returns:
        ``(y, x_hat, inv_std)``: the output, the normalised input and ``1 / sqrt(var + eps)``.
    """
    inv_std = 1 / np.sqrt(var + x.dtype.type(eps))
    x_hat = (x - mean) * inv_std
    return x_hat * gamma + beta, x_hat, inv_std


def batch_norm_backward(
    grad: np.ndarray, x_hat: np.ndarray, gamma: np.ndarray, inv_std: np.ndarray,
    batch_stats: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`batch_norm`: ``(dx, dgamma, dbeta)``.

    Args:
        grad: ``dL/dy``, ``(N, features)``.
        x_hat, inv_std: from the forward.
        batch_stats: the forward normalised with the batch's own mean and variance (training),
            so they depend on ``x``; else (evaluation) ``dx = grad * gamma * inv_std``.
    """
    dbeta = grad.sum(axis=0)
    dgamma = (grad * x_hat).sum(axis=0)
    scale = gamma * inv_std
    if not batch_stats:
        return grad * scale, dgamma, dbeta
    n = grad.dtype.type(grad.shape[0])
    dx = grad - (dbeta + x_hat * dgamma) / n
    dx *= scale
    return dx, dgamma, dbeta
