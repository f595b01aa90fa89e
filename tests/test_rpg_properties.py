"""Property tests (hypothesis) of the RPG engine and format, on states drawn independently
of the generator, plus a from-the-spec reference step to cross-check the engine."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from data_gen.rpg import (
    Action,
    Entity,
    State,
    format_prompt,
    format_state,
    format_target,
    is_fizzle,
    parse_prompt,
    parse_record,
    parse_target,
    step,
)
from data_gen.rpg.aliases import ACTION_CANON, STATUS_CANON, respell_prompt
from data_gen.rpg.coverage import BIT, branches
from data_gen.rpg.noise import family_of, noisy_prompt
from data_gen.rpg.rules import ACTION_NAMES, STATUSES
from data_gen.rpg.sources import Source, make_records

SETTINGS = settings(max_examples=200, deadline=None)

names = st.from_regex(r"[a-z]{1,7}", fullmatch=True)
pairs_of = lambda keys: st.dictionaries(st.sampled_from(keys), st.integers(1, 6)).map(lambda d: tuple(sorted(d.items())))


@st.composite
def entities(draw, name, min_hp=0):
    max_hp = draw(st.integers(1, 400))
    hp = draw(st.integers(min(min_hp, max_hp), max_hp))
    return Entity(name, hp, max_hp, draw(pairs_of(STATUSES)), draw(pairs_of(ACTION_NAMES)))


@st.composite
def states(draw, playable=False):
    a = draw(names)
    b = draw(names.filter(lambda n: n != a))
    low = 1 if playable else 0
    return State(draw(st.integers(0, 2000)), (draw(entities(a, low)), draw(entities(b, low))))


@st.composite
def prompts(draw):
    state = draw(states(playable=True))
    actor = draw(st.sampled_from(state.entities)).name
    other = next(e.name for e in state.entities if e.name != actor)
    name = draw(st.sampled_from(ACTION_NAMES))
    target = other if name in ("strike", "poison_strike", "ignite") else actor
    return state, Action(actor, name, target)


def reference_step(state, action):
    """The spec's "Resolving one turn", written out plainly with dicts."""
    ents = [{"name": e.name, "hp": e.hp, "max": e.max_hp, "st": dict(e.statuses), "cd": dict(e.cooldowns)} for e in state.entities]
    me = next(e for e in ents if e["name"] == action.actor)
    them = next(e for e in ents if e["name"] == action.target)
    table = {  # cooldown, damage, status gained (by the target), turns
        "strike": (0, 6, None, 0), "poison_strike": (3, 2, "poison", 3), "ignite": (3, 3, "burn", 2),
        "heal": (4, 0, None, 0), "guard": (3, 0, "guard", 2), "rally": (5, 0, "regen", 3), "wait": (0, 0, None, 0),
    }
    cooldown, damage, status, turns = table[action.name]
    if me["cd"].get(action.name, 0) == 0:
        if damage:
            hit = damage // 2 if "guard" in them["st"] else damage
            them["hp"] = max(0, them["hp"] - hit)
        if action.name == "heal":
            me["hp"] = min(me["max"], me["hp"] + 12)
        if status:
            them["st"][status] = max(them["st"].get(status, 0), turns)
        if cooldown:
            me["cd"][action.name] = cooldown
    for e in ents:
        if e["hp"] > 0:
            delta = -3 * ("poison" in e["st"]) - 4 * ("burn" in e["st"]) + 3 * ("regen" in e["st"])
            e["hp"] = min(e["max"], max(0, e["hp"] + delta))
        e["st"] = {k: v - 1 for k, v in e["st"].items() if v - 1 > 0}
        e["cd"] = {k: v - 1 for k, v in e["cd"].items() if v - 1 > 0}
    a, b = ents
    result = "draw" if a["hp"] == b["hp"] == 0 else f"win:{b['name']}" if a["hp"] == 0 else f"win:{a['name']}" if b["hp"] == 0 else "ongoing"
    nxt = State(state.turn + 1, tuple(Entity(e["name"], e["hp"], e["max"], tuple(sorted(e["st"].items())), tuple(sorted(e["cd"].items()))) for e in ents))
    return nxt, result


@SETTINGS
@given(prompts())
def test_engine_matches_the_reference(prompt):
    assert step(*prompt) == reference_step(*prompt)


@SETTINGS
@given(prompts())
def test_parse_of_format_is_identity(prompt):
    state, action = prompt
    assert parse_prompt(format_prompt(state, action)) == (state, action)
    nxt, result = step(state, action)
    assert parse_target(format_target(nxt, result)) == (nxt, result)
    record = parse_record(format_prompt(state, action) + format_target(nxt, result))
    assert (record.state, record.action, record.next_state, record.result) == (state, action, nxt, result)


@SETTINGS
@given(prompts(), st.integers(0, 2**32))
def test_alias_prompts_parse_to_the_canonical_prompt(prompt, seed):
    aliased = format_prompt(*respell_prompt(*prompt, random.Random(seed)))
    assert aliased != format_prompt(*prompt)
    assert parse_prompt(aliased) == prompt


@SETTINGS
@given(prompts())
def test_invariants_of_a_step(prompt):
    state, action = prompt
    nxt, result = step(state, action)
    assert nxt.turn == state.turn + 1
    assert [e.name for e in nxt.entities] == [e.name for e in state.entities]
    for before, after in zip(state.entities, nxt.entities):
        assert 0 <= after.hp <= after.max_hp == before.max_hp
        for pairs in (after.statuses, after.cooldowns):
            assert [k for k, _ in pairs] == sorted({k for k, _ in pairs})  # sorted, no repeats
            assert all(t >= 1 for _, t in pairs)
    downed = [e.name for e in nxt.entities if e.hp == 0]
    assert result == ("draw" if len(downed) == 2 else f"win:{({e.name for e in nxt.entities} - set(downed)).pop()}" if downed else "ongoing")


