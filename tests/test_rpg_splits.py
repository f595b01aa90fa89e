"""The RPG dataset writer: every file, a truthful manifest, disjoint splits, atomic output."""

import hashlib
import json
import re
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import data_gen.rpg.splits as splits
from data_gen.rpg import EVAL_SPLITS, Options, RPGError, check_file, is_fizzle, parse_prompt, parse_record, split_record, write_dataset
from data_gen.rpg.aliases import ACTION_ALIASES, ACTION_CANON, STATUS_ALIASES, STATUS_CANON
from data_gen.rpg.coverage import ENGINE_BRANCHES
from data_gen.rpg.generator import HP_HIGH_SPAN, HP_LOW_SPAN, STATUS_MAX_TURNS, Ranges
from data_gen.rpg.names import HELD_OUT_NAMES, RESERVED, TRAIN_NAMES, NamePool, is_eval_name
from data_gen.rpg.noise import family_of
from data_gen.rpg.rules import COOLDOWN, COOLDOWN_ACTIONS, STATUSES
from data_gen.rpg.text import format_prompt

SMALL = Options(seed=3, train_records=3000, val_records=400, eval_records=300, eval_fights=20, alias_rate=0.1,
                noise_rate=0.2)
ALIAS_WORDS = {a for table in (STATUS_ALIASES, ACTION_ALIASES) for aliases in table.values() for a in aliases}
TEXT_FILES = ["train.txt", "val.txt"] + [f"eval/{s}.txt" for s in EVAL_SPLITS]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("rpg") / "data"
    return out, write_dataset(out, SMALL, progress=False)


def _records(path):
    return [parse_record(line) for line in path.read_text().splitlines()]


def _prompt_keys(out):
    """Canonical prompts of every split (fights included), keyed by split."""
    keys = {f: {format_prompt(r.state, r.action) for r in _records(out / f)} for f in TEXT_FILES}
    fights = set()
    for line in (out / "eval" / "fights.jsonl").read_text().splitlines():
        fight = json.loads(line)
        before = fight["initial"]
        for act, after in zip(fight["actions"], fight["states"]):
            fights.add(format_prompt(*parse_prompt(f"{before} | act={act}")))
            before = after
    keys["eval/fights.jsonl"] = fights
    return keys


def test_every_file_with_a_truthful_manifest(dataset):
    out, manifest = dataset
    assert manifest["spec_version"] == "v1" and manifest["seed"] == 3
    files = TEXT_FILES + ["eval/fights.jsonl"]
    assert sorted(manifest["counts"]) == sorted(files)
    for f in files:
        data = (out / f).read_bytes()
        assert hashlib.sha256(data).hexdigest() == manifest["sha256"][f]
        assert data.count(b"\n") == manifest["counts"][f]
    assert manifest["counts"]["train.txt"] == 3000 and manifest["counts"]["eval/fights.jsonl"] == 20
    assert json.loads((out / "manifest.json").read_text()) == manifest
    train = manifest["splits"]["train.txt"]
    assert abs(sum(train["actions"].values()) - 1) < 1e-3 and 0.05 < train["alias_rate"] < 0.15
    assert 0 < train["fizzle_rate"] < 0.5 and set(train["results"]) <= {"ongoing", "win", "draw"}
    assert not list(out.parent.glob(".data.*"))  # no temp folders left behind


def test_every_record_agrees_with_the_engine(dataset):
    out, _ = dataset
    for f in TEXT_FILES + ["eval/fights.jsonl"]:
        report = check_file(out / f)
        assert report.agree == report.total > 0, (f, report.disagreements)


def test_splits_are_disjoint_by_canonical_prompt(dataset):
    out, _ = dataset
    keys = _prompt_keys(out)
    names = sorted(keys)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not keys[a] & keys[b], (a, b)


def test_split_contents(dataset):
    out, _ = dataset
    numbers = lambda r: [r.state.turn] + [e.max_hp for e in r.state.entities]
    pool = NamePool()
    for f in ("train.txt", "val.txt", "eval/in_dist.txt", "eval/crowded.txt", "eval/fizzle.txt"):
        for r in _records(out / f):
            assert all(e.name in pool for e in r.state.entities)
            assert 1 <= r.state.turn <= 59 and r.next_state.turn <= 60
            assert all(20 <= e.max_hp <= 99 for e in r.state.entities)
    for r in _records(out / "eval/held_out_names.txt"):
        assert {e.name for e in r.state.entities} <= set(HELD_OUT_NAMES)
    for r in _records(out / "eval/out_of_range.txt"):
        assert r.state.turn >= 100 or any(e.max_hp >= 100 for e in r.state.entities), numbers(r)
    for r in _records(out / "eval/crowded.txt"):
        for e in r.state.entities:
            assert [s for s, _ in e.statuses] == list(STATUSES) and len(e.cooldowns) >= 3
    assert all(is_fizzle(r.state, r.action) for r in _records(out / "eval/fizzle.txt"))
    aliased = [split_record(line)[0] for line in (out / "eval/aliases.txt").read_text().splitlines()]
    assert all(set(re.split(r"[ :,=|]+", p)) & ALIAS_WORDS for p in aliased)


