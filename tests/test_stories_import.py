"""The TinyStories importer: real formats, byte-exact text, stable splits, streaming, manifests."""

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_gen.stories import sources
from data_gen.stories.framing import SEPARATOR, read_stories, split_stories
from data_gen.stories.importer import import_stories, normalise
from data_gen.stories.stats import word_bytes, words

SAMPLE = Path(__file__).parent / "fixtures" / "tinystories_v2_sample.txt"


def original_stories() -> list[str]:
    """The sample's stories as its bytes hold them: between separators, less the line break before one."""
    chunks = SAMPLE.read_text(encoding="utf-8").split(SEPARATOR + "\n")
    assert chunks[-1] == ""
    return [c[:-1] for c in chunks[:-1]]


def imported(out: Path) -> list[str]:
    return list(read_stories(out / "train.txt")) + list(read_stories(out / "val.txt"))


def test_sample_imports_to_exactly_its_five_stories_byte_exact(tmp_path):
    m = import_stories([SAMPLE], tmp_path / "out", exact=True, val_fraction=0.0)
    assert imported(tmp_path / "out") == original_stories()
    assert len(original_stories()) == 5 and original_stories()[0].startswith("\nOnce upon a time there was a little boy named Ben.")
    # with everything in train, byte-exact output is the source file itself
    assert (tmp_path / "out" / "train.txt").read_bytes() == SAMPLE.read_bytes()
    assert (tmp_path / "out" / "val.txt").read_bytes() == b""
    src = m["sources"][0]
    assert src["sha256"] == hashlib.sha256(SAMPLE.read_bytes()).hexdigest() == \
        "defaedb58bf28079f3e29c6142cb7f3568d331a577e0911c5d7925c465c50c43"
    assert (src["bytes"], src["stories"], src["format"], src["compression"]) == (3794, 5, "text", None)
    all_words = [w for s in original_stories() for w in words(s)]
    assert (m["stories"], m["words"], m["distinct_words"]) == (5, len(all_words), len(set(all_words)))
    assert m["mean_words_per_story"] == pytest.approx(len(all_words) / 5, abs=0.01)
    assert json.loads((tmp_path / "out" / "manifest.json").read_text()) == m


def test_normalised_mode_cleans_whitespace_only():
    messy = "  One  day,\tTim ran.  \r\n\r\n\n  He was   happy. \n"
    assert normalise(messy) == "One day, Tim ran.\nHe was happy."


def test_normalised_import_keeps_words_and_drops_blank_lines(tmp_path):
    import_stories([SAMPLE], tmp_path / "out", val_fraction=0.0)
    got = imported(tmp_path / "out")
    assert [words(s) for s in got] == [words(s) for s in original_stories()]
    assert got[0].startswith("Once upon a time") and all(s == s.strip() and "\n\n" not in s for s in got)
    assert split_stories((tmp_path / "out" / "train.txt").read_text()) == got


def _json_shard(path: Path, stories, **extra) -> Path:
    path.write_text(json.dumps([{"story": s, "instruction": {"words": ["x"]}, "summary": "s", **extra} for s in stories],
                               indent=1))
    return path


def test_json_shard_jsonl_and_gzip_give_the_same_stories(tmp_path):
    stories = original_stories()
    shard = _json_shard(tmp_path / "data00.json", stories)
    jsonl = tmp_path / "data.jsonl"
    jsonl.write_text("".join(json.dumps({"story": s}) + "\n" for s in stories))
    gz_text, gz_json = tmp_path / "sample.txt.gz", tmp_path / "data00.json.gz"
    gz_text.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    gz_json.write_bytes(gzip.compress(shard.read_bytes()))
    for i, src in enumerate([shard, jsonl, gz_text, gz_json]):
        m = import_stories([src], tmp_path / f"out{i}", exact=True, val_fraction=0.0)
        assert imported(tmp_path / f"out{i}") == stories, src.name
        assert m["sources"][0]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert [m for m in ("json", "jsonl", "text", "json")] == [
        json.loads((tmp_path / f"out{i}" / "manifest.json").read_text())["sources"][0]["format"] for i in range(4)]


