"""API tests of ``nplearn.losses`` (MSE, CrossEntropyLoss) and ``nplearn.to_one_hot``.

Contract pinned here: ``loss(pred, true)`` returns a Python float and sets ``loss.grad``
(shape and dtype of ``pred``). ``MSE`` is the post's ``0.5*sum((p-t)**2)/batch`` with gradient
``(p-t)/batch``. ``CrossEntropyLoss`` takes logits and one-hot rows or integer labels (same value
and gradient either way); ``reduction="sum"`` (default) gives ``-sum(y*log softmax)`` and
``softmax - y``, ``"mean"`` divides both by the batch. ``to_one_hot`` encodes labels like
the post's. Expected values come from hand formulas; bad inputs raise ValueError giving both shapes.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from nplearn import MSE, CrossEntropyLoss, to_one_hot

# softmax of the rows is [1, 2, 3]/6 and [4, 1, 1]/6; with labels [2, 0] the summed
# cross-entropy is -ln(3/6) - ln(4/6) = ln 3 and the gradient is p - y.
LOGITS = np.log(np.array([[1.0, 2.0, 3.0], [4.0, 1.0, 1.0]]))
LABELS = np.array([2, 0])
CE_SUM = np.log(3.0)
CE_GRAD = np.array([[1 / 6, 2 / 6, 3 / 6 - 1], [4 / 6 - 1, 1 / 6, 1 / 6]])


def random_logits(dtype: type, batch: int = 5, classes: int = 4) -> np.ndarray:
    """Seeded logits of the given dtype."""
    return np.random.default_rng(0).normal(0.0, 3.0, (batch, classes)).astype(dtype)


def test_mse_value_and_grad_hand_values() -> None:
    """MSE is 0.5 * sum((p - t)^2) / batch = 3.5 here, gradient (p - t) / batch."""
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    true = np.array([[0.0, 2.0], [5.0, 1.0]])
    loss = MSE()
    value = loss(pred, true)
    assert type(value) is float and value == 3.5
    np.testing.assert_array_equal(loss.grad, [[0.5, 0.0], [-1.0, 1.5]])


def test_mse_float32_grad_with_float64_targets() -> None:
    """MSE's gradient keeps float32 predictions' dtype even with float64 one-hot targets."""
    pred = random_logits(np.float32)
    true = to_one_hot(np.array([0, 1, 2, 3, 0]), 4, dtype=np.float64)
    loss = MSE()
    value = loss(pred, true)
    assert loss.grad.dtype == np.float32 and loss.grad.shape == pred.shape
    expected = 0.5 * np.sum((pred.astype(np.float64) - true) ** 2) / 5
    np.testing.assert_allclose(value, expected, rtol=1e-6)


@pytest.mark.parametrize("targets", ["labels", "one-hot"])
def test_cross_entropy_hand_values(targets: str) -> None:
    """Summed CE of the hand logits is ln 3 and its gradient is softmax - one_hot."""
    true = LABELS if targets == "labels" else to_one_hot(LABELS, 3, dtype=np.float64)
    loss = CrossEntropyLoss()
    value = loss(LOGITS, true)
    assert type(value) is float
    np.testing.assert_allclose(value, CE_SUM, rtol=1e-12)
    np.testing.assert_allclose(loss.grad, CE_GRAD, rtol=1e-12, atol=1e-15)


def test_cross_entropy_soft_targets() -> None:
    """Probability rows as targets give -sum(y * log p) and gradient p - y."""
    true = np.array([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]])
    p = np.array([[1, 2, 3], [4, 1, 1]]) / 6
    loss = CrossEntropyLoss()
    expected = 0.5 * np.log(6.0) + 0.5 * np.log(3.0) + np.log(6.0)  # row 0, then row 1
    np.testing.assert_allclose(loss(LOGITS, true), expected, rtol=1e-12)
    np.testing.assert_allclose(loss.grad, p - true, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_mean_is_sum_over_batch(dtype: type) -> None:
    """reduction="mean" gives the summed value and gradient divided by the batch size."""
    logits, labels = random_logits(dtype), np.array([3, 0, 1, 1, 2])
    summed, mean = CrossEntropyLoss(), CrossEntropyLoss(reduction="mean")
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(mean(logits, labels), summed(logits, labels) / 5, rtol=rtol)
    np.testing.assert_allclose(mean.grad, summed.grad / 5, rtol=rtol)
    assert CrossEntropyLoss().reduction == "sum"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_cross_entropy_labels_equal_one_hot(dtype: type, reduction: str) -> None:
    """Integer labels (any int dtype) and one-hot rows give the same value and gradient."""
    logits, labels = random_logits(dtype), np.array([3, 0, 1, 1, 2])
    ref = CrossEntropyLoss(reduction)
    ref_value = ref(logits, to_one_hot(labels, 4, dtype=np.float64))
    assert ref.grad.dtype == dtype  # float64 one-hot targets do not promote the gradient
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    for label_dtype in (np.int64, np.int32, np.uint8):
        loss = CrossEntropyLoss(reduction)
        np.testing.assert_allclose(loss(logits, labels.astype(label_dtype)), ref_value, rtol=rtol)
        assert loss.grad.dtype == dtype
        np.testing.assert_allclose(loss.grad, ref.grad, rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("layout", ["fortran", "strided"])
@pytest.mark.parametrize("targets", ["labels", "one-hot"])
def test_cross_entropy_ignores_memory_layout(layout: str, targets: str) -> None:
    """Fortran-ordered or strided logits give the value and gradient of C-ordered ones.

    (The gradient's ``-1`` at each label is written through a flat view; on a Fortran-ordered
    gradient that view would be a copy and the ``-1`` would be lost.)
    """
    logits, labels = random_logits(np.float64), np.array([3, 0, 1, 1, 2])
    true = labels if targets == "labels" else to_one_hot(labels, 4, dtype=np.float64)
    if layout == "fortran":
        other = np.asfortranarray(logits)
    else:
        other = np.repeat(logits, 2, axis=1)[:, ::2]
    assert not other.flags.c_contiguous and np.array_equal(other, logits)
    ref, loss = CrossEntropyLoss(), CrossEntropyLoss()
    np.testing.assert_allclose(loss(other, true), ref(logits, true), rtol=1e-12)
    np.testing.assert_allclose(loss.grad, ref.grad, rtol=1e-12, atol=1e-15)


def test_loss_post_halves_and_backward() -> None:
    """loss_fn/grad_fn (the post's API) and backward() agree with __call__."""
    loss = CrossEntropyLoss()
    with pytest.raises(RuntimeError, match="before the loss"):
        loss.backward()
    value = loss(LOGITS, LABELS)
    assert loss.loss_fn(LOGITS, LABELS) == value
    np.testing.assert_array_equal(loss.grad_fn(LOGITS, LABELS), loss.grad)
    assert loss.backward() is loss.grad


def test_to_one_hot_hand_values() -> None:
    """to_one_hot puts one 1 per row at the label; num_classes defaults to max + 1 (the post's)."""
    expected = [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    out = to_one_hot(np.array([2, 0, 1]), 4)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(to_one_hot(np.array([2, 0, 1])), np.array(expected)[:, :3])
    assert to_one_hot(np.array([1], dtype=np.uint8), 2, dtype=np.float64).dtype == np.float64


# ------------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("true_shape", [(2, 3), (3, 2), (2,)])
def test_mse_rejects_shape_mismatch(true_shape: tuple[int, ...]) -> None:
    """MSE with targets of another shape raises ValueError giving both shapes."""
    pattern = re.escape("(2, 2)") + ".*" + re.escape(f"{true_shape}")
    with pytest.raises(ValueError, match=pattern):
        MSE()(np.zeros((2, 2)), np.zeros(true_shape))


@pytest.mark.parametrize("loss", [MSE(), CrossEntropyLoss()], ids=repr)
@pytest.mark.parametrize("pred", [np.zeros(3), np.zeros((2, 3), dtype=np.int64)], ids=["1d", "int"])
def test_losses_reject_non_float_or_1d_predictions(loss: MSE, pred: np.ndarray) -> None:
    """Predictions that are not a float (batch, classes) array raise ValueError with the shape."""
    pattern = re.escape(f"got shape {pred.shape} and dtype {pred.dtype}")
    with pytest.raises(ValueError, match=pattern):
        loss(pred, np.zeros(pred.shape))


@pytest.mark.parametrize(
    "true",
    [np.zeros((2, 4)), np.zeros((3, 3)), np.array([0, 1, 2]), np.array([[0], [1]]),
     np.array([0.0, 1.0])],
    ids=["classes", "batch", "label-batch", "column", "float-labels"],
)
def test_cross_entropy_rejects_target_shape(true: np.ndarray) -> None:
    """Targets that are neither (batch, classes) rows nor (batch,) integers name both shapes."""
    pattern = re.escape("logits have shape (2, 3) but targets have shape " + f"{true.shape}")
    with pytest.raises(ValueError, match=pattern):
        CrossEntropyLoss()(np.zeros((2, 3)), true)


@pytest.mark.parametrize("labels", [np.array([0, -1]), np.array([3, 0]), np.array([0, 7])])
def test_cross_entropy_rejects_labels_out_of_range(labels: np.ndarray) -> None:
    """Negative labels or labels >= classes raise ValueError with the range and logits shape."""
    pattern = re.escape("labels must lie in [0, 3) for logits of shape (2, 3)")
    with pytest.raises(ValueError, match=pattern):
        CrossEntropyLoss()(np.zeros((2, 3)), labels)


def test_cross_entropy_rejects_unknown_reduction() -> None:
    """An unknown reduction raises ValueError naming it."""
    with pytest.raises(ValueError, match="unknown reduction 'none'"):
        CrossEntropyLoss(reduction="none")


@pytest.mark.parametrize(
    ("labels", "num_classes", "message"),
    [
        (np.array([0, 3]), 3, "labels must lie in [0, 3), got min 0 and max 3"),
        (np.array([-1, 1]), None, "labels must lie in [0, 2), got min -1 and max 1"),
        (np.array([0.0, 1.0]), None, "got shape (2,) and dtype float64"),
        (np.zeros((2, 2), dtype=int), None, "got shape (2, 2) and dtype int64"),
    ],
    ids=["too-large", "negative", "float", "2d"],
)
def test_to_one_hot_rejects_bad_labels(
    labels: np.ndarray, num_classes: int | None, message: str
) -> None:
    """Out-of-range, non-integer or 2-D labels raise ValueError saying what is wrong."""
    with pytest.raises(ValueError, match=re.escape(message)):
        to_one_hot(labels, num_classes)


def test_cross_entropy_accepts_label_list() -> None:
    """A Python list of labels is treated as the integer array it spells."""
    loss = CrossEntropyLoss()
    np.testing.assert_allclose(loss(LOGITS, LABELS.tolist()), CE_SUM, rtol=1e-12)
