"""Load MNIST or Fashion-MNIST once and prepare every view the runs need.

Contract
--------
:func:`prepare` loads a data set with :func:`nplearn.data.load_mnist` (each file checked against
its registered SHA-256) into a :class:`Prepared` whose arrays are never modified; :func:`digests`
gives each file's SHA-256 for the report's provenance header.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from nplearn.data import DATASETS, load_mnist
from nplearn.functional import Tensor

#: How the report names each data set.
NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
TRAIN_IMAGES = 60_000  # in each data set's training file
VALIDATION = 0.2  # the post's split: this fraction of the training images held out


@dataclass(frozen=True)
class Prepared:
    """Every view of one data set used by the runs: ``(n, 784)`` images, ``(n,)`` int64 labels.

    ``x_train, y_train`` and ``x_val, y_val`` are the post's 80 % / 20 % split, ``x_full, y_full``
    all training images, ``x_test, y_test`` the test set and ``x_test_raw`` its uint8 images.
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

    def training(self, full_train: bool) -> tuple[Tensor, Tensor]:
        """``(x, y)`` a run trains on: all training images, or the post's 80 % split."""
        return (self.x_full, self.y_full) if full_train else (self.x_train, self.y_train)


def prepare(name: str = "mnist") -> Prepared:
    """Load data set ``name`` (a key of ``nplearn.data.DATASETS``) and prepare its views."""
    x, y, x_test, y_test = load_mnist(name=name)
    x_full, x_scaled = x.astype(np.float32) / 255, x_test.astype(np.float32) / 255
    x_train, x_val, y_train, y_val = train_test_split(
        x_full, y, test_size=VALIDATION, random_state=42
    )
    return Prepared(name, x_train, y_train, x_val, y_val, x_full, y, x_scaled, y_test, x_test)


def training_images(full_train: bool) -> int:
    """How many images a run trains on: all of the training file, or the post's 80 % split."""
    return TRAIN_IMAGES if full_train else TRAIN_IMAGES - math.ceil(TRAIN_IMAGES * VALIDATION)


def digests(names: tuple[str, ...]) -> dict[str, str]:
    """``{"<data set>/<file> SHA-256": digest}`` for every file of the named data sets."""
    return {f"{n}/{file} SHA-256": sha for n in names for file, sha in DATASETS[n].files.values()}
