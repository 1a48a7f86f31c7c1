"""The benchmark harness: timings with their spread, and gates that fail the run."""

from __future__ import annotations

import types

import pytest

import bench.__main__ as bench_main
from bench.harness import BenchReport, Comparison, Timing, time_both


def test_timing_keeps_median_min_and_max() -> None:
    t = Timing.of([0.3, 0.1, 0.2, 0.5, 0.4])
    assert (t.median, t.low, t.high, t.runs) == (0.3, 0.1, 0.5, 5)


def test_time_both_gives_each_side_the_same_warmup_and_runs() -> None:
    calls = {"ours": 0, "peer": 0}

    def ours() -> str:
        calls["ours"] += 1
        return "a"

    def peer() -> str:
        calls["peer"] += 1
        return "b"

    o, p, ro, rp = time_both(ours, peer, repeat=5, warmup=2)
    assert calls == {"ours": 7, "peer": 7}
    assert (o.runs, p.runs, ro, rp) == (5, 5, "a", "b")


def test_timed_rows_refuse_unequal_repeats() -> None:
    with pytest.raises(ValueError, match="5 runs of ours against 1 of the peer"):
        Comparison.timed("load", Timing.of([1.0] * 5), Timing.of([1.0]), "peer")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (Comparison("agree", 1, 1, "p", agrees=False, agreement="max |Δ| 0.1"), "disagree"),
        (Comparison("speed", 2.0, 1.0, "p", target=1.0), "misses the target ≥ 1"),
        (Comparison("acc", 0.5, 0.4, "p", unit="", higher_is_better=True, ours_target=0.8), "≥ 0.8"),
        (Comparison("lat", 3.0, 4.0, "p", ours_target=2.0), "≤ 2"),
    ],
)
def test_each_kind_of_gate_fails_its_row(row: Comparison, message: str) -> None:
    assert any(message in m for m in row.failures())
    assert "✗" in BenchReport("x", (row,)).markdown()


def test_passing_rows_have_no_failures() -> None:
    rows = (
        Comparison("agree", 1, 1, "p", agrees=True),
        Comparison("speed", 1.0, 2.0, "p", target=1.0),
        Comparison("acc", 0.9, 0.4, "p", unit="", higher_is_better=True, ours_target=0.8),
    )
    assert BenchReport("x", rows).failures() == []


@pytest.mark.parametrize(("agrees", "code"), [(True, 0), (False, 1)])
def test_python_m_bench_exits_1_when_a_gate_fails(monkeypatch, tmp_path, capsys, agrees, code) -> None:
    def run(*, quick: bool, device: str, out) -> BenchReport:
        return BenchReport("kg", (Comparison("load", 1.0, 1.0, "peer", agrees=agrees),))

    fake = types.SimpleNamespace(import_module=lambda name: types.SimpleNamespace(run=run))
    monkeypatch.setattr(bench_main, "importlib", fake)
    assert bench_main.main(["kg", "--quick", "--out", str(tmp_path)]) == code
    if code:
        assert "1 gate(s) failed" in capsys.readouterr().err
