"""The link-prediction models by name, as the CLI and checkpoints spell them.

``distmult``, ``complex`` and ``rotate`` are the decoders alone (PyG's
``torch_geometric.nn.kge`` models); ``rgcn-distmult``, ``rgcn-complex`` and
``rgcn-rotate`` put an R-GCN encoder in front of them.

>>> sorted(MODELS)
['complex', 'distmult', 'rgcn-complex', 'rgcn-distmult', 'rgcn-rotate', 'rotate']
>>> model_spec("rgcn-rotate").decoder
'rotate'
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from mmreason.errors import InvalidInputError, UnknownNameError
from mmreason.gnn.kge import KGEDecoderModel
from mmreason.gnn.rgcn import RGCNLinkModel

if TYPE_CHECKING:
    from torch import Tensor

    from mmreason.gnn.base import LinkModel

__all__ = ["MODELS", "ModelSpec", "build_model", "model_spec"]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One registry entry.

    Attributes:
        name: the registry key.
        decoder: ``"distmult"``, ``"complex"`` or ``"rotate"``.
        encoder: ``"rgcn"``, or ``None`` for the decoder alone.
        paper: where the method comes from.
    """

    name: str
    decoder: str
    encoder: str | None
    paper: str


_PAPERS = {
    "distmult": "Yang et al., 2015, arXiv:1412.6575",
    "complex": "Trouillon et al., 2016, arXiv:1606.06357",
    "rotate": "Sun et al., 2019, arXiv:1902.10197",
}
_RGCN = "Schlichtkrull et al., 2018, arXiv:1703.06103"

MODELS: MappingProxyType[str, ModelSpec] = MappingProxyType(
    {
        **{name: ModelSpec(name, name, None, paper) for name, paper in _PAPERS.items()},
        **{
            f"rgcn-{name}": ModelSpec(f"rgcn-{name}", name, "rgcn", f"{_RGCN}; {paper}")
            for name, paper in _PAPERS.items()
        },
    }
)


def model_spec(name: str) -> ModelSpec:
    """The registry entry for ``name``; :class:`~mmreason.UnknownNameError` lists the choices."""
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise UnknownNameError("link-prediction model", str(name), MODELS) from None


def build_model(
    spec: ModelSpec,
    *,
    num_entities: int,
    num_relations: int,
    dim: int,
    edge_index: Tensor | None = None,
    edge_type: Tensor | None = None,
    features: Tensor | None = None,
    num_layers: int = 1,
    num_bases: int = 4,
    dropout: float = 0.1,
) -> LinkModel:
    """A freshly initialised model for one registry entry.

    The R-GCN models need the training graph (``edge_index`` ``[2, E]`` and
    ``edge_type`` ``[E]``) and take optional fixed ``features`` ``[N, F]``.
    """
    if spec.encoder is None:
        return KGEDecoderModel(spec.decoder, num_entities=num_entities, num_relations=num_relations, dim=dim)
    if edge_index is None or edge_type is None:
        raise InvalidInputError(f"model {spec.name!r} needs the training graph (edge_index and edge_type)")
    return RGCNLinkModel(
        spec.decoder,
        num_entities=num_entities,
        num_relations=num_relations,
        dim=dim,
        edge_index=edge_index,
        edge_type=edge_type,
        features=features,
        num_layers=num_layers,
        num_bases=num_bases,
        dropout=dropout,
    )
