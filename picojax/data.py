"""Grain input pipelines over the token store: per-process slice, shuffle, pack, mask, batch.

Train pipeline, per process::

    MapDataset.source(windows)[process_index::process_count]   # this process's documents
      .shuffle(seed).repeat()                                   # a new order every epoch
      .to_iter_dataset()
    -> FirstFitPackIterDataset                                  # documents packed into rows
    -> .batch(per-process batch) -> .map(to_batch) -> thread prefetch (or worker processes)

A *window* is one document as n-1 rows of ``(input, target, loss)`` = ``(doc[:-1], doc[1:],
mask)``: a document of n tokens (BOS ... EOS) fills n-1 positions, so it fits a row when
n <= seq_len + 1. (One [n-1, 3] array rather than three: Grain's packer is pure Python and
costs per feature, so this packs ~2x faster.) Longer documents are an error for RPG (a
record must never be cut) and are split into windows of seq_len + 1 tokens for stories
(config ``data.long_docs``).

Packing is Grain's own first-fit packer: it puts whole windows into ``batch`` rows and
emits the rows when a window fits none, so every row starts at a document's BOS, rows are
padded (pad id 0, segment 0, loss 0), and since each window carries its own targets no
loss ever crosses a document boundary. Its checkpoint state is the parent's state at the
start of the current packing round plus the rows already emitted; restoring re-packs that
round, so a restored pipeline yields the identical next batch.

A batch is a dict of numpy arrays, per process ``B = train.batch_size // process_count``
rows of ``L = model.seq_len``:

    inputs int32 [B,L]   targets int32 [B,L]   loss_mask float32 [B,L]
    segment_ids int32 [B,L] (0 = padding, 1.. = document within the row)
    positions int32 [B,L] (restart at 0 at each document)
"""

from __future__ import annotations

import itertools
from typing import Iterator

import grain
import numpy as np

from picojax import tasks
from picojax.config import Config
from picojax.data_dir import DataDir, tokenizer_path  # noqa: F401  (tokenizer_path: picojax.sample's import)
from picojax.errors import ConfigError, UserError
from picojax.store import TokenStore
from picojax.tokenizer import TokenizerError, file_sha256

BATCH_KEYS = ("inputs", "targets", "loss_mask", "segment_ids", "positions")
INPUT, TARGET, LOSS = 0, 1, 2  # columns of a window


class SeqLenError(UserError):
    """A document does not fit the context window."""


# ----------------------------------------------------------------------------------------
# Stores.


def open_store(cfg: Config, split: str) -> TokenStore:
    """Opens a split's store, refusing one made with another tokenizer than the config's."""
    tok = tokenizer_path(cfg)
    if not tok.is_file():
        raise TokenizerError(f"no tokenizer at {tok}: train one with `picojax tokenizer --data {cfg.data.dir}`")
    store = TokenStore(DataDir.of(cfg).store_path(split), tokenizer_sha256=file_sha256(tok))
    if store.task != cfg.data.task:
        raise ConfigError(f"data.task is {cfg.data.task} but the store {store.dir} holds {store.task} documents")
    if store.meta["vocab_size"] > cfg.model.vocab_size:
        raise ConfigError(f"the tokenizer has {store.meta['vocab_size']} pieces but model.vocab_size is "
                          f"{cfg.model.vocab_size}: set model.vocab_size={store.meta['vocab_size']}")
    return store


