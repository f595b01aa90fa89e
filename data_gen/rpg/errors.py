"""The one error the RPG world raises for bad input."""

from __future__ import annotations

from picojax.errors import UserError


class RPGError(UserError):
    """Text off the grammar or a state/action the rules forbid.

    ``field`` names the offending part of the record (``turn``, ``name``, ``hp``, ``max``,
    ``status``, ``cooldown``, ``actor``, ``action``, ``target``, ``result``, ``record``,
    ...), ``value`` is the text or number found there; the message names both on one line.
    """

    def __init__(self, field: str, value: object, problem: str):
        self.field = field
        self.value = value
        self.problem = problem
        shown = value if isinstance(value, str) else str(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"bad {field} {shown!r}: {problem}")
