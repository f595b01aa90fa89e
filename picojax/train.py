"""The trainer's public face: `train`, `task_hooks`.

The work is split by concern: `train_state` (the state), `sharding` (its shardings),
`train_step` (the jitted steps), `train_control` (save policy, signals), `train_loop` (the
loop), `checkpoint` (saving and restoring) and `run_dir` (the workdir's files). A trained
run is read back for inference by `picojax.restore`.
"""

from __future__ import annotations

from picojax.config import Config
from picojax.tasks import get_task
from picojax.train_loop import train

__all__ = ["train", "task_hooks"]


def task_hooks(cfg: Config) -> list:
    """The task's evals to run during training (`picojax.tasks.Task.training_hooks`).

    Each hook has ``every`` (steps; 0 = only at the end) and is called as
    ``hook(step, model, writer) -> {"eval/<task>/<split>/<metric>": value}``.
    """
    import jax

    if jax.process_count() > 1:
        # The task evals decode with the sampler, which gathers the weights onto this
        # process; across hosts they are not addressable. Val loss/bpb (jitted on the
        # global arrays) still run; evaluate task metrics after training with `picojax eval`.
        if jax.process_index() == 0:
            print("task evals are skipped in multi-process runs; run `picojax eval` on the checkpoint", flush=True)
        return []
    return list(get_task(cfg.data.task).training_hooks(cfg))
