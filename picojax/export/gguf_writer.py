"""One GGUF file for llama.cpp (and Ollama, LM Studio, llama-cpp-python), written with the
`gguf` package, llama.cpp's own writer.

Metadata follows what llama.cpp's convert_hf_to_gguf.py writes for a Llama / Qwen3
checkpoint with a SentencePiece tokenizer: the hyper-parameters under ``{arch}.*``
(context length, widths, heads, key/value length = rope dimension = ``head_dim``, rope
base, RMSNorm epsilon), and the vocabulary as ``tokenizer.ggml.model = "llama"`` with
scores, token types and the special ids (`picojax.export.vocab`).

Tensor types: 1-D tensors (the norms) stay F32 whatever the dtype, as llama.cpp's converter
keeps them; 2-D weights are F32, F16, BF16 or Q8_0 (blocks of 32 int8 values and one f16
scale, `gguf.quants`). A matrix whose rows are not a multiple of 32 cannot be Q8_0 and is
written F16 instead (the converter's fallback), and the result says which.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from picojax.export import vocab as vocab_lib
from picojax.export.tensors import Target, gguf_tensors


def _types():
    import gguf

    q = gguf.GGMLQuantizationType
    f = gguf.LlamaFileType
    return {"f32": (q.F32, f.ALL_F32), "f16": (q.F16, f.MOSTLY_F16), "bf16": (q.BF16, f.MOSTLY_BF16),
            "q8_0": (q.Q8_0, f.MOSTLY_Q8_0)}


def encode_tensor(w: np.ndarray, dtype: str):
    """(data, ggml type) of one tensor at the asked dtype (norms and unquantisable rows excepted)."""
    import gguf
    from gguf import quants

    q = gguf.GGMLQuantizationType
    qtype = _types()[dtype][0]
    if w.ndim < 2:
        qtype = q.F32
    elif qtype == q.Q8_0 and w.shape[-1] % 32:
        qtype = q.F16
    if qtype == q.F32:
        return np.ascontiguousarray(w, dtype=np.float32), qtype
    if qtype == q.F16:
        return np.ascontiguousarray(w, dtype=np.float16), qtype
    return quants.quantize(np.ascontiguousarray(w, dtype=np.float32), qtype), qtype


TASK_KEY = "picojax.task"  # which picojax task the model was trained on (`picojax.load` reads it)


def write_gguf(path: Path, params: dict, m, target: Target, vocab: vocab_lib.Vocab, dtype: str,
               name: str, task: str | None = None) -> dict:
    """Writes the GGUF file at `path` (a temporary name; the caller renames it into place).
    Returns {"tensor_types": {type: count}, "fallback_f16": [names]}."""
    import gguf

    file_type = _types()[dtype][1]
    writer = gguf.GGUFWriter(path=None, arch=target.gguf_arch)
    try:
        writer.add_name(name)
        if task:
            writer.add_string(TASK_KEY, task)
        writer.add_file_type(int(file_type))
        writer.add_vocab_size(m.vocab_size)
        writer.add_context_length(m.seq_len)
        writer.add_embedding_length(m.d_model)
        writer.add_block_count(m.depth)
        writer.add_feed_forward_length(m.mlp_hidden)
        writer.add_head_count(m.n_heads)
        writer.add_head_count_kv(m.n_kv_heads)
        writer.add_key_length(m.head_dim)
        writer.add_value_length(m.head_dim)
        writer.add_rope_dimension_count(m.head_dim)
        writer.add_rope_freq_base(float(m.rope_theta))
        writer.add_layer_norm_rms_eps(float(m.norm_eps))

        tokens, scores, types = vocab_lib.gguf_vocab(vocab, m.vocab_size)
        writer.add_tokenizer_model("llama")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_scores(scores)
        writer.add_token_types(types)
        writer.add_bos_token_id(vocab.bos_id)
        writer.add_eos_token_id(vocab.eos_id)
        writer.add_unk_token_id(vocab.unk_id)
        writer.add_pad_token_id(vocab.pad_id)
        writer.add_add_bos_token(True)
        writer.add_add_eos_token(False)
        writer.add_add_space_prefix(vocab.add_dummy_prefix)

        counts: dict[str, int] = {}
        fallback = []
        for tensor_name, w in gguf_tensors(params, m, target).items():
            data, qtype = encode_tensor(w, dtype)
            if dtype == "q8_0" and w.ndim >= 2 and qtype != gguf.GGMLQuantizationType.Q8_0:
                fallback.append(tensor_name)
            counts[qtype.name] = counts.get(qtype.name, 0) + 1
            if qtype in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
                writer.add_tensor(tensor_name, data)
            else:
                writer.add_tensor(tensor_name, data, raw_dtype=qtype)

        writer.write_header_to_file(path=Path(path))
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file(progress=False)
    finally:
        writer.close()
    return {"tensor_types": counts, "fallback_f16": fallback}
