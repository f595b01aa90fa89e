"""Config I/O: presets, dotted-key overrides with type checking, validation, JSON.

`load(preset, overrides)` is what every verb calls: it loads a preset (a file path such as
``configs/rpg.py`` or a built-in name such as ``rpg``), applies ``--set key=value``
overrides, resolves derived fields and validates the result.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import json
import math
import os
import types
import typing
from pathlib import Path
from typing import Any, Iterable, Literal, Optional, Union

from picojax import tasks
from picojax.config import STRATEGY_AXES, Config, resolve
from picojax.errors import ConfigError


# ----------------------------------------------------------------------------------------
# Presets.


# Folders whose ``<name>.py`` files are the presets a bare name refers to. The app layer
# adds the repository's `configs/` (the library itself knows no presets).
PRESET_DIRS: list[Path] = []


def add_preset_dir(path: str | os.PathLike) -> None:
    path = Path(path)
    if path not in PRESET_DIRS:
        PRESET_DIRS.append(path)


def load_preset(spec: str | None) -> Config:
    """Loads a preset: a path to a ``.py`` file defining ``get_config()``, or a preset name."""
    if spec is None:
        return Config()
    if spec.endswith(".py") or os.sep in spec:
        path = Path(spec)
        if not path.is_file():
            raise ConfigError(f"config file not found: {spec}")
    else:
        path = next((d / f"{spec}.py" for d in PRESET_DIRS if (d / f"{spec}.py").is_file()), None)
        if path is None or spec.startswith("_"):
            raise ConfigError(f"no built-in preset {spec!r}; choose one of: {', '.join(preset_names())}")
    module_spec = importlib.util.spec_from_file_location(f"_picojax_preset_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:  # not a .py file: Python has no loader for it
        raise ConfigError(f"config file {spec} is not a Python preset (a .py file defining get_config())")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:  # a preset is user code: report where it broke, on one line
        raise ConfigError(f"config file {spec} failed to load: {type(e).__name__}: {e}") from e
    get_config = getattr(module, "get_config", None)
    if not callable(get_config):
        raise ConfigError(f"config {spec} defines no get_config() function")
    cfg = get_config()
    if not isinstance(cfg, Config):
        raise ConfigError(f"config {spec}: get_config() returned {type(cfg).__name__}, not picojax.config.Config")
    return cfg


def preset_names() -> list[str]:
    return sorted({p.stem for d in PRESET_DIRS for p in d.glob("*.py") if not p.stem.startswith("_")})


# ----------------------------------------------------------------------------------------
# Dotted keys and typed values.


def flat_keys(cfg: Any = None, prefix: str = "") -> list[str]:
    """Every dotted key of the schema, e.g. ``model.depth``."""
    cfg = Config() if cfg is None else cfg
    keys = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            keys.extend(flat_keys(value, f"{prefix}{f.name}."))
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


def _unknown_key(key: str) -> ConfigError:
    close = difflib.get_close_matches(key, flat_keys(), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else f"; valid sections: {', '.join(f.name for f in dataclasses.fields(Config))}"
    return ConfigError(f"unknown config key {key!r}{hint}")


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("true", "1", "yes", "on"):
        return True
    if low in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not a boolean (true/false)")


def parse_value(text: str, annotation: Any) -> Any:
    """Parses ``text`` as a value of the field type ``annotation`` (raises ValueError)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = typing.get_args(annotation)
        if type(None) in args and text.strip().lower() in ("none", "null"):
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return parse_value(text, arg)
            except ValueError as e:
                errors.append(str(e))
        raise ValueError("; ".join(errors))
    if origin is Literal:
        choices = typing.get_args(annotation)
        if text not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(map(str, choices))}")
        return text
    if annotation is bool:
        return _parse_bool(text)
    if annotation is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
    if annotation is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
    if annotation is str:
        return text
    raise ValueError(f"unsupported field type {annotation}")


def _check_value(value: Any, annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_check_value(value, a) for a in typing.get_args(annotation))
    if origin is Literal:
        return value in typing.get_args(annotation)
    if annotation is type(None):
        return value is None
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)


