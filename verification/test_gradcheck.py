"""Numerical gradient checks: the losses and networks the conformance checks do not cover, and
the public gradient checker's API, against float64 central differences.

Every layer, and the losses nplearn's adapter presents, are checked against differences by the
conformance checks (``test_conformance_nplearn.py``). Here: the registry's other losses (mean
reduction, label targets), deep stacks of every init, the 784-128-10 network, and the checker
itself. Shapes and values are drawn by hypothesis, inputs kept clear of each layer's kinks. Each
test records the worst relative error it saw (``nplearn.checks.relative_error``) under torch's
tolerances (atol 1e-5, rtol 1e-3).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from nplearn import MSE, Linear, Network, ReLU, gradcheck
from nplearn.checks import GradcheckError, GradcheckResult
from nplearn.layers import INITS
from verification.conformance_support import ADAPTER_LOSSES
from verification.registry import ACTIVATIONS, KINK, LAYERS, LOSSES, LayerEntry, LossEntry, values

TOLERANCE = "atol 1e-5, rtol 1e-3"
F64 = np.float64
dims = st.integers(1, 6)
seeds = st.integers(0, 2**32 - 1)
KINKS = {entry.layer: entry.kinks for entry in LAYERS}
OTHER_LOSSES = [entry for entry in LOSSES if entry.id not in ADAPTER_LOSSES]


def test_checks_the_input_and_every_parameter(rng) -> None:
    """A layer's gradcheck covers dL/dx and every dL/dparam, every element of each."""
    layer, x = Linear(4, 3, dtype=F64, rng=rng), rng.standard_normal((5, 4))
    result: GradcheckResult = gradcheck(layer, x, rng=rng)
    assert set(result.tensors) == {"input", "params['W']", "params['b']"}
    assert [(t.checked, t.size) for t in result.tensors.values()] == [(20, 20), (12, 12), (3, 3)]


@pytest.mark.parametrize("entry", OTHER_LOSSES, ids=lambda e: e.id)
@settings(max_examples=30)
@given(data=st.data(), batch=dims, classes=st.integers(2, 8))
def test_loss(check_record, entry: LossEntry, data, batch, classes) -> None:
    """Every registered loss beyond the adapter's: loss.grad matches central differences."""
    pred, target = data.draw(entry.inputs(batch, classes))
    result = gradcheck(entry.make(), pred, target=target)
    assert set(result.tensors) == {"input"}
    check_record(result.max_rel_error, TOLERANCE)


def clear_of_kink(net: Network, x: np.ndarray) -> bool:
    """True if every layer of ``net`` sees inputs at least KINK away from its kinks at ``x``."""
    for layer in net.layers:
        for kink in KINKS.get(type(layer), ()):
            if np.min(np.abs(x - kink), initial=np.inf) < KINK:
                return False
        x = layer.forward(x)
    return True


@st.composite
def stacks(draw: st.DrawFn) -> tuple[Network, np.ndarray]:
    """A float64 network of 2 to 5 Linear layers with registered activations between, and its
    input."""
    widths = draw(st.lists(dims, min_size=3, max_size=6))
    seed = draw(seeds)
    layers = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        init = draw(st.sampled_from(INITS))
        layers.append(Linear(n_in, n_out, init=init, dtype=F64, rng=seed + i))
        if i < len(widths) - 2:
            layers.append(draw(st.sampled_from(ACTIVATIONS)).layer())
    return Network(layers), draw(values((draw(st.integers(1, 4)), widths[0]), 3.0))


@settings(max_examples=30)
@given(stack=stacks())
def test_deep_stacks(check_record, stack) -> None:
    """Networks of 2-5 Linear layers with activations: every parameter and dL/dx checked."""
    net, x = stack
    assume(clear_of_kink(net, x))
    result = gradcheck(net, x)
    assert set(result.tensors) == {"input"} | {name for name, _, _ in net.named_parameters()}
    check_record(result.max_rel_error, TOLERANCE)


@pytest.mark.parametrize("entry", ACTIVATIONS, ids=lambda e: e.id)
def test_mnist_network(check_record, rng, entry: LayerEntry) -> None:
    """784-128-10 network, batch 2: all of dL/dx, 2000 sampled elements of each parameter."""
    net = Network(
        [Linear(784, 128, dtype=F64, rng=rng), entry.layer(), Linear(128, 10, dtype=F64, rng=rng)]
    )
    # Redraw the images until no input of a kink lies within KINK of it (a few draws at most).
    x = next(x for x in (rng.random((2, 784)) for _ in range(100)) if clear_of_kink(net, x))
    result = gradcheck(net, x, max_elements=2000, rng=rng)
    assert result.tensors["0.W"].checked == 2000 and result.tensors["0.W"].size == 784 * 128
    assert result.tensors["input"].checked == x.size == 1568
    check_record(result.max_rel_error, TOLERANCE)


def test_restores_state(rng) -> None:
    """gradcheck leaves parameters and input bitwise unchanged and the grads analytic."""
    layer = Linear(4, 3, dtype=F64, rng=rng)
    x = rng.standard_normal((5, 4))
    params, x_before = {k: v.copy() for k, v in layer.params.items()}, x.copy()
    gradcheck(layer, x, rng=1)
    assert all(np.array_equal(layer.params[k], v) for k, v in params.items())
    assert np.array_equal(x, x_before)
    upstream = np.random.default_rng(1).standard_normal((5, 3))
    np.testing.assert_array_equal(layer.grads["W"], x.T @ upstream)


def test_refuses_float32_and_missing_target(rng) -> None:
    """gradcheck refuses float32 layers and inputs, and a loss without target."""
    x = rng.standard_normal((2, 3))
    with pytest.raises(ValueError, match=r"dtype=np\.float64"):
        gradcheck(Linear(3, 2, rng=rng), x)
    with pytest.raises(ValueError, match="float64 input"):
        gradcheck(ReLU(), x.astype(np.float32))
    with pytest.raises(ValueError, match="target"):
        gradcheck(MSE(), x)


def test_error_message_names_everything(rng) -> None:
    """A failure names the module, the tensor, the index and both values."""

    class Doubled(Linear):
        def backward(self, grad, *, input_grad=True):
            out = super().backward(grad, input_grad=input_grad)
            self.grads["b"] *= 2
            return out

    layer = Doubled(3, 2, dtype=F64, rng=rng)
    with pytest.raises(GradcheckError) as info:
        gradcheck(layer, rng.standard_normal((4, 3)))
    message = str(info.value)
    assert "Linear(3, 2, dtype=float64)" in message and "params['b']" in message
    assert "at index (" in message and "analytic" in message and "numeric" in message


def test_gradcheck_is_the_function_every_time(rng) -> None:
    """``nplearn.gradcheck`` is the function, through either name and on every call.

    No submodule of that name replaces it on first use, as a lazily imported module would."""
    import nplearn
    from nplearn import gradcheck as imported

    layer, x = Linear(3, 2, dtype=F64, rng=rng), rng.standard_normal((4, 3))
    results = [nplearn.gradcheck(layer, x), imported(layer, x), nplearn.gradcheck(layer, x)]
    assert imported is nplearn.gradcheck is gradcheck
    assert results[0].tensors == results[1].tensors == results[2].tensors
