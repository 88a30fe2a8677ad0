"""Loss behaviours the hand-value tests leave open (found by mutation testing).

- The error for bad predictions starts with the loss's class name; ``repr`` spells the loss.
- One-hot targets against logits spanning ``+-finfo.max``: ``log p`` is ``-inf`` where the target
  is 0, and the loss stays finite (0 * log p is taken as 0), as with integer labels.
- The loss of float32 logits is summed in float64: on a large batch it equals the exactly
  rounded sum of the per-sample terms, which a float32 sum misses by far more than its rounding.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from nplearn.functional import log_softmax
from nplearn.losses import MSE, CrossEntropyLoss


@pytest.mark.parametrize("loss", [MSE(), CrossEntropyLoss()], ids=repr)
def test_bad_predictions_name_the_loss(loss: MSE | CrossEntropyLoss) -> None:
    """The message starts with the class name and says what shape was expected."""
    name = type(loss).__name__
    pattern = "^" + re.escape(f"{name} expects float predictions of shape (batch, classes), got")
    with pytest.raises(ValueError, match=pattern):
        loss(np.zeros(3), np.zeros(3))


def test_reprs_spell_the_losses() -> None:
    assert repr(MSE()) == "MSE()"
    assert repr(CrossEntropyLoss()) == "CrossEntropyLoss(reduction='sum')"
    assert repr(CrossEntropyLoss("mean")) == "CrossEntropyLoss(reduction='mean')"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_hot_targets_with_logits_at_the_dtype_limits(dtype: type) -> None:
    """Logits [max, -max] with the target on the first class: loss 0, gradient 0, no NaN."""
    big = np.finfo(dtype).max
    logits = np.array([[big, -big], [-big, big]], dtype=dtype)
    one_hot = np.eye(2, dtype=dtype)
    loss = CrossEntropyLoss()
    with np.errstate(all="raise"):
        value = loss(logits, one_hot)
    assert value == 0.0
    np.testing.assert_array_equal(loss.grad, np.zeros((2, 2), dtype))


def test_float32_loss_is_summed_in_float64() -> None:
    """Over 30000 samples the loss is the float64 sum of the float32 terms -log p[label]."""
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(30_000, 3)).astype(np.float32)
    labels = rng.integers(0, 3, size=30_000)
    terms = log_softmax(logits, axis=1)[np.arange(30_000), labels]
    exact = -math.fsum(terms.astype(np.float64))
    assert abs(-float(np.sum(terms, dtype=np.float32)) - exact) > 1e-9 * abs(exact)
    assert CrossEntropyLoss()(logits, labels) == pytest.approx(exact, rel=1e-12)