def _field_of(cfg: Config, key: str) -> tuple[Any, dataclasses.Field]:
    """The dataclass holding ``key`` and the field itself."""
    *path, name = key.split(".")
    node: Any = cfg
    for part in path:
        if not dataclasses.is_dataclass(node) or part not in {f.name for f in dataclasses.fields(node)}:
            raise _unknown_key(key)
        node = getattr(node, part)
    fields = {f.name: f for f in dataclasses.fields(node)} if dataclasses.is_dataclass(node) else {}
    if name not in fields or dataclasses.is_dataclass(getattr(node, name)):
        raise _unknown_key(key)
    return node, fields[name]


def _hints(node: Any) -> dict[str, Any]:
    return typing.get_type_hints(type(node))


def apply_overrides(cfg: Config, overrides: Iterable[str]) -> Config:
    """Applies ``key=value`` strings to a copy of ``cfg``, checking keys and types."""
    cfg = _deepcopy(cfg)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, text = item.split("=", 1)
        key = key.strip()
        node, f = _field_of(cfg, key)
        try:
            value = parse_value(text, _hints(node)[f.name])
        except ValueError as e:
            raise ConfigError(f"bad value for {key}: {e}") from None
        setattr(node, f.name, value)
    return cfg


def _deepcopy(cfg: Config) -> Config:
    return from_dict(to_dict(cfg))


# ----------------------------------------------------------------------------------------
# Validation.


def validate(cfg: Config) -> None:
    """Checks field types and the constraints between fields of a resolved config."""
    _check_types(cfg, "")
    _check_positive(cfg)
    _check_ranges(cfg)
    m, t, mesh = cfg.model, cfg.train, cfg.mesh
    if m.n_heads is not None and m.n_kv_heads is not None and m.n_heads % m.n_kv_heads:
        raise ConfigError(f"model.n_heads={m.n_heads} is not a multiple of model.n_kv_heads={m.n_kv_heads}")
    if t.batch_size % cfg.optim.grad_accum:
        raise ConfigError(f"train.batch_size={t.batch_size} is not divisible by optim.grad_accum={cfg.optim.grad_accum}")
    if not 0 <= cfg.optim.warmup_fraction <= 1:
        raise ConfigError(f"optim.warmup_fraction must be in [0, 1], got {cfg.optim.warmup_fraction}")
    registered = tasks.names()
    if registered and cfg.data.task not in registered:  # a library user may not have registered any
        raise ConfigError(f"data.task={cfg.data.task!r} is not a registered task: choose {', '.join(registered)}")
    sizes = {"mesh.data": mesh.data, "mesh.fsdp": mesh.fsdp, "mesh.tensor": mesh.tensor}
    if sum(v == -1 for v in sizes.values()) > 1:
        raise ConfigError("at most one of mesh.data, mesh.fsdp, mesh.tensor may be -1")
    for key, value in sizes.items():
        if value == 0 or value < -1:
            raise ConfigError(f"{key} must be a positive size or -1, got {value}")
    split = tuple(axis for axis in ("fsdp", "tensor") if sizes[f"mesh.{axis}"] != 1)
    unnamed = [f"mesh.{axis}={sizes[f'mesh.{axis}']}" for axis in split if axis not in STRATEGY_AXES[mesh.strategy]]
    if unnamed:
        fits = next(name for name, axes in STRATEGY_AXES.items() if axes == split)
        raise ConfigError(f"mesh.strategy={mesh.strategy!r} does not split the weights over {' and '.join(unnamed)}: "
                          f"set mesh.strategy={fits} (or the size to 1)")


