"""What nplearn runs on, and whether a faster BLAS kernel is there for the asking.

``nplearn.show_config()`` or ``python -m nplearn.doctor`` prints the versions, the BLAS library,
its kernel and threads, and checks the kernel: OpenBLAS picks a kernel for the CPU when it loads
(or takes the one ``OPENBLAS_CORETYPE`` forces), and an AVX2 kernel on an AVX-512 CPU makes every
matrix product of a training step markedly slower. The check times one 100x784x128 float32 product
(the first of a batch-100 step) on one thread under each kernel this CPU's instruction set runs,
one subprocess per kernel (the variable is read only when the library loads), and says which
``OPENBLAS_CORETYPE`` is faster than the kernel in use and by how much.

:func:`versions` is the one source of these facts (the suite's report headers use it). BLAS
details come from threadpoolctl when it is installed (imported only here, on call), otherwise from
NumPy's build configuration, without kernel or threads. Nothing here raises for a missing fact.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from typing import Any, TextIO

__all__ = ["advice", "kernel_times", "show_config", "supported_coretypes", "versions"]

UNKNOWN = "unknown"
VAR = "OPENBLAS_CORETYPE"
#: OpenBLAS x86-64 kernels and the CPU flags (``/proc/cpuinfo``) each one needs.
CORETYPES: dict[str, tuple[str, ...]] = {
    "Prescott": ("pni",),
    "Nehalem": ("sse4_2",),
    "Sandybridge": ("avx",),
    "Haswell": ("avx2", "fma"),
    "Zen": ("avx2", "fma"),
    "SkylakeX": ("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"),
    "Cooperlake": ("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd", "avx512_bf16"),
}
#: A kernel is worth switching to when it is this much faster than the one in use.
WORTH = 1.05
_PROBE = """
import json, time
import numpy as np
arch = ""
try:
    from threadpoolctl import threadpool_info
    arch = next((p.get("architecture") or "" for p in threadpool_info()
                 if p.get("internal_api") == "openblas"), "")
except ImportError:
    pass
rng = np.random.default_rng(0)
a, b = rng.random((100, 784), np.float32), rng.random((784, 128), np.float32)
c, best = np.empty((100, 128), np.float32), float("inf")
for i in range({calls}):
    start = time.perf_counter()
    np.matmul(a, b, out=c)
    best = min(best, time.perf_counter() - start) if i >= 20 else best
print(json.dumps({{"architecture": arch, "seconds": best}}))
"""


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu() -> tuple[str, set[str]]:
    """The CPU model and its flags (empty where ``/proc/cpuinfo`` is missing)."""
    model, flags = platform.processor() or UNKNOWN, set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    return model, flags


def _blas() -> dict[str, str]:
    """BLAS library, kernel and threads (threadpoolctl), or NumPy's build config without it."""
    try:
        from threadpoolctl import threadpool_info

        pools = threadpool_info()
    except ImportError:
        import numpy

        try:
            name = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
        except Exception:
            name = UNKNOWN
        return {"BLAS": f"{name} (install threadpoolctl for its kernel and threads)"}
    except Exception as exc:  # a broken library: report it, never fail
        return {"BLAS": f"{UNKNOWN} ({type(exc).__name__}: {exc})"}
    blas = [p for p in pools if p.get("user_api") == "blas"]
    others = [p for p in pools if p.get("user_api") != "blas"]
    out = {
        "BLAS": "; ".join(
            f"{p.get('internal_api')} {p.get('version')} "
            f"({os.path.basename(p.get('filepath') or '?')})"
            for p in blas
        )
        or "none loaded",
        "BLAS kernel": "; ".join(str(p.get("architecture") or UNKNOWN) for p in blas) or UNKNOWN,
        "BLAS threads": "; ".join(str(p.get("num_threads")) for p in blas) or UNKNOWN,
    }
    if others:
        out["OpenMP"] = "; ".join(
            f"{p.get('internal_api')} ({p.get('num_threads')} threads)" for p in others
        )
    return out


def versions(packages: tuple[str, ...] = ()) -> dict[str, str]:
    """The facts to quote in a bug report or a benchmark header.

    Args:
        packages: more distributions whose versions to list after nplearn's own dependencies.

    Returns:
        ``python``, ``nplearn``, ``numpy``, ``scipy``, ``tqdm``, then ``packages`` (a version or
        ``not installed``; never imported), ``BLAS`` (library, version, file),
        ``BLAS kernel`` and ``BLAS threads`` (with threadpoolctl), ``OpenMP`` (if a pool is
        loaded), ``OPENBLAS_CORETYPE`` (its value or ``not set``), ``CPU``, ``cores``,
        ``platform``; every value a string.
    """
    import numpy  # noqa: F401 - loads the BLAS, so that it can be described

    info = {"python": platform.python_version()}
    names = ("nplearn", "numpy", "scipy", "tqdm", *packages)
    info.update({name: _version(name) for name in names})
    info.update(_blas())
    info[VAR] = os.environ.get(VAR) or "not set"
    info["CPU"] = _cpu()[0]
    info["cores"] = str(os.cpu_count() or UNKNOWN)
    info["platform"] = platform.platform()
    return info


