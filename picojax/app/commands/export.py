"""`picojax export`: a run's checkpoint as a Hugging Face folder or a GGUF file (llama.cpp)."""

from __future__ import annotations

import sys

HELP = "export a run's checkpoint for transformers (--format hf) or llama.cpp/Ollama (--format gguf)"

# Prompts for --check when the run's val split is not at hand.
FALLBACK_PROMPTS = ("Once upon a time", "The", "turn=1 | ")
CHECK_PROMPTS = 3  # documents of the val split used as --check prompts
STORY_PROMPT_WORDS = 6  # a story's prompt: its first words


def add_arguments(parser):
    parser.add_argument("--workdir", required=True, metavar="RUN", help="run directory written by `picojax train`")
    parser.add_argument("--format", required=True, choices=("gguf", "hf"),
                        help="gguf: one file for llama.cpp / Ollama; hf: a folder for transformers")
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="the .gguf file or the hf folder to write (replaced only if it is an earlier export)")
    parser.add_argument("--step", type=int, metavar="N", help="checkpoint step to export (default: the latest)")
    parser.add_argument("--dtype", default="f32", choices=("f32", "f16", "bf16", "q8_0"),
                        help="weight type (default f32); q8_0 is gguf only; norms always stay f32")
    parser.add_argument("--grammar", action="store_true",
                        help="also write the task's output grammar in llama.cpp's GBNF beside the export "
                             "(OUT with .gbnf for gguf, OUT/grammar.gbnf for hf): rpg has one")
    parser.add_argument("--check", action="store_true",
                        help="reload the export in transformers / llama.cpp and compare with picojax "
                             "(exit 1 on a mismatch); needs pip install 'picojax[export]'")
    parser.add_argument("--check-prompt", action="append", default=[], metavar="TEXT",
                        help="a prompt for --check (repeatable; default: the first documents of the run's val split)")
    parser.add_argument("--check-tokens", type=int, default=24, metavar="N",
                        help="greedy tokens generated per --check prompt (default 24)")


def check_prompts(cfg, given) -> list[str]:
    """The --check prompts: the given ones, else the starts of the run's first val documents."""
    if given:
        return list(given)
    import itertools

    from picojax.data_dir import DataDir
    from picojax.tasks import get_task

    val = DataDir.of(cfg).text_path("val")
    prompts = []
    if val.is_file():
        try:
            for prompt, target in itertools.islice(get_task(cfg.data.task).iter_documents(val), CHECK_PROMPTS):
                text = prompt or " ".join(target.split(" ")[:STORY_PROMPT_WORDS])
                if text:
                    prompts.append(text)
        except Exception:  # an unreadable split only costs the default prompts
            prompts = []
    return prompts or list(FALLBACK_PROMPTS)


def run(args) -> int:
    from picojax.errors import UserError

    if args.check_tokens < 1:
        raise UserError(f"--check-tokens must be >= 1, got {args.check_tokens}")
    from picojax.export import check_destination, check_exportable
    from picojax.run_dir import RunDir

    # Everything that can be refused without the (slow) restore is refused first.
    check_destination(args.format, args.out)
    run_dir = RunDir(args.workdir)
    saved = run_dir.read_config() if run_dir.config_path.is_file() else None
    if saved is not None:
        from picojax.config import resolve

        check_exportable(resolve(saved), args.format, args.dtype)
        if args.grammar:
            from picojax.tasks import get_task

            if get_task(saved.data.task).gbnf() is None:
                raise UserError(f"--grammar: the {saved.data.task} task has no output grammar to export")

    from picojax import sharding
    from picojax.config import MeshConfig

    sharding.configure_cpu_devices(MeshConfig())
    from picojax.export import export_model
    from picojax.restore import restore_for_inference

    cfg, model, tokenizer, step = restore_for_inference(args.workdir, step=args.step)
    result = export_model(model, cfg, tokenizer, fmt=args.format, out=args.out, dtype=args.dtype,
                          source={"workdir": str(args.workdir), "step": int(step)})
    print(f"picojax export: {args.workdir} step {step}: {result.summary()}")
    if args.grammar:
        print(f"picojax export: grammar {write_grammar(cfg, args.format, result.path)}")
    if not args.check:
        return 0
    from picojax.export.check import check_export

    outcome = check_export(args.format, result.path, model, tokenizer, cfg, check_prompts(cfg, args.check_prompt),
                           dtype=args.dtype, max_new_tokens=args.check_tokens)
    print(f"picojax export: {outcome.verdict()}", file=sys.stdout if outcome.passed else sys.stderr)
    return 0 if outcome.passed else 1


def grammar_path(fmt: str, out) -> str:
    """Where the GBNF goes: beside a .gguf file (same stem), inside an hf folder."""
    import os

    return os.path.join(out, "grammar.gbnf") if fmt == "hf" else os.path.splitext(str(out))[0] + ".gbnf"


def write_grammar(cfg, fmt: str, out) -> str:
    from picojax.errors import UserError
    from picojax.paths import run_path, write_text_atomic
    from picojax.tasks import get_task

    text = get_task(cfg.data.task).gbnf()
    if text is None:
        raise UserError(f"--grammar: the {cfg.data.task} task has no output grammar to export")
    path = grammar_path(fmt, out)
    write_text_atomic(run_path(path), text)
    return path
