"""The RPG target grammar as a token automaton (constrained decoding, `picojax.constrain`).

What an answer to a prompt must look like, and nothing about the game's arithmetic:

    turn=<n> | <name1> hp=<n>/<n> st=<statuses> cd=<cooldowns> | <name2> hp=... | result=<r> EOS

- the two names are the prompt's two names, copied in their order;
- numbers are digits without leading zeros (turn and hp up to 4 digits, turns left on a
  status or cooldown 1-2 digits, never 0);
- statuses: ``-`` or ``status:n`` items from the closed set, sorted by name, each at most
  once; cooldowns the same over the actions that have a cooldown;
- result: ``ongoing``, ``draw`` or ``win:`` and one of the two names.

Every record the engine can write is accepted (the tests check the generated splits), so
the constraint never turns a right answer wrong; it only removes outputs that could not
be right (a label outside the closed set, a name that is not in the prompt, a broken
boundary). Labels come from `data_gen.rpg`, the one definition of the format.
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np

from data_gen.rpg.rules import COOLDOWN_ACTIONS, RESULT_DRAW, RESULT_ONGOING, STATUSES, WIN_PREFIX
from data_gen.rpg.text import FIELD_LABELS, SEP
from picojax.constrain import Builder
from picojax.errors import UserError
from picojax.tokenizer import EOS_ID

TURN_DIGITS = 4  # out-of-range evals reach turn 999 and max hp 999
HP_DIGITS = 4
COUNTER_DIGITS = 2  # turns left on a status or a cooldown

# The two names of a prompt, in order: "turn=<n> | <name> hp=... | <name> hp=...".
_NAMES = re.compile(r"^turn=\d+ \| ([a-z]+) hp=.*? \| ([a-z]+) hp=")


class GrammarError(UserError):
    """The tokenizer cannot spell the grammar (its labels are not single pieces)."""


def prompt_names(prompt: str) -> tuple[str, str] | None:
    m = _NAMES.match(prompt)
    return (m.group(1), m.group(2)) if m else None


class RPGGrammar:
    """Builds the automaton of one prompt's answer for a tokenizer's ids."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        pid = self._id
        turn, hp, st, cd, _, result = FIELD_LABELS
        self.turn, self.hp, self.st, self.cd, self.result = (pid(x) for x in (turn, hp, st, cd, result))
        self.sep = pid(SEP)
        self.digits = [pid(str(d)) for d in range(10)]
        self.slash, self.colon, self.comma, self.dash = (pid(c) for c in "/:,-")
        self.statuses = [pid(s) for s in STATUSES]  # sorted, as the format lists them
        self.cooldowns = [pid(a) for a in COOLDOWN_ACTIONS]
        self.ongoing, self.draw, self.win = pid(RESULT_ONGOING), pid(RESULT_DRAW), pid(WIN_PREFIX)

    def _id(self, text: str) -> int:
        ids = self.tokenizer.encode(text)
        if len(ids) != 1:
            raise GrammarError(f"constrained decoding needs the RPG labels as single pieces, but this tokenizer "
                               f"spells {text!r} in {len(ids)} pieces (train it with `picojax tokenizer --profile rpg`)")
        return ids[0]

    def _sorted_items(self, b: Builder, ends: list[int], items: list[int]) -> list[int]:
        """``-``, or ``item:n`` pairs joined by ``,`` with items in their sorted order, each once."""
        out = b.tokens(ends, [self.dash])
        after = [b.state() for _ in items]  # after item i: ":" next
        for e in ends:
            for i, token in enumerate(items):
                b.edge(e, token, after[i])
        for i in range(len(items)):
            exits = b.number(b.tokens([after[i]], [self.colon]), self.digits, COUNTER_DIGITS, allow_zero=False)
            out += exits
            if i + 1 < len(items):
                comma = b.state()
                for x in exits:
                    b.edge(x, self.comma, comma)
                for j in range(i + 1, len(items)):
                    b.edge(comma, items[j], after[j])
        return out

    def _entity(self, b: Builder, ends: list[int], name_ids: list[int]) -> list[int]:
        ends = b.tokens(ends, name_ids)
        ends = b.number(b.tokens(ends, [self.hp]), self.digits, HP_DIGITS)
        ends = b.number(b.tokens(ends, [self.slash]), self.digits, HP_DIGITS)
        ends = self._sorted_items(b, b.tokens(ends, [self.st]), self.statuses)
        return self._sorted_items(b, b.tokens(ends, [self.cd]), self.cooldowns)

    def automaton(self, names: tuple[str, str]) -> np.ndarray:
        a, b_ = (self.tokenizer.encode(n) for n in names)
        b = Builder(self.tokenizer.vocab_size)
        ends = b.number(b.tokens([0], [self.turn]), self.digits, TURN_DIGITS)
        ends = self._entity(b, b.tokens(ends, [self.sep]), a)
        ends = self._entity(b, b.tokens(ends, [self.sep]), b_)
        ends = b.tokens(ends, [self.sep, self.result])
        ends = b.one_of(ends, [[self.ongoing], [self.draw], [self.win, *a], [self.win, *b_]])
        final = b.tokens(ends, [EOS_ID])
        b.edge(final[0], EOS_ID, final[0])  # a finished row may only repeat EOS
        return b.table()

    def for_prompt(self, prompt: str) -> np.ndarray | None:
        """The automaton of this prompt's answer; None (decode freely) when the prompt's two
        names cannot be read from it."""
        names = prompt_names(prompt)
        return None if names is None else self.automaton(names)


