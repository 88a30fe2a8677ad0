"""Binary cross-entropy losses: ``BCELoss`` on probabilities, ``BCEWithLogitsLoss`` on logits.

Both follow the :class:`nplearn.losses.Loss` contract (``value = loss(pred, target)`` and
``loss.grad = dL/dpred``, the gradient of that value) and PyTorch's reductions: ``"mean"`` over
every element (the default) or ``"sum"``. The formulas are
:func:`nplearn.functional.bce` and :func:`nplearn.functional.bce_with_logits`.
"""

from __future__ import annotations

from nplearn.functional import REDUCTIONS, Tensor, bce, bce_with_logits
from nplearn.losses import Loss

__all__ = ["BCELoss", "BCEWithLogitsLoss"]


class _Binary(Loss):
    """Checks shared by both losses: the reduction, float predictions, equal shapes."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"unknown reduction {reduction!r}; choose one of {REDUCTIONS}")
        self.reduction = reduction

    def _checked(self, pred: Tensor, true: Tensor) -> Tensor:
        if pred.dtype.kind != "f" or pred.ndim == 0:
            raise ValueError(f"{self!r} expects float predictions of shape (batch, *), got "
                             f"shape {pred.shape} and dtype {pred.dtype}")
        if true.shape != pred.shape:
            raise ValueError(f"{self!r}: pred has shape {pred.shape} but target has shape "
                             f"{true.shape}")
        return true.astype(pred.dtype, copy=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


class BCELoss(_Binary):
    r"""Binary cross-entropy of probabilities, :math:`-(y \log p + (1-y) \log(1-p))`, as
    ``torch.nn.BCELoss`` (each log clamped at -100, so ``p`` of exactly 0 or 1 is finite).

    Args:
        reduction: ``"mean"`` (over all elements, default) or ``"sum"``.

    Shape:
        - pred: ``(*)``, probabilities in ``[0, 1]`` (outside raises ``ValueError``)
        - target: same shape, values in ``[0, 1]``
        - grad: same as pred, dtype of pred.

    Returns:
        The loss value as a Python float.
    """

    def _value_and_grad(self, pred: Tensor, true: Tensor) -> tuple[float, Tensor]:
        true = self._checked(pred, true)
        if pred.size and not (pred.min() >= 0 and pred.max() <= 1):
            raise ValueError(f"{self!r} expects probabilities in [0, 1] (pass logits to "
                             f"BCEWithLogitsLoss), got values in [{pred.min()}, {pred.max()}]")
        return bce(pred, true, self.reduction)


class BCEWithLogitsLoss(_Binary):
    r"""Binary cross-entropy of logits, :math:`\max(z, 0) - zy + \log(1 + e^{-|z|})`, as
    ``torch.nn.BCEWithLogitsLoss``: ``BCELoss(sigmoid(z))`` computed stably for any finite ``z``.

    Args:
        reduction: ``"mean"`` (over all elements, default) or ``"sum"``.

    Shape:
        - pred: ``(*)`` logits
        - target: same shape, values in ``[0, 1]``
        - grad: same as pred, dtype of pred: ``sigmoid(z) - y`` (divided by the count for mean).

    Returns:
        The loss value as a Python float.
    """

    def _value_and_grad(self, pred: Tensor, true: Tensor) -> tuple[float, Tensor]:
        return bce_with_logits(pred, self._checked(pred, true), self.reduction)


