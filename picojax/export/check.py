"""`--check`: reload an export in its real runtime and compare it with picojax.

- hf: transformers (`AutoModelForCausalLM`, `AutoTokenizer`) on CPU in float32.
- gguf: llama.cpp through llama-cpp-python, every logit kept (``logits_all``).

Three comparisons, on a few prompts:

1. tokenizer: the runtime's ``encode(prompt)`` (BOS added) equals picojax's ``BOS + encode``;
2. logits: teacher-forced over prompt + picojax's greedy continuation, the largest absolute
   logit difference, and the share of positions whose argmax agrees;
3. greedy: the runtime's own free-running greedy continuation equals picojax's sampler,
   token for token.

Verdict: an f32 export passes when the tokenizer agrees, greedy continuations are equal
and (hf) the logits are within `HF_F32_ATOL`; a lossy dtype (f16, bf16, q8_0) passes
when the tokenizer agrees and at least `LOSSY_MIN_AGREEMENT` of teacher-forced argmaxes
agree. The runtimes are optional dependencies (``pip install 'picojax[export]'``); a
missing one is an `ExportError` naming the package.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from picojax.export.tensors import ExportError

HF_F32_ATOL = 1e-4
LOSSY_MIN_AGREEMENT = 0.9


@dataclass
class CheckResult:
    runtime: str  # "transformers 5.x" / "llama.cpp (llama-cpp-python 0.3.x)"
    prompts: int
    tokenizer_equal: bool
    greedy_equal: int  # prompts whose free-running greedy continuation equals picojax's
    max_abs_logit_diff: float
    argmax_agreement: float  # teacher-forced, over every scored position
    passed: bool
    dtype: str
    runtime_tok_s: float = 0.0  # the runtime's greedy decode speed, tokens/s (one sequence at a time)
    picojax_tok_s: float = 0.0  # picojax's sampler on the same prompts
    details: list = field(default_factory=list)

    def verdict(self) -> str:
        word = "OK" if self.passed else "MISMATCH"
        return (f"check {word}: {self.runtime}, {self.dtype}: greedy {self.greedy_equal}/{self.prompts} prompts equal, "
                f"max |logit diff| {self.max_abs_logit_diff:.2e}, argmax agreement {self.argmax_agreement:.1%}, "
                f"tokenizer {'equal' if self.tokenizer_equal else 'DIFFERS'}")


# ----------------------------------------------------------------------------------------
# picojax's side.


def picojax_reference(model, tokenizer, cfg, prompts, max_new_tokens: int):
    """(prompt ids, greedy continuations incl. a final EOS, teacher-forced logits per prompt,
    sampler tokens/s) from picojax's own sampler and forward pass."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from picojax.sample import Sampler, SamplingConfig
    from picojax.tokenizer import EOS_ID

    sampler = Sampler(model, tokenizer, max_len=cfg.model.seq_len, batch_size=1)
    prompt_ids = sampler.encode_prompts(prompts)
    settings = SamplingConfig(max_new_tokens=max_new_tokens, temperature=0.0)
    sampler.generate_ids(prompt_ids[:1], settings, [EOS_ID])  # compile outside the timing
    start = time.perf_counter()
    outs = [sampler.generate_ids([p], settings, [EOS_ID])[0][0] for p in prompt_ids]
    elapsed = time.perf_counter() - start
    n_tokens = sum(len(o) for o in outs)

    graphdef, state = nnx.split(model)
    forward = jax.jit(lambda s, t: nnx.merge(graphdef, s)(t))
    logits = []
    for p, o in zip(prompt_ids, outs):
        seq = (p + o)[:cfg.model.seq_len]
        logits.append(np.asarray(forward(state, jnp.asarray([seq], jnp.int32))[0], np.float32))
    return prompt_ids, outs, logits, n_tokens / max(elapsed, 1e-9)


def _compare(ref_logits: np.ndarray, got_logits: np.ndarray, n_prompt: int) -> tuple[float, int, int]:
    """(max |diff| over all positions, argmax agreements, positions scored) from the last
    prompt position on (the positions that choose generated tokens)."""
    diff = float(np.max(np.abs(ref_logits - got_logits)))
    ref = np.argmax(ref_logits[n_prompt - 1:], axis=-1)
    got = np.argmax(got_logits[n_prompt - 1:], axis=-1)
    return diff, int(np.sum(ref == got)), int(ref.size)


def _verdict(result: CheckResult) -> CheckResult:
    if result.dtype == "f32":
        ok = result.tokenizer_equal and result.greedy_equal == result.prompts
        if result.runtime.startswith("transformers"):
            ok = ok and result.max_abs_logit_diff <= HF_F32_ATOL
    else:
        ok = result.tokenizer_equal and result.argmax_agreement >= LOSSY_MIN_AGREEMENT
    result.passed = bool(ok)
    return result


