"""The data sets ``nplearn.data`` knows (file names, payload digests, mirrors) and where they live.

Contract: ``DATASETS[name]`` is a frozen :class:`DatasetSpec` whose ``files`` map the split keys
``"train-images"``, ``"train-labels"``, ``"test-images"``, ``"test-labels"`` to ``(file name,
SHA-256 of the decompressed IDX payload)``. The digests are those of the files the public mirrors
serve (the suite checks them against the files); they identify a file whatever gzip container a
mirror serves it in. ``nplearn.data`` re-exports these names; tests may add entries (e.g. a tiny
data set served locally). :func:`data_dir` finds the data folder, which holds one subfolder per
data set, named by its key. :func:`mirrors_for` lists the base URLs to try for a data set:
``$NPLEARN_MIRROR/<name>/`` first when that variable is set, then the public mirrors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "NPLEARN_DATA_DIR"
MIRROR_VAR = "NPLEARN_MIRROR"
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10


@dataclass(frozen=True)
class DatasetSpec:
    """A data set: its files, identified by payload digest, and the mirrors that serve them.

    Attributes:
        name: The registry key, also the name of the data set's subfolder in the data folder.
        files: Split key -> ``(file name, SHA-256 of the decompressed IDX payload)``.
        mirrors: Base URLs; a file's URL is a base URL followed by the file name.
    """

    name: str
    files: Mapping[str, tuple[str, str]]
    mirrors: tuple[str, ...]


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        files={
            "train-images": (
                "train-images-idx3-ubyte.gz",
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            ),
            "train-labels": (
                "train-labels-idx1-ubyte.gz",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            ),
            "test-images": (
                "t10k-images-idx3-ubyte.gz",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            ),
            "test-labels": (
                "t10k-labels-idx1-ubyte.gz",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
        },
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        files={
            "train-images": (
                "train-images-idx3-ubyte.gz",
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            ),
            "train-labels": (
                "train-labels-idx1-ubyte.gz",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            ),
            "test-images": (
                "t10k-images-idx3-ubyte.gz",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            ),
            "test-labels": (
                "t10k-labels-idx1-ubyte.gz",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            ),
        },
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    ),
}


def data_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """The data folder, which holds one subfolder per data set (``mnist/``, ``fashion-mnist/``).

    Args:
        root: An explicit data folder; wins over everything else.

    Returns:
        ``root`` if given; else ``$NPLEARN_DATA_DIR`` if set and not empty; else ``data/`` at the
        repository root (the parent of the ``nplearn`` package folder, when it holds a
        ``pyproject.toml``: a source checkout or editable install); else ``./data``.
    """
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    repo = Path(__file__).resolve().parent.parent
    if (repo / "pyproject.toml").is_file():
        return repo / "data"
    return Path.cwd() / "data"


def mirrors_for(spec: DatasetSpec) -> tuple[str, ...]:
    """The base URLs to fetch ``spec``'s files from, in order.

    Args:
        spec: The data set.

    Returns:
        ``$NPLEARN_MIRROR/<spec.name>/`` first if that variable is set and not empty (an offline
        cache, a proxy or a test server laid out as ``<base>/mnist/<file>``), then
        ``spec.mirrors``.
    """
    base = os.environ.get(MIRROR_VAR, "").strip()
    local = (f"{base.rstrip('/')}/{spec.name}/",) if base else ()
    return local + spec.mirrors
