"""The RPG text format: aliases, strict targets, and a table of bad inputs naming their field."""

import pytest

from data_gen.rpg import (
    Action,
    Entity,
    RPGError,
    State,
    format_state,
    parse_action,
    parse_prompt,
    parse_record,
    parse_state,
    parse_target,
    split_record,
)
from picojax.errors import UserError

GOOD = "turn=3 | knight hp=7/50 st=- cd=- | wolf hp=30/30 st=poison:1 cd=guard:2 | act=knight:heal:knight => "
TARGET = "turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=- cd=guard:1 | result=ongoing"


def test_prompt_parses_to_typed_objects():
    state, action = parse_prompt(GOOD)
    assert state == State(3, (Entity("knight", 7, 50), Entity("wolf", 30, 30, (("poison", 1),), (("guard", 2),))))
    assert action == Action("knight", "heal", "knight") and str(action) == "knight:heal:knight"
    assert parse_prompt(GOOD[: -len(" => ")]) == (state, action)  # the closing arrow is optional


def test_aliases_are_canonicalised_in_context():
    aliased = "turn=3 | knight hp=7/50 st=brn:1,guarded:2,psn:1,regeneration:3 cd=block:2,hl:1 | wolf hp=30/30 st=- cd=- | act=knight:cure:knight"
    state, action = parse_prompt(aliased)
    knight = state.entities[0]
    assert knight.statuses == (("burn", 1), ("guard", 2), ("poison", 1), ("regen", 3))
    assert knight.cooldowns == (("guard", 2), ("heal", 1))
    assert action.name == "heal"
    # The status alias of guard is not an action alias, and vice versa.
    with pytest.raises(RPGError) as err:
        parse_prompt(aliased.replace("cd=block:2", "cd=grd:2"))
    assert err.value.field == "cooldown"
    with pytest.raises(RPGError) as err:
        parse_prompt(aliased.replace("guarded:2", "defend:2"))
    assert err.value.field == "status"


def test_alias_spellings_sort_by_canonical_name():
    # "regeneration" sorts after "psn" only as regen after poison; order is by canonical name.
    parse_prompt("turn=3 | a hp=7/50 st=psn:1,rgn:2 cd=- | b hp=3/3 st=- cd=- | act=a:hit:b")
    with pytest.raises(RPGError) as err:
        parse_prompt("turn=3 | a hp=7/50 st=rgn:2,psn:1 cd=- | b hp=3/3 st=- cd=- | act=a:hit:b")
    assert err.value.field == "status" and "sorted" in str(err.value)


def test_target_is_strict():
    assert parse_target(TARGET)[1] == "ongoing"
    for alias in ("cd=hl:3", "st=psn:1"):
        with pytest.raises(RPGError):
            parse_target(TARGET.replace("cd=heal:3", alias))
    assert parse_target(TARGET.replace("ongoing", "win:wolf"))[1] == "win:wolf"
    # A finished state is a fine target (it is only refused as a prompt).
    parse_target("turn=4 | knight hp=0/50 st=- cd=- | wolf hp=27/30 st=- cd=- | result=win:wolf")


def test_record_round_trip_and_split():
    line = GOOD + TARGET
    prompt, target = split_record(line + "\n")
    assert (prompt, target) == (GOOD, TARGET)
    record = parse_record(line)
    assert record.next_state.entities[0].cooldowns == (("heal", 3),) and record.result == "ongoing"
    assert format_state(record.state) + " | act=knight:heal:knight => " == GOOD


def test_error_is_one_line_user_error_naming_field_and_value():
    with pytest.raises(UserError) as err:
        parse_prompt(GOOD.replace("heal", "fireball"))
    message = str(err.value)
    assert "\n" not in message and "action" in message and "fireball" in message


S = "turn=3 | a hp=7/50 st=- cd=- | b hp=30/30 st=- cd=-"
# (prompt, field named by the error)
BAD_PROMPTS = [
    (S + " | act=a:fireball:b", "action"),  # unknown action
    (S.replace("st=- cd=- |", "st=sleep:2 cd=- |") + " | act=a:wait:a", "status"),  # unknown status
    (S.replace("st=- cd=- |", "st=poison:0 cd=- |") + " | act=a:wait:a", "status"),  # turns must be >= 1
    (S.replace("st=- cd=- |", "st=poison:1,poison:2 cd=- |") + " | act=a:wait:a", "status"),  # duplicate
    (S.replace("st=- cd=- |", "st=regen:1,burn:2 cd=- |") + " | act=a:wait:a", "status"),  # unsorted
    (S.replace("st=- cd=- |", "st=poison cd=- |") + " | act=a:wait:a", "status"),  # no turns
    (S.replace("st=- cd=- |", "st=- cd=fly:2 |") + " | act=a:wait:a", "cooldown"),  # unknown action in cd
    (S.replace("st=- cd=- |", "st=- cd=rally:2,heal:1 |") + " | act=a:wait:a", "cooldown"),  # unsorted
    (S + " | act=a:strike:a", "target"),  # strike must hit the other entity
    (S + " | act=a:heal:b", "target"),  # heal targets the actor itself
    (S + " | act=a:strike:c", "target"),  # target not in the state
    (S + " | act=c:wait:c", "actor"),  # actor not in the state
    (S.replace("hp=7/50", "hp=51/50") + " | act=a:wait:a", "hp"),  # hp above max
    (S.replace("hp=7/50", "hp=0/50") + " | act=b:wait:b", "hp"),  # terminal state
    (S.replace("hp=7/50", "hp=0/0") + " | act=b:wait:b", "max"),  # max must be >= 1
    (S.replace("hp=7/50", "hp=07/50") + " | act=a:wait:a", "hp"),  # leading zero
    (S.replace("hp=7/50", "hp=-7/50") + " | act=a:wait:a", "hp"),  # sign
    (S.replace("hp=7/50", "hp=7") + " | act=a:wait:a", "hp"),  # no max
    (S.replace("turn=3", "turn=x") + " | act=a:wait:a", "turn"),
    (S.replace("turn=3", "t=3") + " | act=a:wait:a", "turn"),
    (S.replace("| b ", "| a ") + " | act=a:wait:a", "name"),  # names must be distinct
    (S.replace("| b ", "| Bob ") + " | act=a:wait:a", "name"),  # names are [a-z]+
    (S.replace("a hp", "a  hp") + " | act=a:wait:a", "entity"),  # double space
    (S.replace("cd=- |", "cd=- extra |", 1) + " | act=a:wait:a", "entity"),
    (S + " | act=a:wait:a ", "target"),  # trailing space
    (S + " | act=a:wait", "act"),
    (S + "| act=a:wait:a", "prompt"),  # broken separator
    (S, "prompt"),  # no act= block
    (S + " | act=a:wait:a => " + S + " | result=ongoing", "prompt"),  # a whole record is not a prompt
]


