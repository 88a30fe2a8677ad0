"""``--baseline-env SPEC``: another Python environment for the A/B's baseline side.

:func:`interpreter`: SPEC is an interpreter's path, or pip requirements (``numpy==2.3.5``) that,
with the worker's other imports (:data:`NEEDS`) pinned by ``constraints.txt``, make a venv cached
under ``.nox/bench-envs/`` (built aside, renamed once complete). :func:`describe` runs :data:`PROBE`
there, pinned as timed: numpy, scipy, BLAS (library, version, kernel, threads), SIMD features;
:func:`differences` names what differs. BenchError (one line): no such interpreter, none with
numpy, a requirement pip cannot install (pip's last error line).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.threads import default_threads, pinned_environment
from benchmarks.timing.sequential import ROOT, BenchError

NEEDS = {"numpy", "scipy", "tqdm", "threadpoolctl"}
PROBE = """import json, numpy, scipy, threadpoolctl
blas = next((p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"), {})
simd = numpy.show_config(mode="dicts").get("SIMD Extensions", {})
print(json.dumps({"numpy": numpy.__version__, "scipy": scipy.__version__,
                  "BLAS": f"{blas.get('internal_api')} {blas.get('version')}",
                  "kernel": blas.get("architecture"), "threads": blas.get("num_threads"),
                  "SIMD": " ".join(simd.get("found", []))}))"""


def _run(*command: str, **options: object) -> subprocess.CompletedProcess[str]:
    """The finished ``command``; its ``stderr`` is its last line on a failure, else empty."""
    done = subprocess.run(command, capture_output=True, text=True, check=False, **options)
    done.stderr = (done.stderr.strip().splitlines() or ["failed"])[-1] if done.returncode else ""
    return done


def interpreter(spec: str) -> str:
    """The Python executable SPEC stands for (building its venv once if it is requirements)."""
    if os.sep in spec or Path(spec).exists():
        if not (Path(spec).is_file() and os.access(spec, os.X_OK)):
            raise BenchError(f"--baseline-env {spec!r}: no such interpreter")
        return spec
    named = {re.split(r"[<>=!~\[; ]", r)[0].lower() for r in spec.split()}
    pins = [line for line in (ROOT / "constraints.txt").read_text().split()
            if line.split("==")[0].lower() in NEEDS - named]  # fmt: skip
    key = hashlib.sha256(" ".join(sorted([*spec.split(), *pins])).encode()).hexdigest()[:12]
    home = ROOT / ".nox" / "bench-envs" / key
    if not (home / "bin" / "python").exists():
        building = home.with_name(f"{key}.{os.getpid()}.tmp")
        print(f"== building a venv for {spec!r} in {home} ==", flush=True)
        try:
            error = _run(sys.executable, "-m", "venv", str(building)).stderr or _run(
                str(building / "bin" / "python"), "-m", "pip", "install", "-q",
                "--disable-pip-version-check", *spec.split(), *pins).stderr  # fmt: skip
            if error:
                raise BenchError(f"--baseline-env {spec!r}: pip: {error.strip()}")
            building.rename(home)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return str(home / "bin" / "python")


def describe(python: str) -> dict[str, str]:
    """What :data:`PROBE` finds in ``python`` (BenchError if it cannot run there)."""
    env = {**os.environ, **pinned_environment(default_threads()), "PYTHONPATH": ""}
    done = _run(python, "-c", PROBE, env=env)
    if done.stderr:
        raise BenchError(f"--baseline-env {python}: cannot run the timing there: {done.stderr}")
    return {key: str(value) for key, value in json.loads(done.stdout).items()}


def differences(base: dict[str, str], tree: dict[str, str]) -> str:
    """``numpy 2.3.5 -> 2.4.6 (BLAS openblas 0.3.29 -> openblas 0.3.31)`` or ``identical ...``."""
    changed = [f"{key} {base[key]} -> {tree[key]}" for key in base if base[key] != tree[key]]
    if not changed:
        return f"identical environments (numpy {tree['numpy']}, {tree['BLAS']})"
    return changed[0] + (f" ({', '.join(changed[1:])})" if changed[1:] else "")
