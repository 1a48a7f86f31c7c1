"""GNN reasoning over the knowledge graph: link prediction, filtered evaluation, fact completion.

Models come from one registry (:data:`MODELS`): the KGE decoders DistMult,
ComplEx and RotatE alone (PyG's ``torch_geometric.nn.kge``), or behind an
R-GCN encoder. :func:`train_link_predictor` trains one on a KnowledgeGraph
or on (head, relation, tail) names; :meth:`LinkPredictor.evaluate` gives
filtered MRR and Hits@k; :func:`complete` writes predicted facts with
calibrated scores into the KG's ``predicted`` named graph.

>>> sorted(MODELS)[:3]
['complex', 'distmult', 'rgcn-complex']
"""

from __future__ import annotations

from mmreason.gnn.calibration import Calibration
from mmreason.gnn.complete import Completion, PredictedFact, complete, predicted_facts
from mmreason.gnn.evaluate import RankingMetrics
from mmreason.gnn.features import clip_text_features, hashed_features, minilm_features, nearest_entities
from mmreason.gnn.predictor import LinkPredictor, Prediction, TrainingConfig
from mmreason.gnn.registry import MODELS, ModelSpec, model_spec
from mmreason.gnn.train import subgraph_training_available, train_link_predictor
from mmreason.gnn.triples import IdMaps

__all__ = [
    "MODELS",
    "Calibration",
    "Completion",
    "IdMaps",
    "LinkPredictor",
    "ModelSpec",
    "PredictedFact",
    "Prediction",
    "RankingMetrics",
    "TrainingConfig",
    "clip_text_features",
    "complete",
    "hashed_features",
    "minilm_features",
    "model_spec",
    "nearest_entities",
    "predicted_facts",
    "subgraph_training_available",
    "train_link_predictor",
]
