"""GPU checks: bf16 numerics, cuDNN attention, a train step + resume, checkpoints that cross
between GPU and CPU, and the sampler, all on a real GPU.

Every check is parametrized by platform. The ``gpu`` cases are marked ``gpu`` and skip,
with one reason, when ``jax.devices('gpu')`` has nothing to offer (a CPU-only host, or
JAX_PLATFORMS=cpu as the test harness sets by default); the skip is decided here, not in
conftest. The ``cpu`` cases run the same code and tolerances on the CPU, so CI exercises
the test logic itself (and shows that a correct bf16 kernel passes the tolerances). Run
the GPU cases with::

    JAX_PLATFORMS=cuda,cpu python -m pytest -m gpu tests/test_gpu.py -q -rs

(tests/gpu/run_on_gpu.sh does that on a bare GPU machine). Both platforms must be
visible for the GPU<->CPU checkpoint checks, hence ``cuda,cpu``.

Tolerances (all with bf16 inputs/activations; measured errors of a correct bf16 kernel
against an f32 reference are ~3-4x below them, see the constants):

- model logits, bf16 vs f32 compute of the same f32 weights: relative RMS error
  <= BF16_LOGITS_REL_RMS, argmax agreement >= BF16_ARGMAX_AGREE;
- attention outputs and their q/k/v gradients vs an f32 reference on the same
  bf16-rounded inputs: relative Frobenius error <= ATTN_REL (grads ATTN_GRAD_REL), max
  abs error <= ATTN_MAX_ABS; cuDNN vs XLA directly: max abs <= 2 * ATTN_MAX_ABS;
- checkpoints: restored arrays bit-identical on every device; f32 logits of the same
  weights on GPU vs CPU (highest matmul precision) within CROSS_DEVICE_F32 (abs and rel).
"""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from _train_support import VOCAB, make_data, tiny_config
from picojax import checkpoint, sharding
from picojax.attention import cache_mask, causal_mask, einsum_attention, fused_attention, resolve_implementation
from picojax.config import MeshConfig, ModelConfig, derive_model_dims
from picojax.model import Transformer, compute_dtype
from picojax.restore import restore_for_inference
from picojax.run_dir import RunDir
from picojax.sample import Sampler, SamplingConfig
from picojax.tokenizer import BOS_ID
from picojax.train_loop import train
from picojax.train_state import abstract_train_state, init_train_state

# ----------------------------------------------------------------------------------------
# Tolerances (see the module docstring). Measured on a correct bf16 path (XLA on CPU):
# logits rel RMS 0.013, argmax agreement 0.98; attention rel 0.0022 (max abs 0.011),
# gradients rel 0.0029.

BF16_LOGITS_REL_RMS = 0.04
BF16_ARGMAX_AGREE = 0.9
ATTN_REL = 0.01
ATTN_GRAD_REL = 0.015
ATTN_MAX_ABS = 0.04
CROSS_DEVICE_F32 = 1e-4
FIRST_LOSS_ABS = 0.05  # the first loss of a fresh model is log(vocab) within this (as tests/test_train.py)
GPU_RESUME_REL = 1e-2  # GPU reductions (scatter-add atomics) are not bitwise deterministic; CPU must be exact
CUDNN_CALL = "__cudnn$fmha"  # the custom-call target of every cuDNN attention kernel (fwd and bwd)


# ----------------------------------------------------------------------------------------
# Which devices there are: the one skip reason of this file.


def _probe(platform: str) -> tuple[list, str]:
    try:
        return list(jax.devices(platform)), ""
    except RuntimeError as e:  # "Unknown backend: 'gpu' requested, but no platforms ..."
        return [], f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"


_GPUS, _GPU_ERROR = _probe("gpu")
NEEDS_GPU = pytest.mark.skipif(not _GPUS, reason=f"needs a GPU: jax.devices('gpu') is unavailable ({_GPU_ERROR})")
GPU = pytest.param("gpu", marks=[pytest.mark.gpu, NEEDS_GPU], id="gpu")
PLATFORMS = [pytest.param("cpu", id="cpu"), GPU]
# The CPU twins of the checks that compile a train step or a sampler take 10-25 s each on
# a 2-core CPU: slow there (tests/test_train.py, test_checkpoint.py, test_sample.py cover
# the same code on the CPU at length).
PLATFORMS_SLOW_ON_CPU = [pytest.param("cpu", marks=pytest.mark.slow, id="cpu"), GPU]


