"""Shared fixtures of the verification suite, and the registration of its report plugin.

Contract
--------
- ``rng``: a ``numpy.random.Generator`` seeded from :data:`SEED` and the test's id, so every test
  draws its own reproducible numbers.
- ``check_record(observed, tolerance=None, *, what=None)``: records a test's worst observed error
  and its tolerance for ``reports/verification.md`` (see ``verification/report.py``).
- ``real_data``, ``mnist``, ``mnist_train``: the data folder (``NPLEARN_DATA_DIR``, else
  ``<repo>/data``) with MNIST and Fashion-MNIST, downloaded there if missing (``NPLEARN_MIRROR``
  first, then the public mirrors) and checked by payload digest; if that fails, every test that
  needs them fails with the short message of ``python -m nplearn.data`` (never a skip).
- ``tiny``: a small fake data set registered as ``DATASETS["tiny"]``, its files in a folder to
  serve from a local HTTP mirror (``verification/datafakes.py``).
- The ``oracle`` marker (PyTorch comparisons, ``nox -s oracle``) and a hypothesis profile without
  deadlines (a busy machine is slow, not wrong), derandomized so every run draws the same examples.
- ``--verification-report PATH`` chooses the report file (default ``reports/verification.md`` in
  the repository, whatever the working directory; ``none`` writes nothing). It is written at the
  end of every session, from the main process only. With the default, a run of part of the suite
  (some files, ``-k``, ``-m``, ``--deselect``) writes ``reports/quick/verification.md`` instead,
  outside the tracked tree, so that it never replaces the whole suite's report.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from nplearn.data import DATASETS, DataError, data_dir, load_mnist
from verification import report
from verification.datafakes import make_dataset, spec_for

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REPORT = REPO_ROOT / "reports" / "verification.md"
PARTIAL_REPORT = REPO_ROOT / "reports" / "quick" / "verification.md"
#: Base seed of the suite (the post's date); each test mixes in its own id.
SEED = 20200614

# No deadlines (timing depends on the machine's load), and the same examples on every run.
settings.register_profile(
    "nplearn",
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
settings.load_profile("nplearn")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--verification-report",
        default=str(DEFAULT_REPORT),
        help="where to write the verification report ('none': do not write it)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "oracle: compares nplearn with PyTorch (needs torch)")
    option = config.getoption("--verification-report", default=str(DEFAULT_REPORT))
    path = None if option.lower() == "none" else Path(option)
    if path is not None and not path.is_absolute():
        path = REPO_ROOT / path
    args = " ".join(config.invocation_params.args) or "(none)"
    extra = {"pytest arguments": args, "hypothesis profile": "nplearn (no deadline, derandomized)"}
    plugin = report.VerificationReport(
        path,
        seeds={"base seed": SEED},
        extra=extra,
        partial_path=PARTIAL_REPORT if path == DEFAULT_REPORT else None,
        whole=report.names_whole_suite(
            config.args, config.invocation_params.dir, {REPO_ROOT, REPO_ROOT / "verification"}
        ),
    )
    config.pluginmanager.register(plugin, "verification-report")


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator seeded from :data:`SEED` and the test's id."""
    return np.random.default_rng([SEED, zlib.crc32(request.node.nodeid.encode())])


@pytest.fixture
def check_record(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``check_record(observed, tolerance=None, *, what=None)`` for the report (max kept)."""

    def record(observed: float | str, tolerance: float | str | None = None, *, what=None) -> None:
        report.record_check(request.node.user_properties, observed, tolerance, what)

    return record


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, bytes]]:
    """A small data set "tiny" in DATASETS; its files in tmp_path/mirror, served later."""
    mirror = tmp_path / "mirror"
    payloads = make_dataset(mirror)
    monkeypatch.setitem(DATASETS, "tiny", spec_for("tiny", payloads))
    return mirror, payloads


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The data folder, holding verified ``mnist/`` and ``fashion-mnist/`` (fetched if missing)."""
    folder = data_dir()
    for name, spec in DATASETS.items():
        if all((folder / name / file).is_file() for file, _ in spec.files.values()):
            continue  # verified where it is loaded
        try:
            load_mnist(name=name)
            continue
        except DataError as exc:
            message = str(exc)
        pytest.fail(f"{message}\n(or run: python -m nplearn.data)", pytrace=False)
    return folder


@pytest.fixture(scope="session")
def mnist(real_data: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Real MNIST ``(x_train, y_train, x_test, y_test)``: uint8 (n, 784), int64 (n,)."""
    return load_mnist(real_data, download=False)


@pytest.fixture(scope="session")
def mnist_train(mnist: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """MNIST training images (uint8, (60000, 784)) and labels (int64)."""
    return mnist[0], mnist[1]
