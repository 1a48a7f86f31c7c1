"""Any SPARQL 1.1 endpoint over HTTP (the SPARQL 1.1 Protocol), with a bounded timeout.

Bound values travel as a ``VALUES`` block of serialised RDF terms
(:mod:`mmreason.kg.sparql_text`), prefixes as a ``PREFIX`` prologue.

A query's default graph is the union of all graphs on every backend. A server
may be configured that way (Oxigraph's ``--union-default-graph``, Fuseki's
``tdb:unionDefaultGraph``, Virtuoso as shipped) or not (Oxigraph and Fuseki as
they come: the default graph is the unnamed graph alone). The backend finds out
which from the data itself, once named graphs hold triples: a few quads of the
named graphs either are or are not in the default graph. On a server whose
default graph is not the union, every query names its dataset through the
protocol's ``default-graph-uri`` and ``named-graph-uri`` (one per named graph),
so the same query gives the same rows on either kind of server. The one state
the protocol cannot express, triples in the unnamed graph *and* in named graphs
of such a server, is refused with an :class:`~mmreason.errors.EndpointError`
rather than answered from part of the data.

Every request is bounded: ``timeout`` seconds from sending to the last byte,
:data:`~mmreason.limits.MAX_SPARQL_RESPONSE_BYTES` bytes, and a body that must
parse whole. A dropped connection, a truncated or endless answer, or a server
error becomes an :class:`~mmreason.errors.EndpointError` naming the URL; each
request opens its own connection, so the same object works again once the
server is back.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef

from mmreason.errors import EndpointError, InvalidInputError, QueryError
from mmreason.kg.backends.base import Backend, Op, Quad, QueryOutcome, query_syntax_error
from mmreason.kg.backends.oxigraph import update_text
from mmreason.kg.formats import RdfFileFormat, parse_quads
from mmreason.kg.sparql_text import prologue, with_values
from mmreason.kg.terms import Term, from_ox, to_python

__all__ = ["DEFAULT_TIMEOUT", "LOAD_CHUNK", "RemoteBackend", "endpoint_urls"]

#: Seconds to wait for an endpoint before raising :class:`~mmreason.errors.EndpointError`.
DEFAULT_TIMEOUT = 30.0
#: Quads sent per ``INSERT DATA`` request when loading a file.
LOAD_CHUNK = 100_000

_ACCEPT_QUERY = "application/sparql-results+json, application/n-triples;q=0.9"
#: Quads of the named graphs looked up in the default graph to tell the server's kind.
PROBE_QUADS = 8

# The named graphs that hold triples, and whether the unnamed graph holds any (one request).
_DATASET_QUERY = """SELECT ?g ?d WHERE {
  { GRAPH ?g { } FILTER EXISTS { GRAPH ?g { ?s ?p ?o } } }
  UNION { SELECT (1 AS ?d) WHERE { ?s ?p ?o } LIMIT 1 }
}"""


def endpoint_urls(url: str, update_url: str | None) -> tuple[str, str]:
    """The query and update URLs: a server root means its ``/query`` and ``/update``.

    >>> endpoint_urls("http://127.0.0.1:7878", None)
    ('http://127.0.0.1:7878/query', 'http://127.0.0.1:7878/update')
    >>> endpoint_urls("http://host/sparql", None)
    ('http://host/sparql', 'http://host/sparql')
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInputError(f"sparql:{url}: expected an http:// or https:// URL after 'sparql:'")
    if parts.path in ("", "/") and not parts.query:
        root = url.rstrip("/")
        return root + "/query", update_url or root + "/update"
    return url, update_url or url


def _term(cell: Mapping[str, str]) -> Any:
    kind = cell["type"]
    if kind == "uri":
        return URIRef(cell["value"])
    if kind == "bnode":
        return BNode(cell["value"])
    if kind in ("literal", "typed-literal"):
        if "xml:lang" in cell:
            return Literal(cell["value"], lang=cell["xml:lang"])
        datatype = cell.get("datatype")
        return to_python(Literal(cell["value"], datatype=URIRef(datatype) if datatype else None))
    raise QueryError(f"unsupported term type {kind!r} in the endpoint's results")


