"""Score functions of the KGE decoders: DistMult, ComplEx and RotatE.

Each interaction scores a triple from the head embedding, the relation
parameters and the tail embedding, and scores one (head, relation) or
(relation, tail) query against every entity at once, which is what filtered
ranking and fact completion need. Entities of the complex models are stored
as real tensors with the real part in the first half and the imaginary part
in the second (``[N, 2 * dim]``), the layout of PyG's ``node_emb`` /
``node_emb_im`` pair.

Higher scores mean more plausible triples:

- DistMult (Yang et al., 2015, arXiv:1412.6575): ``<h, r, t>``.
- ComplEx (Trouillon et al., 2016, arXiv:1606.06357): ``Re(<h, r, conj(t)>)``.
- RotatE (Sun et al., 2019, arXiv:1902.10197): ``-||h ∘ r - t||`` with
  ``r = exp(i θ)``; the relation parameters are the phases ``θ``.

>>> import torch
>>> h, r, t = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 1.0]]), torch.tensor([[2.0, 1.0]])
>>> DISTMULT.score(h, r, t)
tensor([8.])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["COMPLEX", "DISTMULT", "INTERACTIONS", "ROTATE", "Interaction"]


def _halves(x: Tensor) -> tuple[Tensor, Tensor]:
    half = x.shape[-1] // 2
    return x[..., :half], x[..., half:]


def _distmult(h: Tensor, r: Tensor, t: Tensor) -> Tensor:
    return (h * r * t).sum(dim=-1)


def _distmult_tails(h: Tensor, r: Tensor, entities: Tensor) -> Tensor:
    return (h * r) @ entities.T


def _distmult_heads(entities: Tensor, r: Tensor, t: Tensor) -> Tensor:
    return (r * t) @ entities.T


def _complex(h: Tensor, r: Tensor, t: Tensor) -> Tensor:
    h_re, h_im = _halves(h)
    r_re, r_im = _halves(r)
    t_re, t_im = _halves(t)
    return (h_re * r_re * t_re + h_im * r_re * t_im + h_re * r_im * t_im - h_im * r_im * t_re).sum(dim=-1)


def _complex_tails(h: Tensor, r: Tensor, entities: Tensor) -> Tensor:
    # Re(<h r, conj t>) = (h r)_re · t_re + (h r)_im · t_im: one matrix product against all tails.
    h_re, h_im = _halves(h)
    r_re, r_im = _halves(r)
    hr = torch.cat([h_re * r_re - h_im * r_im, h_re * r_im + h_im * r_re], dim=-1)
    return hr @ entities.T


def _complex_heads(entities: Tensor, r: Tensor, t: Tensor) -> Tensor:
    # Re(<h, r conj t>) = h_re · (r conj t)_re - h_im · (r conj t)_im.
    r_re, r_im = _halves(r)
    t_re, t_im = _halves(t)
    rt = torch.cat([r_re * t_re + r_im * t_im, -(r_im * t_re - r_re * t_im)], dim=-1)
    return rt @ entities.T


def _rotate_hr(h: Tensor, theta: Tensor) -> Tensor:
    h_re, h_im = _halves(h)
    cos, sin = torch.cos(theta), torch.sin(theta)
    return torch.cat([h_re * cos - h_im * sin, h_re * sin + h_im * cos], dim=-1)


def _rotate(h: Tensor, theta: Tensor, t: Tensor) -> Tensor:
    return -torch.linalg.vector_norm(_rotate_hr(h, theta) - t, dim=-1)


def _rotate_tails(h: Tensor, theta: Tensor, entities: Tensor) -> Tensor:
    return -torch.cdist(_rotate_hr(h, theta), entities)


def _rotate_heads(entities: Tensor, theta: Tensor, t: Tensor) -> Tensor:
    # A rotation preserves the norm: ||h ∘ r - t|| = ||h - t ∘ conj(r)||.
    return -torch.cdist(_rotate_hr(t, -theta), entities)


@dataclass(frozen=True, slots=True)
class Interaction:
    """One decoder's score function, for single triples and against all entities.

    Attributes:
        name: ``"distmult"``, ``"complex"`` or ``"rotate"``.
        is_complex: entity vectors hold a real and an imaginary half.
        score: ``(h [B, De], r [B, Dr], t [B, De]) -> [B]``.
        score_tails: ``(h [B, De], r [B, Dr], entities [N, De]) -> [B, N]``.
        score_heads: ``(entities [N, De], r [B, Dr], t [B, De]) -> [B, N]``.
    """

    name: str
    is_complex: bool
    score: Callable[[Tensor, Tensor, Tensor], Tensor]
    score_tails: Callable[[Tensor, Tensor, Tensor], Tensor]
    score_heads: Callable[[Tensor, Tensor, Tensor], Tensor]

    def entity_width(self, dim: int) -> int:
        """Columns of an entity embedding for a model of dimension ``dim``."""
        return 2 * dim if self.is_complex else dim

    def relation_width(self, dim: int) -> int:
        """Columns of a relation's parameters (RotatE keeps one phase per complex dimension)."""
        return 2 * dim if self.name == "complex" else dim


DISTMULT = Interaction("distmult", False, _distmult, _distmult_tails, _distmult_heads)
COMPLEX = Interaction("complex", True, _complex, _complex_tails, _complex_heads)
ROTATE = Interaction("rotate", True, _rotate, _rotate_tails, _rotate_heads)
INTERACTIONS = {i.name: i for i in (DISTMULT, COMPLEX, ROTATE)}
