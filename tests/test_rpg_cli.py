"""`picojax rpg step|check` and `picojax data rpg` on the command line."""

import json
import subprocess
import sys

from picojax.app.cli import main

PROMPT = "turn=3 | knight hp=7/50 st=- cd=- | wolf hp=30/30 st=poison:1 cd=guard:2 | act=knight:heal:knight => "
TARGET = "turn=4 | knight hp=19/50 st=- cd=heal:3 | wolf hp=27/30 st=- cd=guard:1 | result=ongoing"


def test_step_prints_the_canonical_next_state(capsys):
    assert main(["rpg", "step", PROMPT]) == 0
    assert capsys.readouterr().out == TARGET + "\n"
    assert main(["rpg", "step", PROMPT.replace(":heal:", ":cure:").rstrip(" =>")]) == 0  # alias, no arrow
    assert capsys.readouterr().out == TARGET + "\n"


def test_step_bad_prompt_is_one_line_and_exit_2():
    out = subprocess.run([sys.executable, "-m", "picojax", "rpg", "step", PROMPT.replace("heal", "fireball")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and "action" in out.stderr and "fireball" in out.stderr


def test_check_agrees_and_names_disagreements(tmp_path, capsys):
    good = tmp_path / "good.txt"
    good.write_text(f"{PROMPT}{TARGET}\n" * 3)
    assert main(["rpg", "check", str(good)]) == 0
    assert "3 of 3 records agree" in capsys.readouterr().out

    bad = tmp_path / "bad.txt"
    bad.write_text(f"{PROMPT}{TARGET}\n{PROMPT}{TARGET.replace('19/50', '18/50')}\nnot a record\n")
    assert main(["rpg", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "1 of 3 records agree" in out and "line 2:" in out and "line 3:" in out and "19/50" in out


def test_check_missing_file_exits_2(tmp_path, capsys):
    assert main(["rpg", "check", str(tmp_path / "nope.txt")]) == 2
    assert "nope.txt" in capsys.readouterr().err


def test_data_rpg_writes_a_dataset_that_checks(tmp_path, capsys):
    out = tmp_path / "rpg"
    argv = ["data", "rpg", "--out", str(out), "--seed", "1", "--train-records", "500", "--val-records", "50",
            "--eval-records", "40", "--eval-fights", "5", "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "records/s" in printed
    assert "coverage" in printed and "guard_halved" in printed and "eval/uniform.txt" in printed
    files = [out / "train.txt", out / "val.txt", *sorted((out / "eval").iterdir())]
    assert len(files) == 12
    assert main(["rpg", "check", *map(str, files)]) == 0
    assert capsys.readouterr().out.count("records agree") == 12

    fights = out / "eval" / "fights.jsonl"
    lines = fights.read_text().splitlines()
    fight = json.loads(lines[0])
    fight["states"][0] = fight["states"][0].replace("turn=2", "turn=3")
    fights.write_text("\n".join([json.dumps(fight)] + lines[1:]) + "\n")
    assert main(["rpg", "check", str(fights)]) == 1
    assert "4 of 5 records agree" in capsys.readouterr().out

    assert main(["data", "rpg", "--out", str(out), "--alias-rate", "2", "--no-progress"]) == 2
    assert "alias_rate" in capsys.readouterr().err
    assert main(["data", "rpg", "--out", str(out), "--uniform-share", "0.6", "--no-progress"]) == 2
    assert "at most 1" in capsys.readouterr().err


def test_data_rpg_knobs_reach_the_manifest(tmp_path, capsys):
    out = tmp_path / "rpg"
    argv = ["data", "rpg", "--out", str(out), "--train-records", "400", "--val-records", "20", "--eval-records", "10",
            "--eval-fights", "1", "--uniform-share", "0.3", "--crowded-share", "0.1", "--draw-share", "0.05",
            "--noise-rate", "0.2", "--no-progress"]
    assert main(argv) == 0
    capsys.readouterr()
    manifest = json.loads((out / "manifest.json").read_text())
    options = manifest["options"]
    assert (options["uniform_share"], options["crowded_share"], options["draw_share"], options["noise_rate"]) == (
        0.3, 0.1, 0.05, 0.2)
    coverage = manifest["splits"]["train.txt"]["coverage"]
    assert coverage["crowded"] >= 0.1 and coverage["draw"] >= 0.05 and 0.1 < coverage["noise"] < 0.3
