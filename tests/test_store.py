"""The token store: exact documents, RPG target starts, streaming, atomic writes, bad input."""

import json
import random
from pathlib import Path

import numpy as np
import pytest

from picojax.app.cli import main
from picojax.store import StoreError, TokenStore, iter_documents, tokenize_dir, write_split
from picojax.tokenizer import BOS_ID, EOS_ID, TokenizerMismatchError, train_tokenizer

SPEC_RECORDS = [
    "turn=12 | hero hp=41/60 st=poison:2,regen:1 cd=heal:2,ignite:1 | goblin hp=18/45 st=burn:1 cd=- | act=hero:ignite:goblin => turn=13 | hero hp=41/60 st=poison:1 cd=heal:1 | goblin hp=14/45 st=- cd=- | result=ongoing",
    "turn=3 | knight hp=7/50 st=- cd=- | wolf hp=30/30 st=poison:1 cd=guard:2 | act=knight:heal:knight => turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=- cd=guard:1 | result=ongoing",
    "turn=30 | mage hp=4/40 st=burn:2 cd=rally:3 | slime hp=5/22 st=- cd=- | act=mage:strike:slime => turn=31 | mage hp=0/40 st=burn:1 cd=rally:2 | slime hp=0/22 st=- cd=- | result=draw",
]
STORIES = [
    "Once upon a time, there was a cat named Tom.\nTom said, “I like fish!”\n\nHe ate it all.",
    "Lily had a red ball. She threw it   high.\nThe end.",
    "Ben ran. It’s 3 o'clock!",
]


