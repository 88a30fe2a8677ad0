"""Load MNIST or Fashion-MNIST once and prepare every view the runs need.

Contract
--------
:func:`prepare` loads a data set with :func:`nplearn.data.load_mnist` (which
checks every file against its registered payload SHA-256) and returns a
:class:`Prepared` holding: the post's 48k/12k split (float32 / 255, from
``postfaithful.post_split``), all 60k training images (float32 / 255, file
order), the test images both divided by 255 (the correct evaluation) and raw
uint8 (the post's quirk), and the labels as int64. Arrays are never modified
after preparation. :func:`digests` gives the payload SHA-256 of each file for
the report's provenance header.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmarks.mnist.postfaithful import post_split
from nplearn.data import DATASETS, load_mnist
from nplearn.functional import Tensor

__all__ = ["NAMES", "Prepared", "digests", "prepare"]

#: How the report names each data set.
NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


@dataclass(frozen=True)
class Prepared:
    """Every view of one data set used by the runs.

    Attributes:
        name: ``"mnist"`` or ``"fashion-mnist"``.
        x_train, y_train: the post's 80 % training split, float32 in [0, 1].
        x_val, y_val: the post's 20 % validation split.
        x_full, y_full: all training images, in file order, float32 in [0, 1].
        x_test, y_test: test images, float32 in [0, 1] (correct evaluation).
        x_test_raw: the same test images as uint8 0..255 (the post's evaluation).

    Shape:
        ``(n, 784)`` images, ``(n,)`` int64 labels; MNIST: n = 48000, 12000,
        60000, 10000.
    """

    name: str
    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor
    x_full: Tensor
    y_full: Tensor
    x_test: Tensor
    y_test: Tensor
    x_test_raw: Tensor


def prepare(name: str = "mnist") -> Prepared:
    """Load data set ``name`` from the data folder (``NPLEARN_DATA_DIR``) and prepare it.

    Args:
        name: a key of ``nplearn.data.DATASETS``.

    Returns:
        The :class:`Prepared` views.
    """
    x, y, x_test, y_test = load_mnist(name=name)
    x_train, x_val, y_train, y_val = post_split(x, y)
    return Prepared(
        name=name,
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        x_full=x.astype(np.float32) / 255,
        y_full=y,
        x_test=x_test.astype(np.float32) / 255,
        y_test=y_test,
        x_test_raw=x_test,
    )


def digests(names: tuple[str, ...]) -> dict[str, str]:
    """Payload SHA-256 of every file of the named data sets (checked on load).

    Returns:
        ``{"<data set>/<file> SHA-256": digest}`` in registry order.
    """
    return {
        f"{name}/{file} SHA-256": sha
        for name in names
        for file, sha in DATASETS[name].files.values()
    }
