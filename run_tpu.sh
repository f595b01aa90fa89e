#!/usr/bin/env bash
# run_tpu.sh: train picojax on a Cloud TPU VM (one host or a multi-host slice) with gcloud.
# Every verb takes --dry-run, which prints the exact commands instead of running them.
# Written for bash 3.2 too (macOS's /bin/bash): no ${x^^}, empty arrays expanded guardedly.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: run_tpu.sh VERB [options] [-- args]

Verbs (run on your machine; all need the gcloud CLI, logged in):
  create       create the TPU VM; --capacity spot goes through a queued resource
  setup        copy this repo (or a wheel) to ALL workers and install picojax[tpu] there
  train        run `picojax train --workdir WD ARGS` on all workers at once (--worker=all);
               each worker joins the slice through jax.distributed.initialize(); logs
               stream back prefixed "[worker N]"
  exec         run a command in the repo on all workers, e.g. `exec -- picojax config`
  stop         stop the picojax train started by `train` on all workers (it checkpoints)
  tensorboard  serve a (gs://) logdir from worker 0 through an SSH tunnel to localhost
  babysit      create/setup/train in a loop: after a preemption or crash, delete, recreate
               and relaunch; the run resumes from its latest checkpoint (needs a gs:// workdir);
               stops at once when training exits 2 (a bad config or input)
  status       print the TPU's state (READY, PREEMPTED, ACTIVE, SUSPENDED, ...)
  delete       delete the TPU VM (or its queued resource)
  worker       (runs ON a worker; `train` calls it) run picojax train with prefixed logs

Options (flag, or environment variable):
  --name NAME        TPU_NAME      TPU VM / queued-resource name      (default: picojax)
  --zone ZONE        TPU_ZONE      e.g. us-west4-a           (default: gcloud compute/zone)
  --project ID       TPU_PROJECT   Google Cloud project      (default: gcloud core/project)
  --type TYPE        TPU_TYPE      v4-8, v5litepod-8, v6e-8, v5p-8, ... (default: v5litepod-8)
  --runtime VERSION  TPU_RUNTIME   TPU software version        (default: chosen from --type)
  --capacity KIND    TPU_CAPACITY  on-demand | spot (queued resource) | preemptible
  --workdir DIR      TPU_WORKDIR   run directory: gs://BUCKET/PATH, or a path on each
                                   worker's disk (single host only)   (default: runs/NAME)
  --from repo|wheel  setup: ship the working tree (default) or a built wheel
  --data DIR         setup: also ship this local folder (prepared data) to all workers
  --extra NAME       setup: pip extra to install (default: tpu)
  --python VERSION   setup: Python for the workers' venv (default: 3.11, installed by uv)
  --logdir DIR       tensorboard: logdir (default: WORKDIR/tb)
  --port N           tensorboard: local and remote port (default: 6006)
  --max-relaunches N babysit: give up after N relaunches (default: 20)
  --relaunch-delay S TPU_RELAUNCH_DELAY  babysit: seconds between relaunches (default: 60)
  --dry-run          print the commands instead of running them
  -h, --help         this help

Commands on several workers (--worker=all) need your key in an agent first:
  ssh-add ~/.ssh/google_compute_engine

Examples:
  export TPU_NAME=pj TPU_ZONE=us-west4-a TPU_TYPE=v5litepod-8 TPU_WORKDIR=gs://my-bucket/rpg-d8
  ./run_tpu.sh create && ./run_tpu.sh setup --data data/rpg   # data prepared here first
  ./run_tpu.sh train -- --config configs/rpg.py --set model.depth=8
  ./run_tpu.sh tensorboard                       # then open http://localhost:6006
  ./run_tpu.sh delete
EOF
}

die() { echo "run_tpu.sh: error: $*" >&2; exit 2; }
note() { echo "run_tpu.sh: $*" >&2; }

# ---- printing and running commands ------------------------------------------------------

# Shell-quotes one word so that a dry-run line can be pasted back into a shell unchanged;
# --flag=VALUE keeps the flag bare (--command='...') so the line stays readable.
quote() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
    printf '%s' "$1"
  elif [[ $1 =~ ^(--[A-Za-z0-9-]+=)(.*)$ ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
    quote "${BASH_REMATCH[2]}"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

quote_all() {
  local out="" word
  for word in "$@"; do out+="${out:+ }$(quote "$word")"; done
  printf '%s' "$out"
}

# run CMD ARGS...: the one place a command is executed (or, with --dry-run, printed).
run() {
  if [[ $DRY_RUN == 1 ]]; then
    quote_all "$@"; echo
  else
    echo "+ $(quote_all "$@")" >&2
    "$@"
  fi
}

# run_shell 'a | b': for the few local steps that need a pipeline.
run_shell() {
  if [[ $DRY_RUN == 1 ]]; then echo "$1"; else echo "+ $1" >&2; bash -c "$1"; fi
}

# ---- gcloud command lines ---------------------------------------------------------------

default_runtime() {
  case $TYPE in
    v4-*) echo tpu-ubuntu2204-base ;;
    v5litepod-* | v5e-*) echo v2-alpha-tpuv5-lite ;;
    v5p-*) echo v2-alpha-tpuv5 ;;
    v6e-*) echo v2-alpha-tpuv6e ;;
    *) die "no default runtime for --type $TYPE; pass --runtime (gcloud compute tpus versions list)" ;;
  esac
}

