"""`picojax data stories` and its benches: bad input is one clear line, exit 2, nothing written."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from picojax.app.cli import main

SAMPLE = Path(__file__).parent / "fixtures" / "tinystories_v2_sample.txt"


def bad_inputs(tmp: Path) -> dict:
    empty = tmp / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    latin1 = tmp / "latin1.txt"
    latin1.write_bytes("Once upon a time, a caf\u00e9.\n<|endoftext|>\n".encode("latin-1"))
    nostory = tmp / "shard.json"
    nostory.write_text(json.dumps([{"story": "Fine."}, {"text": "no story field"}]))
    broken = tmp / "broken.json"
    broken.write_text('[{"story": "One."}, {"story": "Two.')
    only_seps = tmp / "seps.txt"
    only_seps.write_text("<|endoftext|>\n\n<|endoftext|>\n")
    return {  # file -> words the one-line message must hold
        tmp / "missing.txt": ["missing.txt", "no such file"],
        empty: ["empty.txt", "empty file"],
        binary: ["image.png", "binary"],
        latin1: ["latin1.txt", "not UTF-8"],
        nostory: ["shard.json", "element 1", "no 'story' field"],
        broken: ["broken.json", "malformed JSON"],
        only_seps: ["seps.txt", "no stories"],
    }


def test_bad_inputs_exit_2_with_one_line_and_leave_nothing(tmp_path, capsys):
    (tmp_path / "inputs").mkdir()
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "train.txt").write_text("old data\n")
    for path, needles in bad_inputs(tmp_path / "inputs").items():
        for out in (tmp_path / "fresh", existing):
            # a good file first, so the failure comes after output has started
            assert main(["data", "stories", "--from", str(SAMPLE), "--from", str(path), "--out", str(out), "--quiet"]) == 2
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1, err
            assert all(n in err for n in needles), (needles, err)
            assert not (tmp_path / "fresh").exists()
            assert sorted(p.name for p in existing.iterdir()) == ["train.txt"]
            assert (existing / "train.txt").read_text() == "old data\n"
            assert sorted(p.name for p in tmp_path.iterdir()) == ["existing", "inputs"]  # no temp folders


def test_cli_process_exit_code_and_message(tmp_path):
    out = subprocess.run([sys.executable, "-m", "picojax", "data", "stories", "--from", str(tmp_path / "nope.txt"),
                          "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [f"picojax data: error: {tmp_path / 'nope.txt'}: no such file"]


@pytest.mark.parametrize("argv, needle", [
    (["--out", "x"], "nothing to do"),
    (["--out", "x", "--stories", "5", "--from", str(SAMPLE)], "not both"),
    (["--out", "x", "--stories", "5", "--exact"], "--exact applies to imports"),
    (["--out", "x", "--stories", "0"], "positive"),
    (["--out", "x", "--stories", "5", "--val-fraction", "1.5"], "--val-fraction"),
])
def test_contradictory_flags(argv, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["data", "stories", *argv]) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_generate_and_import_through_the_cli(tmp_path, capsys):
    assert main(["data", "stories", "--stories", "40", "--seed", "3", "--out", str(tmp_path / "gen"), "--quiet"]) == 0
    m = json.loads((tmp_path / "gen" / "manifest.json").read_text())
    assert m["kind"] == "generate" and m["stories"] == 40 and m["splits"]["train"]["stories"] + m["splits"]["val"]["stories"] == 40
    assert "40" not in capsys.readouterr().err  # --quiet: no progress bar
    assert main(["data", "stories", "--from", str(tmp_path / "gen" / "train.txt"), "--from", str(tmp_path / "gen" / "val.txt"),
                 "--out", str(tmp_path / "again"), "--seed", "3", "--quiet"]) == 0
    # re-importing a generated corpus with the same seed reproduces its split exactly
    for split in ("train", "val"):
        assert (tmp_path / "again" / f"{split}.txt").read_bytes() == (tmp_path / "gen" / f"{split}.txt").read_bytes()


def test_benches_run_small(capsys):
    assert main(["bench", "stories-gen", "--stories", "50"]) == 0
    assert main(["bench", "stories-import", "--mb", "0.5", "--no-gzip"]) == 0
    lines = [json.loads(l[6:]) for l in capsys.readouterr().out.splitlines() if l.startswith("BENCH ")]
    assert [r["bench"] for r in lines] == ["stories-gen", "stories-import"]
    assert lines[0]["figures"]["stories_per_s"] > 0 and lines[0]["figures"]["distinct_4gram_ratio"] > 0
    assert lines[1]["figures"]["text_normalise_mb_per_s"] > 0 and 0 < lines[1]["figures"]["text_normalise_peak_rss_mb"] < 500


def test_data_gen_stories_imports_no_jax():
    code = ("import sys, data_gen.stories.importer, data_gen.stories.generator, data_gen.stories.vocab; "
            "sys.exit(1 if 'jax' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_progress_bar_counts_bytes_on_stderr(tmp_path, capsys):
    from data_gen.stories.importer import import_stories

    import_stories([SAMPLE], tmp_path / "out", progress=True)
    err = capsys.readouterr().err
    assert "import" in err and "3.7" in err  # 3,794 bytes read, shown in KiB
