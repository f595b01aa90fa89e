"""The README's map of the house (its "## The house" section) names every module of the
library and the app, and every package of eval/ and data_gen/: a new file gets its line."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Folders whose files the map names one by one; the others (a verb per file, a bench per
# file) are named as a folder.
LISTED = ("picojax", "picojax/app", "picojax/export", "picojax/app/sweep")


def house() -> set[str]:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## The house\n")
    section = text[start:text.index("\n## ", start + 1)]
    return set(re.findall(r"[\w./-]+", section))


def tracked_python_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "picojax", "eval", "data_gen"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [f for f in out.stdout.splitlines() if f.endswith(".py")]


def expected_names(files: list[str]) -> set[str]:
    """The names the map must hold: each file of a `LISTED` folder and the folder itself,
    each other folder of picojax/, each package of eval/ and data_gen/, and data_gen's
    single-module worlds."""
    names = set()
    for f in files:
        folder, _, name = f.rpartition("/")
        top, _, rest = f.partition("/")
        if top == "picojax":
            if folder in LISTED:
                names.add(name)
            if folder != "picojax":
                names.add(folder.rpartition("/")[2] + "/")
        elif folder != top:  # eval/rpg/..., data_gen/stories/...
            names.add(f"{top}/{rest.partition('/')[0]}/")
        elif name != "__init__.py":  # data_gen/pairs.py
            names.add(f)
    return names


def test_the_map_names_every_module_and_package():
    names = expected_names(tracked_python_files())
    assert {"config.py", "export/", "sweep/", "commands/", "eval/rpg/", "data_gen/pairs.py"} <= names
    missing = sorted(names - house())
    assert not missing, f"README.md's 'The house' has no line for: {', '.join(missing)}"
