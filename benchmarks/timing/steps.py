"""Every timed training step: nplearn's, the plain-NumPy floor's, the bound's and the peers'.

Contract
--------
Every step of a :class:`.config.Config` starts from its seeded weights and batch, trains with
summed cross-entropy and SGD(``LR``), and is called with no arguments for one step that returns
the loss. :func:`make_step` builds one by name (:data:`IMPLS`); a peer's library is imported when
it is built. :func:`assert_same_step` proves that a step computes nplearn's.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable

import numpy as np
from scipy.linalg import blas

from benchmarks.threads import default_threads
from benchmarks.timing.config import HIDDEN, LR, OUTPUTS, SHAPES, Config, Tensor

Step = Callable[[], float]


@np.errstate(over="ignore")  # H <- 1 / (1 + exp(-H)) in place, nplearn.functional.sigmoid's way
def _sigmoid(H: Tensor) -> None:
    np.exp(np.negative(H, out=H), out=H)
    H += 1
    np.reciprocal(H, out=H)


class NplearnStep:
    """``nplearn.training.train_step`` on the configuration's network, loss and optimizer."""

    def __init__(self, cfg: Config) -> None:
        import nplearn
        from nplearn.training import train_step

        w, (self.x, self.y) = cfg.weights(), cfg.batch_data()
        first, last = (nplearn.Linear(*shape, dtype=cfg.dtype) for shape in SHAPES)
        self.net = nplearn.Network([first, getattr(nplearn, cfg.net)(), last])
        self.net.load_state_dict({"0.W": w["W1"], "0.b": w["b1"], "2.W": w["W2"], "2.b": w["b2"]})
        self.loss, self.optim = nplearn.CrossEntropyLoss(reduction="sum"), nplearn.SGD(LR)
        self.train_step = train_step

    def __call__(self) -> float:
        return self.train_step(self.net, self.loss, self.optim, self.x, self.y)

    def gradients(self) -> dict[str, Tensor]:
        return {f"{k}{i}": self.net[j].grads[k] for i, j in ((1, 0), (2, 2)) for k in ("W", "b")}


class FusedStep:
    """The floor: the step hand-fused in NumPy, every large buffer preallocated; sums as GEMVs
    with a ones vector, ``np.dot`` for batch-1 outer products (``np.matmul`` skips BLAS there), the
    update one BLAS ``axpy`` over the flat parameters."""

    def __init__(self, cfg: Config) -> None:
        w, (self.x, self.y) = cfg.weights(), cfg.batch_data()
        dt, b = np.dtype(cfg.dtype), cfg.batch
        flat = np.concatenate([v.ravel() for v in w.values()])  # into page-aligned, zeroed mmaps,
        self.flat_p, self.flat_g = (np.frombuffer(mmap.mmap(-1, flat.nbytes), dt) for _ in "pg")
        self.flat_p[...] = flat  # so on a cache line, as nplearn's flat arrays are
        cuts = np.cumsum([v.size for v in w.values()])[:-1]  # p and g: views of the flat arrays
        self.p, self.g = ({k: part.reshape(w[k].shape) for k, part in zip(w, np.split(a, cuts),
                           strict=True)} for a in (self.flat_p, self.flat_g))  # fmt: skip
        self.lr, self.relu = dt.type(LR), cfg.net == "ReLU"
        self.H, self.dH, self.T = (np.empty((b, HIDDEN), dt) for _ in range(3))
        self.mask, self.Z = np.empty((b, HIDDEN), bool), np.empty((b, OUTPUTS), dt)
        self.ones, self.ones_out = np.ones(b, dt), np.ones(OUTPUTS, dt)
        self.offsets = np.arange(b) * OUTPUTS
        self.wgrad = np.dot if b == 1 else np.matmul
        self.axpy = blas.get_blas_funcs("axpy", dtype=dt)  # p <- p - lr g, one pass, in place

    def __call__(self) -> float:
        p, g, x, H, dH, Z, Zf = self.p, self.g, self.x, self.H, self.dH, self.Z, self.Z.reshape(-1)
        np.matmul(x, p["W1"], out=H)
        np.add(H, p["b1"], out=H)
        if self.relu:
            np.maximum(H, 0, out=H)
        else:
            _sigmoid(H)
        np.matmul(H, p["W2"], out=Z)
        np.add(Z, p["b2"], out=Z)
        # L = sum over rows of log sum exp(z - max) - (z_y - max); dZ = softmax - onehot. The
        # per-row vectors are fresh: writing them with out= is slower for so few values.
        np.subtract(Z, Zf[self.offsets + Z.argmax(axis=1)][:, None], out=Z)
        at = self.offsets + self.y
        picked = Zf[at]
        np.exp(Z, out=Z)
        rowsum = Z @ self.ones_out
        value = float(np.add.reduce(np.log(rowsum) - picked, dtype=np.float64))
        Z /= rowsum[:, None]
        Zf[at] -= 1
        self.wgrad(H.T, Z, out=g["W2"])
        np.matmul(self.ones, Z, out=g["b2"])
        np.matmul(Z, p["W2"].T, out=dH)
        if self.relu:
            np.greater(H, 0, out=self.mask)
            np.multiply(dH, self.mask, out=dH)
        else:
            np.subtract(1, H, out=self.T)
            np.multiply(self.T, H, out=self.T)
            np.multiply(dH, self.T, out=dH)
        self.wgrad(x.T, dH, out=g["W1"])
        np.matmul(self.ones, dH, out=g["b1"])
        self.axpy(self.flat_g, self.flat_p, a=-self.lr)
        return value

    def gradients(self) -> dict[str, Tensor]:
        return self.g