@pytest.mark.parametrize("prompt,field", BAD_PROMPTS)
def test_bad_prompts_name_their_field(prompt, field):
    with pytest.raises(RPGError) as err:
        parse_prompt(prompt)
    assert err.value.field == field, str(err.value)


BAD_TARGETS = [
    (S + " | result=maybe", "result"),
    (S + " | result=win:c", "result"),  # winner not in the state
    (S + " | result=win:", "result"),
    (S + " | act=a:wait:a", "target_block"),
    (S.replace("st=- cd=- |", "st=grd:1 cd=- |") + " | result=ongoing", "status"),  # alias in a target
    (S.replace("st=- cd=- |", "st=- cd=block:1 |") + " | result=ongoing", "cooldown"),
]


@pytest.mark.parametrize("target,field", BAD_TARGETS)
def test_bad_targets_name_their_field(target, field):
    with pytest.raises(RPGError) as err:
        parse_target(target)
    assert err.value.field == field, str(err.value)


@pytest.mark.parametrize("line", ["no arrow here", GOOD + TARGET + " => " + TARGET])
def test_split_record_needs_exactly_one_arrow(line):
    with pytest.raises(RPGError) as err:
        split_record(line)
    assert err.value.field == "record"


def test_parse_state_and_action_helpers():
    assert parse_state(S).turn == 3
    assert parse_action("a:hit:b") == Action("a", "strike", "b")
    with pytest.raises(RPGError):
        parse_action("a:hit:b", aliases=False)


NOISY = "turn=3 | knight hp=7/50 st=BURN:1,Guar-ded:2,p_sn:1,Regen:3 cd=BLOCK:2,h_L:1,Poison_Strike:2 | wolf hp=30/30 st=- cd=- | act=knight:Cu-Re:knight"


def test_noisy_labels_are_canonicalised_in_prompts():
    state, action = parse_prompt(NOISY)
    knight = state.entities[0]
    assert knight.statuses == (("burn", 1), ("guard", 2), ("poison", 1), ("regen", 3))
    assert knight.cooldowns == (("guard", 2), ("heal", 1), ("poison_strike", 2))
    assert action.name == "heal"
    for spelled in ("POISON_STRIKE", "poison-Strike", "Poison_strike", "POISONSTRIKE", "poi-son_str-ike"):
        assert parse_action(f"a:{spelled}:b").name == "poison_strike"
    # Contexts stay apart: a noisy status alias of guard is no action, and vice versa.
    with pytest.raises(RPGError) as err:
        parse_prompt(NOISY.replace("cd=BLOCK:2", "cd=G_RD:2"))
    assert err.value.field == "cooldown"


@pytest.mark.parametrize("spelled", ["poison__strike", "_heal", "heal-", "he al", "fire-ball", "hea1", "héal", "mend"])
def test_off_rule_spellings_are_unknown(spelled):
    with pytest.raises(RPGError) as err:
        parse_action(f"a:{spelled}:a")
    assert err.value.field in ("action", "act")


def test_noisy_labels_sort_by_canonical_name():
    with pytest.raises(RPGError) as err:
        parse_prompt("turn=3 | a hp=7/50 st=REGEN:2,Psn:1 cd=- | b hp=3/3 st=- cd=- | act=a:hit:b")
    assert "sorted" in str(err.value)


def test_targets_refuse_noisy_labels_naming_the_canonical_one():
    for noisy, field in (("st=POISON:1", "status"), ("cd=He-al:3", "cooldown")):
        text = TARGET.replace("cd=heal:3", noisy) if field == "cooldown" else TARGET.replace("st=- cd=heal", noisy + " cd=heal")
        with pytest.raises(RPGError) as err:
            parse_target(text)
        assert err.value.field == field and "canonical" in str(err.value)
    with pytest.raises(RPGError):
        parse_action("a:HEAL:a", aliases=False)