def make_constraint(tokenizer) -> Callable[[str], np.ndarray | None]:
    return RPGGrammar(tokenizer).for_prompt


# ----------------------------------------------------------------------------------------
# The same grammar as GBNF text, for llama.cpp (`picojax export --grammar`): the same
# labels, sorted item lists and digit limits as the automaton above.


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _gbnf_digits(max_digits: int, allow_zero: bool) -> str:
    tail = " ".join("[0-9]?" for _ in range(max_digits - 1))
    nonzero = f"[1-9] {tail}".strip()
    return f'("0" | {nonzero})' if allow_zero else f"({nonzero})"


def _gbnf_sorted(rule: str, items: tuple[str, ...]) -> list[str]:
    """``rule ::= "-" | item-i ...``: items in their order, each at most once."""
    lines = [f'{rule} ::= "-" | ' + " | ".join(f"{rule}-{i}" for i in range(len(items)))]
    for i, item in enumerate(items):
        rest = " | ".join(f"{rule}-{j}" for j in range(i + 1, len(items)))
        more = f' ("," ({rest}))?' if rest else ""
        lines.append(f"{rule}-{i} ::= {_gbnf_literal(item + ':')} counter{more}")
    return lines


def gbnf(names: tuple[str, str] | None = None) -> str:
    """The target grammar in llama.cpp's GBNF. With ``names`` (a prompt's two names) the
    names are those, in order; without, any lowercase name (llama.cpp cannot copy from
    the prompt: a program builds the per-prompt grammar, as `picojax.load` does)."""
    turn, hp, st, cd, _, result = FIELD_LABELS
    first, second = (_gbnf_literal(n) for n in names) if names else ("name", "name")
    lines = [
        f"root ::= {_gbnf_literal(turn)} turn {_gbnf_literal(SEP)} entity1 {_gbnf_literal(SEP)} entity2 "
        f"{_gbnf_literal(SEP + result)} result",
        f"entity1 ::= {first} body",
        f"entity2 ::= {second} body",
        f"body ::= {_gbnf_literal(hp)} number \"/\" number {_gbnf_literal(st)} statuses {_gbnf_literal(cd)} cooldowns",
        f"result ::= {_gbnf_literal(RESULT_ONGOING)} | {_gbnf_literal(RESULT_DRAW)} | {_gbnf_literal(WIN_PREFIX)} ({first} | {second})",
        f"turn ::= {_gbnf_digits(TURN_DIGITS, True)}",
        f"number ::= {_gbnf_digits(HP_DIGITS, True)}",
        f"counter ::= {_gbnf_digits(COUNTER_DIGITS, False)}",
        *_gbnf_sorted("statuses", STATUSES),
        *_gbnf_sorted("cooldowns", COOLDOWN_ACTIONS),
    ]
    if not names:
        lines.append("name ::= [a-z]+")
    return "\n".join(lines) + "\n"
