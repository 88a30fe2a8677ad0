"""API tests of ``nplearn.training``: batches, train_step, predict, evaluate, fit and History.

Contract pinned here: ``batches`` yields consecutive mini-batches (last one partial unless
``drop_last``), shuffled only by an explicit seeded Generator; ``train_step`` is forward, loss,
backward, step and returns the loss before the update; ``evaluate`` reports the accuracy
scikit-learn computes (the oracle here; the library computes it with numpy) and the loss per
sample, the same at any batch size for either reduction; ``fit`` is the same as stepping by hand,
records one History row per epoch with the documented keys, prints nothing with
``progress=False``, stops when the callback says so, and is reproducible for a given shuffling
seed. Importing ``nplearn.training`` loads neither scikit-learn nor pandas. Bad inputs raise
ValueError giving both shapes (bad numbers: ``test_faults.py``).
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from nplearn import MSE, SGD, CrossEntropyLoss, Linear, Loss, Network, Sigmoid, to_one_hot
from nplearn.training import History, batches, evaluate, fit, predict, train_step

RNG = np.random.default_rng(0)
X = RNG.normal(size=(53, 6)).astype(np.float32)
Y = RNG.integers(0, 3, size=53)
KEYS = {"epoch", "loss", "accuracy", "train_time", "wall_time"}


def make_net(seed: int = 0) -> Network:
    """Linear(6, 8) -> Sigmoid -> Linear(8, 3), seeded."""
    return Network([Linear(6, 8, rng=seed), Sigmoid(), Linear(8, 3, rng=seed + 1)])


def params_of(net: Network) -> dict[str, np.ndarray]:
    """A copy of every parameter, by name."""
    return net.state_dict()


def quiet_fit(net: Network, **kwargs: object) -> History:
    """fit on (X, Y) with CE and SGD(0.1), no progress bar; kwargs override."""
    options: dict = {"epochs": 2, "batch_size": 10, "progress": False, **kwargs}
    return fit(net, CrossEntropyLoss(), SGD(0.1), X, Y, **options)


def test_batches_in_order_with_partial_last() -> None:
    """Unshuffled batches are consecutive slices; the last one holds the n % size leftovers."""
    sizes = [len(range(53)[idx]) for idx in batches(53, 10)]
    assert sizes == [10, 10, 10, 10, 10, 3]
    assert np.concatenate([np.arange(53)[idx] for idx in batches(53, 10)]).tolist() == list(
        range(53)
    )


def test_batches_drop_last() -> None:
    """drop_last skips an incomplete final batch and keeps a complete one."""
    assert [len(range(53)[i]) for i in batches(53, 10, drop_last=True)] == [10] * 5
    assert [len(range(50)[i]) for i in batches(50, 10, drop_last=True)] == [10] * 5


def test_batches_shuffle_is_a_seeded_permutation() -> None:
    """Shuffled batches cover every index once; same seed same order, other seed other order."""

    def order(seed: int) -> list[int]:
        rng = np.random.default_rng(seed)
        return np.concatenate(list(batches(53, 10, shuffle=True, rng=rng))).tolist()

    assert sorted(order(1)) == list(range(53))
    assert order(1) == order(1) and order(1) != order(2)
    assert order(1) != list(range(53))


def test_train_step_is_forward_loss_backward_step() -> None:
    """train_step returns the pre-update loss and leaves the net as a hand-written step does."""
    net, by_hand = make_net(), make_net()
    loss, optimizer = CrossEntropyLoss(), SGD(0.1, l2=1e-3)
    expected_value = loss(by_hand(X[:10]), Y[:10])
    by_hand.backward(loss.grad)
    optimizer.step(by_hand)
    value = train_step(net, CrossEntropyLoss(), SGD(0.1, l2=1e-3), X[:10], Y[:10])
    assert value == expected_value
    for name, param in params_of(by_hand).items():
        np.testing.assert_array_equal(params_of(net)[name], param)


def test_predict_matches_forward() -> None:
    """predict in batches (size not dividing n) equals one forward pass."""
    net = make_net()
    np.testing.assert_allclose(predict(net, X, batch_size=7), net(X), rtol=1e-6)


@pytest.mark.parametrize("targets", ["labels", "one-hot"])
def test_evaluate_uses_sklearn_accuracy(targets: str) -> None:
    """evaluate's accuracy is sklearn's accuracy_score; its loss is the summed loss / n."""
    net = make_net()
    y = Y if targets == "labels" else to_one_hot(Y, 3)
    result = evaluate(net, CrossEntropyLoss(), X, y, batch_size=20)
    assert result["accuracy"] == accuracy_score(Y, net(X).argmax(axis=1))
    loss = CrossEntropyLoss()
    expected = sum(loss(net(X[i : i + 20]), Y[i : i + 20]) for i in (0, 20, 40)) / len(X)
    np.testing.assert_allclose(result["loss"], expected, rtol=1e-6)


@pytest.mark.parametrize(
    "loss", [CrossEntropyLoss("sum"), CrossEntropyLoss("mean"), MSE()], ids=repr
)
def test_evaluate_loss_is_per_sample_at_any_batch_size(loss: Loss) -> None:
    """The loss is the same at batch sizes 100, 1000 and 10000: the per-sample mean."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10000, 6)).astype(np.float32)
    labels = rng.integers(0, 3, size=10000)
    y = to_one_hot(labels, 3) if isinstance(loss, MSE) else labels
    net = make_net()
    values = [evaluate(net, loss, x, y, batch_size=b)["loss"] for b in (100, 1000, 10000)]
    np.testing.assert_allclose(values, values[-1], rtol=1e-5)
    whole = loss(net(x), y)  # one batch of all samples
    expected = whole / len(x) if getattr(loss, "reduction", "mean") == "sum" else whole
    np.testing.assert_allclose(values[-1], expected, rtol=1e-6)


