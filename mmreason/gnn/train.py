"""Training a link predictor on a knowledge graph or on lists of triples.

Stochastic local closed-world training (sLCWA): each positive triple meets
``negatives`` corrupted copies (head or tail replaced by a random entity),
all scored by the model and pushed apart by binary cross-entropy. Adam
optimises; an N3 penalty (Lacroix et al., 2018) can regularise the bilinear
decoders. Every ``eval_every`` epochs the filtered MRR on the validation
triples decides early stopping and which weights are kept; the kept model is
then calibrated (Platt scaling on the validation triples) and, when asked,
saved as a checkpoint.

R-GCN models train full-batch (the encoder runs over the whole training
graph each step) unless ``batch_mode="subgraph"``, which samples
neighbourhoods of each batch's entities with PyG's ``NeighborSampler`` and
needs ``pyg-lib`` or ``torch-sparse``.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mmreason.devices import DeviceLike, resolve_device
from mmreason.errors import InvalidInputError, MissingDependencyError, UnknownNameError
from mmreason.gnn.calibration import fit_calibration
from mmreason.gnn.distributed import all_reduce_sum, average_gradients, process_group
from mmreason.gnn.features import FeatureFn, entity_labels, resolve_features
from mmreason.gnn.predictor import LinkPredictor, TrainingConfig, build_link_model
from mmreason.gnn.registry import model_spec
from mmreason.gnn.triples import IdMaps, as_string_triples

__all__ = ["BATCH_MODES", "subgraph_training_available", "train_link_predictor"]

logger = logging.getLogger(__name__)

BATCH_MODES = ("auto", "full", "subgraph")
# Above this many edge-feature floats per encoder pass, "auto" samples subgraphs when it can.
_FULL_BATCH_BUDGET = 2e8
# Score negatives against all entities at once when there are at most this many entities per negative.
_DENSE_NEGATIVES_FACTOR = 16
# The largest query x entity label matrix that training="lcwa" builds.
_LCWA_MAX_LABELS = 5e8
# training="auto" picks "lcwa" up to this many label entries.
_LCWA_AUTO_LABELS = 5e7
# batch_size=None: a step of a decoder alone is a table lookup, so smaller batches (more steps per
# epoch) cost little; a step of an R-GCN model runs the encoder over the whole training graph.
_DEFAULT_BATCH_SIZE = {None: 256, "rgcn": 1024}


def subgraph_training_available() -> bool:
    """Whether PyG's neighbour sampling can run here (it needs ``pyg-lib`` or ``torch-sparse``)."""
    return any(importlib.util.find_spec(name) is not None for name in ("pyg_lib", "torch_sparse"))


