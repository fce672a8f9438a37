"""A summary after the benchmark table: GB/s and each result's ratio to the
plain copy of the same buffer in its group, all from the same run.

pytest-benchmark's own table puts a ratio in parentheses too, but relative to
the fastest row of the group, which need not be the copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class Result:
    group: str
    name: str
    nbytes: int
    frames: int
    baseline: bool
    best: float  # seconds per call, best round
    median: float  # seconds per call, median round


_results: list[Result] = []


class Throughput:
    """Records a finished benchmark: how many bytes (and frames) one call handles."""

    def __call__(
        self, benchmark: Any, name: str, nbytes: int, *, frames: int = 0, baseline: bool = False
    ) -> None:
        stats = benchmark.stats
        if not stats:  # --benchmark-disable: nothing was timed
            return
        _results.append(
            Result(benchmark.group, name, nbytes, frames, baseline, stats["min"], stats["median"])
        )


@pytest.fixture
def throughput() -> Throughput:
    return Throughput()


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's tables
def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _results:
        return
    write = terminalreporter.write_line
    write("")
    write("core throughput: GB/s (1e9 B/s) from the best round; ratio = time / copy time")
    write(f"{'':44}{'time':>10}{'GB/s':>8}{'ratio':>8}{'median':>8}  frames/s")
    for group in dict.fromkeys(r.group for r in _results):
        rows = [r for r in _results if r.group == group]
        base = next((r for r in rows if r.baseline), None)
        write(f"{group}:")
        for r in rows:
            ratio = f"{r.best / base.best:8.2f}{r.median / base.median:8.2f}" if base else ""
            frames = f"  {r.frames / r.best / 1e6:.2f} M" if r.frames else ""
            write(
                f"  {r.name:42}{r.best * 1e6:8.1f}us{r.nbytes / r.best / 1e9:8.2f}{ratio}{frames}"
            )