def test_tiny_read_blocks_give_the_same_result(tmp_path, monkeypatch):
    """Separators, line breaks and JSON elements cut across block boundaries are handled."""
    shard = _json_shard(tmp_path / "d.json", original_stories() + ['with "quotes" and \u00e9'])
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(SAMPLE.read_bytes().replace(b"\n", b"\r\n"))
    expected = {}
    for src in (SAMPLE, shard, crlf):
        import_stories([src], tmp_path / f"big-{src.name}", exact=True, val_fraction=0.3)
        expected[src] = imported(tmp_path / f"big-{src.name}")
    for block in (1, 2, 7, 13):
        monkeypatch.setattr(sources, "BLOCK", block)
        for src in (SAMPLE, shard, crlf):
            out = tmp_path / f"b{block}-{src.name}"
            import_stories([src], out, exact=True, val_fraction=0.3)
            assert imported(out) == expected[src], (block, src.name)
    assert sorted(expected[crlf]) == sorted(s.replace("\n", "\r\n") for s in original_stories())


def test_split_is_stable_across_reruns_and_input_order(tmp_path):
    texts = [f"Story number {i}. The cat sat on the mat." for i in range(300)]
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("".join(t + "\n<|endoftext|>\n" for t in texts[:150]))
    b.write_text("".join(t + "\n<|endoftext|>\n" for t in texts[150:]))

    def split_sets(out, srcs, seed=0):
        import_stories(srcs, out, val_fraction=0.2, seed=seed)
        return set(read_stories(out / "train.txt")), set(read_stories(out / "val.txt"))

    first = split_sets(tmp_path / "o1", [a, b])
    assert split_sets(tmp_path / "o2", [a, b]) == first
    assert split_sets(tmp_path / "o3", [b, a]) == first
    train, val = first
    assert train | val == set(texts) and not train & val and 30 <= len(val) <= 90
    assert split_sets(tmp_path / "o4", [a, b], seed=1) != first  # the seed keys the hash


def test_empty_stories_dropped_and_counted(tmp_path):
    src = tmp_path / "gaps.txt"
    src.write_text("One.\n<|endoftext|>\n\n  \n<|endoftext|>\nTwo.\n<|endoftext|>\n<|endoftext|>\n")
    m = import_stories([src], tmp_path / "out", val_fraction=0.0)
    assert imported(tmp_path / "out") == ["One.", "Two."]
    assert (m["sources"][0]["stories"], m["sources"][0]["dropped_empty"]) == (2, 2)


def test_a_file_without_separators_is_refused_in_bounded_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_STORY_BYTES", 1000)
    src = tmp_path / "blob.txt"
    src.write_text("word " * 5000)
    with pytest.raises(sources.StoriesError, match="not a TinyStories text file"):
        import_stories([src], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_rewriting_an_existing_folder_keeps_other_files(tmp_path):
    out = tmp_path / "out"
    import_stories([SAMPLE], out, val_fraction=0.0)
    (out / "tokenizer.model").write_text("keep me")
    (out / "train.txt").write_text("old")
    import_stories([SAMPLE], out, val_fraction=0.0, exact=True)
    assert (out / "tokenizer.model").read_text() == "keep me"
    assert (out / "train.txt").read_bytes() == SAMPLE.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left behind


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZq' \u2019\".,-\n\u00e9\u201c\u0130\u212a")) | st.characters(blacklist_categories=("Cs",)),
               max_size=60))
def test_fast_word_counting_equals_the_reference_tokeniser(text):
    assert word_bytes(text.encode()) == [w.encode() for w in words(text)]


def test_words_match_the_stories_eval():
    from eval.stories.metrics import words as eval_words

    text = SAMPLE.read_text() + " Lily's ball. I didn't go! 'Quoted' words -- and 3 dogs."
    assert words(text) == eval_words(text.replace("\u2019", "'"))
