"""Stories sample metrics: each pinned on texts whose answer is known by hand."""

import math

import pytest

from eval.stories.metrics import distinct_n, repetition_rate, story_metrics, words


def test_words_lowercase_and_keep_apostrophes():
    assert words('Tom said, "I didn\'t go!" Then 3 dogs ran.') == ["tom", "said", "i", "didn't", "go", "then", "dogs", "ran"]


def test_distinct_n_counts_over_the_whole_corpus():
    a, b = words("the cat sat"), words("the cat ran")
    # bigrams: (the,cat) (cat,sat) (the,cat) (cat,ran) -> 3 distinct of 4
    assert distinct_n([a, b], 2) == pytest.approx(3 / 4)
    assert distinct_n([a, b], 3) == pytest.approx(2 / 2)
    assert distinct_n([["one"]], 2) == 0.0


def test_repetition_rate_sees_a_loop():
    fluent = words("once upon a time there was a little dog who liked to run in the park")
    looping = words("the dog ran and ran and ran and ran and ran")
    assert repetition_rate(fluent) == 0.0
    # 8 4-grams; after the first two, 'ran and ran and' and 'and ran and ran' alternate:
    # each appears 3 times, so 4 of the 8 repeat an earlier one.
    assert repetition_rate(looping) == pytest.approx(4 / 8)


def test_story_metrics_all_fields():
    texts = ["The cat sat. The end.", "A dog zorbled the cat."]
    m = story_metrics(texts, [True, False], vocabulary={"the", "cat", "sat", "end", "a", "dog"})
    assert m.num_samples == 2
    assert m.vocab_adherence == pytest.approx(9 / 10)  # 'zorbled' is the one word outside
    assert m.mean_words == pytest.approx(5.0)
    assert m.eos_rate == pytest.approx(0.5)
    assert math.isnan(story_metrics(texts, [True, True], vocabulary=None).vocab_adherence)
    with pytest.raises(ValueError):
        story_metrics(texts, [True], vocabulary=None)
