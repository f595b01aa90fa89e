"""The tokenizer: fixed ids, exact round-trips, atomic RPG labels, fingerprints, bad input."""

import random
import re
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm

from data_gen.rpg.rules import ACTION_NAMES as RPG_ACTIONS, STATUSES as RPG_STATUSES
from picojax.app.cli import main
from picojax.tasks import get_task
from picojax.tokenizer import (
    Tokenizer, TokenizerError, TokenizerMismatchError, check_sha256, detect_profile,
    file_sha256, sample_lines, train_tokenizer,
)

# data_gen/rpg/FORMAT.md, worked examples, verbatim.
SPEC_RECORDS = [
    "turn=12 | hero hp=41/60 st=poison:2,regen:1 cd=heal:2,ignite:1 | goblin hp=18/45 st=burn:1 cd=- | act=hero:ignite:goblin => turn=13 | hero hp=41/60 st=poison:1 cd=heal:1 | goblin hp=14/45 st=- cd=- | result=ongoing",
    "turn=3 | knight hp=7/50 st=- cd=- | wolf hp=30/30 st=poison:1 cd=guard:2 | act=knight:heal:knight => turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=- cd=guard:1 | result=ongoing",
    "turn=30 | mage hp=4/40 st=burn:2 cd=rally:3 | slime hp=5/22 st=- cd=- | act=mage:strike:slime => turn=31 | mage hp=0/40 st=burn:1 cd=rally:2 | slime hp=0/22 st=- cd=- | result=draw",
]
NAMES = ["hero", "goblin", "knight", "wolf", "mage", "slime", "orc", "bat"]

STORIES = [
    "Once upon a time, there was a cat named Tom.\nTom said, “I like fish!”\n\nHe ate it all. It’s 3 o'clock.",
    "Lily had a red ball. She threw it   high.\nThe end.",
]


def rpg_records(n: int, seed: int = 0) -> list[str]:
    """Records in the spec's exact format (values random, not engine-true: the format is what matters here)."""
    rng = random.Random(seed)

    def entity(name):
        top = rng.randint(20, 99)
        st = ",".join(f"{s}:{rng.randint(1, 3)}" for s in sorted(rng.sample(RPG_STATUSES, rng.randint(0, 4)))) or "-"
        cd = ",".join(f"{a}:{rng.randint(1, 5)}" for a in sorted(rng.sample(RPG_ACTIONS, rng.randint(0, 3)))) or "-"
        return f"{name} hp={rng.randint(0, top)}/{top} st={st} cd={cd}"

    out = []
    for _ in range(n):
        a, b = rng.sample(NAMES, 2)
        turn = rng.randint(1, 60)
        result = rng.choice(["ongoing", "draw", f"win:{a}", f"win:{b}"])
        out.append(f"turn={turn} | {entity(a)} | {entity(b)} | act={a}:{rng.choice(RPG_ACTIONS)}:{b} => "
                   f"turn={turn + 1} | {entity(a)} | {entity(b)} | result={result}")
    return out


def write_stories(path: Path, stories: list[str]) -> None:
    path.write_text("".join(f"{s}\n<|endoftext|>\n" for s in stories), encoding="utf-8")


@pytest.fixture(scope="module")
def rpg_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("rpg")
    (d / "train.txt").write_text("\n".join(SPEC_RECORDS + rpg_records(1500)) + "\n")
    return d


@pytest.fixture(scope="module")
def rpg_tok(rpg_dir):
    return train_tokenizer(rpg_dir, 160, rpg_dir / "tokenizer.model", model_type="bpe")


def piece_spans(tok: Tokenizer, text: str) -> set[tuple[int, int]]:
    """Character spans of the pieces of text (pieces decode to their own text exactly)."""
    spans, pos = set(), 0
    for piece in tok.pieces(text):
        n = len(piece.replace("▁", " "))
        spans.add((pos, pos + n))
        pos += n
    assert pos == len(text)
    return spans


def test_ids_are_fixed_and_plain_sentencepiece_loads_the_model(rpg_tok, rpg_dir):
    assert (rpg_tok.pad_id, rpg_tok.unk_id, rpg_tok.bos_id, rpg_tok.eos_id) == (0, 1, 2, 3)
    plain = spm.SentencePieceProcessor(model_file=str(rpg_dir / "tokenizer.model"))
    assert [plain.id_to_piece(i) for i in range(4)] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert (plain.pad_id(), plain.unk_id(), plain.bos_id(), plain.eos_id()) == (0, 1, 2, 3)
    assert plain.vocab_size() == rpg_tok.vocab_size == 160
    assert plain.encode(SPEC_RECORDS[0]) == rpg_tok.encode(SPEC_RECORDS[0])


