"""Guards of ``fit`` and ``evaluate`` against bad numbers; see :mod:`nplearn.training`.

Contract: :func:`check_data` raises ``ValueError`` (naming the caller) unless ``x`` and ``y`` have
one row per sample and at least one sample, ``x`` holds no NaN or inf (the message gives their
count and the first index) and every target fits the network's output width: integer labels in
``[0, classes)``, or finite rows of width ``classes``. :func:`stop` leaves a network with finite
weights after a non-finite loss, restoring a backup if the current weights are not finite, then
raises ``FloatingPointError`` or warns.
"""

from __future__ import annotations

import warnings

import numpy as np

from nplearn.functional import Tensor
from nplearn.network import Network

ON_NONFINITE = ("raise", "warn")


def check_data(who: str, net: Network, x: Tensor, y: Tensor) -> None:
    """ValueError unless x and y pair up, x is finite and every target fits the network."""
    if len(x) != len(y):
        raise ValueError(f"{who}: x has shape {np.shape(x)} but y has shape {np.shape(y)}")
    x, y = np.asarray(x), np.asarray(y)
    if not len(x):
        raise ValueError(f"{who}: x has shape {x.shape}: no samples")
    if x.dtype.kind in "fc":
        bad = ~np.isfinite(x)
        count = int(np.count_nonzero(bad))
        if count:
            first = tuple(int(i) for i in np.unravel_index(np.argmax(bad), x.shape))
            raise ValueError(
                f"{who}: x holds {count} NaN or inf value(s); the first at index {first}"
            )
    check_targets(who, y, classes=net.forward(x[:1]).shape[-1])


def check_targets(who: str, y: Tensor, classes: int) -> None:
    """Integer labels in ``[0, classes)``, or finite rows of width ``classes``."""
    if y.ndim == 1 and y.dtype.kind in "iu":
        bad = (y < 0) | (y >= classes)
        what = f"labels must lie in [0, {classes}) for a network of {classes} outputs"
    elif y.ndim == 2 and y.shape[1] == classes and y.dtype.kind in "fiub":
        bad = ~np.isfinite(y).all(axis=1)
        what = "targets must be finite"
    else:
        raise ValueError(
            f"{who}: y has shape {y.shape} and dtype {y.dtype}; expected integer labels (n,) "
            f"or rows (n, {classes}) for a network of {classes} outputs"
        )
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(f"{who}: {what}; y[{index}] is {y[index]} ({int(bad.sum())} bad)")


def finite(net: Network) -> bool:
    """Whether every parameter of ``net`` is finite."""
    return all(np.isfinite(param).all() for param in net.parameters())


def stop(net: Network, backup: dict[str, Tensor], where: str, on_nonfinite: str) -> None:
    """Leave ``net`` with finite weights, then raise or warn that training stopped."""
    if finite(net):
        weights = "the weights are those from before this step"
    else:  # an earlier update of this epoch overflowed; its loss could not show it yet
        net.load_state_dict(backup)
        weights = "the weights were restored to the start of the epoch"
    message = f"training stopped at {where}; {weights}"
    if on_nonfinite == "raise":
        raise FloatingPointError(message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)
