"""``--baseline-env SPEC``: another Python environment for the A/B's baseline side.

Contract
--------
:func:`interpreter` turns SPEC into a Python executable: a path to an interpreter as given, or pip
requirements (``numpy==2.3.5``, space-separated), installed with the worker's other dependencies
pinned by ``constraints.txt`` into a venv cached under ``.nox/bench-envs/`` (built in a temporary
folder, renamed once complete). :func:`describe` runs :data:`PROBE` in an interpreter under the
timing's thread pinning: numpy, scipy, BLAS library, version, kernel and threads, NumPy's SIMD
features. :func:`differences` names what differs between two sides, for the verdict line.
BenchError (exit 2, one line): an interpreter that does not exist or lacks numpy, a requirement
pip cannot install (its last error line).
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

#: What the timing worker imports besides nplearn's own folder.
NEEDS = ("numpy", "scipy", "tqdm", "threadpoolctl")
PROBE = """import json, numpy, scipy
from threadpoolctl import threadpool_info
blas = next((p for p in threadpool_info() if p["user_api"] == "blas"), {})
simd = numpy.show_config(mode="dicts").get("SIMD Extensions", {})
print(json.dumps({"numpy": numpy.__version__, "scipy": scipy.__version__,
                  "BLAS": f"{blas.get('internal_api')} {blas.get('version')}",
                  "kernel": blas.get("architecture"), "threads": blas.get("num_threads"),
                  "SIMD": " ".join(simd.get("found", []))}))"""


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def interpreter(spec: str) -> str:
    """The Python executable SPEC stands for (building its venv once if it is requirements)."""
    if os.sep in spec or Path(spec).exists():
        if not (Path(spec).is_file() and os.access(spec, os.X_OK)):
            raise BenchError(f"--baseline-env {spec!r}: no such interpreter")
        return spec
    wanted = spec.split()
    pins = [line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()
            if _name(line) in set(NEEDS) - {_name(r) for r in wanted}]  # fmt: skip
    requirements = [*wanted, *pins]
    digest = hashlib.sha256(" ".join(sorted(requirements)).encode()).hexdigest()[:12]
    home = ROOT / ".nox" / "bench-envs" / digest
    python = home / "bin" / "python"
    if not python.exists():
        building = home.with_name(f"{digest}.{os.getpid()}.tmp")
        shutil.rmtree(building, ignore_errors=True)
        print(f"== building a venv for {spec!r} in {home} ==", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(building)], check=True)
            pip = subprocess.run([str(building / "bin" / "python"), "-m", "pip", "install", "-q",
                                  "--disable-pip-version-check", *requirements],
                                 capture_output=True, text=True)  # fmt: skip
            if pip.returncode:
                lines = [line for line in pip.stderr.splitlines() if line.strip()] or ["failed"]
                raise BenchError(f"--baseline-env {spec!r}: pip: {lines[-1].strip()}")
            building.rename(home)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return str(python)


def describe(python: str) -> dict[str, str]:
    """numpy, scipy, BLAS, kernel, threads and SIMD of ``python`` (BenchError without numpy)."""
    env = {**os.environ, **pinned_environment(default_threads())}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, env=env)
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise BenchError(f"--baseline-env {python}: cannot run the timing there: {last}")
    return {key: str(value) for key, value in json.loads(done.stdout).items()}


def differences(base: dict[str, str], tree: dict[str, str]) -> str:
    """``numpy 2.3.5 -> 2.4.6 (BLAS openblas 0.3.29 -> 0.3.31)``, or the sides' shared numpy."""
    changed = [f"{key} {base[key]} -> {tree[key]}" for key in base if base[key] != tree[key]]
    if not changed:
        return f"identical environments (numpy {tree['numpy']}, {tree['BLAS']})"
    return changed[0] + (f" ({', '.join(changed[1:])})" if changed[1:] else "")
