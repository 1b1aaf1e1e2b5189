"""Worker processes: with many pages, parsing and rendering run in forked processes, one per core.

Forked workers inherit the task (and everything it refers to) instead of receiving it pickled, so
the task is set here for the time of one `fork_map`. Forking is unsafe once another thread runs
(a lock one of them holds stays held in the child) or once V8 started (see `tex`), so the caller
says whether it is safe and `worker_count` falls back to this process.
"""

import multiprocessing
import os
import threading
from collections.abc import Callable

from .model import BuildError

WORKERS_ENV = "SITE_BUILDER_WORKERS"  # a number of processes; 1 works in this process
POOL_MIN_ITEMS = 16
MAX_WORKERS = 8

_task: Callable[[int], object] | None = None  # what forked workers inherit


def worker_count(items: int, fork_safe: bool = True) -> int:
    """Processes for `items` pieces of work: $SITE_BUILDER_WORKERS, else the usable cores when
    there are many. 1 (this process) wherever forking is unsafe: the caller says it is not,
    other threads are running, or this system cannot fork."""
    override = os.environ.get(WORKERS_ENV, "").strip()
    if override:
        if not override.isdigit() or int(override) < 1:
            raise BuildError(WORKERS_ENV, None, f"must be a whole number >= 1, not {override!r}")
        workers = int(override)
    elif items >= POOL_MIN_ITEMS:
        workers = min(len(os.sched_getaffinity(0)), MAX_WORKERS)
    else:
        workers = 1
    forkable = "fork" in multiprocessing.get_all_start_methods()
    if not (fork_safe and forkable) or threading.active_count() > 1:
        return 1
    return max(1, min(workers, items))


def fork_map(task: Callable[[int], object], count: int, workers: int, chunksize: int = 1):
    """Yield `task(i)` for i in range(count), in order, computed in `workers` forked processes
    (in this one when `workers` < 2). A task's result must pickle."""
    global _task
    if workers < 2:
        yield from (task(i) for i in range(count))
        return
    _task = task
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_run, range(count), chunksize=chunksize)
    finally:
        _task = None


def _run(i: int):
    return _task(i)
