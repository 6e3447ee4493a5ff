"""Measure varinit against numpy (and torch) and write a results table and chart.

    python bench/report.py                 # 2**26 elements, best of 7, ~3-4 minutes
    python bench/report.py --repeats 7 --threads 1,2
    python bench/report.py --from-json bench/results/results.json   # redraw only

Writes ``bench/results/results.md`` (machine, method, table, headline
ratios), ``bench/results/chart.png`` (samples/s per workload, varinit's
kernel paths beside numpy and torch) and ``bench/results/results.json`` (raw
timings).  The measuring is :mod:`varinit.benchmarks`, the same code as
``python -m varinit bench`` and ``bench/test_bench_fill.py``; the options are
those of ``python -m varinit bench`` plus ``--out`` and ``--from-json``.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import sys
from pathlib import Path

from varinit import benchmarks

HERE = Path(__file__).resolve().parent
REPORT_REPEATS = 7          # best of 7 here (the command line's default is 5)


def _headlines(results: list[benchmarks.Result]) -> list[str]:
    """The figures the issues set targets for, computed from this run only."""
    by = {(r.spec.workload, r.spec.library, r.spec.path, r.spec.threads): r for r in results}
    threads = sorted({r.spec.threads for r in results})
    top = threads[-1]
    kernels = list(dict.fromkeys(r.spec.path for r in results
                                 if r.spec.library == "varinit"
                                 and benchmarks.WORKLOADS[r.spec.workload].kind != "new"))
    lines = []
    for k in kernels:
        parts = []
        for w in ("uniform f32", "truncated normal f32", "normal f32",
                  "uniform f64", "truncated normal f64"):
            r = by.get((w, "varinit", k, 1))
            if r is not None and r.ratio is not None:
                parts.append(f"{w} {r.ratio:.2f}× (medians {r.ratio_median:.2f}×)")
        if parts:
            lines.append(f"- `{k}`, 1 thread, ratio to numpy: " + "; ".join(parts) + ".")
        if top > 1:
            scal = []
            for w in ("uniform f32", "truncated normal f32"):
                r1, rn = by.get((w, "varinit", k, 1)), by.get((w, "varinit", k, top))
                if r1 and rn:
                    scal.append(f"{w} {r1.best / rn.best:.2f}×")
            u = by.get(("uniform f32", "varinit", k, top))
            if scal:
                lines.append(f"- `{k}`, {top} threads vs 1: " + "; ".join(scal)
                             + (f"; uniform f32 at {top} threads reaches "
                                f"{u.of_memset:.0%} of `buf.fill`." if u and u.of_memset else "."))
    for r in results:
        if benchmarks.WORKLOADS[r.spec.workload].kind == "new" and r.spec.library == "varinit":
            lines.append(f"- new array, `{r.spec.call}`, {r.spec.threads} thread(s): "
                         f"{1 / r.ratio:.2f}× the time of `np.empty(shape)` + `fill`."
                         if r.ratio else "")
    torch_rows = {(r.spec.workload, r.spec.threads): r for r in results
                  if r.spec.library == "torch"}
    for w in ("uniform f32", "truncated normal f32", "normal f32"):
        for t in threads:
            r = torch_rows.get((w, t))
            if r is not None and r.ratio is not None:
                lines.append(f"- torch `{r.spec.path}` ({w}, {t} thread(s)): "
                             f"{r.ratio:.2f}× numpy.")
    return [line for line in lines if line]


DOCS_START = "<!-- results:start (written by bench/report.py) -->"
DOCS_END = "<!-- results:end -->"


METHOD = (
    "Method: every in-place row writes into one preallocated, pre-touched buffer per dtype; "
    "each row is called once to warm up, then timed in interleaved rounds with the other "
    "rows of its workload. Gs/s = 10⁹ samples/s of the best call; *ratio vs numpy* = "
    "numpy's best time ÷ the row's best time in the same run (> 1: faster), *ratio "
    "(medians)* the same with medians; *of buf.fill* = rate ÷ `buf.fill` rate of the same "
    "dtype; *spread* = median ÷ best − 1. numpy rows with 2+ threads use numpy's documented "
    "recipe (`SeedSequence.spawn`, one generator per thread, a thread pool). The new-array "
    "row is compared with `np.empty(shape)` + `fill`.")


def _run_line(meta: dict) -> str:
    """Machine and method of the run, with the parallel capacity at its end."""
    return (benchmarks.describe_run(meta["n"], meta["repeats"], meta["machine"], meta["capacity"])
            + (f" At the end: {meta['capacity_end']:.2f}×." if meta.get("capacity_end") else ""))


def _origin(meta: dict, verb: str, sep: str) -> str:
    """``"<verb> <date> by `<command>` at commit `<c>`"`` plus ``sep``."""
    return (f"{verb} {meta['date']} {'by' if verb == 'Generated' else 'with'} "
            f"`{meta['command']}`"
            + (f" at commit `{meta['commit']}`{sep}" if meta.get("commit") else sep))


def _results_block(results: list[benchmarks.Result], chart: str,
                   headlines_title: str) -> list[str]:
    """Chart, table and headline ratios: the part results.md and the docs share."""
    return [
        f"![samples/s per workload]({chart})",
        "",
        benchmarks.markdown_table(results),
        "",
        headlines_title,
        "",
        *_headlines(results),
        "",
    ]


def update_docs(results: list[benchmarks.Result], meta: dict, path: Path) -> bool:
    """Replace the generated block of ``docs/benchmarks.md`` with this run's figures.

    Returns False (and leaves the file alone) if it has no such block.
    """
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8")
    if DOCS_START not in text or DOCS_END not in text:
        return False
    chart = os.path.relpath(HERE / "results" / "chart.png", path.parent).replace(os.sep, "/")
    block = "\n".join([
        DOCS_START,
        "",
        _origin(meta, "Measured", ". ") + _run_line(meta),
        "",
        *_results_block(results, chart, "Headline ratios of this run:"),
        DOCS_END,
    ])
    head, rest = text.split(DOCS_START, 1)
    tail = rest.split(DOCS_END, 1)[1]
    path.write_text(head + block + tail, encoding="utf-8")
    return True


def write_markdown(results: list[benchmarks.Result], meta: dict, path: Path) -> None:
    """Write the results table, machine and method to ``path``."""
    text = [
        "# varinit benchmark results",
        "",
        _origin(meta, "Generated", "."),
        "",
        _run_line(meta),
        "",
        METHOD,
        "",
        *_results_block(results, "chart.png", "## Headline ratios (this run)"),
    ]
    path.write_text("\n".join(text), encoding="utf-8")


SERIES_COLOURS = {"numpy": "#7f7f7f", "torch": "#d95f02", "varinit scalar": "#1f78b4",
                  "varinit avx2": "#33a02c", "varinit avx512": "#6a3d9a"}


def _series(r: dict) -> str:
    return f"varinit {r['path']}" if r["library"] == "varinit" else r["library"]


def write_chart(rows: list[dict], meta: dict, path: Path) -> None:
    """Draw samples/s per workload, one panel per thread count, to ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    series = list(dict.fromkeys(_series(r) for r in rows))
    # the machine's kernels, slowest first (as machine_info lists them)
    kernel_order = {f"varinit {k}": i for i, k in enumerate(meta["machine"]["kernels"])}
    series.sort(key=lambda s: (s != "numpy", s == "torch", kernel_order.get(s, 99), s))
    threads = sorted({r["threads"] for r in rows})
    panels = [threads[0]] if len(threads) == 1 else [threads[0], threads[-1]]
    fig, axes = plt.subplots(1, len(panels), figsize=(7.5 * len(panels), 0.9 + 0.62 * len(
        workloads) * max(1, len(series) / 3)), sharey=True, squeeze=False)
    height = 0.8 / len(series)

    def value(t: int, w: str, s: str) -> float | None:
        match = [r for r in rows if r["workload"] == w and _series(r) == s and r["threads"] == t]
        if not match and t != 1:       # single-threaded references appear in both panels
            match = [r for r in rows if r["workload"] == w and _series(r) == s
                     and r["threads"] == 1 and r["library"] == "numpy"
                     and r["path"] != "Generator"]
        return match[0]["samples_per_s"] / 1e9 if match else None

    for ax, t in zip(axes[0], panels):
        # the bars present for each workload, centred on its tick
        present = {w: [s for s in series if value(t, w, s) is not None] for w in workloads}
        for s in series:
            ys, xs = [], []
            for i, w in enumerate(workloads):
                if s in present[w]:
                    j, k = present[w].index(s), len(present[w])
                    ys.append(i - k * height / 2 + height * (j + 0.5))
                    xs.append(value(t, w, s))
            colour = SERIES_COLOURS.get(s, None)
            bars = ax.barh(ys, xs, height=height * 0.92, label=s, color=colour)
            for bar, x in zip(bars, xs):
                ax.text(x * 1.04, bar.get_y() + bar.get_height() / 2, f"{x:.3g}",
                        va="center", fontsize=7.5)
        ax.set_xscale("log")
        ax.set_xlabel("Gsamples/s (best of N, log scale; longer is faster)")
        ax.set_title(f"{t} thread{'s' if t > 1 else ''}" + (
            " (np.empty+fill: 1 thread)" if t > 1 else ""))
        ax.grid(axis="x", which="both", alpha=0.3)
        lo = min(r["samples_per_s"] for r in rows) / 1e9
        hi = max(r["samples_per_s"] for r in rows) / 1e9
        ax.set_xlim(lo / 1.5, hi * 2.2)
    axes[0][0].set_yticks(range(len(workloads)))
    axes[0][0].set_yticklabels(workloads)
    axes[0][0].invert_yaxis()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(series), fontsize=9,
               frameon=False)
    machine = meta["machine"]
    fig.suptitle(f"varinit vs numpy Generator{' and torch' if machine['torch'] else ''}: "
                 f"{meta['n']:,} elements, {machine['cpu']} ({machine['affinity']} CPUs), "
                 f"{meta['date'][:10]}", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _source_commit() -> str | None:
    """The checkout's commit (with ``+dirty`` for local changes), if this is one."""
    import subprocess
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=HERE, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty.strip() else "")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or reload one) and write results.md, results.json and chart.png."""
    argv = sys.argv[1:] if argv is None else argv
    parser = benchmarks.build_parser(prog="python bench/report.py")
    parser.set_defaults(repeats=REPORT_REPEATS)
    parser.add_argument("--out", type=Path, default=HERE / "results",
                        help="output folder (default bench/results)")
    parser.add_argument("--docs", type=Path, default=HERE.parent / "docs" / "benchmarks.md",
                        help="Markdown file whose generated block is replaced "
                             "(default docs/benchmarks.md; skipped if it has no block)")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="redraw the table and chart from a results.json, no measuring")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        meta = saved["meta"]
        results = []
        for d in saved["results"]:
            spec = benchmarks.Spec(d["workload"], d["library"], d["path"], d["threads"])
            results.append(benchmarks.Result(spec, d["n"], d["times_s"]))
        benchmarks.derive(results)
    else:
        rows = benchmarks.specs(args.threads, args.kernels, False if args.no_torch else None,
                            args.workloads)
        top = max(s.threads for s in rows)
        capacity = benchmarks.parallel_capacity(top) if top > 1 else None
        meta = {
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "commit": _source_commit(),
            "command": " ".join(["python bench/report.py", *argv]).strip(),
            "n": args.size, "repeats": args.repeats, "capacity": capacity,
            "machine": benchmarks.machine_info(),
        }
        progress = None if args.quiet else (lambda line: print(line, flush=True))
        results = benchmarks.measure(rows, args.size, args.repeats, progress=progress)
        if top > 1:
            meta["capacity_end"] = benchmarks.parallel_capacity(top)
        (args.out / "results.json").write_text(json.dumps(
            {"meta": meta, "results": [r.as_dict() for r in results]}, indent=1))
    write_markdown(results, meta, args.out / "results.md")
    write_chart([r.as_dict() for r in results], meta, args.out / "chart.png")
    print(benchmarks.text_table(results))
    wrote = [args.out / "results.md", args.out / "chart.png"]
    if update_docs(results, meta, args.docs):
        wrote.append(args.docs)
    print("\nwrote " + ", ".join(os.path.relpath(p) for p in wrote))
    return 0


if __name__ == "__main__":
    sys.exit(main())
