"""Constrained decoding: the automaton builder, the RPG record grammar, and the sampler
under a constraint (it only removes outputs the grammar rejects)."""

import numpy as np
import pytest
from flax import nnx

from data_gen.rpg import Options, split_record, write_dataset
from data_gen.rpg.text import parse_target
from eval.rpg.grammar import RPGGrammar, prompt_names
from picojax.config import ModelConfig
from picojax.constrain import Builder, accepts, stack_automata
from picojax.model import Transformer
from picojax.sample import Sampler, SamplingConfig
from picojax.tokenizer import BOS_ID, EOS_ID, train_tokenizer

DIGITS = list(range(10, 20))  # token ids of the digits 0-9 in the toy vocabulary below


def test_number_pieces_reject_leading_zeros_and_long_numbers():
    b = Builder(32)
    ends = b.number([0], DIGITS, 3)
    end = b.state()
    for e in ends:
        b.edge(e, 5, end)
    table = b.table()
    num = lambda s: [DIGITS[int(c)] for c in s]
    for ok in ("0", "7", "42", "999"):
        assert accepts(table, num(ok) + [5]), ok
    for bad in ("01", "1000", ""):
        assert not accepts(table, num(bad) + [5]), bad


def test_one_of_shares_prefixes_and_refuses_nondeterminism():
    b = Builder(8)
    ends = b.one_of([0], [[1, 2], [1, 3], [1, 2, 4]])
    table = b.table()
    for run in ([1, 2], [1, 3], [1, 2, 4]):
        assert accepts(table, run)
    assert not accepts(table, [2])
    assert len(ends) == 3
    with pytest.raises(ValueError, match="not deterministic"):
        b.edge(0, 1, b.state())


def test_stack_automata_pads_states_and_lets_free_rows_be():
    a = Builder(6)
    a.tokens([0], [4, 5])
    table = a.table()
    out = stack_automata([table, None], rows=4, vocab=8)
    assert out.shape == (4, 64, 8)
    assert (out[0, :table.shape[0], :6] == table).all() and (out[0, :, 6:] == -1).all()
    assert (out[1:] == 0).all()  # free rows and filler rows: every token, stay in state 0
    assert stack_automata([None, None], rows=2, vocab=8).shape == (2, 1, 8)


@pytest.fixture(scope="module")
def rpg(tmp_path_factory):
    out = tmp_path_factory.mktemp("rpg")
    write_dataset(out, Options(seed=3, train_records=3000, val_records=100, eval_records=150, eval_fights=2),
                  progress=False)
    tok = train_tokenizer(out, 128, out / "tokenizer.model", model_type="char")
    return out, tok


def test_the_grammar_accepts_every_record_of_every_split(rpg):
    out, tok = rpg
    grammar = RPGGrammar(tok)
    lines = [line for f in sorted((out / "eval").glob("*.txt")) for line in f.read_text().splitlines()]
    lines += (out / "val.txt").read_text().splitlines()
    for line in lines:
        prompt, target = split_record(line)
        automaton = grammar.for_prompt(prompt)
        assert automaton is not None and accepts(automaton, tok.encode(target) + [EOS_ID]), line


def test_the_grammar_rejects_what_cannot_be_an_answer(rpg):
    _, tok = rpg
    prompt = "turn=3 | knight hp=7/50 st=- cd=- | wolf hp=30/30 st=poison:1 cd=guard:2 | act=knight:heal:knight => "
    good = "turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=- cd=guard:1 | result=ongoing"
    automaton = RPGGrammar(tok).for_prompt(prompt)
    assert prompt_names(prompt) == ("knight", "wolf")
    assert accepts(automaton, tok.encode(good) + [EOS_ID])
    for bad in (good.replace("knight", "night"),  # a name not copied
                good.replace("| knight", "| wolf", 1),  # names swapped
                good.replace("turn=4", "turn=04"),  # a leading zero
                good.replace("heal:3", "heal:0"),  # a counter at 0
                good.replace("cd=heal:3", "cd=strike:3"),  # strike has no cooldown
                good.replace("st=- cd=heal", "st=regen:1,burn:1 cd=heal"),  # unsorted statuses
                good.replace("ongoing", "win:goblin"),  # a winner not in the prompt
                good + " | result=ongoing"):  # past the end
        assert not accepts(automaton, tok.encode(bad) + [EOS_ID]), bad
    assert RPGGrammar(tok).for_prompt("not a record") is None


@pytest.fixture(scope="module")
def sampler(rpg):
    _, tok = rpg
    cfg = ModelConfig(depth=1, aspect_ratio=32, head_dim=16, vocab_size=128, seq_len=320, init_std=0.3)
    return Sampler(Transformer(cfg, rngs=nnx.Rngs(1)), tok, max_len=320, batch_size=16)


