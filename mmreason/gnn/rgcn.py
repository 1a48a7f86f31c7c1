"""R-GCN encoder with a KGE decoder (Schlichtkrull et al., 2018, arXiv:1703.06103).

Entity inputs (a learned embedding, or fixed features such as the text
embedding of each entity's ``rdfs:label`` passed through a linear map) go
through ``num_layers`` of PyG's :class:`~torch_geometric.nn.conv.RGCNConv`
with basis decomposition over the training graph, each relation also used in
its inverse direction. The output is added to the input (a residual
connection), so a featureless model starts as its shallow decoder and the
message passing refines it. A DistMult, ComplEx or RotatE decoder scores the
encoded entities.

>>> import torch
>>> edges = torch.tensor([[0, 1], [1, 2]])  # [2, num_edges]
>>> model = RGCNLinkModel("distmult", num_entities=3, num_relations=1, dim=4,
...                       edge_index=edges, edge_type=torch.tensor([0, 0]))
>>> tuple(model.entity_embeddings().shape)
(3, 4)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mmreason.gnn.base import LinkModel
from mmreason.gnn.interactions import INTERACTIONS

__all__ = ["RGCNLinkModel"]


class RGCNLinkModel(LinkModel):
    """R-GCN entity encoder followed by a DistMult, ComplEx or RotatE decoder.

    Args:
        decoder: ``"distmult"``, ``"complex"`` or ``"rotate"``.
        num_entities: how many entities.
        num_relations: how many relations (the encoder adds their inverses).
        dim: embedding dimension (complex dimensions for ComplEx and RotatE).
        edge_index: ``[2, num_edges]`` long, the training graph's (head, tail) ids.
        edge_type: ``[num_edges]`` long, the relation id of each edge.
        features: ``[num_entities, F]`` fixed entity features, or ``None`` for learned ones.
        num_layers: R-GCN layers.
        num_bases: bases of the basis decomposition (at most ``2 * num_relations``).
        dropout: dropout on the encoder's hidden states while training.
    """

    def __init__(
        self,
        decoder: str,
        *,
        num_entities: int,
        num_relations: int,
        dim: int,
        edge_index: Tensor,
        edge_type: Tensor,
        features: Tensor | None = None,
        num_layers: int = 1,
        num_bases: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        from torch_geometric.nn import RGCNConv

        self.interaction = INTERACTIONS[decoder]
        self.num_entities = num_entities
        self.num_relations = num_relations
        self.dim = dim
        width = self.interaction.entity_width(dim)
        if features is None:
            self.entity_input = torch.nn.Parameter(torch.empty(num_entities, width))
            torch.nn.init.xavier_uniform_(self.entity_input)
            self.register_buffer("features", None)
            self.project = None
        else:
            self.register_parameter("entity_input", None)
            self.register_buffer("features", features.float())
            self.project = torch.nn.Linear(features.shape[1], width)
        bases = max(1, min(num_bases, 2 * num_relations))
        self.convs = torch.nn.ModuleList(
            RGCNConv(width, width, 2 * num_relations, num_bases=bases) for _ in range(num_layers)
        )
        self.dropout = dropout
        # Each relation in both directions, so messages reach heads from tails as well.
        self.register_buffer(
            "edge_index", torch.cat([edge_index, edge_index.flip(0)], dim=1).long(), persistent=False
        )
        self.register_buffer(
            "edge_type", torch.cat([edge_type, edge_type + num_relations]).long(), persistent=False
        )
        self.relation = torch.nn.Parameter(torch.empty(num_relations, self.interaction.relation_width(dim)))
        if decoder == "rotate":
            torch.nn.init.uniform_(self.relation, 0, 2 * math.pi)
        else:
            torch.nn.init.xavier_uniform_(self.relation)
        for conv in self.convs:
            # Start each layer near zero, so the residual encoder starts as the shallow model.
            torch.nn.init.normal_(conv.weight, std=0.01)
            if conv.comp is not None:
                torch.nn.init.normal_(conv.comp, std=0.1)
            torch.nn.init.zeros_(conv.root)

    def entity_embeddings(self) -> Tensor:
        x = self.entity_input if self.project is None else self.project(self.features)
        return self._propagate(x, self.edge_index, self.edge_type)

    def encode_nodes(self, nodes: Tensor, edge_index: Tensor, edge_type: Tensor) -> Tensor:
        """Embeddings of a sampled subgraph's ``nodes`` ``[n]`` from its local edges ``[2, e]``."""
        x = self.entity_input[nodes] if self.project is None else self.project(self.features[nodes])
        return self._propagate(x, edge_index, edge_type)

    def _propagate(self, x: Tensor, edge_index: Tensor, edge_type: Tensor) -> Tensor:
        for conv in self.convs:
            h = conv(x, edge_index, edge_type)
            h = torch.nn.functional.dropout(torch.tanh(h), p=self.dropout, training=self.training)
            x = x + h
        return x

    def relation_embeddings(self) -> Tensor:
        return self.relation
