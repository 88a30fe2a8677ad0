"""Importing the library loads NumPy, SciPy and tqdm and no other third-party package.

Each check runs in a fresh interpreter, since this test session itself has imported the heavy
packages (torch, hypothesis, ...), and looks at ``sys.modules`` after the imports a user makes.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Packages that the library must not load: the suite's and the benchmarks' dependencies.
FORBIDDEN = ("sklearn", "pandas", "matplotlib", "torch", "threadpoolctl")
#: The library's dependencies, and what the interpreter itself loads outside the standard library
#: (the script, the editable install's finder, setuptools' distutils shim).
ALLOWED = {"nplearn", "numpy", "scipy", "tqdm", "__main__", "_distutils_hack"}


def loaded_after(statement: str) -> set[str]:
    """Top-level names of the modules in ``sys.modules`` after running ``statement`` afresh."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return {name.split(".")[0] for name in json.loads(out.stdout)}


@pytest.mark.parametrize("statement", ["import nplearn", "import nplearn, nplearn.training"])
def test_import_loads_no_heavy_package(statement: str) -> None:
    """After the import, only NumPy, SciPy, tqdm and the standard library are loaded."""
    loaded = loaded_after(statement)
    assert "numpy" in loaded and "nplearn" in loaded
    assert not loaded & set(FORBIDDEN), f"{statement} loaded {sorted(loaded & set(FORBIDDEN))}"
    others = {
        name
        for name in loaded - ALLOWED - set(sys.stdlib_module_names)
        if not name.startswith("__editable__")
    }
    assert not others, f"{statement} loaded packages beyond numpy, scipy and tqdm: {others}"


def test_forbidden_packages_are_seen_when_loaded() -> None:
    """The probe sees a package that is imported (else the test above proves nothing)."""
    assert "threadpoolctl" in loaded_after("import nplearn, threadpoolctl")
