"""Faults lose nothing: model files and training on bad numbers.

Contract pinned here, with simulated faults (a child process killed mid-save, writes that raise):

- ``Network.save`` replaces its file atomically: a failed, interrupted or killed save leaves the
  previous file loadable and intact.
- ``Network.load`` is all or nothing: a missing or an extra key, a wrong shape, or an array that is
  not floating (complex, bool, integer, datetime, string, pickled objects) raises ValueError naming
  the parameter and the file, never suggests ``allow_pickle``, never unpickles, and leaves the
  network unchanged.
- ``fit`` and ``evaluate`` check their data once before any step: NaN or inf in ``x`` (count and
  first index), labels anywhere in the data set. A non-finite loss stops training naming the epoch
  and batch (``FloatingPointError``, or a warning with ``on_nonfinite="warn"``), and the network
  keeps finite weights: those from before the bad step, or from the start of the epoch when an
  update itself overflowed.
Temporary files and downloads: ``test_faults_files.py``.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nplearn import SGD, CrossEntropyLoss, Linear, Network, ReLU
from nplearn.training import evaluate, fit
from verification.datafakes import leftovers

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 4)).astype(np.float32)
Y = RNG.integers(0, 3, size=40)


def small_net(seed: int = 0) -> Network:
    """Linear(4, 6) -> ReLU -> Linear(6, 3), float64, seeded."""
    hidden = Linear(4, 6, dtype=np.float64, rng=seed)
    return Network([hidden, ReLU(), Linear(6, 3, dtype=np.float64, rng=seed + 1)])


def assert_same_params(net: Network, state: dict[str, np.ndarray]) -> None:
    for name, param, _ in net.named_parameters():
        np.testing.assert_array_equal(param, state[name], err_msg=name)


# ------------------------------------------------------------------------------ Network.save


SAVE_IN_CHILD = """
import sys, time
import numpy as np
from nplearn import Linear, Network

def stalled_savez(file, **arrays):
    file.write(b"PK\\x03\\x04 half an archive")
    file.flush()
    print("writing", flush=True)
    time.sleep(60)

np.savez = stalled_savez
Network([Linear(4, 6, rng=5)]).save(sys.argv[1])
"""


def test_save_killed_mid_write_keeps_the_old_file(tmp_path: Path) -> None:
    """SIGKILL while a child process writes the new file: the old file still loads, unchanged."""
    path = tmp_path / "model.npz"
    net = Network([Linear(4, 6, rng=0)])
    net.save(path)
    old = path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", SAVE_IN_CHILD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "writing\n"
        assert len(leftovers(tmp_path)) == 2  # the new file is being written beside the old one
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == old
    restored = Network([Linear(4, 6, rng=9)])
    restored.load(path)
    assert_same_params(restored, net.state_dict())


@pytest.mark.parametrize("fault", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_save_that_fails_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: BaseException
) -> None:
    """A write that raises mid-save (full disk, Ctrl-C): old file intact, no temporary file."""
    path = tmp_path / "model.npz"
    small_net().save(path)
    old = path.read_bytes()

    def failing_savez(file: Any, **arrays: np.ndarray) -> None:
        file.write(b"PK\x03\x04 part")
        raise fault

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(type(fault)):
        small_net(3).save(path)
    assert path.read_bytes() == old and leftovers(tmp_path) == [path]


# ------------------------------------------------------------------------------ Network.load


class Unpickled:
    """Unpickling this object creates the file ``marker``: evidence that a file was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return Path.touch, (self.marker,)


def bad_values(tmp_path: Path) -> dict[str, np.ndarray]:
    """One array per refused dtype kind, each of the shape of ``2.W`` (6, 3)."""
    shape = (6, 3)
    objects = np.empty(shape, dtype=object)
    objects[...] = Unpickled(tmp_path / "unpickled")
    return {
        "complex": np.ones(shape, np.complex128),
        "bool": np.ones(shape, bool),
        "integer": np.ones(shape, np.int64),
        "datetime": np.full(shape, np.datetime64("2020-06-14")),
        "string": np.full(shape, "0.5"),
        "object": objects,
    }


@pytest.mark.parametrize("kind", ["complex", "bool", "integer", "datetime", "string", "object"])
def test_load_refuses_non_floating_arrays(tmp_path: Path, kind: str) -> None:
    """A non-floating array in the last parameter: ValueError naming it, nothing loaded."""
    state = small_net(7).state_dict()
    state["2.W"] = bad_values(tmp_path)[kind]
    path = tmp_path / f"{kind}.npz"
    np.savez(path, **state)  # numpy pickles the object array
    net = small_net()
    before = net.state_dict()
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*2.W") as info:
        net.load(path)
    assert "allow_pickle" not in str(info.value)
    assert_same_params(net, before)  # 0.W and 0.b were not overwritten either
    assert not (tmp_path / "unpickled").exists()  # read with allow_pickle=False


def test_load_refuses_a_pickled_npy_without_suggesting_allow_pickle(tmp_path: Path) -> None:
    """A lone .npy of objects: a clear refusal naming the file; nothing unpickled."""
    path = tmp_path / "objects.npy"
    np.save(path, bad_values(tmp_path)["object"], allow_pickle=True)
    with pytest.raises(ValueError, match=re.escape(f"{path}: not a readable .npz")) as info:
        small_net().load(path)
    assert "allow_pickle" not in str(info.value) and "Python objects" in str(info.value)
    assert not (tmp_path / "unpickled").exists()


