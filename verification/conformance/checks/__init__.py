"""The registry of checks: every check, the pieces it runs on and the factories it needs.

Contract
--------
:data:`CHECKS` is the one list. A :class:`Check` is one function ``run(target, piece) -> Result``
that runs for every target; :meth:`Check.rows` lists its ``(piece, needs)`` rows, ``needs`` being
the factories that must be present (else the row is ``not present``). A new check is one function
and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from verification.conformance.checks import (
    batchnorm,
    batchnorm_modes,
    cnn,
    dropout,
    layers,
    losses,
    mutation,
    optim_e2e,
    optimizers,
    overfit,
    sgd,
    spatial,
    stability,
    ties,
    training,
)
from verification.conformance.result import Result
from verification.conformance.target import (
    ACTIVATIONS,
    EXTRA_ACTIVATIONS,
    EXTRA_LOSSES,
    FACTORIES,
    LAYERS,
    LOSSES,
    OPTIMIZERS,
    SPATIAL,
    Target,
)

__all__ = ["CHECKS", "Check", "Row", "rows"]


@dataclass(frozen=True)
class Check:
    """A check: its name, its rows ``(piece, factories needed)``, and its function."""

    name: str
    pieces: tuple[tuple[str, tuple[str, ...]], ...]
    run: Callable[[Target, str], Result]


def _alone(pieces: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((p, (p,)) for p in pieces)


ACTS, ALL_LOSSES = (*ACTIVATIONS, *EXTRA_ACTIVATIONS), (*LOSSES, *EXTRA_LOSSES)


CHECKS: list[Check] = [
    Check("forward", _alone((*LAYERS, *EXTRA_ACTIVATIONS)), layers.forward),
    Check("backward vs differences", _alone((*LAYERS, *EXTRA_ACTIVATIONS)),
          layers.backward_differences),
    Check("backward vs torch", _alone((*LAYERS, *EXTRA_ACTIVATIONS)), layers.backward_torch),
    Check("own gradient", _alone(ALL_LOSSES), losses.own_gradient),
    Check("vs torch", _alone(ALL_LOSSES), losses.against_torch),
    Check("stability", _alone((*ACTS, "softmax", "cross_entropy", "bce")), stability.stability),
    Check("inputs not mutated", _alone((*LAYERS, *EXTRA_ACTIVATIONS, *ALL_LOSSES)),
          mutation.not_mutated),
    Check("L2 rule", (("sgd", ("sgd", "linear")),), sgd.sgd),
    Check(
        "end to end",
        tuple((f"network+{a}", ("network", "linear", a, "cross_entropy|mse")) for a in ACTS),
        training.end_to_end,
    ),
    Check(
        "overfit 50",
        (("training", ("network", "linear", "|".join(ACTS), "cross_entropy|mse", "sgd")),),
        overfit.overfit,
    ),
    # optimizers
    Check("trajectory", _alone(OPTIMIZERS), optimizers.trajectory),
    Check("nesterov trajectory", _alone(("momentum",)), optimizers.nesterov),
    Check("trains as torch", tuple((f"network+{o}", ("network", "linear", "|".join(ACTS),
                                                     "cross_entropy|mse", o)) for o in OPTIMIZERS),
          optim_e2e.trains),
    # the spatial pieces
    Check("forward", _alone(SPATIAL), spatial.forward),
    Check("backward vs torch", _alone(SPATIAL), spatial.backward),
    Check("uneven shapes", _alone(SPATIAL[:3]), spatial.uneven),
    Check("non-square kernel", _alone(("conv2d",)), spatial.non_square),
    Check("ties", _alone(("maxpool2d",)), ties.ties),
    # dropout
    Check("drop rate and scale", _alone(("dropout",)), dropout.rate_and_scale),
    Check("masks", _alone(("dropout",)), dropout.masks),
    Check("backward", _alone(("dropout",)), dropout.backward),
    Check("eval and train", _alone(("dropout",)), dropout.modes),
    Check("eval backward", _alone(("dropout",)), dropout.eval_backward),
    Check("inputs not mutated", _alone(("dropout",)), dropout.not_mutated),
    # batch norm
    Check("forward", _alone(("batchnorm",)), batchnorm.forward),
    Check("backward vs differences", _alone(("batchnorm",)), batchnorm.backward_differences),
    Check("backward vs torch", _alone(("batchnorm",)), batchnorm.backward_torch),
    Check("running statistics", _alone(("batchnorm",)), batchnorm_modes.running),
    Check("eval mode", _alone(("batchnorm",)), batchnorm_modes.eval_mode),
    Check("eval backward", _alone(("batchnorm",)), batchnorm_modes.eval_backward),
    Check("stability", _alone(("batchnorm",)), batchnorm_modes.stability),
    Check("end to end", (("cnn", (*SPATIAL[:2], "flatten", "relu", "linear",
                                  "cross_entropy|mse")),), cnn.cnn),
]


@dataclass(frozen=True)
class Row:
    """One row of a card: a check on one piece."""

    check: Check
    piece: str
    needs: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.piece}-{self.check.name.replace(' ', '-')}"

    def present(self, target: Target) -> bool:
        """Whether ``target`` has every factory needed (``a|b``: either)."""
        return all(any(target.has(p) for p in need.split("|")) for need in self.needs)

    def missing(self, target: Target) -> list[str]:
        return [need.replace("|", " or ") for need in self.needs
                if not any(target.has(p) for p in need.split("|"))]


def rows() -> list[Row]:
    """Every row of a card, piece by piece (a piece's rows in the order of :data:`CHECKS`)."""
    out = [Row(c, piece, needs) for c in CHECKS for piece, needs in c.pieces]
    order = list(dict.fromkeys(row.piece for row in sorted(out, key=_piece_rank)))
    return sorted(out, key=lambda row: order.index(row.piece))


def _piece_rank(row: Row) -> int:
    base = row.piece.split("+")[0]
    return FACTORIES.index(base) if base in FACTORIES else len(FACTORIES)
