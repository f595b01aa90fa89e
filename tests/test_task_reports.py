"""A task returns its eval as data (`picojax.tasks.Report`, `Samples`); the app prints it
(`picojax.app.task_reports`), exactly as the tasks printed it themselves before."""

from __future__ import annotations

import ast
import io
from pathlib import Path

from eval.pairs.evaluate import score
from eval.rpg.evaluate import evaluate_file
from picojax.app.task_reports import print_eval, print_samples
from picojax.tasks import Report, Sample, Samples, get_task

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "turn=3 | knight hp=7/50 st=- cd=- | wolf hp=30/30 st=poison:1 cd=guard:2 | act=knight:heal:knight => "
TARGET = "turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=- cd=guard:1 | result=ongoing"


def printed(fn, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    fn(*args, out, err)
    return out.getvalue(), err.getvalue()


def test_eval_prints_the_table_samples_on_out_and_warnings_then_notes_on_err():
    report = Report("the table", samples=Samples("temperature 0.8", tuple(Sample(t) for t in ("a\nb", "c", "d", "e"))),
                    warnings=("decoded without the grammar: x",), notes=("in_dist: 1 malformed record(s) not scored",))
    out, err = printed(print_eval, report)
    assert out == "the table\n---\na\nb\n---\nc\n---\nd\n"
    assert err == "picojax eval: decoded without the grammar: x\nin_dist: 1 malformed record(s) not scored\n"
    assert printed(print_eval, Report("only"))[0] == "only\n"


def test_samples_free_text_indented_and_answers_marked():
    out = io.StringIO()
    print_samples(Samples("temperature 0.8", (Sample("Once\nupon"), Sample("Two"))), out)
    assert out.getvalue() == "samples (temperature 0.8):\n  Once\n  upon\n\n  Two\n\n"
    out = io.StringIO()
    print_samples(Samples("greedy, in-distribution prompts", (
        Sample(" right", prompt="p =>", expected="right", ok=True),
        Sample("wrong", prompt="q => ", expected="fine", ok=False))), out)
    assert out.getvalue() == ("samples (greedy, in-distribution prompts):\n  ok  p => right\n  BAD q => wrong\n"
                              "      expected fine\n")


def test_each_task_reports_its_results_as_data(tmp_path):
    stories = {"val": {"loss": 1.2345, "bpb": 0.5, "tokens": 1000, "bytes": 4000},
               "samples": {"num_samples": 2, "vocab_adherence": .9, "distinct_2": .5, "distinct_3": .6,
                           "repetition": .1, "mean_words": 40, "eos_rate": .75, "texts": ["One.", "Two."]}, "_run": {}}
    report = get_task("stories").report(stories)
    assert report.table == ("val: loss 1.2345 nats/token, 0.5000 bits/byte over 1,000 tokens\n"
                            "samples: 2, vocab adherence 90.0%, distinct-2 0.500, distinct-3 0.600, repetition 10.0%, "
                            "mean 40 words, EOS 75%")
    assert [s.text for s in report.samples.items] == ["One.", "Two."] and report.samples.how == "temperature 0.8"
    assert [s.text for s in get_task("stories").samples(stories, None, None, 1).items] == ["One."]
    text = get_task("text").report({"val": stories["val"], "samples": {"texts": ["x"]}})
    assert text.table == "val: loss 1.2345 nats/token, 0.5000 bits/byte over 1,000 tokens (4,000 bytes)"
    pairs = get_task("pairs").report({"val": score(["p1", "p2"], ["a", "b"], ["a", "x"], None), "_run": {}})
    assert pairs.table.splitlines()[1:] == ["val       2  50.0%      -         1", "val: 'p2' -> expected 'b', got 'x'"]
    assert not pairs.warnings and not pairs.notes and pairs.samples is None
    (tmp_path / "mine.txt").write_text(f"{PROMPT}{TARGET}\nnot a record\n")
    mine = evaluate_file(tmp_path / "mine.txt", lambda prompts: [TARGET for _ in prompts])
    rpg = get_task("rpg").report({"_decoding": {"constrained": False, "note": "decoded without the grammar: x"},
                                  "mine": mine})
    assert rpg.table.splitlines()[1].split()[:3] == ["mine", "1", "100.0%"]
    assert rpg.warnings == ("decoded without the grammar: x",)
    assert rpg.notes == (f"mine: 1 malformed record(s) not scored: line 2: {mine['malformed_records'][0]['error']}",)


def test_no_task_prints():
    for path in sorted((ROOT / "eval").glob("*/task.py")) + [ROOT / "picojax" / "tasks.py"]:
        calls = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Name) and n.func.id == "print"]
        assert not calls, f"{path.relative_to(ROOT)} prints (line {calls[0].lineno}): return a Report instead"


class EchoSampler:
    """Completes each prompt with its reverse (a model that learned half of a reversal task)."""

    class tokenizer:
        encode_batch = staticmethod(lambda texts: [list(t) for t in texts])

    def complete(self, prompts, settings):
        return [type("Completion", (), {"text": p[::-1]}) for p in prompts]


def test_pairs_samples_are_greedy_val_completions_marked_against_the_expected_ones(tmp_path):
    import json

    from picojax import config_io
    from picojax.data_dir import DataDir

    lines = [json.dumps({"prompt": p, "completion": c}) for p, c in (("ab", "ba"), ("cd", "xx"), ("ef", "fe"))]
    DataDir(tmp_path).text_path("val").write_text("\n".join(lines) + "\n")
    cfg = config_io.load(None, ["data.task=pairs", f"data.dir={tmp_path}"])
    samples = get_task("pairs").samples({}, EchoSampler(), cfg, 2)
    assert samples.how == "greedy, val prompts"
    assert [(s.prompt, s.text, s.expected, s.ok) for s in samples.items] == [("ab", "ba", "ba", True),
                                                                              ("cd", "dc", "xx", False)]
