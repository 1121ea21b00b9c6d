"""Benchmark: publishing a collection against the sum of its frames' ``make_cog`` calls.

Run on demand (not part of the test suite), against the local stack::

    .venv/bin/python -m benchmarks.bench_publish [--stack-dir DIR] [--frames 12,24]
        [--size 4000] [--layout nc] [--workers 4] [--runs 3]

It builds ``--frames`` frames of ``--size`` pixels (as ``bench_makecog`` builds them, each with
its own noise) and times, each in a process of its own (wall, CPU, peak RSS), taking turns in
every run:

* ``chosen``: ``publish.publish_collection(..., workers=--workers)``: the parallelism LS4
  chooses from the cores and memory, WORKERS as the upper bound;
* ``serial``: the same, one frame at a time with nothing overlapped (what WORKERS=1 did before
  the pipeline: ``publish.parallelism`` forced to one thread and one slot, in the benchmark's
  child only);
* ``two_slots``: the same, with two COGs computed at once whatever the cores
  (``publish.parallelism`` forced to four threads and two slots in the child): does a second COG
  fill the first one's idle moments (its single-threaded tail, its I/O) on this machine?
* ``make_cog``: the same frames' ``make_cog`` calls one after another (no upload, no index).

Beside each contender's own CPU, the CPU its run cost the stack's services (the S3 server,
PostgreSQL: on this machine they share the cores with the run), and from both the wall that no
schedule could beat: all of ``chosen``'s CPU seconds spread over all the cores.

Each publish goes into a fresh collection (removed at the end). Ratios are taken within each
run, then the median; frames per minute from the median wall.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from contextlib import suppress
from pathlib import Path

import tools  # noqa: F401  (the repository as the package ``ls4``)
from benchmarks.bench_makecog import PYTHON, REPO, build_frame, run
from benchmarks.bench_operations import remove_estate, target_of
from ls4.ls4_plugin.core import keys, storage
from tools import stack as stack_module

CONTENDERS = ["chosen", "two_slots", "serial", "make_cog"]


def collection(layout, number):
    return keys.Collection(
        band=layout, type="frames", agency="BENCH", county="Throughput", year=str(1900 + number)
    )


def build_frames(layout, size, count, folder):
    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    for number in range(count):
        built = build_frame(layout, size, folder, seed=number + 1)
        name = folder / f"04-15-14_1-{number + 1:03d}.tif"
        built.rename(name)
        frames.append(name)
    return frames


CHILD = """
import json, resource, sys, time
import tools
from benchmarks.bench_operations import target_of
from benchmarks.bench_publish import collection
from ls4.ls4_plugin.core import cog, publish
kind, layout, number, workers, endpoints, frames = sys.argv[1:7]
frames = json.loads(frames)
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
start, before = time.perf_counter(), cpu()
if kind == "make_cog":
    for index, frame in enumerate(frames):
        cog.make_cog(frame, f"{frame}.cog{index}.tif", band_layout=layout)
        import os; os.remove(f"{frame}.cog{index}.tif")
else:
    if kind == "serial":
        publish.parallelism = lambda workers, sources: (1, 1)
    if kind == "two_slots":
        publish.parallelism = lambda workers, sources: (min(int(workers), 4), 2)
    target = target_of(json.load(open(endpoints)))
    result = publish.publish_collection(
        target, collection(layout, int(number)), frames, workers=int(workers)
    )
    assert not result.failed, [f.message for f in result.failed]
print(json.dumps({"wall": time.perf_counter() - start, "cpu": cpu() - before}))
"""


def _cpu_ticks(pid):
    """(utime + stime, cutime + cstime) of ``pid``: its own CPU, its reaped children's."""
    fields = [
        int(value)
        for value in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:15]
    ]
    return fields[0] + fields[1], fields[2] + fields[3]


def services_cpu(endpoints_file):
    """CPU seconds used so far by the stack's services (S3 server, PostgreSQL with its backends,
    MapServer, the web app, the STAC API): their own, their living descendants', and what the
    children they reaped used (a backend that ended)."""
    pids = json.loads(Path(endpoints_file).read_text())["pids"]
    ticks = 0
    for pid in filter(None, pids.values()):
        with suppress(OSError):
            own, reaped = _cpu_ticks(pid)
            ticks += own + reaped
        for child in stack_module._descendants(pid):
            with suppress(OSError):
                ticks += _cpu_ticks(child)[0]
    return ticks / os.sysconf("SC_CLK_TCK")


