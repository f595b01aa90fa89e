"""Every kind of bad input a user can give, across the verbs: one line on stderr,
``picojax <verb>: error: ...`` naming the problem, exit 2, and no file changed.

The table runs in process (`picojax.app.cli.main`) against one small world built once: a
dataset with its tokenizer and token store, a trained run (checkpoints 2 and 4), runs
spoiled in one way each (another model's checkpoints, another tokenizer, damaged
checkpoints, a bad config.json) and a few bad files. Every file and folder of the world is
hashed before and after each case. A few cases run again as real processes, where the
stderr of third-party libraries (Orbax, absl) is not captured away by pytest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from _train_support import make_data, tiny_config, tiny_overrides
from picojax.app.cli import main
from picojax.train import train


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("world")
    data = make_data(root / "data")
    run = root / "run"
    assert train(tiny_config(data, "train.steps=4", "checkpoint.every_steps=2"), run, progress=False)["step"] == 4

    foreign = root / "foreign"  # this workdir's config says depth 2; its checkpoints are of depth 1
    shutil.copytree(run, foreign)
    cfg = json.loads((foreign / "config.json").read_text())
    cfg["model"].update(depth=2, d_model=64)
    (foreign / "config.json").write_text(json.dumps(cfg))

    from picojax.tokenizer import train_tokenizer

    train_tokenizer(data, 200, root / "other.model", profile="stories")
    othertok = root / "othertok"  # the run's own tokenizer copy replaced by another one
    shutil.copytree(run, othertok)
    shutil.copy(root / "other.model", othertok / "tokenizer.model")

    damaged = root / "damaged"  # every checkpoint with a truncated array
    shutil.copytree(run, damaged)
    for step_dir in (damaged / "checkpoints").iterdir():
        victim = max((step_dir / "params").rglob("d/*"), key=lambda p: p.stat().st_size)
        with open(victim, "r+b") as f:
            f.truncate(10)

    files = {
        "cfg.json": '{"model": {"depth": 2}}',
        "syntax.py": "def get_config(:\n",
        "noget.py": "x = 1\n",
        "empty.txt": "",
        "afile": "x",
        "notok/train.txt": "hello\n",
        "emptydata/train.txt": "",
        "badjson/config.json": "{nope",
        "unkkey/config.json": '{"model": {"colour": 1}}',
        "wrongtype/config.json": '{"model": {"depth": "four"}}',
        "allbad.txt": "not a record\nturn=1 | a hp=1/2 st=- cd=- => nonsense\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "badutf.txt").write_bytes(b"\xff\xfe not utf-8\n")
    (root / "garbage.model").write_bytes(b"\x00garbage" * 10)
    return root


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): ("<dir>" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*"))}


def tiny_sets(world: Path, *extra: str) -> list[str]:
    return [a for o in [*tiny_overrides(world / "data"), "train.steps=4", *extra] for a in ("--set", o)]


W = "{w}"  # replaced by the world's root in each argv

# (id, argv with {w} for the world, what the one line must say)
CASES = [
    # config keys and values
    ("config-unknown-key", ["config", "--set", "model.dept=3"],
     "unknown config key 'model.dept'; did you mean model.depth"),
    ("config-not-an-int", ["config", "--set", "model.depth=three"], "bad value for model.depth: 'three' is not an integer"),
    ("config-no-equals", ["config", "--set", "model.depth"], "override 'model.depth' is not of the form key=value"),
    ("config-bad-choice", ["config", "--set", "data.loss_on=targets"], "'targets' is not one of all, target"),
    ("config-heads-vs-kv", ["config", "--set", "model.n_heads=3", "--set", "model.n_kv_heads=2"],
     "model.n_heads=3 is not a multiple of model.n_kv_heads=2"),
    ("config-negative-lr", ["config", "--set", "optim.lr=-1"], "optim.lr must be a finite number >= 0, got -1.0"),
    ("config-nan-lr", ["config", "--set", "optim.base_lr=nan"], "optim.base_lr must be a finite number >= 0, got nan"),
    ("config-negative-cadence", ["config", "--set", "train.log_every=-1"], "train.log_every must be >= 0, got -1"),
    ("config-unknown-task", ["config", "--set", "data.task=chess"], "data.task='chess' is not a registered task"),
    ("config-bad-depths", ["config", "--depths", "5-x"], "--depths '5-x' is not a range like 1-12"),
    # presets
    ("preset-unknown-name", ["config", "--config", "nope"], "no built-in preset 'nope'; choose one of: "),
    ("preset-missing-file", ["config", "--config", "{w}/missing.py"], "config file not found: {w}/missing.py"),
    ("preset-not-python", ["config", "--config", "{w}/cfg.json"], "config file {w}/cfg.json is not a Python preset"),
    ("preset-syntax-error", ["config", "--config", "{w}/syntax.py"], "failed to load: SyntaxError: invalid syntax"),
    ("preset-no-get-config", ["config", "--config", "{w}/noget.py"], "defines no get_config() function"),
    # training: flags, config.json, data, tokenizer, token store, checkpoints
    ("train-stop-after-0", ["train", "--workdir", "{w}/fresh", "--stop-after", "0"], "--stop-after must be >= 1, got 0"),
    ("train-config-json-not-json", ["train", "--workdir", "{w}/badjson"], "{w}/badjson/config.json is not valid JSON"),
    ("train-config-json-unknown-key", ["train", "--workdir", "{w}/unkkey"], "unknown config key 'model.colour'"),
    ("train-config-json-wrong-type", ["train", "--workdir", "{w}/wrongtype"], "model.depth='four' has the wrong type"),
    ("train-no-tokenizer", ["train", "--workdir", "{w}/fresh", "--set", "data.dir={w}/nothing"],
     "no tokenizer at {w}/nothing/tokenizer.model"),
    ("train-vocab-too-small", ["train", "--workdir", "{w}/fresh", "TINY", "--set", "model.vocab_size=100"],
     "the tokenizer has 256 pieces but model.vocab_size is 100: set model.vocab_size=256"),
    ("train-no-token-store", ["train", "--workdir", "{w}/fresh", "TINY", "--set", "data.dir={w}/notok",
                              "--set", "data.tokenizer={w}/data/tokenizer.model"], "no token store at {w}/notok/store/train"),
    ("train-store-of-another-tokenizer", ["train", "--workdir", "{w}/fresh", "TINY", "--set", "data.tokenizer={w}/other.model"],
     "token store {w}/data/store/train was made with tokenizer sha256"),
    ("train-tokenizer-not-sentencepiece", ["train", "--workdir", "{w}/fresh", "TINY", "--set", "data.tokenizer={w}/garbage.model"],
     "{w}/garbage.model is not a SentencePiece model"),
    ("train-checkpoint-of-another-model", ["train", "--workdir", "{w}/foreign", "--no-progress", "--no-task-evals"],
     "is from a different model: model.d_model: checkpoint 32, now 64; model.depth: checkpoint 1, now 2"),
    ("train-resume-changes-the-model", ["train", "--workdir", "{w}/run", "--set", "model.depth=2"],
     "model.depth cannot change when resuming {w}/run (the run has 1, --set gives 2)"),
    ("train-every-checkpoint-damaged", ["train", "--workdir", "{w}/damaged", "--no-progress", "--no-task-evals"],
     "no checkpoint in {w}/damaged/checkpoints restores: step 4: "),
    ("train-workdir-is-a-file", ["train", "--workdir", "{w}/afile", "TINY"], "workdir {w}/afile is a file, not a folder"),
    ("train-workdir-uncreatable", ["train", "--workdir", "/proc/picojax-nope/run", "TINY"],
     "cannot create the workdir /proc/picojax-nope/run: No such file or directory"),
    ("train-multi-process-half-given", ["train", "--workdir", "{w}/fresh", "TINY", "--coordinator", "localhost:1"],
     "a multi-process run needs all of --coordinator, --num-processes and --process-id"),
    ("train-process-id-out-of-range", ["train", "--workdir", "{w}/fresh", "TINY", "--coordinator", "localhost:1",
                                       "--num-processes", "2", "--process-id", "3"], "process id 3 is not in [0, 2)"),
    # sampling: checkpoints, prompts, flags
    ("sample-no-checkpoints", ["sample", "--workdir", "{w}/fresh", "--prompt", "x"], "no checkpoints in {w}/fresh"),
    ("sample-no-such-step", ["sample", "--workdir", "{w}/run", "--prompt", "x", "--step", "999"],
     "no checkpoint at step 999 in {w}/run/checkpoints; have [2, 4]"),
    ("sample-another-tokenizer", ["sample", "--workdir", "{w}/othertok", "--prompt", "x"],
     "is not the one the checkpoint in {w}/othertok was trained with"),
    ("sample-empty-prompt", ["sample", "--workdir", "{w}/run", "--prompt", ""], "the prompt is empty"),
    ("sample-prompts-file-missing", ["sample", "--workdir", "{w}/run", "--prompts-file", "{w}/missing.txt"],
     "prompts file not found: {w}/missing.txt"),
    ("sample-prompts-file-empty", ["sample", "--workdir", "{w}/run", "--prompts-file", "{w}/empty.txt"],
     "{w}/empty.txt holds no prompts"),
    ("sample-prompts-file-not-utf8", ["sample", "--workdir", "{w}/run", "--prompts-file", "{w}/badutf.txt"],
     "{w}/badutf.txt is not UTF-8 text"),
    ("sample-prompt-longer-than-context", ["sample", "--workdir", "{w}/run", "--prompt", "Once upon a time " * 30],
     "but the model's context is 32 tokens"),
    ("sample-num-samples-0", ["sample", "--workdir", "{w}/run", "--prompt", "x", "--num-samples", "0"],
     "--num-samples must be >= 1, got 0"),
    ("sample-negative-temperature", ["sample", "--workdir", "{w}/run", "--prompt", "x", "--temperature", "-1"],
     "temperature must be >= 0"),
    ("sample-top-p-above-1", ["sample", "--workdir", "{w}/run", "--prompt", "x", "--top-p", "1.5"],
     "top_p must be in (0, 1], got 1.5"),
    ("sample-negative-top-k", ["sample", "--workdir", "{w}/run", "--prompt", "x", "--top-k", "-1"], "top_k must be >= 0"),
    ("sample-max-new-tokens-0", ["sample", "--workdir", "{w}/run", "--prompt", "x", "--max-new-tokens", "0"],
     "--max-new-tokens must be >= 1, got 0"),
    # evals
    ("eval-limit-0", ["eval", "--workdir", "{w}/run", "--limit", "0"], "--limit must be >= 1, got 0"),
    ("eval-split-missing", ["eval", "--workdir", "{w}/run", "--task", "rpg", "--split", "{w}/missing.txt"],
     "eval file not found: {w}/missing.txt"),
    ("eval-nothing-scored", ["eval", "--workdir", "{w}/run", "--task", "rpg", "--split", "{w}/allbad.txt"],
     "nothing was scored: 2 malformed line(s) and no readable record (first: allbad line 1: "),
    ("eval-json-uncreatable", ["eval", "--workdir", "{w}/run", "--json", "/proc/picojax-nope/out.json"],
     "--json /proc/picojax-nope/out.json: cannot create its folder"),
    ("eval-rpg-task-without-rpg-data", ["eval", "--workdir", "{w}/run", "--task", "rpg", "--limit", "1"],
     "no eval splits: {w}/data/eval does not exist"),
    # tokenizers
    ("tokenizer-no-train-split", ["tokenizer", "--data", "{w}/nothing"], "no training split at {w}/nothing/train.txt"),
    ("tokenizer-empty-data", ["tokenizer", "--data", "{w}/emptydata"], "{w}/emptydata/train.txt is empty"),
    ("tokenizer-vocab-too-small", ["tokenizer", "--data", "{w}/data", "--vocab-size", "10", "--out", "{w}/t.model"],
     "--vocab-size 10 is too small"),
    ("tokenizer-bad-coverage", ["tokenizer", "--data", "{w}/data", "--character-coverage", "2", "--out", "{w}/t.model"],
     "--character-coverage must be in [0.98, 1]"),
    ("tokenizer-out-uncreatable", ["tokenizer", "--data", "{w}/data", "--vocab-size", "256", "--out", "/proc/picojax-nope/t.model"],
     "cannot write the tokenizer to /proc/picojax-nope/t.model"),
    # token stores
    ("tokenize-no-tokenizer", ["data", "tokenize", "--data", "{w}/notok"], "no tokenizer at {w}/notok/tokenizer.model"),
    ("tokenize-tokenizer-not-sentencepiece", ["data", "tokenize", "--data", "{w}/notok", "--tokenizer", "{w}/garbage.model"],
     "{w}/garbage.model is not a SentencePiece model"),
    ("tokenize-store-uncreatable", ["data", "tokenize", "--data", "{w}/data", "--store", "/proc/picojax-nope/store"],
     "cannot write the token store /proc/picojax-nope/store"),
    # RPG records and data
    ("tokenize-stories-as-rpg-records", ["data", "tokenize", "--data", "{w}/data", "--task", "rpg", "--store", "{w}/st"],
     "{w}/data/train.txt:1: not an RPG record (no ' => ')"),
    ("rpg-step-malformed-record", ["rpg", "step", "garbage"], "bad prompt 'garbage': expected 'turn=<T> | <entity>"),
    ("rpg-check-missing-file", ["rpg", "check", "{w}/missing.txt"], "bad file '{w}/missing.txt': no such file"),
    ("data-rpg-out-uncreatable", ["data", "rpg", "--out", "/proc/picojax-nope/rpg", "--train-records", "10", "--no-progress"],
     "--out /proc/picojax-nope/rpg: cannot write the dataset there"),
    ("data-rpg-out-is-a-file", ["data", "rpg", "--out", "{w}/afile", "--train-records", "10", "--no-progress"],
     "bad out '{w}/afile': is a file, not a folder"),
    ("data-rpg-negative-records", ["data", "rpg", "--out", "{w}/rpg", "--train-records", "-5", "--no-progress"],
     "bad train_records '-5': must be >= 0"),
    ("data-rpg-alias-rate-above-1", ["data", "rpg", "--out", "{w}/rpg", "--alias-rate", "2", "--no-progress"],
     "bad alias_rate '2.0': must be between 0 and 1"),
    # stories data
    ("data-stories-from-missing", ["data", "stories", "--from", "{w}/missing.txt", "--out", "{w}/st"],
     "{w}/missing.txt: no such file"),
    ("data-stories-from-binary", ["data", "stories", "--from", "{w}/garbage.model", "--out", "{w}/st"],
     "{w}/garbage.model: binary file, not text"),
    ("data-stories-val-fraction", ["data", "stories", "--stories", "10", "--val-fraction", "1.5", "--out", "{w}/st"],
     "--val-fraction must be in [0, 1), got 1.5"),
    ("data-stories-both-sources", ["data", "stories", "--stories", "10", "--from", "{w}/empty.txt", "--out", "{w}/st"],
     "give --from PATH to import or --stories N to generate, not both"),
    # benches
    ("bench-train-data-missing", ["bench", "train", "--data", "{w}/missing"], "--data {w}/missing: no such folder"),
    ("bench-train-data-without-tokenizer", ["bench", "train", "--data", "{w}/notok"], "no tokenizer at {w}/notok/tokenizer.model"),
    ("bench-depths-not-numbers", ["bench", "decode", "--depths", "x"], "--depths 'x' is not a comma list of whole numbers"),
    ("bench-zero-batch", ["bench", "decode", "--batches", "1,0"], "--batches '1,0': every number must be >= 1"),
    ("bench-negative-size", ["bench", "matmul", "--size", "-1"], "--size must be > 0, got -1"),
    ("bench-negative-mb", ["bench", "stories-import", "--mb", "-1"], "--mb must be > 0, got -1.0"),
    ("bench-negative-peak", ["bench", "pipeline", "--peak-gflops", "-1"], "--peak-gflops must be > 0, got -1.0"),
]


def expand(world: Path, argv: list[str]) -> list[str]:
    out = []
    for a in argv:
        if a == "TINY":
            out += tiny_sets(world)
        else:
            out.append(a.replace(W, str(world)))
    return out


def test_the_table_is_broad():
    assert len(CASES) >= 30 and len({case_id for case_id, _, _ in CASES}) == len(CASES)
    verbs = {argv[0] if argv[0] != "data" else f"data {argv[1]}" for _, argv, _ in CASES}
    assert verbs >= {"config", "train", "sample", "eval", "tokenizer", "data tokenize", "data rpg", "data stories", "rpg"}


@pytest.mark.parametrize("argv, message", [(argv, message) for _, argv, message in CASES],
                         ids=[case_id for case_id, _, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(world, capsys, argv, message):
    argv, message = expand(world, argv), message.replace(W, str(world))
    before = snapshot(world)
    code = main(argv)
    err = capsys.readouterr().err
    verb = argv[0]
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"picojax {verb}: error: "), err
    assert message in err, err
    assert snapshot(world) == before


# In a real process, where nothing captures what Orbax, absl or JAX print themselves.
SUBPROCESS_CASES = ["train-checkpoint-of-another-model", "train-every-checkpoint-damaged", "sample-another-tokenizer"]


@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_bad_input_in_a_fresh_process_prints_exactly_one_line(world, case_id):
    (argv, message), = [(a, m) for i, a, m in CASES if i == case_id]
    argv, message = expand(world, argv), message.replace(W, str(world))
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
    before = snapshot(world)
    proc = subprocess.run([sys.executable, "-m", "picojax", *argv], env=env, capture_output=True, text=True, timeout=170)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"picojax {argv[0]}: error: "), proc.stderr
    assert message in proc.stderr
    assert snapshot(world) == before
