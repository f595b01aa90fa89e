"""A user's own prompt -> completion pairs (`data_gen.pairs`) behind `picojax.tasks.Task`.

A text split is JSON Lines of ``{"prompt": ..., "completion": ...}``; the document is the
prompt followed by the completion, with the loss on the completion (`data.loss_on=target`).
The tokenizer trains on the prompts' and completions' text, never on the JSON around them.
"""

from __future__ import annotations

import json

from picojax.tasks import EvalRequest, Report, Samples


class PairsTask:
    name = "pairs"
    tokenizer_symbols = ()
    tokenizer_model = "bpe"  # `picojax tokenizer --model char` for letter-level jobs
    character_coverage = 1.0  # a user's data is small: keep every character it has
    long_docs = "error"  # a pair cut in two teaches nothing: raise model.seq_len instead
    stop_strings = ()  # a completion ends at EOS (it may hold newlines)
    framing_lines = ()
    constrained_by_default = False

    def claims(self, first_line: str) -> bool:
        try:
            obj = json.loads(first_line)
        except ValueError:
            return False
        return isinstance(obj, dict) and "prompt" in obj and "completion" in obj

    def tokenizer_lines(self, line: str) -> list[str]:
        from data_gen.pairs import parse_pair_line

        prompt, completion = parse_pair_line(line)
        return [part for text in (prompt, completion) for part in text.split("\n") if part]

    def iter_documents(self, path, digest=None):
        from data_gen.pairs import read_pairs

        if digest is not None:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
        return ((prompt, completion) for _, prompt, completion in read_pairs(path))

    def generate_data(self, out_dir, sizes: dict) -> str:
        from data_gen.pairs import PairsError

        raise PairsError("the pairs task has no built-in data: import yours with `picojax data pairs --from FILE`")

    def constraint(self, tokenizer):
        return None  # a user's completions have no grammar picojax knows (format validity uses their regex)

    def gbnf(self):
        return None

    def training_hooks(self, cfg) -> list:
        from eval.pairs.evaluate import PairsEvalHook

        return [PairsEvalHook(cfg)]

    def evaluate(self, sampler, cfg, request: EvalRequest) -> dict:
        from eval.pairs.evaluate import evaluate_model

        return evaluate_model(sampler, cfg.data.dir, list(request.files), request.limit)

    def report(self, results: dict) -> Report:
        from eval.pairs.evaluate import format_report

        return Report(format_report({k: v for k, v in results.items() if not k.startswith("_")}))

    def samples(self, results: dict, sampler, cfg, n: int) -> Samples:
        from eval.pairs.evaluate import val_samples

        return val_samples(sampler, cfg, n)


TASK = PairsTask()
