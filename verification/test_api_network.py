"""API tests of ``nplearn.Network``: forward/backward composition, parameters, save/load.

Contract pinned here: ``Network(layers)`` runs layers in order on ``forward``/``__call__`` and in
reverse on ``backward`` (returning None, or ``dL/dx`` with ``input_grad=True``); its
``__repr__`` is the layers' reprs, one a line; ``named_parameters()`` yields ``("<i>.<key>",
param, grad)`` with the live arrays; ``state_dict`` copies them; ``save``/``load`` round-trip them
bitwise through a pickle-free ``.npz``; a file of another architecture, a corrupted or a missing
file raises ValueError naming the file (more faults in ``test_faults.py``). Expected values are the
layer formulas composed by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from nplearn import Linear, Network, ReLU, Sigmoid

X = np.random.default_rng(0).normal(size=(4, 3))


def small_net(seed: int = 0, dtype: type = np.float64) -> Network:
    """Linear(3, 5) -> ReLU -> Linear(5, 2) with seeded weights."""
    first, last = Linear(3, 5, dtype=dtype, rng=seed), Linear(5, 2, dtype=dtype, rng=seed + 1)
    return Network([first, ReLU(), last])


def test_forward_composes_layers() -> None:
    """net(x) and net.forward(x) equal relu(x @ W0 + b0) @ W2 + b2 computed by hand."""
    net = small_net()
    w0, b0, w2, b2 = net[0].W, net[0].b, net[2].W, net[2].b
    expected = np.maximum(X @ w0 + b0, 0) @ w2 + b2
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-12)
    np.testing.assert_array_equal(net(X), net.forward(X))


def test_backward_chains_layers_in_reverse() -> None:
    """backward(input_grad=True) returns the hand-chained dL/dx; by default it returns None.

    Both fill every layer's grads with the same values.
    """
    net = small_net()
    w0, b0, w2 = net[0].W, net[0].b, net[2].W
    g = np.random.default_rng(1).normal(size=(4, 2))
    hidden_in = X @ w0 + b0
    hidden = np.maximum(hidden_in, 0)
    g_hidden = (g @ w2.T) * (hidden_in > 0)
    net(X)
    np.testing.assert_allclose(net.backward(g, input_grad=True), g_hidden @ w0.T, rtol=1e-12)
    np.testing.assert_allclose(net[2].grads["W"], hidden.T @ g, rtol=1e-12)
    np.testing.assert_allclose(net[2].grads["b"], g.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(net[0].grads["W"], X.T @ g_hidden, rtol=1e-12)
    np.testing.assert_allclose(net[0].grads["b"], g_hidden.sum(axis=0), rtol=1e-12)
    grads = {name: grad.copy() for name, _, grad in net.named_parameters()}
    net(X)
    assert net.backward(g) is None
    for name, _, grad in net.named_parameters():
        np.testing.assert_array_equal(grad, grads[name])


def test_repr_len_indexing_iteration() -> None:
    """repr lists the layers one a line; len, [i] and iteration give the layers."""
    layers = [Linear(3, 4, rng=0), Sigmoid(), Linear(4, 2, rng=1)]
    net = Network(layers)
    assert repr(net) == "Linear(3, 4, dtype=float32)\nSigmoid()\nLinear(4, 2, dtype=float32)"
    assert len(net) == 3 and net[1] is layers[1] and list(net) == layers
    assert net.layers is not layers  # the network keeps its own list, like the post's layers[:]


def test_named_parameters_are_live_arrays() -> None:
    """named_parameters yields '<layer>.<key>' names with the layers' own param/grad arrays."""
    net = small_net()
    rows = list(net.named_parameters())
    assert [name for name, _, _ in rows] == ["0.W", "0.b", "2.W", "2.b"]
    for name, param, grad in rows:
        layer, key = net[int(name[0])], name[2:]
        assert param is layer.params[key] and grad is layer.grads[key]
    assert [id(p) for p in net.parameters()] == [id(param) for _, param, _ in rows]


