"""Text metrics over sampled stories: how a tiny storyteller drifts, loops or stops.

Pure Python (no JAX): the inputs are decoded sample texts and, for each, whether the
sampler stopped at EOS. Words are lowercase letter runs (apostrophes kept inside words,
so "didn't" is one word), the same rule for every metric so they compare across runs.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")

# Repetition is counted on 4-grams: shorter n-grams repeat in any fluent English story
# ("she said", "and the"), longer ones only when the model loops.
REPETITION_N = 4


def words(text: str) -> list[str]:
    """The words of a text, lowercased."""
    return _WORD.findall(text.lower())


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(samples: Sequence[Sequence[str]], n: int) -> float:
    """Distinct n-grams over all n-grams of all samples (Li et al., 2016); 0 with none."""
    grams = [g for tokens in samples for g in ngrams(tokens, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repetition_rate(tokens: Sequence[str], n: int = REPETITION_N) -> float:
    """Share of a sample's n-grams that repeat an n-gram seen earlier in the same sample."""
    grams = ngrams(tokens, n)
    return (len(grams) - len(set(grams))) / len(grams) if grams else 0.0


def vocabulary_adherence(samples: Sequence[Sequence[str]], vocabulary: Iterable[str]) -> float:
    """Share of all sampled words that are in the vocabulary (case-insensitive)."""
    vocab = {w.lower() for w in vocabulary}
    total = sum(len(tokens) for tokens in samples)
    inside = sum(1 for tokens in samples for w in tokens if w in vocab)
    return inside / total if total else 0.0


@dataclass(frozen=True)
class StoryMetrics:
    num_samples: int
    vocab_adherence: float  # share of words in the generator's vocabulary (NaN without one)
    distinct_2: float  # corpus-level distinct bigram ratio
    distinct_3: float  # corpus-level distinct trigram ratio
    repetition: float  # mean per-sample share of repeated 4-grams
    mean_words: float  # mean sample length in words
    eos_rate: float  # share of samples that ended with EOS rather than hitting max_new_tokens

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def story_metrics(texts: Sequence[str], ended_with_eos: Sequence[bool],
                  vocabulary: Iterable[str] | None) -> StoryMetrics:
    """All the sample metrics at once. Without a vocabulary, adherence is reported as NaN."""
    if len(texts) != len(ended_with_eos):
        raise ValueError(f"{len(texts)} texts but {len(ended_with_eos)} EOS flags")
    samples = [words(t) for t in texts]
    n = len(samples)
    return StoryMetrics(
        num_samples=n,
        vocab_adherence=vocabulary_adherence(samples, vocabulary) if vocabulary is not None else float("nan"),
        distinct_2=distinct_n(samples, 2),
        distinct_3=distinct_n(samples, 3),
        repetition=statistics.fmean(repetition_rate(s) for s in samples) if n else 0.0,
        mean_words=statistics.fmean(len(s) for s in samples) if n else 0.0,
        eos_rate=sum(bool(e) for e in ended_with_eos) / n if n else 0.0,
    )
