"""Peers: one training step of the same network in PyTorch, scikit-learn and the seed's code.

Contract
--------
Each peer is built from the configuration's weights (``W1, b1, W2, b2`` as nplearn lays them
out) and batch, and called once per timed round; the call performs one complete SGD step and
returns the loss value where the peer exposes it.

- :class:`TorchStep`: ``torch.nn.Sequential(Linear, ReLU | Sigmoid, Linear)`` in the same dtype,
  ``CrossEntropyLoss(reduction="sum")`` on integer labels, ``torch.optim.SGD(lr)``;
  ``zero_grad``, forward, loss, ``backward``, ``step``, ``loss.item()``. ``torch`` runs with
  ``torch.set_num_threads(threads)``, the pinned BLAS thread count. Its gradients can be read
  back (:meth:`TorchStep.gradients`) to check it computes nplearn's step.
- :class:`SklearnStep`: ``MLPClassifier(hidden_layer_sizes=(128,), solver="sgd")`` with the same
  activation, no momentum and no L2; one call is ``partial_fit`` on one batch with
  ``batch_size=batch``, i.e. exactly one SGD step plus scikit-learn's per-call input validation
  and label binarization (that overhead is part of what a user pays per step). It starts from
  its own (seeded) initialisation: the weights do not change the cost.
- :class:`SeedStep`: the seed's ``Network``/``CrossEntropyLoss``/``SGD``
  (:mod:`verification.post_impl`), float64 weights as the seed's ``randn`` makes them,
  float32 inputs as its script feeds them, one-hot labels, and the seed's loop body: forward,
  loss, ``net.backward(loss.grad)`` (which also computes the unused input gradient), update.

Importing this module imports neither torch nor scikit-learn; each peer imports its library when
built, so the benchmarks can skip a peer that is not installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from benchmarks.timing.workloads import HIDDEN, OUTPUTS, SEED
from nplearn.functional import Tensor

__all__ = ["SeedStep", "SklearnStep", "TorchStep"]


class TorchStep:
    """One ``torch.nn`` SGD step of the 784-128-10 network.

    Args:
        params: ``W1 (784, 128)``, ``b1``, ``W2 (128, 10)``, ``b2`` (copied; their dtype is the
            model's).
        activation: ``"relu"`` or ``"sigmoid"``.
        x: ``(batch, 784)`` inputs; y: ``(batch,)`` integer labels.
        lr: learning rate.
        threads: ``torch.set_num_threads`` value.
    """

    def __init__(
        self,
        params: Mapping[str, Tensor],
        activation: str,
        x: Tensor,
        y: Tensor,
        lr: float,
        threads: int,
    ) -> None:
        import torch

        torch.set_num_threads(threads)
        dtype = getattr(torch, params["W1"].dtype.name)
        act = torch.nn.ReLU() if activation == "relu" else torch.nn.Sigmoid()
        first, last = torch.nn.Linear(x.shape[1], HIDDEN), torch.nn.Linear(HIDDEN, OUTPUTS)
        self.model = torch.nn.Sequential(first, act, last).to(dtype)
        with torch.no_grad():
            for layer, w, b in ((first, "W1", "b1"), (last, "W2", "b2")):
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(params[w].T)))
                layer.bias.copy_(torch.from_numpy(np.array(params[b])))
        self.x = torch.from_numpy(np.ascontiguousarray(x))
        self.y = torch.from_numpy(np.asarray(y, dtype=np.int64))
        self.loss = torch.nn.CrossEntropyLoss(reduction="sum")
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr)

    def __call__(self) -> float:
        """One step; returns the loss value before the update."""
        self.optimizer.zero_grad()
        value = self.loss(self.model(self.x), self.y)
        value.backward()
        self.optimizer.step()
        return float(value.item())

    def gradients(self) -> dict[str, Tensor]:
        """The last step's gradients in nplearn's layout (``W`` as ``(in, out)``)."""
        first, last = self.model[0], self.model[2]
        params: dict[str, Any] = {
            "W1": first.weight,
            "b1": first.bias,
            "W2": last.weight,
            "b2": last.bias,
        }
        out = {name: p.grad.detach().numpy() for name, p in params.items()}
        return {name: g.T if name.startswith("W") else g for name, g in out.items()}


class SklearnStep:
    """One scikit-learn ``MLPClassifier.partial_fit`` call on one batch (one SGD step).

    Args:
        activation: ``"relu"`` or ``"sigmoid"`` (scikit-learn's ``"logistic"``).
        x: ``(batch, 784)`` inputs (float32 stays float32 in scikit-learn >= 1.1).
        y: ``(batch,)`` integer labels.
        lr: learning rate (``learning_rate_init``).
    """

    def __init__(self, activation: str, x: Tensor, y: Tensor, lr: float) -> None:
        from sklearn.neural_network import MLPClassifier

        self.model = MLPClassifier(
            hidden_layer_sizes=(HIDDEN,),
            activation="relu" if activation == "relu" else "logistic",
            solver="sgd",
            alpha=0.0,
            batch_size=len(x),
            learning_rate_init=lr,
            momentum=0.0,
            nesterovs_momentum=False,
            shuffle=False,
            random_state=SEED,
        )
        self.x, self.y = x, y
        self.model.partial_fit(x, y, classes=np.arange(OUTPUTS))  # initialises the weights

    def __call__(self) -> Any:
        """One ``partial_fit`` (one step); returns the estimator."""
        return self.model.partial_fit(self.x, self.y)


class SeedStep:
    """One step of the seed's training loop with the seed's own classes.

    Args:
        params: ``W1, b1, W2, b2`` (converted to float64, as the seed's ``randn`` makes them).
        activation: ``"relu"`` or ``"sigmoid"``.
        x: ``(batch, 784)`` float32 inputs (the seed's ``train.astype(np.float32) / 255``).
        y: ``(batch,)`` integer labels (one-hot encoded here, as the seed does up front).
        lr: learning rate.
    """

    def __init__(
        self, params: Mapping[str, Tensor], activation: str, x: Tensor, y: Tensor, lr: float
    ) -> None:
        from verification import post_impl as seed

        first, last = seed.Linear(x.shape[1], HIDDEN), seed.Linear(HIDDEN, OUTPUTS)
        for layer, w, b in ((first, "W1", "b1"), (last, "W2", "b2")):
            layer.W = np.array(params[w], dtype=np.float64)
            layer.b = np.array(params[b], dtype=np.float64)
        act = seed.ReLU() if activation == "relu" else seed.Sigmoid()
        self.net = seed.Network(layers=[first, act, last])
        self.loss = seed.CrossEntropyLoss()
        self.optim = seed.SGD(lr)
        self.x = x
        # The seed one-hot encodes the whole label set, then slices batches: every class present.
        self.label = seed.to_one_hot(np.concatenate([y, np.arange(OUTPUTS)]))[: len(y)]

    def __call__(self) -> float:
        """The seed's loop body: predict, loss, backprop, SGD step; returns the loss."""
        pred = self.net(self.x)
        err = self.loss(pred, self.label)
        self.net.backward(self.loss.grad)
        self.optim.step(self.net)
        return float(err)
