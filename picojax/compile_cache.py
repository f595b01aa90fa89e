"""JAX's persistent compilation cache, so a second run of the same model skips XLA.

Compiling the train step is most of the time to first step on a CPU (seconds per depth);
with the cache a re-run, a resume or a sampler restored on the same machine loads the
compiled programs from disk. The cache lives in ``$PICOJAX_COMPILATION_CACHE`` or
``~/.cache/picojax/xla`` (``PICOJAX_COMPILATION_CACHE=off`` disables it); entries are keyed
by the program, the JAX/XLA version and the devices, so a stale one is never used.
"""

from __future__ import annotations

import os
import sys

from picojax import paths

ENV = "PICOJAX_COMPILATION_CACHE"


def directory() -> str | None:
    value = os.environ.get(ENV, "")
    if value.lower() in ("off", "0", "false", "none"):
        return None
    return value or os.path.join(paths.cache_dir(), "xla")


def enable() -> str | None:
    """Turns the cache on for this process; returns its folder (None when disabled).

    Before JAX is imported, JAX reads the setting from the environment (no JAX import
    here, so a verb that never compiles pays nothing); afterwards it is set on jax.config.
    An explicit ``JAX_COMPILATION_CACHE_DIR`` wins.
    """
    folder = directory()
    if folder is None:
        return None
    folder = os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", folder)
    # Cache every program: the small jits of a CPU run each cost a fraction of a second to
    # compile, and the defaults (>= 1 s compile) would skip nearly all of them.
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    if "jax" in sys.modules:
        import jax

        jax.config.update("jax_compilation_cache_dir", folder)
        jax.config.update("jax_persistent_cache_min_compile_time_secs",
                          float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))
    return folder
