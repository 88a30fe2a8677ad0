"""API tests of ``nplearn.flat`` and a network's parameter groups.

Contract pinned here: ``Network(layers)`` moves the parameters of each dtype into one contiguous
array (gradients into another), each starting on a 64-byte cache line, without changing a value; the
layers' dict entries become views of it, in ``named_parameters`` order. An optimizer updates each
group in one call, with exactly (bitwise) the result of updating each tensor on its own. The groups
always hold the live values: an entry replaced in a layer's dict (parameter or gradient), a layer
appended to the network, ``layer.W = array`` (copied in place) are all picked up. Parameters of
mixed dtypes form one group per dtype. Bad layouts raise ValueError naming the shapes.
"""

from __future__ import annotations

import copy
import pickle
import re
from collections.abc import Callable

import numpy as np
import pytest

from nplearn import SGD, Adam, Linear, Network, ReLU
from nplearn.flat import FlatParameters, aligned_empty
from nplearn.functional import Tensor

X = np.random.default_rng(0).normal(size=(6, 4))
Y = np.random.default_rng(1).normal(size=(6, 2))


def make_net(dtype: type = np.float64) -> Network:
    """Linear(4, 3) -> ReLU -> Linear(3, 2), seeded."""
    return Network([Linear(4, 3, dtype=dtype, rng=0), ReLU(), Linear(3, 2, dtype=dtype, rng=1)])


class PerTensor:
    """A network whose every tensor is its own group: optimizers update tensor by tensor."""

    def __init__(self, net: Network) -> None:
        self.net = net

    def parameter_groups(self) -> list[tuple[Tensor, Tensor]]:
        return [(param, grad) for _, param, grad in self.net.named_parameters()]


def only_group(net: Network) -> tuple[Tensor, Tensor]:
    """The single parameter group of a network of one dtype."""
    (group,) = net.parameter_groups()
    return group


def backward(net: Network, dtype: type = np.float64) -> None:
    """Forward X and back-propagate dL/dout = out - Y (MSE-like), filling every gradient."""
    out = net(X.astype(dtype))
    net.backward(out - Y.astype(dtype))


def test_network_gathers_parameters_without_changing_them() -> None:
    """Every entry becomes a view of the flat arrays, in named_parameters order, values kept."""
    layers = [Linear(4, 3, rng=0), ReLU(), Linear(3, 2, rng=1)]
    before = [p.copy() for layer in layers for p in layer.params.values()]
    net = Network(layers)
    params, grads = only_group(net)
    assert params.shape == grads.shape == (4 * 3 + 3 + 3 * 2 + 2,) and params.dtype == np.float32
    assert params.flags.c_contiguous and grads.flags.c_contiguous
    start = 0
    for (_, param, grad), old in zip(net.named_parameters(), before, strict=True):
        np.testing.assert_array_equal(param, old)
        at = start * params.itemsize  # each entry is a view at its offset in the flat arrays
        assert param.ctypes.data == params.ctypes.data + at
        assert grad.ctypes.data == grads.ctypes.data + at
        np.testing.assert_array_equal(params[start : start + param.size], param.ravel())
        start += param.size


