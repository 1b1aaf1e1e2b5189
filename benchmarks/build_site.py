"""Site build benchmark: our builder against Pycco on one generated corpus.

    python benchmarks/build_site.py [--modules 220] [--repeat 3] [--seed 0] [--profile]
                                    [--without-search] [--compare-search]
                                    [--compare-notebooks] [--against CHECKOUT]
                                    [--stdlib]

Generates a corpus (benchmarks/corpus.py) in a temporary folder, then times on it:
- Pycco (`pycco -p -d OUT files...` on the .py files, every file checked to have its page),
- our cold build (fresh out dir and cache, search and math on) as a fresh process, with each
  stage's wall seconds and the CPU seconds its worker processes spent, and its ratio to Pycco,
- a rebuild with nothing changed, and a rebuild after one comment changed, each both as a fresh
  CLI process (`python -m site_builder build`) and in-process (a warm builder); the one-file
  rebuild also as `serve` does it (pages first, the search index after, off the rebuild's path).
Then it builds the project's own site and prints what the ConvMixer page weighs as it travels
(HTML + CSS + JS gzipped, with benchmarks/page_weight.py).
Every timing is the best of `--repeat` runs. Prints PASS/MISS against the targets; `--profile`
adds a cProfile of an in-process cold build. `--without-search` replaces the search stage with one
that indexes nothing (in every build it times), to measure the other stages on their own;
`--compare-search` also times cold builds without search, in turn with as many more with it, and
prints what search costs the cold build.
`--compare-notebooks` also times cold builds that make no notebooks (and link none), and prints
what writing the notebooks costs.
`--against CHECKOUT` also times cold builds by another checkout's `site_builder` (a git worktree
at an older commit, say), in turn with as many by this one, and prints the difference.
`--stdlib` times instead, in turn, Pycco and our cold build (`site-builder build --keep-going`,
a fresh process) on code nobody annotated for us: the standard library's `email`, `json` and
`asyncio` packages, copied under one package.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

from corpus import edit_one_comment, generate_corpus  # noqa: E402
from page_weight import GZIP_TARGET, page_weight  # noqa: E402

from site_builder import search  # noqa: E402
from site_builder.build import build_site  # noqa: E402
from site_builder.cache import builder_digest  # noqa: E402
from site_builder.config import load_config  # noqa: E402
from site_builder.report import BuildReport  # noqa: E402
from site_builder.tex import KatexRenderer  # noqa: E402

COLD_RATIO_REQUIRED = 0.8  # cold build / Pycco, with search and math (issue 11)
COLD_RATIO_GOAL = 0.5
NOOP_TARGET_S = 0.5
SERVE_ONE_FILE_TARGET_S = 0.2  # the CLI's one-file rebuild is reported, not a target: Pagefind
# has no incremental mode, so any changed page means indexing every page again
WEIGHED_PAGE = "conv_mixer/index.html"

# Prepended to child processes by --without-search: the search stage indexes nothing.
NO_SEARCH = """
import site_builder.search as s
class NoIndex(s.Indexer):
    def add(self, rel, page): pass
    def finish(self, outputs): return {}
s.Indexer = NoIndex
"""
# Prepended by --compare-notebooks to the builds it compares with: no page gets a notebook.
NO_NOTEBOOKS = "import site_builder.build as b; b.page_notebook = lambda *args: None\n"

# Runs in a fresh interpreter: a cold build as a user gets it, with the report as JSON.
COLD_CHILD = """
import ctypes, json, os, sys, time
from pathlib import Path
from site_builder.build import build_site
from site_builder.config import load_config
# Adopt orphaned descendants (Pagefind's binary, once Node has gone) and reap them, so that the
# CPU time the benchmark reads for this process counts every process of the build.
ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER (Linux)
config = load_config({"source": sys.argv[1], "out": sys.argv[2]}, start=Path(sys.argv[3]))
report = build_site(config)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        if os.waitpid(-1, os.WNOHANG)[0] == 0:
            time.sleep(0.01)
    except ChildProcessError:
        break
