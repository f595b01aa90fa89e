"""One story being told: the cast, the world, the state, and the shared beats.

`Story` collects sentences into paragraphs. Plots (`plots_*.py`) call its beats and record
facts in ``state`` (who is hurt, what got wet, where the lost thing really is) so that later
sentences follow from earlier ones instead of being drawn independently.
"""

from __future__ import annotations

import re

from data_gen.stories import grammar as g
from data_gen.stories.characters import Cast, Character
from data_gen.stories.world import Thing, World

_SLOT = re.compile(r"\{(\w+)(?:\.(subj|obj|poss|refl|name))?\}")

TRAIT_HABITS = {
    "loving": ["{S} gave the best hugs", "{S} always kissed {P} mom good night"],
    "kind": ["{S} always helped others", "{S} was nice to everyone {S} met", "{S} liked to help {P} friends"],
    "brave": ["{S} was not afraid of the dark", "{S} once climbed the tallest tree on {P} street", "{S} liked to try new things", "{S} was never scared of big dogs"],
    "curious": ["{S} liked to take things apart to see how they worked", "{S} wanted to know about everything", "{S} liked to look under rocks and leaves",
                "{S} always asked a lot of questions"],
    "shy": ["{S} did not talk much", "{S} liked to play quietly by {R}", "{S} often hid behind {P} mom"],
    "happy": ["{S} smiled all the time", "{S} woke up every morning with a song", "{S} liked to sing and dance", "{S} laughed at everything"],
    "friendly": ["{S} had many friends", "{S} said hello to everyone", "{S} liked to meet new friends"],
    "gentle": ["{S} was always soft with animals", "{S} held little bugs with care", "{S} never pushed anyone"],
    "clever": ["{S} could count to one hundred", "{S} liked to solve puzzles", "{S} always had good ideas"],
    "silly": ["{S} liked to make funny faces", "{S} told jokes to {P} family", "{S} wore {P} hat upside down"],
    "playful": ["{S} loved to run and jump", "{S} played all day long", "{S} liked to play games with {P} friends"],
    "helpful": ["{S} liked to help {P} mom in the kitchen", "{S} always helped to clean up", "{S} helped {P} dad in the garden"],
    "careful": ["{S} always looked before {S} crossed the street", "{S} put {P} toys away every night",
                "{S} never ran with a stick"],
    "busy": ["{S} always had something to do", "{S} never sat still for long"],
    "cheerful": ["{S} always had a big smile", "{S} sang songs in the morning"],
    "polite": ["{S} always said please and thank you", "{S} waited for {P} turn"],
    "honest": ["{S} always told the truth"],
    "smart": ["{S} knew the names of all the birds", "{S} liked to read books"],
    "funny": ["{S} made everyone laugh", "{S} told the best jokes"],
    "generous": ["{S} liked to give things to others", "{S} shared {P} snacks with everyone"],
    "quiet": ["{S} liked soft sounds", "{S} liked to sit and watch the birds"],
    "lively": ["{S} was full of energy", "{S} jumped around all day"],
    "sweet": ["{S} gave hugs to everyone", "{S} was kind to all the animals"],
}

OPENERS = {
    "start": ["One day,", "One {time},", "One {weather} {time},", "One {weather} day,", "Early one {time},", "One fine day,",
              "Last {season},", "On a {weather} {time},"],
    "next": ["Then", "Then,", "After that,", "Soon,", "Soon", "Next,", "A little later,", "After a while,", "Just then,",
             "All of a sudden,", "Suddenly,", "", "Before long,", "Right then,", "At that moment,", "Not long after,",
             "Later on,", "After some time,", "In a moment,", "Just at that moment,"],
    "later": ["Later that day,", "The next day,", "That night,", "In the evening,", "After lunch,", "The next morning,",
              "When the sun went down,", "A few days later,", "After dinner,", "Before bedtime,", "Two days later,",
              "Later in the afternoon,", "When the stars came out,", "The day after,"],
    "end": ["In the end,", "From that day on,", "After that day,", "At the end of the day,", "That night,", "Now"],
}


