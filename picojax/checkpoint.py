"""Checkpoints: one Orbax `CheckpointManager` per run directory.

A checkpoint is everything needed to continue bit for bit, as four Orbax items under
``WORKDIR/checkpoints/<step>/``:

- ``params``    the model parameters (sharded arrays; restored alone for inference);
- ``opt_state`` the optimizer state, the step counter and the rng;
- ``data``      the Grain iterator state, one JSON file per process
                (`grain.checkpoint.CheckpointSave`), so the data position resumes too;
- ``meta``      JSON: the resolved config, the tokenizer's sha256 and the step.

Saves are asynchronous (arrays are copied to host, then written by a background thread)
and committed atomically by Orbax (a temp directory renamed when complete; on GCS, where a
rename is a copy, a commit marker written last), so a crash never leaves a half
checkpoint that looks whole. WORKDIR may be a ``gs://`` path (`picojax.paths`). Restores go through an *abstract* state
whose leaves carry today's shardings, so a checkpoint lands on the current mesh whatever
mesh wrote it. A checkpoint of another model or tokenizer is refused by name.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from etils import epath

from picojax.errors import UserError

# Config sections whose differences make a checkpoint unusable: the weights' shapes and
# meaning. train/optim/checkpoint/mesh may change between runs (resume on another mesh,
# extend the horizon), and so may data.* paths.
MODEL_SECTIONS = ("model",)


class CheckpointError(UserError):
    """A checkpoint is missing, unreadable, or belongs to another model or tokenizer."""


def checkpoint_dir(workdir: str | os.PathLike) -> epath.Path:
    """WORKDIR/checkpoints, absolute locally, ``gs://…`` kept as is."""
    from picojax.run_dir import RunDir

    return RunDir(workdir).checkpoints


def _ocp():
    import orbax.checkpoint as ocp  # heavy: imported on use

    return ocp


class Checkpointer:
    """The run's checkpoint manager: save / restore / latest step, always waited for."""

    def __init__(self, workdir: str | os.PathLike, *, max_to_keep: int = 3, async_save: bool = True, read_only: bool = False):
        ocp = _ocp()
        import grain.checkpoint  # noqa: F401  (registers CheckpointSave/Restore with Orbax)

        self.directory = checkpoint_dir(workdir)
        if read_only and not self.directory.is_dir():
            raise CheckpointError(f"no checkpoints in {workdir} (missing {self.directory})")
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep,
            enable_async_checkpointing=async_save,
            create=not read_only,
            read_only=read_only,
        )
        self.manager = ocp.CheckpointManager(self.directory, options=options)

    # ---- queries

    def latest_step(self) -> Optional[int]:
        return self.manager.latest_step()

    def all_steps(self) -> list[int]:
        return list(self.manager.all_steps())

    # ---- save

    def save(self, step: int, state: dict, data_iterator: Any, meta: dict) -> None:
        """Starts an (async) save of `state` = {params, opt_state, step, rng} after `step` steps.

        The Grain iterator state is read synchronously here (Orbax runs non-async handlers
        in the blocking part of the save), so it matches `state` exactly.
        """
        ocp = _ocp()
        from grain.checkpoint import CheckpointSave

        items = dict(
            params=ocp.args.StandardSave(state["params"]),
            opt_state=ocp.args.StandardSave({k: v for k, v in state.items() if k != "params"}),
            meta=ocp.args.JsonSave({**meta, "step": int(step)}),
        )
        if data_iterator is not None:
            items["data"] = CheckpointSave(data_iterator)
        self.manager.save(step, args=ocp.args.Composite(**items), force=True)

    def wait(self) -> None:
        """Blocks until every pending save is committed (call on every exit path)."""
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()

    # ---- restore

    def read_meta(self, step: Optional[int] = None) -> dict:
        step = self.resolve_step(step)
        ocp = _ocp()
        try:
            restored = self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
        except (FileNotFoundError, ValueError, KeyError) as e:
            raise CheckpointError(f"checkpoint {self.directory / str(step)} has no readable metadata: {e}") from None
        return dict(restored["meta"])

    def restore(self, step: int, abstract_state: dict, data_iterator: Any = None) -> dict:
        """The state at `step`, laid out as `abstract_state` (shapes, dtypes, shardings).

        `data_iterator`, when given, is moved to the saved data position in place.
        """
        ocp = _ocp()
        from grain.checkpoint import CheckpointRestore

        items = dict(
            params=ocp.args.StandardRestore(abstract_state["params"]),
            opt_state=ocp.args.StandardRestore({k: v for k, v in abstract_state.items() if k != "params"}),
        )
        if data_iterator is not None:
            self._check_data_processes(step)
            items["data"] = CheckpointRestore(data_iterator)
        restored = self.manager.restore(step, args=ocp.args.Composite(**items))
        return {"params": restored["params"], **restored["opt_state"]}

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

    def restore_params(self, step: int, abstract_params: Any) -> Any:
        """Only the parameters (inference never reads the optimizer state)."""
        ocp = _ocp()
        restored = self.manager.restore(step, args=ocp.args.Composite(params=ocp.args.StandardRestore(abstract_params)))
        return restored["params"]

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


def config_differences(saved: dict, current: dict, sections=MODEL_SECTIONS) -> list[str]:
    """'model.depth: checkpoint 4, now 2' for each differing field of `sections`."""
    diffs = []
    for section in sections:
        old, new = saved.get(section, {}), current.get(section, {})
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                diffs.append(f"{section}.{key}: checkpoint {old.get(key)!r}, now {new.get(key)!r}")
    return diffs


def check_compatible(meta: dict, cfg, tokenizer_sha256: Optional[str], where: str) -> None:
    """Refuses a checkpoint written by another model config or tokenizer, naming why."""
    from picojax import config_io

    diffs = config_differences(meta.get("config", {}), config_io.to_dict(cfg))
    if diffs:
        raise CheckpointError(f"checkpoint {where} is from a different model: " + "; ".join(diffs))
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