def _label_kinds(prompt):
    """The kind (`noise.family_of`) of every status/action label as written in a prompt."""
    blocks = prompt.removesuffix(" => ").split(" | ")
    labels = [(blocks[3].split(":")[1], ACTION_CANON)]
    for block in blocks[1:3]:
        _, _, st_text, cd_text = block.split(" ")
        for text, canon in ((st_text[3:], STATUS_CANON), (cd_text[3:], ACTION_CANON)):
            labels += [(item.partition(":")[0], canon) for item in text.split(",") if text != "-"]
    return {family_of(spelling, canon) for spelling, canon in labels}


def test_new_split_contents(dataset):
    out, manifest = dataset
    uniform = _records(out / "eval/uniform.txt")
    entities = [e for r in uniform for e in r.state.entities]
    for r in uniform:
        assert all(e.name in NamePool() for e in r.state.entities)
        assert 1 <= r.state.turn <= 59 and all(20 <= e.max_hp <= 99 for e in r.state.entities)
    for s in STATUSES:  # each status on about half the entities, with every turn count 1..its fresh value
        turns = [t for e in entities for name, t in e.statuses if name == s]
        assert 0.4 < len(turns) / len(entities) < 0.6 and set(turns) == set(range(1, STATUS_MAX_TURNS[s] + 1))
    for a in COOLDOWN_ACTIONS:
        turns = [t for e in entities for name, t in e.cooldowns if name == a]
        assert 0.4 < len(turns) / len(entities) < 0.6 and set(turns) == set(range(1, COOLDOWN[a] + 1))
    assert sum(e.hp <= HP_LOW_SPAN for e in entities) / len(entities) > 0.2
    assert sum(e.hp > e.max_hp - HP_HIGH_SPAN for e in entities) / len(entities) > 0.2
    assert manifest["splits"]["eval/uniform.txt"]["alias_rate"] == 0.0

    known = set(TRAIN_NAMES) | set(HELD_OUT_NAMES) | RESERVED
    unseen = {e.name for r in _records(out / "eval/unseen_names.txt") for e in r.state.entities}
    assert len(unseen) > 100 and not unseen & known and all(re.fullmatch("[a-z]{3,8}", n) for n in unseen)
    assert all(is_eval_name(n) for n in unseen)  # the eval side of the procedural space: never a training name

    variants = [split_record(line)[0] for line in (out / "eval/label_variants.txt").read_text().splitlines()]
    trained = [split_record(line)[0] for f in ("train.txt", "val.txt") for line in (out / f).read_text().splitlines()]
    for prompt in variants:  # every prompt has an eval-family spelling, and nothing else but canonical names
        assert "eval" in _label_kinds(prompt) <= {"canonical", "eval"}, prompt
    train_kinds = set().union(*map(_label_kinds, trained))
    assert "train" in train_kinds and "eval" not in train_kinds  # the eval's spellings are never trained on
    assert 0.12 < manifest["splits"]["train.txt"]["noise_rate"] < 0.28
    for f in ("eval/in_dist.txt", "eval/held_out_names.txt", "eval/aliases.txt", "eval/uniform.txt"):
        assert manifest["splits"][f]["noise_rate"] == 0.0


def test_coverage_in_the_manifest(dataset):
    _, manifest = dataset
    for f in TEXT_FILES:
        coverage = manifest["splits"][f]["coverage"]
        assert list(coverage) == [*ENGINE_BRANCHES, "alias", "noise"] and all(0 <= v <= 1 for v in coverage.values())
    train = manifest["splits"]["train.txt"]["coverage"]
    assert all(train[b] > 0 for b in ENGINE_BRANCHES), train  # the training mix takes every branch
    assert train["crowded"] >= SMALL.crowded_share and train["draw"] >= SMALL.draw_share
    assert manifest["splits"]["eval/crowded.txt"]["coverage"]["crowded"] == 1.0
    assert manifest["splits"]["eval/fizzle.txt"]["coverage"]["fizzle"] == 1.0
    assert manifest["splits"]["train.txt"]["fizzle_rate"] == train["fizzle"]


