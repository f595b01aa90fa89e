"""The sampler: KV-cache decoding equals the naive forward, batching is invisible, and
the sampling settings, stops and bad prompts behave as documented."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from picojax.config import ModelConfig
from picojax.model import Transformer
from picojax.sample import Sampler, SampleError, SamplingConfig, filter_logits
from picojax.tokenizer import BOS_ID, EOS_ID

NO_STOP = (-1,)  # no token id matches: run to max_new_tokens


@pytest.fixture(scope="module")
def sampler(model):
    # One sampler (one jit cache) for the tests that share shapes: compiles dominate here.
    return Sampler(model, tokenizer=None, max_len=64, batch_size=8)


@pytest.fixture(scope="module")
def model():
    # A large init_std makes the logits peaked, so greedy choices are far from ties and
    # the comparison with the naive forward tests the cache, not float rounding.
    cfg = ModelConfig(depth=2, aspect_ratio=32, head_dim=16, vocab_size=64, seq_len=64, init_std=0.5)
    return Transformer(cfg, rngs=nnx.Rngs(0))


@jax.jit
def _full_forward(state, tokens_1xL):
    return nnx.merge(GRAPHDEF, state)(tokens_1xL)


def naive_greedy(model, prompt, n):
    """Greedy decoding by the full forward pass over the whole sequence at every step.

    The sequence is right-padded to the context length so one compiled program serves
    every step; causality makes the padding invisible to the logit at the last real token.
    """
    global GRAPHDEF
    GRAPHDEF, state = nnx.split(model)
    tokens = list(prompt)
    for _ in range(n):
        padded = np.zeros((1, 64), np.int32)
        padded[0, :len(tokens)] = tokens
        logits = _full_forward(state, jnp.asarray(padded))
        tokens.append(int(jnp.argmax(logits[0, len(tokens) - 1])))
    return tokens[len(prompt):]


GRAPHDEF = None


def prompts(lengths, seed=0):
    rng = np.random.default_rng(seed)
    return [[BOS_ID, *rng.integers(4, 64, size=n - 1).tolist()] for n in lengths]


def test_kv_cache_greedy_equals_naive_full_forward(model, sampler):
    for prompt in prompts([5, 12]):
        [(got, why)] = sampler.generate_ids([prompt], SamplingConfig(max_new_tokens=12), NO_STOP)
        assert why == "length"
        assert got == naive_greedy(model, prompt, 12)


@pytest.mark.parametrize("settings", [SamplingConfig(max_new_tokens=12),
                                      SamplingConfig(max_new_tokens=12, temperature=1.0, top_k=20, top_p=0.9, seed=7)])
def test_batched_prompts_of_different_lengths_equal_each_alone(model, sampler, settings):
    batch = prompts([3, 17, 9, 30, 1, 21])
    together = sampler.generate_ids(batch, settings, NO_STOP, sample_ids=range(len(batch)))
    alone = [sampler.generate_ids([p], settings, NO_STOP, sample_ids=[i])[0] for i, p in enumerate(batch)]
    assert together == alone
    # and across batch sizes (two chunks of 3)
    small = Sampler(model, tokenizer=None, max_len=64, batch_size=3)
    assert small.generate_ids(batch, settings, NO_STOP) == together


def test_seeds_are_reproducible_and_settings_do_what_they_say(sampler):
    batch = prompts([6, 6, 6, 6, 6, 6, 6, 6])
    hot = SamplingConfig(max_new_tokens=12, temperature=2.0, seed=1)
    first = sampler.generate_ids(batch, hot, NO_STOP)
    assert sampler.generate_ids(batch, hot, NO_STOP) == first
    other_seed = sampler.generate_ids(batch, SamplingConfig(max_new_tokens=12, temperature=2.0, seed=2), NO_STOP)
    assert other_seed != first
    greedy = sampler.generate_ids(batch, SamplingConfig(max_new_tokens=12), NO_STOP)
    assert greedy != first
    # top_k=1 and a tiny top_p leave only the argmax, whatever the temperature
    assert sampler.generate_ids(batch, SamplingConfig(max_new_tokens=12, temperature=2.0, top_k=1), NO_STOP) == greedy
    assert sampler.generate_ids(batch, SamplingConfig(max_new_tokens=12, temperature=2.0, top_p=1e-6), NO_STOP) == greedy


def test_filter_logits_top_k_and_top_p():
    logits = jnp.log(jnp.asarray([[0.5, 0.2, 0.15, 0.1, 0.05]]))
    kept = lambda out: np.isfinite(np.asarray(out[0])).tolist()  # noqa: E731
    assert kept(filter_logits(logits, 2, 1.0)) == [True, True, False, False, False]
    assert kept(filter_logits(logits, 0, 0.6)) == [True, True, False, False, False]  # 0.5 < 0.6: take 0.2 too
    assert kept(filter_logits(logits, 0, 0.5)) == [True, False, False, False, False]
    assert kept(filter_logits(logits, 0, 0.8)) == [True, True, True, False, False]
    assert kept(filter_logits(logits, 3, 0.99)) == [True, True, True, False, False]
    assert kept(filter_logits(logits, 0, 1.0)) == [True] * 5


def test_stops_at_a_stop_token_and_at_the_context_end(model, sampler):
    prompt = prompts([5])[0]
    free = naive_greedy(model, prompt, 10)
    stop = free[3]
    first = free.index(stop)
    [(got, why)] = sampler.generate_ids([prompt], SamplingConfig(max_new_tokens=12), (EOS_ID, stop))
    assert why == "stop" and got == free[:first + 1]
    long_prompt = prompts([61])[0]  # 3 positions left in a 64-token context
    [(got, why)] = sampler.generate_ids([long_prompt], SamplingConfig(max_new_tokens=12), NO_STOP)
    assert why == "context" and len(got) == 3 and got == naive_greedy(model, long_prompt, 3)


def test_bad_prompts_and_settings_are_clear_errors(sampler):
    with pytest.raises(SampleError, match="prompt 1 is empty"):
        sampler.encode_prompts([""])  # refused before the tokenizer is asked
    with pytest.raises(SampleError, match="context is 64 tokens"):
        sampler.generate_ids(prompts([5, 64]), SamplingConfig(), NO_STOP)
    for bad in (SamplingConfig(temperature=-1), SamplingConfig(top_p=0.0), SamplingConfig(top_k=-2),
                SamplingConfig(max_new_tokens=0)):
        with pytest.raises(SampleError):
            sampler.generate_ids(prompts([5]), bad, NO_STOP)
