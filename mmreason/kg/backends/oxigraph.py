"""A persistent on-disk Oxigraph store, through pyoxigraph.

Queries get bound values through pyoxigraph's substitutions (SEP-0007) where
the query projects the variable, and as a ``VALUES`` block of serialised terms
(:mod:`mmreason.kg.sparql_text`) where it does not; updates and transactions become one SPARQL
update, which Oxigraph applies atomically. Big files go through Oxigraph's
bulk loader with a progress bar.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import URIRef

from mmreason.errors import GraphParseError, InvalidInputError, QueryError
from mmreason.kg.backends.base import Backend, Op, Quad, QueryOutcome, query_syntax_error
from mmreason.kg.formats import RdfFileFormat, graph_parse_error
from mmreason.kg.sparql_text import with_values
from mmreason.kg.terms import Term, data_term, from_ox, ox_python, to_ox, to_ox_graph

__all__ = ["BULK_LOAD_BYTES", "OxigraphBackend", "update_text"]

#: Files at least this big go through the bulk loader (fast, with a progress bar);
#: smaller ones through a transactional load.
BULK_LOAD_BYTES = 8 << 20
_PREFIX_FILE = "mmreason-prefixes.json"


def _bytes_read() -> int | None:
    # Bytes this process has read so far (Linux); the bulk loader reads the file itself.
    try:
        with open("/proc/self/io", "rb") as fh:
            for line in fh:
                if line.startswith(b"rchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _bulk_load(store: ox.Store, path: Path, options: dict[str, Any], *, progress: bool) -> None:
    """Oxigraph's bulk loader on the file path (its parallel fast path), with a progress bar.

    The bar follows the bytes the process reads while the loader runs, then
    waits at 99 % while Oxigraph writes its indexes.
    """
    if not progress:
        store.bulk_load(path=str(path), **options)
        return
    from tqdm.auto import tqdm

    size = path.stat().st_size
    start = _bytes_read()
    stop = threading.Event()
    with tqdm(total=size, unit="B", unit_scale=True, desc=f"loading {path.name}") as bar:

        def follow() -> None:
            while start is not None and not stop.wait(0.25):
                now = _bytes_read()
                if now is not None:
                    # Reading ends before the indexes are written: hold the bar short of 100 %.
                    bar.n = min(int(size * 0.99), now - start)
                    if bar.n >= int(size * 0.99):
                        bar.set_description_str(f"indexing {path.name}", refresh=False)
                    bar.refresh()

        watcher = threading.Thread(target=follow, daemon=True)
        watcher.start()
        try:
            store.bulk_load(path=str(path), **options)
        finally:
            stop.set()
            watcher.join()
        bar.n = size
        bar.refresh()


def _data_block(quads: Sequence[Quad]) -> str:
    by_graph: dict[URIRef | None, list[str]] = {}
    for s, p, o, g in quads:
        by_graph.setdefault(g, []).append(
            f"{data_term(s, name='subject')} {data_term(p, name='predicate')} {data_term(o, name='object')} ."
        )
    parts = []
    for g, lines in by_graph.items():
        body = "\n".join(lines)
        parts.append(body if g is None else f"GRAPH {data_term(g, name='graph')} {{\n{body}\n}}")
    return "\n".join(parts)


def update_text(ops: Sequence[Op]) -> str:
    """One SPARQL update request that performs every write of a transaction, in order."""
    requests = []
    for op in ops:
        if op.kind == "add" and op.quads:
            requests.append(f"INSERT DATA {{\n{_data_block(op.quads)}\n}}")
        elif op.kind == "remove" and op.quads:
            requests.append(f"DELETE DATA {{\n{_data_block(op.quads)}\n}}")
        elif op.kind == "update":
            requests.append(with_values(op.text, op.bindings))
    return " ;\n".join(requests)


def outcome_from_ox(result: Any) -> QueryOutcome:
    """A :class:`QueryOutcome` from pyoxigraph query results."""
    if isinstance(result, ox.QueryBoolean):
        return QueryOutcome("ask", boolean=bool(result))
    if isinstance(result, ox.QueryTriples):
        return QueryOutcome(
            "graph", triples=[(from_ox(t.subject), from_ox(t.predicate), from_ox(t.object)) for t in result]
        )
    variables = tuple(v.value for v in result.variables)
    rows = [tuple(map(ox_python, solution)) for solution in result]
    return QueryOutcome("select", variables=variables, rows=rows)


class OxigraphBackend(Backend):
    """A pyoxigraph ``Store`` in a directory (``None``: in memory)."""

    def __init__(self, path: Path | None) -> None:
        self.location = "oxigraph:" + ("" if path is None else str(path))
        self._path = path
        try:
            self._store: ox.Store | None = ox.Store(None if path is None else str(path))
        except OSError as exc:
            raise InvalidInputError(f"{self.location}: cannot open the Oxigraph store: {exc}") from None

    @property
    def store(self) -> ox.Store:
        if self._store is None:
            raise InvalidInputError(f"{self.location}: the knowledge graph is closed")
        return self._store

    def query(self, text: str, bindings: Mapping[str, Term], prefixes: Mapping[str, str]) -> QueryOutcome:
        options: dict[str, Any] = {"prefixes": dict(prefixes), "use_default_graph_as_union": True}
        try:
            try:
                # SEP-0007 substitutions bind values without touching the text, but only
                # for variables the query projects; the rest go in as a VALUES block.
                substitutions = {ox.Variable(name): to_ox(term) for name, term in bindings.items()}
                result = self.store.query(text, substitutions=substitutions, **options)
            except RuntimeError as exc:
                if "projection" not in str(exc):
                    raise
                result = self.store.query(with_values(text, bindings), **options)
            return outcome_from_ox(result)
        except SyntaxError as exc:
            raise query_syntax_error(str(exc)) from None
        except (OSError, ValueError, TypeError, RuntimeError) as exc:
            raise QueryError(f"SPARQL query failed: {exc}") from None

    def update(self, text: str, bindings: Mapping[str, Term], prefixes: Mapping[str, str]) -> None:
        self._run_update(with_values(text, bindings), prefixes)

    def _run_update(self, text: str, prefixes: Mapping[str, str]) -> None:
        if not text:
            return
        try:
            self.store.update(text, prefixes=dict(prefixes))
        except SyntaxError as exc:
            raise query_syntax_error(str(exc), what="SPARQL update") from None
        except (OSError, ValueError) as exc:
            raise QueryError(f"SPARQL update failed: {exc}") from None

    def add(self, quads: Sequence[Quad]) -> None:
        converted = [ox.Quad(to_ox(s), to_ox(p), to_ox(o), to_ox_graph(g)) for s, p, o, g in quads]
        self.store.extend(converted)

    def remove(self, quads: Sequence[Quad]) -> None:
        self._run_update(update_text([Op("remove", quads=tuple(quads))]), {})

    def apply(self, ops: Sequence[Op], prefixes: Mapping[str, str]) -> None:
        self._run_update(update_text(ops), prefixes)

    def load(self, path: Path, fmt: RdfFileFormat, graph: URIRef | None, *, progress: bool) -> None:
        size = path.stat().st_size
        options: dict[str, Any] = {
            "format": fmt.ox_format,
            "base_iri": path.resolve().as_uri(),
            "to_graph": to_ox_graph(graph),
        }
        try:
            if size < BULK_LOAD_BYTES:
                self.store.load(path=str(path), **options)
                return
            _bulk_load(self.store, path, options, progress=progress)
            self.store.flush()
        except SyntaxError as exc:
            raise graph_parse_error(exc, path) from None
        except OSError as exc:
            raise GraphParseError(f"cannot load: {exc}", path=str(path)) from None

    def count(self) -> int:
        return len(self.store)

    def graphs(self) -> list[URIRef]:
        out = []
        for name in self.store.named_graphs():
            if isinstance(name, ox.NamedNode) and next(
                iter(self.store.quads_for_pattern(None, None, None, name)), None
            ):
                out.append(URIRef(name.value))
        return sorted(out)

    def saved_prefixes(self) -> dict[str, str]:
        if self._path is None or not (self._path / _PREFIX_FILE).exists():
            return {}
        try:
            return dict(json.loads((self._path / _PREFIX_FILE).read_text()))
        except (OSError, ValueError):
            return {}

    def save_prefixes(self, prefixes: Mapping[str, str]) -> None:
        if self._path is not None:
            tmp = self._path / (_PREFIX_FILE + ".tmp")
            tmp.write_text(json.dumps(dict(prefixes), indent=1, sort_keys=True))
            tmp.replace(self._path / _PREFIX_FILE)

    def close(self) -> None:
        if self._store is not None:
            self._store.flush()
            self._store = None
