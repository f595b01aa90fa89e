"""Peak FLOP/s of the devices and MFU.

`peak_flops()` is the backend's peak: a table for GPUs/TPUs, and on CPU a jitted matmul
probe measured once per machine and cached in ``~/.cache/picojax/peak.json``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Optional

import jax
import jax.numpy as jnp

from picojax import paths


# Dense bf16 peak per chip (vendor figures). MFU is quoted against these even when a run
# computes in f32, as PaLM/nanoGPT do, so figures compare across dtypes.
PEAK_FLOPS_BF16 = {
    "h200": 989e12, "h100 sxm": 989e12, "h100 pcie": 756e12, "h100": 989e12, "gh200": 989e12,
    "a100": 312e12, "a10g": 125e12, "a10": 125e12, "l40s": 362e12, "l4": 121e12,
    "rtx 4090": 165e12, "rtx 3090": 71e12, "v100": 125e12, "t4": 65e12,
    "tpu v2": 45e12, "tpu v3": 123e12, "tpu v4": 275e12, "tpu v5 lite": 197e12, "tpu v5e": 197e12,
    "tpu v5p": 459e12, "tpu v5": 459e12, "tpu v6 lite": 918e12, "tpu v6e": 918e12, "tpu7x": 2307e12,
}

CACHE_PATH = Path(paths.cache_dir()) / "peak.json"


def chip_peak_flops(device_kind: str) -> Optional[float]:
    """Table lookup by device kind (longest matching name wins); None if unknown."""
    kind = device_kind.lower()
    matches = [name for name in PEAK_FLOPS_BF16 if name in kind]
    return PEAK_FLOPS_BF16[max(matches, key=len)] if matches else None


def _machine_key() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{platform.node()}|{cpu}|{os.cpu_count()}cores|jax{jax.__version__}"


def measure_matmul_peak(n: int = 2048, dtype: str = "float32", repeats: int = 10, device=None) -> float:
    """FLOP/s of the best of `repeats` jitted n×n matmuls on `device` (default: the first
    device of the default backend). `picojax bench matmul` prints it; MFU on CPU uses it.
    """
    device = device if device is not None else jax.devices()[0]
    a = jax.device_put(jnp.ones((n, n), jnp.dtype(dtype)), device)
    b = jax.device_put(jnp.ones((n, n), jnp.dtype(dtype)), device)
    matmul = jax.jit(lambda x, y: x @ y)
    matmul(a, b).block_until_ready()  # compile and warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def measure_cpu_matmul_peak(n: int = 2048, repeats: int = 10) -> float:
    """The f32 matmul peak of the first CPU device.

    XLA's CPU matmul uses every core from one device, so this is the whole machine's peak
    however many fake devices share it.
    """
    return measure_matmul_peak(n, "float32", repeats, jax.devices("cpu")[0])


def cpu_peak_flops(cache_path: Path = CACHE_PATH, *, refresh: bool = False) -> float:
    """This machine's matmul peak: measured (≈1 s) on the first call, then cached.

    Background load only ever slows the probe down, so the cache keeps the best figure
    seen; `refresh` measures again (benchmarks do, so a probe taken on a busy machine
    gets corrected).
    """
    key = _machine_key()
    try:
        cached = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cached = {}
    known = cached.get(key) if isinstance(cached.get(key), (int, float)) else None
    if known is not None and not refresh:
        return float(known)
    peak = max(measure_cpu_matmul_peak(), known or 0.0)
    cached[key] = peak
    try:
        paths.write_text_atomic(paths.run_path(cache_path), json.dumps(cached, indent=1) + "\n")
    except OSError:
        pass  # a read-only home only costs a re-measure next time
    return peak


def peak_flops(devices=None) -> Optional[float]:
    """Peak FLOP/s of all `devices` (default: every device of the run) together.

    CPU fake devices share one machine, so a CPU run's peak is one probe per process.
    None when the accelerator is not in the table (MFU is then not reported).
    """
    devices = jax.devices() if devices is None else devices
    if devices[0].platform == "cpu":
        return cpu_peak_flops() * len({d.process_index for d in devices})
    per_chip = chip_peak_flops(devices[0].device_kind)
    return None if per_chip is None else per_chip * chip_count(devices)


# JAX devices per chip where a chip's TensorCores are separate devices (no megacore): the
# table's figures are per chip, so these must not be counted once per device.
DEVICES_PER_CHIP = {"tpu v2": 2, "tpu v3": 2}


def chip_count(devices) -> int:
    """How many chips `devices` occupy. TPU devices carry their chip's coordinates (two
    TensorCores of a v2/v3 chip share them, `core_on_chip` 0 and 1); otherwise one device
    per chip, except for the kinds in `DEVICES_PER_CHIP`."""
    if all(getattr(d, "coords", None) is not None for d in devices):
        return len({(getattr(d, "slice_index", 0), d.process_index, tuple(d.coords)) for d in devices})
    kind = devices[0].device_kind.lower()
    per_chip = next((n for name, n in DEVICES_PER_CHIP.items() if name in kind), 1)
    return max(1, -(-len(devices) // per_chip))


def mfu(tokens_per_sec: float, flops_per_token: float, peak: Optional[float]) -> float:
    """Model FLOPs utilisation: achieved model FLOP/s over the peak (NaN if unknown)."""
    return tokens_per_sec * flops_per_token / peak if peak else float("nan")
