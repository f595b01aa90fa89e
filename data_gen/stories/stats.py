"""Corpus figures for manifests: counts, words, distinct words, and diversity.

Words are what `words()` returns: the text lower-cased, curly apostrophes made straight,
split into runs of letters that may hold inner apostrophes ("didn't"), with a possessive or
clitic ``'s`` dropped ("Lily's" -> "lily", "it's" -> "it"). The vocabulary check of the
generator and the stories eval use the same function, so "in the vocabulary" means one thing.

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


def words(text: str) -> list[str]:
    """The story's words, lower-case, punctuation stripped (see the module docstring)."""
    found = _WORD.findall(text.lower().replace("\u2019", "'"))
    return [w[:-2] if w.endswith("'s") else w for w in found]


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

    def add(self, text: str, story_words: list[str]) -> None:
        if self.ngram_words < self.max_ngram_words:
            take = story_words[: self.max_ngram_words - self.ngram_words]
            self.ngram_words += len(take)
            grams = list(zip(take, take[1:], take[2:], take[3:]))
            self.ngrams_total += len(grams)
            self._ngrams.update(grams)
        if self.dup_stories < self.max_dup_stories:
            digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
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
    words: int = 0

    def figures(self) -> dict:
        return {"stories": self.stories, "bytes": self.bytes, "words": self.words}


@dataclass
class CorpusStats:
    """Everything the manifest says about the stories written, split by split."""

    splits: dict = field(default_factory=lambda: {"train": SplitStats(), "val": SplitStats()})
    distinct: set = field(default_factory=set, repr=False)
    chars: int = 0
    diversity: Diversity = field(default_factory=Diversity)

    def add(self, split: str, text: str, framed_bytes: int) -> list[str]:
        story_words = words(text)
        s = self.splits[split]
        s.stories += 1
        s.bytes += framed_bytes
        s.words += len(story_words)
        self.chars += len(text)
        self.distinct.update(story_words)
        self.diversity.add(text, story_words)
        return story_words

    def figures(self) -> dict:
        stories = sum(s.stories for s in self.splits.values())
        total_words = sum(s.words for s in self.splits.values())
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
