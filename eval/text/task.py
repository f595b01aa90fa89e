"""Plain text (`data_gen.text`) behind `picojax.tasks.Task`: a language model of whatever
text the user gives, judged by val loss (nats per token: per character with a char
tokenizer, nanoGPT's figure), bits per byte, and unconditional samples.

Splits use the TinyStories V2 layout (documents between ``<|endoftext|>`` lines); a data
folder is this task's when its ``manifest.json`` says so (`picojax data text` writes it),
since any text would otherwise read as stories.
"""

from __future__ import annotations

from pathlib import Path

from data_gen.stories.framing import SEPARATOR
from picojax.sample import SamplingConfig
from picojax.tasks import EvalRequest, Report, Samples

SAMPLES = SamplingConfig(max_new_tokens=256, temperature=0.8, top_k=0)
HOOK_SAMPLES = 4


class TextTask:
    name = "text"
    tokenizer_symbols = ()
    tokenizer_model = "bpe"  # `picojax tokenizer --model char` for character-level models
    character_coverage = 1.0
    long_docs = "split"  # a stream (a play) is trained on in windows
    stop_strings = ()
    framing_lines = (SEPARATOR,)
    constrained_by_default = False

    def claims(self, first_line: str) -> bool:
        return False  # chosen by the dataset's manifest, never by the look of a line

    def tokenizer_lines(self, line: str) -> tuple[str, ...]:
        return (line,)

    def iter_documents(self, path, digest=None):
        from picojax.store import separated_documents

        return separated_documents(path, SEPARATOR, digest)

    def generate_data(self, out_dir, sizes: dict) -> str:
        from data_gen.text import TextError

        raise TextError("the text task has no built-in data: import yours with `picojax data text --from FILE`")

    def constraint(self, tokenizer):
        return None

    def gbnf(self):
        return None

    def training_hooks(self, cfg) -> list:
        return [TextSamplesHook(cfg)]

    def evaluate(self, sampler, cfg, request: EvalRequest) -> dict:
        from eval.stories.evaluate import val_loss_bpb

        text = request.files[0] if request.files else None
        results = {Path(text).stem if text else "val": val_loss_bpb(cfg, sampler.model(), sampler.tokenizer, text)}
        if request.samples > 0:
            results["samples"] = {"texts": sample_texts(sampler, request.samples)}
        return results

    def report(self, results: dict) -> Report:
        from eval.stories.evaluate import sampled_texts

        lines = []
        for name, rep in results.items():
            if name.startswith("_") or name == "samples":
                continue
            lines.append(f"{name}: loss {rep['loss']:.4f} nats/token, {rep['bpb']:.4f} bits/byte "
                         f"over {rep['tokens']:,} tokens ({rep['bytes']:,} bytes)")
        return Report("\n".join(lines), samples=sampled_texts(results, SAMPLES))

    def samples(self, results: dict, sampler, cfg, n: int) -> Samples:
        from eval.stories.evaluate import sampled_texts

        return sampled_texts(results, SAMPLES, n)


def sample_texts(sampler, n: int) -> list[str]:
    from eval.stories.evaluate import sample_stories

    return sample_stories(sampler, n, SAMPLES)[0]


class TextSamplesHook:
    """A few samples to TensorBoard every `train.task_eval_every` steps (val loss and bpb
    are the trainer's own ``eval/val_loss`` and ``eval/val_bpb``)."""

    def __init__(self, cfg):
        from picojax.sample import TrainingSampler

        self.every = cfg.train.task_eval_every
        self.sampler = TrainingSampler(cfg)

    def __call__(self, step: int, model, writer) -> dict[str, float]:
        texts = sample_texts(self.sampler(model), HOOK_SAMPLES)
        if writer is not None:
            writer.text(step, "eval/text/samples", "\n\n---\n\n".join(texts))
        return {}


TASK = TextTask()
