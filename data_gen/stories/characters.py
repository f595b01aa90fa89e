"""Characters and how the text refers to them: names, titles and pronouns that never change.

A character's pronoun is fixed when it is cast. Every gendered pronoun in a story comes
from `Cast.ref`, which also records it (``Cast.trace``), so a test can check that the text
holds no pronoun the cast did not produce, and that each character kept its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PRONOUNS = {
    "she": {"subj": "she", "obj": "her", "poss": "her", "refl": "herself"},
    "he": {"subj": "he", "obj": "him", "poss": "his", "refl": "himself"},
}
GENDERED_WORDS = frozenset(w for forms in PRONOUNS.values() for w in forms.values())


@dataclass(eq=False)
class Character:
    name: str  # "Lily"; a title such as "Mom"; or a phrase such as "the owl" for the unnamed
    kind: str  # girl, boy, cat, mom, owl...: what the narrator may call them
    gender: str  # "she" or "he", for the whole story
    traits: list[str] = field(default_factory=list)
    named: bool = True  # a proper name (else "the owl": lower-case mid-sentence)
    family_of: "Character | None" = None  # mom, dad... of this character: "her mom"

    def pronoun(self, case: str) -> str:
        return PRONOUNS[self.gender][case]


class Cast:
    """The characters of one story and how the text refers to them.

    `ref` returns a placeholder; `render` replaces the placeholders in reading order, so the
    choice between a name and a pronoun sees the text as the reader does, and a reference
    built for a phrase the plot then did not use leaves no trace.
    """

    def __init__(self, rng):
        self.rng = rng
        self.members: list[Character] = []
        self.trace: list[tuple[Character, str]] = []  # every pronoun rendered, with its referent

    def add(self, c: Character) -> Character:
        self.members.append(c)
        return c

    def ref(self, c: Character, case: str = "subj", mode: str = "auto") -> str:
        """A placeholder for ``c``: case subj/obj/poss/refl; mode auto (pronoun when ``c`` is in
        focus, sometimes), name (never a pronoun) or pron (a pronoun whenever unambiguous)."""
        return f"\x00{self.members.index(c)}.{_CASES.index(case)}.{_MODES.index(mode)}.0\x00"

    def name(self, c: Character, case: str = "subj") -> str:
        return self.ref(c, case, "name")

    def pron(self, c: Character, case: str = "subj") -> str:
        return self.ref(c, case, "pron")

    def render(self, text: str) -> str:
        """The text with every placeholder replaced, tracking focus (the last character
        mentioned per pronoun: only that one may be called 'she' or 'he')."""
        focus: dict[str, Character] = {}

        def label(c: Character) -> str:
            if c.family_of is not None and self.rng.random() < 0.4:
                owner = c.family_of
                return f"{pronoun(owner, 'poss') if focus.get(owner.gender) is owner else owner.name + chr(39) + 's'} {c.kind}"
            return c.name

        def pronoun(c: Character, case: str) -> str:
            word = c.pronoun(case)
            self.trace.append((c, word))
            return word

        def one(m) -> str:
            c, case, mode = self.members[int(m[1])], _CASES[int(m[2])], _MODES[int(m[3])]
            in_focus = focus.get(c.gender) is c
            if case == "refl":
                word = pronoun(c, "refl")
            elif in_focus and mode != "name" and (mode == "pron" or self.rng.random() < 0.6):
                word = pronoun(c, case)
            else:
                word = label(c) + ("'s" if case == "poss" else "")
            focus[c.gender] = c
            return word[0].upper() + word[1:] if m[4] == "1" else word

        return _PLACEHOLDER.sub(one, text)


_CASES = ("subj", "obj", "poss", "refl")
_MODES = ("auto", "name", "pron")
_PLACEHOLDER = re.compile("\x00(\\d+)\\.(\\d)\\.(\\d)\\.(\\d)\x00")

