"""The game's fixed tables (spec: data_gen/rpg/FORMAT.md, "Actions" and "Resolving").

Everything numeric about the game lives here, so the engine, the generator and the
tests read one source of truth.
"""

from __future__ import annotations

SPEC_VERSION = "v1"

# Statuses, in sort order (the text format lists them sorted by name).
STATUSES = ("burn", "guard", "poison", "regen")

# hp change per tick while a status is present (summed, applied once; guard does nothing).
TICK_DELTA = {"burn": -4, "guard": 0, "poison": -3, "regen": 3}

# action -> (cooldown, targets_other, damage, status gained, turns gained)
# "targets_other": the target must be the other entity; otherwise it is the actor itself.
# The status goes to the target for attacks and to the actor for self actions.
ACTIONS: dict[str, tuple[int, bool, int, str | None, int]] = {
    "guard": (3, False, 0, "guard", 2),
    "heal": (4, False, 0, None, 0),
    "ignite": (3, True, 3, "burn", 2),
    "poison_strike": (3, True, 2, "poison", 3),
    "rally": (5, False, 0, "regen", 3),
    "strike": (0, True, 6, None, 0),
    "wait": (0, False, 0, None, 0),
}
ACTION_NAMES = tuple(sorted(ACTIONS))
COOLDOWN = {name: spec[0] for name, spec in ACTIONS.items()}
TARGETS_OTHER = {name: spec[1] for name, spec in ACTIONS.items()}
# Actions that put themselves on cooldown: the only ones an engine-made state lists in cd=.
COOLDOWN_ACTIONS = tuple(name for name in ACTION_NAMES if COOLDOWN[name] > 0)

HEAL_AMOUNT = 12

RESULT_ONGOING = "ongoing"
RESULT_DRAW = "draw"
WIN_PREFIX = "win:"
