"""What a run reports as it goes: TensorBoard events and a JSON-lines log.

`MetricsWriter` writes TensorBoard events under ``WORKDIR/tb/`` (tensorboardX: no
TensorFlow needed) and one JSON object per logged step to ``WORKDIR/metrics.jsonl``.
Only process 0 writes; the others get a writer that drops everything. WORKDIR may be
``gs://…``.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Mapping

import numpy as np

from picojax import paths


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
        from picojax.run_dir import RunDir

        run = RunDir(workdir)
        self.workdir = run.path
        self.tb = None
        self._jsonl = None
        self._last_step: dict[str, int] = {}  # tag -> last step written (hparams reuse them)
        self._last_value: dict[str, float] = {}  # tag -> last value written (the HParams tab's final evals)
        if not enabled:
            return
        SummaryWriter = _summary_writer_class()

        if paths.is_remote(self.workdir):
            _use_closing_once_gcs_writer()
        paths.ensure_dir(self.workdir)
        jsonl_path = run.metrics_path
        # A run killed after its last checkpoint logged steps that the resumed run will log
        # again: drop them so every step appears once. TensorBoard hides events at steps
        # >= purge_step, and step `resume_step` itself is done (it is in the checkpoint).
        truncate_jsonl(jsonl_path, resume_step)
        # Event files are named by the second and the host: a suffix keeps a run resumed in
        # the same second from overwriting its predecessor's file, and sorts it after it.
        self.tb = SummaryWriter(str(run.tensorboard), purge_step=resume_step + 1 if resume_step else None,
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
            self._last_value[name] = value
        self._jsonl.write(json.dumps({"step": int(step), **{k: _json_float(v) for k, v in clean.items()}}) + "\n")

    def text(self, step: int, tag: str, text: str) -> None:
        if self.enabled:
            self.tb.add_text(tag, text, step)

    def hparams(self, hparams: Mapping[str, Any], metrics: Mapping[str, float], step: int = 0) -> None:
        """The run's config in TensorBoard's HParams tab, next to its final metrics (written
        at `step`, the run's last: at step 0 they would plot as a point at the curve's start).

        A config's flat ``model.*`` keys also bring the model's size and compute
        (`model_hparams`), and the per-split eval scalars logged at `step` (the task evals
        at the end, ``eval/<task>/<split>/<metric>``, no deeper) join `metrics`, so runs of
        different sizes compare in the HParams tab by parameters, MB and final evals.
        """
        if not self.enabled:
            return
        from tensorboardX.summary import hparams as hparams_summary

        hparams = {**hparams, **model_hparams(hparams)}
        metrics = {**{k: v for k, v in self._last_value.items() if _final_eval(k) and self._last_step.get(k) == step},
                   **metrics}
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


def model_hparams(flat: Mapping[str, Any]) -> dict:
    """Size and compute of the model a flat config (``model.depth``, ``train.steps``, ...)
    describes: parameters, MB of weights in fp32/bf16/int8 (2^20 bytes), FLOPs per token
    and, with ``train.*``, training tokens and FLOPs. Empty when the keys do not describe a
    resolved model."""
    import dataclasses

    from picojax.config import ModelConfig, flops_per_token, param_count

    names = {f.name for f in dataclasses.fields(ModelConfig)}
    fields = {k.split(".", 1)[1]: v for k, v in flat.items() if k.startswith("model.") and k.split(".", 1)[1] in names}
    try:
        model = ModelConfig(**fields)
        count, per_token = param_count(model), flops_per_token(model)
    except (TypeError, ValueError, ZeroDivisionError):  # not a resolved model config
        return {}
    out = {"size/params": count.total, "size/params_scaling": count.scaling, "size/mb_fp32": count.total * 4 / 2**20,
           "size/mb_bf16": count.total * 2 / 2**20, "size/mb_int8": count.total / 2**20,
           "compute/flops_per_token": per_token}
    try:
        tokens = int(flat["train.steps"]) * int(flat["train.batch_size"]) * model.seq_len
    except (KeyError, TypeError, ValueError):
        return out
    return {**out, "compute/tokens": tokens, "compute/train_flops": per_token * tokens}


def _final_eval(tag: str) -> bool:
    """``eval/<name>`` and ``eval/<task>/<split>/<metric>``: a split's figures, not their breakdowns."""
    parts = tag.split("/")
    return parts[0] == "eval" and len(parts) <= 4


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


def _summary_writer_class():
    """tensorboardX's SummaryWriter, imported without torch: tensorboardX imports torch at
    module level (when installed) only to accept torch tensors, which picojax never passes,
    and that import alone costs ~2 s of a run's time to first step on a CPU."""
    import sys

    if "tensorboardX" in sys.modules or "torch" in sys.modules:
        from tensorboardX import SummaryWriter

        return SummaryWriter
    sys.modules["torch"] = None  # `import torch` now raises ImportError, which tensorboardX expects
    try:
        from tensorboardX import SummaryWriter
    finally:
        del sys.modules["torch"]
    return SummaryWriter
