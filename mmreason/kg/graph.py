"""The :class:`KnowledgeGraph` facade: one API over three stores.

``KnowledgeGraph.open()`` picks a backend from a location string:

==========================  ===================================================
``None`` / ``"memory"``     rdflib in memory (the default)
``"oxigraph:/dir"``         a persistent Oxigraph store in ``/dir`` (``"oxigraph:"``: in memory)
``"sparql:URL"``            a SPARQL 1.1 endpoint; a server root means its ``/query`` and ``/update``
==========================  ===================================================

Every backend answers the same way: the default graph of a query is the union
of all graphs; values are bound, never formatted into query text; rows are
dicts of variable → Python value or rdflib term; a transaction is all or
nothing. Facts go to named graphs by kind (:data:`~mmreason.kg.vocab.MR_GRAPHS`):
files and :meth:`KnowledgeGraph.add` write to the ``asserted`` graph unless told
otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rdflib import BNode, URIRef

from mmreason.errors import GraphParseError, InvalidInputError, MissingFileError, QueryError
from mmreason.kg.backends.base import Backend, Op, Quad, QueryOutcome
from mmreason.kg.formats import parse_quads, rdf_format, read_prefixes
from mmreason.kg.terms import Term, as_term, bindings_to_terms, check_iri
from mmreason.kg.vocab import MR_GRAPHS, STANDARD_PREFIXES

if TYPE_CHECKING:
    from mmreason.kg.pyg import KGIndex

__all__ = ["SCHEMES", "GraphLike", "KnowledgeGraph"]

#: The location schemes :meth:`KnowledgeGraph.open` understands.
SCHEMES = ("memory", "oxigraph:DIR", "sparql:URL")

#: A named graph: a kind from ``MR_GRAPHS`` ("asserted", "image", "predicted"), an IRI,
#: or ``None`` for the default graph.
GraphLike = str | URIRef | None

_PREFIX_NAME = re.compile(r"^[A-Za-z][\w\-.]*$|^$")
_CURIE = re.compile(r"^([A-Za-z][\w\-.]*)?:([^\s:/][^\s]*)?$")


def _graph_iri(graph: GraphLike) -> URIRef | None:
    if graph is None:
        return None
    if isinstance(graph, URIRef):
        check_iri(str(graph), what="graph")
        return graph
    if isinstance(graph, str) and graph in MR_GRAPHS:
        return MR_GRAPHS[graph]
    raise InvalidInputError(
        f"graph={graph!r}: expected one of {', '.join(map(repr, MR_GRAPHS))}, a URIRef, or None"
    )


class KnowledgeGraph:
    """An RDF knowledge graph on rdflib memory, an Oxigraph store or a SPARQL endpoint.

    Open one with :meth:`open`; close it with :meth:`close` or a ``with`` block.

    >>> from rdflib import RDF, Namespace
    >>> EX = Namespace("http://example.org/city#")
    >>> with KnowledgeGraph.open() as kg:
    ...     kg.bind("ex", EX)
    ...     kg.add([(EX.car1, RDF.type, EX.Car), (EX.car1, EX.colour, EX.red)])
    ...     rows = kg.query("SELECT ?x WHERE { ?x ex:colour ?c }", c=EX.red)
    ...     [row["x"] for row in rows], len(kg)
    ([rdflib.term.URIRef('http://example.org/city#car1')], 2)
    """

    def __init__(self, backend: Backend) -> None:
        self._backend: Backend | None = backend
        self._prefixes: dict[str, str] = dict(getattr(backend, "saved_prefixes", dict)())
        self._ops: list[Op] | None = None

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        location: str | Path | None = None,
        *,
        update_url: str | None = None,
        timeout: float = 30.0,
    ) -> KnowledgeGraph:
        """Open a knowledge graph.

        Args:
            location: ``None`` or ``"memory"`` (rdflib in memory), ``"oxigraph:/dir"``
                (a persistent Oxigraph store, created if missing; ``"oxigraph:"`` keeps it
                in memory) or ``"sparql:URL"`` (a SPARQL 1.1 endpoint; a server root such as
                ``http://127.0.0.1:7878`` means its ``/query`` and ``/update``).
            update_url: for ``sparql:``, where updates go (default: the query URL, or
                ``/update`` of a server root).
            timeout: for ``sparql:``, seconds to wait for the endpoint.

        Raises:
            InvalidInputError: an unknown scheme (the message lists the schemes), or a
                store that cannot be opened.

        >>> KnowledgeGraph.open("memory").location
        'memory'
        """
        text = "memory" if location is None else str(location)
        scheme, sep, rest = text.partition(":")
        if text in ("memory", "memory:"):
            from mmreason.kg.backends.memory import MemoryBackend

            backend: Backend = MemoryBackend()
        elif sep and scheme == "oxigraph":
            from mmreason.kg.backends.oxigraph import OxigraphBackend

            backend = OxigraphBackend(Path(rest).expanduser() if rest else None)
        elif sep and scheme == "sparql":
            from mmreason.kg.backends.remote import RemoteBackend

            if timeout <= 0:
                raise InvalidInputError(f"timeout={timeout!r}: expected a positive number of seconds")
            backend = RemoteBackend(rest, update_url=update_url, timeout=timeout)
        else:
            raise InvalidInputError(
                f"location={text!r}: unknown scheme; use one of: {', '.join(SCHEMES)} "
                "(for example 'oxigraph:/data/kg' or 'sparql:http://127.0.0.1:7878')"
            )
        if update_url is not None and scheme != "sparql":
            raise InvalidInputError(f"update_url= applies only to 'sparql:' locations, not {text!r}")
        return cls(backend)

    @property
    def location(self) -> str:
        """Where the graph lives: ``"memory"``, ``"oxigraph:/dir"`` or ``"sparql:URL"``."""
        return self._live.location

    @property
    def _live(self) -> Backend:
        if self._backend is None:
            raise InvalidInputError("the knowledge graph is closed")
        return self._backend

    def close(self) -> None:
        """Flush and release the store; the object cannot be used afterwards."""
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    def __enter__(self) -> KnowledgeGraph:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "closed" if self._backend is None else self._backend.location
        return f"KnowledgeGraph({where!r})"

    # ----------------------------------------------------------------- prefixes

    @property
    def prefixes(self) -> dict[str, str]:
        """The prefixes every query may use: those of loaded files, then ``mr rdf rdfs xsd owl``."""
        return {**self._prefixes, **STANDARD_PREFIXES}

    def bind(self, prefix: str, namespace: str | URIRef) -> None:
        """Make ``prefix:`` usable in every later query."""
        if not _PREFIX_NAME.match(prefix):
            raise InvalidInputError(f"prefix={prefix!r} is not a SPARQL prefix name")
        if prefix in STANDARD_PREFIXES and STANDARD_PREFIXES[prefix] != str(namespace):
            raise InvalidInputError(f"prefix={prefix!r} is reserved for <{STANDARD_PREFIXES[prefix]}>")
        self._prefixes[prefix] = check_iri(str(namespace), what="namespace")
        self._save_prefixes()

    def _save_prefixes(self) -> None:
        save = getattr(self._live, "save_prefixes", None)
        if save is not None:
            save(self._prefixes)

    def expand(self, name: str | URIRef) -> URIRef:
        """An IRI from a URIRef or a prefixed name such as ``"rdfs:Class"``.

        >>> KnowledgeGraph.open().expand("rdfs:Class")
        rdflib.term.URIRef('http://www.w3.org/2000/01/rdf-schema#Class')
        """
        if isinstance(name, URIRef):
            return URIRef(check_iri(str(name)))
        match = _CURIE.match(name)
        prefixes = self.prefixes
        if not match or (match.group(1) or "") not in prefixes:
            raise InvalidInputError(
                f"{name!r} is not a prefixed name with a known prefix "
                f"(known: {', '.join(sorted(prefixes))}); pass a URIRef for a full IRI"
            )
        return URIRef(check_iri(prefixes[match.group(1) or ""] + (match.group(2) or "")))

    # ------------------------------------------------------------------ reading

    def load(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        graph: GraphLike = "asserted",
        progress: bool = True,
    ) -> None:
        """Load an RDF file: Turtle, N-Triples, N-Quads, TriG, JSON-LD, RDF/XML or N3.

        The format comes from ``format=`` or the file extension. Triples go to
        ``graph`` (default: the ``asserted`` graph); the quads of N-Quads and TriG
        files keep their own graphs. The file's prefixes become usable in queries.
        On Oxigraph, big files go through the bulk loader with a progress bar.

        Raises:
            MissingFileError: no such file.
            GraphParseError: the file does not parse; the message names the file and line.
        """
        path = Path(path)
        if path.is_dir():
            raise InvalidInputError(f"{path}: is a folder; give an RDF file")
        fmt = rdf_format(path, format=format)
        if not path.is_file():
            raise MissingFileError(path, what="RDF file")
        target = _graph_iri(graph)
        try:
            if self._ops is not None:
                self._ops.append(Op("add", quads=tuple(parse_quads(path, fmt, target))))
            else:
                self._live.load(path, fmt, target, progress=progress)
        except MemoryError as exc:
            # pyoxigraph refuses a single token (an IRI, a literal) over its 16 MiB buffer.
            raise GraphParseError(
                f"a term longer than the parser's limit ({exc}); see docs/limits.md", path=str(path)
            ) from None
        declared = read_prefixes(path, fmt)
        if declared:
            self._prefixes.update({p: ns for p, ns in declared.items() if p not in STANDARD_PREFIXES})
            self._save_prefixes()

    def _run(self, sparql: str, bindings: dict[str, Any]) -> QueryOutcome:
        if not isinstance(sparql, str):
            raise InvalidInputError(f"sparql: expected a string, got {type(sparql).__name__}")
        return self._live.query(sparql, bindings_to_terms(bindings), self.prefixes)

    def query(self, sparql: str, /, **bindings: Any) -> list[dict[str, Any]]:
        """Run a SELECT query; each keyword binds the variable of that name.

        Bound values are RDF terms (``URIRef``, ``Literal``) or Python values (a
        ``str`` is a string literal); they are bound by the store, never formatted
        into the query text.

        Returns:
            One dict per solution, variable → Python value (for literals of XSD types),
            rdflib term (IRIs, blank nodes, other literals) or ``None`` (unbound).

        Raises:
            QueryError: the query does not parse (the message gives line and column) or fails.
        """
        outcome = self._run(sparql, bindings)
        if outcome.kind != "select":
            raise QueryError(
                f"query() runs SELECT queries; use {'ask' if outcome.kind == 'ask' else 'construct'}()"
            )
        names = outcome.variables
        return [dict(zip(names, row, strict=True)) for row in outcome.rows]

    def ask(self, sparql: str, /, **bindings: Any) -> bool:
        """Run an ASK query with bound values."""
        outcome = self._run(sparql, bindings)
        if outcome.kind != "ask":
            raise QueryError("ask() runs ASK queries")
        return bool(outcome.boolean)

    def construct(self, sparql: str, /, **bindings: Any) -> list[tuple[Term, Term, Term]]:
        """Run a CONSTRUCT or DESCRIBE query with bound values; the triples as rdflib terms."""
        outcome = self._run(sparql, bindings)
        if outcome.kind != "graph":
            raise QueryError("construct() runs CONSTRUCT and DESCRIBE queries")
        return outcome.triples

    def instances_of(self, cls: str | URIRef) -> list[URIRef]:
        """The IRIs typed ``cls`` or any of its subclasses (``rdf:type/rdfs:subClassOf*``), sorted.

        >>> from rdflib import RDF, RDFS, Namespace
        >>> EX = Namespace("http://example.org/city#")
        >>> kg = KnowledgeGraph.open()
        >>> kg.add([(EX.Car, RDFS.subClassOf, EX.Vehicle), (EX.car1, RDF.type, EX.Car)])
        >>> kg.instances_of(EX.Vehicle)
        [rdflib.term.URIRef('http://example.org/city#car1')]
        """
        rows = self.query(
            "SELECT DISTINCT ?x WHERE { ?x rdf:type/rdfs:subClassOf* ?cls }", cls=self.expand(cls)
        )
        return sorted(row["x"] for row in rows if isinstance(row["x"], URIRef))

    def __len__(self) -> int:
        """The number of quads (a triple stored in two graphs counts twice)."""
        return self._live.count()

    def graphs(self) -> list[URIRef]:
        """The named graphs that hold at least one triple, sorted."""
        return self._live.graphs()

    def labels(self) -> dict[URIRef, str]:
        """The ``rdfs:label`` of every IRI that has one (the smallest, when there are several)."""
        out: dict[URIRef, str] = {}
        for row in self.query("SELECT ?x ?label WHERE { ?x rdfs:label ?label FILTER(isIRI(?x)) }"):
            label = str(row["label"])
            if row["x"] not in out or label < out[row["x"]]:
                out[row["x"]] = label
        return out

    # ------------------------------------------------------------------ writing

    def _quads(self, triples: Iterable[tuple[Any, Any, Any]], graph: GraphLike) -> tuple[Quad, ...]:
        target = _graph_iri(graph)
        quads = []
        for i, triple in enumerate(triples):
            if len(triple) != 3:
                raise InvalidInputError(
                    f"triples[{i}]: expected (subject, predicate, object), got {triple!r}"
                )
            s, p, o = triple
            if not isinstance(s, URIRef | BNode):
                raise InvalidInputError(f"triples[{i}]: subject {s!r} must be a URIRef or BNode")
            if not isinstance(p, URIRef):
                raise InvalidInputError(f"triples[{i}]: predicate {p!r} must be a URIRef")
            quads.append(
                (as_term(s, name="subject"), as_term(p, name="predicate"), as_term(o, name="object"), target)
            )
        return tuple(quads)

    def add(self, triples: Iterable[tuple[Any, Any, Any]], *, graph: GraphLike = "asserted") -> None:
        """Add triples (objects may be Python values: they become typed literals) to ``graph``."""
        quads = self._quads(triples, graph)
        if self._ops is not None:
            self._ops.append(Op("add", quads=quads))
        elif quads:
            self._live.add(quads)

    def remove(self, triples: Iterable[tuple[Any, Any, Any]], *, graph: GraphLike = "asserted") -> None:
        """Remove these exact triples from ``graph``."""
        quads = self._quads(triples, graph)
        if self._ops is not None:
            self._ops.append(Op("remove", quads=quads))
        elif quads:
            self._live.remove(quads)

    def update(self, sparql: str, /, **bindings: Any) -> None:
        """Run a SPARQL update, all or nothing; keywords bind variables of its ``WHERE`` clause.

        ``INSERT DATA`` without ``GRAPH`` writes to the default graph, and an update's
        ``WHERE`` matches the default graph as stored: name a graph (``GRAPH ?g``) to
        reach the named graphs.
        """
        if not isinstance(sparql, str):
            raise InvalidInputError(f"sparql: expected a string, got {type(sparql).__name__}")
        terms = bindings_to_terms(bindings)
        if self._ops is not None:
            self._ops.append(Op("update", text=sparql, bindings=terms))
        else:
            self._live.update(sparql, terms, self.prefixes)

    @contextmanager
    def transaction(self) -> Iterator[KnowledgeGraph]:
        """Group writes so that all of them or none are applied.

        Writes inside the block (:meth:`add`, :meth:`remove`, :meth:`update`,
        :meth:`load`) are collected and applied together when the block ends; an
        exception in the block, or a write that fails, applies none of them.
        Queries inside the block see the graph as it was before it.

        >>> from rdflib import RDF, Namespace
        >>> EX = Namespace("http://example.org/city#")
        >>> kg = KnowledgeGraph.open()
        >>> try:
        ...     with kg.transaction():
        ...         kg.add([(EX.car1, RDF.type, EX.Car)])
        ...         raise RuntimeError("abort")
        ... except RuntimeError:
        ...     pass
        >>> len(kg)
        0
        """
        if self._ops is not None:  # nested: part of the outer transaction
            yield self
            return
        self._ops = []
        try:
            yield self
            ops, self._ops = self._ops, None
            if ops:
                self._live.apply(ops, self.prefixes)
        finally:
            self._ops = None

    # ------------------------------------------------------------------- tensors

    def to_pyg(self, *, graphs: Iterable[GraphLike] | None = None) -> tuple[Any, KGIndex]:
        """The graph as a PyG ``Data`` of IRI → IRI edges, with stable id maps.

        See :func:`mmreason.kg.pyg.to_pyg`.
        """
        from mmreason.kg.pyg import to_pyg

        return to_pyg(self, graphs=None if graphs is None else [_graph_iri(g) for g in graphs])
