"""The pairs task: a user's own JSON Lines of prompt -> completion become a dataset,
train with the loss on the completion, and evaluate by exact match with the failures
listed; every bad line is one error naming the line, and nothing half-written is left."""

import json
import random
import string

import pytest

from data_gen.pairs import import_pairs
from picojax.app.cli import main
from picojax.data_dir import DataDir
from picojax.store import tokenize_dir
from picojax.tokenizer import train_tokenizer


def reversal_pairs(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        word = "".join(rng.choice(string.ascii_lowercase[:8]) for _ in range(rng.randint(2, 4)))
        out.append({"prompt": f"reverse {word} =", "completion": f" {word[::-1]}"})
    return out


def write_jsonl(path, rows) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


@pytest.mark.parametrize("line,message", [
    ("not json", "not JSON"),
    ('["prompt", "completion"]', "a JSON object with \"prompt\" and \"completion\" is needed, got list"),
    ('{"prompt": "a"}', "missing key 'completion'"),
    ('{"completion": "a"}', "missing key 'prompt'"),
    ('{"prompt": "a", "completion": ""}', "empty completion"),
    ('{"prompt": 3, "completion": "a"}', "'prompt' must be a string, got int"),
])
def test_a_bad_line_is_one_error_naming_it_and_nothing_is_written(tmp_path, capsys, line, message):
    src = tmp_path / "my.jsonl"
    write_jsonl(src, [{"prompt": "a", "completion": "b"}, "", line])
    out = tmp_path / "data"
    assert main(["data", "pairs", "--from", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{src}:3: {message}" in err, err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["my.jsonl"]


def test_a_bad_file_leaves_an_existing_dataset_as_it_was(tmp_path, capsys):
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    write_jsonl(good, reversal_pairs(50))
    write_jsonl(bad, ["{nope"])
    out = tmp_path / "data"
    assert main(["data", "pairs", "--from", str(good), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["data", "pairs", "--from", str(good), "--from", str(bad), "--out", str(out)]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_the_split_is_a_keyed_hash_of_the_prompt(tmp_path):
    rows = reversal_pairs(400)
    src = tmp_path / "a.jsonl"
    write_jsonl(src, rows)
    m1 = import_pairs([src], tmp_path / "one", val_fraction=0.2)
    write_jsonl(src, list(reversed(rows)))
    import_pairs([src], tmp_path / "two", val_fraction=0.2)
    val = lambda d: sorted((d / "val.txt").read_text().splitlines())
    assert val(tmp_path / "one") == val(tmp_path / "two")  # reordering the input moves nothing
    train_prompts = {json.loads(x)["prompt"] for x in (tmp_path / "one" / "train.txt").read_text().splitlines()}
    assert not train_prompts & {json.loads(x)["prompt"] for x in val(tmp_path / "one")}
    assert m1["task"] == "pairs" and 0.1 < m1["counts"]["val"] / 400 < 0.3 and m1["duplicates_dropped"] > 0


@pytest.mark.slow
def test_a_pairs_run_trains_evaluates_and_lists_failures(tmp_path, capsys):
    src = tmp_path / "reverse.jsonl"
    write_jsonl(src, reversal_pairs(3000, seed=1))
    data = tmp_path / "data"
    assert main(["data", "pairs", "--from", str(src), "--out", str(data), "--regex", " [a-h]+"]) == 0
    assert DataDir(data).read_manifest()["completion_regex"] == " [a-h]+"
    tok = train_tokenizer(data, 64, data / "tokenizer.model", model_type="char")
    assert all(p not in tok.sp.id_to_piece(i) for i in range(tok.vocab_size) for p in ('"prompt"', "{"))  # text, not JSON
    metas = tokenize_dir(data, tok)
    assert metas["train"]["task"] == "pairs"  # from the manifest
    run = tmp_path / "run"
    argv = ["train", "--workdir", str(run), "--no-progress", "--set", f"data.dir={data}", "--set", "data.task=pairs",
            "--set", "data.loss_on=target", "--set", "model.vocab_size=64", "--set", "model.depth=2",
            "--set", "model.aspect_ratio=32", "--set", "model.head_dim=16", "--set", "model.seq_len=64",
            "--set", "train.batch_size=32", "--set", "train.steps=250", "--set", "optim.lr=0.01",
            "--set", "train.eval_every=0", "--set", "train.task_eval_limit=40", "--set", "checkpoint.every_minutes=0",
            "--set", "mesh.cpu_devices=2"]
    assert main(argv) == 0
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [m["train/loss"] for m in metrics if "train/loss" in m]
    assert losses[-1] < 0.5 * losses[0]
    assert any("eval/pairs/val/exact_match" in m for m in metrics)  # the in-training eval ran
    capsys.readouterr()
    out_json = tmp_path / "eval.json"
    assert main(["eval", "--workdir", str(run), "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    rep = json.loads(out_json.read_text())["val"]
    assert printed.splitlines()[0].split() == ["file", "pairs", "exact", "valid", "failures"]
    assert rep["records"] == DataDir(data).read_manifest()["counts"]["val"] and 0 <= rep["exact_match"] <= 1
    assert rep["failures"] == round(rep["records"] * (1 - rep["exact_match"]))
    for f in rep["failure_examples"]:
        assert set(f) == {"prompt", "expected", "got"} and f["got"] != f["expected"]
        assert f"expected {f['expected']!r}, got {f['got']!r}" in printed or rep["failure_examples"].index(f) >= 5
    assert "format_validity" in rep
