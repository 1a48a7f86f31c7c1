"""rdflib in memory: the default backend, for small graphs and tests.

rdflib's ``Memory`` store has no transactions, so this backend keeps a
journal of the quads each write added or removed and undoes them when a
write fails part-way (a SPARQL update whose third operation fails, a
transaction whose body raises).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import rdflib.plugins.sparql
from pyparsing import ParseBaseException
from rdflib import Dataset, Graph, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.plugins.stores.memory import Memory
from rdflib.query import Result

from mmreason.errors import MmreasonError, QueryError
from mmreason.kg.backends.base import Backend, Op, Quad, QueryOutcome, query_syntax_error
from mmreason.kg.formats import RdfFileFormat, parse_quads
from mmreason.kg.sparql_text import expand_delete_where
from mmreason.kg.terms import Term, to_python

__all__ = ["MemoryBackend"]

# rdflib decides per process whether an update's default graph is the union of all
# graphs; updates here match the stored default graph, as in Oxigraph.
_UPDATE_LOCK = threading.Lock()


@contextmanager
def _quiet() -> Iterator[None]:
    # rdflib's own union-graph code calls its deprecated Dataset.default_context.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Dataset.default_context", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="Dataset.contexts", category=DeprecationWarning)
        yield


class _JournalMemory(Memory):
    """rdflib's Memory store that records the quads a write changed, so that it can be undone."""

    def __init__(self) -> None:
        super().__init__()
        self.journal: list[tuple[str, Any, URIRef]] | None = None

    def add(self, triple: Any, context: Any, quoted: bool = False) -> None:
        if (
            self.journal is not None
            and not quoted
            and next(iter(super().triples(triple, context)), None) is None
        ):
            self.journal.append(("added", triple, context.identifier))
        super().add(triple, context, quoted)

    def remove(self, triple_pattern: Any, context: Any = None) -> None:
        if self.journal is not None:
            wanted = None if context is None else context.identifier
            for triple, contexts in list(super().triples(triple_pattern, context)):
                for ctx in list(contexts):
                    if wanted is None or ctx.identifier == wanted:
                        self.journal.append(("removed", triple, ctx.identifier))
        super().remove(triple_pattern, context)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Undo every change made in the block if it raises."""
        if self.journal is not None:  # nested: the outer block undoes
            yield
            return
        self.journal = []
        try:
            yield
        except BaseException:
            journal, self.journal = self.journal, None
            for kind, triple, ident in reversed(journal):
                context = Graph(store=self, identifier=ident)
                if kind == "added":
                    Memory.remove(self, triple, context)
                else:
                    Memory.add(self, triple, context)
            raise
        finally:
            self.journal = None


def _outcome(result: Result) -> QueryOutcome:
    if result.type == "ASK":
        return QueryOutcome("ask", boolean=bool(result.askAnswer))
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        return QueryOutcome("graph", triples=list(result.graph))
    variables = tuple(str(v) for v in (result.vars or ()))
    rows = [tuple(to_python(value) for value in row) for row in result]
    return QueryOutcome("select", variables=variables, rows=rows)


def _context(graph: URIRef | None) -> URIRef:
    return DATASET_DEFAULT_GRAPH_ID if graph is None else graph


class MemoryBackend(Backend):
    """rdflib ``Dataset`` over a journaled ``Memory`` store."""

    def __init__(self) -> None:
        self.location = "memory"
        self._store = _JournalMemory()
        self._dataset = Dataset(store=self._store, default_union=True)

    def query(self, text: str, bindings: Mapping[str, Term], prefixes: Mapping[str, str]) -> QueryOutcome:
        try:
            with _quiet():
                result = self._dataset.query(text, initNs=dict(prefixes), initBindings=dict(bindings))
                return _outcome(result)
        except ParseBaseException as exc:
            raise query_syntax_error(str(exc)) from None
        except MmreasonError:
            raise
        except Exception as exc:
            raise QueryError(f"SPARQL query failed: {exc}") from None

    def update(self, text: str, bindings: Mapping[str, Term], prefixes: Mapping[str, str]) -> None:
        with self._store.atomic():
            self._update(text, bindings, prefixes)

    def _update(self, text: str, bindings: Mapping[str, Term], prefixes: Mapping[str, str]) -> None:
        with _UPDATE_LOCK:
            union = rdflib.plugins.sparql.SPARQL_DEFAULT_GRAPH_UNION
            rdflib.plugins.sparql.SPARQL_DEFAULT_GRAPH_UNION = False
            try:
                with _quiet():
                    self._dataset.update(
                        expand_delete_where(text), initNs=dict(prefixes), initBindings=dict(bindings)
                    )
            except ParseBaseException as exc:
                raise query_syntax_error(str(exc), what="SPARQL update") from None
            except MmreasonError:
                raise
            except Exception as exc:
                raise QueryError(f"SPARQL update failed: {exc}") from None
            finally:
                rdflib.plugins.sparql.SPARQL_DEFAULT_GRAPH_UNION = union

    def add(self, quads: Sequence[Quad]) -> None:
        with self._store.atomic(), _quiet():
            self._dataset.addN((s, p, o, self._dataset.graph(_context(g))) for s, p, o, g in quads)

    def remove(self, quads: Sequence[Quad]) -> None:
        with self._store.atomic(), _quiet():
            for s, p, o, g in quads:
                self._store.remove((s, p, o), self._dataset.graph(_context(g)))

    def apply(self, ops: Sequence[Op], prefixes: Mapping[str, str]) -> None:
        with self._store.atomic():
            for op in ops:
                if op.kind == "add":
                    self.add(op.quads)
                elif op.kind == "remove":
                    self.remove(op.quads)
                else:
                    self._update(op.text, op.bindings, prefixes)

    def load(self, path: Path, fmt: RdfFileFormat, graph: URIRef | None, *, progress: bool) -> None:
        # Parse aside first (pyoxigraph's parser, the same on every backend): a file
        # that fails half-way adds nothing.
        self.add(parse_quads(path, fmt, graph))

    def count(self) -> int:
        with _quiet():
            return sum(len(g) for g in self._dataset.graphs())

    def graphs(self) -> list[URIRef]:
        with _quiet():
            return self._graphs()

    def _graphs(self) -> list[URIRef]:
        return sorted(
            g.identifier
            for g in self._dataset.graphs()
            if g.identifier != DATASET_DEFAULT_GRAPH_ID and len(g) > 0 and isinstance(g.identifier, URIRef)
        )
