"""The README's tour imports only what ``pip install -e .`` installs; its "Check your own
library" section names every factory and convention of the adapter protocol.

Contract
--------
The README gives ``pip install -e .`` as the way to use the library alone, and its tour (the
section :data:`TOUR`) is meant to run as pasted after that install. So every ``python`` block of
that section may import only the standard library, nplearn and nplearn's own dependencies (its
requirements without an extra, as installed), read statically with ``ast``: nothing is run.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement

from verification.conformance.target import CONVENTIONS, FACTORIES

README = Path(__file__).resolve().parent.parent / "README.md"
TOUR = "## A short tour"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def tour_blocks() -> list[str]:
    """The ``python`` blocks of the README's tour section (up to the next ``## `` heading)."""
    text = README.read_text(encoding="utf-8")
    assert TOUR in text, f"the README has no section starting {TOUR!r}"
    section = text.split(TOUR, 1)[1].split("\n## ", 1)[0]
    return BLOCK.findall(section)


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


def test_the_readme_tour_needs_only_the_library_install() -> None:
    blocks = tour_blocks()
    assert blocks, "no python block found in the README's tour"
    allowed = library_modules() | set(sys.stdlib_module_names)
    assert {"numpy", "scipy", "tqdm"} <= allowed
    for block in blocks:
        extra = imported(block) - allowed
        assert not extra, f"the README tour imports {sorted(extra)}, not in `pip install -e .`"


def test_the_import_check_sees_a_package_beyond_the_library() -> None:
    code = "import numpy as np\nfrom sklearn.model_selection import train_test_split\n"
    assert imported(code) - library_modules() - set(sys.stdlib_module_names) == {"sklearn"}


OWN_LIBRARY = "## Check your own library"


def own_library_section() -> str:
    text = README.read_text(encoding="utf-8")
    assert OWN_LIBRARY in text, f"the README has no section starting {OWN_LIBRARY!r}"
    return text.split(OWN_LIBRARY, 1)[1].split("\n## ", 1)[0]


def test_the_readme_names_every_factory() -> None:
    """An adapter author learns every factory of the protocol from the README."""
    section = own_library_section()
    missing = [name for name in FACTORIES if not re.search(rf"\b{name}\b", section)]
    assert not missing, f"the README's '{OWN_LIBRARY}' does not name {missing}"


def test_the_readme_lists_every_convention_and_value() -> None:
    """Each piece's row of the conventions table names each key and every allowed value."""
    lines = own_library_section().splitlines()
    for piece, keys in CONVENTIONS.items():
        rows = [line for line in lines if line.startswith("| ") and f"`{piece}`" in
                line.split("|")[1]]
        assert rows, f"no conventions row for {piece}"
        for key, allowed in keys.items():
            for word in (key, *map(str, allowed)):
                assert f"`{word}`" in rows[0], f"{piece}: the README's row lacks `{word}`"
