"""The stories eval on a model: val loss and bits-per-byte, and sampled-story metrics.

Val figures go over the *whole* split with the trainer's jitted eval step (the trainer
itself only looks at a fixed prefix). Any text file in the TinyStories V2 format can be
scored: it is tokenized into a temporary token store with the run's tokenizer first.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from eval.stories.metrics import story_metrics
from picojax.config import Config
from picojax.data_dir import DataDir
from picojax.errors import UserError
from picojax.sample import Sampler, SamplingConfig
from picojax.tasks import Sample, Samples
from picojax.tokenizer import BOS_ID, Tokenizer

# Story sampling: mildly cooled, so samples are fluent yet varied (greedy from BOS would
# write the same story N times).
STORY_SAMPLING = SamplingConfig(max_new_tokens=256, temperature=0.8, top_k=0, top_p=0.95, seed=0)


class StoriesInputError(UserError):
    """A text file to score is missing or unreadable."""


def val_loss_bpb(cfg: Config, model, tokenizer: Tokenizer, text_file: str | Path | None = None) -> dict:
    """{loss (nats/token), bpb, tokens, bytes} over every document of the val split or `text_file`."""
    if text_file is None:
        return _score_store(cfg, model, tokenizer)
    from picojax.store import write_split

    text_file = Path(text_file)
    if not text_file.is_file():
        raise StoriesInputError(f"text file not found: {text_file}")
    with tempfile.TemporaryDirectory(prefix="picojax-eval-") as tmp:
        write_split(text_file, tokenizer, DataDir(tmp).store_path("val"), task="stories")
        data_cfg = dataclasses.replace(cfg.data, dir=tmp, tokenizer=str(tokenizer.path), task="stories")
        return _score_store(dataclasses.replace(cfg, data=data_cfg), model, tokenizer)


def _score_store(cfg: Config, model, tokenizer: Tokenizer) -> dict:
    import jax
    from flax import nnx
    from jax.sharding import NamedSharding, PartitionSpec as P

    from picojax import data
    from picojax.losses import val_loss_bpb as val_loss_bpb_of_batches
    from picojax.config import MeshConfig
    from picojax.sharding import make_mesh
    from picojax.train_step import build_eval_step

    graphdef, params = nnx.split(model)
    sharding = jax.tree.leaves(params)[0].sharding
    if isinstance(sharding, NamedSharding):
        mesh = sharding.mesh
    else:  # weights on one device (not restored through a mesh): a one-device mesh
        mesh = make_mesh(MeshConfig(data=1), devices=list(sharding.device_set))
        params = jax.device_put(params, NamedSharding(mesh, P()))
    param_shardings = jax.tree.map(lambda x: x.sharding, params)
    step = build_eval_step(cfg, graphdef, param_shardings, mesh, tokenizer.token_bytes())
    return val_loss_bpb_of_batches(step, params, data.make_val_iterator(cfg), mesh)


def sample_stories(sampler: Sampler, n: int, settings: SamplingConfig = STORY_SAMPLING) -> tuple[list[str], list[bool]]:
    """n stories from BOS alone (unconditional), and whether each ended with EOS."""
    raw = sampler.generate_ids([[BOS_ID]] * n, settings, sample_ids=range(n))
    texts, eos = [], []
    for ids, why in raw:
        ended = why == "stop"
        texts.append(sampler.tokenizer.decode(ids[:-1] if ended else ids).strip())
        eos.append(ended)
    return texts, eos


def vocabulary() -> frozenset[str] | None:
    """The synthetic generator's vocabulary (adherence is measured against it)."""
    try:
        from data_gen.stories.vocab import load_vocabulary
    except ImportError:
        return None
    return load_vocabulary()


def sample_report(sampler: Sampler, n: int, settings: SamplingConfig = STORY_SAMPLING) -> dict:
    texts, eos = sample_stories(sampler, n, settings)
    return {**story_metrics(texts, eos, vocabulary()).as_dict(), "texts": texts}


def sampled_texts(results: dict, settings: SamplingConfig, n: int | None = None) -> Samples:
    """The texts `results` hold under ``samples`` (sampled with `settings`), the first `n`."""
    texts = results.get("samples", {}).get("texts", [])[:n]
    return Samples(f"temperature {settings.temperature:g}", tuple(Sample(text) for text in texts))


def format_report(results: dict) -> str:
    lines = []
    for name, rep in results.items():
        if "bpb" in rep:
            lines.append(f"{name}: loss {rep['loss']:.4f} nats/token, {rep['bpb']:.4f} bits/byte "
                         f"over {rep['tokens']:,} tokens")
    if "samples" in results:
        s = results["samples"]
        lines.append(f"samples: {s['num_samples']}, vocab adherence {100 * s['vocab_adherence']:.1f}%, "
                     f"distinct-2 {s['distinct_2']:.3f}, distinct-3 {s['distinct_3']:.3f}, "
                     f"repetition {100 * s['repetition']:.1f}%, mean {s['mean_words']:.0f} words, "
                     f"EOS {100 * s['eos_rate']:.0f}%")
    return "\n".join(lines)
