"""`picojax sweep` and `picojax report`: planning, resume, results, the report, bad input.

Fast tests fake the trainer and the eval (the runner's seams) or build results by hand;
the slow ones train tiny points for real.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest

from picojax import config_io
from picojax.app.cli import main
from picojax.app.sweep import plan as plan_mod
from picojax.app.sweep import runner
from picojax.app.sweep.plan import budget_label, make_sweep
from picojax.app.sweep.report import isoflop_minima, series_of, write_report
from picojax.app.sweep.results import training_figures
from picojax.config import flops_per_token, param_count
from picojax.tasks import EvalRequest

from _train_support import make_data, tiny_overrides

# The dial's horizon for every depth (tiny's preset fixes train.steps; `none` derives it).
TINY = ["model.aspect_ratio=32", "model.head_dim=16", "model.vocab_size=256", "model.seq_len=32",
        "train.batch_size=8", "train.steps=none", "data.task=stories"]


# ----------------------------------------------------------------------------------------
# Bad input: one line, exit 2, nothing written.


@pytest.mark.parametrize("argv, message", [
    (["--config", "tiny", "--depths", "0"], "must name depths >= 1"),
    (["--config", "tiny", "--depths", "x"], "is not a range like 1-12"),
    (["--config", "tiny", "--depths", "4-2"], "empty range"),
    (["--config", "tiny", "--depths", "1-2", "--flops", "-1"], "must be finite numbers > 0"),
    (["--config", "tiny", "--depths", "1-2", "--flops", "1e15,lots"], "not a list of FLOPs budgets"),
    (["--config", "nope/missing.py", "--depths", "1-2"], "config file not found"),
    (["--depths", "1-2"], "--config is required"),
    (["--config", "tiny"], "--depths is required"),
    (["--config", "tiny", "--depths", "1", "--set", "model.dept=2"], "unknown config key"),
    (["--config", "tiny", "--depths", "1", "--data-size", "train_records=5"], "only applies to the quickstart"),
    (["--config", "tiny", "--depths", "1", "--data-from-quickstart", "--data-size", "recs=5"], "unknown data size"),
    (["--config", "tiny", "--depths", "1", "--eval-limit", "0"], "--eval-limit must be >= 1"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    workdir = tmp_path / "sweep"
    assert main(["sweep", "--workdir", str(workdir), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("picojax sweep: error:") and message in err, err
    assert not workdir.exists()


def test_report_without_results_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no results.json" in err


@pytest.mark.parametrize("argv,message", [([], "give the sweep's workdir"), (["a", "--workdir", "b"], "two workdirs")])
def test_report_workdir_mistakes_are_one_line_and_exit_2(capsys, argv, message):
    assert main(["report", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_matplotlib_is_a_dependency_of_the_main_install():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("matplotlib") for d in project["dependencies"])
    assert project["optional-dependencies"]["plot"] == ["matplotlib>=3.8"]  # the old extra still installs


# ----------------------------------------------------------------------------------------
# Planning.


def test_points_train_to_the_dials_horizon(tmp_path):
    sweep = make_sweep("tiny", [1, 2, 3], tmp_path / "s", overrides=TINY)
    assert [p.name for p in sweep.points] == ["d1", "d2", "d3"]
    for p in sweep.points:
        same = config_io.load("tiny", [*TINY, f"model.depth={p.depth}"])  # what `picojax config --depths` shows
        assert p.cfg.train.steps == same.train.steps and p.cfg.model.depth == p.depth
        assert p.dir == (tmp_path / "s" / p.name).absolute()
    assert sweep.points[0].steps < sweep.points[2].steps  # a deeper model's horizon is longer
    assert sweep.total_flops == pytest.approx(sum(p.flops_per_token * p.tokens_per_step * p.steps for p in sweep.points))


def test_isoflop_points_get_the_budgets_steps(tmp_path):
    sweep = make_sweep("tiny", [1, 2], tmp_path, overrides=TINY, budgets=[1e12, 2.5e12])
    assert [p.name for p in sweep.points] == ["f1e12/d1", "f1e12/d2", "f2.5e12/d1", "f2.5e12/d2"]
    for p in sweep.points:
        per_step = flops_per_token(p.cfg.model) * 8 * 32
        assert p.steps == math.ceil(p.budget / per_step)
        assert p.cfg.optim.warmup_steps == int(0.05 * p.steps)  # the schedule follows the new steps
    assert budget_label(3e15) == "3e15" and budget_label(2.5e15) == "2.5e15" and budget_label(1e9) == "1e9"


def test_a_quickstart_preset_trains_on_the_sweeps_own_data(tmp_path):
    sweep = make_sweep("configs/quickstart_rpg.py", [1], tmp_path, data_sizes={"train_records": 500})
    assert sweep.quickstart_data["train_records"] == 500 and sweep.quickstart_data["val_records"] > 0
    assert sweep.points[0].cfg.data.dir == str((tmp_path / "data").absolute())


def test_a_point_trained_with_another_config_is_refused(tmp_path):
    sweep = make_sweep("tiny", [1], tmp_path, overrides=TINY)
    point = sweep.points[0]
    other = config_io.load("tiny", [*TINY, "model.depth=1", "optim.base_lr=0.5"])
    with pytest.raises(plan_mod.SweepError, match="optim.base_lr"):
        plan_mod.check_same_experiment(point, other)
    moved = config_io.load("tiny", [*TINY, "model.depth=1", "data.dir=/elsewhere", "train.log_every=3"])
    plan_mod.check_same_experiment(point, moved)  # where data lives and how often it logs do not matter


# ----------------------------------------------------------------------------------------
# The runner with a fake trainer and eval: resume, interruption, a failed point.


class FakeRun:
    """Stands in for train() and the eval; writes what a real run leaves (a checkpoint
    step, metrics.jsonl lines) as far as the runner reads it."""

    def __init__(self, monkeypatch, stop=None):
        self.trained, self.evaluated, self.stop = [], [], stop or {}
        monkeypatch.setattr(runner, "_train", self.train)
        monkeypatch.setattr(runner, "_evaluate", self.evaluate)
        monkeypatch.setattr(runner, "_task_hooks", lambda cfg: [])
        monkeypatch.setattr(runner, "trained_step", lambda p: self.steps_of(p))
        monkeypatch.setattr(runner, "_device", lambda: "fake")
        self.done: dict[str, int] = {}

    def steps_of(self, point):
        return self.done.get(point.name, 0)

    def train(self, cfg, workdir, *, hooks, progress):
        name = Path(workdir).relative_to(self.root).as_posix()
        self.trained.append(name)
        start = self.done.get(name, 0)
        Path(workdir).mkdir(parents=True, exist_ok=True)
        stopped = self.stop.pop(name, None)
        end = start + 1 if stopped else cfg.train.steps
        with open(Path(workdir) / "metrics.jsonl", "a") as f:
            f.write(json.dumps({"step": start, "train/compile_time": 1.0}) + "\n")
            for step in range(start + 1, end + 1):
                f.write(json.dumps({"step": step, "train/loss": 5.0 / step, "train/tokens_per_sec": 1000.0,
                                    "train/step_time": 0.5, "train/mfu": "nan"}) + "\n")
            if not stopped:
                f.write(json.dumps({"step": end, "eval/val_loss": 2.0 / cfg.model.depth, "eval/val_bpb": 1.0}) + "\n")
        self.done[name] = end
        summary = {"start_step": start, "step": end, "steps": cfg.train.steps, "stopped": stopped or "horizon"}
        if stopped == "nan":
            summary["error"] = "stopped at step 1: loss nan"
        return summary

    def evaluate(self, point, request):
        self.evaluated.append(point.name)
        return {"val": {"loss": 1.0 / point.depth, "bpb": 0.5 / point.depth, "tokens": 10, "bytes": 40}}, point.steps


def _fake_sweep(tmp_path, monkeypatch, **stop):
    sweep = make_sweep("tiny", [1, 2], tmp_path / "s", overrides=TINY)
    fake = FakeRun(monkeypatch, stop)
    fake.root = sweep.workdir
    return sweep, fake


def test_rerun_skips_finished_points_and_resumes_the_interrupted_one(tmp_path, monkeypatch):
    sweep, fake = _fake_sweep(tmp_path, monkeypatch, d2="signal")
    with pytest.raises(KeyboardInterrupt):
        runner.run_sweep(sweep, progress=False, report=False, out=io.StringIO())
    assert fake.trained == ["d1", "d2"] and fake.evaluated == ["d1"]
    assert (sweep.workdir / "d1" / "result.json").is_file() and not (sweep.workdir / "d2" / "result.json").exists()
    assert json.loads((sweep.workdir / "results.json").read_text())["points"][0]["point"] == "d1"  # table so far

    fake.trained.clear(), fake.evaluated.clear()
    out = io.StringIO()
    outcome = runner.run_sweep(sweep, progress=False, report=False, out=out)
    assert fake.trained == ["d2"] and fake.evaluated == ["d2"]  # d1 finished: neither trained nor evaluated
    assert "finished" in out.getvalue() and "at step 1" in out.getvalue()
    calls = json.loads((sweep.workdir / "d2" / "train_calls.json").read_text())
    assert [c["start_step"] for c in calls] == [0, 1] and [c["stopped"] for c in calls] == ["signal", "horizon"]
    assert [p["point"] for p in outcome["points"]] == ["d1", "d2"] and outcome["failed"] == []

    fake.trained.clear(), fake.evaluated.clear()
    runner.run_sweep(sweep, progress=False, report=False, out=io.StringIO())
    assert fake.trained == [] and fake.evaluated == []  # everything finished: no work at all


def test_a_point_that_diverges_is_reported_and_the_sweep_goes_on(tmp_path, monkeypatch):
    sweep, fake = _fake_sweep(tmp_path, monkeypatch, d1="nan")
    out = io.StringIO()
    outcome = runner.run_sweep(sweep, progress=False, report=False, out=out)
    assert outcome["failed"] == ["d1"] and [p["point"] for p in outcome["points"]] == ["d2"]
    assert "loss nan" in out.getvalue()


def test_results_csv_and_json_hold_every_figure_and_the_config(tmp_path, monkeypatch):
    sweep, fake = _fake_sweep(tmp_path, monkeypatch)
    runner.run_sweep(sweep, progress=False, report=False, out=io.StringIO())
    rows = list(csv.DictReader((sweep.workdir / "results.csv").open()))
    assert [r["point"] for r in rows] == ["d1", "d2"]
    for row, point in zip(rows, sweep.points):
        count = param_count(point.cfg.model)
        assert int(row["params"]) == count.total and int(row["steps"]) == point.steps
        assert float(row["mb_fp32"]) == pytest.approx(count.total * 4 / 2**20)
        assert float(row["mb_bf16"]) == pytest.approx(count.total * 2 / 2**20)
        assert float(row["mb_int8"]) == pytest.approx(count.total / 2**20)
        assert float(row["train_flops"]) == pytest.approx(point.train_flops)
        assert float(row["tokens"]) == point.steps * 8 * 32
        assert float(row["val_loss"]) == pytest.approx(2.0 / point.depth)
        assert float(row["val/bpb"]) == pytest.approx(0.5 / point.depth)  # the task eval's figures
        assert float(row["tokens_per_sec"]) == 1000.0 and row["mfu"] == ""  # NaN MFU (no peak) is blank
        assert float(row["train_min"]) == pytest.approx(point.steps * 0.5 / 60)
    saved = json.loads((sweep.workdir / "results.json").read_text())
    assert saved["sweep"]["depths"] == [1, 2] and saved["sweep"]["overrides"] == TINY
    for entry, point in zip(saved["points"], sweep.points):
        assert entry["config"] == config_io.to_dict(point.cfg)  # the resolved config of each point
        assert entry["eval"]["val"]["bpb"] == pytest.approx(0.5 / point.depth)
    # `picojax sweep --workdir W` alone re-plans the saved sweep
    again = make_sweep(None, None, sweep.workdir)
    assert [p.name for p in again.points] == ["d1", "d2"] and again.overrides == TINY


def test_training_figures_leave_out_each_calls_first_window():
    lines = [{"step": 0, "train/compile_time": 9.0},
             {"step": 5, "train/loss": 3.0, "train/tokens_per_sec": 10.0, "train/step_time": 1.0, "train/mfu": 0.1},
             {"step": 10, "train/loss": 2.0, "train/tokens_per_sec": 100.0, "train/step_time": 0.1, "train/mfu": 0.2},
             {"step": 10, "train/compile_time": 8.0},  # resumed at 10
             {"step": 15, "train/loss": 1.5, "train/tokens_per_sec": 20.0, "train/step_time": 0.5, "train/mfu": 0.3},
             {"step": 20, "train/loss": 1.0, "train/tokens_per_sec": 200.0, "train/step_time": 0.1, "train/mfu": 0.4},
             {"step": 20, "eval/val_loss": 1.2, "eval/val_bpb": 0.6}]
    f = training_figures(lines)
    assert f["tokens_per_sec"] == 150.0 and f["mfu"] == pytest.approx(0.3)
    assert f["train_min"] == pytest.approx((5 * 1.0 + 5 * 0.1 + 5 * 0.5 + 5 * 0.1) / 60)
    assert (f["train_loss"], f["val_loss"], f["val_bpb"], f["compile_s"]) == (1.0, 1.2, 0.6, 9.0)


# ----------------------------------------------------------------------------------------
# The report on hand-made results (an IsoFLOP sweep: 2 budgets x 3 depths).


def _write_fake_sweep(workdir: Path) -> None:
    from eval.rpg.compare import FAILURE_CLASSES

    points = []
    for budget, scale in ((1e12, 1.0), (4e12, 0.8)):
        for depth, loss in ((1, 3.0), (2, 2.6), (3, 2.8)):
            name = f"f{budget_label(budget)}/d{depth}"
            params = 10_000 * depth**2
            run = workdir / name
            run.mkdir(parents=True)
            steps = int(40 * scale * 10 / depth)
            with open(run / "metrics.jsonl", "w") as f:
                f.write(json.dumps({"step": 0, "train/compile_time": 1.0}) + "\n")
                for step in range(4, steps + 1, 4):
                    f.write(json.dumps({"step": step, "train/loss": loss * scale + 2 / step}) + "\n")
                f.write(json.dumps({"step": steps, "eval/val_loss": loss * scale, "eval/val_bpb": loss * scale / 2}) + "\n")
            figures = {"point": name, "depth": depth, "params": params, "mb_fp32": params * 4 / 2**20,
                       "mb_bf16": params * 2 / 2**20, "mb_int8": params / 2**20, "flops_per_token": 6 * params,
                       "steps": steps, "tokens": steps * 256, "tokens_per_step": 256, "horizon_tokens": 20 * params,
                       "tokens_per_param": steps * 256 / params, "train_flops": budget, "train_min": 0.5,
                       "wall_min": 0.7, "tokens_per_sec": 5000.0 / depth, "mfu": 0.01 * depth, "device": "2 x cpu",
                       "train_loss": loss * scale, "val_loss": loss * scale, "val_bpb": loss * scale / 2}
            ev = {split: {"records": 10, "exact_match": min(1.0, 0.2 * depth * (2 - scale) + off), "format_validity": 1.0,
                          "field_accuracy": {}, "taxonomy": dict.fromkeys(FAILURE_CLASSES, 0), "malformed_records": [],
                          "examples": {}}
                  for split, off in (("in_dist", 0.1), ("held_out_names", 0.0))}
            ev["rollout"] = {"fights": 2, "mean_turns_to_divergence": depth, "median_turns_to_divergence": depth,
                             "completed": 0.0, "mean_fight_length": 9.0, "turns": [depth, depth], "malformed_records": []}
            points.append({"point": name, "depth": depth, "budget": budget, "dir": str(run), "step": steps,
                           "figures": figures, "eval": ev, "train_calls": [],
                           "config": {"data": {"task": "rpg"}, "train": {"tokens_per_param": 20.0}}})
    spec = {"config": "configs/rpg.py", "depths": [1, 2, 3], "budgets": [1e12, 4e12], "overrides": []}
    (workdir / "results.json").write_text(json.dumps({"sweep": spec, "points": points}))


@pytest.mark.parametrize("how", ["--workdir", "positional"])
def test_report_writes_valid_pngs_and_a_page_that_shows_them(tmp_path, how):
    """matplotlib comes with the main install, so the plots are there without any extra;
    `--workdir` like every other verb, and the old positional form still works."""
    from PIL import Image

    _write_fake_sweep(tmp_path)
    assert main(["report", "--workdir", str(tmp_path)] if how == "--workdir" else ["report", str(tmp_path)]) == 0
    page = (tmp_path / "report.md").read_text()
    for name in ("capability", "scaling", "isoflop", "curves", "throughput"):
        png = tmp_path / "plots" / f"{name}.png"
        with Image.open(png) as im:
            im.verify()
            assert im.format == "PNG" and im.size[0] > 400
        assert f"(plots/{name}.png)" in page
    assert page.startswith("# Miniseries: rpg, depths 1–3")
    assert "## IsoFLOP minima" in page and "| in_dist | " in page and "held_out_names exact" in page
    assert "f1e12/d2" in page and "tensorboard --logdir" in page


def test_isoflop_minimum_is_the_parabolas_vertex_when_bracketed(tmp_path):
    _write_fake_sweep(tmp_path)
    points = json.loads((tmp_path / "results.json").read_text())["points"]
    minima = isoflop_minima(series_of(points))
    assert [m.budget for m in minima] == [1e12, 4e12]
    for m in minima:
        assert m.best_point.endswith("/d2") and m.fit_params is not None
        assert 10_000 < m.fit_params < 90_000 and m.fit_loss <= m.best_loss


# ----------------------------------------------------------------------------------------
# TensorBoard: each run's hparams carry its size.


def test_hparams_carry_the_models_size_and_compute():
    from picojax.writers import model_hparams

    cfg = config_io.load("tiny", [*TINY, "model.depth=2"])
    flat = {f"{s}.{k}": v for s, values in config_io.to_dict(cfg).items() for k, v in values.items()}
    got = model_hparams(flat)
    count = param_count(cfg.model)
    assert got["size/params"] == count.total and got["size/mb_bf16"] == count.total * 2 / 2**20
    assert got["compute/train_flops"] == flops_per_token(cfg.model) * cfg.train.steps * 8 * 32
    assert model_hparams({"optim.lr": 0.1}) == {}  # no resolved model: nothing derived


# ----------------------------------------------------------------------------------------
# For real: a tiny two-depth sweep, one point interrupted mid-way, then resumed.


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory):
    data_dir = make_data(tmp_path_factory.mktemp("sweep_data"))
    overrides = [o for o in tiny_overrides(data_dir) if not o.startswith(("model.depth", "train.steps"))]
    overrides += ["train.steps=6", "train.log_every=2", "checkpoint.every_steps=3"]
    workdir = tmp_path_factory.mktemp("sweep") / "w"
    sweep = make_sweep("tiny", [1, 2], workdir, overrides=overrides)
    from picojax.train import train

    first = sweep.points[0]
    killed = train(first.cfg, first.dir, stop_after=3, progress=False)  # as if killed after step 3
    assert killed["step"] == 3
    out = io.StringIO()
    outcome = runner.run_sweep(sweep, progress=False, request=EvalRequest(samples=2), out=out)
    return sweep, outcome, out.getvalue()


@pytest.mark.slow
def test_a_real_sweep_resumes_trains_evaluates_and_reports(real_sweep):
    sweep, outcome, printed = real_sweep
    assert "d1: resuming at step 3 of 6" in printed and "d2: training 6 steps" in printed
    calls = json.loads((sweep.workdir / "d1" / "train_calls.json").read_text())
    assert calls[-1]["start_step"] == 3 and calls[-1]["step"] == 6  # resumed from its checkpoint
    rows = list(csv.DictReader((sweep.workdir / "results.csv").open()))
    assert [r["point"] for r in rows] == ["d1", "d2"]
    for row, point in zip(rows, sweep.points):
        assert int(row["params"]) == param_count(point.cfg.model).total
        assert float(row["val/bpb"]) > 0 and float(row["val_loss"]) > 0 and float(row["tokens_per_sec"]) > 0
        assert 0 <= float(row["samples/eos_rate"]) <= 1
    assert (sweep.workdir / "report.md").is_file() and (sweep.workdir / "plots" / "capability.png").is_file()
    # TensorBoard: one run per point under the sweep's workdir, its hparams with the size.
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
    from tensorboard.plugins.hparams import metadata

    mux = pem.EventMultiplexer()
    mux.AddRunsFromDirectory(str(sweep.workdir))
    mux.Reload()
    assert sorted(mux.Runs()) == ["d1/tb", "d2/tb"]
    sessions = mux.PluginRunToTagToContent(metadata.PLUGIN_NAME)
    for point in sweep.points:
        info = metadata.parse_session_start_info_plugin_data(sessions[f"{point.name}/tb"][metadata.SESSION_START_INFO_TAG])
        assert info.hparams["model.depth"].number_value == point.depth
        assert info.hparams["size/params"].number_value == param_count(point.cfg.model).total


@pytest.mark.slow
def test_rerunning_a_finished_real_sweep_trains_and_evaluates_nothing(real_sweep, monkeypatch):
    sweep, _, _ = real_sweep
    before = (sweep.workdir / "d2" / "metrics.jsonl").read_text()

    def forbidden(*args, **kwargs):
        raise AssertionError("a finished point was trained or evaluated again")

    monkeypatch.setattr(runner, "_train", forbidden)
    monkeypatch.setattr(runner, "_evaluate", forbidden)
    out = io.StringIO()
    outcome = runner.run_sweep(sweep, progress=False, out=out)
    assert [p["point"] for p in outcome["points"]] == ["d1", "d2"]
    assert (sweep.workdir / "d2" / "metrics.jsonl").read_text() == before
