"""The controlled vocabulary of the story generator, kept as data in `vocab.tsv`.

`vocab.tsv` has one lemma per row (about 1,500), tab-separated, ``#`` lines are comments:

    word    pos    forms    tags

- ``pos``: noun, name, verb, adj, adv, pron, det, prep, conj, num, interj, aux, contraction.
- ``forms``: the inflections the generator may print, comma-separated and positional:
  nouns ``plural``; verbs ``past,participle,ing,third-person``; adjectives
  ``comparative,superlative``; empty when there are none ("-" marks a missing slot).
- ``tags``: space-separated labels the generator draws from (``toy``, ``girl``,
  ``animal pet``, ``color``...), and ``key=value`` facts (``use=fly`` for a kite,
  ``prep=on`` for a farm, ``sound=bark`` for a dog).

The vocabulary as a set of surface words (`load_vocabulary`) is every lemma, every listed
form, and the possessive ``'s`` of every noun and name (an inflection like a plural: "Lily's
ball"). Every word the generator prints is in that set; the stories eval measures a model's
adherence against it, tokenising with `data_gen.stories.stats.words`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

VOCAB_PATH = Path(__file__).with_name("vocab.tsv")
POS = {"noun", "name", "verb", "adj", "adv", "pron", "det", "prep", "conj", "num", "interj", "aux", "contraction"}


@dataclass(frozen=True)
class Entry:
    word: str
    pos: str
    forms: tuple[str, ...]
    tags: frozenset[str]
    facts: dict = field(default_factory=dict, hash=False, compare=False)

    def form(self, i: int) -> str:
        """The i-th listed inflection; the lemma itself where none is listed."""
        return self.forms[i] if i < len(self.forms) and self.forms[i] != "-" else self.word


class Vocabulary:
    """Lemmas by word and by tag, with their inflections."""

    def __init__(self, entries: list[Entry]):
        self.entries = entries
        self._by_key: dict[tuple[str, str], Entry] = {}
        self._by_tag: dict[str, list[Entry]] = {}
        self._tagged: dict[tuple, list[Entry]] = {}
        for e in entries:
            self._by_key.setdefault((e.word, e.pos), e)
            for tag in e.tags:
                self._by_tag.setdefault(tag, []).append(e)

    def get(self, word: str, pos: str) -> Entry:
        return self._by_key[(word, pos)]

    def tagged(self, *tags: str, pos: str | None = None) -> list[Entry]:
        """Entries carrying every one of ``tags`` (and of part of speech ``pos``), in file order."""
        key = (tags, pos)
        if key not in self._tagged:  # the generator asks the same few questions thousands of times
            first, *rest = tags
            self._tagged[key] = [e for e in self._by_tag.get(first, [])
                                 if all(t in e.tags for t in rest) and (pos is None or e.pos == pos)]
        return self._tagged[key]

    def words(self, *tags: str, pos: str | None = None) -> list[str]:
        """The lemmas of `tagged` (cached too)."""
        key = ("words", tags, pos)
        if key not in self._tagged:
            self._tagged[key] = [e.word for e in self.tagged(*tags, pos=pos)]
        return self._tagged[key]

    def surface_words(self) -> frozenset[str]:
        out = set()
        for e in self.entries:
            for w in (e.word, *e.forms):
                if w != "-":
                    out.add(w.lower())
            if e.pos in ("noun", "name"):
                out.add(e.word.lower() + "'s")
        return frozenset(out)


def _parse(path: Path) -> list[Entry]:
    entries = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 4 or cols[1] not in POS:
            raise ValueError(f"{path}:{lineno}: expected 'word<TAB>pos<TAB>forms<TAB>tags' with a known pos: {line!r}")
        word, pos, forms, tags = cols
        labels = tags.split()
        facts = dict(t.split("=", 1) for t in labels if "=" in t)
        entries.append(Entry(word, pos, tuple(f for f in forms.split(",") if f), frozenset(labels), facts))
    return entries


@functools.lru_cache(maxsize=None)
def load(path: str | Path = VOCAB_PATH) -> Vocabulary:
    """The parsed vocabulary file (cached)."""
    return Vocabulary(_parse(Path(path)))


def load_vocabulary(path: str | Path = VOCAB_PATH) -> frozenset[str]:
    """Every lower-case surface word the generator may print (see the module docstring)."""
    return load(path).surface_words()
