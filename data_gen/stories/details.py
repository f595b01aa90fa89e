"""Incidental detail: what else is in the scene, drawn word by word from the vocabulary.

Real children's stories are full of small things that do not move the plot (three ducks on
the pond, red and yellow flowers, a picnic of bread and jam). These sentences are built
from the vocabulary's categories rather than from fixed phrases, which is most of why no
two generated stories read alike; they also mention the hero so the scene stays theirs.
"""

from __future__ import annotations

from data_gen.stories import grammar as g
from data_gen.stories.story import Story

COUNTS = ("two", "three", "four", "five", "some", "many", "a few", "lots of")
ANIMAL_DOING = {  # what each kind of animal may be seen doing (ing-forms are in the vocabulary)
    "bird": ["singing in a tree", "flying over the {place}", "hopping on the grass", "sitting on a branch",
             "building a nest", "looking for worms", "taking a bath in a puddle", "sleeping in a nest"],
    "bug": ["crawling on a leaf", "flying around the flowers", "resting on a rock", "climbing up a stick",
            "sitting on {a_color} flower", "walking in a line", "dancing in the sun"],
    "pet": ["sleeping in the sun", "chasing its tail", "playing with a ball", "running around", "rolling in the grass",
            "eating from a bowl", "watching a bird"],
    "farm": ["eating grass", "sleeping in the shade", "walking slowly", "looking at them", "drinking water",
             "lying in the mud", "standing by the fence"],
    "water": ["swimming in the water", "jumping in the pond", "resting on a rock", "splashing in the river",
              "sitting on a log"],
    "woods": ["eating a nut", "running up a tree", "hiding behind a bush", "looking for food", "sleeping under a log",
              "carrying {a_junk}"],
}
ACTIVITIES = [  # (past phrase) things a child does that need no consequence
    "picked some {color} flowers", "threw a little stone into the water", "made a crown of {plural_nature}",
    "sang a song about {plural_any}", "drew {a_animal} in the {ground}", "looked for {color} stones",
    "counted the {plural_animal}", "jumped over a {size} {spot}", "rolled down the {hill}", "found {a_junk} on the ground",
    "watched the clouds and saw one that looked like {a_animal}", "made a little house for {a_bug}",
    "put {a_color} leaf in {P} pocket", "ran after {a_bug}", "waved at {a_animal}", "hummed a little song",
    "skipped along the path", "gave {a_food} to {a_animal}", "played a game of tag with {a_animal}",
    "made a necklace of {color} flowers", "clapped {P} hands", "looked at {plural_animal} in the grass",
    "picked up {a_junk} and put it in {P} pocket", "drew a picture of {plural_any}", "splashed in a puddle",
    "told {a_animal} a story about {plural_any}", "ate {a_food}", "hid behind a {size} tree", "made a wish on {a_color} feather",
]
SOUNDS = ["{S} could hear {plural_animal} {sounding}", "The air smelled of {smell}", "Somewhere, {a_animal} was {sounding}",
          "A soft wind {wind}", "The {sky_thing} {sky_doing}"]
PASSERS = ["An old {person} was walking a {pet} {where}", "A {person} was selling {plural_food} {where}",
           "A {person} waved at {O} from a window", "Two {persons} were reading under a tree",
           "A {person} with {a_color} hat said hello"]
FOOD_WAYS = ["For lunch, they had {foods}", "They ate {foods} under a tree", "{N} had {foods} for a snack",
             "Mom had packed {foods}", "They shared {foods} on a blanket"]


