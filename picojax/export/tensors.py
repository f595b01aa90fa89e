"""What an export target can express, and picojax's weights renamed and laid out for it.

picojax's decoder (`picojax.model`) is Llama's: pre-norm blocks, RMSNorm with a plain
``w`` scale (``x * rsqrt(mean(x^2) + eps) * w``, statistics in f32), no biases, SwiGLU
``down(silu(x @ gate) * (x @ up))``, no embedding scaling, attention scaled by
``1/sqrt(head_dim)``, and RoPE in Hugging Face's "rotate half" layout (pairs ``(i, i + K/2)``,
``inv_freq = theta^(-2i/K)`` over the whole head). With ``model.qk_norm`` the queries and
keys are RMS-normed per head *before* RoPE with their own ``[head_dim]`` scales: Qwen3's
order. So:

- no QK-norm -> Hugging Face ``LlamaForCausalLM`` / llama.cpp ``llama``;
- QK-norm    -> Hugging Face ``Qwen3ForCausalLM`` / llama.cpp ``qwen3``.

Layouts. picojax stores matrices as ``[in, out]`` with heads as their own axes
(``wq [D, N, K]``, ``wo [N, K, D]``); Hugging Face wants ``nn.Linear`` weights ``[out, in]``
with heads flattened head-major (``q_proj [N*K, D]``), and GGUF stores the same numpy
array (its dims are written reversed, ``ne0`` = the input width). llama.cpp's ``llama``
architecture rotates *adjacent* pairs (Meta's original layout, ``LLAMA_ROPE_TYPE_NORM``),
so its q/k rows are permuted within each head from rotate-half order to interleaved order,
exactly as llama.cpp's convert_hf_to_gguf.py does to Hugging Face Llama weights; ``qwen3``
uses NEOX-style rotate-half RoPE, so its rows go in unpermuted.

Anything the targets cannot express is refused, naming the config field, before a byte is
written: a tanh logit soft-cap (``model.logit_softcap`` > 0), a vocabulary smaller than
the tokenizer's, and (Hugging Face only) a ``d_model`` that ``n_heads`` does not divide
(transformers' Llama/Qwen3 configs reject it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from picojax.errors import UserError

FORMATS = ("hf", "gguf")
DTYPES = ("f32", "f16", "bf16", "q8_0")


class ExportError(UserError):
    """An export the target cannot express, or a destination that cannot take it."""


@dataclass(frozen=True)
class Target:
    """The architecture a model exports as, in both runtimes' spelling."""

    hf_architecture: str  # LlamaForCausalLM / Qwen3ForCausalLM
    hf_model_type: str  # llama / qwen3
    gguf_arch: str  # llama / qwen3
    permute_qk: bool  # GGUF only: Meta's interleaved rotary layout (llama arch)


LLAMA = Target("LlamaForCausalLM", "llama", "llama", permute_qk=True)
QWEN3 = Target("Qwen3ForCausalLM", "qwen3", "qwen3", permute_qk=False)


def target_for(m) -> Target:
    """Qwen3 when the model RMS-norms q and k per head before RoPE, else Llama."""
    return QWEN3 if m.qk_norm else LLAMA


def check_exportable(cfg, fmt: str, dtype: str, tokenizer_vocab: int | None = None) -> Target:
    """The target of a resolved config, or an `ExportError` naming the field the target can't express."""
    m = cfg.model
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: choose {' or '.join(FORMATS)}")
    if dtype not in DTYPES:
        raise ExportError(f"unknown export dtype {dtype!r}: choose one of {', '.join(DTYPES)}")
    if dtype == "q8_0" and fmt != "gguf":
        raise ExportError("--dtype q8_0 is a GGUF quantisation: use --format gguf, or f32/f16/bf16 for hf")
    target = target_for(m)
    where = "Hugging Face" if fmt == "hf" else "llama.cpp"
    if m.logit_softcap and m.logit_softcap > 0:
        raise ExportError(
            f"model.logit_softcap={m.logit_softcap:g}: {where} {target.hf_architecture if fmt == 'hf' else target.gguf_arch} "
            f"has no tanh logit soft-cap, so the export would not compute this model; export a run trained with "
            f"model.logit_softcap=0")
    if tokenizer_vocab is not None and tokenizer_vocab > m.vocab_size:
        raise ExportError(f"model.vocab_size={m.vocab_size} is smaller than the tokenizer's {tokenizer_vocab} ids: "
                          f"the export would hold ids the model has no row for")
    if m.head_dim % 2:
        raise ExportError(f"model.head_dim={m.head_dim} is odd: RoPE needs pairs of dimensions")
    if m.n_heads % m.n_kv_heads:
        raise ExportError(f"model.n_heads={m.n_heads} is not a multiple of model.n_kv_heads={m.n_kv_heads}")
    if fmt == "hf" and m.d_model % m.n_heads:
        raise ExportError(
            f"model.n_heads={m.n_heads} does not divide model.d_model={m.d_model}: transformers' "
            f"{target.hf_architecture} config rejects it (export as gguf instead)")
    return target


