"""What a run reports: TensorBoard events, a JSON-lines log, FLOPs/MFU, loss and bits-per-byte.

- `MetricsWriter` writes TensorBoard events under ``WORKDIR/tb/`` (tensorboardX: no
  TensorFlow needed) and one JSON object per logged step to ``WORKDIR/metrics.jsonl``.
  Only process 0 writes; the others get a writer that drops everything. WORKDIR may be
  ``gs://…``.
- `peak_flops()` is the backend's peak: a table for GPUs/TPUs, and on CPU a jitted matmul
  probe measured once per machine and cached in ``~/.cache/picojax/peak.json``.
- `token_nll` / `masked_loss_sums` / `bits_per_byte` are the jittable loss helpers shared
  by the train step and the val eval.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any, Mapping, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from picojax import paths

# ----------------------------------------------------------------------------------------
# Losses (jittable).


def token_nll(logits_BxLxV: jax.Array, targets_BxL: jax.Array) -> jax.Array:
    """Negative log-likelihood of each target token, in nats, computed in float32."""
    return optax.softmax_cross_entropy_with_integer_labels(logits_BxLxV.astype(jnp.float32), targets_BxL)


def masked_loss_sums(logits_BxLxV, targets_BxL, loss_mask_BxL) -> tuple[jax.Array, jax.Array]:
    """(sum of masked token NLL, number of masked tokens): sums, so micro-batches and
    devices combine exactly; the mean is taken once at the end."""
    mask = loss_mask_BxL.astype(jnp.float32)
    return jnp.sum(token_nll(logits_BxLxV, targets_BxL) * mask), jnp.sum(mask)


def target_bytes(targets_BxL, loss_mask_BxL, token_bytes_V) -> jax.Array:
    """UTF-8 bytes covered by the masked targets (specials count 0)."""
    return jnp.sum(token_bytes_V[targets_BxL].astype(jnp.float32) * loss_mask_BxL.astype(jnp.float32))


def bits_per_byte(nll_sum_nats: float, n_bytes: float) -> float:
    """Tokenizer-independent loss: total nats -> bits, over the bytes they encode."""
    return float(nll_sum_nats) / (math.log(2) * max(float(n_bytes), 1.0))


# ----------------------------------------------------------------------------------------
# Peak FLOP/s and MFU.

# Dense bf16 peak per chip (vendor figures). MFU is quoted against these even when a run
# computes in f32, as PaLM/nanoGPT do, so figures compare across dtypes.
PEAK_FLOPS_BF16 = {
    "h200": 989e12, "h100 sxm": 989e12, "h100 pcie": 756e12, "h100": 989e12, "gh200": 989e12,
    "a100": 312e12, "a10g": 125e12, "a10": 125e12, "l40s": 362e12, "l4": 121e12,
    "rtx 4090": 165e12, "rtx 3090": 71e12, "v100": 125e12, "t4": 65e12,
    "tpu v2": 45e12, "tpu v3": 123e12, "tpu v4": 275e12, "tpu v5 lite": 197e12, "tpu v5e": 197e12,
    "tpu v5p": 459e12, "tpu v5": 459e12, "tpu v6 lite": 918e12, "tpu v6e": 918e12, "tpu7x": 2307e12,
}

CACHE_PATH = Path(os.environ.get("PICOJAX_CACHE", Path.home() / ".cache" / "picojax")) / "peak.json"


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
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cached, indent=1) + "\n")
        os.replace(tmp, cache_path)
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
    return None if per_chip is None else per_chip * len(devices)


def mfu(tokens_per_sec: float, flops_per_token: float, peak: Optional[float]) -> float:
    """Model FLOPs utilisation: achieved model FLOP/s over the peak (NaN if unknown)."""
    return tokens_per_sec * flops_per_token / peak if peak else float("nan")


# ----------------------------------------------------------------------------------------
# Writers.


class MetricsWriter:
    """TensorBoard + metrics.jsonl for one run directory; a no-op off process 0.

    The run directory may be ``gs://…``: tensorboardX then writes its event file through
    google-cloud-storage (the whole object re-uploaded at a flush when it grew), and
    metrics.jsonl, an object that cannot be appended to, is kept in memory and re-uploaded
    whole every `flush_secs` and on flush/close.
    """

    def __init__(self, workdir: str | os.PathLike, *, enabled: bool = True, resume_step: int = 0,
                 flush_secs: int = 30):
        self.enabled = enabled
        self.workdir = paths.run_path(workdir)
        self.tb = None
        self._jsonl = None
        self._last_step: dict[str, int] = {}  # tag -> last step written (hparams reuse them)
        if not enabled:
            return
        from tensorboardX import SummaryWriter

        if paths.is_remote(self.workdir):
            _use_closing_once_gcs_writer()
        paths.ensure_dir(self.workdir)
        jsonl_path = self.workdir / "metrics.jsonl"
        # A run killed after its last checkpoint logged steps that the resumed run will log
        # again: drop them so every step appears once. TensorBoard hides events at steps
        # >= purge_step, and step `resume_step` itself is done (it is in the checkpoint).
        truncate_jsonl(jsonl_path, resume_step)
        # Event files are named by the second and the host: a suffix keeps a run resumed in
        # the same second from overwriting its predecessor's file, and sorts it after it.
        self.tb = SummaryWriter(str(self.workdir / "tb"), purge_step=resume_step + 1 if resume_step else None,
                                flush_secs=flush_secs, filename_suffix=f".{resume_step:08d}.{os.getpid()}")
        if paths.is_remote(jsonl_path):
            self._jsonl = _RemoteJsonl(jsonl_path, flush_secs)
        else:
            self._jsonl = open(jsonl_path, "a", buffering=1)

    def scalars(self, step: int, values: Mapping[str, float]) -> None:
        if not self.enabled:
            return
        clean = {k: _to_float(v) for k, v in values.items()}
        for name, value in clean.items():
            self.tb.add_scalar(name, value, step)
            self._last_step[name] = int(step)
        self._jsonl.write(json.dumps({"step": int(step), **{k: _json_float(v) for k, v in clean.items()}}) + "\n")

    def text(self, step: int, tag: str, text: str) -> None:
        if self.enabled:
            self.tb.add_text(tag, text, step)

    # tensorboardX-style spellings, for hooks written against a SummaryWriter.
    def add_scalar(self, tag: str, value: float, global_step: int = 0) -> None:
        self.scalars(global_step, {tag: value})

    def add_text(self, tag: str, text: str, global_step: int = 0) -> None:
        self.text(global_step, tag, text)

    def hparams(self, hparams: Mapping[str, Any], metrics: Mapping[str, float], step: int = 0) -> None:
        """The run's config in TensorBoard's HParams tab, next to its final metrics (written
        at `step`, the run's last: at step 0 they would plot as a point at the curve's start)."""
        if not self.enabled:
            return
        from tensorboardX.summary import hparams as hparams_summary

        flat = {k: (v if isinstance(v, (bool, int, float, str)) else str(v)) for k, v in hparams.items()}
        for summary in hparams_summary(flat, {k: _to_float(v) for k, v in metrics.items()}):
            self.tb.file_writer.add_summary(summary)
        for name, value in metrics.items():
            if self._last_step.get(name) != step:  # the HParams tab reads the run's scalar of that tag
                self.tb.add_scalar(name, _to_float(value), step)

    def flush(self) -> None:
        if self.enabled:
            self.tb.flush()
            self._jsonl.flush()

    def close(self) -> None:
        if self.enabled and self.tb is not None:
            self.tb.close()
            self._jsonl.close()
            self.tb = None


def _use_closing_once_gcs_writer() -> None:
    """tensorboardX's GCS event writer, made to upload only what is new and to stop at close.

    Its writer re-uploads the whole event file on every flush (every `flush_secs`, changed
    or not) and again from `__del__`, which for a closed writer kept alive by
    tensorboardX's atexit hook means one more upload during interpreter shutdown (two
    minutes of retries when the network is gone by then).
    """
    from tensorboardX import record_writer

    class ClosingOnceGCSRecordWriter(record_writer.GCSRecordWriter):
        _uploaded, _closed = 0, False

        def flush(self):
            size = self.buffer.tell()
            if size != self._uploaded and not self._closed:
                super().flush()
                self._uploaded = size

        def close(self):
            self.flush()
            self._closed = True

    class Factory(record_writer.GCSRecordWriterFactory):
        def open(self, path):
            return ClosingOnceGCSRecordWriter(path)

    record_writer.register_writer_factory("gs", Factory())


class _RemoteJsonl:
    """metrics.jsonl on an object store: the lines in memory, the object rewritten whole
    (objects cannot be appended to; each upload replaces the object atomically)."""

    def __init__(self, path, flush_secs: float):
        self.path, self.flush_secs = path, flush_secs
        self.lines = path.read_text().splitlines(keepends=True) if path.exists() else []
        self.uploaded = len(self.lines)
        self.last_upload = time.monotonic()

    def write(self, line: str) -> None:
        self.lines.append(line)
        if time.monotonic() - self.last_upload >= self.flush_secs:
            self.flush()

    def flush(self) -> None:
        if len(self.lines) != self.uploaded:
            paths.write_text_atomic(self.path, "".join(self.lines))
            self.uploaded = len(self.lines)
        self.last_upload = time.monotonic()

    def close(self) -> None:
        self.flush()


def truncate_jsonl(path: str | os.PathLike, keep_through_step: int) -> None:
    """Drops lines logged for steps after `keep_through_step` (atomically)."""
    path = paths.run_path(path)
    if not path.exists():
        return
    lines = path.read_text().splitlines()
    kept = [line for line in lines if _line_step(line) <= keep_through_step]
    if len(kept) != len(lines):
        paths.write_text_atomic(path, "".join(line + "\n" for line in kept))


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Every record of a metrics.jsonl, local or ``gs://`` (for tests and tools)."""
    return [json.loads(line) for line in paths.run_path(path).read_text().splitlines() if line.strip()]


def _line_step(line: str) -> int:
    try:
        return int(json.loads(line).get("step", 0))
    except (ValueError, AttributeError):
        return 0


def _to_float(v: Any) -> float:
    return float(np.asarray(v))


def _json_float(v: float):
    return v if math.isfinite(v) else str(v)  # JSON has no NaN/Inf; keep them readable
