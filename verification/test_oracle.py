"""PyTorch oracle: what the conformance checks do not cover, against torch in float64.

Every layer's forward and backward, the losses nplearn's adapter presents and the post's L2 rule
are checked against PyTorch by the conformance checks (``test_conformance_nplearn.py``, at a
relative error of 1e-14). Here: the registry's other losses (mean reduction, label targets), the
784-128-10 network, and the optimizers the card does not check yet. Both
libraries get the same weights and inputs; each comparison records its relative error
(``max |nplearn - torch| / max |torch|``), which must not exceed 1e-10. Run alone with
``nox -s oracle`` (``pytest -m oracle``); skipped when torch is not installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nplearn import SGD, Adagrad, Adam, CrossEntropyLoss, Linear, Network, ReLU, RMSprop
from nplearn.checks import relative_error
from verification.conformance_support import ADAPTER_LOSSES
from verification.registry import ACTIVATIONS, LOSSES, LayerEntry, LossEntry

torch = pytest.importorskip("torch")
F = torch.nn.functional
pytestmark = pytest.mark.oracle

RTOL = 1e-10
F64 = np.float64
OTHER_LOSSES = [entry for entry in LOSSES if entry.id not in ADAPTER_LOSSES]


@pytest.fixture(autouse=True)
def torch_float64() -> Iterator[None]:
    """torch in float64, deterministic, on one thread, for the duration of one test."""
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield
    torch.set_default_dtype(dtype)
    torch.set_num_threads(threads)


@pytest.fixture
def agree(check_record: Callable[..., None]) -> Callable[[str, Any, Any], None]:
    """``agree(what, ours, theirs)``: assert relative error <= RTOL and record it."""

    def compare(what: str, ours: Any, theirs: Any) -> None:
        expected = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
        ours = np.asarray(ours)
        assert ours.shape == np.shape(expected), f"{what}: shape {ours.shape} vs {expected.shape}"
        err = relative_error(ours, expected)
        check_record(err, f"rel {RTOL:g}")
        assert err <= RTOL, f"{what}: relative error {err:.3g} against torch"

    return compare


def leaf(array: np.ndarray) -> Any:
    """A float64 torch tensor that records gradients, holding a copy of ``array``."""
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("entry", OTHER_LOSSES, ids=lambda e: e.id)
@settings(max_examples=10)
@given(data=st.data(), batch=st.integers(1, 8), classes=st.integers(2, 10))
def test_loss(agree, entry: LossEntry, data, batch, classes) -> None:
    """Every registered loss beyond the adapter's: value and gradient equal torch's."""
    pred, target = data.draw(entry.inputs(batch, classes))
    loss, tp = entry.make(), leaf(pred)
    tvalue = entry.torch(torch)(tp, torch.tensor(target))
    tvalue.backward()
    agree("value", loss(pred, target), tvalue)
    agree("grad", loss.grad, tp.grad)


@pytest.mark.parametrize("entry", ACTIVATIONS, ids=lambda e: e.id)
def test_mnist_network(agree, rng, entry: LayerEntry) -> None:
    """784-128-10 network + CE: logits, dL/dx and every parameter gradient equal torch's."""
    net = Network(
        [Linear(784, 128, dtype=F64, rng=rng), entry.layer(), Linear(128, 10, dtype=F64, rng=rng)]
    )
    x, labels = rng.random((16, 784)), rng.integers(0, 10, 16)
    params = {name: leaf(p) for name, p, _ in net.named_parameters()}
    tx = leaf(x)
    hidden = entry.torch(torch)(F.linear(tx, params["0.W"].T, params["0.b"]))
    tlogits = F.linear(hidden, params["2.W"].T, params["2.b"])
    tvalue = F.cross_entropy(tlogits, torch.tensor(labels), reduction="mean")
    tvalue.backward()
    loss = CrossEntropyLoss("mean")
    logits = net(x)
    agree("logits", logits, tlogits)
    agree("loss", loss(logits, labels), tvalue)
    agree("dx", net.backward(loss.grad, input_grad=True), tx.grad)
    for name, _, grad in net.named_parameters():
        agree(name, grad, params[name].grad)


def _train_both(net: Network, ours: Any, theirs: Any, params: dict, rng, steps: int) -> None:
    """Run ``steps`` identical random-gradient steps through both optimizers."""
    for _ in range(steps):
        for (_, _, grad), tparam in zip(net.named_parameters(), params.values(), strict=True):
            grad[...] = rng.standard_normal(grad.shape)
            tparam.grad = torch.tensor(grad)
        ours.step(net)
        theirs.step()


def _small_net(rng) -> tuple[Network, dict]:
    net = Network([Linear(6, 4, dtype=F64, rng=rng), ReLU(), Linear(4, 3, dtype=F64, rng=rng)])
    return net, {name: leaf(p) for name, p, _ in net.named_parameters()}


OPTIMIZERS = {
    "sgd": (lambda: SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd-momentum": (
        lambda: SGD(0.1, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    ),
    "sgd-weight-decay": (
        lambda: SGD(0.1, weight_decay=0.01),
        lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.01),
    ),
    "sgd-nesterov": (
        lambda: SGD(0.1, momentum=0.9, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    ),
    "sgd-nesterov-weight-decay": (
        lambda: SGD(0.1, momentum=0.8, weight_decay=0.01, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, weight_decay=0.01, nesterov=True),
    ),
    "adam": (lambda: Adam(1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
    "rmsprop": (lambda: RMSprop(1e-2), lambda p: torch.optim.RMSprop(p, lr=1e-2)),
    "rmsprop-weight-decay": (
        lambda: RMSprop(1e-2, alpha=0.9, eps=1e-6, weight_decay=0.05),
        lambda p: torch.optim.RMSprop(p, lr=1e-2, alpha=0.9, eps=1e-6, weight_decay=0.05),
    ),
    "adagrad": (lambda: Adagrad(1e-1), lambda p: torch.optim.Adagrad(p, lr=1e-1)),
    "adagrad-weight-decay": (
        lambda: Adagrad(1e-1, eps=1e-6, weight_decay=0.05),
        lambda p: torch.optim.Adagrad(p, lr=1e-1, eps=1e-6, weight_decay=0.05),
    ),
    "adam-weight-decay": (
        lambda: Adam(1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05),
        lambda p: torch.optim.Adam(p, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05),
    ),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer(agree, rng, name) -> None:
    """SGD (plain, momentum, Nesterov, weight decay), Adam, RMSprop and Adagrad: 10 steps of
    changing random gradients equal torch.optim's."""
    make_ours, make_theirs = OPTIMIZERS[name]
    net, params = _small_net(rng)
    _train_both(net, make_ours(), make_theirs(list(params.values())), params, rng, steps=10)
    for (pname, param, _), tparam in zip(net.named_parameters(), params.values(), strict=True):
        agree(pname, param, tparam)
