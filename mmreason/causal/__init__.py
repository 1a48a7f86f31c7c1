"""Structural causal models: SCM files, exact do and counterfactual queries, effects, PN/PS.

The facade is :class:`~mmreason.causal.scm.SCM`; the file format is in ``docs/scm-format.md``.
Importing this package is light: torch, pandas and DoWhy load on first use.
"""

from __future__ import annotations

from mmreason.causal.causation import Bounds, CausationResult
from mmreason.causal.distribution import (
    DiscreteDistribution,
    Distribution,
    DistributionBatch,
    SampleDistribution,
)
from mmreason.causal.effects import EffectEstimate, Refutation
from mmreason.causal.scm import SCM

__all__ = [
    "SCM",
    "Bounds",
    "CausationResult",
    "DiscreteDistribution",
    "Distribution",
    "DistributionBatch",
    "EffectEstimate",
    "Refutation",
    "SampleDistribution",
]
