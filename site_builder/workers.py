"""Worker processes: with many pages, parsing and rendering run in forked processes, one per core.

`fork_map(function, shared, items, workers)` computes `function(shared, item)` for each item.
What the function needs comes to the workers by fork, never pickled: the pool's processes are
forked with the function, the shared value and the items as their start-up arguments, and each
is then sent only an item's number. Only the results are pickled. Forking is unsafe once another
thread runs (a lock one of them holds stays held in the child) or once V8 started (see `tex`), so
the caller says whether it is safe and `worker_count` falls back to this process.
"""

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from .model import BuildError

WORKERS_ENV = "SITE_BUILDER_WORKERS"  # a number of processes; 1 works in this process
POOL_MIN_ITEMS = 16
MAX_WORKERS = 8

Shared = TypeVar("Shared")
Item = TypeVar("Item")
Result = TypeVar("Result")


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


def fork_map(
    function: Callable[[Shared, Item], Result],
    shared: Shared,
    items: Sequence[Item],
    workers: int,
    chunksize: int = 1,
) -> Iterator[Result]:
    """Yield `function(shared, item)` for each of `items`, in order, computed in `workers` forked
    processes (in this one when `workers` < 2). A result must pickle."""
    if workers < 2:
        yield from (function(shared, item) for item in items)
        return
    context = multiprocessing.get_context("fork")
    start = (function, shared, items)  # a forked process gets its start-up arguments unpickled
    with context.Pool(workers, initializer=_start_worker, initargs=start) as pool:
        yield from pool.imap(_run, range(len(items)), chunksize=chunksize)


# In a worker process only: what `fork_map` started it with.
_work: tuple[Callable[[Any, Any], Any], Any, Sequence[Any]] | None = None


def _start_worker(function: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any]) -> None:
    global _work
    _work = (function, shared, items)


def _run(number: int) -> Any:
    assert _work is not None, "not a worker process"
    function, shared, items = _work
    return function(shared, items[number])
