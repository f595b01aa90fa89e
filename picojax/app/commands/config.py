"""`picojax config`: print the resolved config, or the depth-dial table."""

from __future__ import annotations

import dataclasses

from picojax import config_io
from picojax.app.commands._common import add_config_args, config_from_args
from picojax.config import flops_per_token, horizon_tokens, param_count
from picojax.errors import ConfigError
from picojax.tables import format_table, human

HELP = "print the resolved config (or, with --depths, the depth-dial table)"


def add_arguments(parser):
    add_config_args(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of key = value lines")
    parser.add_argument("--depths", metavar="A-B",
                        help="print model size, FLOPs and horizon for each depth in A-B (e.g. 1-12)")


def parse_depths(text: str) -> list[int]:
    try:
        if "-" in text:
            lo, hi = (int(x) for x in text.split("-", 1))
            depths = list(range(lo, hi + 1))
        else:
            depths = [int(x) for x in text.split(",")]
    except ValueError:
        raise ConfigError(f"--depths {text!r} is not a range like 1-12 or a list like 2,4,6") from None
    if not depths or min(depths) < 1:
        raise ConfigError(f"--depths {text!r} must name depths >= 1")
    return depths


def depth_table(args) -> str:
    def short(n: float) -> str:  # 1.23M, and whole numbers below 1000
        return human(n, ".2f", unscaled=".0f")

    header = ("depth", "d_model", "heads", "kv", "params", "scaling", "MB fp32", "MB bf16", "FLOPs/tok", "horizon tok", "steps", "lr")
    rows = [header]
    for depth in parse_depths(args.depths):
        cfg = config_io.load(args.config, [*args.overrides, f"model.depth={depth}"])
        m = cfg.model
        count = param_count(m)
        rows.append((
            str(depth), str(m.d_model), str(m.n_heads), str(m.n_kv_heads), short(count.total), short(count.scaling),
            f"{count.total * 4 / 2**20:.2f}", f"{count.total * 2 / 2**20:.2f}",
            short(flops_per_token(m)),
            short(horizon_tokens(cfg)), str(cfg.train.steps), f"{cfg.optim.lr:.2e}",
        ))
    return format_table(rows)


def run(args) -> int:
    if args.depths:
        print(depth_table(args))
        return 0
    cfg = config_from_args(args)
    print(config_io.to_json(cfg) if args.json else config_io.format_config(cfg))
    return 0
