"""RPG eval core: the failure taxonomy, split aggregation, malformed records and rollout.

The model is replaced by a `complete` function so the bookkeeping is pinned exactly:
the engine itself (everything right), and hand-broken outputs (each one way wrong).
"""

import json

import pytest

from data_gen.rpg import Options, format_target, parse_prompt, step, write_dataset
from eval.rpg.compare import FAILURE_CLASSES, check_output
from eval.rpg.evaluate import default_splits, evaluate_file, evaluate_paths
from eval.rpg.records import EvalInputError, load_fights
from eval.rpg.report import format_table, scalar_metrics
from eval.rpg.rollout import rollout

# The spec's second worked example.
PROMPT = "turn=3 | knight hp=7/50 st=- cd=- | wolf hp=30/30 st=poison:1 cd=guard:2 | act=knight:heal:knight => "
TARGET = "turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=- cd=guard:1 | result=ongoing"

# One hand-made broken output per failure class, each wrong in exactly that one way.
BROKEN = {
    "format": "turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=-",  # cut at a boundary
    "entity": "turn=4 | knight hp=19/50 st=- cd=heal:3 | wolfe hp=27/30 st=- cd=guard:1 | result=ongoing",
    "status": "turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=poison:1 cd=guard:1 | result=ongoing",
    "hp": "turn=4 | knight hp=17/50 st=- cd=heal:3 | wolf hp=27/30 st=- cd=guard:1 | result=ongoing",
    "cooldown": "turn=4 | knight hp=19/50 st=- cd=heal:4 | wolf hp=27/30 st=- cd=guard:1 | result=ongoing",
    "turn": "turn=3 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=- cd=guard:1 | result=ongoing",
    "result": "turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=- cd=guard:1 | result=win:knight",
}


def test_the_worked_example_is_the_engine_target():
    assert format_target(*step(*parse_prompt(PROMPT))) == TARGET


@pytest.mark.parametrize("cls", FAILURE_CLASSES)
def test_taxonomy_one_class_per_broken_output(cls):
    check = check_output(BROKEN[cls], TARGET)
    assert not check.exact
    assert check.failures == (cls,)
    assert check.valid == (cls != "format")


def test_exact_output_and_trailing_newline():
    check = check_output(TARGET + "\n", TARGET)
    assert check.exact and check.valid and check.failures == () and all(check.fields.values())


def test_swapped_entities_are_one_entity_failure_and_renamed_winner_is_not_a_result_failure():
    swapped = "turn=4 | wolf hp=27/30 st=- cd=guard:1 | knight hp=19/50 st=- cd=heal:3 | result=ongoing"
    check = check_output(swapped, TARGET)
    assert check.failures == ("entity",)
    assert check.fields["entity1.hp"] and not check.fields["entity1.name"]
    won = "turn=31 | mage hp=0/40 st=- cd=- | slime hp=5/22 st=- cd=- | result=win:slime"
    renamed = "turn=31 | mage hp=0/40 st=- cd=- | slim hp=5/22 st=- cd=- | result=win:slim"
    assert check_output(renamed, won).failures == ("entity",)


def test_several_failures_at_once_and_field_accuracy():
    both = "turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=30/30 st=poison:1 cd=guard:1 | result=ongoing"
    check = check_output(both, TARGET)
    assert check.failures == ("status", "hp")
    assert [f for f, ok in check.fields.items() if not ok] == ["entity2.hp", "entity2.st"]


def _write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_split_report_counts_and_malformed_records_per_line(tmp_path):
    good = PROMPT + TARGET
    path = _write(tmp_path, "mine.txt", [
        good,
        "this is not a record",
        PROMPT + BROKEN["hp"],  # a file whose target disagrees with the engine
        "turn=3 | knight hp=70/50 st=- cd=- | wolf hp=30/30 st=- cd=- | act=knight:heal:knight => x",
        good,
    ])
    outputs = iter([BROKEN["status"], TARGET])
    report = evaluate_file(path, lambda prompts: [next(outputs) for _ in prompts])
    assert report["records"] == 2
    assert report["exact_match"] == 0.5 and report["format_validity"] == 1.0
    assert report["taxonomy"]["status"] == 1 and sum(report["taxonomy"].values()) == 1
    assert [m["line"] for m in report["malformed_records"]] == [2, 3, 4]
    assert "disagrees with the engine" in report["malformed_records"][1]["error"]
    assert "hp" in report["malformed_records"][2]["error"]
    assert report["field_accuracy"]["entity2.st"] == 0.5 and report["field_accuracy"]["turn"] == 1.0
    assert report["examples"]["status"][0]["output"] == BROKEN["status"]


def test_missing_and_binary_eval_files_are_user_errors(tmp_path):
    with pytest.raises(EvalInputError, match="not found"):
        evaluate_file(tmp_path / "nope.txt", lambda p: p)
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(EvalInputError, match="UTF-8"):
        evaluate_file(tmp_path / "bin.txt", lambda p: p)


def engine(prompts):
    return [format_target(*step(*parse_prompt(p))) for p in prompts]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("rpg") / "data"
    write_dataset(out, Options(seed=3, train_records=50, val_records=10, eval_records=30, eval_fights=6), progress=False)
    return out


