"""A background thread that runs an iterator a few items ahead of its consumer."""

from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


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


__all__ = ["prefetched"]