def test_rpg_records_round_trip_exactly(rpg_tok):
    records = SPEC_RECORDS + rpg_records(300, seed=1)
    # Aliases, held-out names with letters never seen in training, out-of-range numbers.
    records.append("turn=120 | zyxquv hp=150/150 st=psn:2,grd:1 cd=- | jqz hp=5/9 st=- cd=- "
                   "| act=zyxquv:block:zyxquv => ")
    for record in records:
        assert rpg_tok.decode(rpg_tok.encode(record)) == record
    assert rpg_tok.encode_batch(records[:5]) == [rpg_tok.encode(r) for r in records[:5]]
    assert rpg_tok.unk_id not in {i for r in records for i in rpg_tok.encode(r)}


LABEL = re.compile(r"turn=|act=|result=| hp=| st=| cd=| \| | => |win:|ongoing|draw"
                   r"|(?<=[=,:])(?:poison_strike|burn|guard|poison|regen|heal|ignite|rally|strike|wait)(?=:)")


def test_rpg_labels_are_single_pieces_in_real_records(rpg_tok):
    seen = set()
    for record in SPEC_RECORDS + rpg_records(200, seed=2):
        spans = piece_spans(rpg_tok, record)
        for m in LABEL.finditer(record):
            assert m.span() in spans, f"{m.group()!r} is not one piece in {rpg_tok.pieces(record)}"
            seen.add(m.group())
    # Every label was exercised: keys, separators, all statuses and actions, results.
    expected = {"turn=", "act=", "result=", " hp=", " st=", " cd=", " | ", " => ", "win:", "ongoing", "draw",
                *RPG_STATUSES, *RPG_ACTIONS}
    assert expected <= seen


def test_digits_are_split(rpg_tok):
    for piece in rpg_tok.pieces(SPEC_RECORDS[0] + " 1234567890"):
        assert not re.search(r"\d", piece) or re.fullmatch(r"\d", piece), piece


def test_stories_round_trip_exactly(tmp_path):
    write_stories(tmp_path / "train.txt", STORIES * 20)
    assert detect_profile(tmp_path / "train.txt") == "stories"
    tok = train_tokenizer(tmp_path, 200, tmp_path / "tok.model", character_coverage=1.0)
    for story in STORIES + ["  leading spaces, trailing  \n\nand blank lines\n"]:
        assert tok.decode(tok.encode(story)) == story
    assert "\n" in tok.pieces(STORIES[0])


def test_real_tinystories_sample_round_trips(tmp_path):
    sample = Path(__file__).parent / "fixtures" / "tinystories_v2_sample.txt"
    assert sample.is_file(), f"committed fixture {sample} is missing"
    (tmp_path / "train.txt").write_bytes(sample.read_bytes())
    tok = train_tokenizer(tmp_path, 300, tmp_path / "t.model", character_coverage=1.0)
    stories = [s.strip("\n") for s in sample.read_text(encoding="utf-8").split("<|endoftext|>") if s.strip()]
    assert len(stories) == 5
    for story in stories:
        assert tok.decode(tok.encode(story)) == story


def test_byte_fallback_round_trips_unseen_characters(rpg_dir, tmp_path):
    text = "naïve 🐉 dragon"
    plain = Tokenizer.load(rpg_dir / "tokenizer.model")
    assert plain.unk_id in plain.encode(text) and plain.decode(plain.encode(text)) != text
    tok = train_tokenizer(rpg_dir, 160 + 256, tmp_path / "bf.model", byte_fallback=True)
    assert sum(tok.sp.is_byte(i) for i in range(tok.vocab_size)) == 256
    assert tok.decode(tok.encode(text)) == text


def test_token_bytes_count_utf8_bytes(rpg_tok, tmp_path):
    table = rpg_tok.token_bytes()
    assert table.shape == (rpg_tok.vocab_size,) and table.dtype == np.int32
    assert table[:4].tolist() == [0, 0, 0, 0]
    for record in SPEC_RECORDS:
        assert table[rpg_tok.encode(record)].sum() == len(record.encode("utf-8"))
    (tmp_path / "train.txt").write_text("\n".join(rpg_records(300)))
    tok = train_tokenizer(tmp_path, 160 + 256, tmp_path / "bf.model", byte_fallback=True)
    text = "dragon 🐉 hp=3"
    assert tok.token_bytes()[tok.encode(text)].sum() == len(text.encode("utf-8"))


def test_sha256_fingerprint_and_mismatch(rpg_tok, rpg_dir, tmp_path):
    assert rpg_tok.sha256 == file_sha256(rpg_dir / "tokenizer.model") and len(rpg_tok.sha256) == 64
    same = train_tokenizer(rpg_dir, 160, tmp_path / "same.model", model_type="bpe")  # training is deterministic
    assert same.sha256 == rpg_tok.sha256
    other = train_tokenizer(rpg_dir, 150, tmp_path / "other.model", model_type="bpe")
    assert other.sha256 != rpg_tok.sha256
    check_sha256(rpg_tok.sha256, rpg_tok.sha256, "checkpoint")
    with pytest.raises(TokenizerMismatchError, match="checkpoint was made with tokenizer sha256"):
        check_sha256(rpg_tok.sha256, other.sha256, "checkpoint")


