"""The RPG eval inside training (found by `picojax.train.task_hooks`).

Every `train.task_eval_every` steps (and at the end) the model decodes the first
`train.task_eval_limit` records of each eval split, and a quarter as many rollout fights
(each fight is many turns); the scalars go to TensorBoard as
``eval/rpg/<split>/<metric>``, and a few failing outputs as text.
"""

from __future__ import annotations

from eval.rpg.report import scalar_metrics
from picojax.config import Config
from picojax.sample import TrainingSampler

FIGHTS_SHARE = 4  # rollout fights = limit // FIGHTS_SHARE


class RPGEvalHook:
    def __init__(self, cfg: Config):
        self.every = cfg.train.task_eval_every
        self.cfg = cfg
        self.sampler = TrainingSampler(cfg)

    def __call__(self, step: int, model, writer) -> dict[str, float]:
        from eval.rpg.model import evaluate_model

        limit = self.cfg.train.task_eval_limit
        results = evaluate_model(self.sampler(model), data_dir=self.cfg.data.dir, limit=limit,
                                 fights_limit=max(1, limit // FIGHTS_SHARE))
        if writer is not None:
            writer.text(step, "eval/rpg/failures", failure_examples(results))
        return {f"eval/rpg/{k}": v for k, v in scalar_metrics(results).items()}


def failure_examples(results: dict, per_split: int = 1) -> str:
    """Markdown: the first failing output(s) of each split, with their failure classes."""
    lines = []
    for split, rep in results.items():
        shown = 0
        for cls, examples in rep.get("examples", {}).items():
            for ex in examples:
                if shown >= per_split:
                    break
                lines.append(f"**{split}** ({', '.join(ex['failures'])})  \n`{ex['prompt']}`  \n"
                             f"expected `{ex['expected']}`  \ngot `{ex['output']}`\n")
                shown += 1
    return "\n".join(lines) or "no failures"


def make_hooks(cfg: Config) -> list:
    return [RPGEvalHook(cfg)]
