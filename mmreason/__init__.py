"""mmreason: causal and knowledge-graph multimodal reasoning.

An image is grounded as RDF facts by a CLIP-aligned encoder, GNNs complete
the knowledge graph, and a structural causal model answers interventional and
counterfactual queries; every answer says how it was reached.

>>> import mmreason
>>> isinstance(mmreason.__version__, str)
True
"""

from __future__ import annotations

from mmreason.causal import (
    SCM,
    CausationResult,
    DiscreteDistribution,
    Distribution,
    DistributionBatch,
    EffectEstimate,
    SampleDistribution,
)
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
)
from mmreason.kg import KnowledgeGraph
from mmreason.vision import ClipEncoder, SceneGraph, ground, render_scene

__version__ = "0.1.0"

__all__ = [
    "SCM",
    "CausationResult",
    "ClipEncoder",
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
    "SampleDistribution",
    "ScenarioError",
    "SceneGraph",
    "ScmSpecError",
    "UnknownEntityError",
    "UnknownNameError",
    "UnknownVariableError",
    "__version__",
    "ground",
    "render_scene",
    "resolve_device",
]
