"""The benchmarks' agreement gates, at quick size: every answer a benchmark compares must agree.

``python -m bench`` exits 1 when a row disagrees; these tests run the same checks in the test
suite (one run per side, no warm-up, so they take seconds, not minutes): the causal engine
against pgmpy, DoWhy gcm and references built from the model files alone, and our
knowledge-graph store against rdflib and raw pyoxigraph. Speed targets are not checked here:
timings on a shared test machine say nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bench.causal
import bench.kg
from bench.harness import BenchReport


def _disagreements(report: BenchReport) -> list[str]:
    return [f"{c.task}: {c.agreement}" for c in report.comparisons if c.agrees is False]


@pytest.mark.slow
def test_causal_answers_agree_with_the_peers_and_the_references() -> None:
    report = bench.causal.agreement(device="cpu")
    assert len(report.comparisons) == 7
    assert [c.task for c in report.comparisons if c.agrees is None] == []
    assert _disagreements(report) == []


@pytest.mark.slow
def test_kg_stores_load_and_answer_alike() -> None:
    report = bench.kg.agreement()
    timed = [c for c in report.comparisons if c.unit == "s"]
    assert len(timed) == 8  # load and three queries, vs rdflib and vs raw pyoxigraph
    assert [c.task for c in timed if c.agrees is None] == []
    assert _disagreements(report) == []


def test_docs_kg_quotes_the_full_results() -> None:
    results = bench.kg.RESULTS_FULL / "kg.json"
    if not results.exists():
        pytest.skip("no full kg results yet")
    doc = bench.kg.DOC.read_text()
    quoted = doc.split(bench.kg.BEGIN, 1)[1].split(bench.kg.END, 1)[0].strip()
    assert quoted == bench.kg.doc_table(json.loads(results.read_text()))


def test_kg_doc_writer_replaces_only_the_figures(tmp_path: Path) -> None:
    doc = tmp_path / "kg.md"
    doc.write_text(f"before\n{bench.kg.BEGIN}\nold figures\n{bench.kg.END}\nafter\n")
    report = BenchReport("kg", ()).to_dict() | {
        "params": {"triples": 5, "load_runs": 3, "repeat": 5, "warmup": 1},
    }
    bench.kg.write_doc(report, doc)
    text = doc.read_text()
    assert text.startswith(f"before\n{bench.kg.BEGIN}\nMeasured by")
    assert text.endswith(f"{bench.kg.END}\nafter\n")
    assert "old figures" not in text
