"""Losses: ``MSE`` and ``CrossEntropyLoss``.

Contract
--------
``value = loss(pred, true)`` returns the loss as a Python ``float`` and sets
``loss.grad = dL/dpred`` (same shape and dtype as ``pred``), the gradient *of
that value*: the two always agree (the post's cross-entropy did not: its loss
was averaged over batch*classes while its gradient ``p - y`` was not divided).

- ``MSE`` is the post's: ``L = 0.5 * sum((pred - true)**2) / batch`` and
  ``dL/dpred = (pred - true) / batch``.
- ``CrossEntropyLoss`` takes logits and either one-hot (or probability) rows or
  integer class labels; ``L = -sum(y * log_softmax(logits))`` and
  ``dL/dlogits = softmax(logits) - y`` per sample. ``reduction="sum"`` (the
  default) is exactly the gradient the post trains with; ``reduction="mean"``
  (PyTorch's) divides both by the batch size.

Mismatched shapes, labels outside the class range and unknown reductions
raise ``ValueError`` naming both shapes.
"""

from __future__ import annotations

import numpy as np

from nplearn.functional import Tensor, log_softmax, row_starts

__all__ = ["MSE", "CrossEntropyLoss", "Loss"]

REDUCTIONS = ("sum", "mean")


class Loss:
    """Base class: ``__call__`` computes the value and stores ``grad``.

    Subclasses implement ``_value_and_grad(pred, true) -> (float, grad)``.
    ``loss_fn`` and ``grad_fn`` are the post's two halves, kept for
    compatibility; ``__call__`` computes both in one pass.
    """

    def __init__(self) -> None:
        self.grad: Tensor | None = None

    def _value_and_grad(self, pred: Tensor, true: Tensor) -> tuple[float, Tensor]:
        raise NotImplementedError  # pragma: no cover

    def __call__(self, pred: Tensor, true: Tensor) -> float:
        """Return the loss value and set ``self.grad`` to ``dL/dpred``."""
        value, self.grad = self._value_and_grad(np.asarray(pred), np.asarray(true))
        return value

    def loss_fn(self, pred: Tensor, true: Tensor) -> float:
        """The loss value alone (the post's API)."""
        return self._value_and_grad(np.asarray(pred), np.asarray(true))[0]

    def grad_fn(self, pred: Tensor, true: Tensor) -> Tensor:
        """The gradient alone (the post's API)."""
        return self._value_and_grad(np.asarray(pred), np.asarray(true))[1]

    def backward(self) -> Tensor:
        """Return the gradient of the last call (PyTorch-like spelling)."""
        if self.grad is None:
            raise RuntimeError(f"{self!r}: backward() called before the loss")
        return self.grad


def _check_pred(name: str, pred: Tensor) -> None:
    if pred.ndim != 2 or pred.dtype.kind != "f" or pred.shape[1] == 0:
        raise ValueError(
            f"{name} expects float predictions of shape (batch, classes), "
            f"got shape {pred.shape} and dtype {pred.dtype}"
        )


class MSE(Loss):
    r"""The post's mean squared error, :math:`L = \frac{1}{2m}\|pred - true\|^2`.

    ``m`` is the batch size (``true.shape[0]``), so the gradient is
    :math:`(pred - true)/m`.

    Shape:
        - pred: ``(batch, outputs)``
        - true: ``(batch, outputs)`` (e.g. one-hot rows)
        - grad: ``(batch, outputs)``, dtype of ``pred``

    Returns:
        The loss value as a Python float.
    """

    def _value_and_grad(self, pred: Tensor, true: Tensor) -> tuple[float, Tensor]:
        _check_pred("MSE", pred)
        if true.shape != pred.shape:
            raise ValueError(f"MSE: pred has shape {pred.shape} but true has shape {true.shape}")
        diff = np.subtract(pred, true, dtype=pred.dtype)
        m = pred.shape[0]
        value = 0.5 * float(np.vdot(diff, diff)) / m
        diff /= m
        return value, diff

    def __repr__(self) -> str:
        return "MSE()"


class CrossEntropyLoss(Loss):
    r"""Softmax cross-entropy on logits, :math:`L = -\sum_i y_i \log p_i`.

    With :math:`p = \mathrm{softmax}(logits)` the gradient per sample is
    :math:`p - y` (the post's derivation). The log-probabilities are
    :func:`nplearn.functional.log_softmax` (the max-shifted log-sum-exp), so
    the loss is finite and >= 0 even for logits of 1e30.

    Args:
        reduction: ``"sum"`` (default; the post's gradient, loss summed over
            the batch) or ``"mean"`` (PyTorch's; both divided by the batch).

    Shape:
        - logits: ``(batch, classes)``
        - true: ``(batch, classes)`` one-hot (or probability) rows, or
          ``(batch,)`` integer labels in ``[0, classes)``.
        - grad: ``(batch, classes)``, dtype of ``logits``

    Returns:
        The loss value as a Python float.
    """

    def __init__(self, reduction: str = "sum") -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"unknown reduction {reduction!r}; choose one of {REDUCTIONS}")
        self.reduction = reduction

    def _value_and_grad(self, logits: Tensor, true: Tensor) -> tuple[float, Tensor]:
        _check_pred("CrossEntropyLoss", logits)
        batch, classes = logits.shape
        labels = true.ndim == 1 and true.shape[0] == batch and true.dtype.kind in ("i", "u")
        if not labels and true.shape != logits.shape:
            raise ValueError(
                f"CrossEntropyLoss: logits have shape {logits.shape} but targets have "
                f"shape {true.shape} and dtype {true.dtype}; expected one-hot rows of "
                f"shape {logits.shape} or integer labels of shape ({batch},)"
            )
        # Equivalent mutant: dropping axis=1 leaves the default, the last axis of 2-D logits.
        log_p = log_softmax(logits, axis=1)  # pragma: no mutate
        # p = exp(log p), as torch's backward of log_softmax: one exp, no second pass over the
        # rows for their maxima and sums.
        p = np.exp(log_p)
        if labels:
            # L = -sum_rows log p[label];  dL/dz = p - onehot(label). log_p and p are C-ordered,
            # so their ravel() is a view and ``at`` indexes (row, label) in it. One C call both
            # computes ``at`` and range-checks every label (row_starts(batch, 1) is 0..batch-1).
            try:
                at = np.ravel_multi_index((row_starts(batch, 1), true), (batch, classes))
            except ValueError:
                raise ValueError(
                    f"CrossEntropyLoss: labels must lie in [0, {classes}) for logits of "
                    f"shape {logits.shape}; got min {true.min()}, max {true.max()}"
                ) from None
            value = -float(np.add.reduce(log_p.ravel()[at], dtype=np.float64))
            grad = p
            grad.ravel()[at] -= 1
        else:
            # L = -sum y * log p;  dL/dz = (sum_i y_i) p - y (= p - y for one-hot rows). Clamp
            # log p so that 0 * log p is 0 even where it is -inf.
            np.maximum(log_p, np.finfo(log_p.dtype).min, out=log_p)
            value = -float(np.vdot(true, log_p))
            grad = np.multiply(p, true.sum(axis=1)[:, None], out=p)
            np.subtract(grad, true, out=grad)
        if self.reduction == "mean" and batch:
            value /= batch
            grad /= batch
        return value, grad

    def __repr__(self) -> str:
        return f"CrossEntropyLoss(reduction={self.reduction!r})"
