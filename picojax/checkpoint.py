"""Checkpoints: one Orbax `CheckpointManager` per run directory.

A checkpoint is everything needed to continue bit for bit, as five Orbax items under
``WORKDIR/checkpoints/<step>/``:

- ``params``    the model parameters (sharded arrays; restored alone for inference);
- ``optimizer`` the optimizer state;
- ``step_rng``  {step, rng}: the step counter and the rng (the rest of the `TrainState`);
- ``data``      the Grain iterator state, one JSON file per process
                (`grain.checkpoint.CheckpointSave`), so the data position resumes too;
- ``meta``      JSON: the resolved config, the tokenizer's sha256 and the step.

Checkpoints written before (layout v1: an ``opt_state`` item holding the optimizer state,
the step and the rng together) restore as they are (`STATE_LAYOUTS`).

Saves are asynchronous (arrays are copied to host, then written by a background thread)
and committed atomically by Orbax (a temp directory renamed when complete; on GCS, where a
rename is a copy, a commit marker written last), so a crash never leaves a half
checkpoint that looks whole. WORKDIR may be a ``gs://`` path (`picojax.paths`). Restores go through an *abstract* state
whose leaves carry today's shardings, so a checkpoint lands on the current mesh whatever
mesh wrote it. A checkpoint of another model or tokenizer is refused by name.

Restores verify what they read: `meta` records a fingerprint of every saved array (two
32-bit sums of its raw bits, exact whatever the sharding), checked after the arrays are
read back. A checkpoint that cannot be read or fails that check is *damaged*
(`DamagedCheckpoint`): `restore_newest` reports it in one line and falls back to the next
older one; nothing is ever deleted here. A save that fails (a full disk) raises
`CheckpointSaveError`, naming the step and the newest checkpoint that is still complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import sys
from typing import Any, Callable, Optional

from picojax import paths
from picojax.errors import UserError


class CheckpointError(UserError):
    """A checkpoint is missing, unreadable, or belongs to another model or tokenizer."""


class DamagedCheckpoint(CheckpointError):
    """One checkpoint could not be read back, or what was read is not what was saved."""

    def __init__(self, step: int, reason: str):
        super().__init__(f"checkpoint step {step} does not restore: {reason}")
        self.step, self.reason = step, reason


class CheckpointSaveError(CheckpointError):
    """A save failed (e.g. no space left on the device); earlier checkpoints are intact."""


def error_reason(e: BaseException, limit: int = 300) -> str:
    """One line saying why `e` happened: an OS error's own words where there is one in the
    chain, else the innermost cause's text (TensorStore wraps its errors in exceptions
    whose own text is a multi-line spec)."""
    chain, seen = [e], {id(e)}
    while True:
        nxt = chain[-1].__cause__ or chain[-1].__context__
        if nxt is None or id(nxt) in seen:
            break
        chain.append(nxt)
        seen.add(id(nxt))
    for exc in chain:
        if isinstance(exc, OSError) and exc.strerror:
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)  # the disk, not this file
            return f"{exc.strerror}: {exc.filename}" if exc.filename and not full else exc.strerror
    texts = [" ".join(str(exc).split()) for exc in reversed(chain)]
    for text in texts:
        if "No space left on device" in text or "os_error_code='28'" in text:
            return "No space left on device"
    text = next((t for t in texts if t), type(e).__name__)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextlib.contextmanager
def quiet_orbax():
    """Orbax logs a WARNING for each read-only open and for each fallback it takes: noise
    for a CLI whose own messages say what happened. Only ERRORs get through inside."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _drop_abandoned_reads() -> None:
    """When one array of a damaged checkpoint fails to read, Orbax abandons the reads of
    its siblings; each failed coroutine is garbage-collected later and Python prints it as
    "Exception ignored in: <coroutine ...>" with a traceback, after the one line that
    already said which checkpoint is damaged. From the first damaged read on, those
    (coroutines of Orbax's own code) are dropped; every other unraisable still prints."""
    hook = sys.unraisablehook
    if getattr(hook, "_drops_orbax_reads", False):
        return

    def drop(u):
        code = getattr(u.object, "cr_code", None)
        if code is not None and f"{os.sep}orbax{os.sep}" in code.co_filename:
            return
        hook(u)

    drop._drops_orbax_reads = True
    sys.unraisablehook = drop


