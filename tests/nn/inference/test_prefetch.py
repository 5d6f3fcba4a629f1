"""Background threads of prediction: `prefetched` and `ordered_map`."""

from __future__ import annotations

import threading
import time

import pytest

from sleapish.nn.inference.prefetch import ordered_map, prefetched


def test_ordered_map_keeps_order_and_bounds_items_in_flight():
    lock, state = threading.Lock(), {"now": 0, "most": 0, "threads": set()}

    def slow_square(x):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
            state["threads"].add(threading.get_ident())
        time.sleep(0.02 if x % 2 else 0.001)  # odd items finish last
        with lock:
            state["now"] -= 1
        return x * x

    assert list(ordered_map(slow_square, range(9), workers=2)) == [x * x for x in range(9)]
    assert state["most"] == 2 and len(state["threads"]) == 2
    assert threading.get_ident() not in state["threads"]
    # One worker: in the calling thread, one at a time.
    state["threads"].clear()
    assert list(ordered_map(slow_square, range(3), workers=1)) == [0, 1, 4]
    assert state["threads"] == {threading.get_ident()}


def test_ordered_map_reraises_in_order_and_stops():
    seen = []

    def fn(x):
        seen.append(x)
        if x == 3:
            raise KeyError("bad item 3")
        return x

    gen = ordered_map(fn, range(100), workers=2)
    got = []
    with pytest.raises(KeyError, match="bad item 3"):
        for x in gen:
            got.append(x)
    assert got == [0, 1, 2]  # every item before the failed one, nothing after
    assert max(seen) <= 4  # at most one more item was started


def test_prefetched_runs_ahead_and_forwards_errors():
    def items():
        yield 1
        yield 2
        raise OSError("disk gone")

    gen = prefetched(items(), depth=2)
    assert next(gen) == 1 and next(gen) == 2
    with pytest.raises(OSError, match="disk gone"):
        next(gen)