def _bounded_read(response: Any, url: str, deadline: float, timeout: float) -> bytes:
    """The body of a response, refused past :data:`~mmreason.limits.MAX_SPARQL_RESPONSE_BYTES`
    or past the deadline (an endless or runaway answer must take neither all memory nor forever)."""
    from mmreason.limits import MAX_SPARQL_RESPONSE_BYTES

    chunks, size = [], 0
    while chunk := response.read1(1 << 20) if hasattr(response, "read1") else response.read(1 << 20):
        size += len(chunk)
        if size > MAX_SPARQL_RESPONSE_BYTES:
            raise EndpointError(
                f"SPARQL endpoint {url} sent more than {MAX_SPARQL_RESPONSE_BYTES:,} bytes (docs/limits.md); "
                "ask for fewer rows (LIMIT) or aggregate"
            )
        if time.monotonic() > deadline:
            raise EndpointError(f"SPARQL endpoint {url} did not finish its answer within {timeout:g} s")
        chunks.append(chunk)
    return b"".join(chunks)


class RemoteBackend(Backend):
    """A SPARQL 1.1 endpoint: queries to ``query_url``, updates to ``update_url``."""

    def __init__(self, url: str, *, update_url: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.query_url, self.update_url = endpoint_urls(url, update_url)
        self.location = "sparql:" + url
        self.timeout = float(timeout)
        #: Whether the server's default graph is the union of its graphs; ``None`` until its
        #: named graphs hold triples (until then both kinds answer alike).
        self.union_default_graph: bool | None = None

    # ------------------------------------------------------------------ the dataset

    def _is_union(self) -> bool | None:
        if self.union_default_graph is None:
            self.union_default_graph = self._probe_union()
        return self.union_default_graph

    def _select_raw(self, text: str, bindings: Mapping[str, Term] | None = None) -> QueryOutcome:
        """A query as written, with no dataset named (the server's own default graph)."""
        return self._run_query(with_values(text, bindings or {}), (), text, {})

    def _probe_union(self) -> bool | None:
        """Whether the default graph is the union: are quads of named graphs in it?"""
        found = [
            row[0]
            for row in self._select_raw(
                "SELECT ?in WHERE { { SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } "
                f"LIMIT {PROBE_QUADS} }} BIND(EXISTS {{ ?s ?p ?o }} AS ?in) }}"
            ).rows
        ]
        return all(found) if found else None

    def _dataset(self) -> list[tuple[str, str]]:
        """The protocol parameters that make a query's default graph the union of all graphs."""
        if self._is_union() is not False:
            return []
        rows = self._select_raw(_DATASET_QUERY).rows
        named = sorted(str(g) for g, _ in rows if isinstance(g, URIRef))
        if not named:
            return []
        if any(d is not None for _, d in rows):
            raise EndpointError(
                f"SPARQL endpoint {self.query_url} keeps triples both in its unnamed default graph and in "
                f"{len(named)} named graph(s), and its default graph is not their union; the SPARQL "
                "protocol cannot name the unnamed graph beside named ones, so answers would miss data. "
                "Start the server with a union default graph (oxigraph serve --union-default-graph; "
                "Fuseki: tdb2:unionDefaultGraph true) or move those triples into a named graph"
            )
        return [("default-graph-uri", g) for g in named] + [("named-graph-uri", g) for g in named]

    def _post(self, url: str, form: Sequence[tuple[str, str]], accept: str) -> tuple[str, bytes]:
        body = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(
            url,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": accept},
            method="POST",
        )
        deadline = time.monotonic() + self.timeout
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.headers.get("Content-Type", ""), _bounded_read(
                    response, url, deadline, self.timeout
                )
        except urllib.error.HTTPError as exc:
            try:
                detail = exc.read(4096).decode("utf-8", "replace").strip()
            except (OSError, http.client.HTTPException):
                detail = ""
            if exc.code == 400:
                raise QueryError(detail or "the endpoint refused the request (HTTP 400)") from None
            raise EndpointError(f"SPARQL endpoint {url} answered HTTP {exc.code}: {detail[:500]}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ConnectionRefusedError):
                what = "refused the connection (is the server running?)"
            elif isinstance(reason, TimeoutError):
                what = f"did not answer within {self.timeout:g} s"
            elif isinstance(reason, ConnectionError):
                what = "dropped the connection (did the server stop?)"
            else:
                what = "cannot be reached"
            raise EndpointError(f"SPARQL endpoint {url} {what}: {reason}") from None
        except http.client.HTTPException as exc:
            # IncompleteRead, RemoteDisconnected, a malformed status line: the answer was cut short.
            raise EndpointError(
                f"SPARQL endpoint {url} broke off its answer ({type(exc).__name__}: {exc})"
            ) from None

    def _refine(
        self, error: QueryError, text: str, prefixes: Mapping[str, str], *, update: bool
    ) -> QueryError:
        # The endpoint saw the text behind a prologue; parse the caller's own text for the position.
        try:
            store = ox.Store()
            if update:
                store.update(text, prefixes=dict(prefixes))
            else:
                store.query(text, prefixes=dict(prefixes))
        except SyntaxError as exc:
            return query_syntax_error(str(exc), what="SPARQL update" if update else "SPARQL")
        except Exception:
            pass
        return QueryError(
            f"the endpoint {self.query_url} refused the {'update' if update else 'query'}: {error}"
        )

    def query(self, text: str, bindings: Mapping[str, Term], prefixes: Mapping[str, str]) -> QueryOutcome:
        return self._run_query(
            prologue(prefixes) + with_values(text, bindings), self._dataset(), text, prefixes
        )

    def _run_query(
        self,
        full: str,
        dataset: Sequence[tuple[str, str]],
        text: str,
        prefixes: Mapping[str, str],
    ) -> QueryOutcome:
        try:
            content_type, body = self._post(self.query_url, [("query", full), *dataset], _ACCEPT_QUERY)
        except QueryError as exc:
            raise self._refine(exc, text, prefixes, update=False) from None
        try:
            if "json" in content_type:
                data = json.loads(body)
                if "boolean" in data:
                    return QueryOutcome("ask", boolean=bool(data["boolean"]))
                variables = tuple(data["head"].get("vars", ()))
                rows = [
                    tuple(_term(b[v]) if v in b else None for v in variables)
                    for b in data["results"]["bindings"]
                ]
                return QueryOutcome("select", variables=variables, rows=rows)
            triples = [
                (from_ox(q.subject), from_ox(q.predicate), from_ox(q.object))
                for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
            ]
        except (ValueError, KeyError, TypeError, SyntaxError) as exc:
            # A 200 whose body stops short or is not what it says (a server that failed mid-answer).
            tail = body[-200:].decode("utf-8", "replace").strip()
            raise EndpointError(
                f"SPARQL endpoint {self.query_url} sent an answer that does not parse "
                f"({type(exc).__name__}: {exc}); it ends with: {tail!r}"
            ) from None
        return QueryOutcome("graph", triples=triples)

    def update(self, text: str, bindings: Mapping[str, Term], prefixes: Mapping[str, str]) -> None:
        self._send_update(with_values(text, bindings), prefixes, original=text)

    def _send_update(self, text: str, prefixes: Mapping[str, str], *, original: str | None = None) -> None:
        if not text:
            return
        try:
            self._post(self.update_url, [("update", prologue(prefixes) + text)], "*/*")
        except QueryError as exc:
            raise self._refine(exc, original or text, prefixes, update=True) from None

    def add(self, quads: Sequence[Quad]) -> None:
        self._send_update(update_text([Op("add", quads=tuple(quads))]), {})

    def remove(self, quads: Sequence[Quad]) -> None:
        self._send_update(update_text([Op("remove", quads=tuple(quads))]), {})

    def apply(self, ops: Sequence[Op], prefixes: Mapping[str, str]) -> None:
        self._send_update(update_text(ops), prefixes)

    def load(self, path: Path, fmt: RdfFileFormat, graph: URIRef | None, *, progress: bool) -> None:
        quads = parse_quads(path, fmt, graph)
        from tqdm.auto import tqdm

        chunks = range(0, len(quads), LOAD_CHUNK)
        with tqdm(
            total=len(quads),
            unit="quad",
            desc=f"sending {path.name}",
            disable=not progress or len(quads) <= LOAD_CHUNK,
        ) as bar:
            for start in chunks:
                chunk = quads[start : start + LOAD_CHUNK]
                self.add(chunk)
                bar.update(len(chunk))

    def count(self) -> int:
        if self._is_union() is False:  # the default graph is the unnamed one: count it and the named ones
            outcome = self._select_raw(
                "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
            )
        else:
            outcome = self._select_raw("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
        return int(outcome.rows[0][0])

    def graphs(self) -> list[URIRef]:
        outcome = self._select_raw("SELECT ?g WHERE { GRAPH ?g { } FILTER EXISTS { GRAPH ?g { ?s ?p ?o } } }")
        return sorted({g for (g,) in outcome.rows if isinstance(g, URIRef)})
