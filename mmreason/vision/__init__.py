"""Vision: the rendered crossing world, the CLIP encoder, grounding images as scene facts.

* :mod:`~mmreason.vision.world` renders street-crossing scenes with their truth.
* :class:`ClipEncoder` wraps open_clip; :meth:`ClipEncoder.default` is the bundled model.
* :func:`ground` turns an image into a :class:`SceneGraph` of KG concepts with confidences.
* :func:`train_clip` trains the bundled model (``mmreason train-clip``).
"""

from __future__ import annotations

from mmreason.vision.encoder import ClipEncoder
from mmreason.vision.grounding import Attribute, GroundedObject, SceneGraph, ground
from mmreason.vision.images import load_image
from mmreason.vision.train import TrainConfig, TrainResult, train_clip
from mmreason.vision.vocabulary import Concept, Vocabulary
from mmreason.vision.world import SceneObject, SceneTruth, render_scene, render_values

__all__ = [
    "Attribute",
    "ClipEncoder",
    "Concept",
    "GroundedObject",
    "SceneGraph",
    "SceneObject",
    "SceneTruth",
    "TrainConfig",
    "TrainResult",
    "Vocabulary",
    "ground",
    "load_image",
    "render_scene",
    "render_values",
    "train_clip",
]
