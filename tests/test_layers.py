"""The house's layering: the library never imports the app layer, the tasks or the worlds.

`picojax/*` (outside `picojax/app/`) is the library; `eval/` implements the tasks on top of
it, `data_gen/` holds the worlds, `configs/` the presets, and `picojax/app/` (CLI, verbs,
quickstart, benches) sits above them all. Read from the source with `ast`, so an import
hidden inside a function counts too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("eval", "data_gen", "configs", "picojax.app")


# `python -m picojax` is the app's front door, so the package's __main__ launches the CLI.
ENTRY_POINTS = ("__main__.py",)


def core_modules() -> list[Path]:
    return sorted(p for p in (ROOT / "picojax").rglob("*.py")
                  if p.relative_to(ROOT / "picojax").parts[0] not in ("app", *ENTRY_POINTS))


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            if node.module == "picojax":  # `from picojax import app`
                names.update(f"picojax.{alias.name}" for alias in node.names)
    return names


def _is_forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def test_the_walk_sees_the_library():
    files = {p.relative_to(ROOT).as_posix() for p in core_modules()}
    assert {"picojax/model.py", "picojax/tasks.py", "picojax/run_dir.py", "picojax/train.py"} <= files
    assert not any(f.startswith("picojax/app/") for f in files) and "picojax/__main__.py" not in files
    assert imported_modules(ROOT / "picojax" / "__main__.py") == {"sys", "picojax.app.cli"}  # a launcher only


def test_the_checker_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from eval.rpg.task import TASK\n    from picojax import app\n    import configs.rpg\n")
    assert {m for m in imported_modules(bad) if _is_forbidden(m)} == {"eval.rpg.task", "picojax.app", "configs.rpg"}


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_core_module_imports_the_app_the_tasks_or_the_worlds(path):
    bad = sorted(m for m in imported_modules(path) if _is_forbidden(m))
    assert not bad, f"{path.relative_to(ROOT)} imports {', '.join(bad)}"


def test_no_task_branches_in_the_library():
    """A task's name appears in the library only as the config's default, never in a branch."""
    out = subprocess.run(["git", "grep", "-n", '"rpg"\\|"stories"', "--", "picojax/", ":!picojax/app/"],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        pytest.skip("not a git checkout")
    hits = [line for line in out.stdout.splitlines() if line]
    assert [h.split(":")[0] for h in hits] in ([], ["picojax/config.py"]), hits
    assert all("task: str = " in h for h in hits), hits


def test_importing_the_library_does_not_import_jax_or_the_tasks():
    code = "import sys, picojax.tasks, picojax.config; print('jax' in sys.modules, 'eval' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
