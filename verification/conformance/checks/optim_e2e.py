"""End to end with an optimizer: the library's network trained a few steps by its optimizer,
against PyTorch doing the same.

Contract
--------
A linear-activation-linear network of the library's own pieces (its first activation present,
``network``, its cross-entropy else MSE, and the optimizer of the row with the hyperparameters
of ``optimizers.HYPER``) takes :data:`STEPS` full-batch steps: forward, loss,
``net.backward(loss.grad)``, ``opt.step(layers)``. PyTorch takes the same steps from the same
start: at each step the declared loss's gradient, computed by hand through the oracle
(``overfit.true_gradient``), is fed to ``torch.optim`` under the declared conventions (the
NumPy rule where PyTorch has none). Each parameter's displacement after every step is compared
at the oracle's tolerance. A failure is diagnosed by two measurements: the network's gradients
at the start against the oracle's, and the library's steps against the optimizer's rule fed the
library's own gradients.
"""

from __future__ import annotations

import numpy as np
import scipy.special

from verification.conformance import calls, inputs
from verification.conformance.checks.optimizers import HYPER, LAYER_OF, make
from verification.conformance.checks.overfit import true_gradient
from verification.conformance.checks.training import head
from verification.conformance.judge import Example, Finding, judge
from verification.conformance.numeric import error, oracle_tol
from verification.conformance.numeric import result_dtype as dtype_of
from verification.conformance.result import Result
from verification.conformance.target import ACTIVATIONS, EXTRA_ACTIVATIONS, Target
from verification.conformance.trajectory import declared, simulate, torch_trajectory

__all__ = ["STEPS", "trains"]

STEPS, BATCH, SIZES = 5, 8, (4, 5, 3)


def _example(i: int) -> Example:
    rng = np.random.default_rng([inputs.SEED, 500 + i])
    n_in, hidden, n_out = SIZES
    return {"x": rng.uniform(-1, 1, (BATCH, n_in)),
            "target": inputs.onehot(rng.integers(0, n_out, BATCH), n_out),
            "W1": rng.uniform(-1, 1, (n_in, hidden)), "b1": rng.uniform(-1, 1, hidden),
            "W2": rng.uniform(-1, 1, (hidden, n_out)), "b2": rng.uniform(-1, 1, n_out)}


def _flat(params: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
    return [{"W": params[0], "b": params[1]}, {"W": params[2], "b": params[3]}]


def _split(flat: np.ndarray, like: list[np.ndarray]) -> list[np.ndarray]:
    bounds = np.cumsum([p.size for p in like])[:-1]
    return [part.reshape(p.shape) for part, p in zip(np.split(flat, bounds), like, strict=True)]


def _library(target: Target, kind: str, activation: str, loss_piece: str,
             example: Example) -> tuple[list, list, list]:
    """``(start, trajectory, grads held)`` of the library's own training."""
    probabilities, inside = head(target, loss_piece)
    layers = [calls.part(target, "linear", {"W": example["W1"], "b": example["b1"]}),
              calls.part(target, activation),
              calls.part(target, "linear", {"W": example["W2"], "b": example["b2"]})]
    layers += [calls.part(target, "softmax")] if inside else []
    net, loss = target.factories["network"](layers), target.factories[loss_piece]()
    opt = make(target, kind, HYPER[kind])

    def params(which: str) -> list[np.ndarray]:
        return [p for i in (0, 2) for p in calls.params_of(layers[i], which).values()]

    start, out, held = params("params"), [], []
    for _ in range(STEPS):
        z = np.asarray(net.forward(np.array(example["x"])), dtype=np.float64)
        loss(scipy.special.softmax(z, axis=1) if probabilities and not inside else z,
             np.array(example["target"]))
        net.backward(np.array(loss.grad))
        held.append(params("grads"))
        opt.step(layers)
        out.append(params("params"))
    return start, out, held


def trains(target: Target, piece: str) -> Result:
    """:data:`STEPS` training steps of the network by the optimizer, against PyTorch's."""
    kind = piece.split("+", 1)[1]
    activation = next(a for a in (*ACTIVATIONS, *EXTRA_ACTIVATIONS) if target.has(a))
    loss_piece = "cross_entropy" if target.has("cross_entropy") else "mse"
    rule = declared(kind, HYPER[kind], target.conventions[kind])

    def reference(start: list, grads: list) -> list:
        return torch_trajectory(rule, start, grads) or simulate(rule, start, grads, LAYER_OF)

    def trial(example: Example) -> Finding:
        start, found, held = _library(target, kind, activation, loss_piece, example)
        x, y = example["x"], example["target"]
        current, grads, expected = start, [], []
        for _ in range(STEPS):
            flat = true_gradient(target, activation, loss_piece, _flat(current), x, y)
            grads.append(_split(flat, start))
            current = reference(start, grads)[-1]
            expected.append(current)
        tol = oracle_tol(dtype_of(*start, *held[0]))
        worst = max(error(f[j] - start[j], e[j] - start[j])
                    for f, e in zip(found, expected, strict=True) for j in range(len(start)))
        if worst <= tol:
            return Finding(worst, tol)
        own = reference(start, held)
        steps = max(error(f[j] - start[j], e[j] - start[j])
                    for f, e in zip(found, own, strict=True) for j in range(len(start))) <= tol
        gradients = max(error(h, g) for h, g in zip(held[0], grads[0], strict=True)) <= tol
        words = {
            (False, True): "the network's gradients are wrong (see the end-to-end rows); the "
                           f"optimizer steps as torch.optim's {kind} on them",
            (True, False): "the network's gradients are right; the optimizer's steps are not "
                           f"torch.optim's {kind} (see its trajectory row)",
            (False, False): "the network's gradients are wrong, and the optimizer's steps on "
                            f"them are not torch.optim's {kind}",
        }.get((gradients, steps))
        return Finding(worst, tol, words)

    return judge(piece, "trains as torch", trial, [_example(0), _example(1)], None)
