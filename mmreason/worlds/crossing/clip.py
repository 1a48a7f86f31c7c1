"""Pictures of simulated clips: a still at the clip's first instant, and the clip as video.

The simulator (:mod:`mmreason.worlds.crossing.sim`) decides what happens; this
module only draws it. :func:`render_still` draws the first instant in the style
of :func:`~mmreason.worlds.crossing.render.render_values` (motion streaks for
speed, the still renderer's nuisance traffic), so everything trained on the
still renders reads it; the still's truth carries the run, so the picture's
counterfactuals are the simulator's re-runs.

>>> image, truth, run = render_still(3)
>>> truth.light == run.states[0].light and truth.values["Speed"] == run.draws.speed
True
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from mmreason.worlds.crossing.render import SceneTruth, render_values
from mmreason.worlds.crossing.sim import Draws, Run, simulate

__all__ = ["render_still"]


def render_still(seed: int, **do: Any) -> tuple[Image.Image, SceneTruth, Run]:
    """The still of clip ``seed`` at t = 0: ``(image, truth, run)``; ``do`` intervenes on the run."""
    run = simulate(Draws.sample(seed), **do)
    image, truth = render_values(run.still_values(), seed=int(seed))
    return image, truth, run