def test_state_dict_copies_and_load_state_dict() -> None:
    """state_dict returns copies; load_state_dict writes values into the live arrays."""
    net, other = small_net(0), small_net(10)
    state = net.state_dict()
    state["0.W"] += 1.0
    assert not np.array_equal(state["0.W"], net[0].W)
    live = other[0].W
    other.load_state_dict(state)
    assert other[0].W is live
    np.testing.assert_array_equal(other[0].W, state["0.W"])
    np.testing.assert_array_equal(other[2].b, net[2].b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_round_trip_is_bitwise(tmp_path: Path, dtype: type) -> None:
    """save then load into a differently seeded net restores every array bitwise, same dtype."""
    net, other = small_net(0, dtype), small_net(10, dtype)
    path = tmp_path / "net.npz"
    net.save(path)
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["0.W", "0.b", "2.W", "2.b"]
    other.load(path)
    for (_, a, _), (_, b, _) in zip(net.named_parameters(), other.named_parameters(), strict=True):
        assert b.dtype == dtype and a.tobytes() == b.tobytes()
    np.testing.assert_array_equal(other(X), net(X))


# ------------------------------------------------------------------------------- bad inputs


def test_load_state_dict_rejects_mismatch() -> None:
    """Missing/unexpected names and wrong shapes raise ValueError saying which."""
    net = small_net()
    with pytest.raises(
        ValueError, match=re.escape("missing parameters ['2.W']; unexpected parameters ['9.W']")
    ):
        net.load_state_dict({**{k: v for k, v in net.state_dict().items() if k != "2.W"},
                             "9.W": np.zeros(1)})
    bad = {**net.state_dict(), "0.W": np.zeros((5, 3))}
    with pytest.raises(ValueError, match=re.escape("0.W: saved shape (5, 3)") + ".*"
                       + re.escape("shape (3, 5)")):
        net.load_state_dict(bad)


def test_load_wrong_architecture_names_file(tmp_path: Path) -> None:
    """Loading a file saved by another architecture raises ValueError naming file and shapes."""
    path = tmp_path / "wide.npz"
    Network([Linear(3, 7, rng=0), ReLU(), Linear(7, 2, rng=1)]).save(path)
    net = small_net()
    before = net.state_dict()
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + re.escape("(3, 7)")):
        net.load(path)
    for name, param, _ in net.named_parameters():  # nothing half-loaded
        np.testing.assert_array_equal(param, before[name])


def _corrupt(kind: str, tmp_path: Path) -> Path:
    """Write a bad parameter file of the given kind and return its path."""
    good = tmp_path / "good.npz"
    small_net().save(good)
    data = good.read_bytes()
    path = tmp_path / f"{kind}.npz"
    if kind == "text":
        path.write_text("not an npz file\n")
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "flipped-byte":  # a byte inside 0.W's array data: the zip CRC no longer matches
        offset = data.index(b"0.W.npy") + 200
        path.write_bytes(data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :])
    elif kind == "npy":
        np.save(path.with_suffix(".npy"), np.zeros(3))
        path = path.with_suffix(".npy")
    return path  # "missing": never written


@pytest.mark.parametrize(
    "kind",
    [
        "text",
        "missing",
        "truncated",
        "flipped-byte",
        "npy",
    ],
)
def test_load_corrupted_file_names_file(tmp_path: Path, kind: str) -> None:
    """A non-npz, truncated, bit-flipped or missing file raises ValueError naming the file."""
    path = _corrupt(kind, tmp_path)
    with pytest.raises(ValueError, match=re.escape(str(path))):
        small_net().load(path)


def test_forward_rejects_mismatched_layers() -> None:
    """Chained layers that do not fit raise ValueError giving the expected and actual shapes."""
    net = Network([Linear(3, 4, rng=0), ReLU(), Linear(5, 2, rng=1)])
    with pytest.raises(ValueError, match=re.escape("(batch, 5)") + ".*" + re.escape("(4, 4)")):
        net(X)


def test_backward_before_forward_and_wrong_grad() -> None:
    """backward before forward is a RuntimeError; a grad of the wrong batch names both shapes."""
    net = small_net()
    with pytest.raises(RuntimeError, match=re.escape("backward() called before forward()")):
        net.backward(np.ones((4, 2)))
    net(X)
    with pytest.raises(ValueError, match=re.escape("(3, 2)") + ".*" + re.escape("(4, 2)")):
        net.backward(np.ones((3, 2)))


def test_network_rejects_layer_class() -> None:
    """A layer class instead of an instance, or a non-layer, raises TypeError at construction."""
    with pytest.raises(TypeError, match=re.escape("layer 1 is the class ReLU") + ".*ReLU()"):
        Network([Linear(3, 4, rng=0), ReLU, Linear(4, 2, rng=1)])
    with pytest.raises(TypeError, match=r"layer 0 is <object object .*no backward method"):
        Network([object()])
