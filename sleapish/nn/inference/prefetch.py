"""Background threads: an iterator run a few items ahead of its consumer, and a map
over an iterator by several threads with the results in order."""

from __future__ import annotations

import collections
import queue
import threading
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
U = TypeVar("U")


def prefetched(iterator: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Run `iterator` in a background thread, `depth` items ahead.

    Decoding overlaps the model (OpenCV and TensorFlow release the GIL). An error in
    the thread is re-raised in the consumer; closing the generator stops the thread.

    Args:
        iterator: Any iterable (e.g. batches of decoded frames).
        depth: Items kept ready ahead of the consumer.

    Yields:
        The items of `iterator`, in order.
    """

    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work():
        try:
            for item in iterator:
                if stop.is_set():
                    return
                q.put(item)
            q.put(done)
        except BaseException as e:  # forwarded to the consumer
            q.put(e)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


def ordered_map(fn: Callable[[T], U], iterable: Iterable[T], workers: int = 2
                ) -> Iterator[U]:
    """`fn` applied to the items of `iterable` by `workers` threads, in order.

    Used to keep two inference steps in flight: while one batch is in the network's
    single-threaded ops (peak finding, cropping, grouping), the other keeps the
    cores busy. `iterable` is consumed from the calling thread; at most `workers`
    items are in flight. An error in `fn` is re-raised here, in order; closing the
    generator waits for the items in flight and drops them.

    Args:
        fn: Function of one item (e.g. a batch -> its predictions).
        iterable: The items.
        workers: Threads (1: `fn` runs in the calling thread, nothing in flight).

    Yields:
        `fn(item)` for each item, in the order of `iterable`.
    """
    if workers <= 1:
        for item in iterable:
            yield fn(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    pending: collections.deque = collections.deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sleapish-step") as ex:
        try:
            for item in iterable:
                pending.append(ex.submit(fn, item))
                if len(pending) >= workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


__all__ = ["prefetched", "ordered_map"]
