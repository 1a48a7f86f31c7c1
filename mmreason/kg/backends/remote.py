"""Any SPARQL 1.1 endpoint over HTTP (the SPARQL 1.1 Protocol), with a bounded timeout.

Bound values travel as a ``VALUES`` block of serialised RDF terms
(:mod:`mmreason.kg.sparql_text`), prefixes as a ``PREFIX`` prologue. The
endpoint's default graph should be the union of its graphs, as the other
backends' is: Oxigraph with ``--union-default-graph``, Fuseki with
``tdb:unionDefaultGraph``, GraphDB and Virtuoso by default.
"""

from __future__ import annotations

import json
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


def _bounded_read(response: Any, url: str) -> bytes:
    """The body of a response, refused past :data:`~mmreason.limits.MAX_SPARQL_RESPONSE_BYTES`
    (an endless or runaway answer must not take all memory)."""
    from mmreason.limits import MAX_SPARQL_RESPONSE_BYTES

    chunks, size = [], 0
    while chunk := response.read(1 << 20):
        size += len(chunk)
        if size > MAX_SPARQL_RESPONSE_BYTES:
            raise EndpointError(
                f"SPARQL endpoint {url} sent more than {MAX_SPARQL_RESPONSE_BYTES:,} bytes (docs/limits.md); "
                "ask for fewer rows (LIMIT) or aggregate"
            )
        chunks.append(chunk)
    return b"".join(chunks)


class RemoteBackend(Backend):
    """A SPARQL 1.1 endpoint: queries to ``query_url``, updates to ``update_url``."""

    def __init__(self, url: str, *, update_url: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.query_url, self.update_url = endpoint_urls(url, update_url)
        self.location = "sparql:" + url
        self.timeout = float(timeout)

    def _post(self, url: str, form: Mapping[str, str], accept: str) -> tuple[str, bytes]:
        body = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(
            url,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": accept},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.headers.get("Content-Type", ""), _bounded_read(response, url)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace").strip()
            if exc.code == 400:
                raise QueryError(detail or "the endpoint refused the request (HTTP 400)") from None
            raise EndpointError(f"SPARQL endpoint {url} answered HTTP {exc.code}: {detail[:500]}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ConnectionRefusedError):
                what = "refused the connection (is the server running?)"
            elif isinstance(reason, TimeoutError):
                what = f"did not answer within {self.timeout:g} s"
            else:
                what = "cannot be reached"
            raise EndpointError(f"SPARQL endpoint {url} {what}: {reason}") from None

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
        full = prologue(prefixes) + with_values(text, bindings)
        try:
            content_type, body = self._post(self.query_url, {"query": full}, _ACCEPT_QUERY)
        except QueryError as exc:
            raise self._refine(exc, text, prefixes, update=False) from None
        if "json" in content_type:
            data = json.loads(body)
            if "boolean" in data:
                return QueryOutcome("ask", boolean=bool(data["boolean"]))
            variables = tuple(data["head"].get("vars", ()))
            rows = [
                tuple(_term(b[v]) if v in b else None for v in variables) for b in data["results"]["bindings"]
            ]
            return QueryOutcome("select", variables=variables, rows=rows)
        triples = [
            (from_ox(q.subject), from_ox(q.predicate), from_ox(q.object))
            for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
        ]
        return QueryOutcome("graph", triples=triples)

    def update(self, text: str, bindings: Mapping[str, Term], prefixes: Mapping[str, str]) -> None:
        self._send_update(with_values(text, bindings), prefixes, original=text)

    def _send_update(self, text: str, prefixes: Mapping[str, str], *, original: str | None = None) -> None:
        if not text:
            return
        try:
            self._post(self.update_url, {"update": prologue(prefixes) + text}, "*/*")
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
        outcome = self.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", {}, {})
        return int(outcome.rows[0][0])

    def graphs(self) -> list[URIRef]:
        outcome = self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", {}, {})
        return sorted(g for (g,) in outcome.rows if isinstance(g, URIRef))
