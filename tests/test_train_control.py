"""When the loop saves and stops: the save policy (steps, minutes, signals) and the
SIGTERM/SIGINT handler."""

from __future__ import annotations

import os
import signal
import time

import pytest

from picojax.config import CheckpointConfig
from picojax.train_control import SavePolicy, StopSignals


def test_saves_every_n_steps():
    policy = SavePolicy(CheckpointConfig(every_steps=5, every_minutes=0), start_step=0)
    assert [s for s in range(1, 16) if policy.due(s, False, sync=True)] == [5, 10, 15]
    assert not policy.stop_requested


def test_saves_every_m_minutes_counted_from_the_last_save():
    policy = SavePolicy(CheckpointConfig(every_steps=0, every_minutes=0.05 / 60), start_step=0)  # 50 ms
    assert not policy.due(1, False, sync=True)
    time.sleep(0.06)
    assert policy.due(2, False, sync=True)
    policy.saved(2)
    assert not policy.due(3, False, sync=True)


def test_a_signal_forces_a_save_and_requests_the_stop():
    policy = SavePolicy(CheckpointConfig(every_steps=0, every_minutes=0), start_step=0)
    assert policy.due(7, True, sync=True) and policy.stop_requested


def test_sigterm_and_sigint_are_caught_then_handlers_restored():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert signals.received
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C means it
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    assert signal.getsignal(signal.SIGTERM) is before
