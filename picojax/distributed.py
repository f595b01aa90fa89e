"""Multi-process runs: joining the JAX distributed system, and agreeing across processes.

`initialize()` must run before anything touches a JAX backend. It connects this process
to the others when the run is launched as several processes:

- explicitly, from flags (``--coordinator HOST:PORT --num-processes N --process-id I``)
  or the environment (``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``,
  ``JAX_PROCESS_ID``, the names JAX itself reads);
- automatically on a Cloud TPU VM (libtpu installed and a TPU device present): JAX finds
  the coordinator and this worker's index from the TPU metadata, which is what
  ``run_tpu.sh`` relies on when it starts ``picojax train`` on every worker.

On CPU the processes talk through gloo collectives (JAX's default), so two local
processes with 4 fake devices each form one 8-device run.
"""

from __future__ import annotations

import glob
import importlib.util
import os
from typing import Optional

from picojax.errors import UserError


class DistributedError(UserError):
    """The multi-process flags or environment are inconsistent."""


def _env_int(name: str) -> Optional[int]:
    value = os.environ.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise DistributedError(f"environment variable {name}={value!r} is not an integer") from None


def on_cloud_tpu_vm() -> bool:
    """libtpu is installed and this machine has a TPU (checked without touching JAX)."""
    has_libtpu = importlib.util.find_spec("libtpu") is not None
    return has_libtpu and bool(glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*"))


def initialize(coordinator: Optional[str] = None, num_processes: Optional[int] = None,
               process_id: Optional[int] = None) -> bool:
    """Joins the distributed system if this is a multi-process run; True if it did."""
    import jax

    coordinator = coordinator or os.environ.get("JAX_COORDINATOR_ADDRESS")
    num_processes = num_processes if num_processes is not None else _env_int("JAX_NUM_PROCESSES")
    process_id = process_id if process_id is not None else _env_int("JAX_PROCESS_ID")
    explicit = [v is not None for v in (coordinator, num_processes, process_id)]
    if any(explicit):
        if not all(explicit):
            raise DistributedError("a multi-process run needs all of --coordinator, --num-processes and "
                                   "--process-id (or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID)")
        if not 0 <= process_id < num_processes:
            raise DistributedError(f"process id {process_id} is not in [0, {num_processes})")
        if num_processes == 1:
            return False
        jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                                   process_id=process_id)
        return True
    if on_cloud_tpu_vm():
        try:
            jax.distributed.initialize()  # coordinator and worker index from the TPU metadata
        except (ValueError, RuntimeError) as e:
            print(f"picojax: not joining a multi-host TPU slice ({e}); running single-process")
            return False
        return True
    return False


def is_main_process() -> bool:
    import jax

    return jax.process_index() == 0


def any_process(flag: bool) -> bool:
    """True if `flag` is true on any process: every process takes the same decision (a
    save, a stop), which collective operations like an Orbax save require."""
    return any_processes([flag])[0]


def any_processes(flags: list[bool]) -> list[bool]:
    """`any_process` for several flags in one collective."""
    import jax

    if jax.process_count() == 1:
        return [bool(f) for f in flags]
    import numpy as np
    from jax.experimental import multihost_utils

    gathered = multihost_utils.process_allgather(np.asarray(flags, dtype=bool))  # [processes, flags]
    return [bool(v) for v in np.any(np.asarray(gathered).reshape(-1, len(flags)), axis=0)]
