import json
import math

import pytest

from bench.harness import BenchReport, Comparison, measure_peak_rss, time_call


@pytest.mark.parametrize(
    ("ours", "peer", "higher", "ratio"),
    [(1.0, 10.0, False, 10.0), (2.0, 1.0, False, 0.5), (0.8, 0.4, True, 2.0), (0.0, 1.0, False, math.inf)],
)
def test_ratio_is_our_advantage(ours, peer, higher, ratio):
    c = Comparison("t", ours=ours, peer=peer, peer_name="p", higher_is_better=higher)
    assert c.ratio == ratio


def test_target_is_met_only_at_or_above_it():
    assert Comparison("t", 1.0, 30.0, "p", target=30).meets_target is True
    assert Comparison("t", 1.0, 29.0, "p", target=30).meets_target is False
    assert Comparison("t", 1.0, 29.0, "p").meets_target is None


def test_report_writes_json_and_markdown(tmp_path):
    report = BenchReport(
        "demo",
        (Comparison("load", 0.5, 5.0, "rdflib", target=8, agreement="same count"),),
        params={"triples": 100},
    )
    path = report.write_json(tmp_path)
    data = json.loads(path.read_text())
    assert data["comparisons"][0]["ratio"] == 10.0
    assert data["comparisons"][0]["meets_target"] is True
    assert data["params"] == {"triples": 100}
    assert "| load | 500.00 ms | rdflib | 5.00 s | 10.00× | ≥ 8× ✓ | same count |" in report.markdown()


def test_time_call_returns_the_result_and_a_positive_time():
    seconds, result = time_call(lambda: sum(range(1000)), repeat=3)
    assert result == 499500
    assert seconds > 0


def _allocate_64_mib():
    block = bytearray(64 * 2**20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page
    return len(block)


def test_peak_rss_counts_what_the_function_allocates():
    rss, seconds, result = measure_peak_rss(_allocate_64_mib)
    assert result == 64 * 2**20
    assert 60 * 2**20 <= rss <= 90 * 2**20
    assert seconds >= 0
