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


#: Options only ``benchmarks.timing`` takes, with how many values follow each: kept from MNIST.
TIMING_ONLY = {"--baseline": 1, "--tolerance": 1, "--self-test": 0, "--runs": 1}


def _without_timing_options(args: list[str]) -> list[str]:
    out, skip = [], 0
    for arg in args:
        name = arg.split("=", 1)[0]
        if skip:
            skip -= 1
        elif name in TIMING_ONLY:
            skip = TIMING_ONLY[name] if "=" not in arg else 0
        else:
            out.append(arg)
    return out


@nox.session(venv_backend="none", requires=["env"])
def bench(session: nox.Session) -> None:
    """Check the data, then the timings, then the MNIST reproduction; writes reports/.

    The data check comes first, so that missing data stops the session before any timing.
    ``nox -s bench -- --quick`` is the short mode CI runs (reports/quick/, no verdicts);
    ``nox -s bench -- --baseline REF`` adds the A/B of the working tree against git ref REF
    (exit 1 on a regression). Options only the timings take are not passed to the MNIST run.
    """
    _run(session, "-m", "nplearn.data")
    _run(session, "-m", "benchmarks.timing", *session.posargs)
    if "--self-test" not in session.posargs:
        _run(session, "-m", "benchmarks.mnist", *_without_timing_options(session.posargs))


@nox.session(venv_backend="none", requires=["env"])
def lint(session: nox.Session) -> None:
    """ruff on the whole tree, mypy on the library."""
    _run(session, "-m", "ruff", "check", "nplearn", "verification", "benchmarks")
    _run(session, "-m", "mypy", "nplearn")


@nox.session(venv_backend="none", requires=["env"])
def mutants(session: nox.Session) -> None:
    """Mutation testing of the core math with pinned mutmut; writes reports/mutation.md.

    Not part of CI: minutes when every mutant dies, up to half an hour with many survivors.
    ``-- --resume`` keeps earlier verdicts.
    """
    _run(session, "-m", "pip", "install", "-q", "-c", "constraints.txt", "mutmut==3.8.1")
    _run(session, "-m", "verification.mutation_run", *session.posargs)