class WindowSource:
    """Random access to the units packing works on: ``{"window": int32[n-1, 3]}``, whose
    columns are input, target and loss (0/1) at each position.

    Unit i is document i, unless some documents are longer than seq_len + 1 tokens and
    long_docs is ``split``: then each document becomes ceil((n-1)/seq_len) windows of at
    most seq_len + 1 tokens that overlap by one token, so every (input, target) pair of
    the document is trained on exactly once.
    """

    def __init__(self, store: TokenStore, seq_len: int, *, loss_on: str = "all", long_docs: str = "auto"):
        self.store, self.seq_len, self.loss_on = store, seq_len, loss_on
        if long_docs == "auto":
            long_docs = tasks.get_task(store.task).long_docs
        lengths = store.lengths
        self._doc = self._start = None
        longest = int(lengths.max())
        if longest > seq_len + 1:
            if long_docs == "error":
                raise SeqLenError(
                    f"seq_len {seq_len} is shorter than a record ({longest} tokens with BOS and EOS, document "
                    f"{int(lengths.argmax())} of {store.dir}); a row holds at most seq_len+1 = {seq_len + 1}: "
                    f"raise model.seq_len")
            per_doc = np.maximum(1, -(-(lengths - 1) // seq_len))
            self._doc = np.repeat(np.arange(len(lengths)), per_doc)
            first = np.cumsum(per_doc) - per_doc
            self._start = (np.arange(len(self._doc)) - np.repeat(first, per_doc)) * seq_len

    def __len__(self) -> int:
        return len(self.store) if self._doc is None else len(self._doc)

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        doc, start = (i, 0) if self._doc is None else (int(self._doc[i]), int(self._start[i]))
        tokens, offsets, target_starts = self.store.arrays
        lo = offsets[doc] + start
        span = tokens[lo:min(lo + self.seq_len + 1, offsets[doc + 1])]
        window = np.empty((len(span) - 1, 3), np.int32)
        window[:, INPUT] = span[:-1]
        window[:, TARGET] = span[1:]
        if self.loss_on == "target":
            # Position j predicts document token start+j+1: a target iff that is past the prompt.
            window[:, LOSS] = np.arange(start + 1, start + len(span)) >= target_starts[doc]
        else:
            window[:, LOSS] = 1
        return {"window": window}


# ----------------------------------------------------------------------------------------
# Pipelines.


def _process(process_index: int | None, process_count: int | None) -> tuple[int, int]:
    if process_index is None or process_count is None:
        import jax

        process_index = jax.process_index() if process_index is None else process_index
        process_count = jax.process_count() if process_count is None else process_count
    return process_index, process_count


def per_process_batch(cfg: Config, process_count: int) -> int:
    if cfg.train.batch_size % process_count:
        raise UserError(f"train.batch_size {cfg.train.batch_size} does not split over {process_count} processes")
    return cfg.train.batch_size // process_count


class _ToBatch(grain.transforms.Map):
    """Renames the packer's outputs to the batch keys; without segment masking, a row is
    one segment with running positions (documents then see earlier ones in their row)."""

    def __init__(self, segment_mask: bool):
        self.segment_mask = segment_mask

    def map(self, packed: dict) -> dict[str, np.ndarray]:
        segment_ids, positions = packed["window_segment_ids"], packed["window_positions"]
        if not self.segment_mask:
            real = segment_ids > 0
            segment_ids = real.astype(np.int32)
            positions = np.where(real, np.arange(real.shape[-1], dtype=np.int32), 0).astype(np.int32)
        window = packed["window"]
        return {"inputs": np.ascontiguousarray(window[..., INPUT]),
                "targets": np.ascontiguousarray(window[..., TARGET]),
                "loss_mask": window[..., LOSS].astype(np.float32),
                "segment_ids": segment_ids, "positions": positions}


def _packed_batches(windows: grain.MapDataset, cfg: Config, batch: int, *, shuffle: bool,
                    drop_remainder: bool) -> grain.IterDataset:
    seq_len = cfg.model.seq_len
    # No reader threads: a window is a slice of a memory map, and threads only add GIL contention.
    ds = windows.to_iter_dataset(grain.ReadOptions(num_threads=0, prefetch_buffer_size=0))
    ds = grain.experimental.FirstFitPackIterDataset(
        ds,
        length_struct={"window": seq_len},
        num_packing_bins=batch,
        seed=cfg.data.shuffle_seed,
        shuffle_bins=shuffle,
    )
    return ds.batch(batch, drop_remainder=drop_remainder).map(_ToBatch(cfg.data.segment_mask))


def _windows(cfg: Config, split: str, process_index: int, process_count: int) -> grain.MapDataset:
    source = WindowSource(open_store(cfg, split), cfg.model.seq_len, loss_on=cfg.data.loss_on,
                          long_docs=cfg.data.long_docs)
    if len(source) < process_count:
        raise UserError(f"the {split} split has {len(source)} documents, fewer than the {process_count} processes")
    return grain.MapDataset.source(source)[process_index::process_count]


def make_train_iterator(cfg: Config, *, process_index: int | None = None, process_count: int | None = None,
                        num_epochs: int | None = None) -> grain.DatasetIterator:
    """This process's training batches, shuffled anew each epoch: forever, or num_epochs epochs
    (then the last batch is padded, so nothing is dropped)."""
    process_index, process_count = _process(process_index, process_count)
    batch = per_process_batch(cfg, process_count)
    windows = _windows(cfg, "train", process_index, process_count)
    windows = windows.shuffle(seed=cfg.data.shuffle_seed).repeat(num_epochs)
    # Forever: every batch is full. A finite run keeps its last rows, padded to a full batch.
    ds = _packed_batches(windows, cfg, batch, shuffle=True, drop_remainder=num_epochs is None)
    if num_epochs is not None:
        ds = ds.map(_PadRows(batch))
    if cfg.data.num_workers > 0:
        _mark_absl_flags_parsed()
        ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=cfg.data.num_workers))
    elif cfg.data.prefetch > 0:
        ds = grain.experimental.ThreadPrefetchIterDataset(ds, prefetch_buffer_size=cfg.data.prefetch)
    return iter(ds)


def _mark_absl_flags_parsed() -> None:
    # Grain's worker processes read absl flags; picojax parses its own with argparse.
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def make_val_iterator(cfg: Config, *, process_index: int | None = None, process_count: int | None = None,
                      num_batches: int | None = None) -> Iterator[dict[str, np.ndarray]]:
    """The val split once, unshuffled (file order, first-fit packed), in batches; the last
    batch is padded to full size with empty rows (loss_mask 0). Processes of a multi-host
    run may get different numbers of batches; with num_batches, each yields exactly that
    many (empty batches once its slice runs out), so all take the same eval steps."""
    process_index, process_count = _process(process_index, process_count)
    batch = per_process_batch(cfg, process_count)
    windows = _windows(cfg, "val", process_index, process_count)
    ds = _packed_batches(windows, cfg, batch, shuffle=False, drop_remainder=False)
    batches = iter(ds.map(_PadRows(batch)))
    if num_batches is None:
        return batches
    return itertools.islice(itertools.chain(batches, itertools.repeat(empty_batch(batch, cfg.model.seq_len))),
                            num_batches)


def empty_batch(batch: int, seq_len: int) -> dict[str, np.ndarray]:
    """A batch of padding only: contributes nothing to any loss."""
    return {k: np.zeros((batch, seq_len), np.float32 if k == "loss_mask" else np.int32) for k in BATCH_KEYS}


class _PadRows(grain.transforms.Map):
    """Pads a short last batch with empty rows (segment 0, loss 0) to keep shapes static."""

    def __init__(self, batch: int):
        self.batch = batch

    def map(self, b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        missing = self.batch - len(b["inputs"])
        if missing == 0:
            return b
        return {k: np.concatenate([v, np.zeros((missing, *v.shape[1:]), v.dtype)]) for k, v in b.items()}
