"""`picojax export`: Hugging Face and GGUF exports compute what picojax computes.

Fast tests (no runtime needed): the rotary permutation, names and shapes, refusals and
partial-write safety. Slow tests train two tiny runs — a stories model without QK-norm
(tied, grouped-query: exports as Llama) and an RPG model with QK-norm (untied, char
tokenizer with atomic labels, vocabulary padded past the tokenizer: exports as Qwen3) —
and reload their exports in transformers and llama.cpp. They skip, saying which package
is missing, when the ``export`` extra (pip install -e '.[export]') is not installed.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from flax import nnx

from _train_support import make_data, tiny_config
from picojax.config import Config, ModelConfig, resolve
from picojax.export import ExportError, check_exportable, export_model
from picojax.export.tensors import LLAMA, QWEN3, gguf_tensors, hf_tensors, permute_interleaved, picojax_params
from picojax.model import Transformer


def need(module: str, package: str):
    return pytest.importorskip(module, reason=f"{package} is not installed (pip install -e '.[export]')")


# ----------------------------------------------------------------------------------------
# A tokenizer and random models, for the fast tests.


@pytest.fixture(scope="module")
def stories_data(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("stories"))


@pytest.fixture(scope="module")
def tokenizer(stories_data):
    from picojax.tokenizer import Tokenizer

    return Tokenizer.load(stories_data / "tokenizer.model")


def random_model(**fields):
    cfg = resolve(Config(model=ModelConfig(depth=2, aspect_ratio=32, head_dim=16, kv_group=2, vocab_size=256,
                                           seq_len=64, init_std=0.3, **fields)))
    return cfg, Transformer(cfg.model, rngs=nnx.Rngs(0))


def rope_rotate_half(x, pos, theta=10000.0):
    k = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, k, 2) / k)
    c, s = np.cos(pos * inv), np.sin(pos * inv)
    x1, x2 = x[..., :k // 2], x[..., k // 2:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], -1)


def rope_interleaved(x, pos, theta=10000.0):
    k = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, k, 2) / k)
    c, s = np.cos(pos * inv), np.sin(pos * inv)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2], out[..., 1::2] = x1 * c - x2 * s, x2 * c + x1 * s
    return out


def test_permuted_rows_under_interleaved_rope_give_the_same_scores():
    """llama.cpp's llama arch rotates adjacent pairs; q.k after its RoPE on permuted rows
    equals picojax's rotate-half RoPE on the original rows (the permutation is one shared
    reordering of each head's dimensions, which a dot product does not see)."""
    rng = np.random.default_rng(0)
    n, g, k, d = 4, 2, 16, 32
    wq, wk, x = rng.standard_normal((n * k, d)), rng.standard_normal((g * k, d)), rng.standard_normal(d)
    q, kk = (wq @ x).reshape(n, k), (wk @ x).reshape(g, k)
    qp, kp = (permute_interleaved(wq, n) @ x).reshape(n, k), (permute_interleaved(wk, g) @ x).reshape(g, k)
    for pq, pk in ((3, 1), (17, 5)):
        ref = rope_rotate_half(q, pq) @ rope_rotate_half(kk, pk).T
        got = rope_interleaved(qp, pq) @ rope_interleaved(kp, pk).T
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)
    # and the layout itself: row 2j of a head is old row j, row 2j+1 is old row j + K/2
    p = permute_interleaved(np.arange(2 * k)[:, None], 2)[:, 0]
    assert p[:4].tolist() == [0, k // 2, 1, k // 2 + 1] and p[k:k + 2].tolist() == [k, k + k // 2]


@pytest.mark.parametrize("qk_norm,tied", [(False, True), (True, False)])
def test_names_shapes_and_target(qk_norm, tied):
    cfg, model = random_model(qk_norm=qk_norm, tie_embeddings=tied)
    m = cfg.model
    assert check_exportable(cfg, "hf", "f32") is (QWEN3 if qk_norm else LLAMA)
    params = picojax_params(model)
    hf = hf_tensors(params, m)
    assert hf["model.layers.1.self_attn.q_proj.weight"].shape == (m.n_heads * m.head_dim, m.d_model)
    assert hf["model.layers.1.self_attn.k_proj.weight"].shape == (m.n_kv_heads * m.head_dim, m.d_model)
    assert hf["model.layers.1.self_attn.o_proj.weight"].shape == (m.d_model, m.n_heads * m.head_dim)
    assert hf["model.layers.0.mlp.down_proj.weight"].shape == (m.d_model, m.mlp_hidden)
    assert ("lm_head.weight" in hf) is (not tied)
    assert ("model.layers.0.self_attn.q_norm.weight" in hf) is qk_norm
    gg = gguf_tensors(params, m, check_exportable(cfg, "gguf", "f32"))
    assert ("output.weight" in gg) is (not tied) and ("blk.0.attn_k_norm.weight" in gg) is qk_norm
    assert len(gg) == len(hf)
    q_hf, q_gg = hf["model.layers.0.self_attn.q_proj.weight"], gg["blk.0.attn_q.weight"]
    if qk_norm:  # qwen3: NEOX rope, rows as they are
        np.testing.assert_array_equal(q_gg, q_hf)
    else:
        np.testing.assert_array_equal(q_gg, permute_interleaved(q_hf, m.n_heads))


# ----------------------------------------------------------------------------------------
# Refusals and partial-write safety.


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", ["hf", "gguf"])
def test_soft_cap_is_refused_naming_the_field_and_nothing_is_written(fmt, tokenizer, tmp_path):
    cfg, model = random_model(logit_softcap=30.0)
    out = tmp_path / "new" / ("m.gguf" if fmt == "gguf" else "m")
    with pytest.raises(ExportError, match=r"model\.logit_softcap=30") as e:
        export_model(model, cfg, tokenizer, fmt=fmt, out=out)
    assert "\n" not in str(e.value)
    assert list(tmp_path.iterdir()) == []  # not even the missing parent folder


def test_other_refusals(tokenizer, tmp_path):
    cfg, model = random_model()
    with pytest.raises(ExportError, match="q8_0"):
        export_model(model, cfg, tokenizer, fmt="hf", out=tmp_path / "x", dtype="q8_0")
    small = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, vocab_size=100))
    with pytest.raises(ExportError, match=r"model\.vocab_size=100"):
        check_exportable(small, "gguf", "f32", tokenizer_vocab=tokenizer.vocab_size)
    odd = resolve(Config(model=ModelConfig(depth=1, d_model=48, n_heads=5, n_kv_heads=5, head_dim=16)))
    with pytest.raises(ExportError, match=r"model\.n_heads=5"):
        check_exportable(odd, "hf", "f32")
    check_exportable(odd, "gguf", "f32")  # llama.cpp takes head_dim as given
    # Destinations that are not earlier exports are never replaced.
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    text_file = tmp_path / "notes.txt"
    text_file.write_text("mine")
    for fmt, out in (("hf", folder), ("gguf", folder), ("gguf", text_file), ("hf", text_file)):
        with pytest.raises(ExportError):
            export_model(model, cfg, tokenizer, fmt=fmt, out=out)
    assert listing(folder) == {"keep.txt": b"mine"} and text_file.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "notes.txt"]


