"""`picojax bench stories-import`: importer throughput (MB/s) and peak memory.

Writes a TinyStories V2 text file of ``--mb`` megabytes (generated stories, repeated) into
a temporary folder, imports it normalised, byte-exact and gzipped, each in a fresh Python
process whose own peak resident memory (``VmHWM`` of /proc/self/status: unlike
``ru_maxrss``, which Linux carries over an exec from the forking parent, it belongs to the
child's own address space) is reported,
so the figure is the importer's and not this script's. Memory that stays flat as ``--mb``
grows is the point: the importer streams.
"""

from __future__ import annotations

HELP = "TinyStories importer: MB/s and peak memory on a generated file (--mb, default 500)"

_CHILD = """
import json, resource, sys, time
from data_gen.stories.importer import import_stories
def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):  # not Linux: ru_maxrss (KiB on Linux, bytes on macOS)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return rss / 2**20 if sys.platform == "darwin" else rss / 1024
t = time.perf_counter()
m = import_stories([sys.argv[1]], sys.argv[2], exact=sys.argv[3] == "exact", progress=False)
print(json.dumps({"seconds": time.perf_counter() - t, "stories": m["stories"], "peak_rss_mb": peak_rss_mb()}))
"""


def add_arguments(parser) -> None:
    parser.add_argument("--mb", type=float, default=500.0, help="size of the generated input file in MB (default 500)")
    parser.add_argument("--no-gzip", action="store_true", help="skip the gzip row (compressing takes a while)")


def _write_input(path, mb: float) -> int:
    from data_gen.stories.framing import frame
    from data_gen.stories.generator import generate_story

    pool = [frame(generate_story(0, i).text).encode() for i in range(500)]
    target, written, i = int(mb * 1e6), 0, 0
    with open(path, "wb", buffering=1 << 22) as f:
        while written < target:
            block = pool[i % len(pool)]
            f.write(block)
            written += len(block)
            i += 1
    return written


def run(args) -> int:
    import gzip
    import json
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    from picojax.app.bench.report import emit

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    rows, figures = [], {"input_mb": args.mb}
    with tempfile.TemporaryDirectory(prefix="picojax-bench-stories-") as tmp:
        src = os.path.join(tmp, "stories.txt")
        size = _write_input(src, args.mb)
        cases = [("text, normalised", src, "normalise"), ("text, byte-exact", src, "exact")]
        if not args.no_gzip:
            gz = src + ".gz"
            with open(src, "rb") as fin, gzip.open(gz, "wb", compresslevel=1) as fout:
                shutil.copyfileobj(fin, fout, 1 << 22)
            cases.append(("gzip, normalised", gz, "normalise"))
        for name, path, mode in cases:
            out = os.path.join(tmp, "out-" + mode + ("-gz" if path.endswith(".gz") else ""))
            done = subprocess.run([sys.executable, "-c", _CHILD, path, out, mode], capture_output=True, text=True,
                                  cwd=repo, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            mb_s = size / 1e6 / r["seconds"]
            rows.append([name, round(size / 1e6, 1), r["stories"], round(r["seconds"], 2), round(mb_s, 1), round(r["peak_rss_mb"], 1)])
            key = name.split(",")[0] + "_" + mode
            figures[f"{key}_mb_per_s"] = round(mb_s, 2)
            figures[f"{key}_peak_rss_mb"] = round(r["peak_rss_mb"], 1)
            shutil.rmtree(out, ignore_errors=True)
    emit("stories-import", ["input", "MB (uncompressed)", "stories", "seconds", "MB/s", "peak RSS MB"], rows, figures)
    return 0
