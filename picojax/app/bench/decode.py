"""`picojax bench decode`: sampling tokens/s at batch 1 and 64, depths 2 and 4.

Times `picojax.sample.Sampler` itself (prefill of a short prompt, then the jitted KV-cache
while_loop), on a randomly initialised model of each depth with no stop token, so every
row decodes exactly --new-tokens tokens. The first call compiles and is not timed; the
best of --repeats timed calls counts (load only slows a run down).
"""

from __future__ import annotations

import time

HELP = "decode tokens/s of the KV-cache sampler at batch 1 and 64 for depths 2 and 4"


def add_arguments(parser):
    parser.add_argument("--depths", default="2,4", help="comma list of depths (default 2,4)")
    parser.add_argument("--batches", default="1,64", help="comma list of batch sizes (default 1,64)")
    parser.add_argument("--prompt-len", type=int, default=32, help="prompt tokens, BOS included (default 32)")
    parser.add_argument("--new-tokens", type=int, default=128, help="tokens generated per row (default 128)")
    parser.add_argument("--seq-len", type=int, default=256, help="model context (default 256)")
    parser.add_argument("--vocab", type=int, default=512, help="vocabulary size (default 512)")
    parser.add_argument("--cpu-devices", type=int, default=1,
                        help="fake CPU devices (default 1; 0 = one per core); ignored on GPU/TPU")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per point; the best counts (default 3)")


def run(args) -> int:
    from picojax.config import Config, MeshConfig, param_count, resolve
    from picojax.sharding import configure_cpu_devices

    configure_cpu_devices(MeshConfig(cpu_devices=args.cpu_devices))
    import jax
    import numpy as np

    from picojax import sharding
    from picojax.app.bench.report import emit
    from picojax.sample import Sampler, SamplingConfig

    depths = [int(d) for d in args.depths.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    settings = SamplingConfig(max_new_tokens=args.new_tokens)  # greedy
    no_stop = (-1,)
    rng = np.random.default_rng(0)
    rows, figures = [], {}
    for depth in depths:
        cfg = Config()
        cfg.model.depth, cfg.model.seq_len, cfg.model.vocab_size = depth, args.seq_len, args.vocab
        cfg.mesh = MeshConfig(strategy="dp", data=-1)
        cfg = resolve(cfg)
        mesh = sharding.make_mesh(cfg.mesh)
        graphdef, state = sharding.create_model(cfg, mesh, seed=0)
        params = param_count(cfg.model).total
        for batch in batches:
            sampler = Sampler((graphdef, state), None, max_len=args.seq_len, batch_size=batch)
            prompts = [[2, *rng.integers(4, args.vocab, args.prompt_len - 1).tolist()] for _ in range(batch)]
            start = time.perf_counter()
            sampler.generate_ids(prompts, settings, no_stop)  # compiles
            compile_s = time.perf_counter() - start
            best = float("inf")
            for _ in range(args.repeats):
                start = time.perf_counter()
                out = sampler.generate_ids(prompts, settings, no_stop)
                best = min(best, time.perf_counter() - start)
            generated = sum(len(ids) for ids, _ in out)
            tps = generated / best
            rows.append((depth, cfg.model.d_model, f"{params / 1e6:.2f}M", batch, generated, best, tps,
                         1000 * best / args.new_tokens, compile_s))
            figures[f"depth{depth}_batch{batch}_tokens_per_sec"] = round(tps, 1)
            figures[f"depth{depth}_batch{batch}_ms_per_step"] = round(1000 * best / args.new_tokens, 3)
    figures.update(devices=jax.device_count(), prompt_len=args.prompt_len, new_tokens=args.new_tokens)
    emit("decode", ("depth", "d_model", "params", "batch", "tokens", "seconds", "tokens/s", "ms/step", "compile s"),
         rows, figures)
    return 0
