"""The TinyStories-style storytelling task behind `picojax.tasks.Task`.

A text split is TinyStories V2 text: stories separated by a ``<|endoftext|>`` line (the
one definition is `data_gen.stories.framing.SEPARATOR`). Any text that is not another
task's is a story file, so this task claims every split and is registered last.
"""

from __future__ import annotations

from pathlib import Path

from data_gen.stories.framing import SEPARATOR
from picojax.tasks import EvalRequest, Report, Samples


class StoriesTask:
    name = "stories"
    tokenizer_symbols = ()
    tokenizer_model = "bpe"
    # Stories have rare Unicode junk that would eat a small vocabulary; drop the rarest
    # 0.05% of characters (byte fallback, when enabled, covers them).
    character_coverage = 0.9995
    long_docs = "split"  # a long story is trained on in overlapping windows
    stop_strings = ()  # stories may hold newlines and end at EOS only
    framing_lines = (SEPARATOR,)

    def claims(self, first_line: str) -> bool:
        return True

    def tokenizer_lines(self, line: str) -> tuple[str, ...]:
        return (line,)

    def iter_documents(self, path, digest=None):
        from picojax.store import separated_documents

        return separated_documents(path, SEPARATOR, digest)

    def generate_data(self, out_dir, sizes: dict) -> str:
        from data_gen.stories.generator import generate_stories

        manifest = generate_stories(out_dir, sizes["stories"], seed=sizes.get("seed", 0), progress=False)
        return f"{manifest['splits']['train']['stories']:,} train and {manifest['splits']['val']['stories']:,} val stories"

    constrained_by_default = False

    def constraint(self, tokenizer):
        return None  # free text: no grammar to follow

    def gbnf(self):
        return None

    def training_hooks(self, cfg) -> list:
        from eval.stories.hooks import make_hooks

        return make_hooks(cfg)

    def evaluate(self, sampler, cfg, request: EvalRequest) -> dict:
        from eval.stories.evaluate import sample_report, val_loss_bpb

        text = request.files[0] if request.files else None
        name = Path(text).stem if text else "val"
        results = {name: val_loss_bpb(cfg, sampler.model(), sampler.tokenizer, text)}
        if request.samples > 0:
            results["samples"] = sample_report(sampler, request.samples)
        return results

    def report(self, results: dict) -> Report:
        from eval.stories.evaluate import STORY_SAMPLING, format_report, sampled_texts

        return Report(format_report({k: v for k, v in results.items() if not k.startswith("_")}),
                      samples=sampled_texts(results, STORY_SAMPLING))

    def samples(self, results: dict, sampler, cfg, n: int) -> Samples:
        from eval.stories.evaluate import STORY_SAMPLING, sampled_texts

        return sampled_texts(results, STORY_SAMPLING, n)


TASK = StoriesTask()
