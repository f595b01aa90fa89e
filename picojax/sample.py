"""Sampling: prefill, then KV-cache decoding as one jitted `lax.while_loop`.

Token conventions (shared with the token store): a document is ``BOS text EOS``. A prompt
becomes ``BOS + encode(text)``; generation stops at EOS, at a token whose piece holds a
stop string (e.g. ``"\\n"``), at ``max_new_tokens``, or when the context is full. The
decoded text is also cut at the first stop string, so multi-piece stop strings work too.
An RPG record is one document, so its end is EOS.

Batching: prompts are decoded shortest first, in batches of similar lengths, right-padded
to a common length P; each row carries its own positions. The prompts fill cache slots
0..P-1 and step t of every row writes slot P+t (one `dynamic_update_slice`, not a scatter
per row); a row sees its own prompt slots and what it generated, never another row's pad
slots, so a row's tokens are the same whatever it is batched with (a test compares
hundreds of prompts batched and alone, token for token).

Constraints: a task can give a token automaton per prompt (`picojax.constrain`, e.g. the
RPG record grammar); the loop masks the tokens it does not allow from its state.

Randomness: the key of row r at step t is ``fold_in(fold_in(key(seed), sample_id), t)``,
so a sample depends on its seed and id only, not on the batch it ran in.

Shapes are bucketed (prompt length to a multiple of 64; the batch to a power of two)
so an eval compiles one or two programs, not one per batch: on a CPU a compile costs
seconds while decoding a batch of tiny-model records costs a fraction of one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import NamedSharding, PartitionSpec as P

from picojax.attention import prompt_cache_mask
from picojax.constrain import stack_automata
from picojax.errors import UserError
from picojax.sharding import batch_axes
from picojax.tokenizer import BOS_ID, EOS_ID, PAD_ID

PROMPT_BUCKET = 64  # prompt lengths are padded up to a multiple of this


class SampleError(UserError):
    """A prompt or sampling setting that cannot be sampled (empty, too long, bad value)."""


@dataclass(frozen=True)
class SamplingConfig:
    max_new_tokens: int = 128  # tokens generated at most per sample
    temperature: float = 0.0  # 0 = greedy (argmax); > 0 divides the logits
    top_k: int = 0  # keep the k most likely tokens; 0 = all
    top_p: float = 1.0  # keep the smallest set of tokens whose probability reaches p; 1 = all
    seed: int = 0  # base of every sample's random key

    def check(self) -> None:
        if self.max_new_tokens < 1:
            raise SampleError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0 or not math.isfinite(self.temperature):
            raise SampleError(f"temperature must be >= 0 (0 = greedy), got {self.temperature}")
        if self.top_k < 0:
            raise SampleError(f"top_k must be >= 0 (0 = off), got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise SampleError(f"top_p must be in (0, 1], got {self.top_p}")


@dataclass(frozen=True)
class Completion:
    text: str  # the generated text, cut at the first stop string
    tokens: list[int]  # generated ids, the stop token excluded
    stopped: str  # "eos", "stop" (a stop string), "length" (max_new_tokens) or "context" (window full)


# ----------------------------------------------------------------------------------------
# Choosing the next token (inside the jit; settings are traced, so changing them never recompiles).


def filter_logits(logits_BxV, top_k, top_p):
    """Logits outside the top-k / top-p (nucleus) set become -inf. Ties at the cut are kept."""
    vocab = logits_BxV.shape[-1]
    sorted_BxV = -jnp.sort(-logits_BxV, axis=-1)
    k = jnp.where(top_k > 0, jnp.minimum(top_k, vocab), vocab)
    kth_Bx1 = jnp.take_along_axis(sorted_BxV, jnp.broadcast_to(k - 1, (logits_BxV.shape[0], 1)), axis=-1)
    sorted_BxV = jnp.where(sorted_BxV < kth_Bx1, -jnp.inf, sorted_BxV)
    probs_BxV = jax.nn.softmax(sorted_BxV, axis=-1)
    # A token is kept while the mass *before* it is below top_p: the most likely always is.
    keep_BxV = (jnp.cumsum(probs_BxV, axis=-1) - probs_BxV) < top_p
    n_keep_Bx1 = jnp.maximum(jnp.sum(keep_BxV, axis=-1, keepdims=True), 1)
    cut_Bx1 = jnp.maximum(jnp.take_along_axis(sorted_BxV, n_keep_Bx1 - 1, axis=-1), kth_Bx1)
    return jnp.where(logits_BxV < cut_Bx1, -jnp.inf, logits_BxV)


def choose_tokens(logits_BxV, row_keys_B, step, temperature, top_k, top_p):
    """The next token per row: argmax when temperature is 0, else a filtered sample drawn
    with the key ``fold_in(row_key, step)``."""
    def greedy():
        return jnp.argmax(logits_BxV, axis=-1).astype(jnp.int32)

    def sample():
        keys_B = jax.vmap(lambda k: jax.random.fold_in(k, step))(row_keys_B)
        scaled_BxV = filter_logits(logits_BxV / jnp.maximum(temperature, 1e-6), top_k, top_p)
        return jax.vmap(jax.random.categorical)(keys_B, scaled_BxV).astype(jnp.int32)

    # A cond, not a where: greedy decoding (every eval) skips the sort that top-k/top-p need,
    # which costs ~10x the argmax per step on a CPU.
    return jax.lax.cond(temperature > 0, sample, greedy)


# ----------------------------------------------------------------------------------------
# The jitted program: prefill + while_loop.


def _generate(graphdef, state, prompt_BxP, lengths_B, sample_ids_B, live_B, stop_ids_S, seed, temperature, top_k,
              top_p, allowed_BxSxV, *, max_new: int, max_len: int, batch_spec):
    """Prefill, then one token per step for every row until each has stopped.

    Cache layout (`picojax.attention.prompt_cache_mask`): the right-padded prompts fill
    slots 0..P-1 and step t of every row writes slot P+t, so a step is one
    `dynamic_update_slice` of one slot; each row keeps its own RoPE positions (its prompt
    length + t) and sees only its own prompt and what it generated.

    ``allowed_BxSxV``: a token automaton per row (`picojax.constrain`): the next state after
    each token from each state, -1 where the token is not allowed; a [B, 1, V] table of
    zeros allows everything.
    """
    model = nnx.merge(graphdef, state)
    b, p = prompt_BxP.shape
    cache_len = p + max_new
    constrain = (lambda x: jax.lax.with_sharding_constraint(x, batch_spec)) if batch_spec is not None else (lambda x: x)
    cache = jax.tree.map(constrain, model.init_cache(b, cache_len))
    positions_BxP = jnp.broadcast_to(jnp.arange(p, dtype=jnp.int32), (b, p))
    visible = prompt_cache_mask(lengths_B, p, 0, p, cache_len)
    logits_BxPxV, cache = model.decode(prompt_BxP, cache, positions_BxP, write_at=0, visible_BxTxS=visible)
    last_BxV = jnp.take_along_axis(logits_BxPxV, (lengths_B - 1)[:, None, None], axis=1)[:, 0]
    base_key = jax.random.key(seed)
    row_keys_B = jax.vmap(lambda i: jax.random.fold_in(base_key, i))(sample_ids_B)
    rows_B = jnp.arange(b)
    vocab = last_BxV.shape[-1]

    def cond(carry):
        step, _, _, done_B, _, _, _ = carry
        return (step < max_new) & ~jnp.all(done_B)

    constrained = allowed_BxSxV.shape[1] > 1  # static: free decoding traces none of the automaton's ops

    def body(carry):
        step, cache, logits_BxV, done_B, out_BxN, why_B, auto_B = carry
        if constrained:
            next_BxV = allowed_BxSxV[rows_B, auto_B].astype(jnp.int32)  # this row's automaton state
            logits_BxV = jnp.where(next_BxV[:, :vocab] >= 0, logits_BxV, -jnp.inf)
        tok_B = jnp.where(done_B, PAD_ID, choose_tokens(logits_BxV, row_keys_B, step, temperature, top_k, top_p))
        if constrained:
            auto_B = jnp.where(done_B, auto_B,
                               jnp.maximum(jnp.take_along_axis(next_BxV, tok_B[:, None], axis=1)[:, 0], 0))
        out_BxN = jax.lax.dynamic_update_slice(out_BxN, tok_B[:, None], (0, step))
        pos_B = lengths_B + step  # the position this token takes
        hit_B = ~done_B & jnp.any(tok_B[:, None] == stop_ids_S[None, :], axis=-1)
        full_B = ~done_B & ~hit_B & (pos_B + 1 >= max_len)  # no position left for another token
        why_B = jnp.where(hit_B, 1, jnp.where(full_B, 2, why_B))
        done_B = done_B | hit_B | full_B
        write_at = p + step
        visible = prompt_cache_mask(lengths_B, p, write_at, 1, cache_len)
        logits_Bx1xV, cache = model.decode(tok_B[:, None], cache, pos_B[:, None], write_at=write_at,
                                           visible_BxTxS=visible)
        return step + 1, cache, logits_Bx1xV[:, 0], done_B, out_BxN, why_B, auto_B

    out_BxN = jnp.full((b, max_new), PAD_ID, jnp.int32)
    why_B = jnp.zeros((b,), jnp.int32)  # 0 = length, 1 = stop token, 2 = context full
    auto_B = jnp.zeros((b,), jnp.int32)  # every automaton starts in state 0
    carry = (jnp.int32(0), cache, last_BxV, ~live_B, out_BxN, why_B, auto_B)
    _, _, _, _, out_BxN, why_B, _ = jax.lax.while_loop(cond, body, carry)
    return out_BxN, why_B


# ----------------------------------------------------------------------------------------
# The sampler.


def load_sampler(workdir, *, step: int | None = None, batch_size: int = 64):
    """(cfg, sampler, step) for a run's checkpoint (the latest, or `step`) on the current
    devices; the config and tokenizer come from the run, the caller passes neither."""
    from picojax.restore import restore_for_inference  # quiets Orbax's warnings itself

    cfg, model, tokenizer, step = restore_for_inference(workdir, step=step)
    return cfg, Sampler(model, tokenizer, max_len=cfg.model.seq_len, batch_size=batch_size), step


def _batch_mesh_axes(state):
    """(mesh, number of batch shards) when the weights live on a multi-device mesh."""
    leaf = jax.tree.leaves(state)[0]
    sharding = getattr(leaf, "sharding", None)
    if isinstance(sharding, NamedSharding) and sharding.mesh.size > 1:
        mesh = sharding.mesh
        shards = math.prod(mesh.shape[a] for a in batch_axes(mesh))
        return mesh, shards
    return None, 1


class Sampler:
    """Samples from a model (an `nnx.Module`, or its `(graphdef, state)`) with a tokenizer."""

    def __init__(self, model, tokenizer, *, max_len: int, batch_size: int = 64):
        graphdef, state = nnx.split(model) if isinstance(model, nnx.Module) else model
        self.graphdef, self.state = graphdef, state
        self._vocab = int(jax.tree.leaves(state["embed"])[0].shape[0])  # logits width (the embedding's rows)
        self.tokenizer = tokenizer
        self.max_len = int(max_len)  # the model's context (model.seq_len)
        self.batch_size = int(batch_size)
        self.mesh, self.batch_shards = _batch_mesh_axes(state)
        # The graphdef is closed over, not a static argument: it holds the (unhashable) config.
        self._fn = jax.jit(partial(_generate, graphdef), static_argnames=("max_new", "max_len", "batch_spec"))

    def model(self):
        """The sampler's weights as an `nnx.Module` (e.g. to score text with them)."""
        return nnx.merge(self.graphdef, self.state)

    def load_weights(self, model) -> None:
        """Swaps in new weights of the same model (an in-training eval), keeping the compiled programs."""
        _, self.state = nnx.split(model) if isinstance(model, nnx.Module) else model
        self.mesh, self.batch_shards = _batch_mesh_axes(self.state)

    # ---- ids in, ids out

    def encode_prompts(self, prompts: Sequence[str]) -> list[list[int]]:
        """``BOS + encode(text)`` per prompt; an empty prompt is an error."""
        out = []
        for i, text in enumerate(prompts):
            if not text:
                raise SampleError(f"prompt {i + 1} is empty: give some text to continue")
            out.append([BOS_ID, *self.tokenizer.encode(text)])
        return out

    def stop_ids(self, stop_strings: Sequence[str]) -> list[int]:
        """EOS and every piece that contains a stop string (a stop string spread over several
        pieces is caught by the text cut in `complete` instead)."""
        ids = {EOS_ID}
        for i in range(self.tokenizer.vocab_size):
            piece = self.tokenizer.id_to_piece(i).replace("▁", " ")
            if any(s and s in piece for s in stop_strings):
                ids.add(i)
        return sorted(ids)

    def generate_ids(self, prompts_ids: Sequence[Sequence[int]], settings: SamplingConfig,
                     stop_ids: Sequence[int] = (EOS_ID,), sample_ids: Sequence[int] | None = None,
                     constraints: Sequence[np.ndarray | None] | None = None):
        """[(generated ids incl. the stop token if any, why it stopped)] per prompt.

        ``constraints``: per prompt, a token automaton (`picojax.constrain`) the output must
        follow, or None for free decoding. Prompts are decoded shortest first in batches of
        at most `batch_size` (similar lengths pad least); the results come back in the
        order given, and each row's tokens do not depend on its batch."""
        settings.check()
        for i, ids in enumerate(prompts_ids):
            if len(ids) == 0:
                raise SampleError(f"prompt {i + 1} is empty")
            if len(ids) >= self.max_len:
                raise SampleError(f"prompt {i + 1} is {len(ids)} tokens (BOS included) but the model's context is "
                                  f"{self.max_len} tokens, with room needed for at least one new token")
        sample_ids = list(range(len(prompts_ids))) if sample_ids is None else list(sample_ids)
        constraints = [None] * len(prompts_ids) if constraints is None else list(constraints)
        order = sorted(range(len(prompts_ids)), key=lambda i: len(prompts_ids[i]))
        results: list = [None] * len(prompts_ids)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            got = self._run_chunk([prompts_ids[i] for i in chunk], [sample_ids[i] for i in chunk], settings,
                                  stop_ids, [constraints[i] for i in chunk])
            for i, r in zip(chunk, got):
                results[i] = r
        return results

    def _batch_rows(self, n: int) -> int:
        """Rows of the compiled batch for n prompts: a power of two (few distinct programs;
        a short last chunk does not pay for `batch_size` rows), at most `batch_size`."""
        rows = 1
        while rows < n:
            rows *= 2
        return min(rows, self.batch_size)  # chunks never hold more than batch_size prompts

    def _run_chunk(self, chunk, ids, settings: SamplingConfig, stop_ids, constraints):
        n = len(chunk)
        b = self._batch_rows(n)
        longest = max(len(p) for p in chunk)
        p = min(-(-longest // PROMPT_BUCKET) * PROMPT_BUCKET, self.max_len)
        prompt_BxP = np.full((b, p), PAD_ID, np.int32)
        lengths_B = np.ones((b,), np.int32)
        prompt_BxP[:, 0] = BOS_ID  # filler rows: a lone BOS, marked done from the start
        for r, toks in enumerate(chunk):
            prompt_BxP[r, :len(toks)] = toks
            lengths_B[r] = len(toks)
        live_B = np.arange(b) < n
        sample_B = np.zeros((b,), np.int32)
        sample_B[:n] = ids
        allowed_BxSxV = stack_automata(constraints, b, self.vocab_rows())
        batch_spec = None
        args = [prompt_BxP, lengths_B, sample_B, live_B]
        if self.mesh is not None and b % self.batch_shards == 0:
            batch_spec = NamedSharding(self.mesh, P(batch_axes(self.mesh)))
            args = [jax.device_put(a, batch_spec) for a in args]
        # Stop ids padded with -1 (never a token) to a multiple of 8: fewer distinct shapes.
        stop_S = np.full((-(-max(len(stop_ids), 1) // 8) * 8,), -1, np.int32)
        stop_S[:len(stop_ids)] = stop_ids
        out_BxN, why_B = self._fn(
            self.state, *args, stop_S, settings.seed,
            jnp.float32(settings.temperature), jnp.int32(settings.top_k), jnp.float32(settings.top_p), allowed_BxSxV,
            max_new=settings.max_new_tokens, max_len=self.max_len, batch_spec=batch_spec)
        out_BxN, why_B = np.asarray(out_BxN), np.asarray(why_B)
        results = []
        for r in range(n):
            row = out_BxN[r].tolist()
            if why_B[r] == 1:
                end = next(i for i, t in enumerate(row) if t in stop_ids)
                results.append((row[:end + 1], "stop"))
            else:
                limit = min(settings.max_new_tokens, self.max_len - lengths_B[r])
                results.append((row[:limit], "context" if why_B[r] == 2 else "length"))
        return results

    def vocab_rows(self) -> int:
        """Width of the model's logits (the vocabulary may be padded past the tokenizer's pieces)."""
        return self._vocab

    # ---- text in, text out

    def complete(self, prompts: Sequence[str], settings: SamplingConfig = SamplingConfig(),
                 stop_strings: Sequence[str] = (), sample_ids: Sequence[int] | None = None,
                 constraint=None) -> list[Completion]:
        """Continues each prompt; see the module docstring for the stopping rules.
        ``constraint``: a function prompt text -> token automaton (`picojax.constrain`) or
        None, e.g. a task's grammar; None decodes freely."""
        stop_ids = self.stop_ids(stop_strings) if stop_strings else [EOS_ID]
        automata = [constraint(p) for p in prompts] if constraint is not None else None
        raw = self.generate_ids(self.encode_prompts(prompts), settings, stop_ids, sample_ids, automata)
        return [self._completion(ids, why, stop_strings) for ids, why in raw]

    def _completion(self, ids: list[int], why: str, stop_strings: Sequence[str]) -> Completion:
        stopped = why
        if why == "stop":
            stopped = "eos" if ids[-1] == EOS_ID else "stop"
            ids = ids[:-1] if ids[-1] == EOS_ID else ids
        text = self.tokenizer.decode(ids)
        cuts = [text.find(s) for s in stop_strings if s and s in text]
        if cuts:
            text, stopped = text[:min(cuts)], "stop"
        return Completion(text=text, tokens=ids, stopped=stopped)


class TrainingSampler:
    """The sampler an in-training eval hook uses: built on the first call, then refreshed
    with the current weights, so every later eval reuses the compiled decode programs."""

    def __init__(self, cfg):
        self.cfg = cfg
        self._sampler: Sampler | None = None

    def __call__(self, model) -> Sampler:
        if self._sampler is None:
            from picojax import data
            from picojax.tokenizer import Tokenizer

            tokenizer = Tokenizer.load(data.tokenizer_path(self.cfg))
            self._sampler = Sampler(model, tokenizer, max_len=self.cfg.model.seq_len)
        else:
            self._sampler.load_weights(model)
        return self._sampler
