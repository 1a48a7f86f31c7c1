"""Triples as strings and as id tensors, and the id maps between them.

A link predictor sees entities and relations as rows of tensors; the
:class:`IdMaps` say which string each row is. Ids are assigned in sorted
order of the names, so the same set of triples always gives the same maps,
and the maps' fingerprint identifies the graph a checkpoint was trained on.

>>> maps = IdMaps.from_triples([("a", "likes", "b"), ("b", "likes", "c")])
>>> maps.entities, maps.relations
(('a', 'b', 'c'), ('likes',))
>>> maps.encode([("c", "likes", "a")]).tolist()
[[2, 0, 0]]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mmreason.errors import InvalidInputError, MissingFileError, UnknownEntityError

__all__ = ["IdMaps", "Triple", "as_string_triples", "open_graph", "read_triples_table"]

Triple = tuple[str, str, str]


def as_string_triples(triples: Any, *, argument: str = "triples") -> list[Triple]:
    """Check and normalise ``triples`` (an iterable of (head, relation, tail)) to string tuples.

    RDF terms become their string form (an IRI stays the IRI). A
    :class:`~mmreason.kg.KnowledgeGraph` gives the triples of its
    ``to_pyg()`` export.

    Raises:
        InvalidInputError: an item that is not three non-empty names; the message
            names ``argument`` and the item's position.

    >>> as_string_triples([["a", "r", "b"]])
    [('a', 'r', 'b')]
    """
    if hasattr(triples, "to_pyg"):
        return _triples_of_kg(triples)
    if isinstance(triples, (str, bytes)) or not isinstance(triples, Iterable):
        raise InvalidInputError(
            f"{argument} must be a KnowledgeGraph or a list of (head, relation, tail) names, "
            f"found {type(triples).__name__}"
        )
    out: list[Triple] = []
    for i, item in enumerate(triples):
        if not isinstance(item, (tuple, list)) and (
            isinstance(item, (str, bytes)) or not isinstance(item, Sequence)
        ):
            raise InvalidInputError(f"{argument}[{i}] is {item!r}, expected a (head, relation, tail) triple")
        if len(item) != 3:
            raise InvalidInputError(f"{argument}[{i}] is {item!r}, expected a (head, relation, tail) triple")
        names = tuple(str(x) for x in item)
        if any(not n for n in names) or any(x is None for x in item):
            raise InvalidInputError(f"{argument}[{i}] is {item!r}: head, relation and tail must be non-empty")
        out.append(names)  # type: ignore[arg-type]
    return out


def _triples_of_kg(kg: Any) -> list[Triple]:
    # Every graph but the predicted one: a model never trains on its own (or another's) guesses.
    from mmreason.kg.vocab import PREDICTED_GRAPH

    graphs = [g for g in kg.graphs() if g != PREDICTED_GRAPH] + [None]
    data, index = kg.to_pyg(graphs=graphs)
    return [(str(h), str(r), str(t)) for h, r, t in index.triples(data.edge_index, data.edge_type)]


@dataclass(frozen=True)
class IdMaps:
    """Entity and relation names by id (row of the embedding tables).

    Attributes:
        entities: entity names; the id of a name is its position.
        relations: relation names, likewise.
    """

    entities: tuple[str, ...]
    relations: tuple[str, ...]
    _entity_id: dict[str, int] = field(init=False, repr=False, compare=False)
    _relation_id: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_entity_id", {name: i for i, name in enumerate(self.entities)})
        object.__setattr__(self, "_relation_id", {name: i for i, name in enumerate(self.relations)})

    @classmethod
    def from_triples(cls, *groups: Iterable[Triple]) -> IdMaps:
        """Maps over every name in the given triple lists, ids in sorted name order."""
        entities: set[str] = set()
        relations: set[str] = set()
        for group in groups:
            for h, r, t in group:
                entities.update((h, t))
                relations.add(r)
        return cls(tuple(sorted(entities)), tuple(sorted(relations)))

    @property
    def num_entities(self) -> int:
        return len(self.entities)

    @property
    def num_relations(self) -> int:
        return len(self.relations)

    def entity_id(self, name: str) -> int:
        """The id of an entity; :class:`~mmreason.UnknownEntityError` when it was not seen."""
        try:
            return self._entity_id[str(name)]
        except KeyError:
            raise UnknownEntityError("entity", str(name), self.entities) from None

    def relation_id(self, name: str) -> int:
        """The id of a relation; :class:`~mmreason.UnknownEntityError` when it was not seen."""
        try:
            return self._relation_id[str(name)]
        except KeyError:
            raise UnknownEntityError("relation", str(name), self.relations) from None

    def encode(self, triples: Iterable[Triple]) -> Tensor:
        """String triples as a ``[M, 3]`` long tensor of (head, relation, tail) ids."""
        rows = [(self.entity_id(h), self.relation_id(r), self.entity_id(t)) for h, r, t in triples]
        if not rows:
            return torch.empty(0, 3, dtype=torch.long)
        return torch.tensor(rows, dtype=torch.long)

    def decode(self, ids: Tensor) -> list[Triple]:
        """A ``[M, 3]`` id tensor back to string triples."""
        return [(self.entities[h], self.relations[r], self.entities[t]) for h, r, t in ids.tolist()]

    def to_json(self) -> dict[str, Any]:
        return {"entities": list(self.entities), "relations": list(self.relations)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IdMaps:
        return cls(tuple(data["entities"]), tuple(data["relations"]))

    def fingerprint(self) -> str:
        """A short hash of both maps; equal maps give equal fingerprints."""
        text = json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def differences(self, other: IdMaps, *, limit: int = 3) -> str:
        """A short description of how two maps differ (empty when equal)."""
        parts = []
        for kind, mine, theirs in (
            ("entities", self.entities, other.entities),
            ("relations", self.relations, other.relations),
        ):
            if mine == theirs:
                continue
            only_mine = sorted(set(mine) - set(theirs))[:limit]
            only_theirs = sorted(set(theirs) - set(mine))[:limit]
            detail = f"{kind}: {len(mine)} vs {len(theirs)}"
            if only_mine:
                detail += f"; only in the checkpoint: {', '.join(map(repr, only_mine))}"
            if only_theirs:
                detail += f"; only in the graph: {', '.join(map(repr, only_theirs))}"
            if not only_mine and not only_theirs:
                detail += "; same names in another order"
            parts.append(detail)
        return "; ".join(parts)


_TABLE_SUFFIXES = (".tsv", ".txt")


def read_triples_table(path: str | Path) -> list[Triple]:
    """Triples from a tab-separated file, one ``head<TAB>relation<TAB>tail`` per line (PyKEEN's format).

    Blank lines and lines starting with ``#`` are skipped.

    Raises:
        MissingFileError: no such file.
        InvalidInputError: a line without exactly three fields; names the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, what="triples file")
    out: list[Triple] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            text = line.rstrip("\n")
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            fields = text.split("\t")
            if len(fields) != 3 or not all(f.strip() for f in fields):
                raise InvalidInputError(
                    f"{path}:{number}: expected head<TAB>relation<TAB>tail, found {len(fields)} field(s)"
                )
            out.append((fields[0].strip(), fields[1].strip(), fields[2].strip()))
    return out


def open_graph(paths: Sequence[str | Path], *, location: str | None = None) -> Any:
    """A graph to train on or complete: triples tables (``.tsv``, ``.txt``) or RDF files.

    Tables give a list of string triples; RDF files are loaded into a
    :class:`~mmreason.KnowledgeGraph` (in memory, or the store at ``location``),
    which is returned.

    Raises:
        InvalidInputError: tables mixed with RDF files, or nothing at all.
    """
    paths = [Path(p) for p in paths]
    tables = [p for p in paths if p.suffix.lower() in _TABLE_SUFFIXES]
    if tables and (len(tables) != len(paths) or location is not None):
        raise InvalidInputError(
            "give either triples tables (.tsv, .txt) or RDF files / a KG location, not both: "
            + ", ".join(map(str, paths))
        )
    if tables:
        return [t for p in tables for t in read_triples_table(p)]
    if not paths and location is None:
        raise InvalidInputError("no graph given: name RDF files, triples tables, or a KG location")
    from mmreason.kg import KnowledgeGraph

    kg = KnowledgeGraph.open(location)
    for p in paths:
        kg.load(p)
    return kg