# ----------------------------------------------------------------------------------------
# Fingerprints: what a restore checks the arrays it read against.


_FINGERPRINT_FN = None


def _leaf_sums(x):
    """[2] uint32: the sum of the leaf's raw bits as 32-bit words, and a position-weighted
    sum (so moved values count too). Integer sums wrap exactly, in any order of reduction,
    so a checkpoint restored onto another mesh has the same fingerprint."""
    import jax
    import jax.numpy as jnp

    if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        x = jax.random.key_data(x)
    if x.dtype == jnp.bool_:
        x = x.astype(jnp.uint8)
    size = jnp.dtype(x.dtype).itemsize
    if size <= 4:
        words = jax.lax.bitcast_convert_type(x, {1: jnp.uint8, 2: jnp.uint16, 4: jnp.uint32}[size]).astype(jnp.uint32)
    else:  # 8-byte values become two 32-bit words
        words = jax.lax.bitcast_convert_type(x, jnp.uint32)
    words = words.reshape(-1)
    index = jnp.arange(words.shape[0], dtype=jnp.uint32)
    weighted = words * (index * jnp.uint32(2654435761) + jnp.uint32(1))
    return jnp.stack([jnp.sum(words, dtype=jnp.uint32), jnp.sum(weighted, dtype=jnp.uint32)])


def fingerprints(tree: Any) -> dict[str, str]:
    """{leaf path: 16 hex digits} for every array of `tree` (computed where the arrays live,
    in one small jitted reduction; only 8 bytes per leaf reach the host)."""
    import jax

    global _FINGERPRINT_FN
    if _FINGERPRINT_FN is None:
        _FINGERPRINT_FN = jax.jit(lambda leaves: [_leaf_sums(x) for x in leaves])
    with_paths = jax.tree_util.tree_flatten_with_path(tree)[0]
    if not with_paths:
        return {}
    sums = jax.device_get(_FINGERPRINT_FN([x for _, x in with_paths]))
    return {jax.tree_util.keystr(path): "".join(f"{int(v):08x}" for v in s) for (path, _), s in zip(with_paths, sums)}


def item_fingerprints(items: dict[str, Any]) -> dict[str, dict[str, str]]:
    """`fingerprints` of each checkpoint item ({"params": ..., "optimizer": ...}), computed
    in one call (one compile per process, not one per item)."""
    prints = fingerprints(items)
    out: dict[str, dict[str, str]] = {name: {} for name in items}
    for path, value in prints.items():
        name = next(n for n in items if path.startswith(f"[{n!r}]"))
        out[name][path[len(f"[{name!r}]"):]] = value
    return out


def _check_fingerprints(step: int, restored: dict[str, Any], expected: Optional[dict]) -> None:
    """Raises DamagedCheckpoint unless every restored item matches its saved fingerprints
    (checkpoints written before fingerprints existed are taken as they are)."""
    expected = {name: prints for name, prints in (expected or {}).items() if name in restored and prints}
    if not expected:
        return
    got = item_fingerprints({name: restored[name] for name in expected})
    for item, saved in expected.items():
        bad = [name for name in saved if got[item].get(name) != saved[name]]
        if bad or set(got[item]) != set(saved):
            what = f"{item}{bad[0]}" if bad else f"{item} has other arrays than were saved"
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            raise DamagedCheckpoint(step, f"{what}{more} is not what was saved (fingerprint mismatch)")


# ----------------------------------------------------------------------------------------
# How a train state (`picojax.train_state.TrainState`) is split into checkpoint items.


@dataclasses.dataclass(frozen=True)
class StateLayout:
    """The checkpoint items (`names`) a train state is saved as: `items(state)` splits it
    into them, `join(like, items)` puts restored items back into a state shaped as `like`."""

    names: tuple[str, ...]
    items: Callable[[Any], dict]
    join: Callable[[Any, dict], Any]


