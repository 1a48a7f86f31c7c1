"""Small graphs and hand-built predictors shared by the GNN tests."""

from __future__ import annotations

import torch

from mmreason.gnn import IdMaps, LinkPredictor, TrainingConfig
from mmreason.gnn.kge import KGEDecoderModel


def hand_predictor(
    decoder: str, entities: dict[str, list[float]], relations: dict[str, list[float]], train: list
) -> LinkPredictor:
    """A predictor whose embeddings are set by hand (real ‖ imaginary halves for complex models)."""
    maps = IdMaps(tuple(entities), tuple(relations))
    dim = len(next(iter(relations.values())))
    if decoder == "complex":
        dim //= 2
    model = KGEDecoderModel(decoder, num_entities=len(entities), num_relations=len(relations), dim=dim)
    ent = torch.tensor(list(entities.values()))
    rel = torch.tensor(list(relations.values()))
    with torch.no_grad():
        model.kge.node_emb.weight.copy_(ent[:, :dim])
        if decoder != "distmult":
            model.kge.node_emb_im.weight.copy_(ent[:, dim:])
        model.kge.rel_emb.weight.copy_(rel[:, :dim])
        if decoder == "complex":
            model.kge.rel_emb_im.weight.copy_(rel[:, dim:])
    return LinkPredictor(
        model=model,
        id_maps=maps,
        config=TrainingConfig(model=decoder, dim=dim),
        training_triples=maps.encode(train),
    )


def family_triples(num_families: int = 6) -> list[tuple[str, str, str]]:
    """A small graph with learnable structure: parents, children, siblings and their inverses."""
    triples = []
    for f in range(num_families):
        mother, father, kids = f"m{f}", f"f{f}", [f"k{f}_{i}" for i in range(3)]
        triples.append((mother, "married", father))
        triples.append((father, "married", mother))
        for kid in kids:
            triples += [(mother, "parentOf", kid), (father, "parentOf", kid)]
            triples += [(kid, "childOf", mother), (kid, "childOf", father)]
            triples += [(kid, "siblingOf", other) for other in kids if other != kid]
    return triples
