"""`picojax bench edge`: a trained run where it will be deployed, tokens/s and memory.

The same run decoded greedily by llama.cpp (llama-cpp-python) from its GGUF export in
f32, f16 and q8_0 (batch 1, ``--threads`` threads), and by `picojax sample` at batch 1 and
64, on the same prompts (the first documents of the run's val split). Each point runs in
a fresh process, so its peak resident memory (``VmHWM``) is its own: what a game shipping
the model would pay. Tokens/s counts the tokens each side generated (records end at EOS)
over the decode time, best of ``--repeats``; load and compile are timed apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

HELP = "llama.cpp (GGUF f32/f16/q8_0, batch 1) vs picojax sample (batch 1, 64) on a run: tokens/s and peak memory"
DTYPES = ("f32", "f16", "q8_0")


def add_arguments(parser):
    parser.add_argument("--workdir", required=True, metavar="RUN", help="a trained run (its latest checkpoint)")
    parser.add_argument("--prompts", type=int, default=64, help="val documents used as prompts (default 64)")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (default 2)")
    parser.add_argument("--max-new-tokens", type=int, default=128, help="tokens per completion at most (default 128)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per point; the best counts (default 2)")


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def _prompts(cfg, n: int) -> list[str]:
    import itertools

    from picojax.data_dir import DataDir
    from picojax.tasks import get_task

    task = get_task(cfg.data.task)
    docs = itertools.islice(task.iter_documents(DataDir(cfg.data.dir).text_path("val")), n)
    return [p or " ".join(t.split(" ")[:6]) for p, t in docs]


def _llama_point(spec: dict) -> dict:
    import llama_cpp

    start = time.perf_counter()
    llm = llama_cpp.Llama(model_path=spec["gguf"], n_ctx=spec["n_ctx"], n_threads=spec["threads"], verbose=False)
    load_s = time.perf_counter() - start
    best = float("inf")
    tokens = 0
    for _ in range(spec["repeats"]):
        start, tokens = time.perf_counter(), 0
        for p in spec["prompts"]:
            r = llm.create_completion(p, max_tokens=spec["max_new"], temperature=0.0, stop=spec["stop"] or None)
            tokens += r["usage"]["completion_tokens"]
        best = min(best, time.perf_counter() - start)
    return {"tokens": tokens, "seconds": best, "load_s": load_s, "peak_mb": _peak_rss_mb()}


def _picojax_point(spec: dict) -> dict:
    from picojax.config import MeshConfig
    from picojax.sharding import configure_cpu_devices

    configure_cpu_devices(MeshConfig())
    from picojax.sample import SamplingConfig, load_sampler
    from picojax.tasks import get_task

    start = time.perf_counter()
    cfg, sampler, _ = load_sampler(spec["workdir"], batch_size=spec["batch"])
    settings = SamplingConfig(max_new_tokens=spec["max_new"])
    stops = get_task(cfg.data.task).stop_strings
    prompts = spec["prompts"]
    sampler.complete(prompts[:spec["batch"]], settings, stop_strings=stops)  # compiles
    load_s = time.perf_counter() - start
    best, tokens = float("inf"), 0
    for _ in range(spec["repeats"]):
        start = time.perf_counter()
        out = sampler.complete(prompts, settings, stop_strings=stops)
        best = min(best, time.perf_counter() - start)
        tokens = sum(len(c.tokens) for c in out)
    return {"tokens": tokens, "seconds": best, "load_s": load_s, "peak_mb": _peak_rss_mb()}


def _run(kind: str, spec: dict) -> dict:
    from picojax.errors import UserError

    out = subprocess.run([sys.executable, "-m", "picojax.app.bench.edge", kind, json.dumps(spec)],
                         capture_output=True, text=True)
    if out.returncode:
        raise UserError(f"bench edge: the {kind} point failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(args) -> int:
    from picojax.app.bench.report import emit
    from picojax.errors import UserError

    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        raise UserError("bench edge needs llama-cpp-python and gguf: pip install 'picojax[export]'") from None
    from picojax.config import MeshConfig
    from picojax.sharding import configure_cpu_devices

    configure_cpu_devices(MeshConfig())
    from picojax.export import export_model
    from picojax.restore import restore_for_inference
    from picojax.tasks import get_task

    cfg, model, tokenizer, step = restore_for_inference(args.workdir)
    prompts = _prompts(cfg, args.prompts)
    stop = list(get_task(cfg.data.task).stop_strings)
    rows, figures = [], {"prompts": len(prompts), "step": step, "threads": args.threads}
    with tempfile.TemporaryDirectory() as tmp:
        for dtype in DTYPES:
            path = os.path.join(tmp, f"model-{dtype}.gguf")
            result = export_model(model, cfg, tokenizer, fmt="gguf", out=path, dtype=dtype)
            mb = os.path.getsize(result.path) / 1e6
            p = _run("llama", {"gguf": str(result.path), "n_ctx": cfg.model.seq_len, "threads": args.threads,
                               "prompts": prompts, "max_new": args.max_new_tokens, "stop": stop, "repeats": args.repeats})
            tps = p["tokens"] / p["seconds"]
            rows.append((f"llama.cpp {dtype}", 1, f"{mb:.2f}", p["tokens"], tps, p["load_s"], p["peak_mb"]))
            figures.update({f"llama_{dtype}_tokens_per_s": round(tps, 1), f"llama_{dtype}_peak_mb": round(p["peak_mb"], 1),
                            f"gguf_{dtype}_mb": round(mb, 3)})
    for batch in (1, 64):
        p = _run("picojax", {"workdir": str(args.workdir), "batch": batch, "prompts": prompts,
                             "max_new": args.max_new_tokens, "repeats": args.repeats})
        tps = p["tokens"] / p["seconds"]
        rows.append(("picojax sample", batch, "-", p["tokens"], tps, p["load_s"], p["peak_mb"]))
        figures.update({f"picojax_b{batch}_tokens_per_s": round(tps, 1), f"picojax_b{batch}_peak_mb": round(p["peak_mb"], 1)})
    emit("edge", ("runtime", "batch", "file MB", "tokens", "tokens/s", "load s", "peak MB"), rows, figures)
    return 0


if __name__ == "__main__":  # one point in a fresh process (see _run)
    kind, spec = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(_llama_point(spec) if kind == "llama" else _picojax_point(spec)))
