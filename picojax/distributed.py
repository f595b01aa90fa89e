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

On a Cloud TPU VM a failed automatic join is fatal when the slice has more than one
worker (`tpu_worker_count`): carrying on single-process there would make every worker
process 0 of its own run, all writing the same workdir. Only a slice known to have one
worker goes on alone.
"""

from __future__ import annotations

import glob
import importlib.util
import os
from typing import Optional

from picojax.errors import UserError


class DistributedError(UserError):
    """The multi-process flags or environment are inconsistent."""


class SliceJoinError(DistributedError):
    """A worker of a multi-worker TPU slice could not join the others. It may be transient
    (a worker restarting, the coordinator not up yet), so the exit status is 1, which a
    supervisor such as ``run_tpu.sh babysit`` relaunches, not 2 (a bad input)."""

    exit_code = 1


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
    if num_processes == 1 and coordinator is None and process_id in (None, 0):
        return False  # asked to run alone (also how a one-worker TPU VM skips the slice join)
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
            reason = " ".join(str(e).split())[:300]
            workers = tpu_worker_count()
            if workers is None or workers > 1:
                known = (f"this slice has {workers} workers" if workers else
                         "this TPU VM's worker count is unknown (set JAX_NUM_PROCESSES=1 to run one worker alone)")
                raise SliceJoinError(
                    f"could not join the TPU slice ({reason}); {known}, and a worker running alone would "
                    "write the same workdir as process 0 of its own run: not starting") from None
            print(f"picojax: not joining a TPU slice ({reason}); this slice has one worker: running single-process")
            return False
        return True
    return False


def tpu_worker_count() -> Optional[int]:
    """How many TPU VM workers (hosts) this slice has, over all slices; None if unknown.

    Read as JAX's own cluster detection reads it: the worker list from
    ``TPU_PROCESS_ADDRESSES`` / ``TPU_WORKER_HOSTNAMES`` (GKE), else the VM metadata's
    ``worker-network-endpoints``; times ``MEGASCALE_NUM_SLICES``. A ``TPU_WORKER_ID``
    above 0 alone says there are at least two.
    """
    hosts = os.environ.get("TPU_PROCESS_ADDRESSES") or os.environ.get("TPU_WORKER_HOSTNAMES")
    if hosts is None:
        hosts = _tpu_metadata("worker-network-endpoints")
    per_slice = len([h for h in hosts.split(",") if h.strip()]) if hosts else None
    try:
        slices = int(os.environ.get("MEGASCALE_NUM_SLICES") or 1)
        worker_id = int(os.environ.get("TPU_WORKER_ID") or 0)
    except ValueError:
        return None
    if per_slice:
        return per_slice * max(1, slices)
    if slices > 1 or worker_id > 0:
        return max(2, slices, worker_id + 1)
    return None


def _tpu_metadata(key: str, timeout: float = 2.0) -> Optional[str]:
    """An attribute of this TPU VM from the GCE metadata server; None when unreachable."""
    import urllib.request

    host = os.environ.get("GCE_METADATA_IP", "metadata.google.internal")
    request = urllib.request.Request(f"http://{host}/computeMetadata/v1/instance/attributes/{key}",
                                     headers={"Metadata-Flavor": "Google"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read().decode()
    except (OSError, ValueError):
        return None


def barrier(name: str) -> None:
    """Waits until every process got here (no-op on one process)."""
    import jax

    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


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