def device_of(platform: str):
    return jax.devices(platform)[0]


def one_device_mesh(platform: str):
    return sharding.make_mesh(MeshConfig(data=1, fsdp=1, tensor=1), [device_of(platform)])


def platforms_of(tree) -> set[str]:
    return {d.platform for leaf in jax.tree.leaves(tree) for d in leaf.devices()}


def on(platform: str, tree):
    """`tree` committed to the platform's first device (jit then runs there)."""
    return jax.device_put(tree, device_of(platform))


def rel_err(got, want) -> float:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30))


def by_platform(platform: str, cpu, gpu):
    """A size for each platform: the CPU twins stay small so the fast suite stays fast."""
    return gpu if platform == "gpu" else cpu


def model_cfg(**overrides) -> ModelConfig:
    base = dict(depth=2, aspect_ratio=64, head_dim=64, kv_group=2, vocab_size=256, seq_len=128, init_std=0.1)
    return derive_model_dims(ModelConfig(**{**base, **overrides}))


_CACHE: dict = {}  # compiled programs and weights shared between parametrized cases


def forward_fn(m: ModelConfig):
    """jit(state, tokens, segment_ids) -> logits for a model with config `m` (weights passed in)."""
    key = ("forward", repr(m))
    if key not in _CACHE:
        graphdef = nnx.graphdef(nnx.eval_shape(lambda: Transformer(m, rngs=nnx.Rngs(0))))
        _CACHE[key] = jax.jit(lambda state, tokens_BxL, segment_ids_BxL: nnx.merge(graphdef, state)(
            tokens_BxL, segment_ids_BxL=segment_ids_BxL))
    return _CACHE[key]


def weights(m: ModelConfig, platform: str):
    """Random f32 parameters for config `m` on the platform's first device: matrices
    N(0, init_std), norm scales (the only vectors) 1, as the model's init draws them. Drawn
    with NumPy, so every platform gets the very same weights, and fast (XLA's threefry
    init compiles for ~6 s on a 2-core CPU)."""
    key = ("weights", repr(f32_reference(m)), platform)
    if key not in _CACHE:
        abstract = nnx.state(nnx.eval_shape(lambda: Transformer(f32_reference(m), rngs=nnx.Rngs(0))))
        rng = np.random.default_rng(0)
        leaves, treedef = jax.tree.flatten(abstract)
        values = [np.ones(x.shape, np.float32) if len(x.shape) == 1
                  else (m.init_std * rng.standard_normal(x.shape)).astype(np.float32) for x in leaves]
        _CACHE[key] = on(platform, jax.tree.unflatten(treedef, values))
    return _CACHE[key]


def f32_reference(m: ModelConfig) -> ModelConfig:
    return dataclasses.replace(m, compute_dtype="float32", attention="xla")


def tokens_and_segments(b: int, n: int, vocab: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, vocab, (b, n)).astype(np.int32)
    segments = np.sort(rng.integers(1, 4, (b, n)), axis=1).astype(np.int32)  # 1-3 packed documents per row
    return tokens, segments


# ----------------------------------------------------------------------------------------
# (a) bf16 compute tracks f32 compute of the same weights.