def test_the_engine_scores_perfectly_on_every_split(dataset):
    results = evaluate_paths(default_splits(dataset), engine, limit=20)
    assert set(results) == {"in_dist", "held_out_names", "aliases", "out_of_range", "crowded", "fizzle", "uniform",
                            "unseen_names", "label_variants", "rollout"}
    for split, rep in results.items():
        if split != "rollout":
            assert rep["records"] == 20 and rep["exact_match"] == 1.0 and rep["malformed_records"] == []
            assert rep["scored_by_written_target"] == 0  # every split's prompts, noisy labels too, engine-readable
    ro = results["rollout"]
    assert ro["fights"] == 6 and ro["completed"] == 1.0
    assert ro["mean_turns_to_divergence"] == ro["mean_fight_length"] > 1
    table = format_table(results)
    assert "in_dist" in table and "rollout: 6 fights" in table
    scalars = scalar_metrics(results)
    assert scalars["aliases/exact_match"] == 1.0 and scalars["rollout/completed"] == 1.0
    json.dumps(results)  # the CLI writes it as is


def test_rollout_counts_turns_to_the_first_divergence(dataset):
    fights, malformed = load_fights(dataset / "eval" / "fights.jsonl")
    assert not malformed and len(fights) == 6
    diverge_at = 2  # turns 0 and 1 right, turn 2 wrong: 2 turns survived (when the fight is that long)
    calls = []

    def breaks_at_turn_two(prompts):
        calls.append(len(prompts))
        out = engine(prompts)
        return [o.replace("turn=", "turn=9") for o in out] if len(calls) > diverge_at else out

    report = rollout(fights, breaks_at_turn_two)
    lengths = [len(f.actions) for f in fights]
    assert report["turns"] == [min(diverge_at, n) for n in lengths]
    assert calls[0] == 6  # one batched decode per turn, all live fights together


def test_malformed_fights_are_reported_not_raised(tmp_path, dataset):
    good = (dataset / "eval" / "fights.jsonl").read_text().splitlines()[0]
    bad_state = json.loads(good)
    bad_state["states"][0] = bad_state["states"][0].replace("turn=", "turn=7")
    path = _write(tmp_path, "f.jsonl", [good, "{not json", json.dumps({"initial": "x"}), json.dumps(bad_state)])
    fights, malformed = load_fights(path)
    assert len(fights) == 1 and [m["line"] for m in malformed] == [2, 3, 4]


def test_unreadable_labels_are_scored_against_the_written_target(tmp_path):
    """The messy-label experiment: prompts whose labels the engine cannot read (an
    unpublished alias, a spelling off the noisy-label rules) are scored, not skipped."""
    mend = PROMPT.replace(":heal:", ":mend:")  # "mend": not a published alias of heal
    poisn = PROMPT.replace("st=poison:1", "st=poisn:1")  # a typo, not a noisy variant
    noisy = PROMPT.replace(":heal:", ":He-Al:").replace("st=poison:1", "st=POISON:1")  # readable by the engine
    path = _write(tmp_path, "messy.txt", [
        mend + TARGET,
        poisn + TARGET,
        noisy + TARGET,
        mend + "turn=4 | knight hp=19/50",  # unreadable prompt and a written target that does not parse
        mend.rstrip(" =>") + " => ",  # no target at all
        "no arrow at all",
    ])
    outputs = {mend: TARGET, poisn: BROKEN["hp"], noisy: BROKEN["cooldown"]}
    seen = []

    def complete(prompts):
        seen.extend(prompts)
        return [outputs[p] for p in prompts]

    report = evaluate_file(path, complete)
    assert seen == [mend, poisn, noisy]  # prompts go to the model exactly as written
    assert report["records"] == 3 and report["scored_by_written_target"] == 2
    assert report["exact_match"] == pytest.approx(1 / 3) and report["format_validity"] == 1.0
    assert report["taxonomy"]["hp"] == 1 and report["taxonomy"]["cooldown"] == 1 and sum(report["taxonomy"].values()) == 2
    assert [m["line"] for m in report["malformed_records"]] == [4, 5, 6]
    assert "written target" in report["malformed_records"][0]["error"] and "mend" in report["malformed_records"][0]["error"]
    assert [w["line"] for w in report["written_target_examples"]] == [1, 2]
    assert "mend" in report["written_target_examples"][0]["error"]
    table = format_table({"messy": report})
    assert "by_target" in table.splitlines()[0] and "by_target: records whose prompt" in table
    assert scalar_metrics({"messy": report})["messy/scored_by_written_target"] == pytest.approx(2 / 3)
    json.dumps(report)


def test_a_written_target_is_strict_and_an_output_is_judged_by_the_strict_parser(tmp_path):
    mend = PROMPT.replace(":heal:", ":mend:")
    aliased_target = TARGET.replace("cd=heal:3", "cd=hl:3")  # the written target must be canonical
    path = _write(tmp_path, "strict.txt", [mend + aliased_target, mend + TARGET])
    report = evaluate_file(path, lambda prompts: [TARGET.replace("cd=heal:3", "cd=HEAL:3") for _ in prompts])
    assert [m["line"] for m in report["malformed_records"]] == [1]
    assert report["records"] == 1 and report["format_validity"] == 0.0 and report["taxonomy"]["format"] == 1


def test_no_by_target_column_when_every_prompt_is_engine_readable(tmp_path):
    report = evaluate_file(_write(tmp_path, "ok.txt", [PROMPT + TARGET]), engine)
    assert report["scored_by_written_target"] == 0 and "by_target" not in format_table({"ok": report})
