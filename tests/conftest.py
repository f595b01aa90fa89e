"""Test harness: 8 fake CPU devices, and hardware markers that skip without the hardware.

The device count must be set before JAX initialises its backends, so it happens here at
import time, before any test module imports jax.
"""

import os

# Both knobs: the config flag for this JAX, the XLA flag for subprocesses the tests start.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")  # CI has no accelerator; never probe for one

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_num_cpu_devices", 8)

import picojax.app  # noqa: E402,F401  (registers the built-in tasks, as every entry point does)


def _has(platform: str) -> bool:
    try:
        return bool(jax.devices(platform))
    except RuntimeError:
        return False


def pytest_collection_modifyitems(config, items):
    for marker in ("gpu", "tpu"):
        if any(marker in item.keywords for item in items) and not _has(marker):
            skip = pytest.mark.skip(reason=f"needs a {marker.upper()}")
            for item in items:
                if marker in item.keywords:
                    item.add_marker(skip)