def train_link_predictor(
    kg_or_triples: Any,
    *,
    model: str | None = None,
    epochs: int | None = None,
    dim: int | None = None,
    seed: int | None = None,
    config: TrainingConfig | None = None,
    valid: Any = None,
    test: Any = None,
    features: str | FeatureFn | Tensor | None = "learned",
    device: DeviceLike = "auto",
    batch_mode: str = "auto",
    checkpoint: str | Path | None = None,
    progress: bool = True,
) -> LinkPredictor:
    """Train a link predictor: R-GCN + KGE decoder, or the decoder alone.

    Args:
        kg_or_triples: a :class:`~mmreason.KnowledgeGraph` (its ``to_pyg()``
            edges) or a list of (head, relation, tail) names: the training triples.
        model: registry key, see :data:`~mmreason.gnn.MODELS` (default ``config.model``).
        epochs: most epochs (default ``config.epochs``).
        dim: embedding dimension (default ``config.dim``).
        seed: seed of initialisation, shuffling and negatives (default ``config.seed``).
        config: every other setting; the keywords above override its fields.
        valid: validation triples for early stopping and calibration; ``None``
            holds out a seeded 10% of the training triples (when there are at
            least 20), ``[]`` uses none (no early stopping; calibration on
            the training triples).
        test: test triples; when given, ``predictor.test_metrics`` holds their
            filtered metrics.
        features: entity input features of the R-GCN models: ``"learned"``,
            ``"auto"`` (bundled CLIP text tower when it loads, else learned),
            ``"clip"``, ``"minilm"``, a callable labels → ``[N, F]`` tensor, or a tensor.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        batch_mode: ``"full"``, ``"subgraph"`` (needs ``pyg-lib`` or
            ``torch-sparse``) or ``"auto"``.
        checkpoint: a folder to save the trained predictor to.
        progress: show a progress bar.

    Returns:
        The trained :class:`~mmreason.gnn.LinkPredictor`.

    Raises:
        InvalidInputError: no training triples, or a bad setting.
        UnknownNameError: an unknown ``model`` or ``batch_mode``.
        MissingDependencyError: ``batch_mode="subgraph"`` without ``pyg-lib`` / ``torch-sparse``.

    >>> triples = [("a", "r", "b"), ("b", "r", "c"), ("c", "r", "a")]
    >>> p = train_link_predictor(triples, model="distmult", epochs=2, dim=4, valid=[],
    ...                          device="cpu", progress=False)
    >>> p.id_maps.entities
    ('a', 'b', 'c')
    """
    config = config or TrainingConfig()
    overrides = {
        k: v for k, v in {"model": model, "epochs": epochs, "dim": dim, "seed": seed}.items() if v is not None
    }
    config = dataclasses.replace(config, **overrides)
    spec = model_spec(config.model)
    if config.batch_size is None:
        config = dataclasses.replace(config, batch_size=_DEFAULT_BATCH_SIZE[spec.encoder])
    _check_config(config)
    if batch_mode not in BATCH_MODES:
        raise UnknownNameError("batch_mode", str(batch_mode), BATCH_MODES)
    resolved = resolve_device(device)

    train_strings = as_string_triples(kg_or_triples, argument="kg_or_triples")
    if not train_strings:
        raise InvalidInputError(
            "kg_or_triples has no edges (no (head, relation, tail) triples between entities): "
            "nothing to train on"
        )
    test_strings = [] if test is None else as_string_triples(test, argument="test")
    if valid is None:
        train_strings, valid_strings = _hold_out(train_strings, fraction=0.1, seed=config.seed)
    else:
        valid_strings = as_string_triples(valid, argument="valid")
    id_maps = IdMaps.from_triples(train_strings, valid_strings, test_strings)
    train_ids = id_maps.encode(train_strings)
    valid_ids = id_maps.encode(valid_strings)
    test_ids = id_maps.encode(test_strings)

    graph = kg_or_triples if hasattr(kg_or_triples, "to_pyg") else None
    if spec.encoder is None:
        if features not in (None, "learned", "auto"):
            raise InvalidInputError(
                f"model {config.model!r} learns one embedding per entity and takes no features; "
                f"use an R-GCN model (rgcn-{spec.decoder}) for features={features!r}"
            )
        feature_tensor, feature_name = None, "learned"
    else:
        feature_tensor, feature_name = resolve_features(features, entity_labels(id_maps.entities, graph))
    config = dataclasses.replace(config, features=feature_name)

    mode = _choose_batch_mode(batch_mode, spec.encoder, train_ids.shape[0], config)
    if config.training == "auto":
        queries = (
            torch.unique(train_ids[:, :2], dim=0).shape[0] + torch.unique(train_ids[:, 1:], dim=0).shape[0]
        )
        small = queries * id_maps.num_entities <= _LCWA_AUTO_LABELS and mode == "full"
        config = dataclasses.replace(config, training="lcwa" if small else "slcwa")
    if mode == "subgraph" and config.training == "lcwa":
        raise InvalidInputError("training='lcwa' scores every entity and cannot run on sampled subgraphs")
    # Seed initialisation and dropout without touching the caller's random state.
    cuda_devices = [resolved.index or 0] if resolved.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(config.seed)
        link_model = build_link_model(config, id_maps, train_ids, features=feature_tensor).to(resolved)
        predictor = LinkPredictor(
            model=link_model,
            id_maps=id_maps,
            config=config,
            training_triples=train_ids.to(resolved),
            device=resolved,
        )
        # Validation filters every known triple (the test triples too), as the final metrics do.
        filter_ids = torch.cat([valid_ids, test_ids]).to(resolved)
        _fit(predictor, train_ids.to(resolved), valid_ids, filter_ids, mode=mode, progress=progress)

    held = valid_ids if valid_ids.shape[0] else train_ids
    source = "validation" if valid_ids.shape[0] else "training"
    predictor.calibration = fit_calibration(
        predictor, held.to(resolved), seed=config.seed, source=f"{held.shape[0]} {source} triples"
    )
    if valid_ids.shape[0]:
        predictor.valid_metrics = predictor._evaluate_ids(valid_ids.to(resolved), extra=filter_ids)
    if test_ids.shape[0]:
        extra = torch.cat([valid_ids, test_ids]).to(resolved)
        predictor.test_metrics = predictor._evaluate_ids(test_ids.to(resolved), extra=extra)
    if checkpoint is not None:
        predictor.save(checkpoint)
    return predictor


