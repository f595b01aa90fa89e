"""The persistent compilation cache the CLI turns on (picojax.compile_cache)."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = """
from picojax import compile_cache
folder = compile_cache.enable()
import jax, jax.numpy as jnp
jax.jit(lambda x: jnp.tanh(x @ x.T).sum())(jnp.ones((64, 64))).block_until_ready()
print(folder)
"""


def _run(env_value: str, tmp_path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env.update(PICOJAX_COMPILATION_CACHE=env_value, HOME=str(tmp_path / "home"))
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True).stdout.strip()


def test_compiled_programs_land_in_the_cache_folder(tmp_path):
    folder = tmp_path / "xla"
    assert _run(str(folder), tmp_path) == str(folder)
    entries = sorted(p.name for p in folder.iterdir())
    assert any(name.startswith("jit_") for name in entries), entries
    _run(str(folder), tmp_path)  # a second process finds them and adds nothing new for the same program
    assert sorted(p.name for p in folder.iterdir()) == entries


def test_the_cache_can_be_switched_off(tmp_path):
    assert _run("off", tmp_path) == "None"
    assert not (tmp_path / "home" / ".cache" / "picojax" / "xla").exists()