def test_fit_equals_stepping_by_hand() -> None:
    """fit without shuffling leaves exactly the parameters of train_step over the batches."""
    net, by_hand = make_net(), make_net()
    loss, optimizer = CrossEntropyLoss(), SGD(0.1)
    values = [[train_step(by_hand, loss, optimizer, X[i], Y[i]) for i in batches(53, 10)]
              for _ in range(2)]
    history = quiet_fit(net)
    for name, param in params_of(by_hand).items():
        np.testing.assert_array_equal(params_of(net)[name], param)
    np.testing.assert_allclose(history["loss"], np.sum(values, axis=1) / len(X), rtol=1e-6)


def test_training_imports_neither_sklearn_nor_pandas() -> None:
    """``import nplearn.training`` (and ``nplearn.data``) loads no scikit-learn and no pandas."""
    code = (
        "import sys, nplearn.training, nplearn.data; "
        "print(sorted(m for m in ('sklearn', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_fit_history_keys_and_lengths() -> None:
    """History has one row per epoch with the documented keys; val keys only with val data."""
    history = quiet_fit(make_net(), epochs=3)
    assert len(history) == 3 and history["epoch"] == [1, 2, 3]
    assert all(set(record) == KEYS for record in history.records)
    assert all(0.0 <= a <= 1.0 for a in history["accuracy"])
    times = history["wall_time"]
    assert times == sorted(times)
    assert all(t <= w for t, w in zip(history["train_time"], times, strict=True))
    validated = quiet_fit(make_net(), epochs=2, validation_data=(X[:20], Y[:20]))
    assert all(set(r) == KEYS | {"val_loss", "val_accuracy"} for r in validated.records)
    frame = validated.to_frame()
    assert frame.shape[0] == 2 and set(frame.columns) == KEYS | {"val_loss", "val_accuracy"}
    net = make_net(5)
    last = quiet_fit(net, epochs=1, validation_data=(X[:20], Y[:20])).records[-1]
    assert last["val_accuracy"] == accuracy_score(Y[:20], net(X[:20]).argmax(axis=1))


def test_fit_progress_bar_can_be_turned_off(capsys: pytest.CaptureFixture[str]) -> None:
    """progress=False prints nothing; progress=True does draw a bar (so the check can fail)."""
    quiet_fit(make_net())
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    quiet_fit(make_net(), progress=True)
    captured = capsys.readouterr()
    assert "epoch" in captured.out + captured.err


def test_fit_callback_stops_training() -> None:
    """A callback returning True stops after that epoch; it receives the record and the net."""
    seen: list[tuple[int, Network]] = []
    net = make_net()

    def stop_at_two(record: dict[str, float], model: Network) -> bool:
        seen.append((int(record["epoch"]), model))
        return record["epoch"] == 2

    history = quiet_fit(net, epochs=5, callback=stop_at_two)
    assert len(history) == 2 and [epoch for epoch, _ in seen] == [1, 2]
    assert all(model is net for _, model in seen)


def test_fit_shuffle_is_reproducible() -> None:
    """Shuffled fits with the same seed agree bitwise; another seed gives other parameters."""

    def trained(seed: int) -> dict[str, np.ndarray]:
        net = make_net()
        quiet_fit(net, shuffle=True, rng=np.random.default_rng(seed))
        return params_of(net)

    first, again, other = trained(7), trained(7), trained(8)
    for name, param in first.items():
        np.testing.assert_array_equal(again[name], param)
    assert not np.array_equal(other["0.W"], first["0.W"])


# ------------------------------------------------------------------------------- bad inputs


def test_fit_rejects_length_mismatch() -> None:
    """fit with x and y of different lengths raises ValueError giving both shapes."""
    pattern = re.escape("x has shape (53, 6) but y has shape (50,)")
    with pytest.raises(ValueError, match=pattern):
        fit(make_net(), CrossEntropyLoss(), SGD(0.1), X, Y[:50], epochs=1, progress=False)


def test_fit_and_evaluate_reject_empty_data() -> None:
    """No samples: ValueError naming the caller and the shape, not a division by zero."""
    with pytest.raises(ValueError, match=re.escape("fit: x has shape (0, 6): no samples")):
        fit(make_net(), CrossEntropyLoss(), SGD(0.1), X[:0], Y[:0], epochs=1, progress=False)
    with pytest.raises(ValueError, match=re.escape("evaluate: x has shape (0, 6): no samples")):
        evaluate(make_net(), CrossEntropyLoss(), X[:0], Y[:0])


def test_shuffle_without_rng_and_bad_batch_size() -> None:
    """shuffle=True without a Generator, or batch_size < 1, raises ValueError saying so."""
    message = re.escape("shuffle=True needs an explicit numpy.random.Generator rng")
    with pytest.raises(ValueError, match=message):
        list(batches(10, 3, shuffle=True))
    with pytest.raises(ValueError, match=message):
        quiet_fit(make_net(), shuffle=True)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        list(batches(10, 0))


@pytest.mark.parametrize("n_labels", [12, 8])
def test_evaluate_rejects_length_mismatch(n_labels: int) -> None:
    """evaluate with x and y of different lengths raises ValueError giving both shapes."""
    pattern = re.escape("(10, 6)") + ".*" + re.escape(f"({n_labels},)")
    with pytest.raises(ValueError, match=pattern):
        evaluate(make_net(), CrossEntropyLoss(), X[:10], Y[:n_labels])


def test_fit_rejects_validation_mismatch_before_training() -> None:
    """Mismatched validation_data raises ValueError with both shapes before any update."""
    net = make_net()
    before = params_of(net)
    with pytest.raises(ValueError, match=re.escape("(10, 6)") + ".*" + re.escape("(12,)")):
        quiet_fit(net, validation_data=(X[:10], Y[:12]))
    for name, param in params_of(net).items():
        np.testing.assert_array_equal(param, before[name])


def test_a_healthy_fit_warns_nothing() -> None:
    """The non-finite guards add no warning to a healthy run."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet_fit(make_net(), validation_data=(X[:20], Y[:20]))
