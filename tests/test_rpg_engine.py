"""The RPG engine against the spec: its worked examples (golden) and each rule in isolation."""

import pytest

from data_gen.rpg import Action, Entity, RPGError, State, format_prompt, format_target, is_fizzle, parse_prompt, split_record, step

# Verbatim from data_gen/rpg/FORMAT.md: the example under "One record", then the three
# worked examples under "Resolving one turn".
SPEC_EXAMPLES = [
    "turn=12 | hero hp=41/60 st=poison:2,regen:1 cd=heal:2 | goblin hp=18/45 st=guard:1 cd=- | act=hero:ignite:goblin => turn=13 | hero hp=41/60 st=poison:1 cd=heal:1,ignite:2 | goblin hp=13/45 st=burn:1 cd=- | result=ongoing",
    "turn=12 | hero hp=41/60 st=poison:2,regen:1 cd=heal:2,ignite:1 | goblin hp=18/45 st=burn:1 cd=- | act=hero:ignite:goblin => turn=13 | hero hp=41/60 st=poison:1 cd=heal:1 | goblin hp=14/45 st=- cd=- | result=ongoing",
    "turn=3 | knight hp=7/50 st=- cd=- | wolf hp=30/30 st=poison:1 cd=guard:2 | act=knight:heal:knight => turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=- cd=guard:1 | result=ongoing",
    "turn=30 | mage hp=4/40 st=burn:2 cd=rally:3 | slime hp=5/22 st=- cd=- | act=mage:strike:slime => turn=31 | mage hp=0/40 st=burn:1 cd=rally:2 | slime hp=0/22 st=- cd=- | result=draw",
]


@pytest.mark.parametrize("line", SPEC_EXAMPLES)
def test_spec_worked_examples(line):
    prompt, target = split_record(line)
    state, action = parse_prompt(prompt)
    assert format_prompt(state, action) == prompt
    assert format_target(*step(state, action)) == target


def test_first_worked_example_fizzles():
    state, action = parse_prompt(split_record(SPEC_EXAMPLES[1])[0])
    assert is_fizzle(state, action)
    assert not is_fizzle(*parse_prompt(split_record(SPEC_EXAMPLES[0])[0]))


def _state(a, b, turn=5):
    return State(turn, (a, b))


def _after(a, b, actor, action, target):
    nxt, result = step(_state(a, b), Action(actor, action, target))
    return nxt.entities[0], nxt.entities[1], result


@pytest.mark.parametrize("action,damage,halved", [("strike", 6, 3), ("ignite", 3, 1), ("poison_strike", 2, 1)])
def test_guard_halves_damage_rounding_down(action, damage, halved):
    plain = Entity("b", 50, 50)
    guarded = Entity("b", 50, 50, (("guard", 2),))
    a = Entity("a", 50, 50)
    _, b_plain, _ = _after(a, plain, "a", action, "b")
    _, b_guarded, _ = _after(a, guarded, "a", action, "b")
    tick = {"strike": 0, "ignite": -4, "poison_strike": -3}[action]  # the status it adds ticks at once
    assert b_plain.hp == 50 - damage + tick
    assert b_guarded.hp == 50 - halved + tick


def test_statuses_refresh_never_stack():
    a = Entity("a", 50, 50)
    _, b, _ = _after(a, Entity("b", 50, 50, (("poison", 1),)), "a", "poison_strike", "b")
    assert b.statuses == (("poison", 2),)  # max(1, 3) then -1
    _, b, _ = _after(a, Entity("b", 50, 50, (("poison", 7),)), "a", "poison_strike", "b")
    assert b.statuses == (("poison", 6),)  # a longer poison is kept, not replaced or added to


def test_heal_caps_at_max_and_sets_cooldown():
    a, _, _ = _after(Entity("a", 45, 50), Entity("b", 9, 9), "a", "heal", "a")
    assert (a.hp, a.cooldowns) == (50, (("heal", 3),))


def test_self_actions_grant_their_status():
    a, _, _ = _after(Entity("a", 45, 50), Entity("b", 9, 9), "a", "guard", "a")
    assert (a.hp, a.statuses, a.cooldowns) == (45, (("guard", 1),), (("guard", 2),))
    a, _, _ = _after(Entity("a", 40, 50), Entity("b", 9, 9), "a", "rally", "a")
    assert (a.hp, a.statuses, a.cooldowns) == (43, (("regen", 2),), (("rally", 4),))


def test_ticks_sum_once_and_clamp():
    a = Entity("a", 49, 50, (("burn", 1), ("poison", 1), ("regen", 1)))  # -4 -3 +3
    a2, _, _ = _after(a, Entity("b", 9, 9), "a", "wait", "a")
    assert (a2.hp, a2.statuses) == (45, ())
    top, _, _ = _after(Entity("a", 49, 50, (("regen", 2),)), Entity("b", 9, 9), "a", "wait", "a")
    assert top.hp == 50
    low, _, result = _after(Entity("a", 2, 50, (("burn", 1),)), Entity("b", 9, 9), "a", "wait", "a")
    assert (low.hp, result) == (0, "win:b")


def test_downed_entity_takes_no_tick_but_its_statuses_and_cooldowns_run_down():
    a = Entity("a", 30, 30)
    b = Entity("b", 5, 20, (("poison", 2), ("regen", 3)), (("heal", 2),))
    _, b2, result = _after(a, b, "a", "strike", "b")
    assert (b2.hp, b2.statuses, b2.cooldowns, result) == (0, (("poison", 1), ("regen", 2)), (("heal", 1),), "win:a")


def test_downed_target_still_gains_the_status():
    _, b, result = _after(Entity("a", 30, 30), Entity("b", 2, 20), "a", "poison_strike", "b")
    assert (b.hp, b.statuses, result) == (0, (("poison", 2),), "win:a")


def test_fizzle_keeps_cooldown_running_and_has_no_effect():
    a = Entity("a", 30, 30, (), (("ignite", 2), ("rally", 1)))
    a2, b2, _ = _after(a, Entity("b", 20, 20), "a", "ignite", "b")
    assert (a2.cooldowns, b2.hp, b2.statuses) == ((("ignite", 1),), 20, ())


def test_turn_advances_and_order_is_kept():
    nxt, _ = step(_state(Entity("zed", 9, 9), Entity("abe", 9, 9), turn=41), Action("abe", "wait", "abe"))
    assert nxt.turn == 42 and [e.name for e in nxt.entities] == ["zed", "abe"]


@pytest.mark.parametrize(
    "state,action,field",
    [
        (_state(Entity("a", 0, 9), Entity("b", 9, 9)), Action("b", "wait", "b"), "hp"),
        (_state(Entity("a", 10, 9), Entity("b", 9, 9)), Action("b", "wait", "b"), "hp"),
        (_state(Entity("a", 9, 9), Entity("a", 9, 9)), Action("a", "wait", "a"), "name"),
        (_state(Entity("a", 9, 9), Entity("b", 9, 9)), Action("c", "wait", "c"), "actor"),
        (_state(Entity("a", 9, 9), Entity("b", 9, 9)), Action("a", "fly", "a"), "action"),
        (_state(Entity("a", 9, 9), Entity("b", 9, 9)), Action("a", "strike", "a"), "target"),
        (_state(Entity("a", 9, 9), Entity("b", 9, 9)), Action("a", "heal", "b"), "target"),
        (_state(Entity("a", 9, 9), Entity("b", 9, 9)), Action("a", "strike", "c"), "target"),
    ],
)
def test_step_rejects_hand_built_bad_input(state, action, field):
    with pytest.raises(RPGError) as err:
        step(state, action)
    assert err.value.field == field
