"""The Grain pipeline: packing layout, loss mask, resume, process slices, val, global arrays."""

import json
import random
from collections import Counter

import jax
import numpy as np
import pytest
from jax.sharding import AxisType, NamedSharding, PartitionSpec

from picojax import config_io
from picojax.data import (
    BATCH_KEYS, SeqLenError, WindowSource, make_train_iterator, make_val_iterator, open_store,
)
from picojax.errors import ConfigError, UserError
from picojax.sharding import to_global_batch
from picojax.store import StoreError, tokenize_dir
from picojax.tokenizer import BOS_ID, EOS_ID, TokenizerMismatchError, train_tokenizer

SPEC_RECORDS = [
    "turn=12 | hero hp=41/60 st=poison:2,regen:1 cd=heal:2,ignite:1 | goblin hp=18/45 st=burn:1 cd=- | act=hero:ignite:goblin => turn=13 | hero hp=41/60 st=poison:1 cd=heal:1 | goblin hp=14/45 st=- cd=- | result=ongoing",
    "turn=3 | knight hp=7/50 st=- cd=- | wolf hp=30/30 st=poison:1 cd=guard:2 | act=knight:heal:knight => turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=- cd=guard:1 | result=ongoing",
    "turn=30 | mage hp=4/40 st=burn:2 cd=rally:3 | slime hp=5/22 st=- cd=- | act=mage:strike:slime => turn=31 | mage hp=0/40 st=burn:1 cd=rally:2 | slime hp=0/22 st=- cd=- | result=draw",
]


def unique_records(n, seed=0):
    """Distinct format-exact records (the spec's examples with other turn and hp numbers)."""
    rng, out = random.Random(seed), {}
    while len(out) < n:
        words = rng.choice(SPEC_RECORDS).split(" ")
        words = [f"turn={rng.randint(1, 60)}" if w.startswith("turn=") else
                 f"hp={rng.randint(0, 20)}/{w.split('/')[1]}" if w.startswith("hp=") else w for w in words]
        out[" ".join(words)] = None
    return list(out)


def make_dir(path, train, val, vocab=140):
    (path / "train.txt").write_text("\n".join(train) + "\n")
    (path / "val.txt").write_text("\n".join(val) + "\n")
    tok = train_tokenizer(path, vocab, path / "tokenizer.model")
    tokenize_dir(path, tok)
    return tok


def config(d, **overrides):
    defaults = {"model.seq_len": 128, "train.batch_size": 8, "data.prefetch": 2}
    return config_io.load(None, [f"data.dir={d}", *(f"{k}={v}" for k, v in {**defaults, **overrides}.items())])


@pytest.fixture(scope="module")
def rpg(tmp_path_factory):
    d = tmp_path_factory.mktemp("rpg")
    train = unique_records(300)
    val = [SPEC_RECORDS[0]] + unique_records(40, seed=9)
    tok = make_dir(d, train, val)
    return d, tok, train, val


def segments(batch):
    """Each packed document of a batch as (row, its tokens: inputs then the last target)."""
    out = []
    for row in range(batch["inputs"].shape[0]):
        seg = batch["segment_ids"][row]
        for s in range(1, seg.max() + 1):
            idx = np.flatnonzero(seg == s)
            out.append((row, tuple(batch["inputs"][row, idx]) + (int(batch["targets"][row, idx[-1]]),)))
    return out


def docs_of(batches):
    return [doc for b in batches for _, doc in segments(b)]


def store_docs(cfg, split="train"):
    store = open_store(cfg, split)
    return [tuple(store[i].tolist()) for i in range(len(store))]


def test_batches_are_packed_documents_with_restarting_positions(rpg):
    d, _, _, _ = rpg
    cfg = config(d)
    it = make_train_iterator(cfg, process_index=0, process_count=2)
    known = set(store_docs(cfg))
    for _ in range(5):
        b = next(it)
        assert set(b) == set(BATCH_KEYS)
        for k in BATCH_KEYS:
            assert b[k].shape == (4, 128) and b[k].dtype == (np.float32 if k == "loss_mask" else np.int32)
        real = b["segment_ids"] > 0
        assert (b["inputs"][:, 0] == BOS_ID).all()  # every row starts at a document
        np.testing.assert_array_equal(b["loss_mask"], real.astype(np.float32))  # loss_on=all: every real token
        assert (b["inputs"][~real] == 0).all() and (b["targets"][~real] == 0).all()
        for row in range(4):
            seg, pos = b["segment_ids"][row], b["positions"][row]
            n = int(real[row].sum())
            assert real[row, :n].all() and not real[row, n:].any()  # padding only at the end
            assert (np.diff(seg[:n]) >= 0).all() and (np.diff(seg[:n]) <= 1).all() and seg[0] == 1
            starts = np.flatnonzero(np.r_[True, np.diff(seg[:n]) != 0])
            for s, start in enumerate(starts):
                end = starts[s + 1] if s + 1 < len(starts) else n
                np.testing.assert_array_equal(pos[start:end], np.arange(end - start))
                assert b["inputs"][row, start] == BOS_ID and b["targets"][row, end - 1] == EOS_ID
                # Targets are the inputs shifted by one, never across a document boundary.
                np.testing.assert_array_equal(b["targets"][row, start:end - 1], b["inputs"][row, start + 1:end])
        assert all(doc in known for _, doc in segments(b))


