"""The KGE decoders alone: PyG's ``torch_geometric.nn.kge`` models, one embedding per entity.

The parameters are those of PyG's :class:`~torch_geometric.nn.kge.DistMult`,
:class:`~torch_geometric.nn.kge.ComplEx` or :class:`~torch_geometric.nn.kge.RotatE`
(kept as ``self.kge``, so PyG's own ``forward`` and ``test`` run on the same
weights); scoring against all entities and training go through
:mod:`mmreason.gnn.interactions`.

>>> model = KGEDecoderModel("distmult", num_entities=3, num_relations=1, dim=4)
>>> tuple(model.entity_embeddings().shape)
(3, 4)
"""

from __future__ import annotations

import torch
from torch import Tensor

from mmreason.gnn.base import LinkModel
from mmreason.gnn.interactions import INTERACTIONS

__all__ = ["KGEDecoderModel"]


class KGEDecoderModel(LinkModel):
    """A shallow KGE model: free entity and relation embeddings and one decoder.

    Args:
        decoder: ``"distmult"``, ``"complex"`` or ``"rotate"``.
        num_entities: how many entities.
        num_relations: how many relations.
        dim: embedding dimension (complex dimensions for ComplEx and RotatE).
    """

    def __init__(self, decoder: str, *, num_entities: int, num_relations: int, dim: int) -> None:
        super().__init__()
        from torch_geometric.nn.kge import ComplEx, DistMult, RotatE

        pyg_class = {"distmult": DistMult, "complex": ComplEx, "rotate": RotatE}[decoder]
        self.interaction = INTERACTIONS[decoder]
        self.num_entities = num_entities
        self.num_relations = num_relations
        self.dim = dim
        self.kge = pyg_class(num_entities, num_relations, dim)

    def entity_embeddings(self) -> Tensor:
        if self.interaction.is_complex:
            return torch.cat([self.kge.node_emb.weight, self.kge.node_emb_im.weight], dim=-1)
        return self.kge.node_emb.weight

    def relation_embeddings(self) -> Tensor:
        if self.interaction.name == "complex":
            return torch.cat([self.kge.rel_emb.weight, self.kge.rel_emb_im.weight], dim=-1)
        return self.kge.rel_emb.weight
