"""The stories eval inside training (found by `picojax.train.task_hooks`).

Every `train.task_eval_every` steps (and at the end): sample a few stories, write them to
TensorBoard as text, and return their metrics as ``eval/stories/<metric>``. (Val loss and
bits-per-byte are the trainer's own ``eval/val_loss`` and ``eval/val_bpb``.)
"""

from __future__ import annotations

from picojax.config import Config
from picojax.sample import TrainingSampler

SAMPLES = 16  # stories per in-training eval: enough for distinct-n, cheap on a CPU


class StoriesEvalHook:
    def __init__(self, cfg: Config):
        self.every = cfg.train.task_eval_every
        self.cfg = cfg
        self.sampler = TrainingSampler(cfg)

    def __call__(self, step: int, model, writer) -> dict[str, float]:
        from eval.stories.evaluate import sample_report

        report = sample_report(self.sampler(model), SAMPLES)
        texts = report.pop("texts")
        if writer is not None:
            writer.text(step, "eval/stories/samples", "\n\n---\n\n".join(texts[:4]))
        return {f"eval/stories/{k}": float(v) for k, v in report.items() if k != "num_samples"}


def make_hooks(cfg: Config) -> list:
    return [StoriesEvalHook(cfg)]