# Flags every gcloud call shares; zone and project fall back to gcloud's own config.
where_flags() {
  WHERE=()
  if [[ -n $ZONE ]]; then WHERE+=("--zone=$ZONE"); fi
  if [[ -n $PROJECT ]]; then WHERE+=("--project=$PROJECT"); fi
}

tpu_vm() { run gcloud compute tpus tpu-vm "$@" ${WHERE[@]+"${WHERE[@]}"}; }
queued() { run gcloud compute tpus queued-resources "$@" ${WHERE[@]+"${WHERE[@]}"}; }

# ssh_all 'remote shell command': the same command on every worker of the slice, at once.
ssh_all() { tpu_vm ssh "$NAME" --worker=all --command="$1"; }

# The shell command a worker runs, inside the shipped repo, with the venv first on PATH.
# shellcheck disable=SC2016  # $PWD and $PATH are for the worker's shell to expand
in_repo() { printf 'cd %s && export PATH="$PWD/.venv/bin:$PATH" && %s' "$(quote "$REMOTE_DIR")" "$1"; }

# ---- verbs ------------------------------------------------------------------------------

verb_create() {
  local runtime=$RUNTIME
  if [[ -z $runtime ]]; then runtime=$(default_runtime); fi  # not on `local`: keep die's status
  case $CAPACITY in
    spot)
      # Spot capacity is granted through a queued resource: the request waits in line,
      # then the node is created under the same name.
      queued create "$NAME" --node-id="$NAME" --accelerator-type="$TYPE" --runtime-version="$runtime" --spot &&
        wait_until_active ;;
    preemptible) tpu_vm create "$NAME" --accelerator-type="$TYPE" --version="$runtime" --preemptible ;;
    on-demand) tpu_vm create "$NAME" --accelerator-type="$TYPE" --version="$runtime" ;;
    *) die "--capacity must be on-demand, spot or preemptible, not '$CAPACITY'" ;;
  esac
}

# A queued resource is granted asynchronously; setup needs the node up. Returns 1 when
# the request failed (babysit then deletes it and asks again).
wait_until_active() {
  while :; do
    read_state
    case $STATE in
      ACTIVE | READY) return 0 ;;
      '') if [[ $DRY_RUN == 1 ]]; then return 0; fi
        note "queued resource $NAME does not exist"; return 1 ;;
      FAILED | SUSPENDED) note "queued resource $NAME is $STATE"; return 1 ;;
      *) note "queued resource $NAME is $STATE; waiting"; sleep 30 ;;
    esac
  done
}

