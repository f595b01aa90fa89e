"""What the library needs to know of a task, behind one interface, and the task registry.

A *task* is a world of documents (the RPG transition records, TinyStories-style stories)
together with what training and evaluating on it means. The library (tokenizer, token
store, data pipeline, trainer, sampler) asks `get_task(name)` instead of branching on a
task's name; the implementations live with their evals (`eval/rpg/task.py`,
`eval/stories/task.py`) and are registered explicitly by the app layer
(`picojax.app.tasks`), so the library never imports `eval/` or `data_gen/`. A third task
is one new module implementing `Task` plus its data generator, and one `register` call.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Iterator, Literal, Optional, Protocol, Sequence, runtime_checkable

from picojax.errors import UserError

LongDocs = Literal["error", "split"]


class UnknownTaskError(UserError):
    """A config, token store or flag names a task that is not registered."""


@dataclasses.dataclass(frozen=True)
class EvalRequest:
    """What a user asked an eval for; each task reads the fields that mean something to it."""

    files: Sequence[str] = ()  # files to evaluate instead of the task's default splits
    limit: Optional[int] = None  # evaluate the first N items of each file
    samples: int = 32  # documents to sample, for tasks that judge free generation
    constrained: Optional[bool] = None  # decode under the task's constraint (None: the task's default)


@dataclasses.dataclass(frozen=True)
class Sample:
    """One output of the model, for a reader: `prompt`, then `text` (what the model wrote);
    `expected` and `ok` where the task knows the right answer."""

    text: str
    prompt: str = ""
    expected: Optional[str] = None
    ok: Optional[bool] = None  # None: free generation, nothing to match


@dataclasses.dataclass(frozen=True)
class Samples:
    how: str  # how they were decoded ("greedy, in-distribution prompts", "temperature 0.8")
    items: tuple[Sample, ...] = ()


@dataclasses.dataclass(frozen=True)
class Report:
    """Eval results as a reader sees them. Data only: the app layer prints it."""

    table: str  # the results as a table for a terminal
    samples: Optional[Samples] = None  # texts the model sampled during the eval, if it did
    warnings: tuple[str, ...] = ()  # where the eval did other than asked (decoded without the grammar)
    notes: tuple[str, ...] = ()  # what was left out of the results (malformed records, per file)


@runtime_checkable
class Task(Protocol):
    """The library's view of a task. Attributes are plain data; methods do the task's work."""

    name: str
    # Pieces the tokenizer must keep atomic (a space written as SentencePiece's ▁).
    tokenizer_symbols: tuple[str, ...]
    # SentencePiece model: "bpe" merges frequent character runs into pieces; "char" keeps
    # every character its own piece besides the atomic symbols (names spelled letter by
    # letter, so copying an unseen name is a character-level induction task).
    tokenizer_model: Literal["bpe", "char"]
    # SentencePiece character coverage: 1.0 keeps every character of the training text.
    character_coverage: float
    # A document longer than seq_len: "error" (records must fit whole) or "split" into windows.
    long_docs: LongDocs
    # Strings that end a sampled completion (besides EOS).
    stop_strings: tuple[str, ...]
    # Lines of a text split that are framing, not text (never shown to the tokenizer).
    framing_lines: tuple[str, ...]
    # Whether sample/eval decode under `constraint` unless told otherwise.
    constrained_by_default: bool

    def claims(self, first_line: str) -> bool:
        """Whether a text split starting with this (non-empty) line belongs to this task."""

    def tokenizer_lines(self, line: str) -> Sequence[str]:
        """The text the tokenizer trains on for one line of a text split (the line itself,
        or e.g. the prompt and completion inside a JSON line, never the JSON around them)."""

    def iter_documents(self, path: str | os.PathLike, digest=None) -> Iterator[tuple[str, str]]:
        """(prompt, target) per document of a text split; the loss may be masked to targets."""

    def generate_data(self, out_dir: str | os.PathLike, sizes: dict) -> str:
        """Writes the task's built-in dataset (train.txt, val.txt, ...); returns a one-line note."""

    def constraint(self, tokenizer) -> Optional[Callable[[str], Any]]:
        """Constrained decoding: a function prompt -> token automaton (`picojax.constrain`)
        that the task's answers always follow, or None for a task without a grammar."""

    def gbnf(self) -> Optional[str]:
        """The task's output grammar in llama.cpp's GBNF (written beside an export), or None."""

    def training_hooks(self, cfg) -> list:
        """Evals run during training: each has ``every`` and is called (step, model, writer)."""

    def evaluate(self, sampler, cfg, request: EvalRequest) -> dict:
        """The task's eval of a restored model; a JSON-able dict keyed by split."""

    def report(self, results: dict) -> Report:
        """`evaluate`'s results (or the same read back from JSON) for a reader."""

    def samples(self, results: dict, sampler, cfg, n: int) -> Samples:
        """About `n` outputs of the model to show a reader: those `results` hold, or
        decoded with `sampler` where they hold none."""


_REGISTRY: dict[str, Task] = {}


def register(task: Any) -> Task:
    """Adds a task under ``task.name``; registering the same name twice is a bug."""
    if not isinstance(task, Task):
        raise TypeError(f"{task!r} does not implement picojax.tasks.Task")
    if task.name in _REGISTRY and _REGISTRY[task.name] is not task:
        raise ValueError(f"a task named {task.name!r} is already registered")
    _REGISTRY[task.name] = task
    return task


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get_task(name: str) -> Task:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(_REGISTRY) or "none (import picojax.app.tasks to register the built-in ones)"
        raise UnknownTaskError(f"unknown task {name!r}; registered tasks: {known}") from None


def detect_task(text_path: str | os.PathLike) -> Task:
    """The task the manifest of the split's dataset folder names (``"task"``), else the
    first registered task that claims the first non-empty line of the text split."""
    from pathlib import Path

    from picojax.data_dir import DataDir

    try:
        named = DataDir(Path(text_path).parent).read_manifest().get("task")
    except (ValueError, AttributeError):
        named = None
    if isinstance(named, str) and named in _REGISTRY:
        return _REGISTRY[named]
    with open(text_path, encoding="utf-8", errors="replace") as f:
        first = next((line for line in f if line.strip()), None)
    if first is None:
        raise UnknownTaskError(f"{text_path} is empty: cannot tell which task it belongs to")
    for task in _REGISTRY.values():
        if task.claims(first):
            return task
    raise UnknownTaskError(f"no registered task ({', '.join(_REGISTRY)}) claims {text_path}: {first[:60]!r}")
