"""Opening a knowledge graph: schemes, endpoints that are down or silent, update URLs."""

from __future__ import annotations

import socket
import time

import pytest
from rdflib import URIRef

from mmreason.errors import EndpointError, InvalidInputError
from mmreason.kg import KnowledgeGraph

from .conftest import free_port


@pytest.mark.parametrize("location", ["postgres://db/kg", "/tmp/a/store", "oxigraf:/tmp/x", "memory:/x", ""])
def test_unknown_scheme_lists_the_schemes(location: str) -> None:
    with pytest.raises(InvalidInputError, match=r"memory, oxigraph:DIR, sparql:URL"):
        KnowledgeGraph.open(location)


@pytest.mark.parametrize(
    ("location", "options", "match"),
    [
        ("sparql:ftp://host/sparql", {}, "http:// or https://"),
        ("sparql:http://127.0.0.1:1", {"timeout": 0}, "timeout="),
        ("memory", {"update_url": "http://127.0.0.1:1/update"}, "update_url="),
    ],
)
def test_bad_open_arguments(location: str, options: dict, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        KnowledgeGraph.open(location, **options)


def test_endpoint_down_names_the_url_quickly() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    kg = KnowledgeGraph.open(f"sparql:{url}", timeout=2)
    start = time.monotonic()
    with pytest.raises(EndpointError, match=rf"{url}/query refused the connection"):
        kg.query("SELECT * WHERE { ?s ?p ?o }")
    with pytest.raises(EndpointError, match=rf"{url}/update"):
        kg.add([(URIRef("http://e/a"), URIRef("http://e/p"), URIRef("http://e/b"))])
    assert time.monotonic() - start < 4
    assert isinstance(EndpointError("x"), ConnectionError)


def test_silent_endpoint_times_out_within_the_bound() -> None:
    # A socket that accepts connections but never answers.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/sparql"
        kg = KnowledgeGraph.open(f"sparql:{url}", timeout=0.5)
        start = time.monotonic()
        with pytest.raises(EndpointError, match=rf"{url} did not answer within 0\.5 s"):
            len(kg)
        assert time.monotonic() - start < 3


def test_explicit_query_and_update_urls(sparql_server: str) -> None:
    kg = KnowledgeGraph.open(f"sparql:{sparql_server}/query", update_url=f"{sparql_server}/update")
    kg.update("DROP ALL")
    kg.add([(URIRef("http://e/a"), URIRef("http://e/p"), URIRef("http://e/b"))])
    assert len(kg) == 1
    # Without update_url, updates go to the query URL, which Oxigraph refuses for updates.
    read_only = KnowledgeGraph.open(f"sparql:{sparql_server}/query")
    assert len(read_only) == 1
    with pytest.raises((EndpointError, InvalidInputError)):
        read_only.update("DROP ALL")
    assert len(kg) == 1
    kg.update("DROP ALL")


def test_location_and_repr(tmp_path) -> None:
    kg = KnowledgeGraph.open(f"oxigraph:{tmp_path / 's'}")
    assert kg.location == f"oxigraph:{tmp_path / 's'}"
    assert "oxigraph:" in repr(kg)
    kg.close()
    assert repr(kg) == "KnowledgeGraph('closed')"
    assert KnowledgeGraph.open("oxigraph:").location == "oxigraph:"
