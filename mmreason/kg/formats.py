"""RDF file formats: choosing one from a file name or ``format=``, and parse errors with a line.

>>> rdf_format("graphs/crossing.ttl").name
'turtle'
>>> rdf_format("facts.data", format="nq").name
'nquads'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import URIRef

from mmreason.errors import GraphParseError, InvalidInputError
from mmreason.kg.terms import Term, from_ox

#: A triple and its graph; ``None`` is the default graph.
Quad = tuple[Term, Term, Term, URIRef | None]

__all__ = ["Quad", "RdfFileFormat", "graph_parse_error", "parse_quads", "rdf_format", "read_prefixes"]


@dataclass(frozen=True, slots=True)
class RdfFileFormat:
    """One RDF syntax, named the way rdflib and pyoxigraph name it."""

    name: str  # rdflib's parser name
    ox_format: ox.RdfFormat
    quads: bool  # can hold named graphs


_FORMATS = {
    "turtle": RdfFileFormat("turtle", ox.RdfFormat.TURTLE, False),
    "nt": RdfFileFormat("nt", ox.RdfFormat.N_TRIPLES, False),
    "nquads": RdfFileFormat("nquads", ox.RdfFormat.N_QUADS, True),
    "trig": RdfFileFormat("trig", ox.RdfFormat.TRIG, True),
    "json-ld": RdfFileFormat("json-ld", ox.RdfFormat.JSON_LD, True),
    "xml": RdfFileFormat("xml", ox.RdfFormat.RDF_XML, False),
    "n3": RdfFileFormat("n3", ox.RdfFormat.N3, False),
}
_ALIASES = {
    "ttl": "turtle",
    "turtle": "turtle",
    "nt": "nt",
    "ntriples": "nt",
    "n-triples": "nt",
    "nq": "nquads",
    "nquads": "nquads",
    "n-quads": "nquads",
    "trig": "trig",
    "jsonld": "json-ld",
    "json-ld": "json-ld",
    "json": "json-ld",
    "rdf": "xml",
    "xml": "xml",
    "owl": "xml",
    "rdfxml": "xml",
    "rdf/xml": "xml",
    "n3": "n3",
}


def rdf_format(path: str | Path, *, format: str | None = None) -> RdfFileFormat:
    """The format named by ``format``, else the one the file extension names.

    Raises:
        InvalidInputError: the format or extension is not an RDF syntax mmreason reads.
    """
    if format is not None:
        key = _ALIASES.get(format.lower())
        if key is None:
            raise InvalidInputError(
                f"format={format!r} is not a known RDF format; choose one of: {', '.join(sorted(_ALIASES))}"
            )
        return _FORMATS[key]
    suffix = Path(path).suffix.lower().lstrip(".")
    key = _ALIASES.get(suffix)
    if key is None:
        raise InvalidInputError(
            f"{path}: cannot tell the RDF format from the extension {Path(path).suffix!r}; "
            f"pass format= (one of: {', '.join(sorted(_ALIASES))})"
        )
    return _FORMATS[key]


def graph_parse_error(exc: BaseException, path: str | Path) -> GraphParseError:
    """A :class:`GraphParseError` naming the file and line of a pyoxigraph ``SyntaxError``."""
    line = getattr(exc, "lineno", None)
    message = str(exc.args[0]) if exc.args else str(exc)
    return GraphParseError(message, path=str(path), line=line)


def parse_quads(path: str | Path, fmt: RdfFileFormat, graph: URIRef | None) -> list[Quad]:
    """Every quad of a file as rdflib terms; triples outside a named graph go to ``graph``.

    Raises:
        GraphParseError: the file does not parse; names the file and line.
    """
    quads: list[Quad] = []
    try:
        for quad in ox.parse(path=str(path), format=fmt.ox_format, base_iri=Path(path).resolve().as_uri()):
            name = quad.graph_name
            target = graph if isinstance(name, ox.DefaultGraph) else from_ox(name)
            quads.append((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object), target))
    except SyntaxError as exc:
        raise graph_parse_error(exc, path) from None
    except OSError as exc:
        raise GraphParseError(f"cannot read: {exc}", path=str(path)) from None
    return quads


_PREFIX_LINE = re.compile(
    rb"""^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w\-.]*)?:\s*<([^<>"{}|^`\\\x00-\x20]*)>""", re.IGNORECASE
)


def read_prefixes(path: str | Path, fmt: RdfFileFormat, *, head_bytes: int = 1 << 16) -> dict[str, str]:
    """The prefixes a Turtle, TriG or N3 file declares in its first ``head_bytes`` bytes.

    Reading only the head keeps this cheap on big files; prefixes are
    conventionally declared at the top.
    """
    if fmt.name not in ("turtle", "trig", "n3"):
        return {}
    with open(path, "rb") as fh:
        head = fh.read(head_bytes)
    out: dict[str, str] = {}
    for line in head.splitlines():
        match = _PREFIX_LINE.match(line)
        if match:
            out[(match.group(1) or b"").decode()] = match.group(2).decode()
    return out
