"""The seed's two MNIST training scripts run on nplearn, unchanged but for imports and CSV paths.

Contract pinned here (issue 2): ``verification/seed_scripts/seed_mse.py`` and ``seed_ce.py`` are
the blog post's "Training MNIST in Batches using MSE" and "Cross Entropy Training" code, verbatim
apart from the import lines and the CSV paths (checked against the post's text). Run on real MNIST
written in the post's CSV format (no header; label, then 784 pixels) and capped at 2 epochs, the
cross-entropy script reaches a validation accuracy >= 0.90 and the MSE script prints a finite test
error. The CSV files are written once per session into a temporary folder; the tests skip when the
MNIST files (``$NPLEARN_DATA_DIR`` or ``<repo>/../shared/data``) or the post's text are absent.

How the epochs are capped without editing the scripts: both loop over
``progress_bar = auto.tqdm(range(N))`` after ``from tqdm import auto``, so ``tqdm.auto.tqdm`` is
patched with a silent tqdm that yields only the first ``EPOCHS`` items of its iterable. The
library's default init draws from a fresh OS-seeded generator; to make the figures reproducible,
``nplearn.Linear`` is patched with a subclass whose default ``rng`` is one seeded Generator.
BLAS is held to one thread: on the shared 2-core machine OpenBLAS threads contending with other
processes made these 100x784 products ~30x slower.
"""

from __future__ import annotations

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

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent / "seed_scripts"
SEED_TEXT = REPO.parent / "shared" / "seed" / "numpy-learn-blog-post.txt"
EPOCHS = 2
INIT_SEED = 0
CSV_PATH = "os.path.join(os.environ[\"SEED_CSV_DIR\"], '{}')"

# script -> (section title in the post, first line, start of the last line, import edit)
SCRIPTS_IN_POST = {
    "seed_mse.py": (
        "Training MNIST in Batches using MSE",
        "from tqdm import auto",
        'print(f"Test Error is',
        (
            "from sklearn.model_selection import train_test_split\n",
            "from sklearn.model_selection import train_test_split\nimport os\n"
            "from nplearn import MSE, SGD, Linear, Network, ReLU, Tensor\n",
        ),
    ),
    "seed_ce.py": (
        "Cross Entropy Training",
        '"""Training example for a simple network with MNIST Dataset."""',
        "print(f\"Average Test Accuracy",
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


def seed_block(script: str) -> str:
    """The post's code of ``script``, from its first line through its final print line."""
    title, first, last, _ = SCRIPTS_IN_POST[script]
    lines = SEED_TEXT.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index(first + "\n", lines.index(title + "\n"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(last))
    return "".join(lines[start : end + 1])


def allowed_edits(script: str, code: str) -> str:
    """Apply exactly the changes the scripts' headers declare: imports and CSV paths."""
    old, new = SCRIPTS_IN_POST[script][3]
    assert code.count(old) == 1
    code = code.replace(old, new)
    for name in ("mnist_train.csv", "mnist_test.csv"):
        code = code.replace(f"'{name}'", CSV_PATH.format(name))
    return code


def write_seed_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    """Write the post's CSV format: no header, one image a row, label then 784 pixels."""
    pd.DataFrame(np.column_stack([y, x])).to_csv(path, header=False, index=False)


@pytest.fixture(scope="session")
def seed_csv_dir(
    tmp_path_factory: pytest.TempPathFactory, mnist: tuple[np.ndarray, ...]
) -> Path:
    """A temporary folder with mnist_train.csv and mnist_test.csv from real MNIST."""
    x_train, y_train, x_test, y_test = mnist
    folder = tmp_path_factory.mktemp("seed_csv")
    start = time.perf_counter()
    write_seed_csv(folder / "mnist_train.csv", x_train, y_train)
    write_seed_csv(folder / "mnist_test.csv", x_test, y_test)
    print(f"seed CSV files written in {time.perf_counter() - start:.1f} s")
    return folder


def run_seed_script(
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
    monkeypatch.setenv("SEED_CSV_DIR", str(csv_dir))
    monkeypatch.setattr(tqdm.auto, "tqdm", EpochCap)
    monkeypatch.setattr(nplearn, "Linear", SeededLinear)
    with threadpool_limits(limits=1):
        return runpy.run_path(str(SCRIPTS / script), run_name="__main__")


@pytest.mark.parametrize("script", sorted(SCRIPTS_IN_POST))
def test_seed_script_is_post_code_with_declared_edits(script: str) -> None:
    """Each seed script is the post's code with only the import and CSV-path edits."""
    if not SEED_TEXT.is_file():
        pytest.skip(f"the post's text is not at {SEED_TEXT}")
    text = (SCRIPTS / script).read_text(encoding="utf-8")
    header = re.match(r"(#[^\n]*\n)+", text)
    assert header is not None and "SEED_CSV_DIR" in header.group()
    assert text[header.end() :] == allowed_edits(script, seed_block(script))


@pytest.mark.slow
def test_seed_ce_script_reaches_90_percent(
    seed_csv_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The post's cross-entropy script, 2 epochs on real MNIST, validates at >= 0.90."""
    start = time.perf_counter()
    result = run_seed_script("seed_ce.py", seed_csv_dir, monkeypatch)
    seconds = time.perf_counter() - start
    out = capsys.readouterr().out
    accuracies = result["accuracies"]
    test_accuracy = float(np.mean(accuracies["test"]))
    assert result["epoch"] == EPOCHS - 1 and len(accuracies["val"]) == EPOCHS
    assert f"Average Test Accuracy: {test_accuracy:.2f}" in out
    print(
        f"seed_ce.py, {EPOCHS} epochs in {seconds:.1f} s: val accuracy per epoch "
        f"{[round(float(a), 4) for a in accuracies['val']]}, train "
        f"{[round(float(a), 4) for a in accuracies['train']]}, test {test_accuracy:.4f}"
    )
    assert accuracies["val"][-1] >= 0.90


@pytest.mark.slow
def test_seed_mse_script_reports_finite_test_error(
    seed_csv_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The post's MSE script, 2 epochs on real MNIST, lowers its train error, prints the test's."""
    start = time.perf_counter()
    result = run_seed_script("seed_mse.py", seed_csv_dir, monkeypatch)
    seconds = time.perf_counter() - start
    out = capsys.readouterr().out
    test_err = result["test_err"]
    assert result["epoch"] == EPOCHS - 1
    assert math.isfinite(test_err) and math.isfinite(result["err"])
    assert f"Test Error is {test_err:.2f} ..." in out
    first_epoch_err = EpochCap.postfixes[-1]["Mean_loss_train"]  # set on epoch 0 only
    print(
        f"seed_mse.py, {EPOCHS} epochs in {seconds:.1f} s: test error {test_err:.2f}, last-epoch "
        f"train error {result['err']:.4f}, val error {result['val_err']:.4f}, "
        f"first-epoch train error {first_epoch_err:.4f}"
    )
    assert result["err"] < first_epoch_err
