"""Causal grouped-query attention with optional QK-norm, segment masks and a KV cache.

Interchangeable kernels compute softmax(q k^T / sqrt(d)) v under a causal (and optional
segment) mask: ``einsum`` (explicit, grouped heads kept as a separate axis), ``xla``
(`jax.nn.dot_product_attention`), ``chunked`` (blocks of queries against only the keys
before them: the causal triangle's upper half is never computed and no dense L x L mask
or score array exists) and ``cudnn``, the fused flash kernel on NVIDIA GPUs. ``auto``
picks per backend what measured fastest: on the 2-core CPU ``chunked`` (forward+backward
of one layer, B=32: 1.6x ``xla`` at L=256/head_dim 48, 3.2x at L=512/head_dim 8, where
XLA's batched dots over narrow heads run far below the matmul peak); on GPU, cuDNN when
it accepts the inputs (bf16, supported head sizes), else ``xla``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from picojax.layers import RMSNorm, apply_rope, dense, normal, param

IMPLEMENTATIONS = ("einsum", "xla", "cudnn", "chunked")

# Query rows per block of the chunked kernel: small enough that a block's scores stay in
# cache, large enough that its matmuls are not all overhead (64 and 128 measured best on
# the 2-core CPU at L=256..512; 64 keeps more of the causal triangle skipped).
CHUNK = 64


def resolve_implementation(choice: str) -> str:
    """The kernel ``auto`` stands for on the current default backend."""
    if choice != "auto":
        return choice
    return "cudnn" if jax.default_backend() == "gpu" else "chunked"


def einsum_attention(q_BxTxNxK, k_BxSxGxK, v_BxSxGxK, mask_BxTxS=None):
    """Explicit attention; query heads are grouped onto their shared kv head (GQA).
    ``mask`` None means plain causal attention (T == S)."""
    b, t, n, d = q_BxTxNxK.shape
    g = k_BxSxGxK.shape[2]
    if mask_BxTxS is None:
        mask_BxTxS = causal_mask(length=t)
    q_BxTxGxRxK = q_BxTxNxK.reshape(b, t, g, n // g, d)
    scores_BxGxRxTxS = jnp.einsum("btgrk,bsgk->bgrts", q_BxTxGxRxK, k_BxSxGxK,
                                  preferred_element_type=jnp.float32) / math.sqrt(d)
    # A large finite negative, not -inf: a fully masked row (never produced here, every token
    # sees itself) would give uniform weights instead of NaN.
    scores_BxGxRxTxS = jnp.where(mask_BxTxS[:, None, None], scores_BxGxRxTxS, -1e30)
    probs = jax.nn.softmax(scores_BxGxRxTxS, axis=-1).astype(v_BxSxGxK.dtype)
    out_BxTxGxRxK = jnp.einsum("bgrts,bsgk->btgrk", probs, v_BxSxGxK)
    return out_BxTxGxRxK.reshape(b, t, n, d)


def chunked_attention(q_BxTxNxK, k_BxTxGxK, v_BxTxGxK, segment_ids_BxT=None, chunk: int = CHUNK):
    """Causal attention one block of `chunk` queries at a time, each against only the keys
    at or before it: the blocks above the diagonal are never computed (about half the
    scores at L=256, chunk 64: 10 of 16 blocks computed), a block's scores [.., chunk, <=L]
    stay cache-sized instead of a dense B x H x L x L array, and the segment mask is built
    per block from the segment ids rather than as a dense [B, L, L] array. Heads are laid
    out ahead of the sequence first, so every block is one batched matmul over
    (batch, kv head, group). Exact: the same softmax over the same keys as `einsum_attention`.
    """
    b, t, n, d = q_BxTxNxK.shape
    g = k_BxTxGxK.shape[2]
    q_BxGxRxTxK = q_BxTxNxK.reshape(b, t, g, n // g, d).transpose(0, 2, 3, 1, 4)
    k_BxGxTxK = k_BxTxGxK.transpose(0, 2, 1, 3)
    v_BxGxTxK = v_BxTxGxK.transpose(0, 2, 1, 3)
    scale = 1.0 / math.sqrt(d)
    outs = []
    for start in range(0, t, chunk):
        end = min(t, start + chunk)
        q_blk = q_BxGxRxTxK[:, :, :, start:end]
        k_blk, v_blk = k_BxGxTxK[:, :, :end], v_BxGxTxK[:, :, :end]
        scores = jnp.einsum("bgrtk,bgsk->bgrts", q_blk, k_blk, preferred_element_type=jnp.float32) * scale
        # Query start+i sees keys 0..start+i (static), and with segments only its own document.
        visible_TxS = jnp.arange(end)[None, :] <= jnp.arange(start, end)[:, None]
        if segment_ids_BxT is not None:
            same_BxTxS = segment_ids_BxT[:, start:end, None] == segment_ids_BxT[:, None, :end]
            visible = (visible_TxS[None] & same_BxTxS)[:, None, None]
        else:
            visible = visible_TxS
        scores = jnp.where(visible, scores, -1e30)
        probs = jax.nn.softmax(scores, axis=-1).astype(v_blk.dtype)
        outs.append(jnp.einsum("bgrts,bgsk->bgrtk", probs, v_blk))
    out_BxGxRxTxK = jnp.concatenate(outs, axis=3) if len(outs) > 1 else outs[0]
    return out_BxGxRxTxK.transpose(0, 3, 1, 2, 4).reshape(b, t, n, d)


def cached_attention(q_BxTxNxK, k_BxGxSxK, v_BxGxSxK, mask_BxTxS):
    """Attention of T new queries over a KV cache laid out [B, kv_heads, S, head_dim]."""
    b, t, n, d = q_BxTxNxK.shape
    g = k_BxGxSxK.shape[1]
    q_BxTxGxRxK = q_BxTxNxK.reshape(b, t, g, n // g, d)
    scores = jnp.einsum("btgrk,bgsk->bgrts", q_BxTxGxRxK, k_BxGxSxK, preferred_element_type=jnp.float32) / math.sqrt(d)
    scores = jnp.where(mask_BxTxS[:, None, None], scores, -1e30)
    probs = jax.nn.softmax(scores, axis=-1).astype(v_BxGxSxK.dtype)
    return jnp.einsum("bgrts,bgsk->btgrk", probs, v_BxGxSxK).reshape(b, t, n, d)


def fused_attention(q_BxTxNxK, k_BxSxGxK, v_BxSxGxK, mask_BxTxS, implementation: str):
    """`jax.nn.dot_product_attention`. ``mask`` None = causal, passed as ``is_causal`` so
    cuDNN skips the masked blocks (a boolean mask becomes a dense bias there). cuDNN falls
    back to XLA when it rejects the inputs (it needs bf16/f16 and supported head sizes, and
    says so while tracing)."""
    kwargs = dict(is_causal=True) if mask_BxTxS is None else dict(mask=mask_BxTxS[:, None])
    if implementation == "cudnn" and mask_BxTxS is not None:
        # A boolean mask reaches cuDNN as a dense bias whose gradient jax 0.10 always asks
        # for ([B, 1, T, S] per layer, then thrown away), a case cuDNN may refuse only at
        # compile time, past the fallback below: segment-masked attention stays on XLA.
        implementation = "xla"
    if implementation == "cudnn":
        try:
            return jax.nn.dot_product_attention(q_BxTxNxK, k_BxSxGxK, v_BxSxGxK, implementation="cudnn", **kwargs)
        except (ValueError, NotImplementedError, RuntimeError):
            implementation = "xla"
    return jax.nn.dot_product_attention(q_BxTxNxK, k_BxSxGxK, v_BxSxGxK, implementation=implementation, **kwargs)


def effective_implementation(q, k, v, mask_BxTxS, implementation: str, segment_ids_BxT=None) -> str:
    """The kernel `attend` really runs on these inputs: ``cudnn`` becomes ``xla`` where
    `fused_attention` falls back (cuDNN rejects the inputs while tracing), ``chunked``
    becomes ``xla`` where `attend` cannot use it (a cache, or a mask without segment ids)."""
    implementation = resolve_implementation(implementation)
    if implementation == "chunked" and (q.shape[1] != k.shape[1] or (mask_BxTxS is not None and segment_ids_BxT is None)):
        return "xla"
    if implementation == "cudnn" and mask_BxTxS is not None:
        return "xla"  # segment masks stay on XLA (see fused_attention)
    if implementation != "cudnn":
        return implementation
    kwargs = dict(is_causal=True)
    try:
        jax.eval_shape(lambda q, k, v: jax.nn.dot_product_attention(q, k, v, implementation="cudnn", **kwargs), q, k, v)
    except (ValueError, NotImplementedError, RuntimeError):
        return "xla"
    return "cudnn"


def attend(q, k, v, mask_BxTxS, implementation: str, segment_ids_BxT=None):
    """softmax(q k^T / sqrt(d)) v under `mask` (None = causal). The chunked kernel builds
    its mask from `segment_ids` itself; it serves training and scoring (T == S, no cache),
    and decoding over a cache falls back to XLA's kernel."""
    implementation = resolve_implementation(implementation)
    if implementation == "chunked":
        if q.shape[1] == k.shape[1] and (mask_BxTxS is None or segment_ids_BxT is not None):
            return chunked_attention(q, k, v, segment_ids_BxT)
        implementation = "xla"
    if implementation == "einsum":
        return einsum_attention(q, k, v, mask_BxTxS)
    if implementation in ("xla", "cudnn"):
        return fused_attention(q, k, v, mask_BxTxS, implementation)
    raise ValueError(f"unknown attention implementation {implementation!r}; expected auto or one of {IMPLEMENTATIONS}")


