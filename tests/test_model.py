"""The decoder: exact parameter count, causality, packed segments, KV-cache decoding, dtypes."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from picojax.attention import causal_mask, chunked_attention, einsum_attention, fused_attention
from picojax.layers import dense
from picojax.config import ModelConfig, derive_model_dims, param_count
from picojax.errors import ConfigError
from picojax.model import Transformer, compute_dtype


def tiny(**overrides) -> ModelConfig:
    base = dict(depth=2, aspect_ratio=32, head_dim=16, vocab_size=97, seq_len=16, kv_group=2, logit_softcap=30.0)
    return derive_model_dims(ModelConfig(**{**base, **overrides}))


def n_params(m: ModelConfig) -> int:
    abstract = nnx.eval_shape(lambda: Transformer(m, rngs=nnx.Rngs(0)))
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(nnx.state(abstract, nnx.Param)))


@pytest.mark.parametrize("depth", range(1, 9))
def test_param_count_formula_matches_the_model(depth):
    m = derive_model_dims(ModelConfig(depth=depth))
    assert n_params(m) == param_count(m).total


@pytest.mark.parametrize("overrides", [
    dict(tie_embeddings=False), dict(qk_norm=False), dict(kv_group=2, depth=4), dict(d_model=96, head_dim=32),
])
def test_param_count_formula_matches_variants(overrides):
    m = derive_model_dims(ModelConfig(**{"depth": 3, **overrides}))
    count = param_count(m)
    assert n_params(m) == count.total
    # The horizon count leaves out the embedding lookup (a gather, no FLOPs); a tied table
    # still counts once, as the output head.
    assert count.scaling == count.total - (count.embedding if not m.tie_embeddings else 0)


def _model(m, seed=0):
    return Transformer(m, rngs=nnx.Rngs(seed))


def test_causality_by_gradient():
    m = tiny()
    model = _model(m)
    x = jax.random.normal(jax.random.key(1), (1, m.seq_len, m.d_model))
    t = 6

    def logit_sum_at(x_BxLxD):
        return model.from_embeddings(x_BxLxD)[0, t].sum()

    grad_LxD = jax.jit(jax.grad(logit_sum_at))(x)[0]
    per_position = np.abs(np.asarray(grad_LxD)).sum(-1)
    assert np.all(per_position[t + 1:] == 0.0), "logit at t depends on a later token"
    assert np.all(per_position[: t + 1] > 0.0), "logit at t ignores an earlier token"


def test_packed_segments_do_not_attend_across_boundaries():
    m = tiny()
    model = _model(m)
    n = m.seq_len
    cut = 5  # document 1 = [0, cut), document 2 = [cut, n - 3), then 3 padding tokens
    seg = np.array([1] * cut + [2] * (n - 3 - cut) + [0] * 3, np.int32)[None]
    pos = np.concatenate([np.arange(cut), np.arange(n - 3 - cut), np.arange(3)]).astype(np.int32)[None]
    x = jax.random.normal(jax.random.key(2), (1, n, m.d_model))

    def second_doc_logits(x_BxLxD):
        return model.from_embeddings(x_BxLxD, positions_BxL=pos, segment_ids_BxL=seg)[0, cut:n - 3].sum()

    grad = np.abs(np.asarray(jax.jit(jax.grad(second_doc_logits))(x)[0])).sum(-1)
    assert np.all(grad[:cut] == 0.0) and np.all(grad[n - 3:] == 0.0)
    assert np.all(grad[cut:n - 3] > 0.0)
    # And the packed document scores exactly as it would alone.
    packed = jax.jit(model.from_embeddings)(x, positions_BxL=pos, segment_ids_BxL=seg)[0, cut:n - 3]
    alone = jax.jit(model.from_embeddings)(x[:, cut:n - 3])[0]
    np.testing.assert_allclose(packed, alone, atol=1e-5, rtol=1e-5)


def test_kv_cache_decoding_matches_the_full_forward():
    m = tiny(tie_embeddings=False)
    model = _model(m)
    tokens = jax.random.randint(jax.random.key(3), (2, 12), 0, m.vocab_size)
    full = np.asarray(jax.jit(model)(tokens))

    # Prefill the first 5 tokens at once, then one token at a time, through a jitted step.
    graphdef, state = nnx.split(model)

    @jax.jit
    def step(state, tokens_BxT, cache, positions_BxT):
        return nnx.merge(graphdef, state).decode(tokens_BxT, cache, positions_BxT)

    cache = model.init_cache(batch=2, max_len=16)
    pos = jnp.broadcast_to(jnp.arange(5), (2, 5))
    logits, cache = step(state, tokens[:, :5], cache, pos)
    pieces = [np.asarray(logits)]
    for t in range(5, 12):
        logits, cache = step(state, tokens[:, t:t + 1], cache, jnp.full((2, 1), t))
        pieces.append(np.asarray(logits))
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("packed", [True, False])
def test_attention_kernels_agree(packed):
    q = jax.random.normal(jax.random.key(4), (2, 9, 4, 16))
    k, v = jax.random.normal(jax.random.key(5), (2, 2, 9, 2, 16))
    mask = causal_mask(jnp.array([[1, 1, 1, 2, 2, 2, 2, 0, 0], [1] * 9])) if packed else None
    fused = jax.jit(fused_attention, static_argnums=4)
    np.testing.assert_allclose(jax.jit(einsum_attention)(q, k, v, mask), fused(q, k, v, mask, "xla"),
                               atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("length,chunk", [(9, 4), (16, 16), (37, 8), (5, 64)])
def test_chunked_attention_equals_the_plain_kernel_and_its_gradient(packed, length, chunk):
    """Blocks of queries against only the keys before them: the same outputs and gradients
    as the dense einsum kernel, for lengths that do and do not divide into chunks, GQA, and
    packed segments (padding included)."""
    q = jax.random.normal(jax.random.key(4), (2, length, 4, 8))
    k, v = jax.random.normal(jax.random.key(5), (2, 2, length, 2, 8))
    seg = jnp.array([[1] * (length // 3) + [2] * (length - length // 3 - 2) + [0, 0], [1] * length]) if packed else None
    mask = causal_mask(seg) if packed else None

    def loss(fn):
        return lambda q, k, v: jnp.sum(fn(q, k, v) * jnp.cos(jnp.arange(8.0)))

    plain = lambda q, k, v: einsum_attention(q, k, v, mask)  # noqa: E731
    chunked = lambda q, k, v: chunked_attention(q, k, v, seg, chunk=chunk)  # noqa: E731
    np.testing.assert_allclose(jax.jit(chunked)(q, k, v), jax.jit(plain)(q, k, v), atol=1e-5, rtol=1e-5)
    for got, want in zip(jax.grad(loss(chunked), argnums=(0, 1, 2))(q, k, v),
                         jax.grad(loss(plain), argnums=(0, 1, 2))(q, k, v)):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


def test_chunked_attention_is_causal():
    q, k, v = (jax.random.normal(jax.random.key(i), (1, 20, 2, 8)) for i in range(3))
    out = chunked_attention(q, k, v, chunk=6)
    v_later = v.at[:, 10:].set(0.0)  # changing later values must not move earlier outputs
    np.testing.assert_array_equal(chunked_attention(q, k, v_later, chunk=6)[:, :10], out[:, :10])


def test_dense_is_the_einsum_it_replaces():
    x = jax.random.normal(jax.random.key(7), (2, 5, 6))
    w3 = jax.random.normal(jax.random.key(8), (6, 3, 4))
    np.testing.assert_allclose(dense(x, w3), jnp.einsum("btd,dnk->btnk", x, w3), atol=1e-5, rtol=1e-5)
    o = jax.random.normal(jax.random.key(9), (2, 5, 3, 4))
    wo = jax.random.normal(jax.random.key(10), (3, 4, 6))
    np.testing.assert_allclose(dense(o, wo, in_dims=2), jnp.einsum("btnk,nkd->btd", o, wo), atol=1e-5, rtol=1e-5)
    gx, gw = jax.grad(lambda x, w: jnp.sum(jnp.sin(dense(x, w))), argnums=(0, 1))(x, w3)
    ex, ew = jax.grad(lambda x, w: jnp.sum(jnp.sin(jnp.einsum("btd,dnk->btnk", x, w))), argnums=(0, 1))(x, w3)
    np.testing.assert_allclose(gx, ex, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(gw, ew, atol=1e-5, rtol=1e-5)


def test_every_attention_choice_gives_the_same_logits():
    tokens = jax.random.randint(jax.random.key(6), (2, 16), 0, 97)
    outs = [np.asarray(jax.jit(_model(tiny(attention=a)))(tokens)) for a in ("auto", "einsum", "xla", "chunked")]
    for other in outs[1:]:
        np.testing.assert_allclose(other, outs[0], atol=1e-5)


def test_dtype_policy():
    m = tiny()
    assert compute_dtype(m) == jnp.float32  # tests run on CPU, where auto means f32
    bf16 = dataclasses.replace(m, compute_dtype="bfloat16")
    model = _model(bf16)
    assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
    tokens = jnp.zeros((1, 8), jnp.int32)
    logits = jax.jit(model)(tokens)
    assert logits.dtype == jnp.float32
    np.testing.assert_allclose(logits, jax.jit(_model(m))(tokens), atol=0.1)  # same weights, coarser arithmetic
    assert model.init_cache(1, 8)[0]["k"].dtype == jnp.bfloat16


def test_logit_softcap_bounds_logits():
    m = tiny(logit_softcap=0.5, init_std=1.0)
    logits = jax.jit(_model(m))(jnp.arange(16)[None])
    assert float(jnp.abs(logits).max()) <= 0.5


def test_every_weight_carries_logical_names():
    state = nnx.state(_model(tiny(tie_embeddings=False)), nnx.Param)
    for path, var in jax.tree_util.tree_flatten_with_path(state, is_leaf=lambda x: isinstance(x, nnx.Variable))[0]:
        names = var.get_metadata().get("out_sharding")
        assert names is not None and len(names) == var.get_value().ndim, jax.tree_util.keystr(path)


def test_bad_head_grouping_is_a_clear_error():
    with pytest.raises(ConfigError, match="n_heads=3 is not a multiple of model.n_kv_heads=2"):
        _model(derive_model_dims(ModelConfig(depth=3, n_kv_heads=2)))
