"""Corpus figures for manifests: counts, words, distinct words, and diversity.

Words are what `words()` returns: the text lower-cased (curly apostrophes made straight),
as runs of ASCII letters that may hold inner apostrophes ("didn't" is one word, "Lily's" is
"lily's"). It is the rule of the stories eval (`eval.stories.metrics.words`), so vocabulary
adherence means the same thing in both places. `word_bytes()` is the same rule on UTF-8
bytes, several times faster (C-level translate and split); the importer uses it, and a
test holds the two equal.

Diversity follows the issue: the distinct-4-gram ratio is distinct word 4-grams / all word
4-grams (4-grams do not cross story boundaries) over the first ``max_ngram_words`` words of
the corpus (~150k: the scale at which real TinyStories measures about 0.85); the duplicate
share is the fraction of stories whose exact text already appeared, over the first
``max_dup_stories`` stories (a bounded set of 8-byte digests, so a 2 GB import stays small).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
NGRAM_WORDS = 150_000
DUP_STORIES = 200_000


_CURLY = "\u2019".encode()
_LOWER_TO_ASCII = ("\u0130".encode(), "\u212a".encode())
# every byte but ASCII letters and the apostrophe becomes a space (upper case is lowered first)
_KEEP = set(b"abcdefghijklmnopqrstuvwxyz'")
_TO_SPACE = bytes(b if b in _KEEP else 32 for b in range(256))


def words(text: str) -> list[str]:
    """The text's words, lower-case, punctuation stripped (see the module docstring)."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def word_bytes(data: bytes) -> list[bytes]:
    """`words` of UTF-8 text, as bytes: ``[w.encode() for w in words(data.decode())]``, faster."""
    if _LOWER_TO_ASCII[0] in data or _LOWER_TO_ASCII[1] in data:  # the two non-ASCII letters str.lower() maps to ASCII
        return [w.encode() for w in _WORD.findall(data.decode("utf-8").lower().replace("\u2019", "'"))]
    flat = data.replace(_CURLY, b"'").lower().translate(_TO_SPACE)
    if b"'" not in flat:
        return flat.split()
    if b"''" in flat or b" '" in flat or b"' " in flat or flat.startswith(b"'") or flat.endswith(b"'"):
        # apostrophes that are quote marks or doubled: rare, let the regex decide
        return [w.encode() for w in _WORD.findall(data.decode("utf-8").lower().replace("\u2019", "'"))]
    return flat.split()


@dataclass
class Diversity:
    """Distinct-4-gram ratio and exact-duplicate share, measured on bounded prefixes."""

    max_ngram_words: int = NGRAM_WORDS
    max_dup_stories: int = DUP_STORIES
    ngram_words: int = 0
    ngrams_total: int = 0
    _ngrams: set = field(default_factory=set, repr=False)
    dup_stories: int = 0
    duplicates: int = 0
    _digests: set = field(default_factory=set, repr=False)

    def add(self, data: bytes, story_words: list) -> None:
        """One story: its UTF-8 bytes and its words (str or bytes, consistently)."""
        if self.ngram_words < self.max_ngram_words:
            take = story_words[: self.max_ngram_words - self.ngram_words]
            self.ngram_words += len(take)
            grams = list(zip(take, take[1:], take[2:], take[3:]))
            self.ngrams_total += len(grams)
            self._ngrams.update(grams)
        if self.dup_stories < self.max_dup_stories:
            digest = hashlib.blake2b(data, digest_size=8).digest()
            self.dup_stories += 1
            if digest in self._digests:
                self.duplicates += 1
            else:
                self._digests.add(digest)

    def figures(self) -> dict:
        return {
            "distinct_4gram_ratio": round(len(self._ngrams) / self.ngrams_total, 4) if self.ngrams_total else None,
            "distinct_4gram_measured_words": self.ngram_words,
            "duplicate_share": round(self.duplicates / self.dup_stories, 6) if self.dup_stories else None,
            "duplicate_measured_stories": self.dup_stories,
        }


@dataclass
class SplitStats:
    stories: int = 0
    bytes: int = 0

    def figures(self) -> dict:
        return {"stories": self.stories, "bytes": self.bytes}


@dataclass
class CorpusStats:
    """Everything the manifest says about the stories written, split by split."""

    splits: dict = field(default_factory=lambda: {"train": SplitStats(), "val": SplitStats()})
    distinct: set = field(default_factory=set, repr=False)
    words: int = 0
    chars: int = 0
    diversity: Diversity = field(default_factory=Diversity)

    def add(self, split: str, text: str, data: bytes, framed_bytes: int) -> None:
        """One story written to ``split``: its text, its UTF-8 bytes, and the bytes written."""
        story_words = word_bytes(data)
        s = self.splits[split]
        s.stories += 1
        s.bytes += framed_bytes
        self.words += len(story_words)
        self.chars += len(text)
        self.distinct.update(story_words)
        self.diversity.add(data, story_words)

    def figures(self) -> dict:
        stories = sum(s.stories for s in self.splits.values())
        total_words = self.words
        return {
            "stories": stories,
            "bytes": sum(s.bytes for s in self.splits.values()),
            "words": total_words,
            "distinct_words": len(self.distinct),
            "mean_words_per_story": round(total_words / stories, 2) if stories else 0.0,
            "mean_chars_per_story": round(self.chars / stories, 2) if stories else 0.0,
            "splits": {name: s.figures() for name, s in self.splits.items()},
            "diversity": self.diversity.figures(),
        }
