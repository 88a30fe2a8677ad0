"""The softmax layer: each row of a batch turned into probabilities, as ``torch.nn.Softmax(dim=1)``.

Contract
--------
``Softmax().forward(x)`` is :func:`nplearn.functional.softmax` over each row of a
``(batch, classes)`` input and ``backward(grad)`` is :func:`nplearn.functional.softmax_backward`
of the last output. Each output depends on its whole row, so this is a :class:`~nplearn.Layer`
and not an elementwise :class:`~nplearn.Activation`; like an activation it is parameter-free
(``params`` and ``grads`` are empty), keeps only its output, keeps the input's floating dtype and
never writes into its arguments. Errors are those of ``nplearn.layers``: a ``ValueError`` naming
both shapes, a ``RuntimeError`` for backward before forward.

For classification, :class:`~nplearn.CrossEntropyLoss` takes the logits and fuses softmax into
its gradient; this layer is for networks that need the probabilities themselves.
"""

from __future__ import annotations

import numpy as np

from nplearn.functional import Tensor, softmax, softmax_backward
from nplearn.layers import Layer, _bad_grad

__all__ = ["Softmax"]


class Softmax(Layer):
    r"""Softmax over each row, :math:`y_{ij} = e^{x_{ij}} / \sum_k e^{x_{ik}}`.

    Shape:
        - input: ``(batch, classes)``
        - output: ``(batch, classes)``, same dtype for float inputs; each row sums to 1.

    Attributes:
        output: the last output (what backward reads), None before the first forward.
    """

    def __init__(self) -> None:
        super().__init__()
        self.output: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        """Return the softmax of each row of ``x`` and keep it for backward.

        Args:
            x: logits, shape ``(batch, classes)``.

        Returns:
            Probabilities, shape ``(batch, classes)``.
        """
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(
                f"{self!r} expects input of shape (batch, classes), got shape {x.shape}"
            )
        # Equivalent mutant: the input is 2-D, so the default axis -1 is axis 1.
        self.output = softmax(x, axis=1)  # pragma: no mutate
        return self.output

    def backward(self, grad: Tensor, *, input_grad: bool = True) -> Tensor | None:
        """Back-propagate ``grad = dL/dy`` through the last forward.

        Args:
            grad: ``dL/dy`` of the last output, shape ``(batch, classes)``.
            input_grad: compute and return ``dL/dx`` (False returns None).

        Returns:
            ``dL/dx = y * (grad - sum(grad * y, axis=1))``, shape ``(batch, classes)``, or None
            when ``input_grad`` is False.
        """
        y, grad = self.output, np.asarray(grad)
        if y is None or grad.shape != y.shape:
            raise _bad_grad(self, grad, None if y is None else y.shape)
        if not input_grad:
            return None
        # Equivalent mutant: the output is 2-D, so the default axis -1 is axis 1.
        return softmax_backward(y, grad, axis=1)  # pragma: no mutate