def test_loss_mask_covers_exactly_the_target_tokens(rpg):
    d, tok, _, _ = rpg
    b = next(make_val_iterator(config(d, **{"data.loss_on": "target"}), process_index=0, process_count=1))
    first = b["segment_ids"][0] == 1  # the val split's first record: the spec's first worked example
    prompt, target = SPEC_RECORDS[0].split(" => ")
    assert tok.decode(b["inputs"][0, first]) == SPEC_RECORDS[0]
    masked = b["targets"][0, first][b["loss_mask"][0, first] == 1]
    assert masked.tolist() == tok.encode(target) + [EOS_ID]
    assert tok.decode(b["targets"][0, first][b["loss_mask"][0, first] == 0]) == prompt + " => "
    assert (b["loss_mask"][b["segment_ids"] == 0] == 0).all()


def test_resume_restores_the_identical_next_batches(rpg, tmp_path):
    import grain
    import orbax.checkpoint as ocp

    d, _, _, _ = rpg
    cfg = config(d, **{"train.batch_size": 20, "model.seq_len": 512})
    new_iterator = lambda: make_train_iterator(cfg, process_index=3, process_count=10)  # noqa: E731
    it = new_iterator()
    first_seven = [next(it) for _ in range(7)]
    assert len(docs_of(first_seven)) > len(store_docs(cfg)) // 10  # an epoch boundary was crossed
    state = json.loads(json.dumps(it.get_state()))
    checkpointer = ocp.Checkpointer(grain.checkpoint.CheckpointHandler())
    checkpointer.save(tmp_path / "ckpt", args=grain.checkpoint.CheckpointSave(it))
    expected = [next(it), next(it)]

    fresh = new_iterator()
    fresh.set_state(state)
    restored = checkpointer.restore(tmp_path / "ckpt", args=grain.checkpoint.CheckpointRestore(new_iterator()))
    for resumed in (fresh, restored):
        for want in expected:
            got = next(resumed)
            for k in BATCH_KEYS:
                np.testing.assert_array_equal(got[k], want[k])
    unrestored = new_iterator()
    assert not np.array_equal(next(unrestored)["inputs"], expected[0]["inputs"])


def test_two_processes_see_disjoint_halves_of_the_epoch(rpg):
    d, _, train, _ = rpg
    cfg = config(d)
    single = docs_of(make_train_iterator(cfg, process_index=0, process_count=1, num_epochs=1))
    halves = [docs_of(make_train_iterator(cfg, process_index=i, process_count=2, num_epochs=1)) for i in (0, 1)]
    assert len(single) == len(train) == len(set(single))
    assert not set(halves[0]) & set(halves[1])
    assert Counter(halves[0]) + Counter(halves[1]) == Counter(single) == Counter(store_docs(cfg))
    assert abs(len(halves[0]) - len(halves[1])) <= 1


def test_shuffle_is_seeded_and_each_epoch_reshuffles(rpg):
    d, _, train, _ = rpg
    cfg = config(d)
    two_epochs = docs_of(make_train_iterator(cfg, process_index=0, process_count=1, num_epochs=2))
    again = docs_of(make_train_iterator(cfg, process_index=0, process_count=1, num_epochs=2))
    other = docs_of(make_train_iterator(config(d, **{"data.shuffle_seed": 1}), process_index=0, process_count=1,
                                        num_epochs=2))
    assert two_epochs == again and two_epochs != other
    n, index = len(train), {doc: i for i, doc in enumerate(store_docs(cfg))}
    assert Counter(two_epochs) == Counter(store_docs(cfg) * 2)
    head, second_head = [index[doc] for doc in two_epochs[:30]], [index[doc] for doc in two_epochs[n:n + 30]]
    assert max(head) > n // 2  # documents come from all over the split, not its head
    assert set(head) != set(second_head)  # the second epoch draws its own order, not just new rows


def test_val_is_deterministic_finite_and_complete(rpg):
    d, _, _, val = rpg
    cfg = config(d)
    first = list(make_val_iterator(cfg, process_index=0, process_count=1))
    second = list(make_val_iterator(cfg, process_index=0, process_count=1))
    assert len(first) == len(second) > 1
    for a, b in zip(first, second):
        for k in BATCH_KEYS:
            np.testing.assert_array_equal(a[k], b[k])
    assert Counter(docs_of(first)) == Counter(store_docs(cfg, "val"))
    assert all(b["inputs"].shape == (8, 128) for b in first)  # the last batch is padded, not short
    fixed = list(make_val_iterator(cfg, process_index=0, process_count=1, num_batches=len(first) + 2))
    assert len(fixed) == len(first) + 2 and not fixed[-1]["segment_ids"].any()


