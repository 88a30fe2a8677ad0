"""Tests of nplearn.doctor: the facts it prints, the kernels it finds and the advice it gives."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

from nplearn import doctor

AVX2 = {"pni", "sse4_2", "avx", "avx2", "fma"}
AVX512 = AVX2 | {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"}


def test_versions_name_the_library_its_dependencies_and_the_blas() -> None:
    info = doctor.versions()
    for key in (
        "python",
        "nplearn",
        "numpy",
        "scipy",
        "tqdm",
        "BLAS",
        "BLAS kernel",
        "BLAS threads",
        "OPENBLAS_CORETYPE",
        "CPU",
        "cores",
        "platform",
    ):
        assert isinstance(info[key], str) and info[key], key
    assert info["numpy"] == np.__version__
    assert any(lib in info["BLAS"] for lib in ("openblas", "mkl", "blis")), info["BLAS"]


def test_import_loads_no_suite_library_and_works_without_threadpoolctl() -> None:
    code = (
        "import sys; sys.modules['threadpoolctl'] = None\n"
        "import nplearn, nplearn.doctor\n"
        "info = nplearn.doctor.versions()\n"
        "assert 'BLAS kernel' not in info and 'threadpoolctl' in info['BLAS'], info\n"
        "heavy = {'pandas', 'sklearn', 'torch', 'matplotlib'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "print(nplearn.show_config is nplearn.doctor.show_config)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (set(), []),
        (AVX2, ["Prescott", "Nehalem", "Sandybridge", "Haswell", "Zen"]),
        (AVX512, ["Prescott", "Nehalem", "Sandybridge", "Haswell", "Zen", "SkylakeX"]),
    ],
)
def test_supported_coretypes_follow_the_cpu_flags(flags: set[str], expected: list[str]) -> None:
    assert doctor.supported_coretypes(flags) == expected


def _times(current: tuple[str, float], **others: float) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {"": {"architecture": current[0], "seconds": current[1]}}
    out.update({k: {"architecture": k, "seconds": v} for k, v in others.items()})
    return out


def test_advice_names_the_faster_kernel_by_how_much_and_the_variable() -> None:
    times = _times(("Haswell", 177e-6), Haswell=177e-6, SkylakeX=106e-6)
    best, forced = doctor.advice(times, "Haswell")
    assert best == "SkylakeX"
    assert "1.67x faster than Haswell" in forced and "set to 'Haswell'" in forced
    best, chosen = doctor.advice(times, None)
    assert best == "SkylakeX" and "chosen by OpenBLAS" in chosen
    assert "set OPENBLAS_CORETYPE=SkylakeX" in chosen


def test_advice_is_quiet_when_the_kernel_in_use_is_the_fastest() -> None:
    times = _times(("SkylakeX", 106e-6), Haswell=177e-6, SkylakeX=106e-6)
    assert doctor.advice(times, None)[0] is None
    within = _times(("SkylakeX", 106e-6), Haswell=106e-6 / (doctor.WORTH - 0.01))
    assert doctor.advice(within, None)[0] is None
    assert doctor.advice({}, None) == (None, "no OpenBLAS kernel could be timed here")


def test_a_forced_coretype_reaches_the_probe() -> None:
    aliases = ("Zen", "Cooperlake")  # run the Haswell and SkylakeX kernels
    names = [n for n in doctor.supported_coretypes() if n not in aliases][-1:]
    times = doctor.kernel_times(["", *names], calls=30)
    assert times[""]["seconds"] > 0
    for name in names:  # the most capable kernel runs, and reports its own name
        assert times[name]["architecture"] == name


def test_show_config_prints_every_fact() -> None:
    out = io.StringIO()
    info = doctor.show_config(out, check_kernels=False)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(info) and all(
        f"{k}: {v}" in lines[i] for i, (k, v) in enumerate(info.items())
    )


def test_fastest_coretype_prints_one_supported_name() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nplearn.doctor", "--fastest-coretype"],
        capture_output=True,
        text=True,
        check=True,
    )
    name = done.stdout.strip()
    assert name in doctor.supported_coretypes() or (name == "" and not doctor.supported_coretypes())
