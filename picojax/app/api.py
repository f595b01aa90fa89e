"""`picojax.load(path)`: a trained specialist for programs, no JAX knowledge needed.

    import picojax
    model = picojax.load("runs/rpg")                  # a run's workdir (its latest checkpoint)
    model.complete(["turn=1 | hero hp=40/40 st=- cd=- | wolf hp=30/30 st=- cd=- | act=hero:strike:wolf => "])

`complete` is batched and greedy by default, stops where the task's records end, and,
for a task with a grammar (RPG), decodes under it unless ``constrained=False``. The same
object comes back for a GGUF export (``picojax.load("exports/rpg-q8_0.gguf")``, through
llama-cpp-python, with the per-prompt GBNF grammar) so a program can switch from the run
to the file it ships without changing a line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import picojax.app.tasks  # noqa: F401  (registers the built-in tasks: load() needs their grammars)
from picojax.errors import UserError
from picojax.tasks import get_task

DEFAULT_NEW_TOKENS = 256


class LoadError(UserError):
    """A path that is neither a run's workdir nor an export picojax can load."""


@dataclass
class RunModel:
    """A run's checkpoint on this machine's devices (`picojax.sample`)."""

    path: str
    task: str
    sampler: object
    step: int

    def complete(self, prompts: Sequence[str], *, max_new_tokens: int = DEFAULT_NEW_TOKENS, temperature: float = 0.0,
                 constrained: Optional[bool] = None, seed: int = 0) -> list[str]:
        from picojax.sample import SamplingConfig

        task = get_task(self.task)
        constraint = task.constraint(self.sampler.tokenizer) if _grammar_on(task, constrained) else None
        settings = SamplingConfig(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
        return [c.text for c in self.sampler.complete(list(prompts), settings, stop_strings=task.stop_strings,
                                                      constraint=constraint)]


@dataclass
class GGUFModel:
    """A GGUF export through llama.cpp (llama-cpp-python), greedy, one prompt at a time."""

    path: str
    task: str
    llm: object

    def complete(self, prompts: Sequence[str], *, max_new_tokens: int = DEFAULT_NEW_TOKENS, temperature: float = 0.0,
                 constrained: Optional[bool] = None, seed: int = 0) -> list[str]:
        import llama_cpp

        task = get_task(self.task)
        use = _grammar_on(task, constrained)
        out = []
        for prompt in prompts:
            grammar = None
            if use:
                text = prompt_gbnf(self.task, prompt)
                grammar = llama_cpp.LlamaGrammar.from_string(text, verbose=False) if text else None
            r = self.llm.create_completion(prompt, max_tokens=max_new_tokens, temperature=temperature, seed=seed,
                                           stop=list(task.stop_strings) or None, grammar=grammar)
            out.append(r["choices"][0]["text"])
        return out


def _grammar_on(task, constrained: Optional[bool]) -> bool:
    """``constrained`` as asked, or the task's default when not asked."""
    return task.constrained_by_default if constrained is None else constrained


def prompt_gbnf(task: str, prompt: str) -> Optional[str]:
    """The task's grammar for this prompt (RPG: with the prompt's two names), or None."""
    if task == "rpg":
        from eval.rpg.grammar import gbnf, prompt_names

        names = prompt_names(prompt)
        return gbnf(names) if names else gbnf()
    return get_task(task).gbnf()


def load(path: str | os.PathLike, *, step: Optional[int] = None):
    """A run's workdir (latest checkpoint, or ``step``) or a GGUF export, ready to `complete`."""
    p = Path(path)
    if p.is_file() and p.suffix == ".gguf":
        return _load_gguf(p)
    if p.is_dir() and (p / "checkpoints").is_dir():
        from picojax.config import MeshConfig
        from picojax.sample import load_sampler
        from picojax.sharding import configure_cpu_devices

        configure_cpu_devices(MeshConfig())
        cfg, sampler, at = load_sampler(p, step=step)
        return RunModel(str(p), cfg.data.task, sampler, at)
    raise LoadError(f"{path}: not a run's workdir (no checkpoints/) nor a .gguf export")


def _load_gguf(path: Path) -> GGUFModel:
    try:
        import llama_cpp
    except ImportError:
        raise LoadError(f"{path}: loading a GGUF needs llama-cpp-python (pip install 'picojax[export]')") from None
    from picojax.export.gguf_writer import TASK_KEY

    llm = llama_cpp.Llama(model_path=str(path), n_ctx=0, n_threads=os.cpu_count() or 1, verbose=False)
    task = (getattr(llm, "metadata", None) or {}).get(TASK_KEY)
    if task is None:
        raise LoadError(f"{path}: a GGUF without {TASK_KEY} metadata (not written by `picojax export`, or by an older one)")
    return GGUFModel(str(path), task, llm)