def supported_coretypes(flags: set[str] | None = None) -> list[str]:
    """The OpenBLAS kernels (``OPENBLAS_CORETYPE`` values) this CPU can run, oldest first.

    Args:
        flags: CPU flags; by default this machine's (``/proc/cpuinfo``). Empty on other systems.
    """
    flags = _cpu()[1] if flags is None else flags
    return [name for name, needs in CORETYPES.items() if set(needs) <= flags]


def kernel_times(coretypes: list[str], calls: int = 300) -> dict[str, dict[str, Any]]:
    """Time the 100x784x128 sgemm on one thread under each kernel, one subprocess each.

    Args:
        coretypes: ``OPENBLAS_CORETYPE`` values; ``""`` means the environment as it is.
        calls: products timed per kernel (the fastest counts).

    Returns:
        ``{coretype: {"architecture": kernel OpenBLAS reports, "seconds": best time}}``;
        a kernel whose subprocess fails is left out, and so is a coretype that runs the same
        kernel as one listed before it (``Zen`` runs OpenBLAS's Haswell kernel).
    """
    out: dict[str, dict[str, Any]] = {}
    for name in coretypes:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        if name:
            env[VAR] = name
        try:
            done = subprocess.run(
                [sys.executable, "-c", _PROBE.format(calls=calls)],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            continue
        twin = [k for k, v in out.items() if k and v["architecture"] == result["architecture"]]
        if name and twin and result["architecture"]:
            if name != result["architecture"]:
                continue
            del out[twin[0]]  # keep the coretype named after the kernel it runs
        out[name] = result
    return out


def advice(times: dict[str, dict[str, Any]], forced: str | None) -> tuple[str | None, str]:
    """The faster kernel, if any, and one sentence about it.

    Args:
        times: :func:`kernel_times` including ``""`` (the kernel in use).
        forced: the value of ``OPENBLAS_CORETYPE`` if set.

    Returns:
        ``(coretype or None, message)``: the coretype to set when it is :data:`WORTH` faster.
    """
    current = times.get("")
    others = {k: v for k, v in times.items() if k and v.get("seconds")}
    if not current or not others:
        return None, "no OpenBLAS kernel could be timed here"
    best = min(others, key=lambda k: others[k]["seconds"])
    in_use = current.get("architecture") or "the kernel in use"
    speedup = current["seconds"] / others[best]["seconds"]
    why = f"forced by {VAR}={forced}" if forced else "chosen by OpenBLAS for this CPU"
    if speedup < WORTH or others[best].get("architecture") == current.get("architecture"):
        return None, f"{in_use} ({why}) is the fastest kernel this CPU supports"
    how = f"{VAR} is set to {forced!r} in your environment: change it to" if forced else "set"
    return best, (
        f"{VAR}={best} runs a 100x784x128 float32 product {speedup:.2f}x faster "
        f"than {in_use} ({why}, 1 thread); {how} {VAR}={best} before starting Python"
    )


def show_config(file: TextIO | None = None, check_kernels: bool = True) -> dict[str, str]:
    """Print :func:`versions` and the kernel check; return the printed facts.

    Args:
        file: where to print (default ``sys.stdout``).
        check_kernels: time the kernels (a few seconds); False prints the versions only.

    Returns:
        :func:`versions` plus ``kernel check`` (the sentence) when the check ran.
    """
    info = versions()
    if check_kernels:
        candidates = supported_coretypes()
        _, info["kernel check"] = advice(kernel_times(["", *candidates]), os.environ.get(VAR))
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:>{width}}: {value}", file=file or sys.stdout)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nplearn.doctor", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--no-kernel-check", action="store_true", help="versions only")
    parser.add_argument(
        "--fastest-coretype",
        action="store_true",
        help="print only the fastest OPENBLAS_CORETYPE this CPU supports (or nothing)",
    )
    args = parser.parse_args(argv)
    if args.fastest_coretype:
        times = kernel_times(supported_coretypes())
        print(min(times, key=lambda k: times[k]["seconds"]) if times else "")
        return 0
    show_config(check_kernels=not args.no_kernel_check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
