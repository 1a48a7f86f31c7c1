"""Known-answer tests of the three score functions, and agreement of all-entity scoring with pairs."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmreason.gnn.interactions import COMPLEX, DISTMULT, INTERACTIONS, ROTATE
from mmreason.gnn.kge import KGEDecoderModel

# Three entities a, b, c and one relation; complex vectors as [real ‖ imaginary].
A, B, C = [1.0, 2.0], [3.0, -1.0], [0.0, 1.0]


@pytest.mark.parametrize(
    ("interaction", "relation", "head", "tail", "expected"),
    [
        # <h, r, t> = 1·2·3 + 2·1·(-1) = 4
        (DISTMULT, [2.0, 1.0], A, B, 4.0),
        (DISTMULT, [2.0, 1.0], A, C, 2.0),
        (DISTMULT, [2.0, 1.0], A, A, 6.0),
        # h = 1+2i, r = 2+i, t = 3-i: h·r = 5i, conj(t) = 3+i, 5i·(3+i) = -5+15i, Re = -5
        (COMPLEX, [2.0, 1.0], A, B, -5.0),
        # t = i: 5i·(-i) = 5
        (COMPLEX, [2.0, 1.0], A, C, 5.0),
        # r = exp(iπ/2) = i: h·r = -2+i, minus t = 3-i gives -5+2i, norm √29
        (ROTATE, [math.pi / 2], A, B, -math.sqrt(29.0)),
        # h·r - t = -2+i - i = -2
        (ROTATE, [math.pi / 2], A, C, -2.0),
    ],
)
def test_scores_match_hand_computation(interaction, relation, head, tail, expected):
    h, r, t = torch.tensor([head]), torch.tensor([relation]), torch.tensor([tail])
    assert interaction.score(h, r, t).item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("name", sorted(INTERACTIONS))
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), batch=st.integers(1, 5), num=st.integers(1, 7))
def test_scoring_all_entities_equals_scoring_each_triple(name, seed, batch, num):
    interaction = INTERACTIONS[name]
    g = torch.Generator().manual_seed(seed)
    dim = 3
    entities = torch.randn(num, interaction.entity_width(dim), generator=g, dtype=torch.float64)
    rel = torch.randn(batch, interaction.relation_width(dim), generator=g, dtype=torch.float64)
    heads = torch.randint(num, (batch,), generator=g)
    tails = torch.randint(num, (batch,), generator=g)
    all_tails = interaction.score_tails(entities[heads], rel, entities)
    all_heads = interaction.score_heads(entities, rel, entities[tails])
    for j in range(num):
        cand = torch.full((batch,), j)
        torch.testing.assert_close(all_tails[:, j], interaction.score(entities[heads], rel, entities[cand]))
        torch.testing.assert_close(all_heads[:, j], interaction.score(entities[cand], rel, entities[tails]))


@pytest.mark.parametrize(("decoder", "offset"), [("distmult", 0.0), ("complex", 0.0), ("rotate", 1.0)])
def test_scores_equal_pyg_forward_on_the_same_weights(decoder, offset):
    # PyG's RotatE returns margin - distance (margin 1.0): the same ranking, shifted.
    torch.manual_seed(0)
    model = KGEDecoderModel(decoder, num_entities=6, num_relations=2, dim=5)
    h, r, t = torch.tensor([0, 1, 5]), torch.tensor([1, 0, 1]), torch.tensor([2, 2, 3])
    with torch.no_grad():
        torch.testing.assert_close(model.score(h, r, t) + offset, model.kge(h, r, t))
