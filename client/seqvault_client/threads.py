"""Work spread over threads, with results handed back to the caller's thread as they come."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from seqvault_client.errors import Interrupted

Item = TypeVar("Item")
Result = TypeVar("Result")


def merged(
    sources: Sequence[Callable[[], Iterator[Result]]], *, on_stop: Callable[[], None]
) -> Iterator[Result]:
    """Run each source in its own thread; yield their results as they come. Ctrl-C, an error
    or the caller closing the iteration stops them all (Ctrl-C becomes Interrupted)."""
    results: queue.Queue[Result | BaseException | None] = queue.Queue()

    def produce(source: Callable[[], Iterator[Result]]) -> None:
        try:
            for result in source():
                results.put(result)
        except BaseException as exc:  # handed to the caller's thread, which raises it
            results.put(exc)
        finally:
            results.put(None)

    threads = [threading.Thread(target=produce, args=(s,), daemon=True) for s in sources]
    for thread in threads:
        thread.start()
    running = len(threads)
    try:
        while running:
            try:
                item = results.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    except KeyboardInterrupt:
        raise Interrupted("interrupted") from None
    finally:
        on_stop()
        deadline = time.monotonic() + 15
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def each_at_once(
    items: Sequence[Item],
    work: Callable[[Item], Result],
    *,
    threads: int,
    stopped: threading.Event,
) -> Iterator[tuple[Item, Result | BaseException]]:
    """`work(item)` for every item, `threads` at a time; each item with its result or its
    exception as each finishes. Once `stopped` is set no item starts, and the iteration ends
    with Interrupted when nothing is left running."""
    todo: queue.Queue[Item] = queue.Queue()
    for item in items:
        todo.put(item)
    done: queue.Queue[tuple[Item, Result | BaseException]] = queue.Queue()

    def serve() -> None:
        while not stopped.is_set():
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((item, work(item)))
            except BaseException as exc:  # handed to the caller's thread, which decides
                done.put((item, exc))

    workers = [threading.Thread(target=serve, daemon=True) for _ in range(min(threads, len(items)))]
    for worker in workers:
        worker.start()
    for _ in items:
        while True:
            try:
                yield done.get(timeout=0.2)
                break
            except queue.Empty:
                if stopped.is_set() and not any(w.is_alive() for w in workers):
                    raise Interrupted("stopped") from None
