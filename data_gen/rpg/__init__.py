"""The RPG world (spec: data_gen/rpg/FORMAT.md, v1): engine, text format, generator, splits.

Pure Python: no JAX. Public API (stable; evals and tools build on it):

Types (frozen dataclasses, compared field by field):
    State(turn, entities)                 entities: a tuple of two `Entity`, in record order
    Entity(name, hp, max_hp, statuses, cooldowns)
                                          statuses / cooldowns: tuples of (name, turns),
                                          sorted by name, turns >= 1, canonical names
    Action(actor, name, target)           str(action) == "actor:name:target"
    Record(state, action, next_state, result)
    RPGError(UserError)                   every bad input; ``.field`` names the offending
                                          field ("turn", "name", "hp", "max", "status",
                                          "cooldown", "actor", "action", "target", "result",
                                          "entity", "prompt", "target_block", "record", ...),
                                          ``.value`` the text found there

Text (one record = ``<state> | act=<a>:<b>:<c> => <state> | result=<r>``):
    parse_prompt(text) -> (State, Action)    aliases and noisy labels (any case, stray _/-) canonicalised;
                                             the closing " => " optional;
                                             rejects a finished fight and every "Bad input" case
    parse_target(text) -> (State, result)    strict: canonical names, exactly
    parse_record(line) -> Record             prompt half lenient (aliases), target half strict
    parse_state(text) -> State               a bare state block (canonical)
    parse_action(text) -> Action             "actor:action:target"
    split_record(line) -> (prompt, target)   the prompt ends with " => "
    format_state(state), format_prompt(state, action), format_target(state, result),
    format_record(state, action, next_state, result)

Engine:
    step(state, action) -> (State, result)   one turn in the spec's order (checks its input)
    is_fizzle(state, action) -> bool

Data:
    write_dataset(out, Options(...)) -> manifest   train/val/eval splits, fights, manifest
    check_file(path) -> CheckReport                every record (or fight) against the engine
"""

from data_gen.rpg.check import CheckReport, check_file
from data_gen.rpg.engine import is_fizzle, step
from data_gen.rpg.errors import RPGError
from data_gen.rpg.rules import SPEC_VERSION
from data_gen.rpg.splits import EVAL_SPLITS, Options, write_dataset
from data_gen.rpg.state import Action, Entity, Record, State
from data_gen.rpg.text import (
    format_prompt,
    format_record,
    format_state,
    format_target,
    parse_action,
    parse_prompt,
    parse_record,
    parse_state,
    parse_target,
    split_record,
)

__all__ = [
    "Action", "CheckReport", "EVAL_SPLITS", "Entity", "Options", "RPGError", "Record", "SPEC_VERSION", "State",
    "check_file", "format_prompt", "format_record", "format_state", "format_target", "is_fizzle", "parse_action",
    "parse_prompt", "parse_record", "parse_state", "parse_target", "split_record", "step", "write_dataset",
]