def test_an_untrained_model_under_the_grammar_writes_records_that_parse(rpg, sampler):
    out, tok = rpg
    prompts = [split_record(line)[0] for line in (out / "eval" / "in_dist.txt").read_text().splitlines()[:16]]
    grammar = RPGGrammar(tok)
    free = sampler.complete(prompts, SamplingConfig(max_new_tokens=160), stop_strings=("\n",))
    forced = sampler.complete(prompts, SamplingConfig(max_new_tokens=160), stop_strings=("\n",),
                              constraint=grammar.for_prompt)
    assert not any(c.stopped == "eos" for c in free)  # untrained: free text never ends a record
    for prompt, c in zip(prompts, forced):
        assert c.stopped == "eos"
        names = prompt_names(prompt)
        assert c.text.startswith("turn=") and f"| {names[0]} hp=" in c.text and f"| {names[1]} hp=" in c.text
        try:
            parse_target(c.text)
        except Exception as e:  # only the arithmetic may be off: hp above max is the one check left
            assert "hp" in str(e), (c.text, e)


def _prompt_ids(n, seed=0):
    rng = np.random.default_rng(seed)
    return [[BOS_ID, *rng.integers(4, 120, size=int(k)).tolist()] for k in rng.integers(1, 150, size=n)]


def test_a_constraint_the_free_output_follows_changes_nothing(sampler):
    """Honesty: where the free greedy output is allowed, the constrained one is the same."""
    prompts = _prompt_ids(12, seed=1)
    settings = SamplingConfig(max_new_tokens=24)
    free = sampler.generate_ids(prompts, settings, (-1,))
    automata = []
    for ids, _ in free:  # an automaton that allows the free output and one other token at each step
        b = Builder(128)
        ends = [0]
        for t in ids:
            ends = b.one_of(ends, [[t], [(t + 1) % 128]])
        automata.append(b.table())
    assert sampler.generate_ids(prompts, settings, (-1,), constraints=automata) == free
    # ...and an automaton that allows one run of tokens forces exactly that run
    forced = [4, 9, 4, 9, 7]
    b = Builder(128)
    b.tokens([0], forced)
    got = sampler.generate_ids(prompts[:3], SamplingConfig(max_new_tokens=5), (-1,), constraints=[b.table()] * 3)
    assert [ids for ids, _ in got] == [forced] * 3


def test_batched_decoding_equals_one_prompt_at_a_time_token_for_token(sampler):
    """Hundreds of prompts of 2-150 tokens, shuffled lengths in every batch: the batched
    decoder gives each the tokens it gets alone (the issue's equality check)."""
    prompts = _prompt_ids(240, seed=2)
    settings = SamplingConfig(max_new_tokens=16)
    together = sampler.generate_ids(prompts, settings, (EOS_ID, 5))
    alone = Sampler((sampler.graphdef, sampler.state), sampler.tokenizer, max_len=320, batch_size=1)
    assert [alone.generate_ids([p], settings, (EOS_ID, 5))[0] for p in prompts] == together


def gbnf_to_regex(text: str) -> str:
    """A regular expression for our GBNF subset (literals, [classes], ? + *, |, groups, rules
    that never recurse), expanding rules from ``root``: enough to test what the grammar
    accepts without llama.cpp."""
    import re

    rules = dict(line.split(" ::= ", 1) for line in text.strip().splitlines())
    token = re.compile(r'"((?:[^"\\]|\\.)*)"|(\[[^\]]*\])|([()|?+*])|([a-z0-9-]+)|\s+')

    def expand(name: str) -> str:
        out = []
        for lit, cls, op, ref in token.findall(rules[name]):
            if lit:
                out.append(re.escape(lit.encode().decode("unicode_escape")))
            elif cls:
                out.append(cls)
            elif op:
                out.append("(?:" if op == "(" else op)
            elif ref:
                out.append(f"(?:{expand(ref)})")
        return "".join(out)

    return expand("root")


def test_the_gbnf_grammar_accepts_what_the_automaton_does(rpg):
    """The GBNF written beside a GGUF (`picojax export --grammar`) says the same as the
    decoder's automaton: every record of every split, generic and with the prompt's names."""
    import re

    from eval.rpg.grammar import gbnf

    out, _ = rpg
    generic = re.compile(gbnf_to_regex(gbnf()))
    lines = [line for f in sorted((out / "eval").glob("*.txt")) for line in f.read_text().splitlines()]
    for line in lines:
        prompt, target = split_record(line)
        assert generic.fullmatch(target), target
        assert re.fullmatch(gbnf_to_regex(gbnf(prompt_names(prompt))), target), target
    good = "turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=- cd=guard:1 | result=ongoing"
    named = re.compile(gbnf_to_regex(gbnf(("knight", "wolf"))))
    assert named.fullmatch(good)
    for bad in (good.replace("knight", "night"), good.replace("turn=4", "turn=04"),
                good.replace("cd=heal:3", "cd=strike:3"), good.replace("st=- cd=heal", "st=regen:1,burn:1 cd=heal"),
                good.replace("ongoing", "win:goblin")):
        assert not named.fullmatch(bad), bad


def test_llama_cpp_reads_the_gbnf_grammar():
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install 'picojax[export]')")
    from eval.rpg.grammar import gbnf

    for text in (gbnf(), gbnf(("hero", "goblin"))):
        assert llama_cpp.LlamaGrammar.from_string(text, verbose=False) is not None
