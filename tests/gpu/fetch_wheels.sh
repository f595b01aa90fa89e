#!/usr/bin/env bash
# Downloads, on a machine with a package index, the wheels that a bare GPU machine (jax, flax,
# optax and orbax with CUDA, but no internet) may lack to install and test picojax, for
# CPython 3.11 and 3.12 on manylinux x86_64. tests/gpu/run_on_gpu.sh installs from them.
#
#   bash tests/gpu/fetch_wheels.sh [DEST]     # DEST defaults to tests/gpu/.whl
#
# tests/gpu/.whl is git-ignored (the repo's .gitignore ignores every `.whl/` folder), so
# the wheels are never committed by accident; being ignored, they do not travel with the
# work tree either: name the folder in the device tool's `carry` (["tests/gpu/.whl"]).
#
# Environment:
#   PYTHON        the python whose pip downloads (default: python3)
#   PY_VERSIONS   target CPython versions (default: "311 312")
#   DEPS=1        let pip resolve every dependency for the target too (larger: numpy,
#                 protobuf, ... that the jax stack already brings); default: the list below
#                 only, without dependencies
#
# The list: picojax's own runtime needs that the jax/flax/optax/orbax stack does not bring
# (pyproject.toml: grain, sentencepiece, tensorboardX, tqdm; grain's array-record,
# cloudpickle, portpicker; tensorboardX's packaging), the test runner (pytest, its
# iniconfig/pluggy/pygments; hypothesis and sortedcontainers, which tests/ import), and
# setuptools/wheel for the offline editable install. About 17 MiB for both versions.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEST=${1:-$HERE/.whl}
PY=${PYTHON:-python3}
read -r -a PY_VERSIONS <<< "${PY_VERSIONS:-311 312}"

# Lower bounds as in pyproject.toml.
PACKAGES=(
  "grain>=0.2.18" array-record cloudpickle portpicker
  "sentencepiece>=0.2.0" "tensorboardX>=2.6.2" "tqdm>=4.66" packaging
  "pytest>=8.0" iniconfig pluggy pygments "hypothesis>=6.100" sortedcontainers
  "setuptools>=68" wheel
)
PLATFORMS=(manylinux2014_x86_64 manylinux_2_17_x86_64 manylinux_2_27_x86_64 manylinux_2_28_x86_64 linux_x86_64)

platform_flags=()
for p in "${PLATFORMS[@]}"; do
  platform_flags+=(--platform "$p")
done
deps_flag=(--no-deps)
if [ "${DEPS:-0}" = 1 ]; then
  deps_flag=()
fi

mkdir -p "$DEST"
for v in "${PY_VERSIONS[@]}"; do
  echo "== CPython $v -> $DEST"
  "$PY" -m pip download --dest "$DEST" --only-binary=:all: "${deps_flag[@]}" \
    --implementation cp --python-version "$v" --abi "cp$v" --abi abi3 --abi none "${platform_flags[@]}" \
    "${PACKAGES[@]}"
done
echo "== $(find "$DEST" -name '*.whl' | wc -l) wheels, $(du -sh "$DEST" | cut -f1) in $DEST"
