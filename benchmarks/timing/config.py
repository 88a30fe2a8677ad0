"""The timed configurations of the post's 784-128-10 network: a hidden activation (nplearn class
name), a dtype and a batch size, with the seeded weights and batch every implementation starts
from, and the clock it is timed on."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

INPUTS, HIDDEN, OUTPUTS = 784, 128, 10
SHAPES = ((INPUTS, HIDDEN), (HIDDEN, OUTPUTS))  # of W1 and W2
NETS = ("ReLU", "Sigmoid")  #: Hidden activations of the post's two networks (nplearn classes).
DTYPES = ("float32", "float64")
LR = 1e-6
SEED = 20200614
CPU_CLOCK_BATCH = 256  # see Config.clock
Tensor = np.ndarray


@dataclass(frozen=True, order=True)
class Config:
    """One timed configuration: hidden activation class name, dtype name, batch size."""

    net: str
    dtype: str
    batch: int

    @property
    def id(self) -> str:
        return f"{self.net.lower()}-{self.dtype}-b{self.batch}"

    @property
    def clock(self) -> Callable[[], float]:
        """CPU time for steps over a millisecond (a loaded machine nearly always interrupts
        them); below, the cheaper wall clock, where interrupted steps fall out of the quantile."""
        return time.process_time if self.batch >= CPU_CLOCK_BATCH else time.perf_counter

    def rng(self, stream: int) -> np.random.Generator:
        """Stream 0 draws the batch, stream 1 the weights."""
        key = [SEED, sum(map(ord, self.net)), np.dtype(self.dtype).itemsize, self.batch, stream]
        return np.random.default_rng(key)

    def batch_data(self) -> tuple[Tensor, Tensor]:
        """Inputs in ``[0, 1)`` like scaled MNIST ``(batch, 784)`` and labels ``(batch,)``."""
        rng = self.rng(0)
        x = rng.random((self.batch, INPUTS)).astype(self.dtype)
        return x, rng.integers(0, OUTPUTS, self.batch)

    def weights(self) -> dict[str, Tensor]:
        """``W1 (784, 128), b1, W2 (128, 10), b2`` as PyTorch's default init draws them."""
        rng, out = self.rng(1), {}
        for i, (fan_in, fan_out) in enumerate(SHAPES, 1):
            bound = 1 / np.sqrt(fan_in)
            out[f"W{i}"] = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(self.dtype)
            out[f"b{i}"] = rng.uniform(-bound, bound, fan_out).astype(self.dtype)
        return out


def configs(batches: Sequence[int], dtypes: Sequence[str] = DTYPES) -> list[Config]:
    """Each dtype, both networks, each batch size, in that nesting."""
    return [Config(n, d, b) for d in dtypes for n in NETS for b in batches]