OPTIMIZERS: list[Callable[[], object]] = [
    lambda: SGD(0.1),
    lambda: SGD(0.1, l2=1e-2),
    lambda: SGD(0.1, momentum=0.9, weight_decay=1e-3),
    lambda: Adam(1e-2, weight_decay=1e-3),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", OPTIMIZERS, ids=["sgd", "sgd-l2", "sgd-momentum-wd", "adam"])
def test_flat_update_equals_per_tensor_update(make: Callable[[], object], dtype: type) -> None:
    """Three steps over the flat pair give bitwise the parameters of per-tensor steps."""
    flat_net, tensor_net = make_net(dtype), make_net(dtype)
    flat_opt, tensor_opt = make(), make()
    for _ in range(3):
        for net in (flat_net, tensor_net):
            backward(net, dtype)
        flat_opt.step(flat_net)  # type: ignore[attr-defined]
        tensor_opt.step(PerTensor(tensor_net))  # type: ignore[attr-defined]
    assert [s["params"] for s in flat_opt.state.values()] == [only_group(flat_net)[0]]
    assert len(tensor_opt.state) == 4  # type: ignore[attr-defined]
    for (name, a, _), (_, b, _) in zip(
        flat_net.named_parameters(), tensor_net.named_parameters(), strict=True
    ):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_replaced_parameter_entry_is_copied_in() -> None:
    """``layer.params['W'] = new`` is trained from ``new``: copied into the flat array."""
    net, reference = make_net(), make_net()
    new = np.full((4, 3), 0.25)
    net[0].params["W"] = new
    reference[0].W = new
    for each in (net, reference):
        backward(each)
        SGD(0.1).step(each)
    np.testing.assert_array_equal(net[0].W, reference[0].W)
    assert not np.array_equal(net[0].W, new)  # trained
    assert np.shares_memory(net[0].W, only_group(net)[0])


class FreshGradLinear(Linear):
    """A Linear whose backward *assigns* a new gradients dict instead of writing in place."""

    def backward(self, grad: Tensor, *, input_grad: bool = True) -> Tensor | None:
        out = super().backward(grad, input_grad=input_grad)
        self.grads = {key: value.copy() for key, value in self.grads.items()}
        return out


def test_layer_assigning_fresh_gradients_is_trained_correctly() -> None:
    """Gradients stored in new arrays are copied in before each update (three steps)."""
    first = FreshGradLinear(4, 3, dtype=np.float64, rng=0)
    net = Network([first, ReLU(), Linear(3, 2, dtype=np.float64, rng=1)])
    reference = make_net()
    optimizers = {id(net): SGD(0.1, momentum=0.9), id(reference): SGD(0.1, momentum=0.9)}
    for _ in range(3):
        for each in (net, reference):
            backward(each)
            optimizers[id(each)].step(each)
    for (name, a, _), (_, b, _) in zip(
        net.named_parameters(), reference.named_parameters(), strict=True
    ):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_appended_layer_is_gathered_and_trained() -> None:
    """A layer appended to ``net.layers`` joins the flat storage at the next step."""
    net = make_net()
    net.layers += [ReLU(), Linear(2, 2, dtype=np.float64, rng=2)]
    before = net[4].W.copy()
    out = net(X)
    net.backward(np.ones_like(out))
    SGD(0.1).step(net)
    params, _ = only_group(net)
    assert params.shape == (4 * 3 + 3 + 3 * 2 + 2 + 2 * 2 + 2,)
    assert np.shares_memory(net[4].W, params)
    np.testing.assert_allclose(net[4].W, before - 0.1 * net[4].grads["W"], rtol=1e-12)


def test_weight_assignment_copies_in_place() -> None:
    """``layer.W = array`` keeps the parameter array (a view of the flat storage)."""
    net = make_net()
    weight = net[0].W
    new = np.arange(12.0).reshape(4, 3)
    net[0].W = new
    assert net[0].W is weight
    np.testing.assert_array_equal(weight, new)
    new[0, 0] = -1.0  # the caller's array is not aliased
    assert weight[0, 0] == 0.0


def test_mixed_dtypes_form_one_group_per_dtype() -> None:
    """float32 and float64 layers: one group per dtype, in order; both are updated."""
    net = Network([Linear(4, 3, rng=0), ReLU(), Linear(3, 2, dtype=np.float64, rng=1)])
    groups = net.parameter_groups()
    assert [(p.dtype, p.shape, g.shape) for p, g in groups] == [
        (np.float32, (15,), (15,)),
        (np.float64, (8,), (8,)),
    ]
    assert np.shares_memory(net[0].W, groups[0][0]) and np.shares_memory(net[2].b, groups[1][0])
    out = net(X)
    net.backward(np.ones_like(out))
    before = {name: (param.copy(), grad.copy()) for name, param, grad in net.named_parameters()}
    optimizer = SGD(0.5)
    optimizer.step(net)
    assert len(optimizer.state) == 2
    for name, param, _ in net.named_parameters():
        old, grad = before[name]
        np.testing.assert_allclose(param, old - param.dtype.type(0.5) * grad, rtol=1e-6)


CACHE_LINE = 64  # bytes; written out, not imported from nplearn.flat, so that the tests pin it


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("size", [0, 1, 3, 101_770])
def test_aligned_empty_starts_on_a_cache_line(size: int, dtype: type) -> None:
    """The array has the size and dtype asked for, is writable and C-contiguous, and its first
    byte (if it has one) starts a cache line, for sizes of none, one, odd and the post's
    network's values."""
    held = [np.empty(n, np.uint8) for n in (1, 17, 33)]  # move the allocator off any boundary
    out = aligned_empty(size, dtype)
    assert out.shape == (size,) and out.dtype == dtype and out.flags.writeable
    assert out.flags.c_contiguous and (size == 0 or out.ctypes.data % CACHE_LINE == 0)
    out[...] = 1
    assert out.sum(dtype=np.float64) == size  # every entry is its own, writable
    assert all(not np.shares_memory(out, h) for h in held)


def test_every_group_starts_on_a_cache_line() -> None:
    """Both arrays of every group, so the first layer's weight and gradient, start a line."""
    net = Network([Linear(4, 3, rng=0), ReLU(), Linear(3, 2, dtype=np.float64, rng=1)])
    for params, grads in net.parameter_groups():
        assert params.ctypes.data % CACHE_LINE == grads.ctypes.data % CACHE_LINE == 0
    assert net[0].W.ctypes.data % CACHE_LINE == net[0].grads["W"].ctypes.data % CACHE_LINE == 0


def test_flat_parameters_layouts() -> None:
    """No parameters: no group; a gradient of another shape: ValueError naming both shapes."""
    assert FlatParameters([ReLU()]).groups() == [] and len(FlatParameters([ReLU()])) == 0
    assert Network([ReLU()]).parameter_groups() == []
    assert repr(FlatParameters([ReLU()])) == "FlatParameters(0 values, dtypes: none)"
    mixed = FlatParameters([Linear(4, 3, rng=0), Linear(3, 2, dtype=np.float64, rng=1)])
    assert len(mixed) == 23 and repr(mixed) == "FlatParameters(23 values, dtypes: float32, float64)"
    layer = Linear(4, 3, rng=0)
    layer.grads["W"] = np.zeros((3, 4), np.float32)
    pattern = "Linear.*W of shape " + re.escape("(4, 3)") + ".*" + re.escape("(3, 4)")
    with pytest.raises(ValueError, match=pattern):
        FlatParameters([layer])


@pytest.mark.parametrize(
    "clone", [copy.deepcopy, lambda n: pickle.loads(pickle.dumps(n))], ids=["deepcopy", "pickle"]
)
def test_copied_network_trains_its_own_parameters(clone: Callable[[Network], Network]) -> None:
    """A deep or unpickled copy trains its own flat storage and leaves the original's alone."""
    net = make_net()
    original = [p.copy() for p in net.parameters()]
    twin = clone(net)
    backward(twin)
    SGD(0.1).step(twin)
    assert np.shares_memory(twin[0].W, only_group(twin)[0])
    for name, param, grad in twin.named_parameters():
        layer_index = int(name.split(".")[0])
        old = net[layer_index].params[name.split(".")[1]]
        np.testing.assert_allclose(param, old - 0.1 * grad, rtol=1e-12, err_msg=name)
    for param, old in zip(net.parameters(), original, strict=True):
        np.testing.assert_array_equal(param, old)
