"""The `picojax` command line: verbs, help, usage errors and exit codes."""

import json
import subprocess
import sys

import pytest

from picojax.app.cli import build_parser, main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "picojax", *args], capture_output=True, text=True)


def test_help_lists_the_verbs():
    out = run_cli("--help")
    assert out.returncode == 0
    for verb in ("config", "bench"):
        assert verb in out.stdout


def test_every_verb_has_help():
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices
    for name in verbs:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0


def test_unknown_verb_and_flag_exit_2():
    assert run_cli("frobnicate").returncode == 2
    assert run_cli("config", "--frobnicate").returncode == 2


def test_config_prints_resolved_config():
    out = run_cli("config", "--config", "rpg", "--set", "model.depth=3")
    assert out.returncode == 0, out.stderr
    assert "model.depth = 3" in out.stdout and "model.d_model = 192" in out.stdout


def test_config_wrong_key_exits_2_naming_the_key():
    out = run_cli("config", "--set", "model.dept=3")
    assert out.returncode == 2
    assert "model.depth" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_config_json_and_depth_table(capsys):
    assert main(["config", "--json", "--set", "model.depth=2"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["d_model"] == 128
    assert main(["config", "--depths", "1-3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[0] == "depth" and [l.split()[0] for l in lines[1:]] == ["1", "2", "3"]


def test_bench_prints_a_table_and_one_json_line(capsys):
    assert main(["bench", "matmul", "--size", "128", "--repeats", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    records = [json.loads(line[len("BENCH "):]) for line in out if line.startswith("BENCH ")]
    assert len(records) == 1 and records[0]["bench"] == "matmul"
    assert records[0]["figures"]["matmul_gflops"] > 0 and records[0]["machine"]["cores"] >= 1


def bench_record(argv: list[str], capsys) -> tuple[str, dict]:
    assert main(argv) == 0
    out = capsys.readouterr().out
    (line,) = [l for l in out.splitlines() if l.startswith("BENCH ")]
    return out, json.loads(line[len("BENCH "):])["figures"]


def test_bench_attention_labels_a_cudnn_fallback_by_what_ran(capsys):
    import jax

    out, figures = bench_record(["bench", "attention", "--kernels", "xla,cudnn", "--depths", "1", "--rounds", "1",
                                 "--batch", "1", "--seq-len", "16", "--head-dim", "16"], capsys)
    assert jax.default_backend() == "cpu" and figures["d1_cudnn_ran"] == "xla"  # no cuDNN on a CPU
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("1 ")]
    assert [r[2] for r in rows] == ["xla", "xla"] and "xla (cudnn fell back)" in out
    assert figures["d1_fastest"] in ("xla", "xla (cudnn fell back)")


def test_bench_pipeline_divides_by_the_measured_peak(capsys, monkeypatch):
    from picojax import hardware

    monkeypatch.setattr(hardware, "peak_flops", lambda devices=None: 123e9)
    _, figures = bench_record(["bench", "pipeline", "--records", "600", "--batches", "2"], capsys)
    assert figures["peak_gflops"] == 123.0 and figures["peak_source"] == "measured"
    assert figures["step_tokens_per_s_estimate"] == pytest.approx(123e9 / figures["flops_per_token"])
    _, figures = bench_record(["bench", "pipeline", "--records", "600", "--batches", "2", "--peak-gflops", "50"], capsys)
    assert figures["peak_gflops"] == 50.0 and figures["peak_source"] == "flag"
