"""mmreason: causal and knowledge-graph multimodal reasoning.

An image is grounded as RDF facts by a CLIP-aligned encoder, GNNs complete
the knowledge graph, and a structural causal model answers interventional and
counterfactual queries; every answer says how it was reached.

>>> import mmreason
>>> isinstance(mmreason.__version__, str)
True
"""

from __future__ import annotations

from mmreason.devices import DeviceLike, resolve_device
from mmreason.errors import (
    DeviceUnavailableError,
    EndpointError,
    GraphParseError,
    ImageError,
    ImpossibleEvidenceError,
    InvalidInputError,
    MissingFileError,
    MmreasonError,
    ModelLoadError,
    QueryError,
    QuestionNotUnderstoodError,
    ScenarioError,
    ScmSpecError,
    UnknownNameError,
    UnknownVariableError,
)

__version__ = "0.1.0"

__all__ = [
    "DeviceLike",
    "DeviceUnavailableError",
    "EndpointError",
    "GraphParseError",
    "ImageError",
    "ImpossibleEvidenceError",
    "InvalidInputError",
    "MissingFileError",
    "MmreasonError",
    "ModelLoadError",
    "QueryError",
    "QuestionNotUnderstoodError",
    "ScenarioError",
    "ScmSpecError",
    "UnknownNameError",
    "UnknownVariableError",
    "__version__",
    "resolve_device",
]