@pytest.mark.parametrize("change", ["missing", "extra", "shape"])
def test_load_refuses_a_single_mismatch(tmp_path: Path, change: str) -> None:
    """A missing key alone, an extra key alone or one wrong shape each give a clear error."""
    state = small_net(7).state_dict()
    expected = {
        "missing": re.escape("missing parameters ['2.b']"),
        "extra": re.escape("unexpected parameters ['3.W']"),
        "shape": re.escape("parameter 2.b: saved shape (4,) differs from the network's shape (3,)"),
    }[change]
    if change == "missing":
        del state["2.b"]
    elif change == "extra":
        state["3.W"] = np.zeros((3, 3))
    else:
        state["2.b"] = np.zeros(4)
    path = tmp_path / "state.npz"
    np.savez(path, **state)
    net = small_net()
    before = net.state_dict()
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + expected) as info:
        net.load(path)
    assert change == "extra" or "unexpected" not in str(info.value)
    assert change == "missing" or "missing" not in str(info.value)
    assert_same_params(net, before)


# ---------------------------------------------------------------------------- bad numbers


@pytest.mark.parametrize("where", ["x", "validation x"])
def test_fit_refuses_non_finite_inputs_before_training(where: str) -> None:
    """NaN and inf in x: ValueError with their count and first index; no step taken."""
    bad = X.copy()
    bad[17, 2], bad[30, 0], bad[31, 3] = np.nan, np.inf, -np.inf
    net = small_net()
    before = net.state_dict()
    train, val = (bad, X) if where == "x" else (X, bad)
    message = re.escape("holds 3 NaN or inf value(s); the first at index (17, 2)")
    with pytest.raises(ValueError, match=message):
        fit(net, CrossEntropyLoss(), SGD(0.1), train, Y, epochs=1, progress=False,
            validation_data=(val, Y))
    with pytest.raises(ValueError, match=re.escape("evaluate: x holds 3 NaN or inf")):
        evaluate(net, CrossEntropyLoss(), bad, Y)
    assert_same_params(net, before)


@pytest.mark.parametrize("label", [3, -1])
def test_a_bad_label_in_the_last_batch_is_caught_before_the_first_step(label: int) -> None:
    """Labels are validated for the whole data set before any update."""
    y = Y.copy()
    y[-1] = label
    net = small_net()
    before = net.state_dict()
    with pytest.raises(ValueError, match=re.escape(f"y[39] is {label}")):
        fit(net, CrossEntropyLoss(), SGD(0.1), X, y, epochs=1, batch_size=10, progress=False)
    assert_same_params(net, before)


def diverging_fit(net: Network, **kwargs: Any) -> Any:
    """fit with a learning rate that overflows the logits within a few steps."""
    return fit(net, CrossEntropyLoss(), SGD(1e30), X * 1e5, Y, epochs=3, batch_size=10,
               progress=False, **kwargs)


def steps_until_non_finite(net: Network) -> tuple[int, dict[str, np.ndarray]]:
    """Replay ``diverging_fit`` by hand: the 1-based step whose loss is non-finite, and the
    parameters just before it."""
    loss, optimizer, step = CrossEntropyLoss(), SGD(1e30), 0
    for _ in range(3):
        for start in range(0, len(X), 10):
            step += 1
            if not np.isfinite(loss(net(X[start : start + 10] * 1e5), Y[start : start + 10])):
                return step, net.state_dict()
            net.backward(loss.grad)
            optimizer.step(net)
    raise AssertionError("the loss stayed finite")


def test_a_non_finite_loss_stops_training_with_the_weights_before_the_bad_step() -> None:
    """lr=1e30: FloatingPointError naming epoch and batch; weights finite, from before that step."""
    with np.errstate(all="ignore"):
        step, expected = steps_until_non_finite(small_net())
    epoch, batch = (step - 1) // 4 + 1, (step - 1) % 4 + 1
    net = small_net()
    with (
        np.errstate(all="ignore"),
        pytest.raises(FloatingPointError, match=f"epoch {epoch}, batch {batch}: loss is (nan|inf)"),
    ):
        diverging_fit(net)
    assert_same_params(net, expected)
    assert all(np.isfinite(param).all() for param in net.parameters())


def test_on_nonfinite_warn_stops_and_returns_the_history() -> None:
    """on_nonfinite="warn": a RuntimeWarning, the completed epochs' history, finite weights."""
    net = small_net()
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="training stopped at epoch"):
        history = diverging_fit(net, on_nonfinite="warn")
    assert len(history) < 3
    assert all(np.isfinite(param).all() for param in net.parameters())
    with pytest.raises(ValueError, match="on_nonfinite must be one of"):
        diverging_fit(net, on_nonfinite="ignore")


class PoisonedSGD(SGD):
    """SGD whose update number ``at`` writes an inf into a weight (an overflowing update)."""

    def __init__(self, at: int) -> None:
        super().__init__(0.01)
        self.at, self.steps = at, 0

    def step(self, net: Network) -> None:
        super().step(net)
        self.steps += 1
        if self.steps == self.at:
            net[0].W[0, 0] = np.inf


@pytest.mark.parametrize("at", [6, 8], ids=["mid-epoch", "last-batch"])
def test_an_overflowing_update_restores_the_start_of_the_epoch(at: int) -> None:
    """Non-finite weights from an update (finite loss) are never handed back."""
    net, reference = small_net(), small_net()
    fit(reference, CrossEntropyLoss(), SGD(0.01), X, Y, epochs=1, batch_size=10, progress=False)
    with (
        np.errstate(all="ignore"),
        pytest.raises(FloatingPointError, match="restored to the start of the epoch"),
    ):
        fit(net, CrossEntropyLoss(), PoisonedSGD(at), X, Y, epochs=2, batch_size=10,
            progress=False)
    assert_same_params(net, reference.state_dict())  # the state after epoch 1 of 4 batches
