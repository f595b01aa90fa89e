"""Run directories that may live on Google Cloud Storage (``gs://bucket/run``) or on disk.

`pathlib.Path("gs://b/run")` collapses the scheme to ``gs:/b/run`` (a local folder named
``gs:``), so every workdir goes through `run_path`, which returns an `etils.epath.Path`:
the path type Orbax itself uses. It keeps ``gs://`` (served by fsspec + gcsfs, the
``gcs`` extra) and is a plain absolute local path otherwise.

Object stores differ from disks in two ways the writers care about: there are no
directories to create, and an object cannot be appended to or renamed cheaply, but it
appears atomically when its upload completes. `write_text_atomic` hides the difference.
"""

from __future__ import annotations

import contextlib
import os
import uuid

from etils import epath

from picojax.errors import UserError

# Schemes served by an object store through fsspec (etils.epath knows these).
REMOTE_SCHEMES = ("gs://", "s3://", "az://", "hf://")


def is_remote(path: str | os.PathLike) -> bool:
    """True for an object-store URI (``gs://…``), False for a local path."""
    return os.fspath(path).startswith(REMOTE_SCHEMES)


class RemotePathError(UserError):
    """A ``gs://`` path was given, but the packages that reach GCS are not installed."""


def run_path(path: str | os.PathLike) -> epath.Path:
    """`path` as an epath.Path: ``gs://…`` kept as is, a local path made absolute (so a
    run's messages and Orbax see the same folder whatever the current directory)."""
    text = os.fspath(path)
    if is_remote(text):
        _check_remote_support(text)
        return epath.Path(text)
    return epath.Path(os.path.abspath(text))


def _check_remote_support(text: str) -> None:
    """Fails early, by name, rather than deep inside Orbax or the event writer.

    Without TensorFlow, epath (Orbax's paths) reaches GCS through fsspec's gcsfs;
    tensorboardX's GCS event writer needs google-cloud-storage (a gcsfs dependency).
    """
    if not text.startswith("gs://"):
        raise RemotePathError(f"{text}: only gs:// object-store paths are supported (or a local path)")
    try:
        import gcsfs  # noqa: F401
        import google.cloud.storage  # noqa: F401
    except ImportError as e:
        raise RemotePathError(
            f"{text}: gs:// workdirs need gcsfs and google-cloud-storage ({e.name} is missing): "
            "pip install 'picojax[gcs]'") from None


def ensure_dir(path: epath.Path) -> None:
    """Creates a local directory (and its parents); a no-op on an object store, which
    has no directories (creating one through gcsfs could even create a bucket)."""
    if not is_remote(path):
        path.mkdir(parents=True, exist_ok=True)


def write_bytes_atomic(path: epath.Path, data: bytes) -> None:
    """Writes `path` so that a reader never sees half of it.

    Locally: a temp file in the same folder, then a rename. On an object store the upload
    itself is atomic (the object appears, or is replaced, only when complete), and a rename
    would be a copy, so the object is written directly.
    """
    if is_remote(path):
        path.write_bytes(data)
        return
    ensure_dir(path.parent)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: epath.Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def cache_dir() -> str:
    """picojax's per-user cache (``$PICOJAX_CACHE`` or ``~/.cache/picojax``): the CPU peak
    probe, local copies of remote tokenizers, the compilation cache."""
    return os.environ.get("PICOJAX_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "picojax")


@contextlib.contextmanager
def building_dir(out: str | os.PathLike):
    """Yields an empty temporary folder beside ``out``; when the block ends normally the
    folder replaces ``out`` (`replace_dir`), and on any error it is removed, so ``out`` is
    either the old folder or the whole new one, never half-written."""
    import shutil
    from pathlib import Path

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def replace_dir(tmp: str | os.PathLike, out: str | os.PathLike) -> None:
    """Moves the finished local directory `tmp` to `out`, replacing what was there, so a
    reader sees the old directory or the new one, never a mix (two renames: the old one
    is moved aside first and removed only once the new one is in place)."""
    import shutil
    from pathlib import Path

    tmp, out = Path(tmp), Path(out)
    if not out.exists():
        os.replace(tmp, out)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old)
