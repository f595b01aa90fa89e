"""gs:// workdirs: a tiny run trains, resumes in a fresh process and restores for inference
with its workdir on Google Cloud Storage, here a local GCS emulator; local paths stay as
they were.

The emulator (`gcp-storage-emulator`, pure Python) serves the real clients on a loopback
port: gcsfs (epath, so Orbax's directories and our JSON files), tensorstore's GCS driver
(Orbax's arrays) and google-cloud-storage (tensorboardX's event writer). Nothing is faked
on the client side.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from _train_support import make_data, tiny_config
from picojax import config_io, paths, writers
from picojax.run_dir import RunDir

BUCKET = "bucket"
RUN = f"gs://{BUCKET}/run"


# ----------------------------------------------------------------------------------------
# Local paths: unchanged behaviour (no emulator needed).


def test_run_path_local_is_absolute_and_keeps_gs_scheme(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert str(paths.run_path("runs/a")) == str(tmp_path / "runs" / "a")
    assert str(paths.run_path(tmp_path / "x" / ".." / "y")) == str(tmp_path / "y")
    assert str(RunDir("runs/a").checkpoints) == str(tmp_path / "runs" / "a" / "checkpoints")
    assert not paths.is_remote("runs/a") and not paths.is_remote(tmp_path)
    # pathlib would collapse the scheme to a local folder named "gs:".
    monkeypatch.setattr(paths, "_check_remote_support", lambda text: None)
    assert str(paths.run_path("gs://b/run") / "tb") == "gs://b/run/tb"
    assert str(RunDir("gs://b/run").checkpoints) == "gs://b/run/checkpoints"
    assert paths.is_remote(paths.run_path("gs://b/run"))


def test_gs_path_without_gcsfs_is_a_clear_user_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "gcsfs", None)  # `import gcsfs` now raises ImportError
    with pytest.raises(paths.RemotePathError, match=r"picojax\[gcs\]"):
        paths.run_path("gs://b/run")
    with pytest.raises(paths.RemotePathError, match="only gs://"):
        paths.run_path("s3://b/run")


def test_local_writers_relative_workdir_and_no_temp_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config_io.load(None, ["model.depth=1"])
    config_io.save_json(cfg, "run/config.json")
    assert config_io.load_json("run/config.json") == cfg
    writer = writers.MetricsWriter("run", resume_step=0)
    writer.scalars(1, {"train/loss": 2.0})
    writer.scalars(2, {"train/loss": 1.5})
    writer.close()
    assert [r["step"] for r in writers.read_jsonl("run/metrics.jsonl")] == [1, 2]
    # Resumed from a checkpoint at step 1: step 2 is logged again, step 1 is kept.
    resumed = writers.MetricsWriter("run", resume_step=1)
    assert [r["step"] for r in writers.read_jsonl("run/metrics.jsonl")] == [1]
    resumed.scalars(2, {"train/loss": 1.4})
    resumed.hparams({"model.depth": 1}, {"train/loss": 1.4}, step=2)  # already there: not twice
    resumed.close()
    assert [(r["step"], r["train/loss"]) for r in writers.read_jsonl("run/metrics.jsonl")] == [(1, 2.0), (2, 1.4)]
    assert _tb_scalars(tmp_path / "run" / "tb")["train/loss"] == [(1, 2.0), (2, pytest.approx(1.4))]
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json", "metrics.jsonl", "tb"]


def _tb_scalars(logdir: Path) -> dict[str, list[tuple[int, float]]]:
    """(step, value) of each scalar in a local TensorBoard logdir, read by TensorBoard itself."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir))
    acc.Reload()
    return {tag: sorted((e.step, e.value) for e in acc.Scalars(tag)) for tag in acc.Tags()["scalars"]}


# ----------------------------------------------------------------------------------------
# The GCS emulator.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clear_gcs_clients() -> None:
    """fsspec and epath cache their GCS filesystem, which holds the emulator's address."""
    import gcsfs
    from etils.epath import backend

    gcsfs.GCSFileSystem.clear_instance_cache()
    backend.fsspec_backend._get_filesystem.cache_clear()


@pytest.fixture(scope="module")
def gcs():
    """A GCS emulator with bucket `bucket` on 127.0.0.1, and the environment that points
    every client at it; yields that environment (for subprocesses)."""
    url = f"http://127.0.0.1:{_free_port()}"
    env = {
        "STORAGE_EMULATOR_HOST": url,          # gcsfs and google-cloud-storage
        "TENSORSTORE_GCS_HTTP_URL": url,       # tensorstore (Orbax's arrays)
        "GOOGLE_AUTH_TOKEN_FOR_TESTING": "x",  # tensorstore: no credential lookup
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",  # read on import: no bucket-layout RPC per call
    }
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        pytest.importorskip("gcsfs", reason="gs:// tests need gcsfs (pip install 'picojax[gcs]')")
        pytest.importorskip("google.cloud.storage", reason="gs:// tests need google-cloud-storage")
        pytest.importorskip("gcp_storage_emulator", reason="gs:// tests need the gcp-storage-emulator package")
        from gcp_storage_emulator.handlers import objects
        from gcp_storage_emulator.server import create_server

        mp.setattr(objects, "download", _download_with_generation(objects.download))
        server = create_server("127.0.0.1", int(url.rsplit(":", 1)[1]), in_memory=True, default_bucket=BUCKET)
        server.start()
        _clear_gcs_clients()
        try:
            yield env
        finally:
            server.stop()
            _clear_gcs_clients()