# ----------------------------------------------------------------------------------------
# Reading picojax's weights.


def picojax_params(model: Any) -> dict:
    """The parameters as a nested dict of float32 numpy arrays, from an `nnx.Module`, an
    `nnx.State` or an already pure dict (e.g. ``restore_for_inference(...).model``)."""
    import jax
    from flax import nnx

    if isinstance(model, nnx.Module):
        tree = nnx.to_pure_dict(nnx.state(model, nnx.Param))
    elif isinstance(model, nnx.State):
        tree = nnx.to_pure_dict(model)
    else:
        tree = model
    return jax.tree.map(lambda x: np.asarray(jax.device_get(x), dtype=np.float32), tree)


def _block(params: dict, i: int) -> dict:
    blocks = params["blocks"]
    return blocks[i] if i in blocks else blocks[str(i)]


def _scale(node: dict) -> np.ndarray:
    return node["scale"]


def permute_interleaved(w_rows: np.ndarray, n_heads: int) -> np.ndarray:
    """Rows of a q/k projection ``[n_heads*K, in]`` from rotate-half order (row j pairs
    with j + K/2) to interleaved order (rows 2j, 2j+1 pair): new row 2j = old row j,
    new row 2j+1 = old row j + K/2, within each head."""
    rows = w_rows.shape[0]
    k = rows // n_heads
    return (w_rows.reshape(n_heads, 2, k // 2, *w_rows.shape[1:])
            .swapaxes(1, 2)
            .reshape(w_rows.shape))


def hf_tensors(params: dict, m) -> dict[str, np.ndarray]:
    """Hugging Face Llama/Qwen3 state-dict names -> float32 arrays in ``nn.Linear`` layout.
    A tied model has no ``lm_head.weight`` (transformers ties it to the embedding)."""
    d, n, g, k = m.d_model, m.n_heads, m.n_kv_heads, m.head_dim
    out = {"model.embed_tokens.weight": params["embed"]}
    for i in range(m.depth):
        b = _block(params, i)
        a, mlp = b["attn"], b["mlp"]
        p = f"model.layers.{i}."
        out[p + "input_layernorm.weight"] = _scale(b["attn_norm"])
        out[p + "self_attn.q_proj.weight"] = a["wq"].reshape(d, n * k).T
        out[p + "self_attn.k_proj.weight"] = a["wk"].reshape(d, g * k).T
        out[p + "self_attn.v_proj.weight"] = a["wv"].reshape(d, g * k).T
        out[p + "self_attn.o_proj.weight"] = a["wo"].reshape(n * k, d).T
        if m.qk_norm:
            out[p + "self_attn.q_norm.weight"] = _scale(a["q_norm"])
            out[p + "self_attn.k_norm.weight"] = _scale(a["k_norm"])
        out[p + "post_attention_layernorm.weight"] = _scale(b["mlp_norm"])
        out[p + "mlp.gate_proj.weight"] = mlp["w_gate"].T
        out[p + "mlp.up_proj.weight"] = mlp["w_up"].T
        out[p + "mlp.down_proj.weight"] = mlp["w_down"].T
    out["model.norm.weight"] = _scale(params["final_norm"])
    if not m.tie_embeddings:
        out["lm_head.weight"] = params["head"].T
    return {name: np.ascontiguousarray(w, dtype=np.float32) for name, w in out.items()}


# Hugging Face name suffix -> llama.cpp tensor name (blk.{i}. prefix added per layer).
_GGUF_LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
_GGUF_TOP_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}


def gguf_tensors(params: dict, m, target: Target) -> dict[str, np.ndarray]:
    """llama.cpp tensor names -> float32 arrays (numpy ``[out, in]``; GGUF writes the dims
    reversed), q/k rows permuted to the interleaved rotary layout for the ``llama`` arch."""
    out = {}
    for name, w in hf_tensors(params, m).items():
        if name in _GGUF_TOP_NAMES:
            out[_GGUF_TOP_NAMES[name]] = w
            continue
        _, _, i, suffix = name.split(".", 3)
        if target.permute_qk and suffix == "self_attn.q_proj.weight":
            w = permute_interleaved(w, m.n_heads)
        elif target.permute_qk and suffix == "self_attn.k_proj.weight":
            w = permute_interleaved(w, m.n_kv_heads)
        out[f"blk.{i}.{_GGUF_LAYER_NAMES[suffix]}"] = np.ascontiguousarray(w)
    return out