# Sets STATE to the TPU's state: READY/PREEMPTED/... for a VM, ACTIVE/SUSPENDED/... for a
# queued resource; empty when it does not exist (and in a dry run, which prints the query).
read_state() {
  local query=(describe "$NAME")
  if [[ $DRY_RUN == 1 ]]; then
    if [[ $CAPACITY == spot ]]; then queued "${query[@]}" '--format=value(state.state)'
    else tpu_vm "${query[@]}" '--format=value(state)'; fi
    STATE=""
  elif [[ $CAPACITY == spot ]]; then
    STATE=$(queued "${query[@]}" '--format=value(state.state)' 2>/dev/null) || STATE=""
  else
    STATE=$(tpu_vm "${query[@]}" '--format=value(state)' 2>/dev/null) || STATE=""
  fi
}

verb_status() {
  read_state
  if [[ $DRY_RUN == 0 ]]; then echo "${STATE:-MISSING}"; fi
}

verb_delete() {
  if [[ $CAPACITY == spot ]]; then
    queued delete "$NAME" --force --quiet  # --force deletes the node with the request
  else
    tpu_vm delete "$NAME" --quiet
  fi
}

verb_setup() {
  local bundle=${TMPDIR:-/tmp}/picojax-bundle-$NAME.tgz files="git ls-files -z --cached --others --exclude-standard"
  local install_target
  case $FROM in
    repo) install_target="-e \".[$EXTRA]\"" ;;
    wheel)
      local version wheel
      version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml")
      wheel=dist/picojax-$version-py3-none-any.whl
      run python3 -m pip wheel --no-deps -w "$REPO/dist" "$REPO"
      files="printf '%s\\0' run_tpu.sh $wheel"
      install_target="\"./${wheel}[$EXTRA]\"" ;;
    *) die "--from must be repo or wheel, not '$FROM'" ;;
  esac
  if [[ -n $DATA ]]; then
    [[ $DRY_RUN == 1 || -d $REPO/$DATA ]] || die "--data $DATA is not a folder under $REPO"
    files="{ $files; find $(quote "$DATA") -type f -print0; }"
  fi
  # One tarball of exactly what ships: tracked and untracked-but-not-ignored files (so no
  # .venv, no runs/), plus the data folder when asked.
  run_shell "cd $(quote "$REPO") && $files | tar --null -T - -czf $(quote "$bundle")" &&
    tpu_vm scp "$bundle" "$NAME:picojax-bundle.tgz" --worker=all &&
    # The TPU images ship Python 3.10; uv brings the Python picojax needs into a venv.
    # gcsfs: gs:// workdirs (Orbax and TensorBoard through fsspec; it pulls in
    # google-cloud-storage, which tensorboardX's gs:// event writer uses).
    ssh_all "set -e; mkdir -p $(quote "$REMOTE_DIR") && tar -xzf picojax-bundle.tgz -C $(quote "$REMOTE_DIR") && rm picojax-bundle.tgz && cd $(quote "$REMOTE_DIR") && export PATH=\"\$HOME/.local/bin:\$PATH\" && { command -v uv >/dev/null || python3 -m pip install --user --quiet uv || curl -LsSf https://astral.sh/uv/install.sh | sh; } && uv venv --allow-existing --python $PYVER .venv && uv pip install --python .venv $install_target gcsfs"
}

