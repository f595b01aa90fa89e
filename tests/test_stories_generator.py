"""The synthetic story generator: vocabulary, pronouns, plots, state, length, seeds, diversity."""

import re
from collections import Counter

import pytest

from data_gen.stories import vocab
from data_gen.stories.characters import GENDERED_WORDS, PRONOUNS
from data_gen.stories.framing import read_stories
from data_gen.stories.generator import MAX_WORDS, MIN_WORDS, PLOTS, generate_stories, generate_story
from data_gen.stories.stats import Diversity, word_bytes, words


@pytest.fixture(scope="module")
def corpus():
    return [generate_story(11, i) for i in range(2000)]


def test_every_word_of_2000_stories_is_in_the_vocabulary(corpus):
    allowed = vocab.load_vocabulary()
    outside = Counter(w for st in corpus for w in words(st.text) if w not in allowed)
    assert not outside, outside.most_common(10)


def test_vocabulary_file_has_about_1500_lemmas_with_parts_of_speech():
    v = vocab.load()
    assert 1400 <= len(v.entries) <= 1600
    assert {e.pos for e in v.entries} <= vocab.POS
    surface = vocab.load_vocabulary()
    assert isinstance(surface, frozenset) and all(w == w.lower() for w in surface)
    # inflections listed in the file count as vocabulary words
    assert {"ran", "running", "children", "bigger", "lily's"} <= surface
    assert v.get("kite", "noun").facts["use"] == "fly" and "toy" in v.get("kite", "noun").tags


def test_the_same_seed_and_index_give_the_same_story_and_other_seeds_differ():
    assert [generate_story(5, i).text for i in range(20)] == [generate_story(5, i).text for i in range(20)]
    assert len({generate_story(s, 0).text for s in range(20)}) == 20


def test_corpus_files_are_reproducible_by_seed(tmp_path):
    generate_stories(tmp_path / "a", 60, seed=4, progress=False)
    generate_stories(tmp_path / "b", 60, seed=4, progress=False)
    generate_stories(tmp_path / "c", 60, seed=5, progress=False)
    for split in ("train", "val"):
        assert (tmp_path / "a" / f"{split}.txt").read_bytes() == (tmp_path / "b" / f"{split}.txt").read_bytes()
    assert (tmp_path / "a" / "train.txt").read_bytes() != (tmp_path / "c" / "train.txt").read_bytes()
    texts = list(read_stories(tmp_path / "a" / "train.txt")) + list(read_stories(tmp_path / "a" / "val.txt"))
    assert sorted(texts) == sorted(generate_story(4, i).text for i in range(60))


def test_each_character_keeps_its_pronoun(corpus):
    for st in corpus:
        # every he/she/him/her/his/himself/herself in the text was produced for a cast member ...
        gendered = [w for w in words(st.text) if w in GENDERED_WORDS]
        assert len(gendered) == len(st.pronouns), st.text
        assert gendered == [w for _, w in st.pronouns], st.text
        # ... and always from that character's own set, so no one switches from "she" to "he"
        for character, word in st.pronouns:
            assert word in PRONOUNS[character.gender].values(), (character.name, word, st.text)
        genders = {}
        for c in st.cast:
            assert genders.setdefault(c.name, c.gender) == c.gender
    assert sum(len(st.pronouns) for st in corpus) > 5 * len(corpus)


def test_lengths_plots_and_dialogue(corpus):
    lengths = [len(words(st.text)) for st in corpus]
    assert MIN_WORDS <= min(lengths) and max(lengths) <= MAX_WORDS
    assert set(Counter(st.plot for st in corpus)) == set(PLOTS)
    assert {"want", "lesson", "lost", "quarrel"} <= set(PLOTS)
    assert sum(bool(re.search(r'"[A-Z][^"]*[.!?,]"', st.text)) for st in corpus) > 0.95 * len(corpus)
    assert all("\x00" not in st.text and "{" not in st.text and "  " not in st.text for st in corpus)


def test_state_carries_across_sentences(corpus):
    """A later sentence that relies on an earlier fact only appears after that fact."""
    checked = 0
    for st in corpus:
        for part in re.findall(r"(\w+) did not hurt anymore", st.text):  # "Her knee did not hurt anymore."
            before = st.text[:st.text.index(f"{part} did not hurt anymore")]
            assert re.search(rf"{part} (hurt|was hurt)|hurt \w+ {part}", before), st.text
            checked += 1
        m = re.search(r"had only (\w+) coins?", st.text)
        if m:  # the coins earned add up to the price
            numbers = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
            price = numbers.index(re.search(r"it cost (\w+) coins", st.text)[1]) + 1
            earned = sum(numbers.index(n) + 1 for n in re.findall(r"gave \w+ (\w+) coins?", st.text))
            assert numbers.index(m[1]) + 1 + earned == price, st.text
            assert f"had {numbers[price - 1]} coins" in st.text
            checked += 1
    assert checked > 20


def test_diversity_over_150k_words_and_no_duplicates():
    d, i = Diversity(), 0
    while d.ngram_words < 150_000:
        text = generate_story(0, i).text
        d.add(text.encode(), word_bytes(text.encode()))
        i += 1
    figures = d.figures()
    assert figures["distinct_4gram_ratio"] >= 0.5, figures
    assert figures["duplicate_share"] == 0.0


def test_manifest_reports_counts_and_diversity(tmp_path):
    m = generate_stories(tmp_path / "out", 200, seed=2, val_fraction=0.1, progress=False)
    texts = [generate_story(2, i).text for i in range(200)]
    all_words = [w for t in texts for w in words(t)]
    assert (m["stories"], m["words"], m["distinct_words"]) == (200, len(all_words), len(set(all_words)))
    assert m["splits"]["val"]["stories"] > 0 and m["splits"]["train"]["stories"] + m["splits"]["val"]["stories"] == 200
    assert m["diversity"]["distinct_4gram_measured_words"] == len(all_words)
    assert sum(m["plots"].values()) == 200 and m["sources"][0]["vocabulary"] == "vocab.tsv"
