"""The sparql: backend against real ``oxigraph serve`` processes, as they come and as they fail.

Each server here is started for real on loopback, killed with SIGKILL and started again on the
same store; nothing is mocked. The two servers differ in one flag: with ``--union-default-graph``
a query's default graph is the union of all graphs, without it (Oxigraph's default, and
Fuseki's) the default graph is the unnamed graph alone.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, URIRef

from mmreason import limits
from mmreason.errors import EndpointError
from mmreason.kg import KnowledgeGraph
from mmreason.kg.backends.remote import RemoteBackend
from tests.kg.conftest import OxigraphServer, running_server

E = "http://example.org/faults#"
TTL = f"""@prefix ex: <{E}> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Car rdfs:subClassOf ex:Vehicle .
ex:car1 a ex:Car ; ex:colour ex:red .
ex:car2 a ex:Car ; ex:colour ex:blue .
ex:bus1 a ex:Vehicle .
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[OxigraphServer]:
    """A server of one's own: these tests kill it."""
    with running_server(tmp_path / "store", union=False) as started:
        yield started


def fill(kg: KnowledgeGraph, n: int) -> None:
    """``n`` triples in the asserted graph: enough for a cross product that takes seconds."""
    kg.add([(URIRef(f"{E}s{i}"), URIRef(f"{E}p{i % 7}"), URIRef(f"{E}o{i % 13}")) for i in range(n)])


SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.mark.parametrize("union", [True, False], ids=["union-default-graph", "as-it-comes"])
def test_load_then_read_on_either_server(tmp_path: Path, union: bool) -> None:
    """The issue's reproduction: load a file, then len() and instances_of() must see it."""
    path = tmp_path / "city.ttl"
    path.write_text(TTL)
    with running_server(tmp_path / "store", union=union) as started:
        kg = KnowledgeGraph.open(f"sparql:{started.root}", timeout=10)
        kg.load(path)
        assert len(kg) == 6
        assert kg.graphs() == [URIRef("http://mmreason.org/graphs/asserted")]
        vehicles = [URIRef(E + "bus1"), URIRef(E + "car1"), URIRef(E + "car2")]
        assert kg.instances_of(URIRef(E + "Vehicle")) == vehicles
        rows = kg.query("SELECT ?g ?x WHERE { GRAPH ?g { ?x a ?c } } ORDER BY ?x")
        assert [row["x"] for row in rows] == vehicles
        kg.add([(URIRef(E + "car3"), RDF.type, URIRef(E + "Car"))], graph="image")
        assert len(kg) == 7
        kg.bind("ex", E)
        assert kg.ask("ASK { ?x ex:colour ex:red }")
        assert len(kg.query("SELECT ?x WHERE { ?x a ex:Car }")) == 3
        assert kg._live.union_default_graph is union
        # The same object is a fresh client each time: a second one agrees.
        other = KnowledgeGraph.open(f"sparql:{started.root}", timeout=10)
        assert len(other) == 7 and len(other.query("SELECT ?c WHERE { ?c rdfs:subClassOf ?d }")) == 1


def test_unnamed_and_named_graphs_on_a_plain_server_are_refused(server: OxigraphServer) -> None:
    kg = KnowledgeGraph.open(f"sparql:{server.root}", timeout=10)
    kg.update("INSERT DATA { <http://e/a> <http://e/p> <http://e/b> }")  # the unnamed graph only
    assert len(kg.query("SELECT ?s WHERE { ?s ?p ?o }")) == 1
    kg.add([(URIRef("http://e/c"), RDFS.label, URIRef("http://e/d"))])  # and now a named graph too
    with pytest.raises(EndpointError, match=rf"{server.root}/query keeps triples both in its unnamed"):
        kg.query("SELECT ?s WHERE { ?s ?p ?o }")
    assert len(kg) == 2  # counting needs no dataset: the unnamed graph plus the named ones
    kg.update("DROP DEFAULT")
    assert len(kg.query("SELECT ?s WHERE { ?s ?p ?o }")) == 1


def test_killed_mid_query_then_restarted(server: OxigraphServer) -> None:
    kg = KnowledgeGraph.open(f"sparql:{server.root}", timeout=30)
    fill(kg, 1500)
    outcome: list[BaseException | object] = []

    def ask() -> None:
        try:
            outcome.append(kg.query(SLOW))
        except BaseException as exc:  # handed to the main thread
            outcome.append(exc)

    worker = threading.Thread(target=ask)
    worker.start()
    time.sleep(0.8)
    server.kill()
    worker.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], EndpointError), outcome
    assert f"{server.root}/query" in str(outcome[0])
    with pytest.raises(EndpointError, match="refused the connection"):
        len(kg)
    server.start()  # same store, same port: the same object works again
    assert len(kg) == 1500
    kg.bind("ex", E)
    assert len(kg.query("SELECT ?s WHERE { ?s ex:p1 ?o }")) == 215  # i % 7 == 1 for i < 1500


