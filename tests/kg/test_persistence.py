"""The Oxigraph store survives reopening, and a SIGKILL in the middle of a bulk load."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest
from rdflib import URIRef

from mmreason.kg import KnowledgeGraph, bundled_graphs_dir
from mmreason.kg.backends import oxigraph as oxigraph_backend
from mmreason.worlds.crossing import MR

BULK_TRIPLES = 40_000


def test_reopen_keeps_facts_and_prefixes(tmp_path: Path) -> None:
    location = f"oxigraph:{tmp_path / 'store'}"
    ttl = tmp_path / "extra.ttl"
    ttl.write_text("@prefix ex: <http://example.org/> .\nex:a ex:knows ex:b .\n")
    with KnowledgeGraph.open(location) as kg:
        kg.load(bundled_graphs_dir() / "crossing" / "crossing.ttl")
        kg.load(ttl)
        count = len(kg)
    with KnowledgeGraph.open(location) as kg:
        assert len(kg) == count
        assert kg.query("SELECT ?y WHERE { ex:a ex:knows ?y }") == [{"y": URIRef("http://example.org/b")}]
        assert URIRef(MR.Car) in [
            row["c"] for row in kg.query("SELECT ?c WHERE { ?c rdfs:subClassOf mr:Vehicle }")
        ]


def _write_ntriples(path: Path, n: int) -> None:
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(f'<http://example.org/e{i}> <http://example.org/p{i % 7}> "value {i}" .\n')


def _bulk_load_child(store: str, path: str, graph: str, conn) -> None:
    # Force the bulk-load path whatever the file size; this child is killed mid-way.
    oxigraph_backend.BULK_LOAD_BYTES = 0
    kg = KnowledgeGraph.open(f"oxigraph:{store}")
    conn.send("ready")
    kg.load(path, graph=URIRef(graph), progress=False)
    kg.close()
    conn.send("done")
    os._exit(0)


def _count(store: Path) -> int:
    with KnowledgeGraph.open(f"oxigraph:{store}") as kg:
        return len(kg)


@pytest.mark.slow
def test_sigkill_during_bulk_load_leaves_old_or_new_count(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    data = tmp_path / "bulk.nt"
    _write_ntriples(data, BULK_TRIPLES)
    store = tmp_path / "store"
    with KnowledgeGraph.open(f"oxigraph:{store}") as kg:
        kg.load(bundled_graphs_dir() / "crossing" / "crossing.ttl")

    def run(graph: str, kill_after: float | None) -> bool:
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_bulk_load_child, args=(str(store), str(data), graph, child))
        proc.start()
        child.close()
        assert parent.recv() == "ready"
        finished = False
        if kill_after is None:
            finished = parent.recv() == "done"
        else:
            finished = parent.poll(kill_after)
            os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        return finished

    # One uninterrupted load sets the time scale of the kills.
    start = time.monotonic()
    assert run("urn:graph:calibration", None)
    duration = time.monotonic() - start
    rng = random.Random(0)
    outcomes = []
    old = _count(store)
    for i in range(20):
        run(f"urn:graph:{i}", rng.uniform(0.0, 1.3 * duration))
        now = _count(store)
        assert now in (old, old + BULK_TRIPLES), (
            f"kill {i}: {now} quads, expected {old} or {old + BULK_TRIPLES}"
        )
        outcomes.append(now > old)
        old = now
    assert len(outcomes) == 20
