"""Entity names: a training list, a disjoint held-out list, and a procedural space of
generated names (spec: "Data the generator must produce"). Held-out names never appear in
train or val, so the held_out_names eval measures whether a model copies names it has
never seen.

Why a procedural space: with ~190 training names a small model memorises each name (and
each pair) instead of copying it from the prompt, and rewrites a new name as a known one
(0% exact on held-out names). Drawing most training names from a space of millions of
generated names makes copying the only way to be right. The space is split in two by a
keyed hash (`is_eval_name`): training draws only from one side, the `unseen_names` eval
only from the other, so the two are disjoint by construction, not by luck.

No name is a keyword of the format (field labels, statuses, actions, aliases, results),
so a name can never be mistaken for one.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

TRAIN_NAMES: tuple[str, ...] = tuple("""
hero goblin knight wolf mage slime orc troll dragon wizard rogue archer paladin cleric
druid bard monk ranger warlock witch ghost zombie skeleton vampire wraith lich golem giant
ogre imp demon spider bat rat snake viper cobra bear boar lion tiger panther hawk eagle
raven crow owl shark kraken hydra wyvern griffin sphinx minotaur centaur harpy siren
gorgon basilisk chimera cyclops yeti kobold gnoll bandit thief pirate ninja samurai viking
squire baron duke queen king prince sage oracle hermit pilgrim scout hunter sorcerer
shaman fairy pixie sprite elf dwarf gnome halfling titan behemoth leviathan serpent wyrm
drake lizard crab scarab wasp ant mole hound mummy ghoul specter shade brute champion
mercenary soldier captain general emperor tyrant warlord assassin priest bishop abbot
acolyte apprentice adept cultist heretic prophet seer mystic beast fiend brigand raider
sheriff marshal wanderer nomad drifter exile whelp cub pup toad mimic gargoyle
treant dryad satyr faun unicorn pegasus manticore cockatrice ettin hag bogle wight
""".split())

HELD_OUT_NAMES: tuple[str, ...] = tuple("""
badger beetle cougar falcon ferret gecko heron hornet jaguar lynx marten moose newt otter
puma quokka salamander scorpion stoat vulture walrus weasel wombat alchemist berserker
corsair duelist enchanter gladiator harbinger inquisitor jester lancer marauder
necromancer outlaw pyromancer ronin sentinel templar usurper valkyrie warden zealot
banshee djinn kelpie nymph phoenix selkie wendigo
""".split())

# Words of the format itself: a name equal to one of these would make records ambiguous
# to read (the parser would still cope), so neither list may contain them.
RESERVED: frozenset[str] = frozenset("""
turn hp st cd act result ongoing draw win burn guard poison regen strike poison_strike
ignite heal rally wait psn poisoned brn burning rgn regeneration grd guarded poisonstrike
ign ignition hl cure block defend rly inspire hit attack pass skip
""".split())

UNSEEN_LENGTHS = (3, 8)  # letters in a generated unseen name
GENERATED_LENGTHS = (3, 12)  # letters in a generated training name (held-out names reach 11)
# crc32(name) % EVAL_NAME_BUCKETS == 0: the generated names only eval splits may use.
EVAL_NAME_BUCKETS = 8
_KNOWN = frozenset(TRAIN_NAMES) | frozenset(HELD_OUT_NAMES) | RESERVED

_VOWELS = "aeiou"
_CONSONANTS = "bcdfghjklmnprstvwxyz"


def is_eval_name(name: str) -> bool:
    """Whether a generated name belongs to the eval side of the procedural space (a keyed
    hash, the same in every process and Python version; `hash()` is salted per process)."""
    return zlib.crc32(name.encode()) % EVAL_NAME_BUCKETS == 0


def _letters(rng, length: int) -> str:
    return "".join(chr(97 + int(rng.random() * 26)) for _ in range(length))


def _syllables(rng, length: int) -> str:
    """Pronounceable: consonants and vowels alternating (with a chance of a doubled
    consonant), like the names of the lists, so the space covers word-like names too."""
    out = []
    vowel = rng.random() < 0.3
    while len(out) < length:
        pool = _VOWELS if vowel else _CONSONANTS
        out.append(pool[int(rng.random() * len(pool))])
        if not vowel and rng.random() < 0.15 and len(out) < length:
            out.append(_CONSONANTS[int(rng.random() * len(_CONSONANTS))])
        vowel = not vowel
    return "".join(out[:length])


def generated_name(rng, eval_side: bool = False, lengths: tuple[int, int] = GENERATED_LENGTHS) -> str:
    """One name of the procedural space: random letters or syllables, never a listed name
    or keyword, on the training side (or, with ``eval_side``, the eval side) of the split."""
    lo, hi = lengths
    while True:
        length = lo + int(rng.random() * (hi - lo + 1))
        name = _letters(rng, length) if rng.random() < 0.5 else _syllables(rng, length)
        if name not in _KNOWN and is_eval_name(name) == eval_side:
            return name


@dataclass(frozen=True)
class NamePool:
    """Training names: the listed `TRAIN_NAMES` with probability ``1 - generated_share``,
    else a fresh name from the training side of the procedural space."""

    generated_share: float = 0.7
    listed: tuple[str, ...] = TRAIN_NAMES

    def draw(self, rng) -> str:
        if rng.random() < self.generated_share:
            return generated_name(rng)
        return self.listed[int(rng.random() * len(self.listed))]

    def __contains__(self, name: str) -> bool:
        """Whether a name can come from this pool (tests and checks of split contents)."""
        if name in self.listed:
            return True
        return self.generated_share > 0 and name not in _KNOWN and not is_eval_name(name)


Names = tuple[str, ...] | NamePool  # what a source draws its two names from


def unseen_names(rng, count: int) -> tuple[str, ...]:
    """``count`` distinct random lowercase names of 3-8 letters in neither list (nor a
    keyword), from the eval side of the procedural space: the eval/unseen_names split's pool."""
    out: dict[str, None] = {}
    while len(out) < count:
        out[generated_name(rng, eval_side=True, lengths=UNSEEN_LENGTHS)] = None
    return tuple(out)