def test_segment_mask_off_makes_each_row_one_sequence(rpg):
    d, _, _, _ = rpg
    b = next(make_val_iterator(config(d, **{"data.segment_mask": False}), process_index=0, process_count=1))
    n = int((b["segment_ids"][0] > 0).sum())
    assert set(np.unique(b["segment_ids"])) <= {0, 1}
    np.testing.assert_array_equal(b["positions"][0, :n], np.arange(n))


def test_long_stories_are_split_into_windows_covering_every_token_once(tmp_path):
    rng = random.Random(0)
    words = ["cat", "dog", "sat", "ran", "happy", "little", "the", "a", "mat", "sun", "played", "with", "ball"]
    story = "\n".join(" ".join(rng.choice(words) for _ in range(12)) + "." for _ in range(20))
    stories = [story, "Hi.", story[:200]] + [" ".join(rng.choices(words, k=40)) for _ in range(50)]
    (tmp_path / "train.txt").write_text("".join(f"{s}\n<|endoftext|>\n" for s in stories))
    (tmp_path / "val.txt").write_text(f"{story}\n<|endoftext|>\n")
    tok = train_tokenizer(tmp_path, 112, tmp_path / "tokenizer.model", character_coverage=1.0)
    tokenize_dir(tmp_path, tok)
    with pytest.raises(ConfigError, match="data.task is rpg but the store .* holds stories documents"):
        open_store(config(tmp_path), "train")
    cfg = config(tmp_path, **{"model.seq_len": 16, "data.task": "stories"})
    store = open_store(cfg, "train")
    source = WindowSource(store, 16)
    windows = [source[i]["window"] for i in range(len(source))]  # columns: input, target, loss
    assert all(len(w) <= 16 for w in windows) and all((w[:, 2] == 1).all() for w in windows)
    rebuilt, k = [], 0
    for i in range(len(store)):  # windows of a document, in order, overlap by one token
        doc = [BOS_ID]
        while len(doc) < len(store[i]):
            assert windows[k][0, 0] == doc[-1]  # BOS first, then where the last window ended
            doc += windows[k][:, 1].tolist()
            k += 1
        rebuilt.append(doc)
    assert k == len(windows) and rebuilt == [store[i].tolist() for i in range(len(store))]
    assert len(docs_of(make_train_iterator(cfg, process_index=0, process_count=1, num_epochs=1))) == len(windows)
    with pytest.raises(SeqLenError):
        strict = config(tmp_path, **{"model.seq_len": 16, "data.long_docs": "error", "data.task": "stories"})
        make_train_iterator(strict, process_index=0, process_count=1)


def test_bad_input_is_a_clear_error(rpg, tmp_path):
    d, _, train, val = rpg
    with pytest.raises(SeqLenError, match=r"seq_len 32 is shorter than a record \(\d+ tokens"):
        make_train_iterator(config(d, **{"model.seq_len": 32}), process_index=0, process_count=1)
    with pytest.raises(UserError, match="does not split over 3 processes"):
        make_train_iterator(config(d), process_index=0, process_count=3)
    with pytest.raises(ConfigError, match="model.vocab_size is 100"):
        make_train_iterator(config(d, **{"model.vocab_size": 100}), process_index=0, process_count=1)
    other = tmp_path / "other"
    other.mkdir()
    (other / "train.txt").write_text("\n".join(train) + "\n")
    with pytest.raises(UserError, match="no tokenizer at"):
        make_train_iterator(config(other), process_index=0, process_count=1)
    train_tokenizer(other, 130, other / "tokenizer.model", model_type="bpe")  # same data, other vocabulary: another tokenizer
    with pytest.raises(StoreError, match="no token store at"):
        make_train_iterator(config(other), process_index=0, process_count=1)
    with pytest.raises(TokenizerMismatchError):  # rpg's store, another tokenizer
        make_train_iterator(config(d, **{"data.tokenizer": other / "tokenizer.model"}), process_index=0,
                            process_count=1)
    (other / "train.txt").write_text("\n")
    tokenize_dir(other, train_tokenizer(d, 140, other / "tokenizer.model"), task="rpg")
    with pytest.raises(StoreError, match="is empty"):
        make_train_iterator(config(other), process_index=0, process_count=1)


def test_to_global_batch_shards_the_batch_over_data_and_fsdp(rpg):
    d, _, _, _ = rpg
    mesh = jax.make_mesh((4, 2, 1), ("data", "fsdp", "tensor"), axis_types=(AxisType.Auto,) * 3)
    local = next(make_val_iterator(config(d), process_index=0, process_count=1))
    for target in (mesh, NamedSharding(mesh, PartitionSpec(("data", "fsdp")))):
        batch = to_global_batch(local, target)
        for k in BATCH_KEYS:
            x = batch[k]
            assert isinstance(x, jax.Array) and x.shape == (8, 128) and x.dtype == local[k].dtype
            assert x.sharding.spec == PartitionSpec(("data", "fsdp"))
            assert {s.data.shape for s in x.addressable_shards} == {(1, 128)} and len(x.addressable_shards) == 8
            np.testing.assert_array_equal(np.asarray(x), local[k])
