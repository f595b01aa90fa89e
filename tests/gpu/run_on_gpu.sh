#!/usr/bin/env bash
# picojax on a bare GPU machine, in one go: install offline, show the GPU, run the GPU tests,
# bench training and decoding, run the RPG quickstart end to end, and write every figure to
# one JSON file, $OUT/gpu_figures.json.
#
#   bash tests/gpu/run_on_gpu.sh              # from the repo copy on the GPU machine
#   DRY_RUN=1 bash tests/gpu/run_on_gpu.sh    # print the commands, run nothing
#
# The machine is expected to have python with jax (CUDA), flax, optax and orbax, and no
# internet. What else picojax needs (grain, sentencepiece, tensorboardX, tqdm, pytest,
# hypothesis, ...) comes from wheels made beforehand by tests/gpu/fetch_wheels.sh.
#
# Environment:
#   OUT         logs and gpu_figures.json (default ./gpu_out; the device tool sets it)
#   PYTHON      the python with the CUDA jax (default python3)
#   WHEELS      folder of wheels to install from (default tests/gpu/.whl, else tests/gpu/wheels;
#               git-ignored .whl/ travels to the device machine only when carried)
#   BUDGET_S    wall-clock budget of the whole run in seconds (default 570, so it fits one
#               10-minute device call; 720 = the 12 minutes of the plan). Each stage's
#               timeout is cut to what is left; a stage with under 20 s left is skipped.
#   STAGES      stages to run, in order (default: all of
#               "install env pytest bench_attention bench_train bench_decode quickstart")
#   DRY_RUN=1   print each command instead of running it (gpu_figures.json is still written)
#   TEST_PLATFORMS           JAX_PLATFORMS for the tests (default cuda,cpu)
#   BENCH_ATTENTION_ARGS, BENCH_TRAIN_ARGS, BENCH_DECODE_ARGS, QUICKSTART_ARGS
#               replace a stage's flags (defaults below), e.g. BENCH_TRAIN_ARGS="--depths 12 --batch 512"
#
# Every stage runs whether or not the ones before it passed. Its rc, wall time, whether it
# timed out and its figures are written to gpu_figures.json as soon as it ends, so a run cut
# short still leaves everything measured so far; a stage run again replaces its entry (so
# two calls with different STAGES, e.g. "install env pytest bench_attention" then
# "install bench_train bench_decode quickstart", fill one file). Logs: $OUT/logs/<stage>.log.
#
# Expected on one H100/H200 (nothing has been timed on a GPU yet): install ~20 s, env ~10,
# pytest ~150, bench_attention ~40, bench_train ~100, bench_decode ~60, quickstart ~180.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$PWD/gpu_out}
PY=${PYTHON:-python3}
WHEELS=${WHEELS:-$HERE/.whl}
if [ ! -d "$WHEELS" ] && [ -d "$HERE/wheels" ]; then
  WHEELS=$HERE/wheels
fi
BUDGET_S=${BUDGET_S:-570}
DRY_RUN=${DRY_RUN:-0}
STAGES=${STAGES:-install env pytest bench_attention bench_train bench_decode quickstart}
export OUT PYTHON=$PY WHEELS BUDGET_S DRY_RUN  # the same settings in each stage's process
FIGURES=$OUT/gpu_figures.json
LOGS=$OUT/logs
QS=$OUT/qs

# Per-stage ceilings in seconds (cut further to the budget left).
declare -A LIMIT=(
  [install]=90 [env]=60 [pytest]=240 [bench_attention]=90 [bench_train]=200 [bench_decode]=120 [quickstart]=330
)

# The repo on the path whether or not the editable install worked (configs/, data_gen/ and
# eval/ are top-level packages there); `python -m picojax` needs no console script. SITE:
# where the install stage unpacks wheels when pip cannot install them (outside $OUT, which
# goes back to the caller).
SITE=${SITE:-${TMPDIR:-/tmp}/picojax_gpu_site}
export SITE PYTHONPATH="$REPO:$SITE${PYTHONPATH:+:$PYTHONPATH}"
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_BREAK_SYSTEM_PACKAGES=1
export PYTHONUNBUFFERED=1

say() { printf '\n=== %s\n' "$*"; }

