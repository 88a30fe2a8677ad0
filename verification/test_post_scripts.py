"""The post's two MNIST training scripts run on nplearn, unchanged but for imports and CSV paths.

Contract pinned here: ``verification/post_scripts/post_mse.py`` and ``post_ce.py`` are the blog
post's "Training MNIST in Batches using MSE" and "Cross Entropy Training" code, verbatim apart from
the import lines and the CSV paths: with those edits undone, each has the SHA-256 of the post's
code recorded below (from its first line through its final print line), so the check needs
nothing outside the repository. Run on real MNIST written in the post's CSV format (no header;
label, then 784 pixels) and capped at 2 epochs, the cross-entropy script reaches a validation
accuracy >= 0.90 and the MSE script prints a finite test error. The CSV files are written once
per session into a temporary folder from the suite's MNIST fixture.

How the epochs are capped without editing the scripts: both loop over
``progress_bar = auto.tqdm(range(N))`` after ``from tqdm import auto``, so ``tqdm.auto.tqdm`` is
patched with a silent tqdm that yields only the first ``EPOCHS`` items of its iterable. The
library's default init draws from a fresh OS-seeded generator; to make the figures reproducible,
``nplearn.Linear`` is patched with a subclass whose default ``rng`` is one seeded Generator.
BLAS is held to one thread: OpenBLAS threads contending with other processes on a busy machine
make these small products much slower.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import runpy
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import tqdm.auto
import tqdm.std
from threadpoolctl import threadpool_limits

import nplearn

SCRIPTS = Path(__file__).resolve().parent / "post_scripts"
EPOCHS = 2
INIT_SEED = 0
CSV_PATH = "os.path.join(os.environ[\"POST_CSV_DIR\"], '{}')"

# script -> (SHA-256 of the post's code of that section, the import edit (post's, script's)).
# The post's sections: "Training MNIST in Batches using MSE" and "Cross Entropy Training".
SCRIPTS_IN_POST = {
    "post_mse.py": (
        "e07373771cc3ddff92f7ab280a794192b71da6552a6c296ebda2b2f366c3c49b",
        (
            "from sklearn.model_selection import train_test_split\n",
            "from sklearn.model_selection import train_test_split\nimport os\n"
            "from nplearn import MSE, SGD, Linear, Network, ReLU, Tensor\n",
        ),
    ),
    "post_ce.py": (
        "8d0113c5c3e44526568825d6cea6ed7384de545f384024f45a4572f134aca444",
        (
            "from datatype import Tensor\n",
            "import os\n"
            "from nplearn import SGD, CrossEntropyLoss, Linear, Network, Sigmoid, Tensor\n",
        ),
    ),
}


class EpochCap(tqdm.std.tqdm):
    """A silent tqdm over the first ``EPOCHS`` items; remembers every ``set_postfix`` dict."""

    postfixes: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, iterable: Any = None, *args: Any, **kwargs: Any) -> None:
        kwargs.update(total=EPOCHS, disable=True)
        super().__init__(itertools.islice(iterable, EPOCHS), *args, **kwargs)

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any) -> None:
        """Record the postfix (the scripts' running losses), then behave as tqdm."""
        EpochCap.postfixes.append(dict(ordered_dict or {}, **kwargs))
        super().set_postfix(ordered_dict, refresh, **kwargs)


def undo_edits(script: str, code: str) -> str:
    """Undo exactly the changes the scripts' headers declare: the imports, the CSV paths."""
    post, edited = SCRIPTS_IN_POST[script][1]
    assert code.count(edited) == 1
    code = code.replace(edited, post)
    for name in ("mnist_train.csv", "mnist_test.csv"):
        assert CSV_PATH.format(name) in code
        code = code.replace(CSV_PATH.format(name), f"'{name}'")
    return code


def write_post_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    """Write the post's CSV format: no header, one image a row, label then 784 pixels."""
    pd.DataFrame(np.column_stack([y, x])).to_csv(path, header=False, index=False)


@pytest.fixture(scope="session")
def post_csv_dir(
    tmp_path_factory: pytest.TempPathFactory, mnist: tuple[np.ndarray, ...]
) -> Path:
    """A temporary folder with mnist_train.csv and mnist_test.csv from real MNIST."""
    x_train, y_train, x_test, y_test = mnist
    folder = tmp_path_factory.mktemp("post_csv")
    start = time.perf_counter()
    write_post_csv(folder / "mnist_train.csv", x_train, y_train)
    write_post_csv(folder / "mnist_test.csv", x_test, y_test)
    print(f"post CSV files written in {time.perf_counter() - start:.1f} s")
    return folder


def run_post_script(
    script: str, csv_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Run ``script`` capped at ``EPOCHS`` epochs with seeded init; return its globals."""
    generator = np.random.default_rng(INIT_SEED)

    class SeededLinear(nplearn.Linear):
        """nplearn.Linear whose default rng is the test's seeded Generator."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("rng", generator)
            super().__init__(*args, **kwargs)

    EpochCap.postfixes = []
    monkeypatch.setenv("POST_CSV_DIR", str(csv_dir))
    monkeypatch.setattr(tqdm.auto, "tqdm", EpochCap)
    monkeypatch.setattr(nplearn, "Linear", SeededLinear)
    with threadpool_limits(limits=1):
        return runpy.run_path(str(SCRIPTS / script), run_name="__main__")


@pytest.mark.parametrize("script", sorted(SCRIPTS_IN_POST))
def test_post_script_is_post_code_with_declared_edits(script: str) -> None:
    """Each script, with its declared import and CSV-path edits undone, is the post's code."""
    text = (SCRIPTS / script).read_text(encoding="utf-8")
    header = re.match(r"(#[^\n]*\n)+", text)
    assert header is not None and "POST_CSV_DIR" in header.group()
    code = undo_edits(script, text[header.end() :])
    assert hashlib.sha256(code.encode("utf-8")).hexdigest() == SCRIPTS_IN_POST[script][0]


@pytest.mark.slow
def test_post_ce_script_reaches_90_percent(
    post_csv_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The post's cross-entropy script, 2 epochs on real MNIST, validates at >= 0.90."""
    start = time.perf_counter()
    result = run_post_script("post_ce.py", post_csv_dir, monkeypatch)
    seconds = time.perf_counter() - start
    out = capsys.readouterr().out
    accuracies = result["accuracies"]
    test_accuracy = float(np.mean(accuracies["test"]))
    assert result["epoch"] == EPOCHS - 1 and len(accuracies["val"]) == EPOCHS
    assert f"Average Test Accuracy: {test_accuracy:.2f}" in out
    print(
        f"post_ce.py, {EPOCHS} epochs in {seconds:.1f} s: val accuracy per epoch "
        f"{[round(float(a), 4) for a in accuracies['val']]}, train "
        f"{[round(float(a), 4) for a in accuracies['train']]}, test {test_accuracy:.4f}"
    )
    assert accuracies["val"][-1] >= 0.90


@pytest.mark.slow
def test_post_mse_script_reports_finite_test_error(
    post_csv_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The post's MSE script, 2 epochs on real MNIST, lowers its train error, prints the test's."""
    start = time.perf_counter()
    result = run_post_script("post_mse.py", post_csv_dir, monkeypatch)
    seconds = time.perf_counter() - start
    out = capsys.readouterr().out
    test_err = result["test_err"]
    assert result["epoch"] == EPOCHS - 1
    assert math.isfinite(test_err) and math.isfinite(result["err"])
    assert f"Test Error is {test_err:.2f} ..." in out
    first_epoch_err = EpochCap.postfixes[-1]["Mean_loss_train"]  # set on epoch 0 only
    print(
        f"post_mse.py, {EPOCHS} epochs in {seconds:.1f} s: test error {test_err:.2f}, last-epoch "
        f"train error {result['err']:.4f}, val error {result['val_err']:.4f}, "
        f"first-epoch train error {first_epoch_err:.4f}"
    )
    assert result["err"] < first_epoch_err