@pytest.mark.parametrize("fmt", ["hf", "gguf"])
def test_a_failed_export_leaves_the_previous_one_untouched(fmt, tokenizer, tmp_path, monkeypatch):
    package = "gguf" if fmt == "gguf" else "safetensors"
    need(package, package)
    cfg, model = random_model()
    out = tmp_path / ("m.gguf" if fmt == "gguf" else "m")
    export_model(model, cfg, tokenizer, fmt=fmt, out=out)
    before = listing(tmp_path)

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    if fmt == "gguf":
        from gguf import GGUFWriter

        monkeypatch.setattr(GGUFWriter, "write_tensors_to_file", boom)  # after the header is on disk
    else:
        import safetensors.numpy

        monkeypatch.setattr(safetensors.numpy, "save_file", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        export_model(model, cfg, tokenizer, fmt=fmt, out=out, dtype="f16")
    assert listing(tmp_path) == before  # no temp file or folder left either


def test_cli_refusal_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    from picojax import config_io
    from picojax.app.cli import main

    run = tmp_path / "run"
    run.mkdir()
    cfg = Config(model=ModelConfig(depth=1, logit_softcap=15.0))
    config_io.save_json(cfg, run / "config.json")
    out = tmp_path / "out.gguf"
    assert main(["export", "--workdir", str(run), "--format", "gguf", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "model.logit_softcap=15" in err
    assert not out.exists()


# ----------------------------------------------------------------------------------------
# Trained runs, reloaded in the real runtimes.


@pytest.fixture(scope="module")
def llama_run(stories_data, tmp_path_factory):
    """Stories, no QK-norm, tied embeddings, 4 query heads sharing 2 kv heads."""
    from picojax.train import train

    cfg = tiny_config(stories_data, "model.depth=2", "model.kv_group=2", "model.seq_len=64",
                      "model.qk_norm=false", "model.tie_embeddings=true", "train.steps=30",
                      "checkpoint.every_steps=0")
    workdir = tmp_path_factory.mktemp("llama_run")
    train(cfg, workdir, progress=False)
    return workdir


@pytest.fixture(scope="module")
def qwen3_run(tmp_path_factory):
    """RPG, QK-norm, untied head, the char tokenizer with atomic labels (" | ", " hp="...),
    model.vocab_size above the tokenizer's (padded rows)."""
    from data_gen.rpg import Options, write_dataset
    from picojax.store import tokenize_dir
    from picojax.tokenizer import train_tokenizer
    from picojax.train import train

    data = tmp_path_factory.mktemp("rpg")
    write_dataset(data, Options(seed=3, train_records=300, val_records=30, eval_records=10, eval_fights=2),
                  progress=False)
    tokenizer = train_tokenizer(data, 256, data / "tokenizer.model", profile="rpg")
    tokenize_dir(data, tokenizer, task="rpg")
    vocab = -(-tokenizer.vocab_size // 32) * 32 + 32
    cfg = tiny_config(data, "data.task=rpg", f"model.vocab_size={vocab}", "data.long_docs=split",
                      "model.depth=2", "model.kv_group=2", "model.seq_len=192", "model.qk_norm=true",
                      "model.tie_embeddings=false", "train.steps=30", "checkpoint.every_steps=0")
    workdir = tmp_path_factory.mktemp("qwen3_run")
    train(cfg, workdir, progress=False)
    return workdir


def restored(workdir):
    from picojax.restore import restore_for_inference

    return restore_for_inference(workdir)


def val_prompts(cfg, n=3):
    from picojax.app.commands.export import check_prompts

    prompts = check_prompts(cfg, [])
    assert len(prompts) == n
    return prompts


RUNS = {"llama": "llama_run", "qwen3": "qwen3_run"}


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["llama", "qwen3"])
def test_hf_logits_and_greedy_equal_picojax(arch, request, tmp_path):
    need("transformers", "transformers")
    need("torch", "torch")
    need("safetensors", "safetensors")
    from picojax.export.check import check_hf

    cfg, model, tokenizer, step = restored(request.getfixturevalue(RUNS[arch]))
    prompts = val_prompts(cfg)
    result = export_model(model, cfg, tokenizer, fmt="hf", out=tmp_path / "hf", source={"step": step})
    config = json.loads((result.path / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM" if arch == "llama" else "Qwen3ForCausalLM"]
    assert config["tie_word_embeddings"] is cfg.model.tie_embeddings
    assert {"tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
            "generation_config.json", "model.safetensors"} <= set(result.files)
    check = check_hf(result.path, model, tokenizer, cfg, prompts, dtype="f32", max_new_tokens=24)
    print(check.verdict())
    assert check.tokenizer_equal, "AutoTokenizer encodes the prompts differently from picojax"
    assert check.max_abs_logit_diff <= 1e-4
    assert check.greedy_equal == len(prompts), check.details
    assert check.passed

    # The tokenizer round-trips text like SentencePiece, RPG labels and newlines included
    # (SentencePiece spells <unk> " ⁇ " where transformers drops it: texts here have none).
    from transformers import AutoTokenizer

    hf_tok = AutoTokenizer.from_pretrained(str(result.path))
    text = "\n".join(prompts) + "  two spaces\n"
    assert tokenizer.unk_id not in tokenizer.encode(text)
    assert hf_tok(text)["input_ids"] == [2, *tokenizer.encode(text)]
    assert hf_tok.decode(hf_tok(text)["input_ids"], skip_special_tokens=True) == tokenizer.decode(tokenizer.encode(text))


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["llama", "qwen3"])
def test_gguf_f32_greedy_equals_picojax_sampler(arch, request, tmp_path):
    gguf = need("gguf", "gguf")
    need("llama_cpp", "llama-cpp-python")
    from picojax.export.check import check_gguf

    cfg, model, tokenizer, step = restored(request.getfixturevalue(RUNS[arch]))
    prompts = val_prompts(cfg)
    result = export_model(model, cfg, tokenizer, fmt="gguf", out=tmp_path / "m.gguf")
    reader = gguf.GGUFReader(str(result.path))
    field = reader.fields["general.architecture"]
    assert bytes(field.parts[field.data[0]]).decode() == arch
    assert {t.tensor_type.name for t in reader.tensors} == {"F32"}
    check = check_gguf(result.path, model, tokenizer, cfg, prompts, dtype="f32", max_new_tokens=24)
    print(check.verdict(), f"llama.cpp {check.runtime_tok_s:.0f} tok/s, picojax {check.picojax_tok_s:.0f} tok/s")
    assert check.tokenizer_equal, "llama.cpp tokenizes the prompts differently from picojax"
    assert check.greedy_equal == len(prompts), check.details
    assert check.max_abs_logit_diff <= 1e-3
    assert check.passed


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["q8_0", "f16", "bf16"])
def test_gguf_lossy_dtypes_load_and_mostly_agree(dtype, qwen3_run, tmp_path):
    need("gguf", "gguf")
    need("llama_cpp", "llama-cpp-python")
    from picojax.export.check import check_gguf

    cfg, model, tokenizer, _ = restored(qwen3_run)
    f32 = export_model(model, cfg, tokenizer, fmt="gguf", out=tmp_path / "f32.gguf")
    lossy = export_model(model, cfg, tokenizer, fmt="gguf", out=tmp_path / f"{dtype}.gguf", dtype=dtype)
    assert lossy.total_bytes < 0.6 * f32.total_bytes
    check = check_gguf(lossy.path, model, tokenizer, cfg, val_prompts(cfg), dtype=dtype, max_new_tokens=24)
    print(check.verdict())
    assert check.tokenizer_equal and check.argmax_agreement >= 0.9 and check.passed


@pytest.mark.slow
def test_cli_export_with_check(llama_run, tmp_path, capsys):
    need("gguf", "gguf")
    need("llama_cpp", "llama-cpp-python")
    from picojax.app.cli import main

    out = tmp_path / "exports" / "stories.gguf"
    argv = ["export", "--workdir", str(llama_run), "--format", "gguf", "--out", str(out), "--check"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "check OK" in printed and out.is_file()
    f32_size = out.stat().st_size
    assert main(argv + ["--dtype", "q8_0"]) == 0  # replaces the earlier export
    assert "check OK" in capsys.readouterr().out
    assert out.stat().st_size < 0.6 * f32_size
    assert [p.name for p in out.parent.iterdir()] == ["stories.gguf"]