def _check_config(config: TrainingConfig) -> None:
    positive_ints = (
        "dim",
        "epochs",
        "negatives",
        "batch_size",
        "num_layers",
        "num_bases",
        "eval_every",
        "patience",
    )
    for name in positive_ints:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidInputError(f"{name} must be a positive integer, found {value!r}")
    for name in ("lr",):
        if not getattr(config, name) > 0:
            raise InvalidInputError(f"{name} must be positive, found {getattr(config, name)!r}")
    if config.training not in ("auto", "slcwa", "lcwa"):
        raise UnknownNameError("training", str(config.training), ("auto", "slcwa", "lcwa"))
    if not 0 <= config.label_smoothing < 1:
        raise InvalidInputError(f"label_smoothing must be in [0, 1), found {config.label_smoothing!r}")
    if config.regularization < 0 or not 0 <= config.dropout < 1:
        raise InvalidInputError(
            f"regularization must be ≥ 0 and dropout in [0, 1), "
            f"found {config.regularization!r} and {config.dropout!r}"
        )


def _hold_out(triples: list, *, fraction: float, seed: int) -> tuple[list, list]:
    if len(triples) < 20:
        return triples, []
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(triples), generator=generator).tolist()
    cut = max(1, int(len(triples) * fraction))
    held = sorted(order[:cut])
    kept = sorted(order[cut:])
    return [triples[i] for i in kept], [triples[i] for i in held]


def _choose_batch_mode(batch_mode: str, encoder: str | None, num_edges: int, config: TrainingConfig) -> str:
    if encoder is None:
        return "full"  # a shallow model has no message passing to sample
    if batch_mode == "subgraph":
        if not subgraph_training_available():
            raise MissingDependencyError(
                "batch_mode='subgraph' samples neighbourhoods with PyG's NeighborSampler, which needs "
                "'pyg-lib' or 'torch-sparse'; neither is installed. Install one built for this torch "
                f"({torch.__version__}), e.g. `pip install torch-sparse` (builds from source), "
                "or train with batch_mode='full'"
            )
        return "subgraph"
    if batch_mode == "auto" and num_edges * 2 * config.dim * 2 > _FULL_BATCH_BUDGET:
        if subgraph_training_available():
            return "subgraph"
        logger.info("the graph is large for full-batch R-GCN training and subgraph sampling is unavailable")
    return "full"


def _loss(predictor: LinkPredictor, batch: Tensor, generator: torch.Generator, subgraph: Any) -> Tensor:
    config = predictor.config
    link_model = predictor.model
    interaction = link_model.interaction
    n = predictor.id_maps.num_entities
    b, k = batch.shape[0], config.negatives
    device = batch.device
    # Negative sampling: each positive gets k copies with the head or the tail (equally often)
    # replaced by a uniformly drawn entity.
    corrupt = torch.randint(n, (b, k), generator=generator).to(device)
    replace_head = (torch.rand(b, k, generator=generator) < 0.5).to(device)
    relations = link_model.relation_embeddings()[batch[:, 1]]
    if subgraph is None:
        entities = link_model.entity_embeddings()
        local = None
    else:
        everything = torch.cat([batch[:, 0], batch[:, 2], corrupt.flatten()])
        entities, local = subgraph.encode(everything)
    if local is None:
        heads, tails = entities[batch[:, 0]], entities[batch[:, 2]]
    else:
        heads, tails = entities[local[batch[:, 0]]], entities[local[batch[:, 2]]]
    positive = interaction.score(heads, relations, tails)  # [b]
    if local is None and n <= _DENSE_NEGATIVES_FACTOR * k:
        # Few entities: scoring all of them by one matrix product and picking the sampled ones
        # costs less than scoring b * k gathered triples one by one.
        as_tail = interaction.score_tails(heads, relations, entities).gather(1, corrupt)
        as_head = interaction.score_heads(entities, relations, tails).gather(1, corrupt)
    else:
        picked = entities[corrupt if local is None else local[corrupt]]  # [b, k, De]
        rel_k = relations[:, None, :].expand(-1, k, -1)
        as_tail = interaction.score(heads[:, None, :].expand(-1, k, -1), rel_k, picked)
        as_head = interaction.score(picked, rel_k, tails[:, None, :].expand(-1, k, -1))
    negative = torch.where(replace_head, as_head, as_tail)  # [b, k]
    scores = torch.cat([positive, negative.flatten()])
    if interaction.name == "rotate":
        scores = scores + config.margin
    labels = torch.zeros_like(scores)
    labels[:b] = 1.0
    loss = torch.nn.functional.binary_cross_entropy_with_logits(scores, labels)
    if config.regularization > 0 and interaction.name != "rotate":
        n3 = heads.abs().pow(3).sum() + tails.abs().pow(3).sum() + relations.abs().pow(3).sum()
        loss = loss + config.regularization * n3 / b
    return loss


