"""When to checkpoint and when to stop: the save policy and the SIGTERM/SIGINT handler.

Both decisions must be the same on every process of a multi-host run (an Orbax save is
collective), but wall clocks and signals are per-process; so time- and signal-driven
decisions are agreed across processes, at the steps the loop marks as sync points (every
step on a single process, so a signal is acted on at once).
"""

from __future__ import annotations

import signal
import sys
import threading
import time

from picojax import distributed
from picojax.config import CheckpointConfig


class StopSignals:
    """Context manager: SIGTERM or SIGINT set `received` instead of killing the process,
    so the loop can checkpoint and exit 0 (TPU preemption sends SIGTERM). A second SIGINT
    interrupts at once, for a user who really means it."""

    def __init__(self):
        self.received = False
        self._previous = {}

    def _handle(self, signum, frame):
        if self.received and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = True
        print(f"\npicojax train: got {signal.Signals(signum).name}: checkpointing, then exiting", file=sys.stderr, flush=True)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # signal.signal only works there
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
        return False


class SavePolicy:
    """Checkpoint every `every_steps` steps and every `every_minutes` minutes, and on a stop
    signal (which also requests the stop)."""

    def __init__(self, cfg: CheckpointConfig, start_step: int):
        self.every_steps = cfg.every_steps
        self.every_seconds = cfg.every_minutes * 60.0
        self.last_time = time.monotonic()
        self.last_step = start_step
        self.stop_requested = False
        self.multi_process = None

    def due(self, step: int, signal_received: bool, *, sync: bool) -> bool:
        if self.multi_process is None:
            import jax

            self.multi_process = jax.process_count() > 1
        by_steps = self.every_steps > 0 and step % self.every_steps == 0
        if self.multi_process and not sync:
            return by_steps
        by_time = self.every_seconds > 0 and time.monotonic() - self.last_time >= self.every_seconds
        if self.multi_process:  # one collective agrees both flags
            by_time, signal_received = distributed.any_processes([by_time, signal_received])
        if signal_received:
            self.stop_requested = True
        return by_steps or by_time or signal_received

    def saved(self, step: int) -> None:
        self.last_time = time.monotonic()
        self.last_step = step
