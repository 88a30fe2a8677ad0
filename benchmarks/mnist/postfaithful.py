"""The post's own bugs and evaluation quirks, reproduced on purpose (and only here).

Contract
--------
Everything in this module exists to report the post's numbers *as the post
computed them*; nplearn itself is correct and is used everywhere else.

- The post's wrong ReLU backward is :class:`verification.post_impl.PostReLU`.
- :func:`post_split` is the post's ``train_test_split(train/255, labels,
  test_size=0.2, random_state=42)``.
- :func:`post_evaluation` evaluates like the post's test loops: test images
  NOT divided by 255, batches of 100 in order with the last partial batch
  dropped, accuracy = mean of per-batch ``accuracy_score``, and the "test
  error" = sum over batches of ``loss / (n_test / batch)``, with the post's
  loss values (MSE: ``0.5*sum((p-t)^2)/batch``; cross-entropy:
  ``-mean(y * log p)``, i.e. divided by batch*classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from nplearn import CrossEntropyLoss, Network, to_one_hot
from nplearn.functional import Tensor
from nplearn.losses import Loss
from nplearn.training import batches

__all__ = [
    "POST_BATCH",
    "PostEvaluation",
    "post_evaluation",
    "post_loss_value",
    "post_split",
]

POST_BATCH = 100
SPLIT_SEED = 42  # the post's ``random_state=42``
VAL_FRACTION = 0.2


def post_split(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The post's 80/20 train/validation split of the 60k training images.

    Args:
        x: uint8 training images.
        y: integer labels.

    Shape:
        - x: ``(60000, 784)``, y: ``(60000,)``
        - outputs: ``(48000, 784)`` float32 in [0, 1], ``(12000, 784)``,
          ``(48000,)``, ``(12000,)``

    Returns:
        ``(x_train, x_val, y_train, y_val)`` exactly as the post's call orders them.
    """
    return train_test_split(
        x.astype(np.float32) / 255, y, test_size=VAL_FRACTION, random_state=SPLIT_SEED
    )


def post_loss_value(loss: Loss, pred: Tensor, target: Tensor) -> float:
    """The value the post's loss class returns for one batch.

    nplearn's ``MSE`` is the post's. The post's cross-entropy value was
    ``-np.mean(y * log p)``, i.e. nplearn's summed value / (batch * classes)
    (computed here with the stable log-softmax, so it is finite where the
    post's ``log(softmax)`` could give ``nan``).

    Shape:
        - pred, target: ``(batch, classes)``
    """
    value = loss(pred, target)
    if isinstance(loss, CrossEntropyLoss):
        per = pred.shape[0] * pred.shape[1] if loss.reduction == "sum" else pred.shape[1]
        value /= per
    return float(value)


@dataclass(frozen=True)
class PostEvaluation:
    """The post's test metrics.

    Attributes:
        accuracy: mean of per-batch accuracies on the undivided test images.
        error: sum over batches of loss / (n / batch) (the post's "Test Error").
        predictions: argmax of ``net(test)`` on all undivided images, shape ``(n,)``
            (the input of the post's confusion matrix).
    """

    accuracy: float
    error: float
    predictions: Tensor


def post_evaluation(
    net: Network, loss: Loss, x_test: Tensor, y_test: Tensor, *, batch_size: int = POST_BATCH
) -> PostEvaluation:
    """Evaluate ``net`` on the test set exactly as the post's scripts do.

    Args:
        net: the trained network.
        loss: the loss it was trained with (for the post's "test error").
        x_test: uint8 test images; NOT divided by 255 (the post's quirk).
        y_test: integer labels.
        batch_size: the post's 100.

    Shape:
        - x_test: ``(n, 784)``, y_test: ``(n,)``

    Returns:
        The :class:`PostEvaluation`.
    """
    x = x_test.astype(np.float32)  # 0..255, as the post's pandas array
    target = to_one_hot(y_test, 10)
    accuracies, error = [], 0.0
    for idx in batches(len(x), batch_size, drop_last=True):
        pred = net(x[idx])
        error += post_loss_value(loss, pred, target[idx]) / (len(x) / batch_size)
        accuracies.append(accuracy_score(y_test[idx], pred.argmax(axis=1)))
    predictions = np.concatenate([net(x[idx]).argmax(axis=1) for idx in batches(len(x), 1000)])
    return PostEvaluation(float(np.mean(accuracies)), error, predictions)