@SETTINGS
@given(prompts())
def test_fizzle_leaves_cooldowns_only_ticking(prompt):
    state, action = prompt
    actor = state.entity(action.actor)
    if not any(a == action.name for a, _ in actor.cooldowns):  # make it a fizzle
        actor = Entity(actor.name, actor.hp, actor.max_hp, actor.statuses, tuple(sorted(dict(actor.cooldowns, **{action.name: 2}).items())))
        state = State(state.turn, tuple(actor if e.name == actor.name else e for e in state.entities))
    assert is_fizzle(state, action)
    nxt, _ = step(state, action)
    wait_nxt, _ = step(state, Action(action.actor, "wait", action.actor))
    for before, after, waited in zip(state.entities, nxt.entities, wait_nxt.entities):
        assert after.cooldowns == tuple((a, t - 1) for a, t in before.cooldowns if t > 1)
    assert nxt == wait_nxt  # a fizzle is exactly a turn of doing nothing


def _labels(state, action):
    """(spelling, its canonical table) of every status/action label of a (printed) prompt."""
    out = [(action.name, ACTION_CANON)]
    for e in state.entities:
        out += [(s, STATUS_CANON) for s, _ in e.statuses] + [(a, ACTION_CANON) for a, _ in e.cooldowns]
    return out


@settings(max_examples=100, deadline=None)
@given(prompts(), st.integers(0, 2**32), st.sampled_from(["train", "eval"]))
def test_noisy_prompts_parse_to_the_canonical_prompt_and_families_never_meet(prompt, seed, family):
    noisy = noisy_prompt(*prompt, family, random.Random(seed))
    assert format_prompt(*noisy) != format_prompt(*prompt)
    assert parse_prompt(format_prompt(*noisy)) == prompt
    kinds = {family_of(spelling, canon) for spelling, canon in _labels(*noisy)}
    assert family in kinds and kinds <= {"canonical", family}  # never a spelling of the other family


def reference_branches(state, action):
    """The coverage branches, read off the spec step by step (the engine is not asked)."""
    nxt, result = step(state, action)
    me = state.entity(action.actor)
    other = next(e for e in state.entities if e.name != action.actor)
    table = {"strike": (6, None, True), "poison_strike": (2, "poison", True), "ignite": (3, "burn", True),
             "heal": (0, None, False), "guard": (0, "guard", False), "rally": (0, "regen", False), "wait": (0, None, False)}
    damage, status, hits_other = table[action.name]
    target = other if hits_other else me
    hp = {e.name: e.hp for e in state.entities}
    found = set()
    if action.name in dict(me.cooldowns):
        found.add("fizzle")
    else:
        if damage:
            if "guard" in dict(target.statuses):
                found.add("guard_halved")
                damage //= 2
            if damage > hp[target.name]:
                found.add("hp_clamped_0")
            hp[target.name] = max(0, hp[target.name] - damage)
        if action.name == "heal":
            if hp[me.name] + 12 > me.max_hp:
                found.add("heal_clamped")
            hp[me.name] = min(me.max_hp, hp[me.name] + 12)
        if status and status in dict(target.statuses):
            found.add("refresh")
    for e, after in zip(state.entities, nxt.entities):
        if hp[e.name] > 0:
            raw = hp[e.name] + sum({"poison": -3, "burn": -4, "regen": 3, "guard": 0}[s] for s, _ in e.statuses)
            if raw < 0:
                found.add("hp_clamped_0")
            if raw > e.max_hp:
                found.add("tick_clamped_max")
        if any(t == 1 and s not in dict(after.statuses) for s, t in e.statuses):
            found.add("status_expires")
        if any(t == 1 for _, t in e.cooldowns):
            found.add("cooldown_expires")
    if all(len(e.statuses) == 4 and len(e.cooldowns) >= 3 for e in state.entities):
        found.add("crowded")
    if result == "draw":
        found.add("draw")
    elif result.startswith("win:"):
        found.add("win")
    return found


@settings(max_examples=100, deadline=None)
@given(prompts())
def test_coverage_branches_match_the_spec(prompt):
    mask = branches(*prompt, *step(*prompt))
    assert {name for name, bit in BIT.items() if mask & bit} == reference_branches(*prompt)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from(["mix", "uniform", "crowded", "draw", "fizzle", "out_of_range"]))
def test_seeded_generation_is_reproducible(seed, kind):
    source = Source(kind=kind, alias_rate=0.3, noise_rate=0.3, uniform_share=0.2, crowded_share=0.1, draw_share=0.1)
    first = make_records(random.Random(seed), source, 60)
    assert first == make_records(random.Random(seed), source, 60)
    assert first != make_records(random.Random(seed + 1), source, 60)
    for made in first:
        record = parse_record(made.line)
        assert format_prompt(record.state, record.action) == made.key
        assert format_target(*step(record.state, record.action)) == made.line.split(" => ")[1].rstrip("\n")
        assert made.branches == branches(record.state, record.action, record.next_state, record.result)
        assert made.fizzle == is_fizzle(record.state, record.action)
        assert not (made.alias and made.noise)
        if kind == "draw":
            assert record.result == "draw"


def test_format_state_has_no_trailing_or_double_spaces():
    text = format_state(State(1, (Entity("a", 1, 2), Entity("b", 2, 2, (("burn", 1),)))))
    assert text == "turn=1 | a hp=1/2 st=- cd=- | b hp=2/2 st=burn:1 cd=-"