def causal_mask(segment_ids_BxL=None, *, length: int | None = None):
    """[B, L, L] (or [1, L, L] without segments) boolean: query t sees key s iff s <= t and,
    with segments, both carry the same segment id (0 = padding is its own segment, so a
    row is never empty)."""
    if segment_ids_BxL is None:
        return jnp.tril(jnp.ones((length, length), dtype=bool))[None]
    n = segment_ids_BxL.shape[1]
    causal_LxL = jnp.tril(jnp.ones((n, n), dtype=bool))
    same_segment = segment_ids_BxL[:, :, None] == segment_ids_BxL[:, None, :]
    return causal_LxL[None] & same_segment


def cache_mask(positions_BxT, cache_len: int):
    """[B, T, S]: a query at position p sees cache slots 0..p (slot index = position)."""
    return jnp.arange(cache_len)[None, None, :] <= positions_BxT[:, :, None]


def prompt_cache_mask(lengths_B, prompt_len: int, write_at, t: int, cache_len: int):
    """[B, T, S] for the sampler's layout: prompts right-padded to ``prompt_len`` fill slots
    0..P-1 (row r's real tokens are slots 0..len_r-1, the rest padding), and generated
    tokens go to slot P, P+1, ... for every row. The T queries written at ``write_at`` see
    their row's prompt and the generated slots up to themselves; a prefill (``write_at`` 0,
    T = P) sees the causal part of its own prompt."""
    slot_S = jnp.arange(cache_len)
    query_T = write_at + jnp.arange(t)
    causal_TxS = slot_S[None, :] <= query_T[:, None]
    prompt_BxS = slot_S[None, :] < lengths_B[:, None]
    generated_S = slot_S >= prompt_len
    return causal_TxS[None] & (prompt_BxS | generated_S[None])[:, None, :]


