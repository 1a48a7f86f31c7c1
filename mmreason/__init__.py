"""mmreason: causal and knowledge-graph multimodal reasoning.

An image is grounded as RDF facts by a CLIP-aligned encoder, GNNs complete
the knowledge graph, and a structural causal model answers interventional and
counterfactual queries; every answer says how it was reached.

The errors and :func:`resolve_device` load with the package; everything else
loads on first use, so ``import mmreason`` and ``mmreason --version`` stay fast.

>>> import mmreason
>>> isinstance(mmreason.__version__, str)
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mmreason.devices import DeviceLike, resolve_device
from mmreason.errors import (
    DeviceUnavailableError,
    EndpointError,
    GraphParseError,
    ImageError,
    ImpossibleEvidenceError,
    InvalidInputError,
    MissingDependencyError,
    MissingFileError,
    MmreasonError,
    ModelLoadError,
    QueryError,
    QuestionNotUnderstoodError,
    ScenarioError,
    ScmSpecError,
    UnknownEntityError,
    UnknownNameError,
    UnknownVariableError,
    VideoError,
    WorldError,
)

if TYPE_CHECKING:
    from mmreason.answer import Answer, Step
    from mmreason.causal import (
        SCM,
        CausationResult,
        DiscreteDistribution,
        Distribution,
        DistributionBatch,
        EffectEstimate,
        SampleDistribution,
    )
    from mmreason.kg import KnowledgeGraph
    from mmreason.reasoner import Conversation, Reasoner
    from mmreason.scenarios import Scenario, WhatIfResult
    from mmreason.vision import ClipEncoder, SceneGraph
    from mmreason.worlds import World

__version__ = "0.1.0"

# Public names that load on first use, and the module each comes from.
_LAZY = {
    "Answer": "mmreason.answer",
    "Step": "mmreason.answer",
    "CausationResult": "mmreason.causal",
    "DiscreteDistribution": "mmreason.causal",
    "Distribution": "mmreason.causal",
    "DistributionBatch": "mmreason.causal",
    "EffectEstimate": "mmreason.causal",
    "SCM": "mmreason.causal",
    "SampleDistribution": "mmreason.causal",
    "KnowledgeGraph": "mmreason.kg",
    "Conversation": "mmreason.reasoner",
    "Reasoner": "mmreason.reasoner",
    "Scenario": "mmreason.scenarios",
    "WhatIfResult": "mmreason.scenarios",
    "ClipEncoder": "mmreason.vision",
    "SceneGraph": "mmreason.vision",
    "World": "mmreason.worlds",
}

__all__ = [
    "SCM",
    "Answer",
    "CausationResult",
    "ClipEncoder",
    "Conversation",
    "DeviceLike",
    "DeviceUnavailableError",
    "DiscreteDistribution",
    "Distribution",
    "DistributionBatch",
    "EffectEstimate",
    "EndpointError",
    "GraphParseError",
    "ImageError",
    "ImpossibleEvidenceError",
    "InvalidInputError",
    "KnowledgeGraph",
    "MissingDependencyError",
    "MissingFileError",
    "MmreasonError",
    "ModelLoadError",
    "QueryError",
    "QuestionNotUnderstoodError",
    "Reasoner",
    "SampleDistribution",
    "Scenario",
    "ScenarioError",
    "SceneGraph",
    "ScmSpecError",
    "Step",
    "UnknownEntityError",
    "UnknownNameError",
    "UnknownVariableError",
    "VideoError",
    "WhatIfResult",
    "World",
    "WorldError",
    "__version__",
    "resolve_device",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mmreason' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
