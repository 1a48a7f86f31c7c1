"""Knowledge-graph completion: predicted facts with calibrated scores, kept in their own named graph.

:func:`complete` asks a trained :class:`~mmreason.gnn.LinkPredictor` for the
best tails of every (head, relation) query, keeps those whose calibrated
probability reaches ``min_score``, and writes them to the KG's ``predicted``
named graph (``http://mmreason.org/graphs/predicted``), never to the graph
of asserted facts. Each predicted triple is stored twice there, as itself
and as a standard RDF reification that carries its score and model::

    GRAPH <http://mmreason.org/graphs/predicted> {
        mr:car1 mr:colour mr:red .
        <urn:mmreason:prediction:…> a rdf:Statement ;
            rdf:subject mr:car1 ; rdf:predicate mr:colour ; rdf:object mr:red ;
            mm:confidence 0.91 ;
            prov:wasGeneratedBy <urn:mmreason:model:rgcn-distmult:…:seed0> .
    }

Reification (rather than RDF-star) works on every backend (rdflib memory,
Oxigraph, any SPARQL 1.1 endpoint). The statement IRI is a hash of the model
and the triple, so running the same model again rewrites the same nodes.

>>> from mmreason.gnn import train_link_predictor
>>> triples = [("a", "r", "b"), ("b", "r", "a"), ("c", "r", "d")]
>>> predictor = train_link_predictor(triples, model="distmult", epochs=2, dim=4, valid=[],
...                                  device="cpu", progress=False)
>>> completion = complete(triples, predictor, top_k=1, min_score=0.0, write=False)
>>> all(0.0 <= fact.score <= 1.0 for fact in completion.facts)
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mmreason.errors import InvalidInputError, ModelLoadError
from mmreason.gnn.predictor import LinkPredictor
from mmreason.gnn.triples import as_string_triples

__all__ = [
    "PROV_GENERATED_BY",
    "Completion",
    "PredictedFact",
    "complete",
    "model_iri",
    "predicted_facts",
    "write_predicted",
]

PROV_GENERATED_BY = "http://www.w3.org/ns/prov#wasGeneratedBy"


@dataclass(frozen=True, slots=True)
class PredictedFact:
    """One predicted triple with its calibrated probability and the model that predicted it."""

    head: str
    relation: str
    tail: str
    score: float
    model_id: str


@dataclass(frozen=True, slots=True)
class Completion:
    """What :func:`complete` predicted and where it wrote it.

    Attributes:
        facts: the predicted facts, best first.
        model_id: the predictor's id.
        graph: the named graph written to (``None`` when nothing was written).
        top_k: tails kept per (head, relation) query.
        min_score: the probability threshold.
        candidates: how many (head, relation, tail) candidates were scored.
    """

    facts: tuple[PredictedFact, ...]
    model_id: str
    graph: str | None
    top_k: int
    min_score: float
    candidates: int

    def triples(self) -> set[tuple[str, str, str]]:
        """The predicted (head, relation, tail) names."""
        return {(f.head, f.relation, f.tail) for f in self.facts}


def model_iri(model_id: str) -> str:
    """The IRI that names a predictor in provenance."""
    return "urn:mmreason:model:" + model_id.removeprefix("mmreason:")


def complete(
    kg: Any,
    predictor: LinkPredictor,
    *,
    top_k: int = 10,
    min_score: float = 0.5,
    relations: Iterable[str] | None = None,
    write: bool = True,
) -> Completion:
    """Predict missing facts of ``kg`` and write them, with scores, to its ``predicted`` graph.

    Candidates are (head, relation, tail) with head any entity that is the
    subject of a known triple, relation each of ``relations`` (default: all
    the predictor knows) and tail any entity; triples already in ``kg`` (any
    graph but ``predicted``) or in the training triples are skipped.

    Args:
        kg: a :class:`~mmreason.KnowledgeGraph` (or a list of triples, with ``write=False``).
        predictor: a trained link predictor whose entities are IRIs of ``kg``.
        top_k: best tails kept per (head, relation) query.
        min_score: least calibrated probability of a kept fact, in [0, 1].
        relations: restrict the predicted relations.
        write: write the facts into ``kg``; ``False`` only returns them.

    Returns:
        A :class:`Completion`.

    Raises:
        InvalidInputError: bad ``top_k`` / ``min_score``, or ``write`` with a graph that is not a KG.
        ModelLoadError: fewer than half of ``kg``'s facts use the predictor's entities and relations
            (a predictor trained on another graph).
        UnknownEntityError: a relation in ``relations`` the predictor never saw.
    """
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise InvalidInputError(f"top_k must be a positive integer, found {top_k!r}")
    if not 0.0 <= float(min_score) <= 1.0:
        raise InvalidInputError(f"min_score must be a probability in [0, 1], found {min_score!r}")
    is_kg = hasattr(kg, "to_pyg")
    if write and not is_kg:
        raise InvalidInputError(
            "complete(write=True) needs a KnowledgeGraph to write the predicted facts into"
        )
    maps = predictor.id_maps
    rel_ids = (
        list(range(maps.num_relations)) if relations is None else [maps.relation_id(r) for r in relations]
    )
    facts_of_kg = as_string_triples(kg, argument="kg")
    present = [t for t in facts_of_kg if _known_names(maps, t)]
    if len(present) < 0.5 * len(facts_of_kg):
        raise ModelLoadError(
            f"the predictor was trained on another graph: only {len(present)} of the "
            f"{len(facts_of_kg)} facts of kg use its entities and relations (model {predictor.model_id})"
        )
    known = torch.cat([predictor.training_triples.cpu(), maps.encode(present)])
    n, num_rel = maps.num_entities, maps.num_relations
    known_keys = torch.unique((known[:, 0] * num_rel + known[:, 1]) * n + known[:, 2])
    heads = torch.unique(known[:, 0])
    facts: list[PredictedFact] = []
    candidates = 0
    model_id = predictor.model_id
    for r in rel_ids:
        for head_batch in heads.split(1024):
            rel = torch.full_like(head_batch, r)
            scores = predictor.all_scores(head_batch, rel, None, exclude_known=False)  # [B, N]
            keys = (head_batch[:, None] * num_rel + r) * n + torch.arange(n)[None, :]
            pos = torch.searchsorted(known_keys, keys).clamp_(max=known_keys.numel() - 1)
            scores = scores.masked_fill(known_keys[pos] == keys, float("-inf"))
            candidates += int(torch.isfinite(scores).sum())
            k = min(top_k, n)
            best = scores.topk(k, dim=1)
            probs = predictor.calibration(best.values)
            keep = (probs >= min_score) & torch.isfinite(best.values)
            for row, col in keep.nonzero().tolist():
                facts.append(
                    PredictedFact(
                        head=maps.entities[int(head_batch[row])],
                        relation=maps.relations[r],
                        tail=maps.entities[int(best.indices[row, col])],
                        score=float(probs[row, col]),
                        model_id=model_id,
                    )
                )
    facts.sort(key=lambda f: (-f.score, f.head, f.relation, f.tail))
    graph = None
    if write and facts:
        graph = _write(kg, facts, model_id)
    return Completion(tuple(facts), model_id, graph, top_k, float(min_score), candidates)


def _known_names(maps: Any, triple: tuple[str, str, str]) -> bool:
    h, r, t = triple
    return h in maps._entity_id and t in maps._entity_id and r in maps._relation_id


def _write(kg: Any, facts: list[PredictedFact], model_id: str) -> str:
    from rdflib import RDF, RDFS, Literal, URIRef

    from mmreason.kg.vocab import MM, PREDICTED_GRAPH

    generated_by = URIRef(PROV_GENERATED_BY)
    model = URIRef(model_iri(model_id))
    triples: list[tuple[Any, Any, Any]] = [(model, RDFS.label, Literal(model_id))]
    for fact in facts:
        names = (fact.head, fact.relation, fact.tail)
        if not all(":" in name and " " not in name for name in names):
            raise InvalidInputError(
                f"predicted fact {names!r} has names that are not IRIs; "
                "train on the KnowledgeGraph itself to complete it"
            )
        h, r, t = (URIRef(name) for name in names)
        digest = hashlib.sha256(f"{model_id}\n{fact.head}\n{fact.relation}\n{fact.tail}".encode()).hexdigest()
        statement = URIRef(f"urn:mmreason:prediction:{digest[:32]}")
        triples += [
            (h, r, t),
            (statement, RDF.type, RDF.Statement),
            (statement, RDF.subject, h),
            (statement, RDF.predicate, r),
            (statement, RDF.object, t),
            (statement, MM.confidence, Literal(round(fact.score, 6))),
            (statement, generated_by, model),
        ]
    with kg.transaction():
        kg.add(triples, graph=PREDICTED_GRAPH)
    return str(PREDICTED_GRAPH)


def predicted_facts(kg: Any) -> list[PredictedFact]:
    """Read back the predicted facts of ``kg``'s ``predicted`` graph, best first."""
    from mmreason.kg.vocab import PREDICTED_GRAPH

    rows = kg.query(
        "SELECT ?s ?p ?o ?score ?id WHERE { GRAPH ?g { ?st rdf:type rdf:Statement ; "
        "rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; mm:confidence ?score ; "
        "<http://www.w3.org/ns/prov#wasGeneratedBy> ?model . ?model rdfs:label ?id } }",
        g=PREDICTED_GRAPH,
    )
    facts = [
        PredictedFact(str(r["s"]), str(r["p"]), str(r["o"]), float(r["score"]), str(r["id"])) for r in rows
    ]
    return sorted(facts, key=lambda f: (-f.score, f.head, f.relation, f.tail))


def write_predicted(kg: Any, path: str | Path) -> Path:
    """Write ``kg``'s ``predicted`` graph (facts and their reified scores) to a Turtle file."""
    from rdflib import Graph

    from mmreason.kg.vocab import PREDICTED_GRAPH, STANDARD_PREFIXES

    graph = Graph()
    for prefix, namespace in STANDARD_PREFIXES.items():
        graph.bind(prefix, namespace)
    graph.bind("prov", "http://www.w3.org/ns/prov#")
    for triple in kg.construct("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", g=PREDICTED_GRAPH):
        graph.add(triple)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    graph.serialize(destination=str(path), format="turtle")
    return path