def test_seeded_output_is_reproducible(dataset, tmp_path):
    _, manifest = dataset
    again = write_dataset(tmp_path / "again", SMALL, progress=False)
    assert again["sha256"] == manifest["sha256"]
    other = write_dataset(tmp_path / "other", replace(SMALL, seed=4), progress=False)
    assert other["sha256"]["train.txt"] != manifest["sha256"]["train.txt"]


def _tiny_world(real):
    """Split sources shrunk to two names and near-fixed numbers, so that splits must collide."""
    tiny = Ranges(max_hp=(20, 21), turn=(1, 2))

    def sources(opts):
        return {k: replace(v, names=("ann", "bo"), ranges=tiny) if v.kind != "out_of_range" else v for k, v in real(opts).items()}

    return sources


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_splits_are_disjoint_even_when_they_collide(seed):
    opts = Options(seed=seed, train_records=1500, val_records=100, eval_records=60, eval_fights=0)
    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as tmp:
        mp.setattr(splits, "split_sources", _tiny_world(splits.split_sources))
        manifest = write_dataset(Path(tmp) / "tiny", opts, progress=False)
        keys = {f: [format_prompt(r.state, r.action) for r in _records(Path(tmp) / "tiny" / f)] for f in TEXT_FILES}
    assert manifest["splits"]["train.txt"]["rejected_prompts"] > 0  # collisions happened and were caught
    for a in keys:
        assert a == "train.txt" or len(set(keys[a])) == len(keys[a])  # non-train splits hold no repeats
        for b in keys:
            assert a == b or not set(keys[a]) & set(keys[b]), (a, b)


def test_failed_run_leaves_no_half_written_output(tmp_path, monkeypatch):
    out = tmp_path / "data"
    write_dataset(out, replace(SMALL, train_records=50, eval_records=5, val_records=5, eval_fights=2), progress=False)
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def boom(*args, **kwargs):
        raise RuntimeError("crash mid-write")

    monkeypatch.setattr(splits, "make_records", boom)
    with pytest.raises(RuntimeError):
        write_dataset(out, SMALL, progress=False)
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_refuses_to_replace_a_folder_that_is_not_a_dataset(tmp_path):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    with pytest.raises(RPGError) as err:
        write_dataset(tmp_path / "precious", replace(SMALL, train_records=10), progress=False)
    assert err.value.field == "out" and (tmp_path / "precious" / "notes.txt").read_text() == "keep me"


def test_bad_options_are_user_errors(tmp_path):
    with pytest.raises(RPGError) as err:
        write_dataset(tmp_path / "x", replace(SMALL, alias_rate=1.5), progress=False)
    assert err.value.field == "alias_rate"
    with pytest.raises(RPGError) as err:
        write_dataset(tmp_path / "x", replace(SMALL, fight_share=0.7, uniform_share=0.4), progress=False)
    assert "at most 1" in str(err.value)


def test_name_lists_are_disjoint_and_not_keywords():
    assert not set(TRAIN_NAMES) & set(HELD_OUT_NAMES)
    assert not (set(TRAIN_NAMES) | set(HELD_OUT_NAMES)) & RESERVED
    assert all(re.fullmatch("[a-z]+", n) for n in TRAIN_NAMES + HELD_OUT_NAMES)
    assert len(set(TRAIN_NAMES)) == len(TRAIN_NAMES) >= 100 and len(set(HELD_OUT_NAMES)) == len(HELD_OUT_NAMES) >= 40


def test_training_names_are_mostly_generated_and_never_eval_names(dataset):
    """Lever 2 of the RPG campaign: most training names come from a procedural space of
    millions, so a model must copy names; the space's eval side (unseen_names) and the
    held-out list never reach training."""
    out, _ = dataset
    names = [e.name for r in _records(out / "train.txt") for e in r.state.entities]
    listed = sum(n in TRAIN_NAMES for n in names) / len(names)
    assert 0.2 < listed < 0.4  # generated_names 0.7
    assert len(set(names)) > 10 * len(TRAIN_NAMES)  # fights repeat their two names every turn
    assert not set(names) & set(HELD_OUT_NAMES)
    assert not any(is_eval_name(n) for n in names if n not in TRAIN_NAMES)
    assert all(re.fullmatch("[a-z]{3,12}", n) for n in names)