def test_bad_input_is_a_clear_error(rpg_dir, tmp_path):
    with pytest.raises(TokenizerError, match="no tokenizer at"):
        Tokenizer.load(tmp_path / "missing.model")
    (tmp_path / "junk.model").write_bytes(b"not a model")
    with pytest.raises(TokenizerError, match="is not a SentencePiece model"):
        Tokenizer.load(tmp_path / "junk.model")
    with pytest.raises(TokenizerError, match="--vocab-size 5000 is too large for this data"):
        train_tokenizer(rpg_dir, 5000, tmp_path / "big.model", model_type="bpe")
    assert not (tmp_path / "big.model").exists()
    with pytest.raises(TokenizerError, match="--vocab-size 100 is too small: .* at least 1[0-9][0-9]"):
        train_tokenizer(rpg_dir, 100, tmp_path / "small.model")
    with pytest.raises(TokenizerError, match="no training split"):
        train_tokenizer(tmp_path, 100, tmp_path / "x.model")
    # A SentencePiece model with other special ids is refused.
    spm.SentencePieceTrainer.train(sentence_iterator=iter(rpg_records(200)), model_prefix=str(tmp_path / "foreign"),
                                   vocab_size=120, model_type="bpe", minloglevel=2)
    with pytest.raises(TokenizerError, match="pad/unk/bos/eos ids"):
        Tokenizer.load(tmp_path / "foreign.model")


def test_training_sample_is_bounded_and_seeded(tmp_path):
    lines = rpg_records(2000)
    (tmp_path / "train.txt").write_text("\n".join(lines) + "\n")
    sample = list(sample_lines(tmp_path / "train.txt", 20_000, seed=3))
    size = sum(map(len, sample))
    assert 0.8 * 20_000 <= size < 20_000 + max(map(len, lines))  # about max_chars, never far over
    assert len(sample) < len(lines) / 5 and set(sample) <= set(lines)
    assert sample != lines[:len(sample)]  # spread over the file, not its head
    assert sample == list(sample_lines(tmp_path / "train.txt", 20_000, seed=3))
    write_stories(tmp_path / "s.txt", STORIES)
    assert "<|endoftext|>" not in list(sample_lines(tmp_path / "s.txt", 10_000))


def test_cli_trains_and_reports(rpg_dir, tmp_path, capsys):
    out = tmp_path / "cli.model"
    assert main(["tokenizer", "--data", str(rpg_dir), "--vocab-size", "160", "--out", str(out),
                 "--profile", "rpg", "--max-chars", "100000"]) == 0
    assert "round-trip exact: True" in capsys.readouterr().out
    assert spm.SentencePieceProcessor(model_file=str(out)).vocab_size() == 122  # rpg: one piece per character
    assert main(["tokenizer", "--data", str(tmp_path / "nowhere"), "--vocab-size", "160"]) == 2


def test_the_rpg_tokenizer_symbols_are_data_gen_rpgs_labels(rpg_tok):
    """One definition of the format: the tokenizer's atomic RPG pieces are exactly the
    labels, separators, statuses, actions and results that `data_gen.rpg` writes."""
    from data_gen.rpg import rules, text
    from picojax.tasks import get_task

    want = {*text.FIELD_LABELS, text.SEP, text.ARROW, *rules.STATUSES, *rules.ACTION_NAMES,
            rules.WIN_PREFIX, rules.RESULT_ONGOING, rules.RESULT_DRAW}
    symbols = get_task("rpg").tokenizer_symbols
    assert {s.replace("▁", " ") for s in symbols} == want
    assert len(symbols) == len(set(symbols))
    for symbol in symbols:  # and each is one piece of the trained tokenizer
        assert rpg_tok.piece_to_id(symbol) > 3, symbol


def test_the_rpg_default_spells_names_letter_by_letter(rpg_dir, tmp_path):
    """The RPG task's tokenizer is char-level besides its atomic labels: any name, seen in
    training or not, is one piece per letter, and the vocabulary is that small set."""
    tok = train_tokenizer(rpg_dir, 512, tmp_path / "char.model")
    assert tok.vocab_size == 122  # 4 special ids + the newline and 21 RPG labels + 95 characters
    record = SPEC_RECORDS[0].replace("hero", "zyxwvut")
    pieces = tok.pieces(record)
    assert pieces[pieces.index("act=") + 1:pieces.index("act=") + 8] == list("zyxwvut")
    assert all(len(p) == 1 or p in get_task("rpg").tokenizer_symbols for p in pieces), pieces
    assert tok.decode(tok.encode(record)) == record
    with pytest.raises(TokenizerError, match="unknown tokenizer model"):
        train_tokenizer(rpg_dir, 512, tmp_path / "x.model", model_type="unigram")