@dataclass(frozen=True)
class _LcwaQueries:
    """Every (head, relation, ?) and (?, relation, tail) query of the training triples, with its answers."""

    pairs: Tensor  # [Q, 2] long: (head, relation) for tail queries, (relation, tail) for head queries
    is_head_query: Tensor  # [Q] bool
    labels: Tensor  # [Q, N] bool: the known answers

    @classmethod
    def build(cls, train_ids: Tensor, num_entities: int) -> _LcwaQueries:
        tail_pairs, tail_of = torch.unique(train_ids[:, :2], dim=0, return_inverse=True)
        head_pairs, head_of = torch.unique(train_ids[:, 1:], dim=0, return_inverse=True)
        q = tail_pairs.shape[0] + head_pairs.shape[0]
        if q * num_entities > _LCWA_MAX_LABELS:
            raise InvalidInputError(
                f"training='lcwa' needs a {q} x {num_entities} label matrix, over {_LCWA_MAX_LABELS:.0e} "
                "entries; use training='slcwa' for a graph this large"
            )
        labels = torch.zeros(q, num_entities, dtype=torch.bool, device=train_ids.device)
        labels[tail_of, train_ids[:, 2]] = True
        labels[tail_pairs.shape[0] + head_of, train_ids[:, 0]] = True
        is_head = torch.zeros(q, dtype=torch.bool, device=train_ids.device)
        is_head[tail_pairs.shape[0] :] = True
        return cls(torch.cat([tail_pairs, head_pairs]), is_head, labels)


def _lcwa_loss(predictor: LinkPredictor, queries: _LcwaQueries, batch: Tensor) -> Tensor:
    config = predictor.config
    link_model = predictor.model
    interaction = link_model.interaction
    entities = link_model.entity_embeddings()
    relations = link_model.relation_embeddings()
    pairs, is_head = queries.pairs[batch], queries.is_head_query[batch]
    tail_q, head_q = pairs[~is_head], pairs[is_head]
    scores = torch.cat(
        [
            interaction.score_tails(entities[tail_q[:, 0]], relations[tail_q[:, 1]], entities),
            interaction.score_heads(entities, relations[head_q[:, 0]], entities[head_q[:, 1]]),
        ]
    )
    labels = torch.cat([queries.labels[batch][~is_head], queries.labels[batch][is_head]]).float()
    if config.label_smoothing > 0:
        labels = labels * (1.0 - config.label_smoothing) + config.label_smoothing / labels.shape[1]
    if interaction.name == "rotate":
        scores = scores + config.margin
    loss = torch.nn.functional.binary_cross_entropy_with_logits(scores, labels)
    if config.regularization > 0 and interaction.name != "rotate":
        used = torch.cat([tail_q[:, 0], head_q[:, 1]])
        rel_ids = torch.where(is_head, pairs[:, 0], pairs[:, 1])
        n3 = entities[used].abs().pow(3).sum() + relations[rel_ids].abs().pow(3).sum()
        loss = loss + config.regularization * n3 / batch.numel()
    return loss