def _need(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportError(f"--check needs {package} (pip install 'picojax[export]')") from None


# ----------------------------------------------------------------------------------------
# transformers.


def check_hf(path, model, tokenizer, cfg, prompts, *, dtype: str, max_new_tokens: int = 24) -> CheckResult:
    transformers = _need("transformers", "transformers")
    torch = _need("torch", "torch")

    prompt_ids, outs, ref_logits, pj_tok_s = picojax_reference(model, tokenizer, cfg, prompts, max_new_tokens)
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # generate() notes max_new_tokens overriding max_length
    transformers.logging.disable_progress_bar()
    try:
        return _check_hf(transformers, torch, path, prompts, prompt_ids, outs, ref_logits, pj_tok_s, cfg, dtype,
                         max_new_tokens)
    finally:
        transformers.logging.set_verbosity(verbosity)
        transformers.logging.enable_progress_bar()


def _check_hf(transformers, torch, path, prompts, prompt_ids, outs, ref_logits, pj_tok_s, cfg, dtype,
              max_new_tokens) -> CheckResult:
    from picojax.tokenizer import EOS_ID, PAD_ID

    tok = transformers.AutoTokenizer.from_pretrained(str(path))
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    hf.eval()
    tokenizer_equal = all(tok(p)["input_ids"] == ids for p, ids in zip(prompts, prompt_ids))
    max_diff, agree, scored, greedy_equal, gen_tokens, gen_time = 0.0, 0, 0, 0, 0, 0.0
    details = []
    with torch.no_grad():
        for p, o, ref in zip(prompt_ids, outs, ref_logits):
            seq = (p + o)[:cfg.model.seq_len]
            got = hf(torch.tensor([seq])).logits[0].float().numpy()
            d, a, s = _compare(ref, got, len(p))
            max_diff, agree, scored = max(max_diff, d), agree + a, scored + s
            budget = min(max_new_tokens, cfg.model.seq_len - len(p))
            start = time.perf_counter()
            gen = hf.generate(torch.tensor([p]), attention_mask=torch.ones(1, len(p), dtype=torch.long),
                              max_new_tokens=budget, do_sample=False, eos_token_id=EOS_ID, pad_token_id=PAD_ID)
            gen_time += time.perf_counter() - start
            new = gen[0, len(p):].tolist()
            gen_tokens += len(new)
            greedy_equal += new == o
            details.append({"prompt_ids": p, "picojax": o, "runtime": new})
    result = CheckResult(
        runtime=f"transformers {transformers.__version__}", prompts=len(prompts), tokenizer_equal=tokenizer_equal,
        greedy_equal=greedy_equal, max_abs_logit_diff=max_diff, argmax_agreement=agree / max(scored, 1),
        passed=False, dtype=dtype, runtime_tok_s=gen_tokens / max(gen_time, 1e-9), picojax_tok_s=pj_tok_s,
        details=details)
    return _verdict(result)


# ----------------------------------------------------------------------------------------
# llama.cpp.


def load_llama_cpp(path, n_ctx: int, *, logits_all: bool = True, f32_cache: bool = True, n_threads: int = 1):
    """A llama-cpp-python model; with `f32_cache` the KV cache is float32 (llama.cpp's
    default is f16, which alone moves logits by ~1e-2), so a check measures the export. One
    thread: a tiny model gains nothing from more, and spinning threads on a busy machine
    slow llama.cpp by orders of magnitude."""
    llama_cpp = _need("llama_cpp", "llama-cpp-python")
    kv = dict(type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32) if f32_cache else {}
    return llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_batch=n_ctx, logits_all=logits_all,
                           n_threads=n_threads, verbose=False, **kv)


def llama_cpp_greedy(llm, prompt_ids, max_new_tokens: int, eos_id: int) -> list[int]:
    """Greedy decoding through llama.cpp's KV cache, one token at a time; stops after EOS."""
    llm.reset()
    llm.eval(prompt_ids)
    out = []
    for _ in range(max_new_tokens):
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        out.append(token)
        if token == eos_id or llm.n_tokens >= llm.n_ctx():
            break
        llm.eval([token])
    return out


def check_gguf(path, model, tokenizer, cfg, prompts, *, dtype: str, max_new_tokens: int = 24) -> CheckResult:
    llama_cpp = _need("llama_cpp", "llama-cpp-python")
    from picojax.tokenizer import EOS_ID

    prompt_ids, outs, ref_logits, pj_tok_s = picojax_reference(model, tokenizer, cfg, prompts, max_new_tokens)
    llm = load_llama_cpp(path, cfg.model.seq_len)
    try:
        tokenizer_equal = all(llm.tokenize(p.encode("utf-8"), add_bos=True, special=False) == ids
                              for p, ids in zip(prompts, prompt_ids))
        max_diff, agree, scored, greedy_equal, gen_tokens, gen_time = 0.0, 0, 0, 0, 0, 0.0
        details = []
        for p, o, ref in zip(prompt_ids, outs, ref_logits):
            seq = (p + o)[:cfg.model.seq_len]
            llm.reset()
            llm.eval(seq)
            got = np.array(llm.scores[:len(seq)], np.float32)
            d, a, s = _compare(ref, got, len(p))
            max_diff, agree, scored = max(max_diff, d), agree + a, scored + s
            budget = min(max_new_tokens, cfg.model.seq_len - len(p))
            start = time.perf_counter()
            new = llama_cpp_greedy(llm, p, budget, EOS_ID)
            gen_time += time.perf_counter() - start
            gen_tokens += len(new)
            greedy_equal += new == o
            details.append({"prompt_ids": p, "picojax": o, "runtime": new})
    finally:
        llm.close()
    result = CheckResult(
        runtime=f"llama.cpp (llama-cpp-python {llama_cpp.__version__})", prompts=len(prompts),
        tokenizer_equal=tokenizer_equal, greedy_equal=greedy_equal, max_abs_logit_diff=max_diff,
        argmax_agreement=agree / max(scored, 1), passed=False, dtype=dtype,
        runtime_tok_s=gen_tokens / max(gen_time, 1e-9), picojax_tok_s=pj_tok_s, details=details)
    return _verdict(result)


def check_export(fmt: str, path, model, tokenizer, cfg, prompts, *, dtype: str,
                 max_new_tokens: int = 24) -> CheckResult:
    if not prompts:
        raise ExportError("--check needs at least one prompt")
    fn = check_hf if fmt == "hf" else check_gguf
    return fn(path, model, tokenizer, cfg, prompts, dtype=dtype, max_new_tokens=max_new_tokens)
