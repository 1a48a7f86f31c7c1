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
KILLS = 20
#: Bytes the loading process must have read since the load began for a kill to count as
#: landing inside the load: far more than anything but the loader reads (the child's own
#: read of /proc/self/io is a few hundred bytes).
READ_INTO_LOAD = 64 << 10


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


def _bytes_read(pid: int | str) -> int:
    # Bytes the process (all its threads) has read through read-like system calls (Linux).
    with open(f"/proc/{pid}/io") as fh:
        for line in fh:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise RuntimeError(f"no rchar in /proc/{pid}/io")


def _bulk_load_child(store: str, path: str, graph: str, conn) -> None:
    # Force the bulk-load path whatever the file size; this child is stopped and killed mid-way.
    oxigraph_backend.BULK_LOAD_BYTES = 0
    kg = KnowledgeGraph.open(f"oxigraph:{store}")
    # What this process has read before the load; between here and the loader's first read
    # there is only this message (a write).
    conn.send(("loading", _bytes_read("self")))
    kg.load(path, graph=URIRef(graph), progress=False)
    conn.send(("loaded", None))
    kg.close()
    os._exit(0)


def _stop(pid: int) -> bool:
    """SIGSTOP ``pid`` and wait until it has stopped; False if it had already exited.

    Once stopped, nothing of it runs between a look at it and the kill.
    """
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        if state in ("T", "t"):
            return True
        if state in ("Z", "X"):
            return False
        time.sleep(0.001)
    raise AssertionError(f"process {pid} did not stop")


def _count(store: Path) -> int:
    with KnowledgeGraph.open(f"oxigraph:{store}") as kg:
        return len(kg)


@pytest.mark.slow
def test_sigkill_during_bulk_load_leaves_old_or_new_count(tmp_path: Path) -> None:
    """Each kill lands while the bulk loader runs (proved, not assumed); the store keeps all or none.

    The child reports what it has read just before ``load``; the parent stops it (SIGSTOP),
    reads how much it has read since and whether ``load`` has returned, then kills it. A kill
    is inside the load when the loader had read at least ``READ_INTO_LOAD`` bytes and the
    store, reopened, holds none of the new triples: the load had begun and not committed.
    A store holding the new triples instead must hold all of them; one holding none after
    ``load`` returned fails. The test fails unless most kills are proved to land inside the load,
    so kills that all fell before or after it cannot pass.
    """
    ctx = multiprocessing.get_context("fork")
    data = tmp_path / "bulk.nt"
    _write_ntriples(data, BULK_TRIPLES)
    store = tmp_path / "store"
    with KnowledgeGraph.open(f"oxigraph:{store}") as kg:
        kg.load(bundled_graphs_dir() / "crossing" / "crossing.ttl")

    def run(graph: str, stop_after: float | None) -> tuple[int, bool, float]:
        """Load into ``graph``; stop and kill the child ``stop_after`` seconds into the load.

        Returns (bytes the child read after the load began, whether ``load`` had returned,
        seconds from the start of the load to its return or to the stop).
        """
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_bulk_load_child, args=(str(store), str(data), graph, child))
        proc.start()
        child.close()
        kind, baseline = parent.recv()
        assert kind == "loading"
        start = time.monotonic()
        if stop_after is None:
            assert parent.recv()[0] == "loaded"
            seconds = time.monotonic() - start
            proc.join()
            return -1, True, seconds
        time.sleep(stop_after)
        stopped = _stop(proc.pid)
        seconds = time.monotonic() - start
        read = _bytes_read(proc.pid) - baseline if stopped else -1
        returned = parent.poll() and parent.recv()[0] == "loaded"
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        return read, returned, seconds

    # One uninterrupted load sets the time scale of the kills.
    _, _, duration = run("urn:graph:calibration", None)
    rng = random.Random(0)
    old = _count(store)
    inside = 0
    outcomes = []
    for i in range(KILLS):
        read, returned, seconds = run(f"urn:graph:{i}", rng.uniform(0.05, 0.9) * duration)
        now = _count(store)
        assert now in (old, old + BULK_TRIPLES), (
            f"kill {i}: {now} quads, expected {old} (none of the load) or {old + BULK_TRIPLES} (all of it)"
        )
        if returned:
            assert now == old + BULK_TRIPLES, f"kill {i}: load() returned but the store lacks its triples"
        elif now == old and read >= READ_INTO_LOAD:
            inside += 1
        outcomes.append((round(seconds, 3), round(read / 1024), returned, now > old))
        old = now
    assert inside >= KILLS // 2, (
        f"only {inside} of {KILLS} kills provably landed inside the load "
        f"(seconds into the load, KiB read since it began, load returned, triples added; "
        f"an uninterrupted load took {duration:.3f} s): {outcomes}"
    )
