"""RDF terms across rdflib, pyoxigraph and SPARQL text.

Query rows hold the same values on every backend: an IRI is a
:class:`rdflib.URIRef`, a blank node a :class:`rdflib.BNode`, a literal of a
known XSD type its Python value (``int``, ``float``, ``Decimal``, ``bool``,
``str``, ``datetime.date`` ...), any other literal (language-tagged, custom
datatype, ill-typed) the :class:`rdflib.Literal` itself.

Values bound into a query never become query text by concatenation of user
strings: :func:`sparql_term` writes a term the way rdflib serialises it
(``Literal.n3()`` escapes quotes, backslashes and line breaks) after checking
that an IRI holds no character that could end it.

>>> sparql_term(Literal('x" } ; DROP ALL ; #'))
'"x\\\\" } ; DROP ALL ; #"'
>>> to_python(Literal("3", datatype=XSD.integer))
3
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import pyoxigraph as ox
from rdflib import XSD, BNode, Literal, URIRef
from rdflib.term import Identifier, Node

from mmreason.errors import InvalidInputError

__all__ = [
    "Term",
    "as_term",
    "from_ox",
    "ox_python",
    "sparql_term",
    "to_ox",
    "to_python",
]

Term = URIRef | BNode | Literal

# IRIREF of the SPARQL grammar: no <>"{}|^`\ and no character in #x00-#x20.
_BAD_IRI = re.compile(r'[<>"{}|^`\\\x00-\x20]')
_BNODE_LABEL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")

_XSD = str(XSD)
_STRING = _XSD + "string"
_INTEGER_TYPES = frozenset(
    _XSD + name
    for name in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "nonPositiveInteger",
        "positiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
)
_FLOAT_TYPES = frozenset((_XSD + "double", _XSD + "float"))
_DECIMAL = _XSD + "decimal"
_BOOLEAN = _XSD + "boolean"


def check_iri(iri: str, *, what: str = "IRI") -> str:
    """Return ``iri`` if SPARQL and N-Triples can hold it between ``<`` and ``>``.

    >>> check_iri("http://example.org/a")
    'http://example.org/a'
    """
    bad = _BAD_IRI.search(iri)
    if bad:
        raise InvalidInputError(
            f"{what} {iri!r} holds the character {bad.group()!r}, which no IRI may contain"
        )
    return iri


def as_term(value: object, *, name: str = "value") -> Term:
    """An rdflib term for a Python value: terms pass through, others become typed literals.

    A ``str`` becomes a string literal; pass a :class:`rdflib.URIRef` for an IRI.

    >>> as_term(2.5)
    rdflib.term.Literal('2.5', datatype=rdflib.term.URIRef('http://www.w3.org/2001/XMLSchema#double'))
    """
    if isinstance(value, URIRef):
        check_iri(str(value), what=name)
        return value
    if isinstance(value, BNode | Literal):
        if isinstance(value, Literal) and value.datatype is not None:
            check_iri(str(value.datatype), what=f"datatype of {name}")
        return value
    if isinstance(value, Node):
        raise InvalidInputError(f"{name}: {type(value).__name__} is not an RDF term that can be bound")
    if value is None:
        raise InvalidInputError(f"{name} is None; bind an RDF term or a Python value")
    return Literal(value)


def sparql_term(term: Term, *, name: str = "value") -> str:
    """The term as SPARQL text, safe to place in a query: IRIs checked, literals escaped by rdflib.

    Raises:
        InvalidInputError: an IRI with a character that could end it, or a blank node
            (a blank node in query text is a fresh variable, not the stored node).
    """
    if isinstance(term, URIRef):
        return "<" + check_iri(str(term), what=name) + ">"
    if isinstance(term, Literal):
        if term.datatype is not None:
            check_iri(str(term.datatype), what=f"datatype of {name}")
        # Literal.n3() escapes backslash, double quote, CR and LF and validates the language tag.
        return term.n3()
    if isinstance(term, BNode):
        raise InvalidInputError(
            f"{name}: a blank node cannot be sent as SPARQL text (it would match any node); "
            "bind an IRI or a literal"
        )
    raise InvalidInputError(f"{name}: {type(term).__name__} is not an RDF term")


def data_term(term: Term, *, name: str = "value") -> str:
    """The term as N-Triples / ``INSERT DATA`` text; blank nodes keep their label."""
    if isinstance(term, BNode):
        label = str(term)
        if not _BNODE_LABEL.match(label):
            raise InvalidInputError(f"{name}: blank node label {label!r} is not valid in N-Triples")
        return "_:" + label
    return sparql_term(term, name=name)


def to_ox(term: Term) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """The pyoxigraph term for an rdflib term."""
    if isinstance(term, URIRef):
        try:
            return ox.NamedNode(str(term))
        except ValueError as exc:
            raise InvalidInputError(f"invalid IRI {str(term)!r}: {exc}") from None
    if isinstance(term, BNode):
        return ox.BlankNode(str(term)) if _BNODE_LABEL.match(str(term)) else ox.BlankNode()
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise InvalidInputError(f"{type(term).__name__} is not an RDF term")


def to_ox_graph(graph: URIRef | None) -> ox.NamedNode | ox.DefaultGraph:
    """The pyoxigraph graph name; ``None`` is the default graph."""
    return ox.DefaultGraph() if graph is None else to_ox(graph)


def from_ox(term: Any) -> Term | None:
    """The rdflib term for a pyoxigraph term (``None`` stays ``None``)."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        return Literal(term.value, datatype=None if datatype == _STRING else URIRef(datatype))
    if isinstance(term, ox.DefaultGraph):
        return None
    raise InvalidInputError(f"unsupported RDF term from the store: {term!r}")


def to_python(term: Identifier | None) -> Any:
    """The value a query row holds for an rdflib term (see the module docstring)."""
    if term is None or not isinstance(term, Literal):
        return term
    if term.language:
        return term
    if term.datatype is None or str(term.datatype) == _STRING:
        return str(term)
    value = term.toPython()
    return value


def ox_python(term: Any) -> Any:
    """:func:`to_python` of a pyoxigraph term, without building an rdflib term for common literals."""
    if isinstance(term, ox.Literal) and not term.language:
        datatype = term.datatype.value
        if datatype == _STRING:
            return term.value
        try:
            if datatype in _INTEGER_TYPES:
                return _int_value(term.value, datatype)
            if datatype in _FLOAT_TYPES:
                return float(term.value)
            if datatype == _DECIMAL:
                return Decimal(term.value)
        except (ValueError, InvalidOperation):
            pass
        if datatype == _BOOLEAN and term.value in ("true", "false", "1", "0"):
            return term.value in ("true", "1")
    if isinstance(term, ox.NamedNode):
        return _store_iri(term.value)
    return to_python(from_ox(term))


@functools.lru_cache(maxsize=1 << 16)
def _store_iri(iri: str) -> URIRef:
    # The store has already checked the IRI; skip rdflib's check, and share repeated ones.
    return str.__new__(URIRef, iri)


def _int_value(lexical: str, datatype: str) -> int:
    # rdflib accepts the lexical forms Python's int() accepts; ours must agree.
    if "_" in lexical:
        raise ValueError(lexical)
    return int(lexical)


def bindings_to_terms(bindings: Mapping[str, object]) -> dict[str, Term]:
    """Check variable names and turn each bound value into an rdflib term."""
    out: dict[str, Term] = {}
    for name, value in bindings.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise InvalidInputError(f"binding name {name!r} is not a SPARQL variable name")
        out[name] = as_term(value, name=f"binding {name!r}")
    return out
