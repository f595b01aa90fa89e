"""The quickstart end to end at a tiny size, its resume, and the sample/eval verbs on the
run it leaves (bad input included)."""

import io
import json
from pathlib import Path

import pytest

from picojax.app.cli import main
from picojax.app.quickstart import QuickstartError, make_plan, run_quickstart

TINY_MODEL = ["model.depth=1", "model.aspect_ratio=32", "model.head_dim=16", "model.seq_len=320", "train.batch_size=8",
              "checkpoint.every_steps=5", "train.eval_every=0", "train.log_every=5"]
TINY_RPG = {"train_records": 1500, "val_records": 100, "eval_records": 12, "eval_fights": 3}


@pytest.fixture(scope="module")
def rpg_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("quickstart") / "run"
    plan = make_plan("rpg", workdir, overrides=[*TINY_MODEL, "train.steps=10", "train.task_eval_every=5",
                                                "train.task_eval_limit=4"], data=TINY_RPG)
    out = io.StringIO()
    results = run_quickstart(plan, progress=False, out=out)
    return plan, results, out.getvalue()


@pytest.mark.slow
def test_rpg_quickstart_end_to_end(rpg_run):
    plan, results, printed = rpg_run
    for i in range(1, 6):
        assert f"[{i}/5]" in printed
    splits = ("in_dist", "held_out_names", "aliases", "out_of_range", "crowded", "fizzle")
    saved = json.loads((plan.workdir / "eval.json").read_text())
    for split in splits:
        assert saved[split]["records"] == 12
        assert 0.0 <= saved[split]["exact_match"] <= 1.0
        assert sum(saved[split]["taxonomy"].values()) >= saved[split]["records"] * (1 - saved[split]["exact_match"])
    assert saved["rollout"]["fights"] == 3 and saved["_run"]["step"] == 10
    assert "split" in printed and "rollout:" in printed and f"tensorboard --logdir {plan.workdir / 'tb'}" in printed
    # The in-training hook ran at step 5 and at the end; the trainer logged its scalars.
    logged = [json.loads(line) for line in (plan.workdir / "metrics.jsonl").read_text().splitlines()]
    hook_steps = [r["step"] for r in logged if "eval/rpg/in_dist/exact_match" in r]
    assert hook_steps == [5, 10]
    assert any("eval/rpg/rollout/median_turns_to_divergence" in r for r in logged)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tb = EventAccumulator(str(plan.workdir / "tb")).Reload()
    assert "eval/rpg/fizzle/exact_match" in tb.Tags()["scalars"]


@pytest.mark.slow
def test_rerun_resumes_and_skips_finished_stages(rpg_run):
    plan, results, _ = rpg_run
    (plan.workdir / "eval.json").unlink()  # as if interrupted during the eval
    out = io.StringIO()
    again = run_quickstart(plan, progress=False, out=out)
    printed = out.getvalue()
    assert "generate data: already in" in printed
    assert "tokenizer already trained, token store already built" in printed
    assert "train: already trained (10 steps)" in printed
    assert "evaluate: step 10" in printed  # redone, since its output was missing
    assert again["in_dist"]["exact_match"] == results["in_dist"]["exact_match"]
    out = io.StringIO()
    run_quickstart(plan, progress=False, out=out)
    assert "evaluate: already evaluated at step 10" in out.getvalue()


def test_unknown_task_or_data_size_is_a_clear_error(tmp_path):
    with pytest.raises(QuickstartError, match="unknown task"):
        make_plan("chess", tmp_path)
    with pytest.raises(QuickstartError, match="unknown data size"):
        make_plan("rpg", tmp_path, data={"train_recs": 3})
    with pytest.raises(QuickstartError, match="needs a local --workdir"):
        make_plan("rpg", "gs://bucket/qs")


