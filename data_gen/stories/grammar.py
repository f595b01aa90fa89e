"""Sentence realisation: articles, capitals, lists, punctuation and quoted dialogue.

The plots decide *what* happens; these helpers decide how it reads, with enough freedom
(where the speaker tag goes, which verb of saying, an adverb or not) that the same event
rarely reads the same way twice.
"""

from __future__ import annotations

import re

_AN_EXCEPTIONS = {"unicorn", "uniform", "useful", "unique", "one", "once", "united", "usual"}
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?;:])")
_SPACES = re.compile(r"\s{2,}")


def article(word: str) -> str:
    """'a' or 'an' for the word that follows."""
    w = word.lower()
    if w in _AN_EXCEPTIONS:
        return "a"
    return "an" if w[:1] in "aeiou" or w in ("hour", "honest") else "a"


def a(phrase: str) -> str:
    """The phrase with its indefinite article: 'an apple', 'a big apple'."""
    return f"{article(phrase.split()[0])} {phrase}"


def cap(text: str) -> str:
    """Capital first letter (after any opening quote)."""
    for i, ch in enumerate(text):
        if ch == "\x00":  # a character placeholder (see characters.Cast): flag it to render capitalised
            end = text.index("\x00", i + 1)
            return text[:end - 1] + "1" + text[end:]
        if ch.isalpha():
            return text[:i] + ch.upper() + text[i + 1:]
    return text


def join_list(items: list[str], conj: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]


def tidy(text: str) -> str:
    """Single spaces, no space before punctuation."""
    return _SPACES.sub(" ", _SPACE_BEFORE_PUNCT.sub(r"\1", text)).strip()


def sentence(*parts: str, end: str = ".") -> str:
    """Joins the non-empty parts into one capitalised sentence with end punctuation."""
    text = tidy(" ".join(p for p in parts if p))
    if text[-1:] not in ".!?\"":
        text += end
    return cap(text)


def line(*parts: str, end: str = ".") -> str:
    """A spoken line: like `sentence`, for use inside quotes."""
    return sentence(*parts, end=end)


def comma_form(spoken: str) -> str:
    """A quote followed by its speaker tag ends with ',' instead of '.': "I see," she said."""
    return spoken[:-1] + "," if spoken.endswith(".") else spoken


def speech_verb(spoken: str, rng) -> str:
    if spoken.endswith("?"):
        return rng.choice(("asked", "asked", "said", "wondered"))
    if spoken.endswith("!"):
        return rng.choice(("shouted", "cried", "said", "yelled", "called", "exclaimed"))
    return rng.choice(("said", "said", "said", "replied", "whispered", "answered", "added"))
