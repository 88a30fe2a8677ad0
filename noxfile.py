"""The project's entry points: ``nox -s verify`` (tests) and ``nox -s bench`` (main job).

Every session installs nplearn (editable, so reports can name the git commit)
with its extras, pinned by ``constraints.txt``. The data folder comes from
``NPLEARN_DATA_DIR`` (default: ``data/``; the build machines use
``../shared/data``). Extra arguments go to the session's command, e.g.
``nox -s bench -- --quick`` or ``nox -s verify -- -k gradcheck``.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["verify"]
nox.options.reuse_existing_virtualenvs = True


def _install(session: nox.Session, extras: str) -> None:
    session.install("-c", "constraints.txt", "-e", f".[{extras}]")


@nox.session
def verify(session: nox.Session) -> None:
    """Run the verification suite; it writes reports/verification.md."""
    _install(session, "verification,oracle")
    session.run("python", "-m", "pytest", "verification", *session.posargs)


@nox.session
def oracle(session: nox.Session) -> None:
    """Only the PyTorch oracle tests (every layer and loss against torch, float64)."""
    _install(session, "verification,oracle")
    session.run(
        "python", "-m", "pytest", "verification", "-m", "oracle",
        "--verification-report", "none",  # keep the full suite's report
        *session.posargs,
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Timings with the ratio gate, then the MNIST reproduction; writes reports/.

    ``nox -s bench -- --quick`` is the short mode CI runs.
    """
    _install(session, "benchmarks,oracle")
    session.run("python", "-m", "benchmarks.timing", *session.posargs)
    session.run("python", "-m", "benchmarks.mnist", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the whole tree, mypy on the library."""
    _install(session, "lint")
    session.run("python", "-m", "ruff", "check", "nplearn", "verification", "benchmarks")
    session.run("python", "-m", "mypy", "nplearn")