class MatmulStep(FusedStep):
    """The matrix-product bound: the floor's five matrix products alone (``x W1``, ``H W2``,
    ``H^T dZ``, ``dZ W2^T``, ``x^T dH``), its calls and buffers (filled by one floor step first);
    no elementwise pass. Returns 0.0, not a loss."""

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        super().__call__()

    def __call__(self) -> float:
        p, g, x, H, dH, Z = self.p, self.g, self.x, self.H, self.dH, self.Z
        np.matmul(x, p["W1"], out=H)
        np.matmul(H, p["W2"], out=Z)
        self.wgrad(H.T, Z, out=g["W2"])
        np.matmul(Z, p["W2"].T, out=dH)
        self.wgrad(x.T, dH, out=g["W1"])
        return 0.0


class TorchStep:
    """The step as a PyTorch user writes it on CPU: ``nn.Sequential``, ``zero_grad`` (to None),
    ``F.cross_entropy``, ``backward``, ``SGD.step`` per tensor (``foreach=False``: faster than
    multi-tensor kernels for four tensors on one core; ``torch.compile`` of the loss or of the
    whole step is slower here)."""

    def __init__(self, cfg: Config) -> None:
        import torch

        torch.set_num_threads(default_threads())
        w, (x, y) = cfg.weights(), cfg.batch_data()
        self.layers = first, last = [torch.nn.Linear(*shape) for shape in SHAPES]
        self.model = torch.nn.Sequential(first, getattr(torch.nn, cfg.net)(), last)
        self.model.to(getattr(torch, cfg.dtype))
        with torch.no_grad():
            for i, layer in enumerate(self.layers, 1):
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w[f"W{i}"].T)))
                layer.bias.copy_(torch.from_numpy(w[f"b{i}"]))
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.loss = torch.nn.functional.cross_entropy
        self.optim = torch.optim.SGD(self.model.parameters(), lr=LR, foreach=False)

    def __call__(self) -> float:
        self.optim.zero_grad(set_to_none=True)
        value = self.loss(self.model(self.x), self.y, reduction="sum")
        value.backward()
        self.optim.step()
        return float(value.item())

    def gradients(self) -> dict[str, Tensor]:
        grads = {f"W{i}": layer.weight.grad.numpy().T for i, layer in enumerate(self.layers, 1)}
        return grads | {f"b{i}": layer.bias.grad.numpy() for i, layer in enumerate(self.layers, 1)}