def test_slower_than_the_timeout(server: OxigraphServer) -> None:
    fill(KnowledgeGraph.open(f"sparql:{server.root}"), 1500)
    kg = KnowledgeGraph.open(f"sparql:{server.root}", timeout=0.5)
    start = time.monotonic()
    with pytest.raises(EndpointError, match=rf"{server.root}/query did not answer within 0\.5 s"):
        kg.query(SLOW)
    assert time.monotonic() - start < 3


def test_http_500_names_the_url(server: OxigraphServer) -> None:
    kg = KnowledgeGraph.open(f"sparql:{server.root}", timeout=10)
    kg.update("CREATE GRAPH <http://e/g>")
    with pytest.raises(EndpointError, match=rf"{server.root}/update answered HTTP 500: .*already exists"):
        kg.update("CREATE GRAPH <http://e/g>")


def test_a_200_whose_json_stops_short(server: OxigraphServer) -> None:
    """Oxigraph streams results: when a SERVICE call fails after the header went out, the body is
    the start of a JSON document followed by the error text, with status 200."""
    kg = KnowledgeGraph.open(f"sparql:{server.root}", timeout=10)
    with pytest.raises(EndpointError, match=rf"{server.root}/query sent an answer that does not parse"):
        kg.query("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
    assert len(kg) == 0  # and the object still works


def test_an_endless_answer_is_cut_at_the_byte_bound(
    server: OxigraphServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    kg = KnowledgeGraph.open(f"sparql:{server.root}", timeout=30)
    fill(kg, 1500)  # the cross product is 3.4e9 rows: endless for this purpose
    monkeypatch.setattr(limits, "MAX_SPARQL_RESPONSE_BYTES", 2_000_000)
    with pytest.raises(EndpointError, match=r"sent more than 2,000,000 bytes"):
        kg.query("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")


def test_a_trickle_is_cut_at_the_deadline() -> None:
    """An endpoint that keeps sending a byte at a time never trips a per-read timeout; the whole
    answer has a deadline."""
    stop = threading.Event()

    def serve(listener: socket.socket) -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\n\r\n")
            while not stop.is_set():
                try:
                    conn.sendall(b" ")
                except OSError:
                    return
                time.sleep(0.05)

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        thread = threading.Thread(target=serve, args=(listener,), daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
        backend = RemoteBackend(url, timeout=1.0)
        backend.union_default_graph = True  # no probe: the one request is the query
        start = time.monotonic()
        try:
            with pytest.raises(EndpointError, match=rf"{url} did not finish its answer within 1 s"):
                backend.query("SELECT * WHERE { ?s ?p ?o }", {}, {})
        finally:
            stop.set()
        assert time.monotonic() - start < 3


def test_a_kill_during_a_transaction_leaves_no_partial_update(
    server: OxigraphServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    kg = KnowledgeGraph.open(f"sparql:{server.root}", timeout=60)
    fill(kg, 100)
    n = 120_000
    sent = threading.Event()
    post = RemoteBackend._post

    def post_and_tell(self, url, form, accept):  # instrumentation only: the request is real
        if url.endswith("/update") and len(form[0][1]) > 1_000_000:
            sent.set()
        return post(self, url, form, accept)

    monkeypatch.setattr(RemoteBackend, "_post", post_and_tell)
    killer = threading.Thread(target=lambda: sent.wait(60) and (time.sleep(0.3), server.kill()))
    killer.start()
    with pytest.raises(EndpointError, match=rf"{server.root}/update"), kg.transaction():
        kg.add([(URIRef(f"{E}t{i}"), URIRef(E + "q"), URIRef(f"{E}v{i}")) for i in range(n)])
        kg.remove([(URIRef(f"{E}s0"), URIRef(f"{E}p0"), URIRef(f"{E}o0"))])
    killer.join()
    server.start()
    count = len(kg)
    print(f"after the kill: {count} triples (before: 100, with the transaction: {100 + n - 1})")
    assert count in (100, 100 + n - 1)  # all of it or none of it, never a part
