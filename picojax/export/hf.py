"""A Hugging Face model folder: config.json, model.safetensors, the tokenizer, generation_config.json.

The folder loads with ``AutoModelForCausalLM.from_pretrained(PATH)`` and
``AutoTokenizer.from_pretrained(PATH)``; nothing here imports transformers or torch (the
weights are written with `safetensors.numpy`). See `picojax.export.tensors` for the
architecture choice and the weight layout, `picojax.export.vocab` for the tokenizer.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from picojax.export import vocab as vocab_lib
from picojax.export.tensors import Target, hf_tensors

HF_DTYPES = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}


def _cast(w: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "f32":
        return w.astype(np.float32)
    if dtype == "f16":
        return w.astype(np.float16)
    import ml_dtypes  # ships with JAX

    return w.astype(ml_dtypes.bfloat16)


def _plain_mode(path: Path) -> None:
    """safetensors creates its file owner-only (0600); give it the mode of every other file."""
    import os

    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def hf_config(m, target: Target, vocab: vocab_lib.Vocab, dtype: str) -> dict:
    torch_dtype = HF_DTYPES[dtype]
    config = {
        "architectures": [target.hf_architecture],
        "model_type": target.hf_model_type,
        "vocab_size": m.vocab_size,
        "hidden_size": m.d_model,
        "intermediate_size": m.mlp_hidden,
        "num_hidden_layers": m.depth,
        "num_attention_heads": m.n_heads,
        "num_key_value_heads": m.n_kv_heads,
        "head_dim": m.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": m.seq_len,
        "rms_norm_eps": m.norm_eps,
        # transformers >= 5 reads rope_parameters; 4.x reads rope_theta (and ignores the other).
        "rope_parameters": {"rope_type": "default", "rope_theta": m.rope_theta},
        "rope_theta": m.rope_theta,
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "tie_word_embeddings": bool(m.tie_embeddings),
        "initializer_range": m.init_std,
        "use_cache": True,
        "bos_token_id": vocab.bos_id,
        "eos_token_id": vocab.eos_id,
        "pad_token_id": vocab.pad_id,
        "dtype": torch_dtype,
        "torch_dtype": torch_dtype,
    }
    if target.hf_model_type == "llama":
        config.update(mlp_bias=False, pretraining_tp=1)
    else:
        config.update(use_sliding_window=False, sliding_window=None, max_window_layers=m.depth,
                      layer_types=["full_attention"] * m.depth)
    return config


def generation_config(m, vocab: vocab_lib.Vocab) -> dict:
    """Greedy by default, like `picojax sample`; stops at EOS or when the context is full."""
    return {"bos_token_id": vocab.bos_id, "eos_token_id": vocab.eos_id, "pad_token_id": vocab.pad_id,
            "do_sample": False, "max_length": m.seq_len}


def write_hf(folder: Path, params: dict, m, target: Target, vocab: vocab_lib.Vocab, dtype: str,
             provenance: dict) -> dict[str, int]:
    """Writes the export into the (empty, temporary) `folder`; returns {file: bytes}."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: np.ascontiguousarray(_cast(w, dtype)) for name, w in hf_tensors(params, m).items()}
    weights = folder / "model.safetensors"
    save_file(tensors, str(weights), metadata={"format": "pt"})
    _plain_mode(weights)
    tok_config, special_map = vocab_lib.hf_tokenizer_config(vocab, m.seq_len)
    files = {
        "config.json": hf_config(m, target, vocab, dtype),
        "generation_config.json": generation_config(m, vocab),
        "tokenizer.json": vocab_lib.hf_tokenizer_json(vocab),
        "tokenizer_config.json": tok_config,
        "special_tokens_map.json": special_map,
        "picojax_export.json": provenance,
    }
    for name, obj in files.items():
        (folder / name).write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "tokenizer.model").write_bytes(vocab.model_bytes)
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir())}
