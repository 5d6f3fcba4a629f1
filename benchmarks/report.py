"""Writing one benchmark's markdown report under benchmarks/reports/."""

from __future__ import annotations

import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write_report(name: str, title: str, notes, rows) -> str:
    """Write `benchmarks/reports/<name>.md` (a table of `(benchmark, result, note)`
    rows under a dated header) atomically; returns the text."""
    from sleapish.io.files import atomic_write_text

    lines = [f"# {title}", "", f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
             *[f"- {n}" for n in notes], "", "| benchmark | result | note |",
             "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    text = "\n".join(lines) + "\n"
    atomic_write_text(REPO / "benchmarks" / "reports" / f"{name}.md", text)
    return text
