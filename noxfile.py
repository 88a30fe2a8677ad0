"""The project's entry points: ``nox -s verify`` (tests) and ``nox -s bench`` (main job).

Every session runs in one shared virtualenv, ``.nox/env``, that the ``env``
session creates and updates first: nplearn (editable, so reports can name the
git commit) with all of its extras, pinned by ``constraints.txt``. One venv
instead of one per session, because torch and JAX alone are most of its size.
The data folder comes from ``NPLEARN_DATA_DIR`` (default: ``data/``).
Extra arguments go to the session's command, e.g. ``nox -s bench -- --quick``
or ``nox -s verify -- -k gradcheck``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

nox.options.sessions = ["verify"]
nox.options.reuse_existing_virtualenvs = True

EXTRAS = "verification,benchmarks,oracle,jax,dask,lint"
ENV = Path(__file__).parent / ".nox" / "env"
PYTHON = str(ENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python"))


@nox.session(default=False)
def env(session: nox.Session) -> None:
    """Create or update the shared virtualenv that the other sessions run in."""
    session.install("-c", "constraints.txt", "-e", f".[{EXTRAS}]")


def _run(session: nox.Session, *args: str) -> None:
    """Run ``python *args`` in the shared virtualenv."""
    session.run(PYTHON, *args, external=True)


@nox.session(venv_backend="none", requires=["env"])
def verify(session: nox.Session) -> None:
    """Fetch and check the data sets, then run the suite; it writes reports/verification.md.

    ``python -m nplearn.data`` downloads MNIST and Fashion-MNIST into the data folder if they are
    missing and stops the session with a short message if it cannot, so that no test runs without
    its data.
    """
    _run(session, "-m", "nplearn.data")
    _run(session, "-m", "pytest", "verification", *session.posargs)


@nox.session(venv_backend="none", requires=["env"])
def oracle(session: nox.Session) -> None:
    """Only the PyTorch oracle tests (every layer and loss against torch, float64)."""
    _run(
        session, "-m", "pytest", "verification", "-m", "oracle",
        "--verification-report", "none",  # keep the full suite's report
        *session.posargs,
    )


#: The options the MNIST reproduction shares with the timings, with how many values follow each.
SHARED = {"--quick": 0, "--threads": 1}
#: Options that make the session a timing check only: the A/B and its self-test.
TIMING_CHECKS = ("--baseline", "--baseline-env", "--bisect", "--self-test")


def _shared_options(args: list[str]) -> list[str]:
    """The options of ``args`` that the MNIST reproduction takes too (see :data:`SHARED`)."""
    out, values = [], 0
    for arg in args:
        name = arg.split("=", 1)[0]
        if values:
            out.append(arg)
            values -= 1
        elif name in SHARED:
            out.append(arg)
            values = 0 if "=" in arg else SHARED[name]
    return out


@nox.session(venv_backend="none", requires=["env"])
def bench(session: nox.Session) -> None:
    """Check the data, then the MNIST reproduction, then the timings; writes reports/.

    The data check comes first, so that missing data stops the session before any run. The
    timings come last, so that their verdict is the session's: exit 1 on a failed gate or a
    regression, 3 when it was inconclusive (this machine too noisy to decide in the budget),
    after a reproduction that does not depend on it.
    ``nox -s bench -- --quick`` is the short mode CI runs (reports/quick/, no verdicts).
    ``nox -s bench -- --baseline REF`` checks a change for timing regressions: the timings and
    the A/B of the working tree against git ref REF only (exit 1 on a regression), without the
    MNIST reproduction, which does not depend on a baseline and takes about 10 minutes; so do
    ``--baseline-env SPEC``, ``--bisect GOOD BAD`` and ``--self-test``. Only the options the two
    share (:data:`SHARED`) are passed to the MNIST run.
    """
    _run(session, "-m", "nplearn.data")
    names = {arg.split("=", 1)[0] for arg in session.posargs}
    if not names.intersection(TIMING_CHECKS):
        _run(session, "-m", "benchmarks.mnist", *_shared_options(session.posargs))
    _run(session, "-m", "benchmarks.timing", *session.posargs)


@nox.session(venv_backend="none", requires=["env"])
def lint(session: nox.Session) -> None:
    """ruff on the whole tree, mypy on the library."""
    _run(session, "-m", "ruff", "check", "nplearn", "verification", "benchmarks")
    _run(session, "-m", "mypy", "nplearn")


@nox.session(venv_backend="none", requires=["env"])
def cards(session: nox.Session) -> None:
    """Conformance cards of every adapter in verification/adapters, written to reports/cards/.

    Installs the ``conformance`` extra and the third-party libraries pinned by ``cards`` first.
    Extra arguments go to ``python -m verification.card`` (e.g. ``-- --no-timing``).
    """
    _run(session, "-m", "pip", "install", "-q", "-c", "constraints.txt", "-e",
         ".[conformance,cards]")
    adapters = sorted(str(p) for p in Path("verification/adapters").glob("[!_]*.py"))
    _run(session, "-m", "verification.card", *adapters, "--out", "reports/cards",
         *session.posargs)


@nox.session(venv_backend="none", requires=["env"])
def mutants(session: nox.Session) -> None:
    """Mutation testing of the core math with pinned mutmut; writes reports/mutation.md.

    Not part of CI: minutes when every mutant dies, up to half an hour with many survivors.
    ``-- --resume`` keeps earlier verdicts.
    """
    _run(session, "-m", "pip", "install", "-q", "-c", "constraints.txt", "mutmut==3.8.1")
    _run(session, "-m", "verification.mutation_run", *session.posargs)
