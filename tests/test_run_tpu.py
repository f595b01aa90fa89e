"""run_tpu.sh: the gcloud command lines it prints with --dry-run, and its worker/babysit logic.

No TPU and no gcloud here: the dry-run lines are parsed back with shlex (so quoting is
checked too), and the babysit loop runs against a fake `gcloud` on PATH that simulates a
preemption.
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import stat
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "run_tpu.sh"
TPU_ENV = ("TPU_NAME", "TPU_ZONE", "TPU_PROJECT", "TPU_TYPE", "TPU_RUNTIME", "TPU_CAPACITY", "TPU_WORKDIR",
           "TPU_RELAUNCH_DELAY", "TPU_WORKER_ID", "JAX_PROCESS_ID")
WHERE = ["--name", "pj", "--zone", "us-west4-a", "--project", "proj-1"]
WHERE_FLAGS = ["--zone=us-west4-a", "--project=proj-1"]


# A `gcloud` that fails loudly, first on PATH: a test must never reach a real Cloud project.
GUARD_BIN = Path(tempfile.mkdtemp(prefix="run_tpu_guard_"))
(GUARD_BIN / "gcloud").write_text("#!/bin/sh\necho 'test reached the real gcloud:' \"$@\" >&2\nexit 97\n")
(GUARD_BIN / "gcloud").chmod(0o755)
atexit.register(shutil.rmtree, GUARD_BIN, True)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TPU_ENV}
    env["PATH"] = f"{GUARD_BIN}:{env['PATH']}"
    env.update(extra)
    return env


def sh(*args: str, script: Path = SCRIPT, env: dict[str, str] | None = None, check: bool = True,
       timeout: float = 60) -> subprocess.CompletedProcess:
    proc = subprocess.run(["bash", str(script), *args], capture_output=True, text=True,
                          env=env if env is not None else clean_env(), timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def dry(*args: str, env: dict[str, str] | None = None) -> list[list[str]]:
    """The commands a dry run prints, each split back into its argv."""
    verb, *rest = args
    out = sh(verb, "--dry-run", *rest, env=env).stdout
    return [shlex.split(line) for line in out.splitlines() if line.strip()]


def remote(cmd: list[str]) -> str:
    """The shell command an ssh line runs on the workers."""
    (command,) = [a.removeprefix("--command=") for a in cmd if a.startswith("--command=")]
    return command


def remote_argv_after_cd(cmd: list[str]) -> list[str]:
    """argv of the last `&&` step of a remote command (after cd into the repo and PATH)."""
    return shlex.split(remote(cmd).split(" && ")[-1]) if " && " in remote(cmd) else shlex.split(remote(cmd))


# ---- help and errors ---------------------------------------------------------------------


def test_help_lists_every_verb_and_exits_zero():
    out = sh("--help").stdout
    for verb in ("create", "setup", "train", "tensorboard", "babysit", "delete", "--dry-run", "--worker=all"):
        assert verb in out


def test_no_verb_prints_usage_and_exits_2():
    proc = sh(check=False)
    assert proc.returncode == 2 and proc.stderr.startswith("usage: run_tpu.sh VERB")


@pytest.mark.parametrize("args", [["launch"], ["create", "--bogus"], ["create", "--capacity", "cheap"],
                                  ["create", "--zone"], ["tensorboard", "--port", "x"], ["setup", "--from", "zip"]])
def test_bad_invocations_exit_2_with_one_line(args):
    proc = sh(args[0], "--dry-run", *args[1:], check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("run_tpu.sh: error: ") and proc.stderr.count("\n") == 1


# ---- create / delete / status ---------------------------------------------------------------


def test_create_on_demand_tpu_vm():
    (cmd,) = dry("create", *WHERE, "--type", "v6e-8")
    assert cmd == ["gcloud", "compute", "tpus", "tpu-vm", "create", "pj", "--accelerator-type=v6e-8",
                   "--version=v2-alpha-tpuv6e", *WHERE_FLAGS]


def test_create_spot_uses_a_queued_resource_and_waits_for_it():
    create, wait = dry("create", *WHERE, "--type", "v5litepod-8", "--capacity", "spot")
    assert create == ["gcloud", "compute", "tpus", "queued-resources", "create", "pj", "--node-id=pj",
                      "--accelerator-type=v5litepod-8", "--runtime-version=v2-alpha-tpuv5-lite", "--spot", *WHERE_FLAGS]
    assert wait[:6] == ["gcloud", "compute", "tpus", "queued-resources", "describe", "pj"]


def test_create_preemptible_and_explicit_runtime():
    (cmd,) = dry("create", *WHERE, "--type", "v4-8", "--capacity", "preemptible", "--runtime", "my-rt")
    assert cmd[:5] == ["gcloud", "compute", "tpus", "tpu-vm", "create"]
    assert "--preemptible" in cmd and "--version=my-rt" in cmd and "--accelerator-type=v4-8" in cmd


def test_unknown_type_without_runtime_is_an_error():
    proc = sh("create", "--type", "v99-8", "--dry-run", check=False)
    assert proc.returncode == 2 and "--runtime" in proc.stderr


def test_environment_variables_equal_flags_and_flags_win():
    by_flags = dry("create", *WHERE, "--type", "v4-8")
    env = clean_env(TPU_NAME="pj", TPU_ZONE="us-west4-a", TPU_PROJECT="proj-1", TPU_TYPE="v4-8")
    assert dry("create", env=env) == by_flags
    (cmd,) = dry("create", "--zone=europe-west4-a", env=env)
    assert "--zone=europe-west4-a" in cmd and "--zone=us-west4-a" not in cmd


def test_zone_and_project_fall_back_to_gcloud_config_when_unset():
    (cmd,) = dry("delete")
    assert cmd == ["gcloud", "compute", "tpus", "tpu-vm", "delete", "picojax", "--quiet"]


def test_delete_spot_deletes_the_queued_resource_with_its_node():
    (cmd,) = dry("delete", *WHERE, "--capacity", "spot")
    assert cmd == ["gcloud", "compute", "tpus", "queued-resources", "delete", "pj", "--force", "--quiet", *WHERE_FLAGS]


def test_status_describes_the_vm():
    (cmd,) = dry("status", *WHERE)
    assert cmd == ["gcloud", "compute", "tpus", "tpu-vm", "describe", "pj", "--format=value(state)", *WHERE_FLAGS]


# ---- setup / train / exec / stop / tensorboard -------------------------------------------------


def test_setup_ships_the_repo_to_all_workers_and_installs_the_tpu_extra():
    pack, scp, install = dry("setup", *WHERE)
    assert "git ls-files" in " ".join(pack) and "tar" in pack
    assert scp[:6] == ["gcloud", "compute", "tpus", "tpu-vm", "scp", scp[5]] and scp[5].endswith(".tgz")
    assert "pj:picojax-bundle.tgz" in scp and "--worker=all" in scp
    assert install[:6] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "pj"] and "--worker=all" in install
    steps = remote(install)
    assert "tar -xzf picojax-bundle.tgz -C picojax" in steps
    assert steps.endswith('uv pip install --python .venv -e ".[tpu]" gcsfs')
    assert "--python 3.11" in steps


def test_setup_from_a_wheel_with_data_and_the_cuda_extra():
    build, pack, scp, install = dry("setup", *WHERE, "--from", "wheel", "--data", "data/rpg", "--extra", "cuda")
    assert build[:4] == ["python3", "-m", "pip", "wheel"] and "--no-deps" in build
    joined = " ".join(pack)
    assert "run_tpu.sh" in joined and "picojax-" in joined and ".whl" in joined and "find data/rpg" in joined
    assert "--worker=all" in scp and "--worker=all" in install
    assert remote(install).endswith('-py3-none-any.whl[cuda]" gcsfs')


def test_train_runs_the_same_command_on_all_workers():
    (cmd,) = dry("train", *WHERE, "--workdir", "gs://bucket/rpg-d8", "--",
                 "--config", "configs/rpg.py", "--set", "model.depth=8", "--set", "data.dir=it's here")
    assert cmd[:6] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "pj"]
    assert "--worker=all" in cmd
    assert remote(cmd).startswith('cd picojax && export PATH="$PWD/.venv/bin:$PATH" && ')
    assert remote_argv_after_cd(cmd) == ["bash", "run_tpu.sh", "worker", "--workdir", "gs://bucket/rpg-d8", "--",
                                         "--config", "configs/rpg.py", "--set", "model.depth=8",
                                         "--set", "data.dir=it's here"]


def test_train_on_local_disk_warns_about_multi_host():
    proc = sh("train", *WHERE, "--dry-run")
    assert "--workdir runs/pj" in proc.stdout
    assert "gs://" in proc.stderr


def test_exec_and_stop_reach_all_workers():
    (ex,) = dry("exec", *WHERE, "--", "picojax", "data", "rpg")
    assert "--worker=all" in ex and remote_argv_after_cd(ex) == ["picojax", "data", "rpg"]
    (stop,) = dry("stop", *WHERE)
    assert "--worker=all" in stop and remote_argv_after_cd(stop) == ["bash", "run_tpu.sh", "worker", "--stop"]
    assert sh("exec", "--dry-run", check=False).returncode == 2  # nothing to run


def test_tensorboard_tunnels_worker_0_only():
    proc = sh("tensorboard", *WHERE, "--workdir", "gs://bucket/rpg-d8", "--port", "6007", "--dry-run")
    (cmd,) = [shlex.split(line) for line in proc.stdout.splitlines()]
    assert "--worker=0" in cmd and "--worker=all" not in cmd
    assert "--ssh-flag=-L6007:localhost:6007" in cmd
    assert remote_argv_after_cd(cmd) == ["tensorboard", "--logdir", "gs://bucket/rpg-d8/tb", "--port", "6007"]
    assert "http://localhost:6007" in proc.stderr
    (cmd,) = dry("tensorboard", *WHERE, "--logdir", "gs://bucket")
    assert remote_argv_after_cd(cmd)[:3] == ["tensorboard", "--logdir", "gs://bucket"]


def test_worker_all_exactly_where_it_belongs():
    verbs = {"create": [], "delete": [], "status": [], "setup": [], "train": [], "stop": [],
             "exec": ["--", "true"], "tensorboard": []}
    for verb, extra in verbs.items():
        lines = dry(verb, *WHERE, *extra)
        on_workers = [c for c in lines if c[:5] in (["gcloud", "compute", "tpus", "tpu-vm", "ssh"],
                                                     ["gcloud", "compute", "tpus", "tpu-vm", "scp"])]
        for c in lines:
            expect_all = c in on_workers and verb != "tensorboard"
            assert ("--worker=all" in c) == expect_all, (verb, c)


# ---- babysit ----------------------------------------------------------------------------------


def test_babysit_needs_a_gcs_workdir():
    proc = sh("babysit", *WHERE, "--workdir", "runs/local", "--dry-run", check=False)
    assert proc.returncode == 2 and "gs://" in proc.stderr


def test_babysit_dry_run_prints_one_full_round():
    lines = dry("babysit", *WHERE, "--workdir", "gs://b/run", "--capacity", "spot", "--", "--config", "rpg")
    verbs = [" ".join(c[3:5]) for c in lines if c[0] == "gcloud"]
    assert verbs == ["queued-resources describe", "queued-resources create", "queued-resources describe",
                     "tpu-vm scp", "tpu-vm ssh", "tpu-vm ssh"]
    assert remote_argv_after_cd(lines[-1])[-2:] == ["--config", "rpg"] and "--worker=all" in lines[-1]


FAKE_GCLOUD = textwrap.dedent("""\
    #!/usr/bin/env bash
    # A stand-in for gcloud: logs each call; a TPU whose first training run is preempted.
    echo "$*" >> "$FAKE/calls"
    state=$(cat "$FAKE/state")
    case "$*" in
      *" describe "*) [ "$state" = MISSING ] && exit 1; echo "$state" ;;
      *" create "*)
        n=$(( $(cat "$FAKE/creates" 2>/dev/null || echo 0) + 1 )); echo $n > "$FAKE/creates"
        if [ "$n" -le "${FAIL_CREATES:-0}" ]; then echo "ERROR: no capacity" >&2; exit 1; fi
        echo READY > "$FAKE/state" ;;
      *" delete "*) echo MISSING > "$FAKE/state" ;;
      *"run_tpu.sh worker"*)
        n=$(( $(cat "$FAKE/trains" 2>/dev/null || echo 0) + 1 )); echo $n > "$FAKE/trains"
        if [ "$n" -le "$FAIL_TRAINS" ]; then echo "$AFTER_FAIL" > "$FAKE/state"; exit "${TRAIN_RC:-255}"; fi
        echo "[worker 0] trained" ;;
    esac
    """)


def fake_cloud(tmp_path: Path, *, state: str, fail_trains: int = 0, after_fail: str = "READY",
               fail_creates: int = 0) -> tuple[Path, dict]:
    """A copy of the script in a throwaway git repo, and an env with the fake gcloud first on PATH."""
    repo, fake, bin_dir = tmp_path / "repo", tmp_path / "fake", tmp_path / "bin"
    for d in (repo, fake, bin_dir):
        d.mkdir()
    shutil.copy(SCRIPT, repo / "run_tpu.sh")
    (repo / "pyproject.toml").write_text('[project]\nname = "picojax"\nversion = "0.0.1"\n')
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    gcloud = bin_dir / "gcloud"
    gcloud.write_text(FAKE_GCLOUD)
    gcloud.chmod(gcloud.stat().st_mode | stat.S_IEXEC)
    (fake / "state").write_text(state + "\n")
    env = clean_env(FAKE=str(fake), FAIL_TRAINS=str(fail_trains),
                    AFTER_FAIL=after_fail, FAIL_CREATES=str(fail_creates), TMPDIR=str(tmp_path), TPU_RELAUNCH_DELAY="0")
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    return repo / "run_tpu.sh", env


def calls(env: dict) -> list[str]:
    """What the fake gcloud was asked, in order: 'tpu-vm create', 'ssh train', 'ssh setup', ..."""
    out = []
    for line in (Path(env["FAKE"]) / "calls").read_text().splitlines():
        what = " ".join(line.split()[2:4])
        if what == "tpu-vm ssh":
            what = "ssh train" if "run_tpu.sh worker" in line else "ssh setup"
        out.append(what)
    return out


def test_babysit_recreates_a_preempted_tpu_and_relaunches(tmp_path):
    script, env = fake_cloud(tmp_path, state="READY", fail_trains=1, after_fail="PREEMPTED")
    proc = sh("babysit", *WHERE, "--workdir", "gs://b/run", script=script, env=env)
    assert calls(env) == [
        "tpu-vm describe", "tpu-vm scp", "ssh setup",          # READY: (re)install, then
        "ssh train",                                           # train: preempted mid-run
        "tpu-vm describe",                                     # why it stopped
        "tpu-vm describe", "tpu-vm delete", "tpu-vm create",   # replace the preempted VM
        "tpu-vm scp", "ssh setup",                             # setup on the new workers
        "ssh train",                                           # train again: resumes
    ]
    assert "PREEMPTED" in proc.stderr and "[worker 0] trained" in proc.stdout
    assert (tmp_path / "picojax-bundle-pj.tgz").exists()  # setup really packed the repo


def test_babysit_gives_up_after_max_relaunches(tmp_path):
    script, env = fake_cloud(tmp_path, state="READY", fail_trains=99, after_fail="READY")
    proc = sh("babysit", *WHERE, "--workdir", "gs://b/run", "--max-relaunches", "2", script=script, env=env,
              check=False)
    assert proc.returncode == 2 and "gave up after 2 relaunches" in proc.stderr
    assert calls(env).count("ssh train") == 3 and calls(env).count("ssh setup") == 1
    assert "tpu-vm create" not in calls(env)


def test_babysit_stops_when_training_exits_2(tmp_path):
    """Exit 2 is picojax's bad input (a config it refuses): relaunching would repeat it."""
    script, env = fake_cloud(tmp_path, state="READY", fail_trains=99, after_fail="READY")
    env["TRAIN_RC"] = "2"
    proc = sh("babysit", *WHERE, "--workdir", "gs://b/run", script=script, env=env, check=False)
    assert proc.returncode == 2 and "exit 2" in proc.stderr and "not relaunching" in proc.stderr
    assert calls(env).count("ssh train") == 1 and "relaunch 1/" not in proc.stderr