CURRENT_LAYOUT = StateLayout(
    ("params", "optimizer", "step_rng"),
    lambda s: {"params": s.params, "optimizer": s.opt_state, "step_rng": {"step": s.step, "rng": s.rng}},
    lambda like, r: like.replace(params=r["params"], opt_state=r["optimizer"], step=r["step_rng"]["step"],
                                 rng=r["step_rng"]["rng"]),
)
V1_LAYOUT = StateLayout(  # while the train state was a dict: the step and rng rode with the optimizer state
    ("params", "opt_state"),
    lambda s: {"params": s.params, "opt_state": {"opt_state": s.opt_state, "step": s.step, "rng": s.rng}},
    lambda like, r: like.replace(params=r["params"], opt_state=r["opt_state"]["opt_state"],
                                 step=r["opt_state"]["step"], rng=r["opt_state"]["rng"]),
)
STATE_LAYOUTS = (CURRENT_LAYOUT, V1_LAYOUT)  # saves use the first


def latest_step(directory: str | os.PathLike) -> Optional[int]:
    """The newest checkpoint's step in `directory` (None without checkpoints), as Orbax
    sees it."""
    if not paths.run_path(directory).is_dir():
        return None
    ckpt = Checkpointer(directory, read_only=True)
    try:
        return ckpt.latest_step()
    finally:
        ckpt.close()


def _ocp():
    import orbax.checkpoint as ocp  # heavy: imported on use

    return ocp