def shuffled_records(n, seed=0):
    """Format-exact records made by re-numbering the spec's examples."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        record = rng.choice(SPEC_RECORDS)
        out.append(" ".join(f"turn={rng.randint(1, 60)}" if w.startswith("turn=") else w for w in record.split(" ")))
    return out


@pytest.fixture(scope="module")
def rpg(tmp_path_factory):
    d = tmp_path_factory.mktemp("rpg")
    train = SPEC_RECORDS + shuffled_records(400)
    (d / "train.txt").write_text("\n".join(train) + "\n")
    (d / "val.txt").write_text("\n".join(shuffled_records(50, seed=1)) + "\n")
    tok = train_tokenizer(d, 140, d / "tokenizer.model")
    metas = tokenize_dir(d, tok)
    return d, tok, train, metas


def test_documents_are_bos_text_eos_and_decode_exactly(rpg):
    d, tok, train, metas = rpg
    store = TokenStore(d / "store" / "train", tokenizer_sha256=tok.sha256)
    assert len(store) == len(train) == metas["train"]["num_docs"]
    assert store.task == "rpg" and store.tokenizer_sha256 == tok.sha256
    assert int(store.lengths.sum()) == metas["train"]["num_tokens"] == store.offsets[-1]
    for i, record in enumerate(train):
        doc = store[i]
        assert doc.dtype == np.int32 and doc[0] == BOS_ID and doc[-1] == EOS_ID
        assert tok.decode(doc) == record
    assert len(TokenStore(d / "store" / "val")) == 50


def test_target_start_is_the_first_token_after_the_prompt(rpg):
    d, tok, train, _ = rpg
    store = TokenStore(d / "store" / "train")
    for i, record in enumerate(train[:50]):
        prompt, target = record.split(" => ", 1)
        doc, start = store[i], int(store.target_starts[i])
        assert tok.decode(doc[1:start]) == prompt + " => "
        assert tok.decode(doc[start:-1]) == target
        assert doc[start:-1].tolist() == tok.encode(target)
    assert tok.id_to_piece(int(store[0][store.target_starts[0] - 1])) == "▁=>▁"


def test_stories_store(tmp_path):
    (tmp_path / "train.txt").write_text("".join(f"{s}\n<|endoftext|>\n" for s in STORIES * 10), encoding="utf-8")
    assert [t for _, t in iter_documents(tmp_path / "train.txt", "stories")][:3] == STORIES
    (tmp_path / "x.txt").write_text("\nA story.\n\n<|endoftext|>\n  \n<|endoftext|>\nNo separator at the end\n")
    assert list(iter_documents(tmp_path / "x.txt", "stories")) == [("", "A story."), ("", "No separator at the end")]
    tok = train_tokenizer(tmp_path, 140, tmp_path / "tokenizer.model", character_coverage=1.0)
    meta = tokenize_dir(tmp_path, tok)["train"]
    assert meta["task"] == "stories" and meta["num_docs"] == 30
    store = TokenStore(tmp_path / "store" / "train")
    assert [tok.decode(store[i]) for i in range(3)] == STORIES
    assert (store.target_starts == 1).all()  # the whole story is target


def test_real_tinystories_sample_becomes_five_exact_documents(tmp_path):
    sample = Path(__file__).parent / "fixtures" / "tinystories_v2_sample.txt"
    assert sample.is_file(), f"committed fixture {sample} is missing"
    (tmp_path / "train.txt").write_bytes(sample.read_bytes())
    tok = train_tokenizer(tmp_path, 300, tmp_path / "tokenizer.model", character_coverage=1.0)
    assert tokenize_dir(tmp_path, tok, task="auto")["train"]["task"] == "stories"
    store = TokenStore(tmp_path / "store" / "train")
    stories = [s.strip() for s in sample.read_text(encoding="utf-8").split("<|endoftext|>") if s.strip()]
    assert [tok.decode(store[i]) for i in range(len(store))] == stories and len(stories) == 5


def test_streaming_in_chunks_writes_the_same_store(rpg, tmp_path):
    d, tok, _, _ = rpg
    write_split(d / "train.txt", tok, tmp_path / "small", chunk_docs=7)
    write_split(d / "train.txt", tok, tmp_path / "big", chunk_docs=100_000)
    for name in ("tokens.bin", "offsets.bin", "target_starts.bin"):
        assert (tmp_path / "small" / name).read_bytes() == (tmp_path / "big" / name).read_bytes()
    meta = json.loads((tmp_path / "small" / "meta.json").read_text())
    assert meta["token_dtype"] == "uint16" and meta["tokenizer_sha256"] == tok.sha256


def test_bad_record_leaves_no_store_behind(rpg, tmp_path):
    _, tok, _, _ = rpg
    (tmp_path / "train.txt").write_text(SPEC_RECORDS[0] + "\n" + "turn=1 | broken record\n")
    with pytest.raises(StoreError, match=r"train.txt:2: not an RPG record"):
        write_split(tmp_path / "train.txt", tok, tmp_path / "store" / "train", task="rpg")
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())


def test_rebuilding_replaces_the_store(rpg, tmp_path):
    _, tok, _, _ = rpg
    (tmp_path / "train.txt").write_text("\n".join(SPEC_RECORDS) + "\n")
    write_split(tmp_path / "train.txt", tok, tmp_path / "s")
    (tmp_path / "train.txt").write_text(SPEC_RECORDS[1] + "\n")
    write_split(tmp_path / "train.txt", tok, tmp_path / "s")
    assert len(TokenStore(tmp_path / "s")) == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["s", "train.txt"]


def test_missing_empty_damaged_and_foreign_stores_are_refused(rpg, tmp_path):
    d, tok, _, _ = rpg
    with pytest.raises(StoreError, match="no token store at"):
        TokenStore(tmp_path / "nothing")
    (tmp_path / "train.txt").write_text("\n\n")
    write_split(tmp_path / "train.txt", tok, tmp_path / "empty", task="rpg")
    with pytest.raises(StoreError, match="is empty"):
        TokenStore(tmp_path / "empty")
    with pytest.raises(TokenizerMismatchError, match="was made with tokenizer sha256"):
        TokenStore(d / "store" / "train", tokenizer_sha256="0" * 64)
    write_split(d / "val.txt", tok, tmp_path / "cut")
    tokens = tmp_path / "cut" / "tokens.bin"
    tokens.write_bytes(tokens.read_bytes()[:-2])
    with pytest.raises(StoreError, match="damaged: tokens.bin"):
        TokenStore(tmp_path / "cut")


def test_store_copies_without_its_memory_maps(rpg):
    # Grain sends the source to worker processes by serialising it: the maps must reopen there.
    import copy

    d, _, _, _ = rpg
    store = TokenStore(d / "store" / "train")
    first = store[0]
    clone = copy.deepcopy(store)
    assert clone._arrays is None and (clone[0] == first).all()


def test_cli_tokenize(rpg, tmp_path, capsys):
    d, _, _, _ = rpg
    assert main(["data", "tokenize", "--data", str(d), "--store", str(tmp_path / "st")]) == 0
    out = capsys.readouterr().out
    assert "train: 403 rpg documents" in out and "val: 50 rpg documents" in out
    assert main(["data", "tokenize", "--data", str(tmp_path / "none")]) == 2
    assert "no tokenizer at" in capsys.readouterr().err
