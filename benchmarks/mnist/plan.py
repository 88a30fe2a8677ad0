"""Plan the training runs of one benchmark invocation: which config, on which data set, which seed.

Contract
--------
:func:`plan` lists every ``(data set, config, seed)`` training job of a mode: the post-faithful CE
and MSE runs and the best config on each data set, and the ablation variants on MNIST. In the full
mode the post-faithful runs keep the post's epochs (200 and 100); the quick mode caps every run at
:data:`QUICK_EPOCHS` epochs; ``epochs_scale`` shrinks a full plan for development. A job is plain,
picklable data: any worker, local or on a cluster, runs it from the job alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.mnist import ablation
from benchmarks.mnist.configs import BEST, POST_CE, POST_MSE, RunConfig, scaled

__all__ = ["Job", "Plan", "plan"]

QUICK_EPOCHS = 2
#: Epochs of each ablation run in the full mode (the post's MSE run has 100; the ablation is
#: shortened to fit the time budget, as the report says).
ABLATION_EPOCHS = 30
HEADLINE = (POST_CE, POST_MSE, BEST)


@dataclass(frozen=True)
class Job:
    """One training run to do."""

    dataset: str
    config: RunConfig
    seed: int

    @property
    def name(self) -> str:
        """``"<data set>/<config key>/seed <n>"``: how errors and the progress bar name it."""
        return f"{self.dataset}/{self.config.key}/seed {self.seed}"

    @property
    def cost(self) -> float:
        """Relative cost (epochs times training-set size), to start the longest runs first."""
        return self.config.epochs * (1.25 if self.config.full_train else 1.0)


@dataclass(frozen=True)
class Plan:
    """Everything one invocation trains.

    The ``jobs`` in report order; the post-faithful and best configs (``headline``) and the
    ablation ``variants`` as run; the ``seeds`` and ``datasets``.
    """

    jobs: tuple[Job, ...]
    headline: tuple[RunConfig, ...]
    variants: tuple[ablation.Variant, ...]
    seeds: tuple[int, ...]
    datasets: tuple[str, ...]


def plan(
    *,
    quick: bool,
    seeds: Sequence[int],
    epochs_scale: float = 1.0,
    datasets: Sequence[str] = ("mnist", "fashion-mnist"),
) -> Plan:
    """The jobs of one invocation.

    Every headline config on every data set and the ablation on the first, each with every seed;
    ``quick`` caps the epochs, ``epochs_scale`` multiplies them.
    """
    cap = QUICK_EPOCHS if quick else None
    headline = tuple(scaled(cfg, epochs_scale, cap) for cfg in HEADLINE)
    ablation_epochs = max(1, round(ABLATION_EPOCHS * epochs_scale))
    variants = tuple(ablation.variants(POST_MSE, min(ablation_epochs, cap or ablation_epochs)))
    jobs = [Job(name, cfg, seed) for name in datasets for cfg in headline for seed in seeds]
    jobs += [Job(datasets[0], v.config, seed) for v in variants for seed in seeds]
    return Plan(tuple(jobs), headline, variants, tuple(seeds), tuple(datasets))
