"""The README's Python examples import only what ``pip install -e .`` installs.

Contract
--------
The README gives ``pip install -e .`` as the way to use the library alone, and its tour is meant
to run as pasted after that install. So every ``python`` block of the README may import only the
standard library, nplearn and nplearn's own dependencies (its requirements without an extra, as
installed), read statically with ``ast``: nothing is run.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def library_modules() -> set[str]:
    """Top-level import names of nplearn and of the distributions ``pip install -e .`` brings."""
    needed = {Requirement(r) for r in requires("nplearn") or []}
    names = {r.name.lower() for r in needed if r.marker is None}
    return {
        module
        for module, dists in packages_distributions().items()
        if names & {d.lower() for d in dists}
    } | {"nplearn"}


def imported(code: str) -> set[str]:
    """Top-level names of the modules ``code`` imports."""
    out = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            out |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return out


def test_readme_python_blocks_need_only_the_library_install() -> None:
    blocks = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert blocks, "no python block found in the README"
    allowed = library_modules() | set(sys.stdlib_module_names)
    assert {"numpy", "scipy", "tqdm"} <= allowed
    for block in blocks:
        extra = imported(block) - allowed
        assert not extra, f"a README example imports {sorted(extra)}, not in `pip install -e .`"


def test_the_import_check_sees_a_package_beyond_the_library() -> None:
    code = "import numpy as np\nfrom sklearn.model_selection import train_test_split\n"
    assert imported(code) - library_modules() - set(sys.stdlib_module_names) == {"sklearn"}