# Runs a command, or prints it under DRY_RUN=1.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# ---------------------------------------------------------------------------------------
# Stages. Each runs in a child process of this script under `timeout`.

stage_install() {
  local missing=()
  # import name -> distribution name, for what the jax/flax/optax/orbax stack does not bring
  local pair name dist
  for pair in grain:grain sentencepiece:sentencepiece tensorboardX:tensorboardX tqdm:tqdm \
              pytest:pytest hypothesis:hypothesis; do
    name=${pair%%:*}
    dist=${pair#*:}
    if ! "$PY" -c "import $name" 2>/dev/null; then
      missing+=("$dist")
    fi
  done
  echo "missing before install: ${missing[*]:-none}"
  if [ "${#missing[@]}" -gt 0 ]; then
    if compgen -G "$WHEELS/*.whl" >/dev/null; then
      local tag wheels=()
      tag=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
      mapfile -t wheels < <(find "$WHEELS" -name '*.whl' \( -name "*-$tag-*" -o -name '*-none-any.whl' \))
      # 1. pip, resolving against what is installed plus the wheels; 2. pip without
      # resolution, every wheel that fits this python; 3. no pip: unpack them into $SITE,
      # which every stage has on its PYTHONPATH.
      if ! run "$PY" -m pip install --no-index --find-links "$WHEELS" "${missing[@]}" \
          && ! run "$PY" -m pip install --no-index --no-deps "${wheels[@]}"; then
        echo "pip failed: unpacking ${#wheels[@]} wheels into $SITE"
        run mkdir -p "$SITE"
        for wheel in "${wheels[@]}"; do
          run "$PY" -m zipfile -e "$wheel" "$SITE"
        done
      fi
    else
      echo "no wheels in $WHEELS (make them with tests/gpu/fetch_wheels.sh): ${missing[*]} stay missing"
    fi
  fi
  # picojax itself, from this copy, no index: built with setuptools from the wheels (the
  # SPDX `license` string needs setuptools >= 77), else with the installed one; if both
  # fail, PYTHONPATH=$REPO serves.
  run "$PY" -m pip install --no-index --find-links "$WHEELS" --no-deps -e "$REPO" \
    || run "$PY" -m pip install --no-index --no-deps --no-build-isolation -e "$REPO" \
    || echo "editable install failed; PYTHONPATH=$REPO serves instead"
  run "$PY" -c 'import jax, flax, optax, orbax.checkpoint, grain, sentencepiece, tensorboardX, tqdm, picojax.app; print("imports ok")'
}

stage_env() {
  run nvidia-smi
  run nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
  # One line "ENV {json}" for the figures.
  run "$PY" - <<'PY'
import json, platform, sys
import jax
info = {"python": platform.python_version(), "jax": jax.__version__, "default_backend": jax.default_backend()}
try:
    import jaxlib
    info["jaxlib"] = jaxlib.__version__
except Exception as e:  # noqa: BLE001
    info["jaxlib"] = repr(e)
try:
    from jax._src.lib import cuda_versions
    info["cudnn"] = cuda_versions.cudnn_get_version() if cuda_versions else None
    info["cuda_runtime"] = cuda_versions.cuda_runtime_get_version() if cuda_versions else None
except Exception as e:  # noqa: BLE001
    info["cudnn"] = repr(e)
for platform_name in ("gpu", "cpu"):
    try:
        devices = jax.devices(platform_name)
        info[f"{platform_name}_devices"] = [f"{d.id}:{d.device_kind}" for d in devices]
        if platform_name == "gpu":
            info["compute_capability"] = getattr(devices[0], "compute_capability", None)
    except RuntimeError as e:
        info[f"{platform_name}_devices"] = f"none ({str(e).splitlines()[0]})"
for name in ("flax", "optax", "orbax.checkpoint", "grain", "sentencepiece", "tensorboardX", "numpy"):
    try:
        module = __import__(name, fromlist=["_"])
        info[name] = getattr(module, "__version__", "?")
    except Exception as e:  # noqa: BLE001
        info[name] = f"missing ({e})"
print(jax.devices())
print("ENV " + json.dumps(info, sort_keys=True))
sys.exit(0 if info["default_backend"] == "gpu" else 3)  # rc 3: JAX sees no GPU
PY
}

stage_pytest() {
  # cuda,cpu: tests/conftest.py sets JAX_PLATFORMS=cpu unless it is set, and the checkpoint
  # checks need both platforms.
  (cd "$REPO" && run env JAX_PLATFORMS="${TEST_PLATFORMS:-cuda,cpu}" "$PY" -m pytest -m gpu tests/test_gpu.py -q -rA -p no:cacheprovider \
    --durations=0 --junitxml="$OUT/pytest_gpu.xml")
}

# A stage's flags: the environment variable if set, else the default.
flags() {  # flags VAR DEFAULT...
  local var=$1
  shift
  if [ -n "${!var:-}" ]; then
    read -r -a FLAGS <<< "${!var}"
  else
    FLAGS=("$@")
  fi
}

stage_bench_attention() {
  # bf16 forward+backward of einsum / xla / cudnn at the head counts of depths 6 and 12.
  flags BENCH_ATTENTION_ARGS --depths 6,12 --batch 32 --seq-len 512 --rounds 10 --mask segments
  run "$PY" -m picojax bench attention "${FLAGS[@]}"
}

stage_bench_train() {
  # The real trainer in bf16, a large batch: 256 x 256 = 65k tokens a step.
  flags BENCH_TRAIN_ARGS --depths 6,12 --batch 256 --seq-len 256 --steps 30 --set model.compute_dtype=bfloat16
  run "$PY" -m picojax bench train "${FLAGS[@]}"
}

stage_bench_decode() {
  flags BENCH_DECODE_ARGS --depths 4,12 --batches 1,64 --new-tokens 128 --seq-len 256
  run "$PY" -m picojax bench decode "${FLAGS[@]}"
}

stage_quickstart() {
  flags QUICKSTART_ARGS --task rpg
  run "$PY" -m picojax quickstart "${FLAGS[@]}" --workdir "$QS" --no-progress
  local rc=$?
  # The generated dataset (tens of MB) is rebuilt in a minute; keep results, not data.
  if [ "$DRY_RUN" != 1 ] && [ -d "$QS/data" ]; then
    du -sh "$QS/data" || true
    rm -rf "$QS/data"
  fi
  return "$rc"
}

# ---------------------------------------------------------------------------------------
# gpu_figures.json: one entry per stage, rewritten after each.

record() {  # record STAGE RC WALL_S TIMED_OUT(0/1) LOG
  "$PY" - "$FIGURES" "$@" "$OUT" "$QS" "$DRY_RUN" "$BUDGET_S" <<'PY'
import json, os, re, sys, time
import xml.etree.ElementTree as ET

path, stage, rc, wall, timed_out, log, out, qs, dry, budget = sys.argv[1:]
try:
    with open(path) as f:
        doc = json.load(f)
except (OSError, ValueError):
    doc = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "budget_s": int(budget), "dry_run": dry == "1", "stages": {}}
text = ""
if os.path.exists(log):
    with open(log, errors="replace") as f:
        text = f.read()
entry = {"rc": int(rc), "ok": int(rc) == 0, "wall_s": round(float(wall), 1), "timed_out": timed_out == "1",
         "log": os.path.relpath(log, out), "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
if rc == "-1":
    entry.update(ok=False, skipped="no budget left")
figures = {}

def bench_lines(text):
    found = {}
    for line in text.splitlines():
        if line.startswith("BENCH "):
            try:
                record = json.loads(line[len("BENCH "):])
            except ValueError:
                continue
            found[record.get("bench", "?")] = record
    return found

if stage == "env":
    for line in text.splitlines():
        if line.startswith("ENV "):
            figures = json.loads(line[4:])
    smi = [l for l in text.splitlines() if re.match(r"^[^,]+, [\d.]+, \d+ MiB, [\d.]+$", l.strip())]
    if smi:
        figures["nvidia_smi"] = [l.strip() for l in smi]
elif stage == "pytest":
    xml = os.path.join(out, "pytest_gpu.xml")
    if os.path.exists(xml):
        root = ET.parse(xml).getroot()
        suite = root if root.tag == "testsuite" else root.find("testsuite")
        tests = {}
        for case in suite.iter("testcase"):
            name = case.get("name")
            outcome, message = "passed", None
            for tag in ("failure", "error", "skipped"):
                node = case.find(tag)
                if node is not None:
                    outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                    message = (node.get("message") or node.text or "")[:800]
                    break
            tests[name] = {"outcome": outcome, "time_s": round(float(case.get("time", 0)), 2)}
            if message:
                tests[name]["message"] = message
        counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
        figures = {**counts, "passed": counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"],
                   "time_s": float(suite.get("time", 0)), "tests": tests}
    summary = [l for l in text.splitlines() if re.search(r"\d+ (passed|failed|error)", l)]
    if summary:
        figures["summary_line"] = summary[-1].strip("= ")
elif stage.startswith("bench_"):
    figures = bench_lines(text)
elif stage == "quickstart":
    stages = {}
    for m in re.finditer(r"^\[(\d)/5\] ([^:\n]+): (.*) \((\d+) s\)$", text, re.M):
        stages[m.group(2)] = {"note": m.group(3), "s": int(m.group(4))}
    figures["stages"] = stages
    done = re.search(r"quickstart done in (\d+) s", text)
    if done:
        figures["total_s"] = int(done.group(1))
    eval_path = os.path.join(qs, "eval.json")
    if os.path.exists(eval_path):
        with open(eval_path) as f:
            results = json.load(f)
        flat = {}
        def walk(prefix, value):
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}{k}/", v)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                flat[prefix.rstrip("/")] = value
        walk("", {k: v for k, v in results.items() if k != "samples"})
        figures["eval"] = dict(list(flat.items())[:200])
    metrics_path = os.path.join(qs, "metrics.jsonl")
    if os.path.exists(metrics_path):
        last = {}
        with open(metrics_path) as f:
            for line in f:
                try:
                    last.update(json.loads(line))
                except ValueError:
                    pass
        figures["train_last"] = {k: v for k, v in last.items() if isinstance(v, (int, float))}
if figures:
    entry["figures"] = figures
if not entry["ok"]:
    entry["log_tail"] = text[-3000:]
doc["stages"][stage] = entry
doc["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
doc["all_ok"] = all(s.get("ok") for s in doc["stages"].values())
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(doc, f, indent=1, sort_keys=True)
os.replace(tmp, path)
print(f"{stage}: rc {rc}, {float(wall):.0f} s" + (", timed out" if timed_out == "1" else "") + f" -> {path}")
PY
}

# ---------------------------------------------------------------------------------------
# Entry points: `run_on_gpu.sh __stage NAME` runs one stage (what `timeout` calls).

if [ "${1:-}" = __stage ]; then
  "stage_$2"
  exit $?
fi

mkdir -p "$OUT" "$LOGS"
start=$SECONDS
say "picojax GPU run: OUT=$OUT PYTHON=$PY budget ${BUDGET_S}s stages: $STAGES$([ "$DRY_RUN" = 1 ] && echo ' (dry run)')"
for stage in $STAGES; do
  if ! declare -F "stage_$stage" >/dev/null; then
    echo "unknown stage $stage (known: ${!LIMIT[*]})" >&2
    continue
  fi
  left=$((BUDGET_S - (SECONDS - start)))
  log=$LOGS/$stage.log
  limit=${LIMIT[$stage]}
  if [ "$left" -lt 20 ]; then
    say "$stage: skipped, ${left}s of the budget left"
    echo "skipped: ${left}s of the budget left" >"$log"
    record "$stage" -1 0 0 "$log"
    continue
  fi
  [ "$left" -lt "$limit" ] && limit=$((left - 5))
  say "$stage (timeout ${limit}s, ${left}s of the budget left)"
  t0=$SECONDS
  timeout -k 10 "$limit" bash "${BASH_SOURCE[0]}" __stage "$stage" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  timed_out=0
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    timed_out=1
  fi
  record "$stage" "$rc" "$((SECONDS - t0))" "$timed_out" "$log"
done
say "done in $((SECONDS - start))s: $FIGURES"
"$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(json.dumps({k: (v["rc"], v["wall_s"]) for k, v in d["stages"].items()}))' "$FIGURES"
