"""Vision: the CLIP encoder, grounding images as scene facts, training an encoder for a world.

* :class:`ClipEncoder` wraps open_clip; :meth:`ClipEncoder.from_folder` loads a world's model.
* :func:`ground` turns an image into a :class:`SceneGraph` of a world's concepts with confidences.
* :func:`train_clip` trains a world's model from its labelled images (``mmreason train-clip``).

The bundled worlds' renderers live with their worlds (:mod:`mmreason.worlds.crossing`).
"""

from __future__ import annotations

from mmreason.vision.encoder import ClipEncoder
from mmreason.vision.grounding import Attribute, GroundedObject, SceneGraph, ground
from mmreason.vision.images import load_image
from mmreason.vision.vocabulary import Concept, Vocabulary

__all__ = [
    "Attribute",
    "ClipEncoder",
    "Concept",
    "GroundedObject",
    "SceneGraph",
    "Vocabulary",
    "ground",
    "load_image",
]
