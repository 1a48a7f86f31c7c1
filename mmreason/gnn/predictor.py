"""A trained link predictor: scores, rankings, evaluation, calibrated probabilities, checkpoints.

A :class:`LinkPredictor` holds the model, the id maps of the graph it was
trained on, the training triples (the encoder's graph and the filter of
known facts) and a Platt calibration that turns raw scores into
probabilities. It saves to a folder of two files: ``model.safetensors``
(weights, training triples, fixed features) and ``model.json`` (id maps,
training settings, calibration, history).

>>> from mmreason.gnn import train_link_predictor
>>> triples = [("a", "likes", "b"), ("b", "likes", "c"), ("c", "likes", "a")]
>>> predictor = train_link_predictor(triples, model="complex", epochs=3, dim=4, valid=[],
...                                  device="cpu", progress=False)
>>> predictor.evaluate([("a", "likes", "b")]).num_triples
1
>>> len(predictor.predict_tails("a", "likes", top_k=2, exclude_known=False))
2
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mmreason.devices import DeviceLike, resolve_device
from mmreason.errors import InvalidInputError, MissingFileError, ModelLoadError
from mmreason.gnn.base import LinkModel
from mmreason.gnn.calibration import Calibration
from mmreason.gnn.evaluate import KnownAnswers, RankingMetrics, filtered_ranks, triple_keys
from mmreason.gnn.registry import build_model, model_spec
from mmreason.gnn.triples import IdMaps, Triple, as_string_triples

__all__ = ["LinkPredictor", "Prediction", "TrainingConfig"]

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
META_FILE = "model.json"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    """The settings a predictor was trained with (recorded in its checkpoint).

    Attributes:
        model: registry key (``"rgcn-distmult"``, ``"complex"`` …).
        dim: embedding dimension (complex dimensions for ComplEx and RotatE).
        epochs: most epochs to train.
        training: ``"slcwa"`` (each positive against ``negatives`` corrupted copies),
            ``"lcwa"`` (each (head, relation) and (relation, tail) query against all
            entities, multi-label; Dettmers et al., 2018's 1-N scoring), or ``"auto"``
            (``"lcwa"`` when its query x entity label matrix has at most 5e7 entries).
        negatives: corrupted triples per positive (head or tail replaced at random), for ``"slcwa"``.
        label_smoothing: for ``"lcwa"``, the share of each target spread over all entities.
        batch_size: positive triples (``"slcwa"``) or queries (``"lcwa"``) per step; ``None``
            takes the model's default, recorded here once training starts: 256 for the decoders
            alone (a step is a table lookup), 1024 for the R-GCN models (a step runs the encoder
            over the whole training graph).
        lr: Adam learning rate.
        regularization: weight of the N3 penalty on the batch's embeddings (bilinear models).
        margin: added to RotatE's distance-based score inside the loss.
        num_layers: R-GCN layers.
        num_bases: R-GCN bases.
        dropout: R-GCN dropout.
        features: ``"learned"``, or the name of the fixed feature function.
        eval_every: epochs between validation evaluations.
        patience: validation evaluations without improvement before stopping.
        seed: seed of initialisation, shuffling and negatives.
    """

    model: str = "rgcn-distmult"
    dim: int = 64
    epochs: int = 200
    training: str = "auto"
    negatives: int = 16
    label_smoothing: float = 0.0
    batch_size: int | None = None
    lr: float = 0.01
    regularization: float = 0.002
    margin: float = 1.0
    num_layers: int = 1
    num_bases: int = 4
    dropout: float = 0.1
    features: str = "learned"
    eval_every: int = 10
    patience: int = 5
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Prediction:
    """One predicted triple with its raw score and calibrated probability."""

    head: str
    relation: str
    tail: str
    score: float
    probability: float


@dataclass
class LinkPredictor:
    """A trained link-prediction model over the entities and relations of one graph.

    Build one with :func:`~mmreason.gnn.train_link_predictor` or
    :meth:`LinkPredictor.load`.

    Attributes:
        model: the torch module.
        id_maps: entity and relation names by id.
        config: training settings.
        training_triples: ``[M, 3]`` long, the triples it was trained on.
        calibration: raw score → probability.
        history: per-evaluation records (epoch, loss, validation MRR).
        device: where the model runs.
    """

    model: LinkModel
    id_maps: IdMaps
    config: TrainingConfig
    training_triples: Tensor
    calibration: Calibration = field(default_factory=Calibration)
    history: list[dict[str, float]] = field(default_factory=list)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    valid_metrics: RankingMetrics | None = None
    test_metrics: RankingMetrics | None = None

    @property
    def model_id(self) -> str:
        """``mmreason:<model>:<graph fingerprint>:seed<seed>``: recorded beside every predicted fact."""
        return f"mmreason:{self.config.model}:{self.id_maps.fingerprint()}:seed{self.config.seed}"

    # -- scoring -------------------------------------------------------------------------------

    def encode(self, triples: Iterable[Triple], *, argument: str = "triples") -> Tensor:
        """String triples as ids; unseen names raise :class:`~mmreason.UnknownEntityError`."""
        return self.id_maps.encode(as_string_triples(triples, argument=argument))

    @torch.no_grad()
    def raw_scores(self, triples: Iterable[Triple]) -> Tensor:
        """The decoder's raw scores of string triples, ``[M]`` on the CPU."""
        ids = self.encode(triples).to(self.device)
        self.model.eval()
        if ids.numel() == 0:
            return torch.empty(0)
        return self.model.score(ids[:, 0], ids[:, 1], ids[:, 2]).cpu()

    def probabilities(self, triples: Iterable[Triple]) -> Tensor:
        """Calibrated probabilities of string triples, ``[M]``."""
        return self.calibration(self.raw_scores(triples))

    @torch.no_grad()
    def predict_tails(
        self, head: str, relation: str, *, top_k: int = 10, exclude_known: bool = True
    ) -> tuple[Prediction, ...]:
        """The ``top_k`` best tails for ``(head, relation, ?)``, best first.

        Args:
            head: entity name as in training.
            relation: relation name as in training.
            top_k: how many to return.
            exclude_known: leave out tails already in the training triples.
        """
        return self._predict(head, relation, None, top_k=top_k, exclude_known=exclude_known)

    @torch.no_grad()
    def predict_heads(
        self, relation: str, tail: str, *, top_k: int = 10, exclude_known: bool = True
    ) -> tuple[Prediction, ...]:
        """The ``top_k`` best heads for ``(?, relation, tail)``, best first."""
        return self._predict(None, relation, tail, top_k=top_k, exclude_known=exclude_known)

    def _predict(
        self, head: str | None, relation: str, tail: str | None, *, top_k: int, exclude_known: bool
    ) -> tuple[Prediction, ...]:
        if not isinstance(top_k, int) or top_k < 1:
            raise InvalidInputError(f"top_k must be a positive integer, found {top_k!r}")
        r = self.id_maps.relation_id(relation)
        scores = self.all_scores(
            torch.tensor([self.id_maps.entity_id(head)]) if head is not None else None,
            torch.tensor([r]),
            torch.tensor([self.id_maps.entity_id(tail)]) if tail is not None else None,
            exclude_known=exclude_known,
        )[0]
        k = min(top_k, int(torch.isfinite(scores).sum()))
        best = scores.topk(k)
        probs = self.calibration(best.values)
        out = []
        for value, prob, index in zip(
            best.values.tolist(), probs.tolist(), best.indices.tolist(), strict=True
        ):
            name = self.id_maps.entities[index]
            h, t = (head, name) if head is not None else (name, tail)
            out.append(Prediction(str(h), relation, str(t), value, prob))
        return tuple(out)

    @torch.no_grad()
    def all_scores(
        self, heads: Tensor | None, relations: Tensor, tails: Tensor | None, *, exclude_known: bool = True
    ) -> Tensor:
        """Raw scores ``[B, N]`` of every entity as the tail (``tails=None``) or head (``heads=None``).

        Known training triples get ``-inf`` when ``exclude_known``.
        """
        if (heads is None) == (tails is None):
            raise InvalidInputError(
                "all_scores() needs exactly one of heads and tails; the other side is scored"
            )
        self.model.eval()
        entities = self.model.entity_embeddings()
        rel = self.model.relation_embeddings()[relations.to(self.device)]
        interaction = self.model.interaction
        n = self.id_maps.num_entities
        candidates = torch.arange(n, device=self.device)
        if tails is None:
            h = heads.to(self.device)
            scores = interaction.score_tails(entities[h], rel, entities)
            keys = (h * self.id_maps.num_relations + relations.to(self.device))[:, None] * n + candidates
        else:
            t = tails.to(self.device)
            scores = interaction.score_heads(entities, rel, entities[t])
            rr = relations.to(self.device)[:, None]
            keys = (candidates[None, :] * self.id_maps.num_relations + rr) * n + t[:, None]
        known = self._known_keys() if exclude_known else None
        if known is not None and known.numel():
            pos = torch.searchsorted(known, keys).clamp_(max=known.numel() - 1)
            scores = scores.masked_fill(known[pos] == keys, float("-inf"))
        return scores.cpu()

    def _known_keys(self, extra: Tensor | None = None) -> Tensor:
        triples = self.training_triples if extra is None else torch.cat([self.training_triples, extra])
        keys = triple_keys(triples.to(self.device), self.id_maps.num_entities, self.id_maps.num_relations)
        return torch.unique(keys)  # sorted

    # -- evaluation ----------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(
        self,
        triples: Iterable[Triple],
        *,
        filter_triples: Iterable[Triple] = (),
        filtered: bool = True,
        batch_size: int = 1024,
    ) -> RankingMetrics:
        """Filtered rank-based MRR and Hits@1/3/10 over head and tail prediction.

        The filter holds the training triples, ``triples`` themselves and
        ``filter_triples`` (say, the validation set). Ties get the realistic rank.

        Args:
            triples: the test triples, as (head, relation, tail) names.
            filter_triples: more known triples to filter out of the candidates.
            filtered: ``False`` ranks against all entities (raw ranks).
            batch_size: test triples scored per batch.
        """
        ids = self.encode(triples, argument="triples")
        if ids.shape[0] == 0:
            raise InvalidInputError("evaluate() needs at least one triple in triples, found none")
        extra = self.encode(filter_triples, argument="filter_triples")
        return self._evaluate_ids(ids, extra=extra, filtered=filtered, batch_size=batch_size)

    def _evaluate_ids(
        self, ids: Tensor, *, extra: Tensor | None = None, filtered: bool = True, batch_size: int = 1024
    ) -> RankingMetrics:
        self.model.eval()
        known = None
        if filtered:
            more = ids if extra is None else torch.cat([ids, extra])
            everything = torch.cat([self.training_triples, more.to(self.device)])
            known = KnownAnswers.of(everything, self.id_maps.num_relations)
        ranks = filtered_ranks(
            self.model.entity_embeddings(),
            self.model.relation_embeddings(),
            self.model.interaction.score_tails,
            self.model.interaction.score_heads,
            ids,
            known=known,
            num_relations=self.id_maps.num_relations,
            batch_size=batch_size,
        )
        return RankingMetrics.from_ranks(ranks, filtered=filtered)

    # -- graph checks --------------------------------------------------------------------------

    def check_graph(self, graph: Any, *, argument: str = "graph") -> None:
        """Raise :class:`~mmreason.ModelLoadError` unless ``graph`` has the id maps of training."""
        other = IdMaps.from_triples(as_string_triples(graph, argument=argument))
        if other != self.id_maps:
            raise ModelLoadError(
                f"the checkpoint was trained on another graph (fingerprint {self.id_maps.fingerprint()}, "
                f"{argument} has {other.fingerprint()}): {self.id_maps.differences(other)}"
            )

    # -- checkpoints ---------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write ``model.safetensors`` and ``model.json`` into ``directory``; returns it."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        tensors["training_triples"] = self.training_triples.cpu().contiguous()
        save_file(tensors, str(directory / WEIGHTS_FILE), metadata={"model_id": self.model_id})
        meta = {
            "format": FORMAT_VERSION,
            "model_id": self.model_id,
            "config": asdict(self.config),
            "id_maps": self.id_maps.to_json(),
            "fingerprint": self.id_maps.fingerprint(),
            "calibration": asdict(self.calibration),
            "history": self.history,
            "valid_metrics": None if self.valid_metrics is None else self.valid_metrics.to_dict(),
            "test_metrics": None if self.test_metrics is None else self.test_metrics.to_dict(),
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path, *, device: DeviceLike = "auto", graph: Any = None) -> LinkPredictor:
        """Read a predictor saved by :meth:`save`.

        Args:
            directory: the folder holding ``model.safetensors`` and ``model.json``.
            device: where to run it.
            graph: when given (a KnowledgeGraph or triples), the checkpoint must
                have been trained on it; otherwise :class:`~mmreason.ModelLoadError`
                names the differences.
        """
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        directory = Path(directory)
        if not directory.exists():
            raise MissingFileError(directory, what="link-predictor checkpoint")
        for name in (WEIGHTS_FILE, META_FILE):
            if not (directory / name).is_file():
                raise ModelLoadError(f"{directory}: no {name} (is this a link-predictor checkpoint?)")
        try:
            meta = json.loads((directory / META_FILE).read_text())
            config = TrainingConfig(**meta["config"])
            id_maps = IdMaps.from_json(meta["id_maps"])
            calibration = Calibration(**meta["calibration"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ModelLoadError(
                f"{directory / META_FILE}: not a link-predictor description ({exc})"
            ) from exc
        if meta.get("fingerprint") != id_maps.fingerprint():
            raise ModelLoadError(f"{directory / META_FILE}: the id maps do not match their fingerprint")
        try:
            tensors = load_file(str(directory / WEIGHTS_FILE), device="cpu")
        except (SafetensorError, OSError) as exc:
            raise ModelLoadError(f"{directory / WEIGHTS_FILE}: unreadable weights ({exc})") from exc
        resolved = resolve_device(device)
        training = tensors.pop("training_triples")
        state = {k.removeprefix("model."): v for k, v in tensors.items()}
        model = build_link_model(config, id_maps, training, features=state.get("features"))
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelLoadError(
                f"{directory / WEIGHTS_FILE}: weights do not fit {config.model!r}: {exc}"
            ) from exc
        predictor = cls(
            model=model.to(resolved),
            id_maps=id_maps,
            config=config,
            training_triples=training.to(resolved),
            calibration=calibration,
            history=list(meta.get("history", [])),
            device=resolved,
            valid_metrics=_metrics_or_none(meta.get("valid_metrics")),
            test_metrics=_metrics_or_none(meta.get("test_metrics")),
        )
        if graph is not None:
            predictor.check_graph(graph)
        return predictor

    def __repr__(self) -> str:
        return (
            f"LinkPredictor({self.config.model!r}, entities={self.id_maps.num_entities}, "
            f"relations={self.id_maps.num_relations}, dim={self.config.dim}, device={self.device})"
        )


def build_link_model(
    config: TrainingConfig, id_maps: IdMaps, training: Tensor, *, features: Tensor | None
) -> LinkModel:
    """A fresh model of ``config.model`` over the graph of the ``training`` id triples ``[E, 3]``."""
    return build_model(
        model_spec(config.model),
        num_entities=id_maps.num_entities,
        num_relations=id_maps.num_relations,
        dim=config.dim,
        edge_index=training[:, [0, 2]].T,
        edge_type=training[:, 1],
        features=features,
        num_layers=config.num_layers,
        num_bases=config.num_bases,
        dropout=config.dropout,
    )


def _metrics_or_none(data: dict[str, Any] | None) -> RankingMetrics | None:
    return None if data is None else RankingMetrics(**data)