def _download_with_generation(download):
    """Real GCS sends an object's generation with its bytes (`x-goog-generation`); the
    emulator does not, and tensorstore then refuses its next conditional write (OCDBT's
    manifest) as "Malformed StorageGeneration". Adds the header."""

    def with_generation(request, response, storage, *args, **kwargs):
        download(request, response, storage, *args, **kwargs)
        with contextlib.suppress(Exception):  # a 404 stays a 404
            obj = storage.get_file_obj(request.params["bucket_name"], request.params["object_id"])
            response["x-goog-generation"] = str(obj["generation"])
            response["x-goog-metageneration"] = str(obj.get("metageneration", "1"))

    return with_generation


# ----------------------------------------------------------------------------------------
# A run on gs://.


def _objects(prefix: str) -> list[str]:
    """Object names under gs://bucket/<prefix>/, relative to it (fresh listing)."""
    from google.cloud import storage

    client = storage.Client()
    return sorted(b.name[len(prefix) + 1:] for b in client.list_blobs(BUCKET, prefix=prefix + "/"))


def _copy_events(tmp_path: Path, events: list[str]) -> Path:
    """The run's event files copied from the bucket (TensorBoard without TensorFlow reads
    only local files)."""
    local = tmp_path / "tb"
    local.mkdir()
    for name in events:
        (local / Path(name).name).write_bytes((paths.run_path(RUN) / name).read_bytes())
    return local


@pytest.mark.slow
def test_train_resume_restore_on_gcs(gcs, tmp_path, monkeypatch):
    from picojax.tokenizer import Tokenizer
    from picojax.restore import restore_for_inference
    from picojax.train import train

    monkeypatch.chdir(tmp_path)  # a pathlib-mangled workdir would appear here as "gs:/"
    monkeypatch.setenv("PICOJAX_CACHE", str(tmp_path / "cache"))
    data_dir = make_data(tmp_path / "data")
    cfg = tiny_config(data_dir)  # 20 steps, checkpoints every 10

    first = train(cfg, RUN, stop_after=10, progress=False)
    assert first["stopped"] == "stop_after" and first["last_checkpoint"] == 10
    names = _objects("run")
    assert {"config.json", "tokenizer.model", "metrics.jsonl"} <= set(names)
    assert any(n.startswith("checkpoints/10/params/") for n in names)
    assert any(n.startswith("tb/events.out.tfevents.") for n in names)
    assert config_io.load_json(f"{RUN}/config.json") == cfg
    assert [r["step"] for r in writers.read_jsonl(f"{RUN}/metrics.jsonl") if "train/loss" in r] == list(range(1, 11))

    # A fresh process resumes from the bucket alone: its config.json, its checkpoint.
    env = {**os.environ, **gcs, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-m", "picojax", "train", "--workdir", RUN, "--no-progress",
                           "--no-task-evals"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"resumed from {RUN}/checkpoints/10" in proc.stderr
    assert "start_step=10" in proc.stdout and "step=20" in proc.stdout

    names = _objects("run")
    assert {n.split("/")[1] for n in names if n.startswith("checkpoints/")} >= {"10", "20"}
    records = writers.read_jsonl(f"{RUN}/metrics.jsonl")
    assert [r["step"] for r in records if "train/loss" in r] == list(range(1, 21))  # each step once
    val_loss = next(r["eval/val_loss"] for r in records if "eval/val_loss" in r)
    scalars = _tb_scalars(_copy_events(tmp_path, [n for n in names if n.startswith("tb/")]))
    assert [step for step, _ in scalars["train/loss"]] == list(range(1, 21))
    assert scalars["eval/val_loss"] == [(20, pytest.approx(val_loss))]
    assert not (tmp_path / "gs:").exists()

    # Inference reads the latest checkpoint and the run's own tokenizer from the bucket.
    restored_cfg, model, tokenizer, _ = restore_for_inference(RUN)
    assert restored_cfg.model == cfg.model
    assert tokenizer.sha256 == Tokenizer.load(data_dir / "tokenizer.model").sha256
    assert Path(tokenizer.path).is_file()  # a local copy: SentencePiece reads only files
    assert abs(_val_loss(restored_cfg, model, tokenizer) - val_loss) < 1e-4 * val_loss


def _val_loss(cfg, model, tokenizer) -> float:
    """The val loss of `model` over the batches the trainer's final eval used."""
    import jax
    from flax import nnx

    from picojax import data
    from picojax.losses import val_loss_bpb
    from picojax.train_step import build_eval_step

    graphdef, params = nnx.split(model)
    mesh = jax.tree.leaves(params)[0].sharding.mesh
    step = build_eval_step(cfg, graphdef, jax.tree.map(lambda x: x.sharding, params), mesh, tokenizer.token_bytes())
    return val_loss_bpb(step, params, data.make_val_iterator(cfg, num_batches=cfg.train.eval_batches), mesh)["loss"]