class Story:
    def __init__(self, world: World, cast: Cast):
        self.w, self.cast, self.rng = world, cast, world.rng
        self.paragraphs: list[list[str]] = [[]]
        self.state: dict = {}
        self.setting = None
        self._met: set = set()

    # --- output ---------------------------------------------------------------------------
    def add(self, *parts: str, end: str = ".") -> None:
        self.paragraphs[-1].append(g.sentence(*parts, end=end))

    def para(self) -> None:
        if self.paragraphs[-1]:
            self.paragraphs.append([])

    def text(self) -> str:
        return self.cast.render("\n".join(" ".join(p) for p in self.paragraphs if p))

    # --- choosing -------------------------------------------------------------------------
    def pick(self, *options):
        return self.rng.choice(options)

    def one(self, *makers):
        """Calls one of the zero-argument functions: references are made only for the text used."""
        return self.rng.choice(makers)()

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def maybe(self, p: float, text: str) -> str:
        return text if self.rng.random() < p else ""

    def adv(self, p: float = 0.3) -> str:
        """Sometimes a manner adverb ('quickly', 'happily') for the verb that follows or precedes."""
        return self.rng.choice(self.w.words("manner", pos="adv")) if self.rng.random() < p else ""

    def adj(self, tag: str, p: float = 0.4) -> str:
        """Sometimes an adjective with this tag (size, color, look...)."""
        return self.rng.choice(self.w.words(tag, pos="adj")) if self.rng.random() < p else ""

    def opener(self, kind: str = "next") -> str:
        o = self.rng.choice(OPENERS[kind])
        if self.setting is not None:
            o = o.replace("{time}", self.setting.time).replace("{weather}", self.setting.weather)
        if "{season}" in o:
            snowy = self.setting is not None and self.setting.weather == "snowy"
            o = o.replace("{season}", "winter" if snowy else self.rng.choice(("spring", "summer", "fall")))
        return o.replace("{time}", "morning").replace("{weather}", "sunny")

    def fill(self, template: str, c: Character) -> str:
        """{S} {O} {P} {R} {N}: c as subject, object, possessive, reflexive, name."""
        cases = {"S": "subj", "O": "obj", "P": "poss", "R": "refl"}
        out = []
        for piece in re.split(r"(\{[SOPRN]\})", template):
            if len(piece) == 3 and piece[1] in "SOPRN" and piece[0] == "{":
                out.append(self.cast.name(c) if piece[1] == "N" else self.cast.ref(c, cases[piece[1]], "pron"))
            else:
                out.append(piece)
        return "".join(out)

    # --- verbs ----------------------------------------------------------------------------
    def past(self, verb: str) -> str:
        return self.w.v.get(verb, "verb").form(0)

    def use(self, thing: Thing) -> str:
        """What one does with it: 'fly' (a kite), 'play with' (a doll)."""
        return "play with" if thing.use() == "play" else thing.use()

    def used(self, thing: Thing) -> str:
        return "played with" if thing.use() == "play" else self.past(thing.use())

    # --- references -----------------------------------------------------------------------
    def who(self, c: Character, case: str = "subj") -> str:
        return self.cast.ref(c, case, "auto")

    def name(self, c: Character, case: str = "subj") -> str:
        return self.cast.ref(c, case, "name")

    def cap_ref(self, c: Character) -> str:
        """A reference that starts a sentence in the middle of an `add` ("What a day! She ...")."""
        return g.cap(self.who(c))

    def pron(self, c: Character, case: str = "subj") -> str:
        return self.cast.ref(c, case, "pron")

    def meet(self, c: Character, of: Character, case: str = "subj", plain: bool = False) -> str:
        """The first mention of a secondary character introduces them ("her friend Mia",
        "a puppy named Max"); later ones are plain references."""
        if c in self._met or c.family_of is not None or not c.named:
            return self.who(c, case)
        self._met.add(c)
        if c.kind in ("girl", "boy") and not plain:
            return self.pick(f"{self.pron(of, 'poss')} friend {self.name(c, case)}",
                             f"{g.a(self.pick('', 'little ', 'new ') + c.kind)} named {self.name(c, case)}")
        return f"{g.a(self.pick('', 'little ', 'young ') + c.kind)} named {self.name(c, case)}"

    def its(self, thing: Thing, first: bool = False) -> str:
        """'the kite', 'her red kite' or 'Lily's kite' for a thing already introduced."""
        r = self.rng.random()
        if thing.owner is not None and r < 0.45:
            return f"{self.pron(thing.owner, 'poss')} {thing.described(self.rng, 1)}"
        return f"the {thing.described(self.rng, 1) if r < 0.75 else thing.noun}"

    # --- dialogue -------------------------------------------------------------------------
    def say(self, c: Character, spoken: str, to: Character | None = None, verb: str | None = None,
            adverb: float = 0.25) -> None:
        """Adds a quoted line with its speaker tag, placed in one of several ways."""
        verb = verb or g.speech_verb(spoken, self.rng)
        if to is not None and to.named and to.name not in spoken and self.rng.random() < 0.25:  # calling the listener by name
            if self.rng.random() < 0.5 and spoken[-1] in ".!?":
                spoken = f"{spoken[:-1]}, {to.name}{spoken[-1]}"
            else:
                first = spoken if spoken.startswith(("I ", "I'")) else spoken[0].lower() + spoken[1:]
                spoken = f"{to.name}, {first}"
        # the adverb has to suit the line: nobody exclaims quietly
        tone = "loud" if spoken.endswith("!") else "soft" if spoken.endswith("?") else "speech"
        adv = self.maybe(adverb, self.w.pick("speech", tone, pos="adv"))
        shape = self.rng.random()
        if shape < 0.35:
            if to is not None and self.chance(0.4):
                lead = f"{self.who(c)} {self.pick('looked at', 'turned to', 'smiled at')} {self.name(to, 'obj')} and {verb},"
            else:
                lead = f"{self.who(c)} {verb} {adv},".replace(" ,", ",")
            self.paragraphs[-1].append(g.cap(f'{lead} "{spoken}"'))
        elif shape < 0.7 or not c.named:
            tag = f"{self.who(c)} {verb} {adv}".strip()
            self.paragraphs[-1].append(g.cap(f'"{g.comma_form(spoken)}" {tag}.'))
        else:
            self.paragraphs[-1].append(g.cap(f'"{g.comma_form(spoken)}" {verb} {self.name(c)}.'))