def test_babysit_relaunches_after_a_crash(tmp_path):
    script, env = fake_cloud(tmp_path, state="READY", fail_trains=1, after_fail="READY")
    env["TRAIN_RC"] = "1"  # a crash (or a failed slice join): worth another try
    proc = sh("babysit", *WHERE, "--workdir", "gs://b/run", script=script, env=env)
    assert calls(env).count("ssh train") == 2 and "relaunch 1/20" in proc.stderr
    assert "[worker 0] trained" in proc.stdout


def test_babysit_retries_a_create_that_found_no_capacity(tmp_path):
    script, env = fake_cloud(tmp_path, state="MISSING", fail_creates=1)
    proc = sh("babysit", *WHERE, "--workdir", "gs://b/run", script=script, env=env)
    assert calls(env) == ["tpu-vm describe", "tpu-vm create",  # no capacity: try again later
                          "tpu-vm describe",
                          "tpu-vm describe", "tpu-vm create", "tpu-vm scp", "ssh setup", "ssh train"]
    assert "no capacity" in proc.stderr and "relaunch 1/20" in proc.stderr


# ---- the worker side ---------------------------------------------------------------------------

FAKE_PICOJAX = textwrap.dedent("""\
    #!/usr/bin/env bash
    # A stand-in for the picojax console script: echoes its argv, then behaves as $MODE says.
    echo "argv: $*"
    echo "to stderr" >&2
    if [ "$MODE" = fail ]; then exit 3; fi
    if [ "$MODE" = long ]; then
      trap 'echo "checkpoint saved"; exit 0' TERM
      while :; do sleep 0.1; done
    fi
    """)


