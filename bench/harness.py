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

__all__ = [
    "BenchReport",
    "Comparison",
    "Timing",
    "measure_peak_rss",
    "save_figure",
    "time_both",
    "time_call",
    "time_runs",
]

#: Timed runs per side unless a benchmark says otherwise; the statistic is their median.
REPEAT = 5
WARMUP = 1


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds over ``runs`` timed calls after the same warm-up: median, min and max."""

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, seconds: list[float]) -> Timing:
        return cls(statistics.median(seconds), min(seconds), max(seconds), len(seconds))


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
    #: ``False`` when the two sides' answers disagree beyond the stated tolerance;
    #: ``None`` when the row checks no agreement. ``python -m bench`` exits 1 on ``False``.
    agrees: bool | None = None
    #: (min, max) of the timed runs behind ``ours`` and ``peer``, when they were timed.
    ours_range: tuple[float, float] | None = None
    peer_range: tuple[float, float] | None = None
    runs: int | None = None
    #: A declared target for our own figure (accuracy ≥ it when higher is better, seconds ≤ it otherwise).
    ours_target: float | None = None

    @classmethod
    def timed(cls, task: str, ours: Timing, peer: Timing, peer_name: str, **kwargs: Any) -> Comparison:
        """A row from two :class:`Timing` results (median of each, min and max kept)."""
        if ours.runs != peer.runs:
            raise ValueError(f"{task}: {ours.runs} runs of ours against {peer.runs} of the peer")
        return cls(
            task,
            ours.median,
            peer.median,
            peer_name,
            ours_range=(ours.low, ours.high),
            peer_range=(peer.low, peer.high),
            runs=ours.runs,
            **kwargs,
        )

    @property
    def ratio(self) -> float:
        num, den = (self.ours, self.peer) if self.higher_is_better else (self.peer, self.ours)
        if den == 0:
            return math.inf if num > 0 else math.nan
        return num / den

    @property
    def meets_target(self) -> bool | None:
        return None if self.target is None else self.ratio >= self.target

    def failures(self) -> list[str]:
        """Why this row fails its gate: a disagreement or a missed target (empty when it passes)."""
        out = []
        if self.agrees is False:
            out.append(f"{self.task}: the two sides disagree ({self.agreement})")
        if self.meets_target is False:
            out.append(f"{self.task}: ratio {self.ratio:.3g} misses the target ≥ {self.target:g}")
        if self.ours_target is not None:
            ok = self.ours >= self.ours_target if self.higher_is_better else self.ours <= self.ours_target
            if not ok:
                sign = "≥" if self.higher_is_better else "≤"
                out.append(f"{self.task}: ours {self.ours:.4g} misses the target {sign} {self.ours_target:g}")
        return out

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

    def failures(self) -> list[str]:
        """Every failed gate in this report."""
        return [msg for c in self.comparisons for msg in c.failures()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "params": self.params,
            "machine": {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                # The 1, 5 and 15 minute load averages when the report was written.
                "load": [round(x, 2) for x in os.getloadavg()],
            },
            "comparisons": [c.to_dict() for c in self.comparisons],
            "failures": self.failures(),
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
            target = _target(c, "✓", "✗")
            lines.append(
                f"| {c.task} | {_cell(c.ours, c.ours_range, c.unit)} | {c.peer_name} "
                f"| {_cell(c.peer, c.peer_range, c.unit)} | {c.ratio:.2f}× | {target} | {_agreement(c)} |"
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
            target = _target(c, "[green]✓[/green]", "[red]✗[/red]")
            table.add_row(
                c.task,
                _cell(c.ours, c.ours_range, c.unit),
                c.peer_name,
                _cell(c.peer, c.peer_range, c.unit),
                f"{c.ratio:.2f}×",
                target,
                _agreement(c),
            )
        console = Console()
        console.print(table)
        for note in self.notes:
            console.print(note)


def _target(c: Comparison, yes: str, no: str) -> str:
    parts = []
    if c.target is not None:
        parts.append(f"≥ {c.target:g}× " + (yes if c.meets_target else no))
    if c.ours_target is not None:
        sign = "≥" if c.higher_is_better else "≤"
        missed = any("misses the target " + sign in m for m in c.failures())
        parts.append(f"ours {sign} {c.ours_target:g} " + (no if missed else yes))
    return "; ".join(parts)


def _cell(value: float, spread: tuple[float, float] | None, unit: str) -> str:
    if spread is None:
        return _fmt(value, unit)
    return f"{_fmt(value, unit)} [{_fmt(spread[0], unit)}–{_fmt(spread[1], unit)}]"


def _agreement(c: Comparison) -> str:
    mark = {True: "✓ ", False: "✗ ", None: ""}[c.agrees]
    return f"{mark}{c.agreement}"


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


def time_call(fn: Callable[[], Any], *, repeat: int = REPEAT, warmup: int = WARMUP) -> tuple[float, Any]:
    """Run ``fn`` ``warmup`` + ``repeat`` times; return (median seconds, last result)."""
    timing, result = time_runs(fn, repeat=repeat, warmup=warmup)
    return timing.median, result


def time_runs(fn: Callable[[], Any], *, repeat: int = REPEAT, warmup: int = WARMUP) -> tuple[Timing, Any]:
    """Run ``fn`` ``warmup`` + ``repeat`` times; return (:class:`Timing`, last result)."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return Timing.of(times), result


def time_both(
    ours: Callable[[], Any],
    peer: Callable[[], Any],
    *,
    repeat: int = REPEAT,
    warmup: int = WARMUP,
) -> tuple[Timing, Timing, Any, Any]:
    """Time both sides alike: the same warm-up, then ``repeat`` runs each, alternating.

    Alternating the sides spreads any drift in the machine's load over both.
    Returns (our timing, the peer's timing, our last result, the peer's last result).
    """
    ours_result = peer_result = None
    for _ in range(warmup):
        ours_result = ours()
        peer_result = peer()
    ours_times, peer_times = [], []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        ours_result = ours()
        ours_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        peer_result = peer()
        peer_times.append(time.perf_counter() - start)
    return Timing.of(ours_times), Timing.of(peer_times), ours_result, peer_result


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
