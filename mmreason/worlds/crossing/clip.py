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

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from mmreason.errors import InvalidInputError
from mmreason.worlds.crossing.render import (
    HEIGHT,
    LAYOUT,
    PIXELS_PER_METRE,
    WIDTH,
    SceneObject,
    SceneTruth,
    _clip,
    _draw_pedestrian,
    _draw_rain,
    _draw_sky,
    _draw_street,
    _draw_traffic_light,
    _draw_vehicle,
    _vehicle_box,
    render_values,
)
from mmreason.worlds.crossing.sim import HORIZON_S, ROAD_WIDTH_M, Draws, Run, simulate

__all__ = ["DASH_M", "FPS", "GAP_M", "ClipTruth", "FrameTruth", "iter_clip", "render_clip", "render_still"]


def render_still(seed: int, **do: Any) -> tuple[Image.Image, SceneTruth, Run]:
    """The still of clip ``seed`` at t = 0: ``(image, truth, run)``; ``do`` intervenes on the run."""
    run = simulate(Draws.sample(seed), **do)
    image, truth = render_values(run.still_values(), seed=int(seed))
    return image, truth, run


# ---------------------------------------------------------------------------------------------
# Clips

#: The frame rate and length of a clip unless asked otherwise.
FPS = 12.5
DURATION_S = 6.0
#: The centre line's dashes: 3 m painted, 9 m gap (a common national standard), drawn between lanes.
DASH_M, GAP_M = 3.0, 9.0
_DASH_ROWS = (202, 204)
_DASH = (240, 240, 236)


@dataclass(frozen=True, slots=True)
class FrameTruth:
    """What one frame shows: the time, the light, and each road user's box by a stable name."""

    index: int
    time: float
    light: str
    boxes: Mapping[str, tuple[int, int, int, int]]
    braking: bool


@dataclass(frozen=True, slots=True)
class ClipTruth:
    """A rendered clip's truth: the simulator's run and the frames' boxes."""

    seed: int
    run: Run
    fps: float
    frames: tuple[FrameTruth, ...]
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """Every draw, the interventions and the events: enough to re-run and score the clip."""
        return {
            "draws": self.run.draws.to_dict(),
            "events": [asdict(event) for event in self.run.events],
            "do": dict(self.run.do),
        }


def _pixel_x(metres: float) -> int:
    return LAYOUT.crosswalk_x0 + round(metres * PIXELS_PER_METRE)


def _feet(y_m: float) -> int:
    """The pixel row of the feet of someone ``y_m`` metres across the road from the near kerb."""
    band = LAYOUT.road_bottom - LAYOUT.road_top
    return round(LAYOUT.road_bottom - y_m * band / ROAD_WIDTH_M)


def _background(seed: int, weather: str, surface: str) -> Image.Image:
    rng = np.random.default_rng([int(seed), 0xC1B0])
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    _draw_sky(draw, rng, weather)
    _draw_street(draw, rng, surface)
    phase = float(rng.uniform(0, DASH_M + GAP_M))
    period = (DASH_M + GAP_M) * PIXELS_PER_METRE
    x = -phase * PIXELS_PER_METRE
    while x < WIDTH:
        x0, x1 = round(x), round(x + DASH_M * PIXELS_PER_METRE) - 1
        for a, b in ((x0, min(x1, LAYOUT.crosswalk_x0 - 1)), (max(x0, LAYOUT.crosswalk_x1), x1)):
            if a <= b:
                draw.rectangle([a, _DASH_ROWS[0], b, _DASH_ROWS[1]], fill=_DASH)
        x += period
    if weather == "rain":
        _draw_rain(draw, rng)
    return image


def iter_clip(
    run: Run, *, seed: int, fps: float = FPS, duration: float = DURATION_S
) -> Iterator[tuple[Image.Image, FrameTruth]]:
    """The frames of a run, one at a time, with what each shows."""
    d = run.draws
    background = _background(seed, d.weather, run.surface)
    kinds = [(o.type, o.colour, o.lane) for o in d.others]
    for index, state in enumerate(run.frames(fps, duration=duration)):
        image = background.copy()
        draw = ImageDraw.Draw(image)
        boxes: dict[str, tuple[int, int, int, int]] = {}
        users: list[tuple[int, str, Any]] = []
        for k, ((kind, colour, lane), front) in enumerate(zip(kinds, state.others, strict=True)):
            obj = SceneObject(kind, colour, (0, 0, 1, 1), lane, braking=False if lane == "near" else None)
            box = _vehicle_box(kind, _pixel_x(front), lane, lane == "near")
            users.append((box[3], f"other-{k}", replace(obj, bbox=box)))
        car = SceneObject(d.vehicle, d.colour, (0, 0, 1, 1), "near", nearest=True, braking=state.braking)
        users.append(
            (
                LAYOUT.near_lane_y,
                "car",
                replace(car, bbox=_vehicle_box(d.vehicle, _pixel_x(state.car_x), "near", True)),
            )
        )
        if state.pedestrian is not None:
            px, py = state.pedestrian
            feet = _feet(py)
            x0 = _pixel_x(px) - 7
            users.append(
                (
                    feet,
                    "pedestrian",
                    SceneObject("pedestrian", None, (x0, feet - 36, x0 + 14, feet), "crosswalk"),
                )
            )
        for _, name, obj in sorted(users, key=lambda u: u[0]):
            if obj.bbox[2] <= 0 or obj.bbox[0] >= WIDTH:
                continue
            if obj.type == "pedestrian":
                _draw_pedestrian(draw, np.random.default_rng([int(seed), 0xBED]), obj.bbox)
            else:
                _draw_vehicle(draw, obj)
            boxes[name] = _clip(obj.bbox)
        _draw_traffic_light(draw, state.light)
        yield image, FrameTruth(index, state.time, state.light, boxes, state.braking)


def render_clip(
    seed: int,
    *,
    out: str | Path | None = None,
    fps: float = FPS,
    duration: float = DURATION_S,
    **do: Any,
) -> ClipTruth:
    """Simulate clip ``seed`` (under ``do``) and draw it; with ``out``, write it as an MP4 there.

    Frames are drawn and encoded one at a time, so a long clip never sits in memory.

    >>> truth = render_clip(5, duration=1.0)
    >>> len(truth.frames), truth.frames[1].time
    (12, 0.08)
    """
    if not (isinstance(fps, (int, float)) and 10 <= fps <= 25):
        raise InvalidInputError(f"fps must be between 10 and 25, found {fps!r}")
    if not (isinstance(duration, (int, float)) and 0 < duration <= HORIZON_S):
        raise InvalidInputError(f"duration must be in (0, {HORIZON_S:g}] s, found {duration!r}")
    run = simulate(Draws.sample(seed), **do)
    frames = []
    if out is None:
        frames = [truth for _, truth in iter_clip(run, seed=seed, fps=fps, duration=duration)]
        return ClipTruth(int(seed), run, float(fps), tuple(frames))
    from mmreason.vision.video import VideoWriter

    path = Path(out)
    with VideoWriter(path, fps=fps) as writer:
        for image, truth in iter_clip(run, seed=seed, fps=fps, duration=duration):
            writer.write(image)
            frames.append(truth)
    return ClipTruth(int(seed), run, float(fps), tuple(frames), path)
