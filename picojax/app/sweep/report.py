"""`report.md` and its plots for a sweep's ``results.json``.

    WORKDIR/report.md                 the page: what was trained, what it can do per MB, tables
    WORKDIR/plots/capability.png      the task's headline metric per split vs model size (MB)
    WORKDIR/plots/scaling.png         val loss and bits/byte vs parameters and vs FLOPs (log axes)
    WORKDIR/plots/isoflop.png         with FLOPs budgets: loss vs parameters per budget, the minima
    WORKDIR/plots/curves.png          every point's training curve on one chart
    WORKDIR/plots/throughput.png      tokens/s and MFU per point

Plots use matplotlib's Agg canvas directly (no pyplot, no display, no global backend).
matplotlib is a dependency; in an environment without it the page is written with its
tables only.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path
from typing import Optional, Sequence, TextIO

from picojax.paths import write_text_atomic
from picojax.run_dir import RunDir
from picojax.tables import human

from picojax.app.sweep.plan import budget_label
from picojax.app.sweep.results import MIB, RESULTS_CSV, RESULTS_JSON, finite, read_results

REPORT = "report.md"
PLOTS = "plots"


@dataclasses.dataclass(frozen=True)
class Headline:
    """A task's headline metric, recognised by its key in each split's eval results."""

    key: str
    label: str  # axis label, units included
    short: str  # table column
    scale: float  # plotted value = raw * scale
    higher_is_better: bool

    def fmt(self, raw: Optional[float]) -> str:
        if raw is None:
            return "–"
        return f"{raw * self.scale:.1f}%" if self.scale == 100 else f"{raw * self.scale:.4f}"


# The first of these that a split of the eval reports is the sweep's capability measure:
# RPG splits report exact match, stories splits bits per byte.
HEADLINES = (
    Headline("exact_match", "exact match (%)", "exact", 100.0, True),
    Headline("bpb", "bits per byte (lower is better)", "bpb", 1.0, False),
)


def headline_of(points: Sequence[dict]) -> tuple[Optional[Headline], list[str]]:
    """(headline, the splits that report it, in eval order)."""
    for h in HEADLINES:
        splits = list(dict.fromkeys(split for p in points for split, rep in p["eval"].items()
                                    if isinstance(rep, dict) and h.key in rep))
        if splits:
            return h, splits
    return None, []


def value(point: dict, split: str, h: Headline) -> Optional[float]:
    rep = point["eval"].get(split)
    return finite(rep.get(h.key)) if isinstance(rep, dict) else None


# ----------------------------------------------------------------------------------------
# Series: points grouped by FLOPs budget (one series without budgets).


def series_of(points: Sequence[dict]) -> list[tuple[str, list[dict]]]:
    groups: dict = {}
    for p in points:
        groups.setdefault(p["budget"], []).append(p)
    out = []
    for budget, members in sorted(groups.items(), key=lambda kv: (kv[0] is not None, kv[0] or 0.0)):
        members = sorted(members, key=lambda p: p["depth"])
        out.append((f"{budget_label(budget)} FLOPs" if budget is not None else _steps_label(members), members))
    return out


def _steps_label(points: Sequence[dict]) -> str:
    """'compute-optimal (20 tokens/param)' when every point ran to the dial's horizon."""
    f = [p["figures"] for p in points]
    on_horizon = all(abs(x["tokens"] - x["horizon_tokens"]) <= x["tokens_per_step"] for x in f)
    if on_horizon:
        return f"compute-optimal ({points[0]['config']['train']['tokens_per_param']:g} tokens/param)"
    steps = {x["steps"] for x in f}
    return f"{steps.pop():,} steps each" if len(steps) == 1 else "fixed steps"


# ----------------------------------------------------------------------------------------
# Plots.


