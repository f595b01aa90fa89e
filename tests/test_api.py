"""`picojax.load`: a run (or its GGUF export) from a program, and the README's example
run as written against a tiny trained RPG run."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from data_gen.rpg import Options, write_dataset
from picojax.store import tokenize_dir
from picojax.tokenizer import train_tokenizer
from picojax.train import train
from tests._train_support import tiny_config

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "turn=1 | hero hp=40/40 st=- cd=- | wolf hp=30/30 st=- cd=- | act=hero:strike:wolf => "


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    data = root / "data"
    write_dataset(data, Options(seed=1, train_records=600, val_records=40, eval_records=10, eval_fights=2), progress=False)
    tok = train_tokenizer(data, 128, data / "tokenizer.model", model_type="char")
    tokenize_dir(data, tok)
    cfg = tiny_config(data, "data.task=rpg", "data.loss_on=target", "model.vocab_size=128", "model.seq_len=320",
                      "train.steps=4", "train.batch_size=8")
    train(cfg, root / "run", progress=False)
    return root / "run"


def test_load_a_run_and_complete_under_the_grammar(run):
    import picojax

    model = picojax.load(run)
    [free] = model.complete([PROMPT], max_new_tokens=40, constrained=False)
    [constrained] = model.complete([PROMPT])
    assert isinstance(free, str)
    assert constrained.startswith("turn=") and "| hero hp=" in constrained and "| wolf hp=" in constrained
    assert model.complete([PROMPT, PROMPT]) == [constrained, constrained]  # batched, greedy, deterministic


def test_the_readme_example_runs_as_written(run, tmp_path):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- picojax\.load example -->\n```python\n(.*?)```", text, re.S)
    assert block, "the README lost its picojax.load example"
    script = tmp_path / "fight.py"
    script.write_text(block.group(1).replace('"runs/rpg"', repr(str(run))))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.fullmatch(r"\d+ of \d+ turns right", out.stdout.strip().splitlines()[-1]), out.stdout


def test_the_one_liner_of_the_issue(run):
    code = f"import picojax; m = picojax.load({str(run)!r}); print(m.complete([{PROMPT!r}]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0 and out.stdout.startswith("['turn="), out.stderr[-2000:]


def test_a_path_that_is_no_run_is_a_clear_error(tmp_path):
    import picojax
    from picojax.app.api import LoadError

    with pytest.raises(LoadError, match="not a run's workdir"):
        picojax.load(tmp_path)


@pytest.fixture(scope="module")
def gguf(run, tmp_path_factory):
    pytest.importorskip("gguf", reason="the export extra is not installed (pip install 'picojax[export]')")
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install 'picojax[export]')")
    from picojax.app.cli import main

    out = tmp_path_factory.mktemp("gguf") / "rpg-q8_0.gguf"
    assert main(["export", "--workdir", str(run), "--format", "gguf", "--dtype", "q8_0", "--out", str(out),
                 "--grammar"]) == 0
    assert out.with_suffix(".gbnf").is_file()
    return out


def test_llama_cpp_under_the_exported_grammar_writes_records_that_parse(run, gguf):
    """The GBNF beside the q8_0 GGUF keeps llama.cpp's outputs inside the record grammar,
    even for an untrained model; with the prompt's names (picojax.load) they also copy them."""
    import llama_cpp

    from data_gen.rpg import split_record
    from eval.rpg.grammar import prompt_names
    from picojax.run_dir import RunDir
    import picojax

    data = Path(RunDir(run).read_config().data.dir)
    prompts = [split_record(line)[0] for line in (data / "eval" / "in_dist.txt").read_text().splitlines()[:6]]
    grammar = llama_cpp.LlamaGrammar.from_string(gguf.with_suffix(".gbnf").read_text(), verbose=False)
    llm = llama_cpp.Llama(model_path=str(gguf), n_ctx=0, verbose=False)
    pattern = re.compile(r"turn=\d+ \| [a-z]+ hp=\d+/\d+ st=\S+ cd=\S+ \| [a-z]+ hp=\d+/\d+ st=\S+ cd=\S+ \| "
                         r"result=(ongoing|draw|win:[a-z]+)")
    for p in prompts:
        text = llm.create_completion(p, max_tokens=200, temperature=0, grammar=grammar)["choices"][0]["text"]
        assert pattern.fullmatch(text), text
    model = picojax.load(gguf)
    for p, text in zip(prompts, model.complete(prompts, max_new_tokens=200)):
        a, b = prompt_names(p)
        assert pattern.fullmatch(text) and f"| {a} hp=" in text and f"| {b} hp=" in text, text


def test_eval_scores_the_gguf_as_deployed(run, gguf, capsys):
    from picojax.app.cli import main

    assert main(["eval", "--workdir", str(run), "--gguf", str(gguf), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["split", "records", "exact"] and "in_dist" in out