def fake_picojax(tmp_path: Path, mode: str, worker: str) -> dict:
    exe = tmp_path / "picojax"
    exe.write_text(FAKE_PICOJAX)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return clean_env(PICOJAX_BIN=str(exe), MODE=mode, TPU_WORKER_ID=worker, PICOJAX_RUN_DIR=str(tmp_path / "run"))


def test_worker_prefixes_every_line_and_returns_the_trainer_exit_code(tmp_path):
    env = fake_picojax(tmp_path, "fail", worker="1")
    proc = sh("worker", "--workdir", "gs://b/run", "--", "--config", "rpg", "--set", "a=b c", env=env, check=False)
    assert proc.returncode == 3
    lines = proc.stdout.splitlines()
    assert "[worker 1] argv: train --workdir gs://b/run --no-progress --config rpg --set a=b c" in lines
    assert "[worker 1] to stderr" in lines
    assert all(line.startswith("[worker 1] ") for line in lines)
    assert not (tmp_path / "run" / "train-worker1.pid").exists()


def test_worker_stop_terminates_the_running_trainer_gracefully(tmp_path):
    env = fake_picojax(tmp_path, "long", worker="0")
    run = subprocess.Popen(["bash", str(SCRIPT), "worker", "--workdir", "w"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    pidfile = tmp_path / "run" / "train-worker0.pid"
    deadline = time.time() + 20
    while not pidfile.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert pidfile.exists()
    stop = sh("worker", "--stop", env=env)
    assert "[worker 0] stopping the previous run" in stop.stdout
    out, _ = run.communicate(timeout=20)
    assert run.returncode == 0 and "[worker 0] checkpoint saved" in out
    assert not pidfile.exists()


# ---- lint --------------------------------------------------------------------------------------


def test_shellcheck_is_clean():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (.ci/run installs it from Debian's packages)")
    proc = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
