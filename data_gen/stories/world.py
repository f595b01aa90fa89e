"""The story's world drawn from the vocabulary: who, what, where, and the weather.

Everything here comes from tags in `vocab.tsv`, so adding a toy or a place to the data file
adds it to the stories. A `Thing` remembers how it was first described, so later sentences
can call it "the kite" or "her red kite" and mean the same object.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from data_gen.stories.characters import Cast, Character
from data_gen.stories.vocab import Entry, Vocabulary


@dataclass
class Thing:
    entry: Entry
    color: str = ""
    size: str = ""
    look: str = ""
    owner: Character | None = None
    state: set = field(default_factory=set)  # wet, dirty, broken, lost...: facts later sentences use

    @property
    def noun(self) -> str:
        return self.entry.word

    @property
    def plural(self) -> str:
        return self.entry.form(0)

    def use(self) -> str:
        """The verb lemma one plays with it: fly (a kite), kick (a ball); 'play with' otherwise."""
        return self.entry.facts.get("use", "play")

    def described(self, rng, max_adjs: int = 2) -> str:
        """'red kite', 'big shiny red kite': size, look, color in English order, some left out."""
        adjs = [w for w in (self.size, self.look, self.color) if w and rng.random() < 0.6][:max_adjs]
        return " ".join(adjs + [self.noun])


@dataclass
class Setting:
    place: Entry
    weather: str  # sunny, rainy, windy, snowy, cloudy
    time: str  # morning, afternoon, evening...

    def where(self) -> str:
        """'in the park', 'at the beach', 'on the farm'."""
        return f"{self.place.facts.get('prep', 'in')} the {self.place.word}"


class World:
    """Random draws from the vocabulary for one story."""

    def __init__(self, vocab: Vocabulary, rng):
        self.v, self.rng = vocab, rng

    def words(self, *tags: str, pos: str | None = None) -> list[str]:
        return self.v.words(*tags, pos=pos)

    def pick(self, *tags: str, pos: str | None = None, avoid=()) -> str:
        options = self.words(*tags, pos=pos)
        if avoid:
            options = [w for w in options if w not in avoid]
        return self.rng.choice(options)

    def entry(self, *tags: str, pos: str | None = None, avoid=()) -> Entry:
        options = self.v.tagged(*tags, pos=pos)
        if avoid:
            options = [e for e in options if e.word not in avoid]
        return self.rng.choice(options)

    def thing(self, *tags: str, owner: Character | None = None, avoid=()) -> Thing:
        e = self.entry(*tags, pos="noun", avoid=avoid)
        r = self.rng
        color = r.choice(self.words("color")) if "colored" in e.tags and r.random() < 0.8 else ""
        size = r.choice(self.words("size")) if r.random() < 0.5 else ""
        looks = self.words("look")
        look = r.choice(looks) if looks and r.random() < 0.5 else ""
        return Thing(e, color=color, size=size, look=look, owner=owner)

    def child(self, cast: Cast, avoid_names=(), gender: str | None = None, animal: bool | None = None) -> Character:
        r = self.rng
        gender = gender or r.choice(("she", "he"))
        name = self.pick("girl" if gender == "she" else "boy", pos="name", avoid=avoid_names)
        if animal is None:
            animal = r.random() < 0.3
        kind = self.pick("animal", "hero", pos="noun") if animal else ("girl" if gender == "she" else "boy")
        traits = r.sample(self.words("trait"), 2)
        return cast.add(Character(name, kind, gender, traits))

    def family(self, cast: Cast, of: Character, kind: str | None = None) -> Character:
        e = self.v.get(kind, "noun") if kind else self.entry("family", pos="noun")
        title = e.facts.get("title", e.word)
        return cast.add(Character(title.capitalize(), e.word, e.facts["g"], [], named=True, family_of=of))

    def creature(self, cast: Cast, *tags: str) -> Character:
        """An unnamed animal helper: 'the owl'."""
        e = self.entry("animal", *tags, pos="noun")
        return cast.add(Character(f"the {e.word}", e.word, self.rng.choice(("she", "he")), [], named=False))

    def setting(self, outdoor: bool = True) -> Setting:
        r = self.rng
        place = self.entry("place", "outdoor" if outdoor else "indoor", pos="noun")
        weather = r.choice(("sunny", "sunny", "windy", "cloudy", "rainy", "snowy")) if outdoor else "sunny"
        return Setting(place, weather, r.choice(("morning", "afternoon", "day")))