@pytest.mark.parametrize("packed", [False, True], ids=["causal", "segments"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_bf16_logits_track_f32_logits_of_the_same_weights(platform, packed):
    m32 = f32_reference(model_cfg(seq_len=by_platform(platform, 64, 256)))
    m16 = dataclasses.replace(m32, compute_dtype="bfloat16", attention="auto")  # auto: cuDNN on a GPU
    state = weights(m32, platform)  # f32 parameters, as trained
    tokens, segments = tokens_and_segments(4, m32.seq_len, m32.vocab_size)
    seg = segments if packed else None
    with jax.default_matmul_precision("highest"):  # a true f32 reference (no TF32 on the GPU)
        want = np.asarray(forward_fn(m32)(state, tokens, seg))
    fwd16 = forward_fn(m16)
    assert "bf16" in str(jax.make_jaxpr(fwd16)(state, tokens, seg)), "the bf16 config did not compute in bf16"
    got = fwd16(state, tokens, seg)
    assert got.dtype == jnp.float32 and platforms_of(got) == {platform}
    got = np.asarray(got)
    assert np.isfinite(got).all()
    assert not np.array_equal(got, want), "bf16 logits equal f32 bit for bit: bf16 was not used"
    spread = want - want.mean(-1, keepdims=True)
    rel_rms = float(np.sqrt(np.mean((got - want) ** 2)) / np.sqrt(np.mean(spread ** 2)))
    agree = float(np.mean(got.argmax(-1) == want.argmax(-1)))
    assert rel_rms <= BF16_LOGITS_REL_RMS, f"bf16 vs f32 logits: relative RMS error {rel_rms:.4f}"
    assert agree >= BF16_ARGMAX_AGREE, f"bf16 vs f32 logits: argmax agrees on {agree:.1%} of positions"
    if packed:  # the tolerance is tight enough to see a dropped segment mask
        alone = np.asarray(forward_fn(m16)(state, tokens, None))
        dropped = float(np.sqrt(np.mean((alone - want) ** 2)) / np.sqrt(np.mean(spread ** 2)))
        assert dropped > 3 * BF16_LOGITS_REL_RMS, dropped


@NEEDS_GPU
@pytest.mark.gpu
def test_auto_means_bf16_and_cudnn_on_gpu_and_cudnn_really_runs():
    """`auto` resolves to bf16 + cuDNN on a GPU, and the model's forward and backward lower
    to cuDNN's fused attention: not to the silent XLA fallback of `fused_attention`."""
    m = model_cfg(seq_len=256)  # the library defaults otherwise (compute_dtype/attention auto)
    assert jax.default_backend() == "gpu"
    assert compute_dtype(m) == jnp.bfloat16
    assert resolve_implementation("auto") == "cudnn"
    state = weights(m, "gpu")
    tokens, segments = tokens_and_segments(2, m.seq_len, m.vocab_size)
    fwd = forward_fn(m)

    def loss(state, tokens, seg):
        return jnp.mean(fwd(state, tokens, seg) ** 2)

    for name, seg in (("causal", None), ("segments", segments)):
        for what, fn in (("forward", fwd), ("backward", jax.grad(loss))):
            lowered = jax.jit(fn).lower(state, tokens, seg)
            text = lowered.as_text()
            if CUDNN_CALL not in text:  # a multi-device lowering keeps it inside a partitioning call
                text = lowered.compile().as_text()
            if seg is not None:  # segment masks stay on XLA by design (picojax.attention.fused_attention)
                assert CUDNN_CALL not in text, f"{name} {what}: a segment mask reached cuDNN"
                continue
            assert CUDNN_CALL in text, f"{name} {what}: no cuDNN attention in the program (fell back to XLA?)"
            if what == "backward":
                assert re.search(re.escape(CUDNN_CALL) + r"\w*Backward", text), f"{name}: no cuDNN backward kernel"
        got = np.asarray(fwd(state, tokens, seg))
        assert np.isfinite(got).all(), name


# ----------------------------------------------------------------------------------------
# (b) cuDNN attention equals XLA attention (and an f32 reference) within bf16 tolerance.

ATTN_CASES = {  # (query length T, key length S) as multiples of a platform's length, mask kind
    "causal": (1, 1, "causal"),  # training without packing: is_causal, no dense mask
    "segments": (1, 1, "segments"),  # packed documents: a dense boolean mask (a bias in cuDNN)
    "prefill": (0.25, 0.75, "cache"),  # the sampler's prefill over a longer cache
    "decode": (None, 0.75, "cache"),  # one new token per row over the cache
}


def _attention_inputs(case: str, length: int, seed: int = 1):
    t, s, kind = ATTN_CASES[case]
    t, s = (1 if t is None else int(t * length)), int(s * length)
    b, n, g, k = 2, 4, 2, 64  # grouped-query: 2 query heads per kv head, head_dim 64
    rng = np.random.default_rng(seed)
    q, key, v = (jnp.asarray(rng.standard_normal(shape), jnp.bfloat16)
                 for shape in ((b, t, n, k), (b, s, g, k), (b, s, g, k)))
    if kind == "causal":
        mask = None
    elif kind == "segments":
        mask = causal_mask(jnp.asarray(np.sort(rng.integers(1, 5, (b, t)), axis=1), jnp.int32))
    else:  # rows at different positions, as a batch of prompts of different lengths decodes
        positions = np.stack([np.arange(t) + (s - t - 10), np.arange(t) + 5]).astype(np.int32)
        mask = cache_mask(jnp.asarray(positions), s)
    return q, key, v, mask


def _assert_close_to_reference(name, got, want, rel_tol):
    err = rel_err(got, want)
    max_abs = float(np.max(np.abs(np.asarray(got, np.float32) - np.asarray(want, np.float32))))
    assert err <= rel_tol, f"{name}: relative error {err:.4f} > {rel_tol}"
    return max_abs


@pytest.mark.parametrize("case", list(ATTN_CASES))
@pytest.mark.parametrize("platform", PLATFORMS)
def test_fused_attention_matches_an_f32_reference(platform, case):
    """On the GPU: cuDNN vs XLA vs f32 einsum. On the CPU: XLA (bf16) vs f32 einsum, which
    checks that a correct bf16 kernel passes these tolerances."""
    q, k, v, mask = on(platform, _attention_inputs(case, by_platform(platform, 128, 512)))
    # cuDNN takes unmasked causal attention; a boolean mask stays on XLA by design.
    impl = "cudnn" if platform == "gpu" and mask is None else "xla"
    f32 = lambda x: x.astype(jnp.float32)  # noqa: E731
    with jax.default_matmul_precision("highest"):
        want = jax.jit(einsum_attention)(f32(q), f32(k), f32(v), mask)

    def attention(implementation):
        return jax.jit(lambda q, k, v, mask: fused_attention(q, k, v, mask, implementation))

    if impl == "cudnn":
        assert CUDNN_CALL in attention("cudnn").lower(q, k, v, mask).as_text(), \
            f"{case}: cuDNN rejected the inputs and fused_attention fell back to XLA"
    got = attention(impl)(q, k, v, mask)
    assert got.dtype == jnp.bfloat16 and platforms_of(got) == {platform}
    max_abs = _assert_close_to_reference(f"{case} {impl}", got, want, ATTN_REL)
    assert max_abs <= ATTN_MAX_ABS, f"{case} {impl}: max abs error {max_abs:.4f}"
    if impl == "cudnn":
        xla = attention("xla")(q, k, v, mask)
        diff = float(jnp.max(jnp.abs(f32(got) - f32(xla))))
        assert diff <= 2 * ATTN_MAX_ABS, f"{case}: cuDNN and XLA differ by {diff:.4f}"

    if case in ("causal", "segments"):  # training: the backward kernels too
        cotangent = jnp.asarray(np.random.default_rng(2).standard_normal(want.shape), jnp.float32)
        cotangent = on(platform, cotangent)

        def grads(fn, *args):
            def loss(q, k, v):
                return jnp.sum(f32(fn(q, k, v, mask)) * cotangent)

            return jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(*args)

        with jax.default_matmul_precision("highest"):
            want_g = grads(einsum_attention, f32(q), f32(k), f32(v))
        got_g = grads(lambda q, k, v, mask: fused_attention(q, k, v, mask, impl), q, k, v)
        for name, a, b in zip("qkv", got_g, want_g):
            assert np.isfinite(np.asarray(f32(a))).all(), f"{case}: d{name} not finite"
            _assert_close_to_reference(f"{case} {impl} d{name}", a, b, ATTN_GRAD_REL)


# ----------------------------------------------------------------------------------------
# (c) one train step on the device, (d) its checkpoint crossing between GPU and CPU.


def _step_cfg(platform: str, *overrides: str):
    # The CPU reference of a GPU step spells its settings out: `auto` follows the default
    # backend, which on a GPU host is the GPU even for a model placed on the CPU.
    extra = ["model.compute_dtype=float32", "model.attention=xla"] if platform == "cpu-reference" else []
    return tiny_config(Path("unused-data-dir"), "mesh.data=1", *extra, *overrides)


def _random_batch(cfg, mesh, seed: int = 0):
    b, n = cfg.train.batch_size, cfg.model.seq_len
    tokens = np.random.default_rng(seed).integers(4, VOCAB, size=(b, n + 1)).astype(np.int32)
    return sharding.to_global_batch({
        "inputs": tokens[:, :-1], "targets": tokens[:, 1:], "loss_mask": np.ones((b, n), np.float32),
        "segment_ids": np.repeat(np.array([[1] * (n // 2) + [2] * (n - n // 2)], np.int32), b, axis=0),
        "positions": np.tile(np.concatenate([np.arange(n // 2), np.arange(n - n // 2)]).astype(np.int32), (b, 1)),
    }, mesh)


def _one_step(cfg, platform: str):
    """(graphdef, state after one step, its metrics, tx, the jitted step, mesh, batch) of a
    fresh model on one device of `platform`, on a random batch of two packed documents per
    row. "cpu-reference" = on the CPU with f32 and XLA attention spelled out."""
    from picojax import optim
    from picojax.train_step import build_train_step

    device_platform = "cpu" if platform == "cpu-reference" else platform
    mesh = one_device_mesh(device_platform)
    tx, schedule = optim.make_optimizer(cfg)
    graphdef, state, shardings = init_train_state(cfg, mesh, tx)
    step = build_train_step(cfg, graphdef, tx, schedule, shardings, mesh)
    batch = _random_batch(cfg, mesh)
    state, out = step(state, batch)
    return graphdef, state, jax.device_get(out), tx, step, mesh, batch


def _host(tree):
    return jax.tree.map(np.asarray, jax.device_get(tree))


def _assert_trees_bitwise_equal(a, b, what):
    leaves_a, leaves_b = jax.tree.leaves(_host(a)), jax.tree.leaves(_host(b))
    assert len(leaves_a) == len(leaves_b), what
    for x, y in zip(leaves_a, leaves_b):
        assert x.dtype == y.dtype and x.shape == y.shape, what
        np.testing.assert_array_equal(x, y, err_msg=what)


@pytest.mark.parametrize("platform", PLATFORMS_SLOW_ON_CPU)
def test_one_train_step_on_the_device(platform):
    cfg = _step_cfg(platform)
    _, state, out, *_ = _one_step(cfg, platform)
    assert platforms_of(state) == {platform}
    assert int(state.step) == 1
    assert abs(out["loss"] - math.log(VOCAB)) < FIRST_LOSS_ABS, out
    assert math.isfinite(out["grad_norm"]) and out["grad_norm"] > 0 and math.isfinite(out["param_norm"])
    if platform != "cpu":  # the same step on the CPU in f32: same init (threefry), same batch
        _, _, ref, *_ = _one_step(_step_cfg("cpu-reference"), "cpu-reference")
        assert out["loss"] == pytest.approx(ref["loss"], rel=1e-2)
        assert out["grad_norm"] == pytest.approx(ref["grad_norm"], rel=5e-2)
        # Same init on both devices (threefry), one update of ~lr per weight: a missing or
        # doubled update moves the norm by ~3%.
        assert out["param_norm"] == pytest.approx(ref["param_norm"], rel=2e-3)


@pytest.mark.parametrize("platform", PLATFORMS_SLOW_ON_CPU)
def test_checkpoint_written_on_the_device_restores_on_the_cpu_and_back(platform, tmp_path):
    """GPU -> CPU -> GPU (on a CPU-only host: CPU -> CPU -> CPU): every array of the train
    state bit-identical, the same f32 logits on both devices, and training continues on
    the device from the round-tripped checkpoint exactly as from the original state."""
    cfg = _step_cfg(platform)
    graphdef, state, _, tx, step, mesh, batch = _one_step(cfg, platform)
    meta = checkpoint.make_meta(cfg, "0" * 64)
    saved = _host(state)  # the step below donates its input

    writer = checkpoint.Checkpointer(tmp_path / "on_device")
    writer.save(1, state, None, meta)
    writer.close()

    cpu_mesh = one_device_mesh("cpu")
    reader = checkpoint.Checkpointer(tmp_path / "on_device", read_only=True)
    try:
        on_cpu = reader.restore(1, abstract_train_state(cfg, cpu_mesh, tx)[0])
        params_on_device = reader.restore_params(1, sharding.abstract_state(cfg, mesh))
    finally:
        reader.close()
    assert platforms_of(on_cpu) == {"cpu"} and platforms_of(params_on_device) == {platform}
    _assert_trees_bitwise_equal(on_cpu, saved, f"{platform} -> cpu: train state")

    # The same weights give the same f32 logits on both devices.
    f32 = f32_reference(cfg.model)
    tokens, segments = tokens_and_segments(2, cfg.model.seq_len, cfg.model.vocab_size)
    with jax.default_matmul_precision("highest"):
        logits_cpu = np.asarray(forward_fn(f32)(on_cpu.params, tokens, segments))
        logits_dev = np.asarray(forward_fn(f32)(params_on_device, tokens, segments))
    np.testing.assert_allclose(logits_dev, logits_cpu, rtol=CROSS_DEVICE_F32, atol=CROSS_DEVICE_F32)

    # And back: written from the CPU, restored on the device.
    writer = checkpoint.Checkpointer(tmp_path / "from_cpu")
    writer.save(1, on_cpu, None, meta)
    writer.close()
    abstract, _ = abstract_train_state(cfg, mesh, tx)
    reader = checkpoint.Checkpointer(tmp_path / "from_cpu", read_only=True)
    try:
        back = reader.restore(1, abstract)
    finally:
        reader.close()
    assert platforms_of(back) == {platform}
    _assert_trees_bitwise_equal(back, saved, f"{platform} -> cpu -> {platform}: train state")

    # Training continues from the round trip as from the original state (same program, same inputs).
    original = jax.device_put(saved, jax.tree.map(lambda x: x.sharding, back))
    _, from_back = step(back, batch)  # (donates its input)
    _, from_saved = step(original, batch)
    got, want = jax.device_get(from_back), jax.device_get(from_saved)
    tol = 0 if platform == "cpu" else 1e-5
    for key in ("loss", "grad_norm", "param_norm"):
        assert abs(float(got[key]) - float(want[key])) <= tol * abs(float(want[key])), (key, got[key], want[key])


# ----------------------------------------------------------------------------------------
# (c) the trainer itself on the device: train, stop, resume.


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("data"))


def _losses(workdir: Path, key: str = "train/loss") -> dict[int, float]:
    from picojax import writers

    return {r["step"]: r[key] for r in writers.read_jsonl(workdir / "metrics.jsonl") if key in r}


@pytest.fixture(scope="module")
def trained_run(request, data_dir, tmp_path_factory):
    """A 3-step run of the real trainer on one device of the platform, checkpointed at 2 and 3."""
    platform = request.param
    cfg = tiny_config(data_dir, "train.steps=3", "checkpoint.every_steps=2", "mesh.data=1")
    workdir = tmp_path_factory.mktemp(f"run_{platform}") / "straight"
    summary = train(cfg, workdir, devices=[device_of(platform)], progress=False)
    return platform, cfg, workdir, summary


def _params_at(workdir: Path, step: int, cfg):
    reader = checkpoint.Checkpointer(RunDir(workdir).checkpoints, read_only=True)
    try:
        return _host(reader.restore_params(step, sharding.abstract_state(cfg, one_device_mesh("cpu"))))
    finally:
        reader.close()


def _flat(tree) -> np.ndarray:
    return np.concatenate([np.ravel(x).astype(np.float64) for x in jax.tree.leaves(tree)])


@pytest.mark.parametrize("trained_run", PLATFORMS_SLOW_ON_CPU, indirect=True)
def test_trainer_runs_and_resumes_on_the_device(trained_run, tmp_path):
    platform, cfg, straight, summary = trained_run
    assert summary["stopped"] == "horizon" and summary["step"] == 3, summary
    first = _losses(straight)
    assert sorted(first) == [1, 2, 3] and all(math.isfinite(v) for v in first.values())
    assert abs(first[1] - math.log(VOCAB)) < FIRST_LOSS_ABS, first
    assert first[3] < first[1], first

    # Resume from the step-2 checkpoint in a copy of the run: steps 3 must come out the same.
    resumed = tmp_path / "resumed"
    shutil.copytree(straight, resumed)
    shutil.rmtree(resumed / "checkpoints" / "3")
    again = train(cfg, resumed, devices=[device_of(platform)], progress=False)
    assert again["start_step"] == 2 and again["step"] == 3, again
    for key in ("train/loss", "train/lr", "train/grad_norm"):
        a, b = _losses(straight, key)[3], _losses(resumed, key)[3]
        if platform == "cpu":
            assert a == b, (key, a, b)  # bit for bit, as tests/test_train.py checks at length
        else:
            assert b == pytest.approx(a, rel=GPU_RESUME_REL), (key, a, b)
    # The weights after step 3, relative to what step 3 changed: a resume that lost the
    # optimizer moments or the data position moves them differently by O(1) of that.
    p2, p3, p3_resumed = (_flat(_params_at(w, s, cfg)) for w, s in ((straight, 2), (straight, 3), (resumed, 3)))
    drift = float(np.linalg.norm(p3_resumed - p3) / np.linalg.norm(p3 - p2))
    assert drift <= (0.0 if platform == "cpu" else GPU_RESUME_REL), f"resumed weights drift {drift:.2e} of one step"


@pytest.mark.parametrize("trained_run", [GPU], indirect=True)
def test_gpu_run_restored_for_inference_on_this_hosts_cpu(trained_run):
    """The library's own restore path onto a CPU mesh of a GPU host, with the run's own
    config (compute_dtype/attention `auto`), then called on the CPU: it must run and agree
    with the f32 logits of the same weights."""
    _, cfg, workdir, _ = trained_run
    cpu_mesh = one_device_mesh("cpu")
    restored_cfg, model, _, step = restore_for_inference(workdir, mesh=cpu_mesh)
    assert step == 3 and restored_cfg.model == cfg.model
    graphdef, state = nnx.split(model)
    assert platforms_of(state) == {"cpu"}
    tokens, segments = tokens_and_segments(2, cfg.model.seq_len, cfg.model.vocab_size)
    with jax.default_matmul_precision("highest"):
        want = np.asarray(forward_fn(f32_reference(cfg.model))(state, tokens, segments))
    got = np.asarray(jax.jit(lambda s, t, seg: nnx.merge(graphdef, s)(t, segment_ids_BxL=seg))(state, tokens, segments))
    spread = want - want.mean(-1, keepdims=True)
    rel_rms = float(np.sqrt(np.mean((got - want) ** 2)) / np.sqrt(np.mean(spread ** 2)))
    assert rel_rms <= BF16_LOGITS_REL_RMS, rel_rms


# ----------------------------------------------------------------------------------------
# (e) the sampler on the device.

NO_STOP = (-1,)
SAMPLER_MAX_LEN = 64


def _sampler_model(m: ModelConfig, platform: str):
    # A large init_std makes the logits peaked, so greedy choices are far from ties (as
    # tests/test_sample.py does); f32 parameters whatever the compute dtype.
    graphdef = nnx.graphdef(nnx.eval_shape(lambda: Transformer(m, rngs=nnx.Rngs(0))))
    return graphdef, weights(m, platform)


def _prompts(lengths, vocab, seed=0):
    rng = np.random.default_rng(seed)
    return [[BOS_ID, *rng.integers(4, vocab, size=n - 1).tolist()] for n in lengths]


def _teacher_forced_logits(graphdef, state, prompt, generated):
    """Logits of the full forward over prompt + generated, right-padded to the context
    (one compiled program for every row): row i predicts token i + 1."""
    padded = np.zeros((1, SAMPLER_MAX_LEN), np.int32)
    seq = [*prompt, *generated]
    padded[0, :len(seq)] = seq
    full = _FULL_FORWARD.setdefault(id(graphdef), jax.jit(lambda s, t: nnx.merge(graphdef, s)(t)))
    return np.asarray(full(state, padded))[0]


_FULL_FORWARD: dict = {}


@pytest.mark.parametrize("platform", PLATFORMS_SLOW_ON_CPU)
def test_sampler_f32_greedy_equals_the_full_forward_and_ignores_batching(platform):
    m = derive_model_dims(ModelConfig(depth=2, aspect_ratio=32, head_dim=16, kv_group=2, vocab_size=64,
                                      seq_len=SAMPLER_MAX_LEN, init_std=0.5, compute_dtype="float32", attention="xla"))
    graphdef, state = _sampler_model(m, platform)
    sampler = Sampler((graphdef, state), tokenizer=None, max_len=SAMPLER_MAX_LEN, batch_size=4)
    settings = SamplingConfig(max_new_tokens=16)
    batch = _prompts([3, 9, 17, 30], m.vocab_size)
    with jax.default_matmul_precision("highest"):
        together = sampler.generate_ids(batch, settings, NO_STOP)
        alone = [sampler.generate_ids([p], settings, NO_STOP)[0] for p in batch]
        assert together == alone
        for prompt, (got, why) in zip(batch, together):
            assert why == "length" and len(got) == 16
            # Greedy by the full forward, token by token.
            tokens = []
            for _ in range(16):
                logits = _teacher_forced_logits(graphdef, state, prompt, tokens)
                tokens.append(int(np.argmax(logits[len(prompt) + len(tokens) - 1])))
            assert got == tokens


@pytest.mark.parametrize("platform", PLATFORMS_SLOW_ON_CPU)
def test_sampler_bf16_default_kernels_pick_the_full_forward_argmax(platform):
    """bf16 with `auto` attention (cuDNN on a GPU, for the prefill and every decode step):
    each greedy token is the argmax of the full forward up to bf16 rounding, and seeded
    top-k sampling is reproducible and stays within the top k."""
    m = derive_model_dims(ModelConfig(depth=2, aspect_ratio=32, head_dim=16, kv_group=2, vocab_size=64,
                                      seq_len=SAMPLER_MAX_LEN, init_std=0.5, compute_dtype="bfloat16"))
    graphdef, state = _sampler_model(m, platform)
    sampler = Sampler((graphdef, state), tokenizer=None, max_len=SAMPLER_MAX_LEN, batch_size=4)
    batch = _prompts([3, 9, 17, 30], m.vocab_size, seed=1)
    greedy = sampler.generate_ids(batch, SamplingConfig(max_new_tokens=16), NO_STOP)
    exact, total = 0, 0
    for prompt, (got, _) in zip(batch, greedy):
        assert len(got) == 16
        logits = _teacher_forced_logits(graphdef, state, prompt, got)
        for i, token in enumerate(got):
            row = logits[len(prompt) + i - 1]
            margin = float(row.max() - row[token])
            assert margin <= 0.1 * float(row.std()), \
                f"token {i}: {margin:.3f} under the argmax (row std {row.std():.3f})"
            exact += int(row.argmax() == token)
            total += 1
    assert exact >= BF16_ARGMAX_AGREE * total, f"greedy tokens are the full-forward argmax {exact}/{total} times"

    k = 8
    hot = SamplingConfig(max_new_tokens=16, temperature=1.0, top_k=k, seed=3)
    sampled = sampler.generate_ids(batch, hot, NO_STOP)
    assert sampler.generate_ids(batch, hot, NO_STOP) == sampled
    assert sampled != greedy
    for prompt, (got, _) in zip(batch, sampled):
        logits = _teacher_forced_logits(graphdef, state, prompt, got)
        for i, token in enumerate(got):
            row = logits[len(prompt) + i - 1]
            kth = float(np.sort(row)[-k])
            assert 0 <= token < m.vocab_size and row[token] >= kth - 0.1 * float(row.std()), (i, token)
