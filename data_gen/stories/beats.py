"""Beats every plot shares: meeting the hero, the place and weather, feelings, endings.

Each beat has several shapes and reads the story state, so the same beat reads differently
from story to story and agrees with what happened before it.
"""

from __future__ import annotations

from data_gen.stories import grammar as g
from data_gen.stories.characters import Character
from data_gen.stories.story import TRAIT_HABITS, Story
from data_gen.stories.world import Thing

WEATHER_LINES = {
    "sunny": ["the sun was shining", "the sky was clear and blue", "the flowers opened in the sun", "it was warm and bright", "the sun was warm and bright", "the sky was blue", "it was a warm day",
              "the birds were singing in the trees"],
    "windy": ["the wind was blowing", "the trees were moving in the wind", "the wind made the grass dance", "the wind was strong", "the leaves were dancing in the wind", "it was a windy day"],
    "cloudy": ["the sky was gray", "the clouds were big and white", "the air was cool", "there were big clouds in the sky", "it was a cool day", "the sun was hiding"],
    "rainy": ["it was raining", "rain drops fell on the leaves", "the puddles were getting bigger", "the rain was falling", "there were big puddles everywhere", "the ground was wet"],
    "snowy": ["it was snowing", "everything was white and soft", "the trees were covered in snow", "the ground was white with snow", "it was a cold day", "snow was falling softly"],
}
WEATHER_EFFECTS = {  # a fact the weather makes true, that later sentences can use
    "rainy": ("wet", "It was wet and muddy outside"),
    "snowy": ("cold", "It was very cold outside"),
    "sunny": ("hot", "It was very hot outside"),
    "windy": ("windy", "The wind blew and blew"),
    "cloudy": ("gray", "It looked like it might rain"),
}


def introduce(s: Story, hero: Character, habit: float = 0.75) -> None:
    """The hero's first sentence, then what kind of character they are."""
    w, r = s.w, s.rng
    young = s.maybe(0.6, s.pick("little", "young", "small"))
    trait = hero.traits[0]
    kind = hero.kind
    named = s.pick("named", "called", "named")
    shape = r.randrange(11)
    if shape == 6:
        s.add("This is a story about", g.a(f"{trait} {kind}"), named, s.name(hero))
    elif shape == 7:
        s.add(s.name(hero), "the", kind, "lived", s.pick("near", "by", "close to"), "a", w.pick("landmark", pos="noun"),
              s.pick("with " + s.pron(hero, "poss") + " family", "in " + g.a(w.pick("home", pos="noun")), ""))
    elif shape == 8:
        s.add(s.pick("In", "Not far from"), g.a(f"{s.pick('little', 'sleepy', 'busy', 'sunny')} {w.pick('home', pos='noun')}"),
              s.pick("by", "near"), "the", w.pick("landmark", pos="noun") + ",", "there was", g.a(kind), named, s.name(hero))
    elif shape == 9:
        s.add("Once there was", g.a(f"{young} {kind}".strip()), named, s.name(hero), "who", s.pick("loved", "liked"),
              w.v.get(w.pick("animal", pos="noun"), "noun").form(0), "and", w.v.get(w.pick("food", "fruit", pos="noun"), "noun").form(0))
    elif shape == 10:
        s.add(s.pick("There once lived", "Long ago there lived"), g.a(f"{trait} {kind}"), named, s.name(hero))
    elif shape == 0:
        s.add("Once upon a time, there was", g.a(f"{young} {trait} {kind}".strip()), named, s.name(hero))
    elif shape == 1:
        home = w.pick("home", pos="noun")
        near = s.maybe(0.5, f"near {g.a(w.pick('landmark', pos='noun'))}")
        s.add(f"Once upon a time, in {g.a(s.pick('small', 'big', 'little', 'quiet', 'pretty'))} {home} {near},",
              "there lived", g.a(f"{trait} {kind}"), named, s.name(hero))
    elif shape == 2:
        s.add("There was once", g.a(f"{young} {kind}".strip()), named, s.name(hero), f"who was very {trait}")
    elif shape == 3:
        s.add(s.name(hero), "was", g.a(f"{trait} {young} {kind}".strip()))
    elif shape == 4:
        age = s.pick("three", "four", "five", "six")
        s.add(s.name(hero), "was", g.a(f"{trait} {kind}"), s.maybe(0.7, f"who was {age} years old"))
    else:
        home = g.a(s.pick("big", "small", "little", "green", "old") + " " + w.pick("home", pos="noun"))
        s.add(s.pick("Once upon a time,", "Long ago,"), g.a(f"{young} {kind}".strip()), named,
              s.name(hero), s.pick("lived in", "lived happily in"), home)
    habits = TRAIT_HABITS.get(trait, [])
    if habits and s.chance(habit):
        s.add(s.fill(r.choice(habits), hero))
    if s.chance(0.45) and shape != 9:  # shape 9 already said what the hero likes
        likes(s, hero)


def likes(s: Story, c: Character) -> None:
    """'She liked ducks, apples and the color red.' Three things drawn from the whole vocabulary."""
    w, r = s.w, s.rng
    pools = (("animal",), ("food", "fruit"), ("food", "sweet"), ("toy",), ("plant",), ("animal", "bird"))
    things = [w.v.get(w.pick(*tags, pos="noun"), "noun").form(0) for tags in r.sample(pools, 2)]
    things.append(s.pick("the color " + w.pick("color"), w.v.get(w.pick("animal", pos="noun"), "noun").form(0), "songs about the " + s.pick("sea", "moon", "stars", "rain")))
    s.add(s.who(c), s.pick("liked", "loved", "really liked"), g.join_list(list(dict.fromkeys(things))))


