"""Fixtures for the knowledge-graph tests: a real Oxigraph SPARQL server, and one graph per backend."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmreason.kg import KnowledgeGraph

BACKENDS = ("memory", "oxigraph", "sparql")


def oxigraph_binary() -> Path | None:
    """The ``oxigraph`` server installed beside this Python (the ``oxigraph`` PyPI package)."""
    candidate = Path(sys.executable).parent / "oxigraph"
    if candidate.exists():
        return candidate
    found = shutil.which("oxigraph")
    return Path(found) if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def sparql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``oxigraph serve`` on a free loopback port; yields its root URL."""
    binary = oxigraph_binary()
    if binary is None:
        pytest.skip("the oxigraph server is not installed (pip install 'mmreason[server]')")
    location = tmp_path_factory.mktemp("oxigraph-server")
    port = free_port()
    log = open(location.parent / f"oxigraph-{port}.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [
            str(binary),
            "serve",
            "--location",
            str(location),
            "--bind",
            f"127.0.0.1:{port}",
            "--union-default-graph",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    root = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(root + "/query?query=ASK%7B%7D", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.close()
                pytest.fail(f"oxigraph serve did not start on {root}: see {log.name}")
            time.sleep(0.1)
    try:
        yield root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def open_backend(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> KnowledgeGraph:
    if name == "memory":
        return KnowledgeGraph.open()
    if name == "oxigraph":
        return KnowledgeGraph.open(f"oxigraph:{tmp_path / 'store'}")
    root = request.getfixturevalue("sparql_server")
    kg = KnowledgeGraph.open(f"sparql:{root}", timeout=10)
    kg.update("DROP ALL")
    return kg


@pytest.fixture(params=BACKENDS)
def kg(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KnowledgeGraph]:
    """An empty knowledge graph on each backend in turn."""
    graph = open_backend(request.param, tmp_path, request)
    try:
        yield graph
    finally:
        graph.close()
