"""A summary after the benchmark table: throughput and each result's ratio to
the plain copy of the same buffer in its group (and, where the group has one,
to ferrobahn's row), all from the same run, as markdown tables.

pytest-benchmark's own table puts a ratio in parentheses too, but relative to
the fastest row of the group, which need not be the copy.

``--summary-md PATH`` also writes the summary to a file (``report.py`` puts it
in docs/benchmarks.md).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import pytest

sys.path.insert(0, __file__.rsplit("/", 1)[0])  # peers.py, inmemory.py beside this file


@dataclass
class Result:
    group: str
    name: str
    nbytes: int
    frames: int
    baseline: bool
    ref: bool
    best: float  # seconds per call, best round
    median: float  # seconds per call, median round


_results: list[Result] = []


class Throughput:
    """Records a finished benchmark: how many bytes (and frames) one call
    handles. ``baseline``: the copy of the group; ``ref``: ferrobahn's row the
    peers are compared with."""

    def __call__(
        self,
        benchmark: Any,
        name: str,
        nbytes: int,
        *,
        frames: int = 0,
        baseline: bool = False,
        ref: bool = False,
    ) -> None:
        stats = benchmark.stats
        if not stats:  # --benchmark-disable: nothing was timed
            return
        _results.append(
            Result(
                benchmark.group,
                name,
                nbytes,
                frames,
                baseline,
                ref,
                stats["min"],
                stats["median"],
            )
        )


@pytest.fixture
def throughput() -> Throughput:
    return Throughput()


def _us(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:,.0f}" if us >= 100 else f"{us:.1f}"


def pytest_addoption(parser: Any) -> None:
    parser.addoption("--summary-md", metavar="PATH", help="also write the summary (markdown) here")


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's tables
def pytest_terminal_summary(terminalreporter: Any, config: Any) -> None:
    if not _results:
        return
    lines = _summary()
    for line in lines:
        terminalreporter.write_line(line)
    path = config.getoption("--summary-md")
    if path:
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")


def _summary() -> list[str]:
    lines: list[str] = []
    write = lines.append
    write("")
    write(
        "Throughput from the median round (best round in brackets); "
        "× copy = time / copy time, × ferrobahn = time / ferrobahn's time (medians)."
    )
    for group in dict.fromkeys(r.group for r in _results):
        rows = [r for r in _results if r.group == group]
        base = next((r for r in rows if r.baseline), None)
        ref = next((r for r in rows if r.ref), None)
        frames = any(r.frames for r in rows)
        write("")
        write(f"#### {group}")
        write("")
        cols = ["", "median µs (best)", "GB/s"]
        if frames:
            cols.append("M frames/s")
        cols.append("× copy")
        if ref:
            cols.append("× ferrobahn")
        write("| " + " | ".join(cols) + " |")
        write("|" + "---|" * len(cols))
        for r in rows:
            cells = [r.name, f"{_us(r.median)} ({_us(r.best)})", f"{r.nbytes / r.median / 1e9:.2f}"]
            if frames:
                cells.append(f"{r.frames / r.median / 1e6:.2f}" if r.frames else "")
            cells.append(f"{r.median / base.median:.2f}" if base else "")
            if ref:
                cells.append(f"{r.median / ref.median:.2f}")
            write("| " + " | ".join(cells) + " |")
    return lines
