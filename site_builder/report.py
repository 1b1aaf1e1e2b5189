"""What a build reports, and how the command line and the server print it: `file:line: message`
for each problem, on one line whatever the file's name, then a one-line summary."""

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .files import Blob
from .model import BuildError, one_line

DEBUG_ENV = "SITE_BUILDER_DEBUG"  # set (not 0 or empty): tracebacks of internal errors too


@dataclass
class BuildReport:
    """Seconds per stage, what was rendered and written, the warnings (parse warnings always,
    link and TeX problems with --keep-going), and the problems that left a page out
    (--keep-going)."""

    seconds: dict[str, float] = field(default_factory=dict)
    worker_seconds: dict[str, float] = field(default_factory=dict)  # per stage, over all workers
    processes: int = 1  # the most processes any stage ran in
    pages_total: int = 0
    pages_rendered: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[BuildError] = field(default_factory=list)
    skipped: list[BuildError] = field(default_factory=list)  # pages left out, with why
    unindexed: dict[str, Blob] | None = None  # pages the search index lags behind (serve only)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def location(error: BuildError) -> str:
    """`file:line: message`, with the file relative to the current folder when inside it, on one
    line (see `model.one_line`); the message alone for a problem of no file."""
    if not error.path:
        return one_line(error.message)
    path = Path(error.path)
    if path.is_absolute() and path.is_relative_to(Path.cwd()):
        path = path.relative_to(Path.cwd())
    where = f"{path}:{error.line}" if error.line else str(path)
    return one_line(f"{where}: {error.message}")


def debugging(flag: bool = False) -> bool:
    """Whether tracebacks are asked for: `--debug`, or $SITE_BUILDER_DEBUG set (not to 0)."""
    return flag or os.environ.get(DEBUG_ENV, "0").strip() not in ("", "0")


def print_problem(
    error: BuildError, prefix: str = "", suffix: str = "", debug: bool = False
) -> None:
    """One problem on one line of stderr; with `debug` (or $SITE_BUILDER_DEBUG), an internal
    error's traceback after it."""
    print(f"{prefix}{location(error)}{suffix}", file=sys.stderr)
    if debugging(debug) and error.detail:
        print(error.detail.rstrip(), file=sys.stderr)


def print_report(report: BuildReport, out: Path, debug: bool = False) -> None:
    """Pages left out (errors) and warnings, one `file:line` line each, counted; then the
    summary. With `debug`, the traceback of each internal error follows its line."""
    for error in report.skipped:
        print_problem(error, "error: ", " (page skipped)", debug)
    for warning in report.warnings:
        print(f"warning: {location(warning)}", file=sys.stderr)
    counts = []
    if report.skipped:
        counts.append(f"{len(report.skipped)} error(s), pages skipped")
    if report.warnings:
        counts.append(f"{len(report.warnings)} warning(s)")
    if counts:
        print(", ".join(counts), file=sys.stderr)
    print(
        f"{report.pages_total} pages ({len(report.pages_rendered)} rendered), "
        f"{len(report.written)} files written, {len(report.removed)} removed, "
        f"{report.total_seconds:.2f} s -> {out}"
    )