def _figure(width: float, height: float, nrows: int = 1, ncols: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _save(fig, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return f"{PLOTS}/{path.name}"


def _tick_label(v: float, _pos=None) -> str:
    """30000 -> '30k', 4.2e9 -> '4.2G', 3.7 -> '3.7': tick labels that read as numbers."""
    return human(v)


def _minor_formatter(lo: float, hi: float):
    """Minor tick labels for a log axis over [lo, hi]: all of them within half a decade,
    only 2x and 5x up to about a decade and a half, none beyond (they would crowd)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    span = math.log10(hi / lo) if lo > 0 and hi > lo else 99.0
    if span < 0.5:
        return FuncFormatter(_tick_label)
    if span < 1.5:
        def some(v, pos=None):
            mantissa = v / 10 ** math.floor(math.log10(v)) if v > 0 else 0
            return human(v) if round(mantissa, 6) in (2.0, 5.0) else ""

        return FuncFormatter(some)
    return NullFormatter()


def _log_ticks(ax) -> None:
    """Plain tick labels on log axes (30k, 4G, 2.5), minor ones where they do not crowd."""
    from matplotlib.ticker import FuncFormatter

    for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if axis.get_scale() != "log" or lo <= 0:
            continue
        axis.set_major_formatter(FuncFormatter(_tick_label))
        axis.set_minor_formatter(_minor_formatter(lo, hi))


def _label_points(ax, xs, ys, points) -> None:
    for x, y, p in zip(xs, ys, points):
        ax.annotate(f"d{p['depth']}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8, color="0.3")


def _pairs(points, xkey, ykey):
    """(xs, ys, points) where both figures are finite and x > 0 (log axes)."""
    kept = [(finite(p["figures"].get(xkey)), finite(p["figures"].get(ykey)), p) for p in points]
    kept = [(x, y, p) for x, y, p in kept if x is not None and y is not None and x > 0 and y > 0]
    return [k[0] for k in kept], [k[1] for k in kept], [k[2] for k in kept]


def plot_scaling(points, series, out: Path) -> Optional[str]:
    fig, axes = _figure(11, 8, 2, 2)
    drew = False
    for row, (ykey, ylabel) in enumerate((("val_loss", "val loss (nats/token)"), ("val_bpb", "val bits per byte"))):
        for col, (xkey, xlabel) in enumerate((("params", "parameters"), ("train_flops", "training FLOPs"))):
            ax = axes[row][col]
            for label, members in series:
                xs, ys, kept = _pairs(members, xkey, ykey)
                if xs:
                    drew = True
                    ax.plot(xs, ys, "o-", label=label)
                    _label_points(ax, xs, ys, kept)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(f"{xlabel} (log)")
            ax.set_ylabel(f"{ylabel} (log)")
            ax.set_title(f"{ylabel.split(' (')[0]} vs {xlabel}")
            ax.grid(True, which="both", alpha=0.3)
            _log_ticks(ax)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
    fig.suptitle("Validation loss vs model size and training compute")
    return _save(fig, out / "scaling.png") if drew else None


@dataclasses.dataclass
class IsoFlopMinimum:
    budget: float
    best_point: str  # the lowest val loss observed
    best_params: int
    best_loss: float
    fit_params: Optional[float]  # the fitted parabola's minimum (None: not bracketed or too few points)
    fit_loss: Optional[float]


def isoflop_minima(series) -> list[IsoFlopMinimum]:
    """Per budget: the observed minimum, and a parabola in log(params) fitted through the
    points when there are at least 3 and its minimum lies inside them."""
    import numpy as np

    minima = []
    for _, members in series:
        budget = members[0]["budget"]
        if budget is None:
            continue
        xs, ys, kept = _pairs(members, "params", "val_loss")
        if not xs:
            continue
        i = int(np.argmin(ys))
        fit_params = fit_loss = None
        if len(xs) >= 3:
            lx = np.log10(xs)
            a, b, c = np.polyfit(lx, ys, 2)
            if a > 0 and lx.min() <= -b / (2 * a) <= lx.max():
                x_min = -b / (2 * a)
                fit_params, fit_loss = float(10**x_min), float(a * x_min**2 + b * x_min + c)
        minima.append(IsoFlopMinimum(budget, kept[i]["point"], int(xs[i]), float(ys[i]), fit_params, fit_loss))
    return minima


def plot_isoflop(series, minima: list[IsoFlopMinimum], out: Path) -> Optional[str]:
    import numpy as np

    budgets = [(label, m) for label, m in series if m[0]["budget"] is not None]
    if not budgets or not minima:
        return None
    fig, axes = _figure(11, 4.5, 1, 2)
    ax = axes[0][0]
    by_budget = {m.budget: m for m in minima}
    for label, members in budgets:
        xs, ys, kept = _pairs(members, "params", "val_loss")
        if not xs:
            continue
        (line,) = ax.plot(xs, ys, "o", label=label)
        _label_points(ax, xs, ys, kept)
        m = by_budget.get(members[0]["budget"])
        if len(xs) >= 3:
            lx = np.log10(xs)
            coef = np.polyfit(lx, ys, 2)
            grid = np.linspace(lx.min(), lx.max(), 100)
            ax.plot(10**grid, np.polyval(coef, grid), "--", color=line.get_color(), alpha=0.7)
        if m is not None:
            x, y = (m.fit_params, m.fit_loss) if m.fit_params else (m.best_params, m.best_loss)
            ax.plot([x], [y], "*", color=line.get_color(), markersize=14, markeredgecolor="k")
    ax.set_xscale("log")
    ax.set_xlabel("parameters (log)")
    ax.set_ylabel("val loss (nats/token)")
    ax.set_title("IsoFLOP curves (★ = minimum; dashed = parabola in log params)")
    ax.grid(True, which="both", alpha=0.3)
    _log_ticks(ax)
    ax.legend(fontsize=8)

    ax = axes[0][1]
    cs = [m.budget for m in minima]
    ns = [m.fit_params or m.best_params for m in minima]
    ax.plot(cs, ns, "*-", markersize=12, label="loss-optimal parameters")
    if len(cs) >= 2:
        slope, intercept = np.polyfit(np.log10(cs), np.log10(ns), 1)
        grid = np.logspace(math.log10(min(cs)), math.log10(max(cs)), 50)
        ax.plot(grid, 10**intercept * grid**slope, ":", color="0.4", label=f"fit: N_opt ∝ C^{slope:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(min(cs) / 1.5, max(cs) * 1.5)
    ax.set_ylim(min(ns) / 2, max(ns) * 2)  # a readable range even when every budget picks one size
    ax.set_xlabel("training FLOPs budget C (log)")
    ax.set_ylabel("parameters at the minimum (log)")
    ax.set_title("Compute-optimal model size")
    ax.grid(True, which="both", alpha=0.3)
    _log_ticks(ax)
    ax.legend(fontsize=8)
    fig.suptitle("IsoFLOP: every depth at the same training compute")
    return _save(fig, out / "isoflop.png")


def plot_capability(series, h: Headline, splits: list[str], task: str, out: Path) -> Optional[str]:
    if h is None:
        return None
    fig, axes = _figure(5.5 * min(len(series), 3) + 1.5, 4.8, 1, min(len(series), 3))
    drew = False
    for ax, (label, members) in zip(axes[0], series):
        for split in splits:
            kept = [(p["figures"]["mb_bf16"], value(p, split, h), p) for p in members]
            kept = [k for k in kept if k[1] is not None]
            if kept:
                drew = True
                ax.plot([k[0] for k in kept], [k[1] * h.scale for k in kept], "o-", label=split)
        xs = [p["figures"]["mb_bf16"] for p in members]
        for x, p in zip(xs, members):
            ax.axvline(x, color="0.85", lw=0.8, zorder=0)
            ax.annotate(f"d{p['depth']}", (x, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -10),
                        textcoords="offset points", fontsize=8, color="0.4")
        ax.set_xscale("log")
        ax.set_xlabel("model size, MB in bf16 (log; fp32 = 2x, int8 = 0.5x)")
        ax.set_ylabel(h.label)
        if h.scale == 100:
            ax.set_ylim(-2, 102)
        ax.grid(True, which="both", alpha=0.3)
        _log_ticks(ax)
        top = ax.secondary_xaxis("top", functions=(lambda mb: mb * MIB / 2, lambda n: n * 2 / MIB))
        top.set_xlabel("parameters")
        top.xaxis.set_major_formatter(_formatter())
        lo, hi = ax.get_xlim()
        top.xaxis.set_minor_formatter(_minor_formatter(lo * MIB / 2, hi * MIB / 2))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, title=f"split ({label})" if len(series) > 1 else "split", title_fontsize=8)
    what = h.label.split(" (")[0]
    fig.suptitle(f"Capability per megabyte: {task} {what} per split" + (f", {series[0][0]}" if len(series) == 1 else ""))
    return _save(fig, out / "capability.png") if drew else None


def plot_curves(points, workdir: Path, out: Path) -> Optional[str]:
    from matplotlib import colormaps

    from picojax.writers import read_jsonl

    fig, axes = _figure(10, 5.5)
    ax = axes[0][0]
    depths = sorted({p["depth"] for p in points})
    cmap = colormaps["viridis"]
    styles = ["-", "--", ":", "-."]
    budgets = sorted({p["budget"] for p in points if p["budget"] is not None})
    drew = False
    for p in points:
        path = RunDir(_point_dir(workdir, p)).metrics_path
        if not path.exists():
            continue
        lines = read_jsonl(path)
        tps = p["figures"]["tokens_per_step"]
        color = cmap(depths.index(p["depth"]) / max(1, len(depths) - 1) * 0.9)
        style = styles[(budgets.index(p["budget"]) + 1) % len(styles)] if p["budget"] is not None else "-"
        train = [(r["step"] * tps, finite(r["train/loss"])) for r in lines if "train/loss" in r and r["step"] > 0]
        train = [(x, y) for x, y in train if y is not None and y > 0]
        if train:
            drew = True
            ax.plot(*zip(*train), style, color=color, lw=1.3, label=p["point"])
        val = [(r["step"] * tps, finite(r["eval/val_loss"])) for r in lines if "eval/val_loss" in r and r["step"] > 0]
        val = [(x, y) for x, y in val if y is not None and y > 0]
        if val:
            ax.plot(*zip(*val), "o", color=color, markersize=5, markeredgecolor="k")
    if not drew:
        return None
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training tokens (log)")
    ax.set_ylabel("loss (nats/token, log)")
    ax.set_title("Training curves: train loss (lines) and val loss (dots) of every point")
    ax.grid(True, which="both", alpha=0.3)
    _log_ticks(ax)
    ax.legend(fontsize=8, title="point", title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(fig, out / "curves.png")


def plot_throughput(points, out: Path) -> Optional[str]:
    names = [p["point"] for p in points]
    rates = [finite(p["figures"].get("tokens_per_sec")) for p in points]
    mfus = [finite(p["figures"].get("mfu")) for p in points]
    if not any(r is not None for r in rates):
        return None
    fig, axes = _figure(11, 4.2, 1, 2)
    ax = axes[0][0]
    bars = ax.bar(names, [r or 0 for r in rates], color="tab:blue")
    ax.bar_label(bars, labels=[human(r) if r is not None else "–" for r in rates], fontsize=8)
    ax.yaxis.set_major_formatter(_formatter())
    ax.set_ylabel("training tokens/s")
    ax.set_title("Throughput per point (median over logged windows)")
    ax.grid(True, axis="y", alpha=0.3)
    ax = axes[0][1]
    if any(m is not None for m in mfus):
        bars = ax.bar(names, [100 * (m or 0) for m in mfus], color="tab:orange")
        ax.bar_label(bars, labels=[f"{100 * m:.1f}%" if m is not None else "–" for m in mfus], fontsize=8)
        ax.set_ylabel("MFU (% of peak)")
    else:
        ax.text(0.5, 0.5, "MFU not measured (unknown peak)", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Model FLOPs utilisation per point")
    ax.grid(True, axis="y", alpha=0.3)
    for ax in axes[0]:
        ax.set_xlabel("point")
        ax.tick_params(axis="x", labelrotation=45 if len(names) > 6 else 0)
    device = points[0]["figures"].get("device", "")
    fig.suptitle(f"Training speed on {device}" if device else "Training speed")
    return _save(fig, out / "throughput.png")


def _formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(_tick_label)


def _point_dir(workdir: Path, p: dict) -> Path:
    """The point's run directory, found relative to the workdir (which may have moved)."""
    return workdir / p["point"]


# ----------------------------------------------------------------------------------------
# The page.


def _num(v, fmt="{:.3g}") -> str:
    v = finite(v)
    return "–" if v is None else fmt.format(v)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def size_table(points) -> str:
    header = ["point", "depth", "params", "MB fp32", "MB bf16", "MB int8", "FLOPs/token", "steps", "tokens",
              "tokens/param", "train FLOPs", "train min", "tokens/s", "MFU"]
    rows = []
    for p in points:
        f = p["figures"]
        mfu = finite(f.get("mfu"))
        rows.append([p["point"], str(p["depth"]), f"{f['params']:,}", f"{f['mb_fp32']:.2f}", f"{f['mb_bf16']:.2f}",
                     f"{f['mb_int8']:.2f}", _num(f["flops_per_token"]), f"{f['steps']:,}", _num(f["tokens"]),
                     _num(f["tokens_per_param"], "{:.1f}"), _num(f["train_flops"]), _num(f.get("train_min"), "{:.2f}"),
                     _num(f.get("tokens_per_sec"), "{:,.0f}"), "–" if mfu is None else f"{100 * mfu:.1f}%"])
    return _md_table(header, rows)


def result_table(points, h: Optional[Headline], splits: list[str]) -> str:
    header = ["point", "MB bf16", "train loss", "val loss", "val bpb", *(f"{s} {h.short}" for s in splits)]
    rollout = any("rollout/median_turns_to_divergence" in p["figures"] for p in points)
    if rollout:
        header.append("rollout turns (median)")
    rows = []
    for p in points:
        f = p["figures"]
        row = [p["point"], f"{f['mb_bf16']:.2f}", _num(f.get("train_loss"), "{:.4f}"),
               _num(f.get("val_loss"), "{:.4f}"), _num(f.get("val_bpb"), "{:.4f}"),
               *(h.fmt(value(p, s, h)) for s in splits)]
        if rollout:
            row.append(_num(f.get("rollout/median_turns_to_divergence"), "{:g}"))
        rows.append(row)
    return _md_table(header, rows)


def capability_table(series, h: Optional[Headline], splits: list[str]) -> str:
    """Per split (and budget): the best point and its size, and what the smallest point scores."""
    if h is None:
        return ""
    rows = []
    for label, members in series:
        for split in splits:
            scored = [(value(p, split, h), p) for p in members if value(p, split, h) is not None]
            if not scored:
                continue
            best_v, best = (max if h.higher_is_better else min)(scored, key=lambda t: t[0])
            small_v, small = min(scored, key=lambda t: t[1]["figures"]["params"])
            rows.append([split, *([label] if len(series) > 1 else []), h.fmt(best_v), best["point"],
                         f"{best['figures']['mb_bf16']:.2f}", h.fmt(small_v), small["point"],
                         f"{small['figures']['mb_bf16']:.2f}"])
    header = ["split", *(["series"] if len(series) > 1 else []), f"best {h.short}", "at", "MB bf16",
              f"smallest's {h.short}", "smallest", "MB bf16"]
    return _md_table(header, rows)


def write_report(workdir: str | Path, *, out: TextIO = sys.stdout) -> Path:
    """Writes WORKDIR/report.md (and WORKDIR/plots/*.png with matplotlib); returns its path."""
    from picojax.tasks import get_task

    workdir = Path(workdir).absolute()
    data = read_results(workdir)
    spec, points = data["sweep"], data["points"]
    task_name = points[0]["config"]["data"]["task"]
    series = series_of(points)
    h, splits = headline_of(points)
    minima = isoflop_minima(series) if any(p["budget"] is not None for p in points) else []
    plots: dict[str, Optional[str]] = {}
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("picojax report: matplotlib is not installed (pip install matplotlib): tables only, no plots",
              file=sys.stderr)
    else:
        plot_dir = workdir / PLOTS
        plots = {
            "capability": plot_capability(series, h, splits, task_name, plot_dir),
            "scaling": plot_scaling(points, series, plot_dir),
            "isoflop": plot_isoflop(series, minima, plot_dir),
            "curves": plot_curves(points, workdir, plot_dir),
            "throughput": plot_throughput(points, plot_dir),
        }

    f0 = [p["figures"] for p in points]
    depths = sorted({p["depth"] for p in points})
    budgets = sorted({p["budget"] for p in points if p["budget"] is not None})
    total_flops = sum(f["train_flops"] for f in f0)
    total_min = sum(finite(f.get("wall_min")) or finite(f.get("train_min")) or 0 for f in f0)
    overrides = " ".join(f"`--set {o}`" for o in spec.get("overrides", [])) or "no overrides"
    md = [f"# Miniseries: {task_name}, depths {_span(depths)}", ""]
    md.append(f"{len(points)} point(s) of `{spec.get('config')}` ({overrides}): depths {_span(depths)}"
              + (f" at {len(budgets)} FLOPs budget(s) ({', '.join(budget_label(b) for b in budgets)})" if budgets
                 else f", {series[0][0]}")
              + f". {total_flops:.3g} training FLOPs and {total_min:.1f} minutes of training (wall clock) in all"
              + (f" on {f0[0]['device']}" if f0[0].get("device") else "") + ".")
    md.append("")
    md.append("## Capability per megabyte")
    md.append("")
    if h is not None:
        md.append(f"The task's headline metric, {h.label}, on each eval split, against the size of the model "
                  "in megabytes (2^20 bytes) of bf16 weights; the top axis gives the parameter count.")
        md.append("")
        md.append(capability_table(series, h, splits))
        md.append("")
    md += _image(plots.get("capability"), "capability per MB")
    md.append("## Loss vs size and compute")
    md.append("")
    for label, members in series:
        xs, ys, kept = _pairs(members, "params", "val_loss")
        if len(xs) >= 2:
            lo, hi = kept[0], kept[-1]
            md.append(f"- {label}: val loss {lo['figures']['val_loss']:.4f} at {lo['point']} "
                      f"({lo['figures']['params']:,} parameters) to {hi['figures']['val_loss']:.4f} at {hi['point']} "
                      f"({hi['figures']['params']:,} parameters); lowest {min(ys):.4f} at {kept[ys.index(min(ys))]['point']}.")
    md.append("")
    md.append("Val loss and bits per byte are the trainer's end-of-run figures over its first "
              "`train.eval_batches` val batches.")
    md.append("")
    md += _image(plots.get("scaling"), "val loss vs parameters and FLOPs")
    if minima:
        md.append("## IsoFLOP minima")
        md.append("")
        md.append("Each budget trains every depth for `budget / (FLOPs/token x tokens/step)` steps; the minimum is "
                  "a parabola in log(parameters) through the val losses when at least 3 points bracket it, "
                  "otherwise the best point observed.")
        md.append("")
        md.append(_md_table(["budget (FLOPs)", "best point", "its params", "its val loss", "fitted optimum params",
                             "fitted val loss"],
                            [[budget_label(m.budget), m.best_point, f"{m.best_params:,}", f"{m.best_loss:.4f}",
                              _num(m.fit_params, "{:,.0f}") if m.fit_params else "not bracketed",
                              _num(m.fit_loss, "{:.4f}")] for m in minima]))
        md.append("")
        md += _image(plots.get("isoflop"), "IsoFLOP curves")
    md.append("## Training curves")
    md.append("")
    md += _image(plots.get("curves"), "training curves")
    md.append("## Throughput")
    md.append("")
    md += _image(plots.get("throughput"), "tokens/s and MFU per point")
    md.append("## All points")
    md.append("")
    md.append("Size and compute (FLOPs from the depth dial: 6 x non-embedding parameters + attention, per token; "
              "train minutes: step time summed over every step, compile, eval and checkpoints excluded):")
    md.append("")
    md.append(size_table(points))
    md.append("")
    md.append("Results (" + (f"{h.short} = {h.label} on each split's full eval" if h else "no task metric") + "):")
    md.append("")
    md.append(result_table(points, h, splits))
    md.append("")
    md.append("## Evals per point")
    md.append("")
    task = get_task(task_name)
    for p in points:
        md.append(f"### {p['point']}")
        md.append("")
        md.append("```")
        md.append(task.report(p["eval"]).table)
        md.append("```")
        md.append("")
    md.append("## Files")
    md.append("")
    md.append(f"- `{RESULTS_CSV}`, `{RESULTS_JSON}`: every figure of every point; the JSON adds each point's full "
              "eval and resolved config")
    md.append("- each point is an ordinary run: `<point>/config.json`, `checkpoints/`, `metrics.jsonl`, `tb/`, "
              "and `result.json`")
    md.append(f"- TensorBoard, one named run per point (`d1/tb`, ...), hparams in the HPARAMS tab: "
              f"`tensorboard --logdir {workdir}`")
    md.append(f"- regenerate this page: `picojax report {workdir}`")
    path = workdir / REPORT
    write_text_atomic(path, "\n".join(md) + "\n")
    return path


def _image(name: Optional[str], alt: str) -> list[str]:
    return [f"![{alt}]({name})", ""] if name else ["_(no plot: matplotlib missing or nothing to plot)_", ""]


def _span(depths: Sequence[int]) -> str:
    if len(depths) > 1 and depths == list(range(depths[0], depths[-1] + 1)):
        return f"{depths[0]}–{depths[-1]}"
    return ", ".join(map(str, depths))
