"""What every link-prediction model offers: entity and relation tensors, and scores.

A model computes all entity embeddings at once (a table lookup for the
decoders alone, a pass of the R-GCN encoder over the training graph
otherwise) and hands them with the relation parameters to its
:class:`~mmreason.gnn.interactions.Interaction`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mmreason.gnn.interactions import Interaction

__all__ = ["LinkModel"]


class LinkModel(torch.nn.Module):
    """Base of the link-prediction models; subclasses fill in the two embedding methods."""

    interaction: Interaction
    num_entities: int
    num_relations: int
    dim: int

    def entity_embeddings(self) -> Tensor:  # [num_entities, entity_width]
        raise NotImplementedError

    def relation_embeddings(self) -> Tensor:  # [num_relations, relation_width]
        raise NotImplementedError

    def score(self, head: Tensor, relation: Tensor, tail: Tensor) -> Tensor:
        """Scores of triples given as id tensors ``[B]`` each; returns ``[B]``."""
        entities = self.entity_embeddings()
        relations = self.relation_embeddings()
        return self.interaction.score(entities[head], relations[relation], entities[tail])
