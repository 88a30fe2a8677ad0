"""Run provenance for report headers: when, from which commit, on which software and hardware.

Contract
--------
:func:`provenance` returns a flat ``dict[str, str]`` and never raises: whatever cannot be found is
``"unknown"`` (or ``"not installed"``). Its keys, in order: ``date`` (UTC, ISO 8601), ``commit``
(short hash, ``-dirty`` if tracked files changed, ``unknown`` outside a git checkout), then the
library's own facts, :func:`nplearn.doctor.versions` (Python, nplearn and its dependencies, the
suite's packages ``scikit-learn``, ``pandas``, ``torch``, the BLAS library, kernel and threads,
``OPENBLAS_CORETYPE``, CPU, cores, platform), then ``seeds`` if given and any ``extra`` items.
:func:`provenance_markdown` renders such a dict as the ``| item | value |`` table that every report
in ``reports/`` starts with.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from nplearn.doctor import versions

SUITE_PACKAGES = ("scikit-learn", "pandas", "torch")
REPO_ROOT = Path(__file__).resolve().parent.parent


def provenance(
    seeds: int | Sequence[int] | Mapping[str, int] | None = None,
    extra: Mapping[str, object] | None = None,
) -> dict[str, str]:
    """Collect the facts a report needs to be reproduced and compared.

    Args:
        seeds: The run's random seeds: one, a sequence, or a mapping name -> seed.
        extra: More items to append (values are converted with ``str``).

    Returns:
        An ordered ``dict[str, str]`` (keys in the module docstring).
    """
    info = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(),
    }
    info.update(versions(SUITE_PACKAGES))
    if seeds is not None:
        info["seeds"] = _format_seeds(seeds)
    info.update({str(key): str(value) for key, value in (extra or {}).items()})
    return info


def provenance_markdown(info: Mapping[str, object]) -> str:
    """Render provenance as a markdown table for the top of a report.

    Args:
        info: Usually the result of :func:`provenance`.

    Returns:
        ``"| item | value |"`` table text ending in a blank line; ``|`` and newlines in values
        are escaped so each item stays one row.
    """
    rows = [f"| {_cell(key)} | {_cell(value)} |" for key, value in info.items()]
    return "\n".join(["| item | value |", "| --- | --- |", *rows]) + "\n\n"


def git_commit(root: str | os.PathLike[str] = REPO_ROOT) -> str:
    """The short commit hash of the checkout at ``root``, with ``-dirty`` if tracked files changed.

    Untracked files do not count, as in ``git describe --dirty``, and neither do changes under
    ``reports/``: a run rewrites its own report files before it writes the header.

    Args:
        root: The repository root; by default the folder holding the ``nplearn`` package.

    Returns:
        E.g. ``"1a2b3c4"`` or ``"1a2b3c4-dirty"``; ``"unknown"`` if ``root`` is not a git checkout,
        has no commit yet, or git is unavailable.
    """
    root = Path(root)
    if not (root / ".git").exists():  # e.g. an installed package: never report an enclosing repo
        return "unknown"
    head = _git(root, "rev-parse", "--short", "HEAD")
    if not head:
        return "unknown"
    changes = _git(root, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!reports")
    return f"{head}-dirty" if changes else head


def _git(root: Path, *args: str) -> str:
    """Run a read-only git command in ``root``; its stripped output, or "" on any failure."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # never take the index lock
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def _format_seeds(seeds: int | Sequence[int] | Mapping[str, int]) -> str:
    if isinstance(seeds, Mapping):
        return ", ".join(f"{name}={seed}" for name, seed in seeds.items())
    if isinstance(seeds, Sequence) and not isinstance(seeds, str):
        return ", ".join(map(str, seeds))
    return str(seeds)


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")
