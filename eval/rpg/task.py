"""The RPG transition task (format: data_gen/rpg/FORMAT.md) behind `picojax.tasks.Task`.

Every label and separator comes from `data_gen.rpg`, the one definition of the format, so
the tokenizer's atomic pieces cannot drift from what the generator writes.
"""

from __future__ import annotations

import re
from pathlib import Path

from data_gen.rpg.rules import ACTION_NAMES, RESULT_DRAW, RESULT_ONGOING, STATUSES, WIN_PREFIX
from data_gen.rpg.text import ARROW, FIELD_LABELS, SEP
from picojax.data_dir import DataDir, text_name
from picojax.tasks import EvalRequest, Report, Sample, Samples

_RECORD_LINE = re.compile(r"^turn=\d+ \| .* => ")


def piece(text: str) -> str:
    """A label as a SentencePiece piece: a space is ▁ inside SentencePiece."""
    return text.replace(" ", "▁")


class RPGTask:
    name = "rpg"
    # The order fixes the pieces' ids: field labels, separators, statuses, actions, results.
    tokenizer_symbols = tuple(dict.fromkeys(
        [piece(label) for label in FIELD_LABELS] + [piece(SEP), piece(ARROW)] + list(STATUSES) + list(ACTION_NAMES)
        + [WIN_PREFIX, RESULT_ONGOING, RESULT_DRAW]))
    # Names letter by letter: with BPE (512 pieces) a name was 1-3 merged pieces, and the
    # model rewrote unseen names as training names (0% exact on held-out names); with one
    # piece per letter, copying a name is character-level induction. Labels stay atomic.
    tokenizer_model = "char"
    character_coverage = 1.0  # RPG text is pure ASCII: keep every character
    long_docs = "error"  # a record cut in two teaches nothing: it must fit whole
    stop_strings = ("\n",)  # a record is one line
    framing_lines = ()

    def claims(self, first_line: str) -> bool:
        return bool(_RECORD_LINE.match(first_line))

    def tokenizer_lines(self, line: str) -> tuple[str, ...]:
        return (line,)

    def iter_documents(self, path, digest=None):
        from picojax.store import line_documents

        return line_documents(path, ARROW, "an RPG record", digest)

    def generate_data(self, out_dir, sizes: dict) -> str:
        from data_gen.rpg import Options, write_dataset

        manifest = write_dataset(Path(out_dir), Options(**sizes), progress=False)
        counts = manifest["counts"]
        return f"{counts[text_name('train')]:,} train, {counts[text_name('val')]:,} val records and the eval splits"

    # Decode under the record grammar unless asked not to (`picojax eval --no-constrained`).
    constrained_by_default = True

    def constraint(self, tokenizer):
        from eval.rpg.grammar import make_constraint

        return make_constraint(tokenizer)

    def gbnf(self):
        from eval.rpg.grammar import gbnf

        return gbnf()

    def training_hooks(self, cfg) -> list:
        from eval.rpg.hooks import make_hooks

        return make_hooks(cfg)

    def evaluate(self, sampler, cfg, request: EvalRequest) -> dict:
        from eval.rpg.model import evaluate_model

        from eval.rpg.grammar import GrammarError

        constrained = self.constrained_by_default if request.constrained is None else request.constrained
        note = None
        try:
            constraint = self.constraint(sampler.tokenizer) if constrained else None
        except GrammarError as e:
            if request.constrained:  # asked for by name: say why it cannot be done
                raise
            constrained, constraint, note = False, None, f"decoded without the grammar: {e}"
        results = evaluate_model(sampler, list(request.files) or None, data_dir=cfg.data.dir, limit=request.limit,
                                 constraint=constraint)
        nothing_scored(results)
        results["_decoding"] = {"constrained": constrained, **({"note": note} if note else {})}
        return results

    def report(self, results: dict) -> Report:
        from eval.rpg.report import format_table

        note = results.get("_decoding", {}).get("note")
        return Report(format_table({k: v for k, v in results.items() if not k.startswith("_")}),
                      warnings=(note,) if note else (), notes=tuple(malformed_notes(results)))

    def samples(self, results: dict, sampler, cfg, n: int) -> Samples:
        from eval.rpg.model import make_complete
        from eval.rpg.records import load_records

        records, _ = load_records(DataDir.of(cfg).eval_path("in_dist.txt"), limit=n)
        outputs = make_complete(sampler, cfg.model.seq_len // 2)([r.prompt for r in records])
        return Samples("greedy, in-distribution prompts", tuple(
            Sample(got, prompt=r.prompt, expected=r.target, ok=got.strip() == r.target) for r, got in zip(records, outputs)))


def malformed_notes(results: dict) -> list[str]:
    """One line per split with malformed records (not scored), naming the first three."""
    notes = []
    for split, rep in results.items():
        bad = rep.get("malformed_records", []) if isinstance(rep, dict) else []
        if bad:
            shown = "; ".join(f"line {m['line']}: {m['error']}" for m in bad[:3])
            more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
            notes.append(f"{split}: {len(bad)} malformed record(s) not scored: {shown}{more}")
    return notes


def nothing_scored(results: dict) -> None:
    """Refuses an eval that scored nothing at all (every line of every file malformed, or
    no lines): a table of zero records that exits 0 hides the mistake from scripts and CI.
    A file with some malformed lines still scores the rest."""
    from eval.rpg.records import EvalInputError

    scored = sum(rep.get("records", rep.get("fights", 0)) for rep in results.values() if isinstance(rep, dict))
    if scored:
        return
    bad = [(split, m) for split, rep in results.items() for m in rep.get("malformed_records", [])]
    first = f" (first: {bad[0][0]} line {bad[0][1]['line']}: {bad[0][1]['error']})" if bad else ""
    raise EvalInputError(f"nothing was scored: {len(bad)} malformed line(s) and no readable record{first}")


TASK = RPGTask()