def _check_ranges(cfg: Config) -> None:
    """Numbers that make no sense negative (or infinite, or NaN)."""
    o, t, c = cfg.optim, cfg.train, cfg.checkpoint
    floats = {"optim.base_lr": o.base_lr, "optim.lr": o.lr, "optim.muon_lr": o.muon_lr,
              "optim.weight_decay": o.weight_decay, "optim.eps": o.eps, "optim.clip_norm": o.clip_norm,
              "optim.min_lr_ratio": o.min_lr_ratio, "optim.decay_fraction": o.decay_fraction,
              "train.tokens_per_param": t.tokens_per_param, "checkpoint.every_minutes": c.every_minutes,
              "model.logit_softcap": cfg.model.logit_softcap, "model.init_std": cfg.model.init_std,
              "model.norm_eps": cfg.model.norm_eps, "model.rope_theta": cfg.model.rope_theta}
    for key, value in floats.items():
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"{key} must be a finite number >= 0, got {value}")
    for key in ("optim.b1", "optim.b2"):
        value = getattr(o, key.split(".")[1])
        if not 0 <= value < 1:
            raise ConfigError(f"{key} must be in [0, 1), got {value}")
    for key, value in {"optim.min_lr_ratio": o.min_lr_ratio, "optim.decay_fraction": o.decay_fraction}.items():
        if value > 1:
            raise ConfigError(f"{key} must be in [0, 1], got {value}")
    ints = {"train.log_every": t.log_every, "train.eval_every": t.eval_every, "train.eval_batches": t.eval_batches,
            "train.task_eval_every": t.task_eval_every, "train.task_eval_limit": t.task_eval_limit,
            "checkpoint.every_steps": c.every_steps, "mesh.cpu_devices": cfg.mesh.cpu_devices,
            "optim.warmup_steps": o.warmup_steps, "data.prefetch": cfg.data.prefetch,
            "data.num_workers": cfg.data.num_workers}
    for key, value in ints.items():
        if value is not None and value < 0:
            raise ConfigError(f"{key} must be >= 0, got {value}")


def _check_positive(cfg: Config) -> None:
    """Sizes that must be >= 1 (checked before deriving, which divides by some of them)."""
    m, t = cfg.model, cfg.train
    positive = {
        "model.depth": m.depth, "model.head_dim": m.head_dim, "model.vocab_size": m.vocab_size,
        "model.seq_len": m.seq_len, "model.kv_group": m.kv_group, "model.mlp_multiple": m.mlp_multiple,
        "train.batch_size": t.batch_size, "train.steps": t.steps, "optim.grad_accum": cfg.optim.grad_accum,
        "checkpoint.max_to_keep": cfg.checkpoint.max_to_keep,
    }
    for key, value in positive.items():
        if value is not None and value < 1:
            raise ConfigError(f"{key} must be >= 1, got {value}")


def _check_types(node: Any, prefix: str) -> None:
    hints = _hints(node)
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if dataclasses.is_dataclass(value):
            _check_types(value, f"{prefix}{f.name}.")
        elif not _check_value(value, hints[f.name]):
            raise ConfigError(f"{prefix}{f.name}={value!r} has the wrong type (expected {hints[f.name]})")


# ----------------------------------------------------------------------------------------
# The one entry point, and JSON.


def load(preset: str | None = None, overrides: Iterable[str] = ()) -> Config:
    """Preset + overrides -> a resolved, validated Config."""
    cfg = apply_overrides(load_preset(preset), overrides)
    _check_types(cfg, "")  # catch a preset's typos before deriving from them
    _check_positive(cfg)
    cfg = resolve(cfg)
    validate(cfg)
    return cfg


# What a resumed run may not change (a key, or a section ending in "."), and what it is:
# the weights' shapes and meaning, the tokenizer, the task (the documents' format) and the
# optimizer (its state's layout). Everything else may (steps, eval and checkpoint cadence,
# logging, the mesh, data paths, the LR). The one list: `resume` refuses a --set of these,
# `picojax train --config` on a run's workdir a preset that changes them, and
# `picojax.checkpoint.check_compatible` a checkpoint that differs in them.
FROZEN_ON_RESUME = {"model.": "model", "data.task": "task", "data.tokenizer": "tokenizer", "optim.name": "optimizer"}

# Inputs of a derivation, and the field they derive: in a run's saved (resolved) config the
# derived field is already a number, so changing only the input would do nothing.
DERIVED_FROM = {"train.tokens_per_param": "train.steps", "optim.base_lr": "optim.lr",
                "optim.warmup_fraction": "optim.warmup_steps"}


def frozen_on_resume(key: str) -> Optional[str]:
    """What `key` is part of when a resume may not change it ("model", "optimizer", ...), else None."""
    return next((what for k, what in FROZEN_ON_RESUME.items() if key == k or (k.endswith(".") and key.startswith(k))),
                None)


