"""Export a trained picojax model to the runtimes people deploy with.

    from picojax.restore import restore_for_inference
    from picojax.export import export_model

    cfg, model, tokenizer, step = restore_for_inference("runs/rpg")
    result = export_model(model, cfg, tokenizer, fmt="gguf", out="rpg.gguf", dtype="q8_0")

Formats:

- ``hf``: a Hugging Face folder (config.json, model.safetensors, tokenizer files,
  generation_config.json) for transformers: `picojax.export.hf`.
- ``gguf``: one file for llama.cpp / Ollama / llama-cpp-python, f32, f16, bf16 or q8_0:
  `picojax.export.gguf_writer`.

A model without QK-norm exports as Llama, one with QK-norm as Qwen3
(`picojax.export.tensors` explains the mapping). What a target cannot express is refused
with an `ExportError` naming the config field, before anything is written. Writes go to a
temporary name beside ``out`` and are renamed into place at the end, so a refused or
failed export leaves ``out`` as it was (absent, or the previous export).

`picojax.export.check` reloads an export in transformers or llama.cpp and compares it
with picojax. The heavy dependencies (gguf, safetensors; transformers, torch and
llama-cpp-python for checks) are the ``export`` extra and are imported only when used.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from picojax.tables import BYTES, human
from picojax.export.tensors import DTYPES, FORMATS, ExportError, Target, check_exportable, target_for

__all__ = ["export_model", "check_destination", "ExportResult", "ExportError", "FORMATS", "DTYPES", "check_exportable", "target_for",
           "Target", "MARKER"]

MARKER = "picojax_export.json"  # in every hf export folder: marks a folder this tool may replace
GGUF_MAGIC = b"GGUF"


@dataclass
class ExportResult:
    path: Path
    fmt: str
    dtype: str
    architecture: str  # LlamaForCausalLM / Qwen3ForCausalLM (hf), llama / qwen3 (gguf)
    files: dict[str, int]  # file name -> bytes
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(self.files.values())

    def summary(self) -> str:
        size = human(self.total_bytes, ".1f", units=BYTES, step=1024, unscaled=".0f")
        extra = f" ({'; '.join(self.notes)})" if self.notes else ""
        return f"exported {self.fmt} {self.dtype} {self.architecture} to {self.path}: {size} in {self.seconds:.1f} s{extra}"


def check_destination(fmt: str, out: str | os.PathLike) -> Path:
    """The output path, refused (without touching it) when replacing it could destroy
    something that is not an earlier export: a non-empty folder that is not a picojax hf
    export, a file that is not a GGUF, or a folder where a file is asked for."""
    out = Path(out)
    if str(out).startswith("gs://"):
        raise ExportError(f"--out {out}: exports are written to a local path (copy the result to gs:// after)")
    if fmt == "hf":
        if out.is_file():
            raise ExportError(f"--out {out} is a file; an hf export is a folder: choose a new path")
        if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
            raise ExportError(f"--out {out} is a folder that is not a picojax export; choose a new path or empty it")
    else:
        if out.is_dir():
            raise ExportError(f"--out {out} is a folder; a gguf export is one file, e.g. {out / 'model.gguf'}")
        if out.is_file():
            with open(out, "rb") as f:
                if f.read(4) != GGUF_MAGIC:
                    raise ExportError(f"--out {out} exists and is not a GGUF file; choose a new path or remove it")
    return out


def export_model(model, cfg, tokenizer, *, fmt: str, out: str | os.PathLike, dtype: str = "f32",
                 source: dict | None = None, name: str | None = None) -> ExportResult:
    """Exports a model (an `nnx.Module`, `nnx.State` or pure dict of its parameters) with
    its resolved `Config` and `Tokenizer`. ``source`` (e.g. ``{"workdir": ..., "step": ...}``)
    is recorded in the export's metadata."""
    from picojax import __version__
    from picojax.config import resolve
    from picojax.export import vocab as vocab_lib
    from picojax.export.tensors import picojax_params

    cfg = resolve(cfg)
    m = cfg.model
    target = check_exportable(cfg, fmt, dtype, tokenizer_vocab=tokenizer.vocab_size)
    out = check_destination(fmt, out)
    vocab = vocab_lib.read_vocab(tokenizer)
    _check_importable(fmt)
    start = time.perf_counter()
    params = picojax_params(model)
    provenance = {
        "picojax_version": __version__, "format": fmt, "dtype": dtype,
        "architecture": target.hf_architecture if fmt == "hf" else target.gguf_arch,
        "tokenizer_sha256": getattr(tokenizer, "sha256", None), **(source or {}),
        "model": dataclasses.asdict(m),
    }
    name = name or f"picojax {Path(str((source or {}).get('workdir', 'model'))).name}"
    notes: list[str] = []
    created_parent = _make_parent(out)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        if fmt == "hf":
            from picojax import paths
            from picojax.export.hf import write_hf

            files = write_hf(tmp, params, m, target, vocab, dtype, provenance)
            paths.replace_dir(tmp, out)
            architecture = target.hf_architecture
        else:
            from picojax.export.gguf_writer import write_gguf

            info = write_gguf(tmp, params, m, target, vocab, dtype, name, task=cfg.data.task)
            if info["fallback_f16"]:
                notes.append(f"{len(info['fallback_f16'])} matrices with rows not a multiple of 32 kept as f16")
            os.replace(tmp, out)
            files = {out.name: out.stat().st_size}
            architecture = target.gguf_arch
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
        if created_parent is not None:
            _remove_empty_parents(created_parent, out.parent)
        raise
    return ExportResult(out, fmt, dtype, architecture, files, time.perf_counter() - start, notes)


def _check_importable(fmt: str) -> None:
    import importlib

    for module, package in (("safetensors", "safetensors"),) if fmt == "hf" else (("gguf", "gguf"),):
        try:
            importlib.import_module(module)
        except ImportError:
            raise ExportError(f"--format {fmt} needs the {package} package (pip install 'picojax[export]')") from None


def _make_parent(out: Path) -> Path | None:
    """Creates out's missing parent folders; returns the topmost one it created (or None)."""
    parent = out.parent
    missing = None
    while not parent.exists():
        missing = parent
        parent = parent.parent
    if missing is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    return missing


def _remove_empty_parents(top: Path, deepest: Path) -> None:
    p = deepest
    while True:
        try:
            p.rmdir()
        except OSError:
            return
        if p == top:
            return
        p = p.parent