print(json.dumps({"seconds": report.seconds, "workers": report.worker_seconds,
                  "rendered": len(report.pages_rendered), "total": report.pages_total,
                  "written": len(report.written)}))
"""


def child_env(tree: Path = REPO) -> dict[str, str]:
    """The environment of a child process, importing `site_builder` from `tree`."""
    paths = [str(tree), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


LAST_CPU = 0.0  # CPU seconds of the last process `run_timed` ran
CLI_CHILD = "import sys; from site_builder.cli import main; sys.exit(main(sys.argv[1:]))\n"
WITHOUT_SEARCH = False  # set by --without-search


def child_code(code: str) -> str:
    return NO_SEARCH + code if WITHOUT_SEARCH else code


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(command: list[str], cwd: Path, tree: Path = REPO) -> tuple[float, str]:
    """Wall seconds of one process (importing `site_builder` from `tree`); exits with its
    output if it fails. Its CPU seconds (with those of the descendants it waited for) are left
    in `LAST_CPU`."""
    global LAST_CPU
    cpu, start = children_cpu(), time.perf_counter()
    result = subprocess.run(
        command, cwd=cwd, env=child_env(tree), capture_output=True, text=True, timeout=300
    )
    seconds = time.perf_counter() - start
    LAST_CPU = children_cpu() - cpu
    if result.returncode != 0:
        output = f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        sys.exit(f"failed: {' '.join(command[:4])} ...\n{output}")
    return seconds, result.stdout


def project_page_weight(work: Path):
    """The ConvMixer page of the project's own site, built (without its search index, which the
    page does not load) into a temporary folder."""
    config = load_config({"out": str(work / "project" / "site")}, start=REPO)
    build_site(config, index_search=False)
    return page_weight(config.out, WEIGHED_PAGE)


def time_pycco(work: Path, corpus: Path, files: list[str], out: Path) -> tuple[float, float]:
    """Pycco on every file (paths kept, so equal names in different folders don't collide): wall
    and CPU seconds."""
    sources = [f"{corpus.name}/{f}" for f in files]
    seconds, _ = run_timed(["pycco", "-p", "-d", str(out), *sources], cwd=work)
    cpu = LAST_CPU
    for source in sources:
        page = out / (source.removesuffix(".py") + ".html")
        lines = (work / source).read_text(encoding="utf-8").splitlines()
        title = next(line for line in lines if line.startswith("title: "))[7:]
        if not page.is_file() or title not in page.read_text(encoding="utf-8"):
            sys.exit(f"pycco did not render {source} (expected {page} with '{title}')")
    return seconds, cpu


def cold_build(
    work: Path, corpus: Path, run: int | str, patch: str = "", tree: Path = REPO
) -> tuple[float, dict]:
    out = work / f"cold-{run}" / "site"  # a new folder: no previous site, no cache
    cache_dir = load_config({"source": str(corpus), "out": str(out)}, start=work).cache_dir
    assert not cache_dir.exists(), f"{cache_dir} exists: the cold build would not be cold"
    code = patch + child_code(COLD_CHILD)
    command = [sys.executable, "-c", code, str(corpus), str(out), str(work)]
    seconds, stdout = run_timed(command, cwd=work, tree=tree)
    report = json.loads(stdout.strip().splitlines()[-1])
    report["cpu"] = LAST_CPU  # every process of the build
    report["notebook_bytes"] = sum(p.stat().st_size for p in out.rglob("*.ipynb"))
    return seconds, report


def compare_notebooks(work: Path, corpus: Path, repeat: int, colds: list) -> None:
    """Cold builds without notebooks, run in turn with as many more with them (the machine's load
    drifts), and what the notebooks cost: wall time, the notebook stage's own seconds, files and
    bytes."""
    colds, plain = list(colds), []
    for i in range(repeat):
        plain.append(cold_build(work, corpus, f"plain-{i}", NO_NOTEBOOKS))
        colds.append(cold_build(work, corpus, f"again-{i}"))
    with_s, with_report = min(colds, key=lambda c: c[0])
    plain_s, plain_report = min(plain, key=lambda c: c[0])
    stage = with_report["seconds"].get("notebook", 0.0) + with_report["workers"].get("notebook", 0)
    extra_files = with_report["written"] - plain_report["written"]
    print(f"cold build, no notebooks {plain_s:7.3f} s  (best of {repeat})")
    print(f"  with notebooks (s): {', '.join(f'{s:.3f}' for s, _ in colds)}")
    print(f"  without (s):        {', '.join(f'{s:.3f}' for s, _ in plain)}")
    print(
        f"  notebooks cost {with_s - plain_s:+.3f} s of wall time "
        f"({with_s / plain_s - 1:+.1%}, best of {len(colds)} against best of {repeat}); "
        f"the notebook stage itself {stage:.3f} s"
        + (" (summed over worker processes)" if with_report["workers"] else "")
    )
    print(
        f"  {extra_files} notebook files, {with_report['notebook_bytes'] / 2**20:.1f} MiB "
        f"(pages and everything else: {plain_report['written']} files)"
    )


def compare_against(work: Path, corpus: Path, repeat: int, other: Path) -> None:
    """Cold builds by another checkout's `site_builder` (`other`), in turn with as many more by
    this one, on the same corpus: what a change did, with both sides under the same load."""
    theirs, ours = [], []
    for i in range(repeat):
        theirs.append(cold_build(work, corpus, f"against-{i}", tree=other))
        ours.append(cold_build(work, corpus, f"this-{i}"))
    for name, runs in ((str(other), theirs), ("this tree", ours)):
        walls = ", ".join(f"{s:.3f}" for s, _ in runs)
        cpus = ", ".join(f"{r['cpu']:.2f}" for _, r in runs)
        print(f"  {name}: cold (s) {walls}; CPU-s {cpus}")
    best_theirs, best_ours = min(s for s, _ in theirs), min(s for s, _ in ours)
    print(f"  this tree against {other}: {best_ours / best_theirs - 1:+.1%} wall (best of each)")


def compare_search(work: Path, corpus: Path, repeat: int, colds: list) -> None:
    """Cold builds whose search stage indexes nothing, run in turn with as many more with it, and
    what search costs the cold build: the difference of the best wall times."""
    colds, plain = list(colds), []
    for i in range(repeat):
        plain.append(cold_build(work, corpus, f"no-search-{i}", NO_SEARCH))
        colds.append(cold_build(work, corpus, f"search-{i}"))
    with_s, without_s = min(s for s, _ in colds), min(s for s, _ in plain)
    with_cpu = statistics.median(r["cpu"] for _, r in colds)
    without_cpu = statistics.median(r["cpu"] for _, r in plain)
    print(f"cold build, no search   {without_s:7.3f} s  (best of {repeat})")
    print(f"  with search (s):    {', '.join(f'{s:.3f}' for s, _ in colds)}")
    print(f"  without (s):        {', '.join(f'{s:.3f}' for s, _ in plain)}")
    print(
        f"  search costs the cold build {with_s - without_s:+.3f} s of wall time "
        f"({with_s / without_s - 1:+.1%}, best of {len(colds)} against best of {repeat}), "
        f"{with_cpu - without_cpu:+.2f} CPU-s (medians, {with_cpu:.2f} against {without_cpu:.2f})"
    )


STDLIB_PACKAGES = ("email", "json", "asyncio")


def stdlib_comparison(work: Path, repeat: int) -> None:
    """Pycco and our cold build, in turn, on `STDLIB_PACKAGES` copied under one package."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    corpus = work / "stdlib"
    for package in STDLIB_PACKAGES:
        shutil.copytree(
            stdlib / package, corpus / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    (corpus / "__init__.py").write_text('"""The standard library\'s email, json and asyncio."""\n')
    files = sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*.py"))
    lines = sum(len((corpus / f).read_bytes().splitlines()) for f in files)
    print(f"standard library ({', '.join(STDLIB_PACKAGES)}): {len(files)} modules, {lines:,} lines")
    pyccos, ours = [], []
    for i in range(repeat):
        out = work / f"stdlib-pycco-{i}"
        seconds, _ = run_timed(
            ["pycco", "-p", "-d", str(out), *[f"stdlib/{f}" for f in files]], work
        )
        missing = [f for f in files if not (out / "stdlib" / f).with_suffix(".html").is_file()]
        if missing:
            sys.exit(f"pycco did not render {missing[0]}")
        pyccos.append((seconds, LAST_CPU))
        out = work / f"stdlib-ours-{i}" / "site"
        command = [sys.executable, "-m", "site_builder", "build", "--keep-going"]
        seconds, stdout = run_timed([*command, "--source", str(corpus), "--out", str(out)], work)
        pages = sum(1 for _ in out.rglob("*.html"))
        ours.append((seconds, LAST_CPU, pages, stdout.strip().splitlines()[-1]))
    pycco, pycco_cpu = min(pyccos)
    cold, cold_cpu, pages, summary = min(ours)
    print(f"pycco                   {pycco:7.3f} s  ({len(files)} pages; {pycco_cpu:.2f} CPU-s)")
    print(f"cold build              {cold:7.3f} s  ({pages} HTML files; {cold_cpu:.2f} CPU-s)")
    print(f"  site-builder said: {summary}")
    print(f"pycco runs (s): {', '.join(f'{s:.3f}' for s, _ in pyccos)}")
    print(f"cold runs (s): {', '.join(f'{run[0]:.3f}' for run in ours)}")
    print(f"ratio {cold / pycco:.3f} (best against best)")


def cli_build(work: Path, corpus: Path, out: Path) -> tuple[float, str]:
    if WITHOUT_SEARCH:
        command = [sys.executable, "-c", child_code(CLI_CHILD), "build"]
    else:
        command = [sys.executable, "-m", "site_builder", "build"]
    command += ["--source", str(corpus), "--out", str(out)]
    seconds, stdout = run_timed(command, cwd=work)
    return seconds, stdout.strip().splitlines()[-1]


def timed_build(config, index_search: bool = True, katex=None) -> tuple[float, BuildReport]:
    start = time.perf_counter()
    report = build_site(config, index_search=index_search, katex=katex)
    return time.perf_counter() - start, report


def seconds_line(seconds: dict[str, float]) -> str:
    return ", ".join(f"{name} {s:.3f}" for name, s in seconds.items())


def verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def profile_cold(work: Path, corpus: Path, top: int = 30) -> None:
    config = load_config({"source": str(corpus), "out": str(work / "profile" / "site")}, start=work)
    profiler = cProfile.Profile()
    profiler.runcall(build_site, config)
    for order in ("cumulative", "tottime"):
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(order).print_stats(top)
        print(f"\n--- cProfile of an in-process cold build, by {order} ---")
        print("\n".join(stream.getvalue().splitlines()[4:]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=220, help="modules in the corpus")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best is kept)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed")
    parser.add_argument("--profile", action="store_true", help="cProfile a cold build")
    parser.add_argument(
        "--without-search", action="store_true", help="time every build with search disabled"
    )
    parser.add_argument(
        "--compare-search",
        action="store_true",
        help="also time cold builds without search, and print what search costs",
    )
    parser.add_argument(
        "--compare-notebooks",
        action="store_true",
        help="also time cold builds without notebooks, and print what notebooks cost",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="CHECKOUT",
        help="also time cold builds by another checkout's site_builder, in turn with this one",
    )
    parser.add_argument(
        "--stdlib",
        action="store_true",
        help="time Pycco and our cold build on standard-library packages instead",
    )
    args = parser.parse_args(argv)
    if args.without_search:
        global WITHOUT_SEARCH

        WITHOUT_SEARCH = True
        exec(NO_SEARCH, {})
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if shutil.which("pycco") is None:
        parser.error("pycco is not on PATH (pip install 'pycco>=0.6,<0.7')")

    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        work = Path(tmp)
        if args.stdlib:
            stdlib_comparison(work, args.repeat)
            return 0
        corpus = work / "zoo"
        stats = generate_corpus(corpus, args.modules, args.seed)
        print(f"corpus (seed {args.seed}): {stats.summary()}")
        print(
            f"site_builder code digest {builder_digest()[:12]}, pycco {version('pycco')}, "
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, best of {args.repeat}, "
            f"load average {os.getloadavg()[0]:.2f} (other jobs on these cores slow both sides)"
            + (", search stage disabled" if WITHOUT_SEARCH else "")
            + "\n"
        )

        modules = stats.python_files
        # In turn, so that a change in the machine's load weighs on both sides alike.
        pyccos, colds = [], []
        for i in range(args.repeat):
            pyccos.append(time_pycco(work, corpus, modules, work / f"pycco-{i}"))
            colds.append(cold_build(work, corpus, i))
        pycco, pycco_cpu = min(pyccos)
        print(
            f"pycco                   {pycco:7.3f} s  ({len(modules)} pages, from the .py files; "
            f"{pycco_cpu:.2f} CPU-s)"
        )
        cold, cold_report = min(colds, key=lambda c: c[0])
        print(
            f"cold build              {cold:7.3f} s  ({cold_report['rendered']} pages rendered, "
            f"{cold / pycco:.2f}x pycco's time; {cold_report['cpu']:.2f} CPU-s in all its "
            "processes)"
        )
        print("  stages, wall (s):     " + seconds_line(cold_report["seconds"]))
        print(f"  stage total {sum(cold_report['seconds'].values()):.3f} s; the rest is start-up")
        if cold_report["workers"]:
            print("  worker CPU-s, summed: " + seconds_line(cold_report["workers"]))
        print(
            "  (Pagefind indexes each page as it is rendered, in its own process: its work "
            "overlaps the pages stage; `search` is what is left after the last page)"
        )
        if args.compare_search and not WITHOUT_SEARCH:
            compare_search(work, corpus, args.repeat, colds)
        if args.compare_notebooks:
            compare_notebooks(work, corpus, args.repeat, colds)
        if args.against:
            print(f"cold builds, another checkout ({args.against}) and this one, in turn:")
            compare_against(work, corpus, args.repeat, args.against.resolve())

        # Rebuilds reuse the first cold build's site and cache.
        out = work / "cold-0" / "site"
        edited = corpus / next(f for f in modules if not f.endswith("__init__.py"))
        noop_cli = [cli_build(work, corpus, out) for _ in range(args.repeat)]
        one_cli = []
        for i in range(args.repeat):
            edit_one_comment(edited, f"cli-{i}")
            one_cli.append(cli_build(work, corpus, out))

        config = load_config({"source": str(corpus), "out": str(out)}, start=work)
        edit_one_comment(edited, "warm-up")
        katex = KatexRenderer()  # serve keeps one renderer (one V8) for all its rebuilds
        timed_build(config, katex=katex)  # a warm builder: modules imported, KaTeX up, as in serve
        noop_in = [timed_build(config, katex=katex) for _ in range(args.repeat)]
        one_in = []
        for i in range(args.repeat):
            edit_one_comment(edited, f"in-process-{i}")
            one_in.append(timed_build(config, katex=katex))

        # As `serve` rebuilds: pages first, with the newest index; then Pagefind in the background.
        one_serve, index_s = [], []
        for i in range(args.repeat):
            edit_one_comment(edited, f"serve-{i}")
            one_serve.append(timed_build(config, index_search=False, katex=katex))
            if one_serve[-1][1].unindexed is not None and not WITHOUT_SEARCH:
                start = time.perf_counter()
                search.build_index(
                    search.kept_indexes(config.cache_dir), one_serve[-1][1].unindexed
                )
                index_s.append(time.perf_counter() - start)

        noop_cli_s, noop_in_s = min(s for s, _ in noop_cli), min(s for s, _ in noop_in)
        one_cli_s, one_in_s = min(s for s, _ in one_cli), min(s for s, _ in one_in)
        noop_rendered = {len(r.pages_rendered) for _, r in noop_in}
        noop_written = {len(r.written) for _, r in noop_in}
        one_rendered = {len(r.pages_rendered) for _, r in one_in}
        print(f"no-op rebuild, CLI      {noop_cli_s:7.3f} s  ({noop_cli[0][1]})")
        print(
            f"no-op rebuild, warm     {noop_in_s:7.3f} s  "
            f"(pages rendered {noop_rendered}, files written {noop_written})"
        )
        print(
            f"one-file rebuild, CLI   {one_cli_s:7.3f} s  ({one_cli[0][1]}; Pagefind indexes all)"
        )
        print(f"one-file rebuild, warm  {one_in_s:7.3f} s  (pages rendered {one_rendered})")
        one_serve_s = min(s for s, _ in one_serve)
        background = f", then index in the background {min(index_s):.3f} s" if index_s else ""
        print(f"one-file rebuild, serve {one_serve_s:7.3f} s  (pages written first{background})")
        if noop_rendered != {0} or one_rendered != {1}:
            print("WARNING: a rebuild rendered more than it should (site_builder changed mid-run?)")
        print("  warm one-file stages (s):  " + seconds_line(one_in[-1][1].seconds))
        serve_best = min(one_serve, key=lambda run: run[0])[1]
        print("  serve one-file stages (s): " + seconds_line(serve_best.seconds))
        spread = statistics.pstdev([s for s, _ in colds]) if len(colds) > 1 else 0.0
        print(f"\ncold runs (s): {', '.join(f'{s:.3f}' for s, _ in colds)} (sd {spread:.3f})")
        print(f"pycco runs (s): {', '.join(f'{s:.3f}' for s, _ in pyccos)}")
        cpus = ", ".join(
            f"{r['cpu']:.2f}/{c:.2f}" for (_, r), (_, c) in zip(colds, pyccos, strict=True)
        )
        print(f"CPU-s, ours/pycco, run by run: {cpus}")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")

        weight = project_page_weight(work)
        print(
            f"\n{WEIGHED_PAGE} of the project's site: {weight.total / 1000:.1f} KB of HTML + CSS "
            f"+ JS, {weight.gzipped / 1000:.1f} KB gzipped"
        )

        ratio = cold / pycco
        # Each cold build runs right after its Pycco run, so the two share the machine's state:
        # the median of the run-by-run ratios is steadier than the ratio of the bests.
        paired = statistics.median(s / p for (s, _), (p, _) in zip(colds, pyccos, strict=True))
        print(f"\npycco {pycco:.3f} s, our cold build {cold:.3f} s: ratio {ratio:.3f}")
        print(f"run by run: median ratio {paired:.3f}")
        print("targets on this machine:")
        print(
            f"  {'cold / pycco':<18}{ratio:7.3f}   <= {COLD_RATIO_REQUIRED}    "
            f"{verdict(ratio, COLD_RATIO_REQUIRED)} (goal {COLD_RATIO_GOAL}: "
            f"{verdict(ratio, COLD_RATIO_GOAL)})"
        )
        print(
            f"  {'median, paired':<18}{paired:7.3f}   <= {COLD_RATIO_REQUIRED}    "
            f"{verdict(paired, COLD_RATIO_REQUIRED)}"
        )
        for label, value, target in [
            ("no-op, CLI", noop_cli_s, NOOP_TARGET_S),
            ("no-op, warm", noop_in_s, NOOP_TARGET_S),
            ("one-file, serve", one_serve_s, SERVE_ONE_FILE_TARGET_S),
        ]:
            print(f"  {label:<18}{value:7.3f} s <= {target} s  {verdict(value, target)}")
        kb = weight.gzipped / 1000
        print(f"  {'page, gzipped':<18}{kb:7.1f} KB <= {GZIP_TARGET // 1000} KB {verdict(kb, 40)}")
        print(f"  (reported, no target: one-file CLI {one_cli_s:.3f} s, warm {one_in_s:.3f} s)")
        if args.profile:
            profile_cold(work, corpus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