@pytest.mark.slow
def test_eval_verb_reports_malformed_records_per_record_and_writes_json(rpg_run, tmp_path, capsys):
    plan, _, _ = rpg_run
    good = (plan.data_dir / "eval" / "fizzle.txt").read_text().splitlines()[:2]
    mixed = tmp_path / "mine.txt"
    mixed.write_text("\n".join([good[0], "not a record at all", good[1], "turn=1 | a hp=9/3 st=- cd=- | "
                                "b hp=1/1 st=- cd=- | act=a:hit:b => turn=2"]) + "\n")
    out_json = tmp_path / "out" / "eval.json"
    assert main(["eval", "--workdir", str(plan.workdir), "--split", str(mixed), "--json", str(out_json)]) == 0
    captured = capsys.readouterr()
    assert "mine" in captured.out and "2 malformed record(s)" in captured.err
    saved = json.loads(out_json.read_text())
    assert saved["mine"]["records"] == 2 and "exact_match" in saved["mine"]
    assert [m["line"] for m in saved["mine"]["malformed_records"]] == [2, 4]


@pytest.mark.slow
def test_sample_verb_and_its_bad_input(rpg_run, tmp_path, capsys):
    plan, _, _ = rpg_run
    prompt = (plan.data_dir / "eval" / "in_dist.txt").read_text().splitlines()[0].split(" => ")[0] + " => "
    assert main(["sample", "--workdir", str(plan.workdir), "--prompt", prompt, "--max-new-tokens", "8"]) == 0
    assert capsys.readouterr().out.startswith(prompt)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text(prompt + "\n\n" + prompt + "\n")
    assert main(["sample", "--workdir", str(plan.workdir), "--prompts-file", str(prompts), "--num-samples", "2",
                 "--temperature", "1.0", "--seed", "3", "--max-new-tokens", "8"]) == 0
    assert capsys.readouterr().out.count("=== prompt") == 4

    def error_of(*argv):
        assert main(list(argv)) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        return err

    assert "empty" in error_of("sample", "--workdir", str(plan.workdir), "--prompt", "")
    assert "context is 320 tokens" in error_of("sample", "--workdir", str(plan.workdir), "--prompt", prompt * 5)
    assert "no checkpoints" in error_of("sample", "--workdir", str(tmp_path / "empty"), "--prompt", "x")
    assert "no checkpoint at step 7" in error_of("sample", "--workdir", str(plan.workdir), "--prompt", "x", "--step", "7")
    assert "not found" in error_of("eval", "--workdir", str(plan.workdir), "--split", str(tmp_path / "nope.txt"))


@pytest.mark.slow
def test_stories_quickstart_and_eval_of_any_text_file(tmp_path, capsys):
    plan = make_plan("stories", tmp_path / "stories", data={"stories": 400, "samples": 4},
                     overrides=[*TINY_MODEL, "model.vocab_size=384", "train.steps=6", "train.task_eval_every=0"])
    out = io.StringIO()
    results = run_quickstart(plan, progress=False, out=out)
    assert results["val"]["bpb"] > 0 and results["val"]["tokens"] > 0
    samples = results["samples"]
    assert samples["num_samples"] == 4 and len(samples["texts"]) == 4
    assert 0.0 <= samples["vocab_adherence"] <= 1.0 and 0.0 <= samples["eos_rate"] <= 1.0
    assert "bits/byte" in out.getvalue()
    logged = [json.loads(line) for line in (plan.workdir / "metrics.jsonl").read_text().splitlines()]
    assert any("eval/stories/distinct_2" in r for r in logged)  # the hook ran at the end
    # Any TinyStories-format file can be scored with the run's tokenizer.
    sample_file = Path(__file__).parent / "fixtures" / "tinystories_v2_sample.txt"
    out_json = tmp_path / "ts.json"
    assert main(["eval", "--workdir", str(plan.workdir), "--text", str(sample_file), "--samples", "0",
                 "--json", str(out_json)]) == 0
    saved = json.loads(out_json.read_text())
    assert saved["tinystories_v2_sample"]["bpb"] > 0 and saved["_run"]["task"] == "stories"
    assert "tinystories_v2_sample: loss" in capsys.readouterr().out
