"""Fixtures for the knowledge-graph tests: real Oxigraph SPARQL servers, and one graph per backend."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mmreason.kg import KnowledgeGraph

#: "sparql" is a server whose default graph is the union of its graphs; "sparql-plain" one whose
#: default graph is the unnamed graph alone, as Oxigraph and Fuseki come.
BACKENDS = ("memory", "oxigraph", "sparql", "sparql-plain")


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


class OxigraphServer:
    """``oxigraph serve`` on a loopback port, started for real; it can be killed and started again
    on the same store and port (the fault tests do)."""

    def __init__(self, location: Path, *, union: bool, port: int | None = None) -> None:
        binary = oxigraph_binary()
        if binary is None:
            pytest.skip("the oxigraph server is not installed (pip install 'mmreason[server]')")
        self.binary, self.location, self.union = binary, location, union
        self.port = port or free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = location.parent / f"oxigraph-{self.port}.log"

    def start(self) -> OxigraphServer:
        command = [str(self.binary), "serve", "--location", str(self.location)]
        command += ["--bind", f"127.0.0.1:{self.port}"]
        if self.union:
            command.append("--union-default-graph")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.root + "/query?query=ASK%7B%7D", timeout=1):
                    return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.kill()
                    pytest.fail(f"oxigraph serve did not start on {self.root}: see {self.log_path}")
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no chance to finish a request or flush anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def running_server(location: Path, *, union: bool) -> Iterator[OxigraphServer]:
    server = OxigraphServer(location, union=union).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sparql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``oxigraph serve --union-default-graph`` on a free loopback port; yields its root URL."""
    with running_server(tmp_path_factory.mktemp("oxigraph-union"), union=True) as server:
        yield server.root


@pytest.fixture(scope="session")
def sparql_server_plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``oxigraph serve`` as it comes: the default graph is the unnamed graph alone."""
    with running_server(tmp_path_factory.mktemp("oxigraph-plain"), union=False) as server:
        yield server.root


def open_backend(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> KnowledgeGraph:
    if name == "memory":
        return KnowledgeGraph.open()
    if name == "oxigraph":
        return KnowledgeGraph.open(f"oxigraph:{tmp_path / 'store'}")
    root = request.getfixturevalue("sparql_server" if name == "sparql" else "sparql_server_plain")
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