def _fill(s: Story, template: str) -> str:
    w, r = s.w, s.rng

    def plural_of(*tags: str) -> str:
        return w.entry(*tags, pos="noun").form(0)

    slots = {
        "color": lambda: w.pick("color"),
        "a_color": lambda: g.a(w.pick("color")),
        "a_bug": lambda: g.a(w.pick("animal", "bug", pos="noun")),
        "size": lambda: r.choice(("little", "big", "small", "tall")),
        "plural_nature": lambda: r.choice(("leaves", "flowers", "sticks", "feathers")),
        "plural_any": lambda: plural_of(r.choice(("animal", "food", "toy", "plant"))),
        "plural_animal": lambda: plural_of("animal", r.choice(("bird", "bug", "farm", "water"))),
        "a_animal": lambda: g.a(w.pick("animal", pos="noun")),
        "a_junk": lambda: g.a(f"{w.pick('color')} {w.pick('junk', pos='noun')}" if r.random() < 0.5 else w.pick("junk", pos="noun")),
        "bug": lambda: w.pick("animal", "bug", pos="noun"),
        "spot": lambda: r.choice(("log", "rock", "puddle", "stick", "fence")),
        "ground": lambda: r.choice(("sand", "dirt", "snow", "mud")),
        "hill": lambda: r.choice(("hill", "grass", "path")),
        "place": lambda: s.setting.place.word if s.setting else "park",
        "junk": lambda: w.pick("junk", pos="noun"),
        "a_food": lambda: g.a(w.entry("food", r.choice(("fruit", "sweet")), pos="noun").word),
        "plural_food": lambda: plural_of("food", r.choice(("fruit", "sweet"))),
        "sounding": lambda: r.choice(("singing", "buzzing", "calling", "talking", "playing")),
        "smell": lambda: r.choice(("flowers", "rain", "fresh bread", "grass", "the sea", "pie", "apples")),
        "wind": lambda: r.choice(("moved the leaves", "played with the grass", "blew through the trees", "felt nice and cool")),
        "sky_thing": lambda: r.choice(("clouds", "sun", "sky")),
        "sky_doing": lambda: r.choice(("was bright above them", "looked like a big blue blanket", "moved slowly by",
                                       "peeked out from the clouds")),
        "person": lambda: w.pick("neighbor", pos="noun"),
        "persons": lambda: plural_of("neighbor"),
        "pet": lambda: w.pick("animal", "pet", pos="noun"),
        "where": lambda: r.choice(("by the road", "near the gate", "on the path", "past the trees", "along the street")),
    }
    out = template
    for name, make in slots.items():
        while "{" + name + "}" in out:
            out = out.replace("{" + name + "}", make(), 1)
    return out


def animal_cameo(s: Story) -> None:
    """'Three little ducks were swimming in the water.'"""
    group = s.rng.choice(sorted(ANIMAL_DOING))
    e = s.w.entry("animal", group, pos="noun")
    doing = _fill(s, s.rng.choice(ANIMAL_DOING[group]))
    adj = s.maybe(0.6, s.pick(*s.w.words("color"), "little", "big", "tiny", "happy", "busy", "sleepy", "fat"))
    if s.chance(0.5):
        s.add(s.pick("There was", "They saw", "Nearby, there was"), g.a(f"{adj} {e.word}".strip()), doing)
    else:
        count = s.pick(*COUNTS)
        s.add(count.capitalize() if count != "a few" else "A few", f"{adj} {e.form(0)}".strip(), "were", doing)


def scenery(s: Story) -> None:
    """'There were red and yellow flowers, tall trees and a little pond.'"""
    things = []
    for _ in range(s.rng.randint(2, 3)):
        kind = s.rng.randrange(3)
        if kind == 0:
            things.append(f"{g.join_list(s.rng.sample(s.w.words('color'), 2))} flowers")
        elif kind == 1:
            things.append(f"{s.pick('tall', 'old', 'big', 'green')} trees")
        else:
            things.append(g.a(f"{s.pick('little', 'small', 'big', 'quiet')} {s.pick('pond', 'hill', 'bridge', 'path', 'bench', 'swing')}"))
    s.add(s.pick("There were", "All around were", "They could see"), g.join_list(list(dict.fromkeys(things))))


def pastime(s: Story, c) -> None:
    """The hero does something small on the way: 'Lily counted the ducks and made a crown of leaves.'"""
    picks = s.rng.sample(ACTIVITIES, 2 if s.chance(0.4) else 1)
    s.add(s.who(c), g.join_list([s.fill(_fill(s, p), c) for p in picks]))


def picnic(s: Story, c) -> None:
    foods = []
    for _ in range(s.rng.randint(2, 3)):
        e = s.w.entry("food", pos="noun")
        foods.append(e.word if e.form(0) == e.word else s.pick(g.a(e.word), e.form(0), "some " + e.form(0)))
    s.add(s.fill(s.rng.choice(FOOD_WAYS), c).replace("{foods}", g.join_list(list(dict.fromkeys(foods)))))


def sound(s: Story, c) -> None:
    s.add(s.fill(_fill(s, s.rng.choice(SOUNDS)), c))


def passer_by(s: Story, c) -> None:
    s.add(s.fill(_fill(s, s.rng.choice(PASSERS)), c))


DETAILS = (animal_cameo, scenery, pastime, picnic, sound, passer_by, animal_cameo, pastime)


def some_detail(s: Story, c, p: float = 0.6, most: int = 2) -> None:
    """Adds (with chance p, then again with chance p/2...) up to ``most`` incidental details."""
    kinds = list(DETAILS)
    for _ in range(most):
        if not s.chance(p):
            return
        detail = kinds.pop(s.rng.randrange(len(kinds)))
        while detail in kinds:  # one of each kind per call
            kinds.remove(detail)
        detail(s) if detail in (animal_cameo, scenery) else detail(s, c)
        p /= 2
