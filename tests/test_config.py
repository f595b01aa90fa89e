"""The config schema, the override parser and presets."""

import json
from pathlib import Path

import pytest

from picojax import config_io
from picojax.config import Config, param_count, resolve
from picojax.errors import ConfigError


def test_overrides_set_typed_values():
    cfg = config_io.load(None, ["model.depth=3", "optim.base_lr=1e-3", "model.tie_embeddings=false",
                                "data.loss_on=target", "train.steps=7"])
    assert cfg.model.depth == 3 and isinstance(cfg.model.depth, int)
    assert cfg.optim.base_lr == pytest.approx(1e-3)
    assert cfg.model.tie_embeddings is False
    assert cfg.data.loss_on == "target"
    assert cfg.train.steps == 7


def test_unknown_key_names_the_closest_valid_key():
    with pytest.raises(ConfigError, match="model.depth"):
        config_io.load(None, ["model.dept=3"])
    with pytest.raises(ConfigError, match="unknown config key 'nosection.x'"):
        config_io.load(None, ["nosection.x=1"])
    with pytest.raises(ConfigError, match="unknown config key 'model'"):
        config_io.load(None, ["model=1"])  # a section is not a field


@pytest.mark.parametrize("override, message", [
    ("model.depth=three", "not an integer"),
    ("model.depth=2.5", "not an integer"),
    ("optim.base_lr=fast", "not a number"),
    ("model.qk_norm=maybe", "not a boolean"),
    ("data.loss_on=targets", "not one of all, target"),
    ("model.depth", "key=value"),
    ("model.depth=0", "model.depth must be >= 1"),
    ("mesh.data=-1", None),  # valid: -1 means the rest
])
def test_bad_values_are_rejected(override, message):
    if message is None:
        config_io.load(None, [override])
        return
    with pytest.raises(ConfigError, match=message):
        config_io.load(None, [override])


def test_none_fields_accept_none_and_values():
    assert config_io.load(None, ["train.steps=none"]).train.steps is not None  # None -> derived
    assert config_io.load(None, ["model.d_model=96", "model.head_dim=32"]).model.d_model == 96


def test_derived_fields_follow_depth_and_explicit_values_win():
    cfg = config_io.load(None, ["model.depth=3"])
    assert cfg.model.d_model == 3 * 64 and cfg.model.n_heads == 3
    assert cfg.optim.lr == pytest.approx(cfg.optim.base_lr * (768 / 192) ** 0.5)
    wide = config_io.load(None, ["model.depth=3", "model.d_model=256", "optim.lr=0.01", "train.steps=5"])
    assert wide.model.d_model == 256 and wide.model.n_heads == 4
    assert wide.optim.lr == 0.01 and wide.train.steps == 5
    deeper = config_io.load(None, ["model.depth=4"])
    assert deeper.train.steps > cfg.train.steps  # bigger model, longer compute-optimal horizon


def test_horizon_is_ratio_times_params():
    cfg = config_io.load(None, ["model.depth=2", "train.tokens_per_param=20"])
    tokens = cfg.train.steps * cfg.train.batch_size * cfg.model.seq_len
    target = 20 * param_count(cfg.model).scaling
    assert target <= tokens < target + cfg.train.batch_size * cfg.model.seq_len


def test_presets_load_by_name_and_path():
    names = config_io.preset_names()
    assert {"rpg", "stories", "tiny"} <= set(names)
    for name in names:
        assert isinstance(config_io.load(name), Config)
    preset = Path(__file__).resolve().parents[1] / "configs" / "rpg.py"  # wherever pytest runs from
    assert preset.is_file()
    assert config_io.load(str(preset)) == config_io.load("rpg")


def test_preset_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        config_io.load(str(tmp_path / "missing.py"))
    with pytest.raises(ConfigError, match="no built-in preset"):
        config_io.load("nonexistent")
    bad = tmp_path / "bad.py"
    bad.write_text("def get_config():\n    return 3\n")
    with pytest.raises(ConfigError, match="returned int"):
        config_io.load(str(bad))
    typo = tmp_path / "typo.py"
    typo.write_text("from picojax.config import Config\ndef get_config():\n    c = Config()\n    c.model.depth = '4'\n    return c\n")
    with pytest.raises(ConfigError, match="model.depth='4' has the wrong type"):
        config_io.load(str(typo))


def test_json_round_trip(tmp_path):
    cfg = config_io.load("rpg", ["model.depth=2"])
    path = tmp_path / "run" / "config.json"
    config_io.save_json(cfg, path)
    assert config_io.load_json(path) == cfg
    data = json.loads(path.read_text())
    data["model"]["colour"] = "red"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="model.colour"):
        config_io.load_json(path)


def test_resolve_is_idempotent():
    cfg = resolve(Config())
    assert resolve(cfg) == cfg


def test_derived_kv_heads_always_divide_heads():
    for depth in range(1, 13):
        for group in (1, 2, 3, 4):
            m = config_io.load(None, [f"model.depth={depth}", f"model.kv_group={group}"]).model
            assert m.n_heads % m.n_kv_heads == 0 and m.n_kv_heads <= max(1, m.n_heads // group)


@pytest.mark.parametrize("name, text", [("config.json", '{"model": {"depth": 2}}'), ("rpg.yaml", "model:\n  depth: 2\n"),
                                        ("preset", "def get_config(): ...\n")])
def test_a_config_file_that_is_not_a_python_preset_is_one_line(tmp_path, capsys, name, text):
    from picojax.app.cli import main

    path = tmp_path / name
    path.write_text(text)
    assert main(["config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("picojax config: error: ")
    assert f"config file {path} is not a Python preset" in err
