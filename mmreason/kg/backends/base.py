"""What every backend offers the :class:`~mmreason.kg.KnowledgeGraph` facade.

Backends take and return rdflib terms (query rows already hold Python values,
see :mod:`mmreason.kg.terms`) and raise only :class:`~mmreason.errors.MmreasonError`
subclasses. Their semantics are the facade's: the default graph of a query is
the union of all graphs; an update's ``WHERE`` matches the stored default
graph unless it names a graph; a batch of writes is all or nothing.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rdflib import URIRef

from mmreason.errors import QueryError
from mmreason.kg.formats import Quad, RdfFileFormat
from mmreason.kg.terms import Term

__all__ = ["Backend", "Op", "Quad", "QueryOutcome", "query_syntax_error"]


@dataclass(frozen=True, slots=True)
class QueryOutcome:
    """What a query returned: rows for SELECT, a boolean for ASK, triples for CONSTRUCT/DESCRIBE."""

    kind: Literal["select", "ask", "graph"]
    variables: tuple[str, ...] = ()
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[tuple[Term, Term, Term]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Op:
    """One buffered write of a transaction."""

    kind: Literal["add", "remove", "update"]
    quads: tuple[Quad, ...] = ()
    text: str = ""
    bindings: Mapping[str, Term] = field(default_factory=dict)


_POSITION = re.compile(r"(?:error at |line:?\s*)(\d+)[:,]\s*(?:col:?\s*|column\s*)?(\d+)")


def query_syntax_error(message: str, *, what: str = "SPARQL") -> QueryError:
    """A :class:`QueryError` that states the line and column the parser reported."""
    match = _POSITION.search(message)
    if match:
        return QueryError(
            f"{what} syntax error at line {match.group(1)}, column {match.group(2)}: {message.strip()}"
        )
    return QueryError(f"{what} error: {message.strip()}")


class Backend(abc.ABC):
    """A store behind the facade."""

    location: str

    @abc.abstractmethod
    def query(self, text: str, bindings: Mapping[str, Term], prefixes: Mapping[str, str]) -> QueryOutcome:
        """Run a SPARQL query with bound values over the union of all graphs."""

    @abc.abstractmethod
    def update(self, text: str, bindings: Mapping[str, Term], prefixes: Mapping[str, str]) -> None:
        """Run a SPARQL update atomically."""

    @abc.abstractmethod
    def add(self, quads: Sequence[Quad]) -> None:
        """Add quads atomically."""

    @abc.abstractmethod
    def remove(self, quads: Sequence[Quad]) -> None:
        """Remove quads (exact matches) atomically."""

    @abc.abstractmethod
    def apply(self, ops: Sequence[Op], prefixes: Mapping[str, str]) -> None:
        """Apply a transaction's writes, all or nothing."""

    @abc.abstractmethod
    def load(self, path: Path, fmt: RdfFileFormat, graph: URIRef | None, *, progress: bool) -> None:
        """Load a file, all or nothing: its triples into ``graph``, its quads into their graphs."""

    @abc.abstractmethod
    def count(self) -> int:
        """The number of quads in the store (a triple in two graphs counts twice)."""

    @abc.abstractmethod
    def graphs(self) -> list[URIRef]:
        """The named graphs that hold at least one triple, sorted."""

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release the store."""
