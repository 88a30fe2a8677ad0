"""Tests of nplearn.data's registry, data folder and loader, on crafted and on real files.

Every bad input must raise DataError (a ValueError) whose message names the file and the problem.
The registry's digests are checked against the real files; MNIST and Fashion-MNIST load with
their known shapes and class counts. Downloads: ``test_download.py``; faults: ``test_faults*.py``.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from nplearn import _datasets, data
from nplearn._idx import decompress
from nplearn.data import DATASETS
from verification.datafakes import (
    make_dataset,
    raises_data_error,
    rng_images,
)

SPLITS = ("train-images", "train-labels", "test-images", "test-labels")
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

# ------------------------------------------------------------------------ data folder and registry


def test_registry_digests_match_the_files(real_data: Path) -> None:
    """Each registered digest is the SHA-256 of that file's decompressed payload."""
    for name, spec in DATASETS.items():
        assert spec.name == name and set(spec.files) == set(SPLITS)
        for file, sha in spec.files.values():
            path = real_data / name / file
            assert hashlib.sha256(decompress(path.read_bytes(), path)).hexdigest() == sha, path


def test_data_dir_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPLEARN_DATA_DIR", str(tmp_path / "env"))
    assert data.data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert data.data_dir() == tmp_path / "env"
    monkeypatch.setenv("NPLEARN_DATA_DIR", "")  # empty counts as unset
    checkout = Path(_datasets.__file__).resolve().parents[1]
    default = checkout / "data" if (checkout / "pyproject.toml").is_file() else Path.cwd() / "data"
    assert data.data_dir() == default
    monkeypatch.delenv("NPLEARN_DATA_DIR")
    assert data.data_dir() == default
    assert data.data_dir("~/d") == Path.home() / "d"


def test_load_mnist_uses_the_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dataset(tmp_path / "mnist")
    monkeypatch.setenv("NPLEARN_DATA_DIR", str(tmp_path))
    x_train, _, _, y_test = data.load_mnist(download=False, verify=False)
    assert x_train.shape == (6, 784) and y_test.shape == (4,)


@pytest.mark.parametrize("checkout", [True, False], ids=["source-checkout", "installed"])
def test_data_dir_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkout: bool) -> None:
    monkeypatch.delenv("NPLEARN_DATA_DIR", raising=False)
    package = tmp_path / "site" / "nplearn"
    package.mkdir(parents=True)
    if checkout:
        (tmp_path / "site" / "pyproject.toml").write_text("")
    monkeypatch.setattr(_datasets, "__file__", str(package / "_datasets.py"))
    monkeypatch.chdir(tmp_path)
    assert data.data_dir() == (tmp_path / "site" / "data" if checkout else tmp_path / "data")


def test_unknown_data_set(tmp_path: Path) -> None:
    with raises_data_error("unknown data set 'cifar10'; known: fashion-mnist, mnist"):
        data.load_mnist(tmp_path, name="cifar10")
    with raises_data_error("unknown data set 'cifar10'"):
        data.download("cifar10", tmp_path)


# ----------------------------------------------------------------------------- load_mnist checks


def test_missing_files_without_download(tmp_path: Path) -> None:
    folder = tmp_path / "mnist"
    make_dataset(folder)
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with raises_data_error(
        "missing train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz in",
        folder,
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "NPLEARN_MIRROR",
        "NPLEARN_DATA_DIR",
    ) as info:
        data.load_mnist(tmp_path, download=False)
    assert "train-images-idx3-ubyte.gz" not in str(info.value)


def test_missing_files_listed_in_full(tmp_path: Path) -> None:
    files = [file for file, _ in DATASETS["fashion-mnist"].files.values()]
    with raises_data_error(
        ", ".join(files), tmp_path / "fashion-mnist", "fashion-mnist.s3-website"
    ):
        data.load_fashion_mnist(tmp_path, download=False)


def test_checksum_mismatch(tmp_path: Path) -> None:
    make_dataset(tmp_path / "mnist")  # valid IDX files, but not MNIST's
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    actual = hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()
    expected = DATASETS["mnist"].files["train-images"][1]
    with raises_data_error(path, "checksum mismatch", f"is {actual}", f"expected {expected}"):
        data.load_mnist(tmp_path, download=False)


def test_crafted_folder_loads_without_verify(tmp_path: Path) -> None:
    payloads = make_dataset(tmp_path / "mnist")
    x_train, y_train, x_test, y_test = data.load_mnist(tmp_path, download=False, verify=False)
    assert x_train.shape == (6, 784) and x_test.shape == (4, 784)
    assert x_train.dtype == np.uint8 and y_train.dtype == y_test.dtype == np.int64
    assert x_train.flags.writeable
    assert x_train.tobytes() == payloads["train-images"][16:]
    assert y_test.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("labels", "images", "file", "what"),
    [
        (
            {"train": np.array([1, 2, 12, 3]), "test": np.arange(2)},
            None,
            "train-labels-idx1-ubyte.gz",
            "label 12 at index 2 is outside 0..9",
        ),
        (
            {"train": np.arange(4), "test": np.arange(3)},
            {"train": rng_images(4), "test": rng_images(2)},
            "t10k-images-idx3-ubyte.gz",
            "holds 2 images but",
        ),
        (
            {"train": np.arange(2), "test": np.arange(2)},
            {"train": rng_images(2)[:, :27], "test": rng_images(2)},
            "train-images-idx3-ubyte.gz",
            "shape (2, 27, 28), expected images (n, 28, 28)",
        ),
        (
            {"train": np.arange(2), "test": np.arange(2)},
            {"train": np.arange(2), "test": rng_images(2)},
            "train-images-idx3-ubyte.gz",
            "shape (2,), expected images",
        ),
    ],
)
def test_inconsistent_data_set(
    tmp_path: Path, labels: dict, images: dict | None, file: str, what: str
) -> None:
    make_dataset(tmp_path / "mnist", labels, images)
    with raises_data_error(tmp_path / "mnist" / file, what):
        data.load_mnist(tmp_path, download=False, verify=False)


# ---------------------------------------------------------------------------------- real data




def test_real_mnist(mnist: tuple[np.ndarray, ...]) -> None:
    x_train, y_train, x_test, y_test = mnist
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == x_test.dtype == np.uint8 and y_train.dtype == y_test.dtype == np.int64
    assert np.bincount(y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == MNIST_TEST_COUNTS
    assert x_train.max() == 255 and x_train.min() == 0


def test_real_fashion_mnist(real_data: Path) -> None:
    x_train, y_train, x_test, y_test = data.load_fashion_mnist(real_data, download=False)
    assert (
        x_train.shape == (60000, 784) and x_test.shape == (10000, 784) and x_train.dtype == np.uint8
    )
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
