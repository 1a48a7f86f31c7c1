"""Every registry entry builds and scores; unknown names list the choices."""

from __future__ import annotations

import pytest
import torch

from mmreason import UnknownNameError
from mmreason.gnn import MODELS, model_spec
from mmreason.gnn.registry import build_model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_builds_and_scores(name):
    spec = model_spec(name)
    model = build_model(
        spec,
        num_entities=4,
        num_relations=2,
        dim=3,
        edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]),
        edge_type=torch.tensor([0, 1, 0]),
    )
    scores = model.score(torch.tensor([0, 3]), torch.tensor([1, 0]), torch.tensor([2, 1]))
    assert scores.shape == (2,)
    assert torch.isfinite(scores).all()
    assert model.entity_embeddings().shape == (4, model.interaction.entity_width(3))


def test_unknown_model_lists_the_choices():
    with pytest.raises(UnknownNameError, match=r"did you mean 'distmult'.*choose one of: complex, distmult"):
        model_spec("distmul")


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        MODELS["mine"] = MODELS["distmult"]  # type: ignore[index]