class JaxStep:
    """The step as a JAX user writes it: ``jax.jit`` of value-and-gradient plus the SGD update,
    parameters donated, loss and new parameters returned. ``jax_enable_x64`` is process-global:
    float64 turns it on (so it is timed in a worker of its own); a float32 step built where it is
    on raises RuntimeError. :meth:`gradients` is a separate, untimed call."""

    def __init__(self, cfg: Config) -> None:
        import jax

        if cfg.dtype == "float64":
            jax.config.update("jax_enable_x64", True)
        elif jax.config.jax_enable_x64:
            raise RuntimeError(f"JaxStep {cfg.id}: jax_enable_x64 is on in this process")
        act = getattr(jax.nn, cfg.net.lower())

        def loss(p: dict, x: Tensor, y: Tensor) -> Tensor:
            logp = jax.nn.log_softmax(act(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"])
            return -jax.numpy.take_along_axis(logp, y[:, None], axis=1).sum()

        def step(p: dict, x: Tensor, y: Tensor) -> tuple:
            value, grads = jax.value_and_grad(loss)(p, x, y)
            return value, jax.tree_util.tree_map(lambda a, d: a - LR * d, p, grads)

        self.fn, self.grad = jax.jit(step, donate_argnums=0), jax.jit(jax.grad(loss))
        self.weights, (x, y) = cfg.weights(), cfg.batch_data()
        self.p = {k: jax.numpy.asarray(v) for k, v in self.weights.items()}
        self.x, self.y = jax.numpy.asarray(x), jax.numpy.asarray(y)

    def __call__(self) -> float:
        value, self.p = self.fn(self.p, self.x, self.y)
        return float(value)

    def gradients(self) -> dict[str, Tensor]:
        """The gradients of the first step (at the starting weights)."""
        return {k: np.asarray(v) for k, v in self.grad(self.weights, self.x, self.y).items()}


class PostStep:
    """The post's loop body with its own classes: forward, loss, ``net.backward``, ``SGD.step``."""

    def __init__(self, cfg: Config) -> None:
        from verification import post_impl as post

        w, (x, y) = cfg.weights(), cfg.batch_data()
        first, last = (post.Linear(*shape) for shape in SHAPES)
        for i, layer in enumerate((first, last), 1):
            layer.W, layer.b = w[f"W{i}"].astype(np.float64), w[f"b{i}"].astype(np.float64)
        self.net = post.Network(layers=[first, getattr(post, cfg.net)(), last])
        self.loss, self.optim = post.CrossEntropyLoss(), post.SGD(LR)
        self.x = x.astype(np.float32)
        # The post one-hot encodes the whole label set, then slices: every class is present.
        self.label = post.to_one_hot(np.concatenate([y, np.arange(OUTPUTS)]))[: len(y)]

    def __call__(self) -> float:
        err = self.loss(self.net(self.x), self.label)
        self.net.backward(self.loss.grad)
        self.optim.step(self.net)
        return float(err)


STEPS: dict[str, Callable[[Config], Step]] = {"floor": FusedStep, "nplearn": NplearnStep,
    "torch": TorchStep, "jax": JaxStep, "post": PostStep, "matmul": MatmulStep}  # fmt: skip
BOUND = "matmul"  #: The matrix-product bound: a limit, not a step (no loss, no update).
IMPLS = tuple(n for n in STEPS if n != BOUND)  #: Timed steps, in block order (ABBA: floor first).


def make_step(impl: str, cfg: Config) -> Step:
    """Build ``impl`` (:data:`STEPS`) on ``cfg``; ImportError if its library is absent."""
    return STEPS[impl](cfg)


def assert_same_step(impl: str, cfg: Config) -> None:
    """Assert that one fresh step of ``impl`` gives nplearn's loss and gradients (AssertionError
    naming the implementation, the configuration and the quantity)."""
    theirs, ours, where = make_step(impl, cfg), NplearnStep(cfg), f"{impl} {cfg.id}"
    rtol = 1e-4 if cfg.dtype == "float32" else 1e-10
    np.testing.assert_allclose(theirs(), ours(), rtol=rtol, err_msg=f"{where}: loss value")
    got = theirs.gradients()  # type: ignore[attr-defined]
    for name, expected in ours.gradients().items():
        np.testing.assert_allclose(got[name], expected, rtol, atol=rtol * np.abs(expected).max(),
                                   err_msg=f"{where}: gradient of {name}")  # fmt: skip