def loves(s: Story, hero: Character, thing: Thing, origin: bool = True) -> None:
    """What the hero treasures, and maybe where it came from (the plot may need it later)."""
    r = s.rng
    shape = r.randrange(4)
    described = thing.described(r)
    if shape == 0:
        s.add(s.who(hero), s.pick("had", "owned"), g.a(described), "that", s.pron(hero), s.pick("loved", "liked a lot", "loved very much"))
    elif shape == 1:
        s.add(s.who(hero, "poss"), "favorite toy was", g.a(described) if thing.entry.pos == "noun" else described)
    elif shape == 2:
        s.add(s.who(hero), "loved", s.pron(hero, "poss"), described, "more than anything")
    else:
        s.add(s.who(hero), s.pick("liked to", "loved to"), s.use(thing), s.pron(hero, "poss"), described, s.pick("every day", "all the time", "in the yard", "after lunch"))
    if origin and s.chance(0.6):
        giver = s.state.get("giver") or s.w.family(s.cast, hero)
        s.state["giver"] = giver
        s.add(s.name(giver), s.pick("gave it to", "made it for", "bought it for"), s.pron(hero, "obj"),
              s.one(lambda: f"for {s.pron(hero, 'poss')} birthday", lambda: "a long time ago", lambda: "last summer",
                    lambda: f"when {s.pron(hero)} was very little"))
        thing.state.add("gift")


def scene(s: Story, place_phrase: str | None = None) -> None:
    """Weather (and its effect, kept in state) where the action is."""
    st = s.setting
    line = s.rng.choice(WEATHER_LINES[st.weather])
    where = place_phrase or st.where()
    shape = s.rng.randrange(3)
    if shape == 0:
        s.add(line, s.maybe(0.5, where))
    elif shape == 1:
        other = s.rng.choice([x for x in WEATHER_LINES[st.weather] if x != line])
        s.add(line, "and", other)
    else:
        s.add(s.pick("It was", "It was such"), g.a(s.pick("nice", "lovely", "good", "fine")) if st.weather == "sunny" else
              g.a(st.weather), st.time, where)
    fact, _ = WEATHER_EFFECTS[st.weather]
    s.state["weather_fact"] = fact


def feel(s: Story, c: Character, good: bool, because: str = "") -> None:
    """A feeling, with its cause when there is one."""
    mood = s.w.pick("mood", "good" if good else "bad", pos="adj")
    very = s.pick("very ", "so ", "", "really ")
    shape = s.rng.randrange(5)
    if shape >= 3:
        body = (("smiled from ear to ear", "clapped {P} hands", "did a little dance", "jumped for joy", "laughed out loud")
                if good else ("looked down at {P} feet", "had tears in {P} eyes", "sat down and sighed", "felt a lump in {P} throat"))
        s.add(s.who(c), s.fill(s.pick(*body), c), s.pick("", "because " + because if because else "", "and felt " + very + mood))
    elif because and shape < 2:
        s.add(s.who(c), "was", very + mood, "because", because)
    elif shape == 0 or not because:
        s.add(s.who(c), s.pick("felt", "was"), very + mood)
    else:
        s.add(because, "so", s.who(c), "felt", very + mood)
    s.state.setdefault("moods", {})[c] = mood


def hug(s: Story, a: Character, b: Character) -> str:
    return s.one(lambda: f"{s.who(a)} gave {s.name(b, 'obj')} a big hug",
                 lambda: f"{s.who(a)} hugged {s.name(b, 'obj')}",
                 lambda: f"{s.who(a)} and {s.name(b)} hugged")


def lesson(s: Story, c: Character, learned: str) -> None:
    """The moral, as the hero learned it."""
    shape = s.rng.randrange(7)
    if shape == 3:
        s.add(s.pick("Now", "From then on,", "After that,"), s.who(c), s.pick("knew", "understood", "always remembered"), "that", learned)
    elif shape == 4:
        s.add(s.who(c), s.pick("never forgot that day.", "smiled.", "thought about it.",
                                "thought about what happened."), s.pick("It taught " + s.pron(c, "obj"), "It showed " + s.pron(c, "obj")), "that", learned)
    elif shape == 5:
        s.add(s.pick("And so", "So"), s.who(c), "found out that", learned)
    elif shape == 6:
        s.add(s.pick("What a day!", "What a lesson!", "It was a good lesson."), s.cap_ref(c), "saw that", learned)
    elif shape == 0:
        s.add(s.who(c), "learned that", learned)
    elif shape == 1:
        s.add("That day,", s.who(c), "learned", s.pick("an important lesson", "a big lesson", "something new") + ":", learned)
    else:
        s.add(s.opener("end"), s.who(c), "knew that", learned)


def ending(s: Story, cast: list[Character], doing: tuple[str, str]) -> None:
    """A closing image: who, doing what (past, and base form), how they felt."""
    past, base = doing
    names = g.join_list([s.name(c) for c in cast]) if len(cast) > 1 else s.who(cast[0])
    feeling = s.pick("happy", "glad", "happy", "proud", "full of joy", "very happy")
    shape = s.rng.randrange(4)
    if shape == 0:
        s.add(s.opener("end"), names, past, "and", "they were" if len(cast) > 1 else s.pron(cast[0]) + " was", feeling)
    elif shape == 1:
        s.add(names, past, s.pick("until the sun went down", "all afternoon", "for a long time", "all day", "for many years"))
    elif shape == 2:
        s.add(s.pick("It was the best day ever", "It was a very good day", "What a day it was", "It was a day to remember"), end="!")
        s.add(names, past)
    else:
        s.add(s.pick("From that day on,", "After that,", "Since then,"), names, s.pick("would always", "would"), base)