def contender(kind, layout, number, workers, endpoints_file, frames):
    arguments = [kind, layout, str(number), str(workers), str(endpoints_file)]
    before = services_cpu(endpoints_file)
    _, _, rss, output = run([PYTHON, "-c", CHILD, *arguments, json.dumps(list(map(str, frames)))])
    services = services_cpu(endpoints_file) - before
    timing = json.loads(output.strip().splitlines()[-1])
    return timing["wall"], timing["cpu"], rss, services


def bench(args, endpoints_file, target, folder):
    results = []
    used = []
    number = 0
    try:
        for count in (int(value) for value in args.frames.split(",")):
            frames = build_frames(args.layout, args.size, count, folder / f"f{count}")
            load = [round(value, 1) for value in os.getloadavg()]
            rows = {name: [] for name in CONTENDERS}
            for _ in range(args.runs):
                for name in CONTENDERS:
                    number += 1
                    used.append(collection(args.layout, number))
                    rows[name].append(
                        contender(name, args.layout, number, args.workers, endpoints_file, frames)
                    )
                remove_estate(target, used)
                used = []
            results.append(summary(count, rows, load))
            print(table(results[-1:], args), flush=True)
            shutil.rmtree(folder / f"f{count}", ignore_errors=True)
    finally:
        remove_estate(target, used)
    return results


def summary(count, rows, load):
    median = statistics.median
    result = {"frames": count, "load": load, "load_after": [round(v, 1) for v in os.getloadavg()]}
    for name, values in rows.items():
        result[name] = {
            "wall": median(v[0] for v in values),
            "cpu": median(v[1] for v in values),
            "rss": max(v[2] for v in values),
            "services": median(v[3] for v in values),
        }
    cogs = rows["make_cog"]
    for name in ("chosen", "two_slots", "serial"):
        pairs = zip(rows[name], cogs, strict=True)
        result[f"{name}/make_cog"] = median(p[0] / c[0] for p, c in pairs)
    # The wall no schedule can beat on this machine: every CPU second of the run and of the
    # services it uses, spread over all the cores.
    cores = os.cpu_count() or 1
    result["floor/make_cog"] = median(
        (p[1] + p[3]) / cores / c[0] for p, c in zip(rows["chosen"], cogs, strict=True)
    )
    return result


def table(results, args):
    lines = []
    for r in results:
        lines += [
            f"**{r['frames']} {args.layout} frames of {args.size}²**, WORKERS={args.workers} "
            f"(load {r['load']} at the start, {r['load_after']} at the end)",
            "",
            "| contender | wall s | CPU s | services' CPU s | peak RSS MB | frames/min "
            "| wall / sum of make_cog |",
            "|---|---|---|---|---|---|---|",
        ]
        for name in CONTENDERS:
            c = r[name]
            ratio = f"{r[f'{name}/make_cog']:.2f}×" if name != "make_cog" else "1"
            lines.append(
                f"| {name} | {c['wall']:.1f} | {c['cpu']:.1f} | {c['services']:.1f} "
                f"| {c['rss']:.0f} | {60 * r['frames'] / c['wall']:.1f} | {ratio} |"
            )
        lines += [
            "",
            f"`chosen`'s CPU and its services' on {os.cpu_count()} cores, as a wall: "
            f"{r['floor/make_cog']:.2f}× the sum of make_cog (no schedule does better here)",
            "",
        ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack-dir", help="a running stack (else a private one)")
    parser.add_argument("--frames", default="12,24")
    parser.add_argument("--size", type=int, default=4000)
    parser.add_argument("--layout", default="nc")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    from tools.stack import Stack

    with tempfile.TemporaryDirectory(prefix="ls4-bench-publish-") as name:
        folder = Path(name)
        stack = Stack(args.stack_dir or folder / "stack")
        endpoints = stack.up()
        target = target_of(endpoints)
        try:
            storage.apply_public_policy(target.s3)
            results = bench(args, stack.endpoints_file, target, folder)
        finally:
            if not args.stack_dir:
                stack.down(purge=True)
    print(table(results, args))
    print(json.dumps(results, indent=1), file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