class Checkpointer:
    """The run's checkpoint manager: save / restore / latest step, always waited for."""

    def __init__(self, directory: str | os.PathLike, *, max_to_keep: int = 3, async_save: bool = True,
                 read_only: bool = False):
        """`directory` holds the steps (a run's is `picojax.run_dir.RunDir.checkpoints`);
        local, or ``gs://…`` kept as is."""
        ocp = _ocp()
        import grain.checkpoint  # noqa: F401  (registers CheckpointSave/Restore with Orbax)

        self.directory = paths.run_path(directory)
        if read_only and not self.directory.is_dir():
            raise CheckpointError(f"no checkpoints in {self.directory} (no such folder)")
        if not read_only and self.directory.exists() and not self.directory.is_dir():
            raise CheckpointError(f"{self.directory} is a file, not a checkpoints folder")
        try:
            with quiet_orbax():
                options = ocp.CheckpointManagerOptions(
                    max_to_keep=max_to_keep,
                    enable_async_checkpointing=async_save,
                    create=not read_only,
                    read_only=read_only,
                    # Saves cut short (a killed process) leave Orbax temp folders, never a
                    # step: Orbax's own leftovers, removed when a run opens the manager.
                    cleanup_tmp_directories=not read_only,
                )
                self.manager = ocp.CheckpointManager(self.directory, options=options)
        except OSError as e:
            raise CheckpointError(f"cannot open checkpoints in {self.directory}: {error_reason(e)}") from None
        self._pending: Optional[int] = None  # step of the save in flight
        self._failed = False

    # ---- queries

    def latest_step(self) -> Optional[int]:
        return self.manager.latest_step()

    def all_steps(self) -> list[int]:
        return sorted(self.manager.all_steps())

    def reload(self) -> None:
        """Re-reads the steps on disk (after step folders were moved by someone else)."""
        self.manager.reload()

    # ---- save

    def save(self, step: int, state, data_iterator: Any, meta: dict) -> None:
        """Starts an (async) save of the `TrainState` `state` after `step` steps.

        The Grain iterator state is read synchronously here (Orbax runs non-async handlers
        in the blocking part of the save), so it matches `state` exactly. The arrays'
        fingerprints go into `meta`, for the restore to check.
        """
        ocp = _ocp()
        from grain.checkpoint import CheckpointSave

        arrays = CURRENT_LAYOUT.items(state)
        prints = item_fingerprints(arrays)
        items = {name: ocp.args.StandardSave(tree) for name, tree in arrays.items()}
        items["meta"] = ocp.args.JsonSave({**meta, "step": int(step), "fingerprints": prints})
        if data_iterator is not None:
            items["data"] = CheckpointSave(data_iterator)
        with self._saving(step):  # also where an earlier async save's failure surfaces
            self.manager.save(step, args=ocp.args.Composite(**items), force=True)
        self._pending = step

    @contextlib.contextmanager
    def _saving(self, step: Optional[int]):
        try:
            yield
        except CheckpointError:
            raise
        except Exception as e:  # the disk, not the code: say which step and what is left
            self._failed = True
            failed = self._pending if self._pending is not None else step
            self._pending = None
            raise CheckpointSaveError(f"saving checkpoint step {failed} in {self.directory} failed: {error_reason(e)}; "
                                      f"{self._newest_complete()}") from e

    def _newest_complete(self) -> str:
        try:
            self.manager.reload()
            steps = self.all_steps()
        except Exception:  # noqa: BLE001 - only for the message
            steps = []
        steps = [s for s in steps if s != self._pending]
        return f"the newest complete checkpoint is step {steps[-1]}" if steps else "no complete checkpoint is left"

    def wait(self) -> None:
        """Blocks until every pending save is committed (call on every exit path)."""
        with self._saving(None):
            self.manager.wait_until_finished()
        self._pending = None

    def close(self) -> None:
        """Waits for the pending save and closes; after a failed save (already raised)
        closes quietly."""
        failed_before = self._failed
        try:
            self.wait()
        except CheckpointSaveError:
            if not failed_before:
                raise
        finally:
            try:
                self.manager.close()
            except Exception:  # noqa: BLE001
                if not self._failed:
                    raise

    # ---- restore

    def read_meta(self, step: Optional[int] = None) -> dict:
        step = self.resolve_step(step)
        ocp = _ocp()
        try:
            with quiet_orbax():
                restored = self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
            meta = restored["meta"]
            if not isinstance(meta, dict):
                raise ValueError(f"metadata is {type(meta).__name__}, not a JSON object")
        except Exception as e:  # noqa: BLE001 - any failure to read is damage
            raise DamagedCheckpoint(step, f"no readable metadata ({error_reason(e)})") from None
        return dict(meta)

    def restore(self, step: int, abstract_state, data_iterator: Any = None, meta: Optional[dict] = None):
        """The `TrainState` at `step`, laid out as `abstract_state` (shapes, dtypes,
        shardings), checked against the fingerprints in `meta` (read here when not given).

        `data_iterator`, when given, is moved to the saved data position in place.
        Raises `DamagedCheckpoint` when the checkpoint cannot be read back exactly.
        """
        ocp = _ocp()
        from grain.checkpoint import CheckpointRestore

        meta = self.read_meta(step) if meta is None else meta
        layout = self.state_layout(step)
        targets = layout.items(abstract_state)
        items = {name: ocp.args.StandardRestore(tree) for name, tree in targets.items()}
        if data_iterator is not None:
            self._check_data_processes(step)
            items["data"] = CheckpointRestore(data_iterator)
        restored = self._read(step, ocp.args.Composite(**items))
        arrays = {name: restored[name] for name in targets}
        _check_fingerprints(step, arrays, meta.get("fingerprints"))
        return layout.join(abstract_state, arrays)

    def state_layout(self, step: int) -> StateLayout:
        """The layout checkpoint `step` was saved in, by the items it holds (the current
        one when it holds no layout whole: its restore then says what is missing)."""
        folder = self.directory / str(step)
        return next((layout for layout in STATE_LAYOUTS if all((folder / n).exists() for n in layout.names)),
                    CURRENT_LAYOUT)

    def _read(self, step: int, args) -> Any:
        try:
            with quiet_orbax():
                return self.manager.restore(step, args=args)
        except CheckpointError:
            raise
        except Exception as e:  # noqa: BLE001 - a truncated array, a missing file, bad JSON
            _drop_abandoned_reads()
            raise DamagedCheckpoint(step, error_reason(e)) from e

    def _check_data_processes(self, step: int) -> None:
        """Grain saves one data position per process (`process_<i>-of-<n>.json`): a run can
        only resume its data stream with the process count that wrote it."""
        import jax

        saved = sorted(p.name for p in (self.directory / str(step) / "data").glob("process_*-of-*.json"))
        mine = f"process_{jax.process_index()}-of-{jax.process_count()}.json"
        if saved and mine not in saved:
            written_by = saved[0].rsplit("-of-", 1)[1].removesuffix(".json")
            raise CheckpointError(
                f"checkpoint {self.directory / str(step)} was written by {written_by} process(es), this run has "
                f"{jax.process_count()}: the data position cannot be resumed (use the same number of processes)")

    def restore_params(self, step: int, abstract_params: Any, meta: Optional[dict] = None) -> Any:
        """Only the parameters (inference never reads the optimizer state), verified."""
        ocp = _ocp()
        meta = self.read_meta(step) if meta is None else meta
        restored = self._read(step, ocp.args.Composite(params=ocp.args.StandardRestore(abstract_params)))
        _check_fingerprints(step, {"params": restored["params"]}, meta.get("fingerprints"))
        return restored["params"]

    def restore_newest(self, restore: Callable[[int, dict], Any], *, check: Optional[Callable[[int, dict], None]] = None,
                       steps: Optional[list[int]] = None):
        """(step, meta, restore(step, meta), damaged) for the newest checkpoint that restores.

        Tries `steps` (default: all, newest first). A damaged checkpoint is skipped for the
        next older one; `damaged` lists the (step, reason) of those skipped, for the caller
        to report. `check(step, meta)` may refuse a checkpoint outright (another model):
        that is raised, not skipped. If none restores, raises one CheckpointError naming
        each step and why.
        """
        candidates = sorted(self.all_steps() if steps is None else steps, reverse=True)
        if not candidates:
            raise CheckpointError(f"no checkpoint found in {self.directory}")
        damaged = []
        for step in candidates:
            try:
                meta = self.read_meta(step)
                if check is not None:
                    check(step, meta)
                result = restore(step, meta)
            except DamagedCheckpoint as e:
                damaged.append((step, e.reason))
                continue
            return step, meta, result, damaged
        if len(damaged) == 1:
            raise CheckpointError(f"checkpoint step {damaged[0][0]} in {self.directory} does not restore: {damaged[0][1]}")
        raise CheckpointError(f"no checkpoint in {self.directory} restores: "
                              + "; ".join(f"step {s}: {r}" for s, r in damaged))

    def resolve_step(self, step: Optional[int]) -> int:
        """`step` if a checkpoint exists there; None = the latest."""
        if step is None:
            step = self.latest_step()
            if step is None:
                raise CheckpointError(f"no checkpoint found in {self.directory}")
        elif step not in self.all_steps():
            raise CheckpointError(f"no checkpoint at step {step} in {self.directory}; have {self.all_steps()}")
        return step


