"""Entity names: a training list and a disjoint held-out list (spec: "Data the generator
must produce"). Held-out names never appear in train or val, so the held_out_names eval
measures whether a model copies names it has never seen.

No name is a keyword of the format (field labels, statuses, actions, aliases, results),
so a name can never be mistaken for one.
"""

from __future__ import annotations

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
_KNOWN = frozenset(TRAIN_NAMES) | frozenset(HELD_OUT_NAMES) | RESERVED


def unseen_names(rng, count: int) -> tuple[str, ...]:
    """``count`` distinct random lowercase names of 3-8 letters in neither list (nor a
    keyword): the eval/unseen_names split's pool."""
    lo, hi = UNSEEN_LENGTHS
    out: dict[str, None] = {}
    while len(out) < count:
        length = lo + int(rng.random() * (hi - lo + 1))
        name = "".join(chr(97 + int(rng.random() * 26)) for _ in range(length))
        if name not in _KNOWN:
            out[name] = None
    return tuple(out)
