"""``BatchNorm1d``: batch normalisation over ``(batch, features)``, PyTorch's semantics."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from nplearn.functional import Tensor, batch_norm, batch_norm_backward
from nplearn.layers import Layer, _bad_grad

__all__ = ["BatchNorm1d"]


class BatchNorm1d(Layer):
    r"""Batch normalisation :math:`y = \gamma (x - \mu) / \sqrt{\sigma^2 + \epsilon} + \beta`,
    as ``torch.nn.BatchNorm1d`` on 2-D input.

    In training, :math:`\mu, \sigma^2` are the batch's mean and biased variance, and the running
    statistics move as ``new = (1 - momentum) * old + momentum * batch``, with the *unbiased*
    batch variance for ``running_var``. After ``eval()`` the running statistics normalise and
    nothing is updated.

    Args:
        num_features: ``n``, the number of features.
        eps: added to the variance.
        momentum: weight of the batch in the running statistics, in ``[0, 1]``.
        dtype: floating dtype of parameters, statistics and output.

    Shape:
        - input: ``(batch, num_features)``, ``batch >= 2`` in training (a single row has no
          variance, which PyTorch refuses too); output: same.

    Attributes:
        params: ``{"gamma": ones(n), "beta": zeros(n)}``; grads: their gradients.
        running_mean, running_var: ``(n,)``, starting at 0 and 1; also ``buffers``, which
            ``Network.state_dict``, ``save`` and ``load`` include.
    """

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
        *, dtype: DTypeLike = np.float32,
    ) -> None:
        super().__init__()
        if num_features < 1:
            raise ValueError(f"BatchNorm1d: num_features must be positive, got {num_features}")
        if not eps > 0 or not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm1d: needs eps > 0 and momentum in [0, 1], got eps={eps}, "
                             f"momentum={momentum}")
        self.dtype = np.dtype(dtype)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.params = {"gamma": np.ones(num_features, self.dtype),
                       "beta": np.zeros(num_features, self.dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.running_mean = np.zeros(num_features, self.dtype)
        self.running_var = np.ones(num_features, self.dtype)
        # Saved and loaded by Network.state_dict with the parameters (updated in place).
        self.buffers = {"running_mean": self.running_mean, "running_var": self.running_var}
        self.cache: tuple[Tensor, Tensor, bool] | None = None  # x_hat, inv_std, batch statistics

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` (batch statistics in training, running ones at evaluation).

        Shape:
            - x: ``(batch, num_features)``; output: same, in the layer's dtype.
        """
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r} expects input of shape (batch, {self.num_features}), "
                             f"got shape {x.shape}")
        x = x.astype(self.dtype, copy=False)
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(f"{self!r}: training needs a batch of at least 2 rows, got "
                                 f"shape {x.shape}")
            mean, var = x.mean(axis=0), x.var(axis=0)
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * mean
            self.running_var *= 1 - m
            self.running_var += (m * n / (n - 1)) * var
        else:
            mean, var = self.running_mean, self.running_var
        y, x_hat, inv_std = batch_norm(x, self.params["gamma"], self.params["beta"], mean, var,
                                       self.eps)
        self.cache = (x_hat, inv_std, self.training)
        return y

    def backward(self, grad: Tensor, *, input_grad: bool = True) -> Tensor | None:
        """Store ``dL/dgamma``, ``dL/dbeta`` and return ``dL/dx`` of the last forward.

        Shape:
            - grad, output: ``(batch, num_features)``.
        """
        grad = np.asarray(grad)
        if self.cache is None or grad.shape != self.cache[0].shape:
            raise _bad_grad(self, grad, None if self.cache is None else self.cache[0].shape)
        x_hat, inv_std, batch_stats = self.cache
        dx, dgamma, dbeta = batch_norm_backward(grad, x_hat, self.params["gamma"], inv_std,
                                                batch_stats)
        self.grads["gamma"][...] = dgamma
        self.grads["beta"][...] = dbeta
        return dx if input_grad else None

    def __repr__(self) -> str:
        return (f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"dtype={self.dtype.name})")