# ----------------------------------------------------------------------------------------
# Compatibility.


def make_meta(cfg, tokenizer_sha256: str) -> dict:
    """What the `meta` item records besides the step: the resolved config and tokenizer."""
    from picojax import config_io

    return {"config": config_io.to_dict(cfg), "tokenizer_sha256": tokenizer_sha256}


def _resume_changes(saved: dict, current: dict) -> list[tuple]:
    """(key, checkpoint's value, current value) for each field a resume may not change
    (`picojax.config_io.FROZEN_ON_RESUME`) on which two configs differ, by key. Not the
    tokenizer's path: a checkpoint knows its tokenizer by sha256 (`check_compatible`), so
    the same tokenizer elsewhere is fine."""
    from picojax import config_io

    return sorted((c for c in config_io.frozen_changes(saved, current) if c[0] != "data.tokenizer"), key=lambda c: c[0])


def config_differences(saved: dict, current: dict) -> list[str]:
    """'model.depth: checkpoint 4, now 2' for each field of `_resume_changes`."""
    return [f"{key}: checkpoint {old!r}, now {new!r}" for key, old, new in _resume_changes(saved, current)]


def check_compatible(meta: dict, cfg, tokenizer_sha256: Optional[str], where: str) -> None:
    """Refuses a checkpoint written by another model, task, optimizer or tokenizer, naming why."""
    from picojax import config_io

    saved, current = meta.get("config", {}), config_io.to_dict(cfg)
    kinds = dict.fromkeys(config_io.frozen_on_resume(key) for key, _, _ in _resume_changes(saved, current))
    if kinds:
        raise CheckpointError(f"checkpoint {where} is from a different {' and '.join(kinds)}: "
                              + "; ".join(config_differences(saved, current)))
    saved_sha = meta.get("tokenizer_sha256")
    if tokenizer_sha256 is not None and saved_sha != tokenizer_sha256:
        raise CheckpointError(
            f"checkpoint {where} was trained with another tokenizer: sha256 {str(saved_sha)[:12]}… in the "
            f"checkpoint, {tokenizer_sha256[:12]}… now (pass the run's tokenizer, or a fresh --workdir)"
        )


def config_from_meta(meta: dict):
    from picojax import config_io

    if "config" not in meta:
        raise CheckpointError("checkpoint metadata has no config")
    return config_io.from_dict(meta["config"])

