"""Constrained decoding: a deterministic automaton over token ids that an output must follow.

A task that knows the shape of its answers (the RPG record grammar, closed label sets,
names copied from the prompt) gives the sampler one automaton per prompt; at every step
the sampler masks the logits of the tokens the automaton does not allow from its current
state, then moves the automaton along the token it chose. A constraint can only remove
outputs that break the grammar: an output the grammar accepts decodes exactly as it would
without the constraint, so exact match with a constraint is an honest figure, reported
beside the free one.

The automaton is a table ``next_SxV``: the state after token v in state s, or -1 where v
is not allowed. State 0 is the start. `Builder` makes one from pieces (token literals,
numbers, choices) without a regex engine: every piece is built deterministic, so no
subset construction is needed and a per-prompt automaton (names differ per prompt) costs
a few hundred numpy writes.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

NOT_ALLOWED = -1
STATE_ROWS = 64  # automata in one batch are padded to a multiple of this many states


class Builder:
    """Builds a token automaton piece by piece. A piece starts from a set of states (the
    ends of the previous piece) and returns the states where it can end."""

    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size
        self.edges: list[dict[int, int]] = [{}]  # state 0: the start

    def state(self) -> int:
        self.edges.append({})
        return len(self.edges) - 1

    def edge(self, frm: int, token: int, to: int) -> None:
        known = self.edges[frm].get(token)
        if known is not None and known != to:
            raise ValueError(f"state {frm} already moves on token {token} to {known}, not {to}: not deterministic")
        self.edges[frm][token] = to

    def tokens(self, ends: Iterable[int], ids: Sequence[int]) -> list[int]:
        """A fixed run of tokens (a label, a name)."""
        ends = list(ends)
        for token in ids:
            nxt = self.state()
            for e in ends:
                self.edge(e, token, nxt)
            ends = [nxt]
        return ends

    def one_of(self, ends: Iterable[int], choices: Sequence[Sequence[int]]) -> list[int]:
        """One of several token runs (a trie, so runs may share a prefix)."""
        ends, out = list(ends), []
        for run in choices:
            here = ends
            for token in run:
                known = {self.edges[e].get(token) for e in here}
                if len(known) == 1 and None not in known:
                    here = [known.pop()]  # shared prefix: follow the trie
                    continue
                nxt = self.state()
                for e in here:
                    self.edge(e, token, nxt)
                here = [nxt]
            out.extend(here)
        return sorted(set(out))

    def number(self, ends: Iterable[int], digit_ids: Sequence[int], max_digits: int, allow_zero: bool = True) -> list[int]:
        """A decimal number without leading zeros (``0`` only if ``allow_zero``), 1 to
        ``max_digits`` digits; ``digit_ids[d]`` is the token of digit d."""
        ends = list(ends)
        out = []
        if allow_zero:
            zero = self.state()
            for e in ends:
                self.edge(e, digit_ids[0], zero)
            out.append(zero)
        here = self.state()
        for e in ends:
            for d in range(1, 10):
                self.edge(e, digit_ids[d], here)
        out.append(here)
        for _ in range(max_digits - 1):
            nxt = self.state()
            for d in range(10):
                self.edge(here, digit_ids[d], nxt)
            out.append(nxt)
            here = nxt
        return out

    def table(self) -> np.ndarray:
        """``next_SxV`` (int16): the state after each token, -1 where it is not allowed."""
        out = np.full((len(self.edges), self.vocab_size), NOT_ALLOWED, np.int16)
        for s, moves in enumerate(self.edges):
            for token, to in moves.items():
                out[s, token] = to
        return out


def accepts(next_SxV: np.ndarray, ids: Sequence[int]) -> bool:
    """Whether the automaton can follow ``ids`` from its start (a prefix is enough)."""
    state = 0
    for token in ids:
        if token >= next_SxV.shape[1] or next_SxV[state, token] < 0:
            return False
        state = int(next_SxV[state, token])
    return True


def stack_automata(automata: Sequence[np.ndarray | None], rows: int, vocab: int) -> np.ndarray:
    """One [rows, S, vocab] int16 table for a batch: row r follows ``automata[r]`` (padded
    with states and token columns that allow nothing); rows without one, and filler rows,
    allow every token (a table of zeros: every token, back to state 0). Without any
    automaton the table is [rows, 1, vocab], so free decoding compiles its own small program."""
    if all(a is None for a in automata):
        return np.zeros((rows, 1, vocab), np.int16)
    states = max(a.shape[0] for a in automata if a is not None)
    states = -(-states // STATE_ROWS) * STATE_ROWS
    out = np.zeros((rows, states, vocab), np.int16)
    for r, a in enumerate(automata):
        if a is None:
            continue
        if a.shape[1] > vocab:
            raise ValueError(f"an automaton over {a.shape[1]} tokens for a model of {vocab}")
        out[r] = NOT_ALLOWED
        out[r, :a.shape[0], :a.shape[1]] = a
    return out
