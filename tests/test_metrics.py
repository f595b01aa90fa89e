"""Metrics: masked loss and bits-per-byte, peak FLOP/s table and cached CPU probe, MFU,
TensorBoard + metrics.jsonl writing (process 0 only) and truncation on resume."""

from __future__ import annotations

import json
import math

import jax.numpy as jnp
import numpy as np
import pytest

from picojax import hardware, losses, writers


def test_uniform_logits_cost_log_vocab_per_masked_token():
    logits = jnp.zeros((2, 3, 16))
    targets = jnp.array([[1, 2, 3], [4, 5, 6]])
    mask = jnp.array([[1, 1, 0], [1, 0, 0]], jnp.float32)
    total, count = losses.masked_loss_sums(logits, targets, mask)
    assert float(count) == 3
    assert float(total) == pytest.approx(3 * math.log(16), rel=1e-6)


def test_bits_per_byte_counts_the_bytes_of_masked_targets():
    token_bytes = jnp.array([0, 1, 2, 3])
    targets = jnp.array([[1, 2, 3, 0]])
    mask = jnp.array([[1, 1, 0, 1]], jnp.float32)
    assert float(losses.target_bytes(targets, mask, token_bytes)) == 3  # 1 + 2 (+ 0 for the special)
    # 6 bytes encoded at a total of 6 * ln 2 nats is exactly 1 bit per byte.
    assert losses.bits_per_byte(6 * math.log(2), 6) == pytest.approx(1.0)


def test_peak_table_matches_device_kinds():
    assert hardware.chip_peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert hardware.chip_peak_flops("NVIDIA H100 PCIe") == 756e12
    assert hardware.chip_peak_flops("TPU v5 lite") == 197e12
    assert hardware.chip_peak_flops("TPU v4") == 275e12
    assert hardware.chip_peak_flops("Some Future Chip") is None
    assert math.isnan(hardware.mfu(1000.0, 6e6, None))
    assert hardware.mfu(1000.0, 6e6, 12e9) == pytest.approx(0.5)


def test_cpu_probe_is_measured_once_and_cached_per_machine(tmp_path):
    cache = tmp_path / "peak.json"
    measured = hardware.cpu_peak_flops(cache)
    assert 1e8 < measured < 1e14  # some plausible FLOP/s for any CPU
    saved = json.loads(cache.read_text())
    (key,) = saved
    assert "cores" in key
    cache.write_text(json.dumps({key: 123.0}))  # a cached value is used as is, never re-measured
    assert hardware.cpu_peak_flops(cache) == 123.0
    # A refresh re-measures but keeps the best figure (load only slows the probe down).
    assert hardware.cpu_peak_flops(cache, refresh=True) > 123.0
    cache.write_text(json.dumps({key: 1e15}))
    assert hardware.cpu_peak_flops(cache, refresh=True) == 1e15


def test_writer_writes_tensorboard_and_jsonl(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    writer = writers.MetricsWriter(tmp_path)
    writer.scalars(1, {"train/loss": 2.5, "train/lr": np.float32(0.1)})
    writer.scalars(2, {"train/loss": float("nan")})
    writer.text(2, "samples/0", "once upon a time")
    writer.hparams({"model.depth": 2, "optim.name": "adamw", "mesh.data": None}, {"eval/val_loss": 1.0})
    writer.close()
    records = writers.read_jsonl(tmp_path / "metrics.jsonl")
    assert records[0] == {"step": 1, "train/loss": 2.5, "train/lr": pytest.approx(0.1)}
    assert records[1] == {"step": 2, "train/loss": "nan"}
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert [e.value for e in events.Scalars("train/loss")][0] == 2.5
    assert "eval/val_loss" in events.Tags()["scalars"]


def test_resumed_writer_drops_steps_after_the_checkpoint_and_others_write_nothing(tmp_path):
    first = writers.MetricsWriter(tmp_path)
    for step in range(1, 8):
        first.scalars(step, {"train/loss": float(step)})
    first.close()
    resumed = writers.MetricsWriter(tmp_path, resume_step=5)  # steps 6, 7 will be logged again
    resumed.scalars(6, {"train/loss": 60.0})
    resumed.close()
    assert [(r["step"], r["train/loss"]) for r in writers.read_jsonl(tmp_path / "metrics.jsonl")] == [
        (1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0), (5, 5.0), (6, 60.0)]
    silent = writers.MetricsWriter(tmp_path / "other", enabled=False)
    silent.scalars(1, {"train/loss": 1.0})
    silent.close()
    assert not (tmp_path / "other").exists()


class FakeTpu:
    """What MFU reads of a TPU device: kind, platform, process, chip coordinates, core."""

    platform = "tpu"

    def __init__(self, kind, coords, core=0, process=0):
        self.device_kind, self.coords, self.core_on_chip, self.process_index = kind, coords, core, process


def test_peak_counts_chips_not_tensorcores_on_tpu_v2_v3():
    # A v3-8: 4 chips, each two TensorCores that JAX shows as two devices.
    v3 = [FakeTpu("TPU v3", (x, y, 0), core) for x in range(2) for y in range(2) for core in (0, 1)]
    assert len(v3) == 8 and hardware.chip_count(v3) == 4
    assert hardware.peak_flops(v3) == 4 * 123e12
    v2 = [FakeTpu("TPU v2", (x, 0, 0), core) for x in range(4) for core in (0, 1)]
    assert hardware.peak_flops(v2) == 4 * 45e12
    # Megacore chips (v4 on) are one device each; a device without coordinates counts by kind.
    v4 = [FakeTpu("TPU v4", (x, y, 0)) for x in range(2) for y in range(2)]
    assert hardware.peak_flops(v4) == 4 * 275e12
    bare = [FakeTpu("TPU v3", None, core) for core in (0, 1)]
    assert hardware.chip_count(bare) == 1