class Attention(nnx.Module):
    def __init__(self, m, *, param_dtype, rngs: nnx.Rngs):
        d, n, g, k = m.d_model, m.n_heads, m.n_kv_heads, m.head_dim
        std = m.init_std
        # Residual-branch outputs start smaller with depth (GPT-2), so the stream's variance
        # at init does not grow with the number of blocks.
        out_std = std / math.sqrt(2 * m.depth)
        self.wq = param(rngs, normal(std), (d, n, k), ("embed", "heads", "head_dim"), param_dtype)
        self.wk = param(rngs, normal(std), (d, g, k), ("embed", "kv_heads", "head_dim"), param_dtype)
        self.wv = param(rngs, normal(std), (d, g, k), ("embed", "kv_heads", "head_dim"), param_dtype)
        self.wo = param(rngs, normal(out_std), (n, k, d), ("heads", "head_dim", "embed"), param_dtype)
        self.q_norm = RMSNorm(k, eps=m.norm_eps, param_dtype=param_dtype, rngs=rngs) if m.qk_norm else None
        self.k_norm = RMSNorm(k, eps=m.norm_eps, param_dtype=param_dtype, rngs=rngs) if m.qk_norm else None
        self.implementation = m.attention

    def _qkv(self, x_BxTxD, cos, sin):
        dt = x_BxTxD.dtype
        q = dense(x_BxTxD, self.wq[...].astype(dt))  # [B, T, N, K]
        k = dense(x_BxTxD, self.wk[...].astype(dt))  # [B, T, G, K]
        v = dense(x_BxTxD, self.wv[...].astype(dt))
        if self.q_norm is not None:  # norm before RoPE (Qwen3/OLMo2 order): rotation keeps the norm
            q, k = self.q_norm(q), self.k_norm(k)
        return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v

    def _out(self, out_BxTxNxK):
        return dense(out_BxTxNxK, self.wo[...].astype(out_BxTxNxK.dtype), in_dims=2)

    def __call__(self, x_BxLxD, cos, sin, mask_BxLxL, segment_ids_BxL=None):
        q, k, v = self._qkv(x_BxLxD, cos, sin)
        return self._out(attend(q, k, v, mask_BxLxL, self.implementation, segment_ids_BxL))

    def decode(self, x_BxTxD, cos, sin, cache, write_at, visible_BxTxS):
        """Writes this step's T keys/values into cache slots ``write_at .. write_at+T-1`` of
        every row, then attends over the slots ``visible`` marks.

        One write offset for the whole batch is one `dynamic_update_slice` of T slots, not
        a scatter into every row's own slot: rows whose prompts differ in length keep their
        own RoPE positions (``cos``/``sin``) and their own mask, not their own slots. The
        cache is [B, kv_heads, S, head_dim]: the layout the attention reads, so no step
        transposes it (a [B, S, kv_heads, head_dim] cache cost a full copy per step).
        """
        q, k, v = self._qkv(x_BxTxD, cos, sin)
        start = (0, 0, write_at, 0)
        k_cache = jax.lax.dynamic_update_slice(cache["k"], k.transpose(0, 2, 1, 3).astype(cache["k"].dtype), start)
        v_cache = jax.lax.dynamic_update_slice(cache["v"], v.transpose(0, 2, 1, 3).astype(cache["v"].dtype), start)
        out = cached_attention(q, k_cache.astype(q.dtype), v_cache.astype(q.dtype), visible_BxTxS)
        return self._out(out), {"k": k_cache, "v": v_cache}