class _SubgraphEncoder:
    """Runs the R-GCN encoder on sampled neighbourhoods of a batch's entities."""

    def __init__(self, predictor: LinkPredictor) -> None:
        from torch_geometric.data import Data
        from torch_geometric.sampler import NeighborSampler

        link_model = predictor.model
        self.model = link_model
        self.num_entities = predictor.id_maps.num_entities
        data = Data(edge_index=link_model.edge_index.cpu(), num_nodes=self.num_entities)
        fanout = [16] * len(link_model.convs)
        self.sampler = NeighborSampler(data, num_neighbors=fanout)
        self.edge_type = link_model.edge_type

    def encode(self, entity_ids: Tensor) -> tuple[Tensor, Tensor]:
        """Embeddings of the sampled neighbourhood of ``entity_ids``, and global → local ids."""
        from torch_geometric.sampler import NodeSamplerInput

        seeds = torch.unique(entity_ids).cpu()
        out = self.sampler.sample_from_nodes(NodeSamplerInput(input_id=None, node=seeds))
        device = entity_ids.device
        nodes = out.node.to(device)
        edge_index = torch.stack([out.row, out.col]).to(device)
        edge_type = self.edge_type[out.edge.to(device)]
        local = torch.full((self.num_entities,), -1, dtype=torch.long, device=device)
        local[nodes] = torch.arange(nodes.numel(), device=device)
        return self.model.encode_nodes(nodes, edge_index, edge_type), local


def _fit(
    predictor: LinkPredictor,
    train_ids: Tensor,
    valid_ids: Tensor,
    filter_ids: Tensor,
    *,
    mode: str,
    progress: bool,
) -> None:
    from tqdm.auto import tqdm

    config = predictor.config
    link_model = predictor.model
    optimizer = torch.optim.Adam(link_model.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    rank, world = process_group()
    shuffle = generator
    if world > 1:
        # Data parallel: every process draws the same order (one generator for it) and takes its
        # share of each batch; negatives come from a generator of its own.
        shuffle = torch.Generator().manual_seed(config.seed)
        generator = torch.Generator().manual_seed(config.seed + 1 + rank)
    subgraph = _SubgraphEncoder(predictor) if mode == "subgraph" else None
    queries = (
        _LcwaQueries.build(train_ids, predictor.id_maps.num_entities) if config.training == "lcwa" else None
    )
    best_mrr, best_state, best_epoch, stale = -1.0, None, 0, 0
    start = time.perf_counter()
    bar = tqdm(range(1, config.epochs + 1), desc=f"train {config.model}", disable=not progress, leave=False)
    for epoch in bar:
        link_model.train()
        size = train_ids.shape[0] if queries is None else queries.labels.shape[0]
        order = torch.randperm(size, generator=shuffle).to(train_ids.device)
        total = 0.0
        for whole in order.split(config.batch_size):
            batch_index = whole.tensor_split(world)[rank] if world > 1 else whole
            optimizer.zero_grad(set_to_none=True)
            if batch_index.numel():
                if queries is None:
                    loss = _loss(predictor, train_ids[batch_index], generator, subgraph)
                else:
                    loss = _lcwa_loss(predictor, queries, batch_index)
                loss.backward()
                total += float(loss.detach()) * batch_index.numel()
            if world > 1:
                average_gradients(link_model, batch_index.numel() / whole.numel())
            optimizer.step()
        if world > 1:
            total = all_reduce_sum(total)
        record: dict[str, float] = {"epoch": epoch, "loss": total / order.numel()}
        if valid_ids.shape[0] and (epoch % config.eval_every == 0 or epoch == config.epochs):
            mrr = predictor._evaluate_ids(valid_ids.to(train_ids.device), extra=filter_ids).mrr
            record["valid_mrr"] = mrr
            if mrr > best_mrr:
                best_mrr, best_epoch, stale = mrr, epoch, 0
                best_state = copy.deepcopy(link_model.state_dict())
            else:
                stale += 1
            bar.set_postfix(loss=f"{record['loss']:.4f}", valid_mrr=f"{mrr:.3f}")
            predictor.history.append({**record, "seconds": time.perf_counter() - start})
            if stale >= config.patience:
                logger.info(
                    "early stop at epoch %d; best validation MRR %.4f at %d", epoch, best_mrr, best_epoch
                )
                break
        else:
            bar.set_postfix(loss=f"{record['loss']:.4f}")
    if best_state is not None:
        link_model.load_state_dict(best_state)
    link_model.eval()
