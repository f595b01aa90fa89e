"""The text task: plain text in, documents and a train/val split out (nanoGPT's tail split
for one stream, a keyed hash for documents), a manifest that names the task; tiny
Shakespeare from ../shared/data when it is there."""

import json
from pathlib import Path

import pytest

from data_gen.stories.framing import SEPARATOR
from data_gen.text import documents, import_text
from picojax.app.cli import main
from picojax.store import tokenize_dir
from picojax.tasks import detect_task
from picojax.tokenizer import train_tokenizer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SHAKESPEARE = SHARED / "tinyshakespeare.txt"


def test_documents_by_separator():
    text = f"one\ntwo\n{SEPARATOR}\nthree\n\nfour\n{SEPARATOR}\n"
    assert documents(text, "eot") == ["one\ntwo", "three\n\nfour"]
    assert documents("a\nb\n\n\nc\n", "blank") == ["a\nb", "c"]
    assert documents("a\n\nb\n", "none") == ["a\n\nb"]


def test_one_stream_splits_at_the_tail_and_the_manifest_names_the_task(tmp_path):
    src = tmp_path / "play.txt"
    src.write_text("".join(f"line {i}\n" for i in range(1000)))
    m = import_text([src], tmp_path / "data")
    assert m["split"] == "tail" and m["task"] == "text"
    train = (tmp_path / "data" / "train.txt").read_text()
    val = (tmp_path / "data" / "val.txt").read_text()
    assert train.startswith("line 0\n") and val.rstrip().endswith(f"line 999\n{SEPARATOR}")
    assert abs(m["chars"]["val"] / (m["chars"]["train"] + m["chars"]["val"]) - 0.1) < 0.01
    assert detect_task(tmp_path / "data" / "train.txt").name == "text"  # not stories, though it is plain text


def test_documents_split_by_hash_and_bad_input_is_one_line(tmp_path, capsys):
    src = tmp_path / "docs.txt"
    src.write_text("".join(f"doc {i} text\n{SEPARATOR}\n" for i in range(200)))
    m = import_text([src], tmp_path / "a", seed=1)
    assert m["split"] == "hash" and m["counts"]["train"] + m["counts"]["val"] == 200
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe")
    for argv, message in ((["--from", str(tmp_path / "missing.txt")], "no such file or folder"),
                          (["--from", str(tmp_path / "bad.txt")], "not UTF-8 text"),
                          (["--from", str(src), "--val-fraction", "0"], "--val-fraction must be in (0, 1)")):
        assert main(["data", "text", *argv, "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
        assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not SHAKESPEARE.is_file(), reason="../shared/data/tinyshakespeare.txt is absent (a fresh clone has no shared/)")
def test_tiny_shakespeare_imports_as_nanogpt_splits_it(tmp_path):
    m = import_text([SHAKESPEARE], tmp_path / "s")
    assert m["chars"] == {"train": 1003853, "val": 111540}  # nanoGPT: the last 10% of 1,115,394 characters
    tok = train_tokenizer(tmp_path / "s", 128, tmp_path / "s" / "tokenizer.model", model_type="char")
    metas = tokenize_dir(tmp_path / "s", tok)
    assert metas["val"]["task"] == "text" and metas["val"]["num_tokens"] == 111540 + 2  # a char a token, BOS+EOS
