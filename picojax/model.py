"""The decoder: a Llama-style transformer in Flax NNX.

Token embedding, RoPE, pre-norm blocks (RMSNorm -> grouped-query attention, RMSNorm ->
SwiGLU), a final RMSNorm and a tied or untied output head with an optional tanh soft-cap.
No biases, so the layout maps one-to-one onto llama2.c / Hugging Face Llama weights.

Dtype policy: parameters are stored in ``param_dtype`` (f32); activations run in
`compute_dtype` (f32 on CPU, where bf16 matmuls measured ~15% slower; bf16 on GPU/TPU);
norms, softmax and the returned logits are float32.

The same weights serve training (``__call__``, whole windows, optional packed segments)
and sampling (``init_cache`` + ``decode``, prefill or one token at a time), through the
same block code. Use it functionally: ``graphdef, state = nnx.split(model)`` once, then
``nnx.merge(graphdef, state)`` inside a plain ``jax.jit``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from picojax.attention import Attention, cache_mask, causal_mask
from picojax.config import ModelConfig, derive_model_dims
from picojax.errors import ConfigError
from picojax.layers import RMSNorm, SwiGLU, dense, normal, param, rope_angles

_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def compute_dtype(cfg: ModelConfig) -> jnp.dtype:
    """The activation dtype: ``auto`` is f32 on CPU and bf16 on GPU/TPU."""
    if cfg.compute_dtype == "auto":
        return jnp.dtype(jnp.float32 if jax.default_backend() == "cpu" else jnp.bfloat16)
    return jnp.dtype(_DTYPES[cfg.compute_dtype])


def _check(m: ModelConfig) -> None:
    if m.n_heads % m.n_kv_heads:
        raise ConfigError(f"model.n_heads={m.n_heads} is not a multiple of model.n_kv_heads={m.n_kv_heads} "
                          f"(grouped-query attention shares each kv head among n_heads/n_kv_heads query heads)")
    if m.head_dim % 2:
        raise ConfigError(f"model.head_dim={m.head_dim} must be even (RoPE rotates pairs of dimensions)")


class Block(nnx.Module):
    def __init__(self, m: ModelConfig, *, param_dtype, rngs: nnx.Rngs):
        self.attn_norm = RMSNorm(m.d_model, eps=m.norm_eps, param_dtype=param_dtype, rngs=rngs)
        self.attn = Attention(m, param_dtype=param_dtype, rngs=rngs)
        self.mlp_norm = RMSNorm(m.d_model, eps=m.norm_eps, param_dtype=param_dtype, rngs=rngs)
        self.mlp = SwiGLU(m.d_model, m.mlp_hidden, std=m.init_std, out_std=m.init_std / (2 * m.depth) ** 0.5,
                          param_dtype=param_dtype, rngs=rngs)

    def __call__(self, x_BxLxD, cos, sin, mask_BxLxL, segment_ids_BxL=None):
        x_BxLxD = x_BxLxD + self.attn(self.attn_norm(x_BxLxD), cos, sin, mask_BxLxL, segment_ids_BxL)
        return x_BxLxD + self.mlp(self.mlp_norm(x_BxLxD))

    def decode(self, x_BxTxD, cos, sin, cache, write_at, visible_BxTxS):
        h_BxTxD, cache = self.attn.decode(self.attn_norm(x_BxTxD), cos, sin, cache, write_at, visible_BxTxS)
        x_BxTxD = x_BxTxD + h_BxTxD
        return x_BxTxD + self.mlp(self.mlp_norm(x_BxTxD)), cache


class Transformer(nnx.Module):
    def __init__(self, cfg: ModelConfig, *, rngs: nnx.Rngs):
        m = derive_model_dims(cfg)  # a no-op on a resolved config; lets tests pass a bare one
        _check(m)
        self.cfg = m
        param_dtype = _DTYPES[m.param_dtype]
        self.embed = param(rngs, normal(m.init_std), (m.vocab_size, m.d_model), ("vocab", "embed"), param_dtype)
        self.blocks = nnx.List([Block(m, param_dtype=param_dtype, rngs=rngs) for _ in range(m.depth)])
        self.final_norm = RMSNorm(m.d_model, eps=m.norm_eps, param_dtype=param_dtype, rngs=rngs)
        self.head = None if m.tie_embeddings else param(
            rngs, normal(m.init_std), (m.d_model, m.vocab_size), ("embed", "vocab"), param_dtype)

    # -- shared pieces ------------------------------------------------------------------

    def _embed(self, tokens_BxL):
        return jnp.take(self.embed[...], tokens_BxL, axis=0).astype(compute_dtype(self.cfg))

    def _logits(self, x_BxLxD):
        x_BxLxD = self.final_norm(x_BxLxD)
        dt = x_BxLxD.dtype
        if self.head is None:
            logits_BxLxV = dense(x_BxLxD, self.embed[...].astype(dt).T, preferred_element_type=jnp.float32)
        else:
            logits_BxLxV = dense(x_BxLxD, self.head[...].astype(dt), preferred_element_type=jnp.float32)
        logits_BxLxV = logits_BxLxV.astype(jnp.float32)
        cap = self.cfg.logit_softcap
        if cap > 0:  # bounds logits smoothly (Gemma 2); keeps early training from overconfident spikes
            logits_BxLxV = cap * jnp.tanh(logits_BxLxV / cap)
        return logits_BxLxV

    def _rope(self, positions_BxL):
        return rope_angles(positions_BxL, self.cfg.head_dim, self.cfg.rope_theta)

    # -- training / scoring ---------------------------------------------------------------

    def __call__(self, tokens_BxL, *, positions_BxL=None, segment_ids_BxL=None):
        """Float32 logits [B, L, V]. ``positions`` restart at 0 per packed document;
        ``segment_ids`` (0 = padding) keep documents from attending to each other."""
        return self.from_embeddings(self._embed(tokens_BxL), positions_BxL=positions_BxL,
                                    segment_ids_BxL=segment_ids_BxL)

    def from_embeddings(self, x_BxLxD, *, positions_BxL=None, segment_ids_BxL=None):
        """The forward pass after the embedding lookup: differentiable in its input, which is
        how the tests check causality and segment isolation by gradient."""
        b, n, _ = x_BxLxD.shape
        if positions_BxL is None:
            positions_BxL = jnp.broadcast_to(jnp.arange(n, dtype=jnp.int32), (b, n))
        cos, sin = self._rope(positions_BxL)
        # None = plain causal: fused kernels then use is_causal instead of a dense mask. The
        # chunked kernel builds its mask per block from the segment ids (XLA then drops the
        # dense one, which nothing reads).
        mask = None if segment_ids_BxL is None else causal_mask(segment_ids_BxL)
        for block in self.blocks:
            x_BxLxD = block(x_BxLxD, cos, sin, mask, segment_ids_BxL)
        return self._logits(x_BxLxD)

    # -- sampling ---------------------------------------------------------------------------

    def init_cache(self, batch: int, max_len: int):
        """An empty KV cache: one {"k", "v"} pair of [B, n_kv_heads, max_len, head_dim] per block.
        Slot i holds the keys/values of position i."""
        m = self.cfg
        shape = (batch, m.n_kv_heads, max_len, m.head_dim)
        dt = compute_dtype(m)
        return [{"k": jnp.zeros(shape, dt), "v": jnp.zeros(shape, dt)} for _ in range(m.depth)]

    def decode(self, tokens_BxT, cache, positions_BxT, *, write_at=None, visible_BxTxS=None):
        """Logits [B, T, V] for tokens at ``positions`` given the cache, and the cache with
        these tokens written in. T > 1 is a prefill.

        Where the tokens go: cache slots ``write_at .. write_at+T-1`` of every row; which
        slots each query sees: ``visible_BxTxS``. Left out, both follow from the positions
        of the first row (slot = position, causal): right for rows that share their
        positions. The sampler gives both, so prompts of different lengths share one slot
        per step (`picojax.attention.prompt_cache_mask`).
        """
        if len(cache) != len(self.blocks):
            raise ValueError(f"cache has {len(cache)} layers, model has {len(self.blocks)}")
        positions_BxT = positions_BxT.astype(jnp.int32)
        if write_at is None:
            write_at = positions_BxT[0, 0]
        if visible_BxTxS is None:
            visible_BxTxS = cache_mask(positions_BxT, cache[0]["k"].shape[2])
        cos, sin = self._rope(positions_BxT)
        x_BxTxD = self._embed(tokens_BxT)
        new_cache = []
        for block, layer_cache in zip(self.blocks, cache):
            x_BxTxD, layer_cache = block.decode(x_BxTxD, cos, sin, layer_cache, write_at, visible_BxTxS)
            new_cache.append(layer_cache)
        return self._logits(x_BxTxD), new_cache