verb_exec() {
  [[ ${#PASSTHROUGH[@]} -gt 0 ]] || die "exec needs a command after --, e.g. exec -- picojax config"
  ssh_all "$(in_repo "$(quote_all ${PASSTHROUGH[@]+"${PASSTHROUGH[@]}"})")"
}

check_workdir() {
  if [[ $WORKDIR != gs://* ]]; then
    note "workdir $WORKDIR is on each worker's own disk: fine on one host; a multi-host slice, a preemptible VM or babysit needs gs://"
  fi
}

verb_train() {
  check_workdir
  ssh_all "$(in_repo "$(quote_all bash run_tpu.sh worker --workdir "$WORKDIR" -- ${PASSTHROUGH[@]+"${PASSTHROUGH[@]}"})")"
}

verb_stop() { ssh_all "$(in_repo 'bash run_tpu.sh worker --stop')"; }

verb_tensorboard() {
  local logdir=${LOGDIR:-$WORKDIR/tb}
  cat >&2 <<EOF
run_tpu.sh: TensorBoard runs on worker 0, which reads $logdir with the TPU VM's own
  credentials; ssh forwards localhost:$PORT to it. Open http://localhost:$PORT and stop with Ctrl-C.
  (To read a gs:// logdir from your own machine instead: pip install tensorboard gcsfs;
   gcloud auth application-default login; tensorboard --logdir $logdir)
EOF
  tpu_vm ssh "$NAME" --worker=0 "--ssh-flag=-L$PORT:localhost:$PORT" \
    --command="$(in_repo "$(quote_all tensorboard --logdir "$logdir" --port "$PORT")")"
}

verb_babysit() {
  [[ $WORKDIR == gs://* ]] || die "babysit needs a gs:// workdir: a preempted VM loses its disk and checkpoints"
  local relaunches=0 rc
  NEEDS_SETUP=1  # the first round always installs: setup is idempotent, a stale tree is not
  while :; do
    if bring_up; then
      rc=0
      verb_train || rc=$?
      if ((rc == 0)); then
        if [[ $DRY_RUN == 0 ]]; then note "training finished"; fi
        return 0
      fi
      # Exit 2 is picojax's "bad input" (a config, flag or checkpoint it refuses): running
      # it again would fail the same way. Preemption (ssh drops: 255) and crashes relaunch.
      if ((rc == 2)); then die "training stopped with exit 2 (a bad config, flag or input; see its error above): not relaunching"; fi
    fi
    relaunches=$((relaunches + 1))
    ((relaunches <= MAX_RELAUNCHES)) || die "gave up after $MAX_RELAUNCHES relaunches"
    read_state
    note "stopped (TPU now: ${STATE:-MISSING}); relaunch $relaunches/$MAX_RELAUNCHES in $RELAUNCH_DELAY s, resuming from the latest checkpoint"
    sleep "$RELAUNCH_DELAY"
  done
}

# A READY TPU with this repo installed, whatever state it was in. Runs in an `if`, where
# set -e is off: every step is chained, and a failure returns 1 (babysit tries again).
bring_up() {
  read_state
  case $STATE in
    READY | ACTIVE) ;;
    CREATING | PROVISIONING | ACCEPTED | WAITING_FOR_RESOURCES) wait_until_active || return 1 ;;
    '') verb_create || return 1; NEEDS_SETUP=1 ;;
    *) note "$NAME is $STATE: deleting and recreating it"
      verb_delete || note "delete failed; creating anyway"
      verb_create || return 1; NEEDS_SETUP=1 ;;
  esac
  if [[ $NEEDS_SETUP == 1 ]]; then verb_setup || return 1; NEEDS_SETUP=0; fi
}

# ---- the worker side: runs on each TPU VM worker (or a local process in the tests) -------

# This worker's index in the slice: TPU_WORKER_ID / JAX_PROCESS_ID when set (local runs),
# else the TPU VM metadata server, which is also where jax.distributed.initialize() looks.
worker_index() {
  local id=${TPU_WORKER_ID:-${JAX_PROCESS_ID:-}}
  if [[ -z $id ]]; then
    id=$(curl -sf --max-time 3 -H 'Metadata-Flavor: Google' \
      http://metadata.google.internal/computeMetadata/v1/instance/attributes/agent-worker-number) || id=0
  fi
  echo "$id"
}

# SIGTERM makes the trainer checkpoint and exit; wait for that before a new run grabs the TPU.
stop_previous() {
  local pidfile=$1 pid
  [[ -f $pidfile ]] || return 0
  pid=$(<"$pidfile")
  if [[ $DRY_RUN == 1 ]]; then run kill -TERM "$pid"; return 0; fi
  if [[ $pid =~ ^[0-9]+$ ]] && grep -qa picojax "/proc/$pid/cmdline" 2>/dev/null; then
    echo "${PREFIX}stopping the previous run (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 600)); do sleep 1; waited=$((waited + 1)); done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

verb_worker() {
  local index rundir pidfile bin rc=0
  bin=${PICOJAX_BIN:-picojax}
  index=$(worker_index)
  PREFIX="[worker $index] "
  rundir=${PICOJAX_RUN_DIR:-$HOME/.picojax}
  pidfile=$rundir/train-worker$index.pid
  mkdir -p "$rundir"
  stop_previous "$pidfile"
  if [[ $STOP_ONLY == 1 ]]; then return 0; fi
  # --no-progress: a progress bar redraws one line with carriage returns, which cannot be
  # prefixed line by line; the trainer's periodic log lines say the same.
  local cmd=("$bin" train --workdir "$WORKDIR" --no-progress ${PASSTHROUGH[@]+"${PASSTHROUGH[@]}"})
  if [[ $DRY_RUN == 1 ]]; then run "${cmd[@]}"; return 0; fi
  # Unbuffered so each line streams back through ssh as it is printed.
  PYTHONUNBUFFERED=1 "${cmd[@]}" \
    > >(awk -v p="$PREFIX" '{ print p $0; fflush() }') 2>&1 &
  local pid=$!
  echo "$pid" >"$pidfile"
  # Ctrl-C / ssh hang-up: pass the signal on so the trainer checkpoints before exiting.
  trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM HUP
  wait "$pid" || rc=$?
  if ((rc > 128)) && kill -0 "$pid" 2>/dev/null; then wait "$pid" || rc=$?; fi  # woken by a trap
  rm -f "$pidfile"
  return "$rc"
}

# ---- argument parsing -------------------------------------------------------------------

main() {
  REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  NAME=${TPU_NAME:-picojax} ZONE=${TPU_ZONE:-} PROJECT=${TPU_PROJECT:-}
  TYPE=${TPU_TYPE:-v5litepod-8} RUNTIME=${TPU_RUNTIME:-} CAPACITY=${TPU_CAPACITY:-on-demand}
  WORKDIR=${TPU_WORKDIR:-} FROM=repo DATA="" EXTRA=tpu PYVER=3.11 LOGDIR="" PORT=6006
  MAX_RELAUNCHES=20 RELAUNCH_DELAY=${TPU_RELAUNCH_DELAY:-60} DRY_RUN=0 STOP_ONLY=0 REMOTE_DIR=picojax PASSTHROUGH=()

  [[ $# -gt 0 ]] || { usage >&2; exit 2; }
  local verb=$1; shift
  case $verb in -h | --help | help) usage; exit 0 ;; esac
  while [[ $# -gt 0 ]]; do
    case $1 in
      -h | --help) usage; exit 0 ;;
      --dry-run) DRY_RUN=1 ;;
      --stop) STOP_ONLY=1 ;;
      --) shift; PASSTHROUGH=("$@"); break ;;
      --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;  # --flag=value -> --flag value
      --name | --zone | --project | --type | --runtime | --capacity | --workdir | --from | --data | \
        --extra | --python | --logdir | --port | --max-relaunches | --relaunch-delay)
        [[ $# -ge 2 && $2 != --* ]] || die "$1 needs a value"
        local key=${1#--}
        key=${key//-/_}
        case $key in python) key=pyver ;; esac
        printf -v "$(echo "$key" | tr '[:lower:]' '[:upper:]')" '%s' "$2"
        shift ;;
      *) die "unknown option '$1' for $verb (see --help)" ;;
    esac
    shift
  done
  WORKDIR=${WORKDIR:-runs/$NAME}
  [[ $PORT =~ ^[0-9]+$ ]] || die "--port must be a number, not '$PORT'"
  [[ $MAX_RELAUNCHES =~ ^[0-9]+$ ]] || die "--max-relaunches must be a number, not '$MAX_RELAUNCHES'"
  [[ $RELAUNCH_DELAY =~ ^[0-9]+$ ]] || die "--relaunch-delay must be a number of seconds, not '$RELAUNCH_DELAY'"
  case $CAPACITY in on-demand | spot | preemptible) ;; *) die "--capacity must be on-demand, spot or preemptible, not '$CAPACITY'" ;; esac
  where_flags

  case $verb in
    create | setup | train | exec | stop | tensorboard | babysit | status | delete | worker) "verb_$verb" ;;
    *) die "unknown verb '$verb' (see --help)" ;;
  esac
}

main "$@"
