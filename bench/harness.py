"""The side-by-side harness every benchmark uses.

A benchmark runs our side and the peer in one process on the same data and
returns a :class:`BenchReport`: one :class:`Comparison` per measured task,
each with both figures and their ratio. The harness prints the table and
writes the JSON; it never times only our side.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BenchReport", "Comparison", "measure_peak_rss", "save_figure", "time_call"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """One task measured on both sides.

    ``ratio`` is our advantage: peer / ours when lower is better (seconds,
    bytes), ours / peer when higher is better (accuracy, MRR). Above 1 we win.
    """

    task: str
    ours: float
    peer: float
    peer_name: str
    unit: str = "s"
    higher_is_better: bool = False
    target: float | None = None
    agreement: str = ""

    @property
    def ratio(self) -> float:
        num, den = (self.ours, self.peer) if self.higher_is_better else (self.peer, self.ours)
        if den == 0:
            return math.inf if num > 0 else math.nan
        return num / den

    @property
    def meets_target(self) -> bool | None:
        return None if self.target is None else self.ratio >= self.target

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        out["meets_target"] = self.meets_target
        return out


@dataclass(frozen=True, slots=True)
class BenchReport:
    """What one benchmark measured, with the settings it ran under."""

    name: str
    comparisons: tuple[Comparison, ...]
    params: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    plots: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": self.params,
            "machine": {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
            },
            "comparisons": [c.to_dict() for c in self.comparisons],
            "notes": list(self.notes),
            "plots": list(self.plots),
        }

    def write_json(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}.json"
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        return path

    def markdown(self) -> str:
        """The table as Markdown, for closing notes and reports."""
        lines = [
            f"### {self.name}",
            "",
            "| task | ours | peer | peer value | ratio (ours better > 1) | target | agreement |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for c in self.comparisons:
            target = "" if c.target is None else f"≥ {c.target:g}× " + ("✓" if c.meets_target else "✗")
            lines.append(
                f"| {c.task} | {_fmt(c.ours, c.unit)} | {c.peer_name} | {_fmt(c.peer, c.unit)} "
                f"| {c.ratio:.2f}× | {target} | {c.agreement} |"
            )
        lines.extend(f"\n{note}" for note in self.notes)
        return "\n".join(lines)

    def print_table(self) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"bench: {self.name}", show_lines=False)
        for column in ("task", "ours", "peer", "peer value", "ratio", "target", "agreement"):
            table.add_column(column)
        for c in self.comparisons:
            target = ""
            if c.target is not None:
                target = f"≥ {c.target:g}× " + ("[green]✓[/green]" if c.meets_target else "[red]✗[/red]")
            table.add_row(
                c.task,
                _fmt(c.ours, c.unit),
                c.peer_name,
                _fmt(c.peer, c.unit),
                f"{c.ratio:.2f}×",
                target,
                c.agreement,
            )
        console = Console()
        console.print(table)
        for note in self.notes:
            console.print(note)


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        if value < 1e-3:
            return f"{value * 1e6:.1f} µs"
        if value < 1:
            return f"{value * 1e3:.2f} ms"
        return f"{value:.2f} s"
    if unit == "B":
        return f"{value / 2**20:.1f} MiB"
    return f"{value:.4g} {unit}".strip()


def time_call(fn: Callable[[], Any], *, repeat: int = 3, warmup: int = 0) -> tuple[float, Any]:
    """Run ``fn`` ``warmup`` + ``repeat`` times; return (median seconds, last result)."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _read_status_kib(field_name: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field_name} not in /proc/self/status")


def _rss_child(fn: Callable[[], Any], conn: Any) -> None:
    try:
        # Reset this process's peak RSS so that it counts only what fn adds.
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        baseline = _read_status_kib("VmRSS")
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        peak = _read_status_kib("VmHWM")
        conn.send(("ok", (peak - baseline) * 1024, seconds, result))
    except BaseException as exc:  # report any failure to the parent, which re-raises it
        conn.send(("error", repr(exc), 0.0, None))
    finally:
        conn.close()


def measure_peak_rss(fn: Callable[[], Any]) -> tuple[int, float, Any]:
    """Run ``fn`` in a forked process; return (peak RSS it added in bytes, seconds, its result).

    The result must pickle. Forking keeps the data the parent prepared without
    counting it: the child's peak is reset before ``fn`` starts.
    """
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_rss_child, args=(fn, child))
    proc.start()
    child.close()
    status, rss, seconds, result = parent.recv()
    proc.join()
    if status != "ok":
        raise RuntimeError(f"benchmark child failed: {rss}")
    return int(rss), float(seconds), result


def save_figure(fig: Any, out: Path, name: str, *, dpi: int = 120) -> Path:
    """Lay out and save a matplotlib figure as ``out/name`` beside the benchmark's JSON, then close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
