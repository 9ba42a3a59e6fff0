"""Run a generator's chunks in worker processes, in order, safely.

Workers are started with "spawn", not "fork": a forked child inherits OpenCV's
thread pool in whatever state the parent left it and can deadlock inside
``cv2.GaussianBlur`` (seen in the test suite). Each worker runs OpenCV on one
thread, since the processes already share out the cores.
"""
from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def map_in_workers(fn: Callable[[T], R], tasks: Iterable[T], workers: int) -> Iterator[R]:
    """Yield ``fn(task)`` for each task, in order; in this process when ``workers <= 1``.

    ``fn`` must be a module-level function (it is pickled to spawned workers).
    """
    tasks = list(tasks)
    if workers <= 1 or len(tasks) <= 1:
        yield from map(fn, tasks)
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(min(workers, len(tasks)), initializer=_init_worker) as pool:
        yield from pool.imap(fn, tasks)
