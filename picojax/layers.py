"""Building blocks of the decoder: annotated parameters, RMSNorm, SwiGLU and RoPE.

Every parameter is created through `param`, which attaches its *logical* axis names
(``embed``, ``mlp``, ``heads``, ``kv_heads``, ``head_dim``, ``vocab``, ``norm``) as the
variable's ``out_sharding`` metadata. `picojax.sharding` maps those names to mesh axes
with one rules table, so the model never mentions a mesh.

Eager sharding is switched off per variable: building a `Transformer` must work with or
without a mesh in scope (tests, samplers, `nnx.eval_shape`); the placement on devices is
done once, by `picojax.sharding.create_model`, through `jax.jit(out_shardings=...)`.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from flax import nnx


def param(rngs: nnx.Rngs, init: Callable, shape: Sequence[int], names: Sequence[str], dtype) -> nnx.Param:
    """A parameter initialised by ``init`` and tagged with one logical name per dimension."""
    if len(names) != len(shape):
        raise ValueError(f"logical names {tuple(names)} do not match shape {tuple(shape)}")
    value = init(rngs.params(), tuple(shape), dtype)
    return nnx.Param(value, out_sharding=tuple(names), eager_sharding=False)


def dense(x, w, in_dims: int = 1, preferred_element_type=None):
    """``x`` contracted with ``w`` over x's last `in_dims` axes and w's first `in_dims`, as
    one 2-D matmul: leading axes (batch, length) are flattened into rows and w's axes into
    a [in, out] matrix. XLA's CPU backend runs a [rows, in] @ [in, out] dot (and the
    transposed dots of its gradient) at about twice the speed of the same contraction
    written as a 3-D einsum ("btd,dnk->btnk"), whose backward contracts over two token
    axes at once (measured 8192x288x768: 41 vs 79 ms forward, 36 vs 65 ms for dW)."""
    lead, contracted = x.shape[:x.ndim - in_dims], x.shape[x.ndim - in_dims:]
    out = w.shape[in_dims:]
    rows = x.reshape(-1, _prod(contracted))
    y = jnp.dot(rows, w.reshape(_prod(contracted), _prod(out)), preferred_element_type=preferred_element_type)
    return y.reshape(*lead, *out)


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def normal(std: float) -> Callable:
    return jax.nn.initializers.normal(stddev=std)


class RMSNorm(nnx.Module):
    """Root-mean-square norm with a learned scale; statistics in float32 whatever the input."""

    def __init__(self, dim: int, *, eps: float, param_dtype, rngs: nnx.Rngs):
        # ``norm`` is never sharded: a vector of a few hundred floats is not worth a collective.
        self.scale = param(rngs, jax.nn.initializers.ones, (dim,), ("norm",), param_dtype)
        self.eps = eps

    def __call__(self, x):
        x32 = x.astype(jnp.float32)
        inv_rms = jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + self.eps)
        return (x32 * inv_rms * self.scale[...].astype(jnp.float32)).astype(x.dtype)


class SwiGLU(nnx.Module):
    """Llama's gated MLP: down(silu(x @ gate) * (x @ up))."""

    def __init__(self, d_model: int, hidden: int, *, std: float, out_std: float, param_dtype, rngs: nnx.Rngs):
        self.w_gate = param(rngs, normal(std), (d_model, hidden), ("embed", "mlp"), param_dtype)
        self.w_up = param(rngs, normal(std), (d_model, hidden), ("embed", "mlp"), param_dtype)
        self.w_down = param(rngs, normal(out_std), (hidden, d_model), ("mlp", "embed"), param_dtype)

    def __call__(self, x_BxLxD):
        dt = x_BxLxD.dtype
        gate_BxLxH = dense(x_BxLxD, self.w_gate[...].astype(dt))
        up_BxLxH = dense(x_BxLxD, self.w_up[...].astype(dt))
        return dense(jax.nn.silu(gate_BxLxH) * up_BxLxH, self.w_down[...].astype(dt))


def rope_angles(positions_BxL, head_dim: int, theta: float):
    """cos and sin of the rotary angles, each [B, L, head_dim/2], in float32."""
    if head_dim % 2:
        raise ValueError(f"RoPE needs an even head_dim, got {head_dim}")
    inv_freq = 1.0 / (theta ** (jnp.arange(0, head_dim, 2, dtype=jnp.float32) / head_dim))
    angles_BxLxF = positions_BxL.astype(jnp.float32)[..., None] * inv_freq
    return jnp.cos(angles_BxLxF), jnp.sin(angles_BxLxF)


def apply_rope(x_BxLxHxK, cos_BxLxF, sin_BxLxF):
    """Rotates pairs (i, i + K/2) of each head: the "rotate half" layout of Hugging Face Llama,
    so q/k weights export to HF without a permutation."""
    half = x_BxLxHxK.shape[-1] // 2
    x32 = x_BxLxHxK.astype(jnp.float32)
    x1, x2 = x32[..., :half], x32[..., half:]
    cos, sin = cos_BxLxF[:, :, None, :], sin_BxLxF[:, :, None, :]
    rotated = jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
    return rotated.astype(x_BxLxHxK.dtype)