def frozen_changes(saved: dict, current: dict) -> list[tuple[str, Any, Any]]:
    """(key, saved value, current value) for every key of `FROZEN_ON_RESUME` on which two
    configs differ, in the schema's order. Both are `to_dict` dicts: a checkpoint's
    metadata holds one."""
    def flat(d: dict) -> dict:
        return {f"{s}.{k}": v for s, values in d.items() if isinstance(values, dict) for k, v in values.items()}

    old, new = flat(saved), flat(current)
    keys = [*new, *(k for k in old if k not in new)]
    return [(k, old.get(k), new.get(k)) for k in keys if frozen_on_resume(k) and old.get(k) != new.get(k)]


def refuse_frozen_changes(saved: Config, cfg: Config, where: str, given: str) -> None:
    """Raises ConfigError naming the first key of `FROZEN_ON_RESUME` that `cfg` changes from
    the run's `saved` config (and any other), `given` saying where the new value came from
    ("--set", "--config")."""
    changes = frozen_changes(to_dict(saved), to_dict(cfg))
    if not changes:
        return
    (key, old, new), others = changes[0], [k for k, _, _ in changes[1:]]
    also = f"; also {', '.join(others)}" if others else ""
    raise ConfigError(f"{key} cannot change when resuming {where} (the run has {old!r}, {given} gives {new!r}{also}): "
                      "train it in a fresh --workdir")


def get_value(cfg: Config, key: str) -> Any:
    node, f = _field_of(cfg, key)
    return getattr(node, f.name)


def resume(saved: Config, overrides: Iterable[str] = (), where: str = "the run") -> Config:
    """A run's saved config with ``--set`` overrides applied, for resuming it.

    Overrides may change what a resume can change; a change to a key in
    `FROZEN_ON_RESUME`, or to a derivation input whose derived field is already fixed, is
    refused naming the key.
    """
    overrides = list(overrides)
    cfg = apply_overrides(saved, overrides)
    refuse_frozen_changes(saved, cfg, where, "--set")
    keys = [item.split("=", 1)[0].strip() for item in overrides]
    for key in keys:
        derived = DERIVED_FROM.get(key)
        if derived is not None and derived not in keys and get_value(saved, key) != get_value(cfg, key):
            raise ConfigError(f"{key} only sets {derived} when {derived} is derived, and {where} has "
                              f"{derived}={get_value(saved, derived)!r}: --set {derived}=... instead")
    _check_types(cfg, "")
    _check_positive(cfg)
    cfg = resolve(cfg)
    validate(cfg)
    return cfg


def to_dict(cfg: Config) -> dict:
    return dataclasses.asdict(cfg)


def to_json(cfg: Config) -> str:
    return json.dumps(to_dict(cfg), indent=2, sort_keys=False)


def from_dict(data: dict) -> Config:
    """Builds a Config from a dict (e.g. a run's config.json); unknown keys are errors."""
    cfg = Config()
    for section, values in data.items():
        if section not in {f.name for f in dataclasses.fields(Config)} or not isinstance(values, dict):
            raise _unknown_key(section)
        node = getattr(cfg, section)
        names = {f.name for f in dataclasses.fields(node)}
        for name, value in values.items():
            if name not in names:
                raise _unknown_key(f"{section}.{name}")
            setattr(node, name, value)
    _check_types(cfg, "")
    return cfg


def save_json(cfg: Config, path: str | os.PathLike) -> None:
    """Writes the config atomically, so a crash never leaves half a file: locally a temp
    file and a rename; on ``gs://`` the upload itself is atomic."""
    from picojax.paths import run_path, write_text_atomic

    write_text_atomic(run_path(path), to_json(cfg) + "\n")


def load_json(path: str | os.PathLike) -> Config:
    """A config.json, local or ``gs://``."""
    from picojax.paths import run_path

    path = run_path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is not valid JSON: {e}") from None
    return from_dict(data)


def format_config(cfg: Config) -> str:
    """The resolved config as ``key = value`` lines, for printing at the start of a run."""
    flat = []
    data = to_dict(cfg)
    for section, values in data.items():
        for name, value in values.items():
            flat.append(f"{section}.{name} = {value!r}")
    return "\n".join(flat)
