"""Grounding a clip of the crossing: calibration from the street, tracking, speed and events.

Nothing here reads the renderer's constants; what is measured comes off the frames:

1. **Calibration** (:func:`calibrate`, on the first frame): the crosswalk is found as the
   columns crossed by many short bright stripes, the stop line is its near edge and the
   road's band its stripes' extent; the dashed centre line is the row with the most short
   bright runs outside the crosswalk, and the period of its dashes (3 m painted, 9 m gap, a
   common marking standard: :data:`DASH_PERIOD_M`) gives pixels per metre, as one calibrates
   a real camera from lane markings. Across the road, the band is two 3.5 m lanes.
2. **Detection**: the camera is still, so the background is the per-pixel median of frames
   spread over the clip; foreground components are the road users. A vehicle that comes to
   rest for most of the clip sinks into that background: its track ends where it stopped,
   and it is kept there at speed 0.
3. **Tracking**: each frame's boxes join the tracks by overlap and nearness (stable ids).
   The car of the story is the near-lane vehicle nearest the stop line in the first frame.
4. **Measures**: position of the car's front in metres from the stop line, speed as the slope
   of a straight line through five frames, braking onset as the first frame whose rear lamp
   shows a hot centre, the light's state as the brightest third of its dark housing.
5. **Events** (light change, braking onset, stop, pedestrian enters the crosswalk,
   collision) become RDF facts with OWL-Time instants (:meth:`ClipGrounding.to_rdf`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mmreason.errors import InvalidInputError, VideoError

__all__ = [
    "DASH_PERIOD_M",
    "LANE_M",
    "Calibration",
    "ClipGrounding",
    "Track",
    "calibrate",
    "ground_clip",
    "read_clip",
]

#: A centre-line dash and its gap: 3 m + 9 m.
DASH_PERIOD_M = 12.0
#: The width of a lane; the road is two lanes.
LANE_M = 3.5
_BRIGHT = 215  # a marking's channels all above this
_DIFF = 28  # a foreground pixel differs from the background by more than this in some channel
_STILL = 4.0  # mean difference of a box between two frames, below which nothing in it moved


@dataclass(frozen=True, slots=True)
class Calibration:
    """Pixels per metre along the road, where the stop line and the road's band are."""

    px_per_m: float
    stop_line_px: float
    crosswalk_px: tuple[int, int]
    road_px: tuple[int, int]  # top and bottom rows of the road

    def along(self, x_px: float) -> float:
        """Metres past the stop line of a pixel column (negative before it)."""
        return (x_px - self.stop_line_px) / self.px_per_m

    def across(self, y_px: float) -> float:
        """Metres from the near kerb of a pixel row of feet on the road."""
        top, bottom = self.road_px
        return (bottom - y_px) * 2 * LANE_M / (bottom - top)


def _runs(line: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True in a 1-D boolean array, end exclusive."""
    padded = np.concatenate([[False], line, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def calibrate(image: Image.Image) -> Calibration:
    """The calibration of a frame from its crosswalk and its centre line's dashes.

    Raises:
        VideoError: the frame shows no crosswalk or no dashed centre line to measure.
    """
    rgb = np.asarray(image.convert("RGB"))
    bright = (rgb > _BRIGHT).all(axis=2)
    _height, width = bright.shape
    # The crosswalk: columns crossed by at least four bright runs of 6-20 px down the frame.
    stripes = np.array([sum(6 <= b - a <= 20 for a, b in _runs(bright[:, x])) for x in range(width)])
    columns = np.flatnonzero(stripes >= 4)
    if columns.size < 8:
        raise VideoError("the frame shows no crosswalk to calibrate from (no column of stripes)")
    x0, x1 = int(columns.min()), int(columns.max()) + 1
    # The stripes' rows: at least half the crosswalk's width bright (a road user may hide some).
    rows = np.flatnonzero(bright[:, x0:x1].sum(axis=1) >= (x1 - x0) / 2)
    if rows.size == 0:
        raise VideoError("the frame shows no crosswalk stripes to find the road's band from")
    road = (int(rows.min()) - 4, int(rows.max()) + 5)
    # The centre line: the road row with the most dash-long bright runs outside the crosswalk.
    best: tuple[int, list[int]] = (0, [])
    for y in range(road[0], road[1]):
        # Runs split by a pixel or two (rain, a compression artefact) are one dash.
        joined: list[list[int]] = []
        for a, b in _runs(bright[y, :x0]):
            if joined and a - joined[-1][1] <= 3:
                joined[-1][1] = b
            else:
                joined.append([a, b])
        starts = [a for a, b in joined if b - a >= 12]
        if len(starts) > best[0]:
            best = (len(starts), starts)
    starts = best[1]
    if len(starts) < 3:
        raise VideoError("the frame shows no dashed centre line to calibrate from (fewer than 3 dashes)")
    period = float(np.median(np.diff(starts)))
    return Calibration(period / DASH_PERIOD_M, float(x0), (x0, x1), road)


@dataclass(slots=True)
class Track:
    """One road user followed through the frames: times, boxes, and per-frame flags."""

    times: list[float] = field(default_factory=list)
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    lamps: list[bool] = field(default_factory=list)
    glows: list[bool] = field(default_factory=list)  # a weaker sign of a lit lamp (see _lamp_glow)
    lost_at: float | None = None  # it sank into the background: at rest
    left_at: float | None = None  # its front left the picture
    rear: int | None = None  # after its front left: the farthest pixel column its rear was seen at

    @property
    def last(self) -> tuple[int, int, int, int]:
        return self.boxes[-1]


@dataclass(frozen=True, slots=True)
class ClipGrounding:
    """What a clip shows, measured: the calibration, the car's motion, the light, the events."""

    calibration: Calibration
    fps: float
    times: tuple[float, ...]
    car_x: tuple[float | None, ...]  # metres of the car's front from the stop line, per frame
    car_speed: tuple[float | None, ...]  # m/s per frame
    lights: tuple[str, ...]
    events: tuple[tuple[str, float, str], ...]  # (kind, time s, detail)
    pedestrian_on_crosswalk: tuple[bool, ...]
    seconds: float  # wall time spent grounding
    first_frame: Image.Image = field(repr=False, compare=False)
    car_box: tuple[int, int, int, int] = (0, 0, 0, 0)  # the car's box in the first frame
    light_box: tuple[int, int, int, int] = (0, 0, 0, 0)  # the traffic light's housing
    car_left_at: float | None = None  # when the car's front left the picture
    car_rear: float | None = None  # after that, the farthest its rear was seen (metres past the stop line)
    pedestrian_box: tuple[int, int, int, int] | None = None  # where one was first seen on the crosswalk

    @property
    def frames_per_second(self) -> float:
        return len(self.times) / self.seconds

    def event(self, kind: str) -> tuple[str, float, str] | None:
        return next((e for e in self.events if e[0] == kind), None)

    def speed_at(self, time: float) -> float | None:
        i = min(range(len(self.times)), key=lambda k: abs(self.times[k] - time))
        return self.car_speed[i]

    def to_rdf(self, clip_iri: str) -> Any:
        """The events as RDF: each an ``mm:Event`` with an OWL-Time instant in the clip's seconds."""
        from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef

        from mmreason.kg.vocab import MM

        time = Namespace("http://www.w3.org/2006/time#")
        g = Graph()
        g.bind("time", time)
        g.bind("mm", MM)
        clip = URIRef(clip_iri)
        trs = URIRef(f"{clip_iri}#seconds")  # the clip's own clock: seconds from its first frame
        for k, (kind, at, detail) in enumerate(self.events):
            node = URIRef(f"{clip_iri}#event-{k}")
            instant, position = BNode(), BNode()
            g.add((node, RDF.type, MM.Event))
            g.add((node, MM.inClip, clip))
            g.add((node, MM.eventKind, Literal(kind)))
            if detail:
                g.add((node, MM.detail, Literal(detail)))
            g.add((node, time.hasTime, instant))
            g.add((instant, RDF.type, time.Instant))
            g.add((instant, time.inTimePosition, position))
            g.add((position, RDF.type, time.TimePosition))
            g.add((position, time.numericPosition, Literal(f"{at:.3f}", datatype=XSD.decimal)))
            g.add((position, time.hasTRS, trs))
        return g


def _light(rgb: np.ndarray, housing: tuple[int, int, int, int]) -> str:
    x0, y0, x1, y1 = housing
    thirds = np.array_split(rgb[y0:y1, x0:x1].reshape(-1, x1 - x0, 3), 3, axis=0)
    means = [t.reshape(-1, 3).astype(float) for t in thirds]
    lit = int(np.argmax([m.sum(axis=1).max() for m in means]))
    r, g, _b = means[lit][np.argmax(means[lit].sum(axis=1))]
    if r > 180 and g > 150:
        return "yellow"
    return "red" if r > g else "green"


def _housing(rgb: np.ndarray) -> tuple[int, int, int, int]:
    """The traffic light's dark housing: the dark component about twice as tall as wide."""
    from scipy import ndimage

    dark = (rgb <= 45).all(axis=2)
    labels, _n = ndimage.label(dark)
    best = None
    for k, sl in enumerate(ndimage.find_objects(labels), start=1):
        # The housing's rows are those nearly as wide as the widest (its pole is thinner).
        widths = (labels[sl] == k).sum(axis=1)
        rows = np.flatnonzero(widths >= 0.8 * widths.max())
        h, w = int(rows.max() - rows.min() + 1), int(widths.max())
        if 1.8 <= h / max(w, 1) <= 3.2 and 12 <= w <= 40:
            top = sl[0].start + int(rows.min())
            best = (
                best
                if best is not None and best[0] >= h * w
                else (h * w, (sl[1].start, top, sl[1].stop, top + h))
            )
    if best is None:
        raise VideoError("the frame shows no traffic light (no dark housing twice as tall as wide)")
    return best[1]


def _rear(rgb: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, ...]:
    """The box's rear quarter, low on the body, as red, green and blue columns of its pixels, and
    the median red of the body's paint (its middle)."""
    x0, y0, x1, y1 = box
    # A few pixels behind the box too: a dark body on a dark road may be found short of its rear.
    rear = (
        rgb[y0 + (y1 - y0) // 3 : y1, max(0, x0 - 3) : x0 + max(8, (x1 - x0) // 4)].reshape(-1, 3).astype(int)
    )
    body = np.median(rgb[y0 : y1 - (y1 - y0) // 4, (x0 + x1) // 2 - 4 : (x0 + x1) // 2 + 4, 0])
    return rear[:, 0], rear[:, 1], rear[:, 2], body


def _lamp_lit(rgb: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """A lit rear lamp in the box's rear quarter, low on the body: its hot centre (near-white red)
    or a red brighter than paint."""
    r, g, b, body = _rear(rgb, box)
    hot = (r > 235) & (g > 165) & (b > 120) & (g > b) & (r - b > 35)  # near-white red, greener than blue
    # On a dark body the codec blurs the hot centre: a red clearly brighter than the body's paint.
    lit = (r > 225) & (g < 120) & (b < 120) & (r > body + 30)
    return bool((hot | lit).sum() >= 2)


def _lamp_glow(rgb: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """A weaker sign of a lit rear lamp: a near-white red far brighter than the body's paint.

    In the first frame a lamp is lit, the codec may carry the colours around the hot centre
    into it (pinker than it is), so :func:`_lamp_lit` misses it; taken alone this sign also
    fires on other bright things, so it only moves a lit lamp's onset one frame earlier.
    """
    r, g, b, body = _rear(rgb, box)
    glow = (r > 235) & (g > 150) & (b > 110) & (r - b > 35) & (r > body + 40)
    return bool(glow.sum() >= 2)


def _plate(frames: list[np.ndarray]) -> np.ndarray:
    """The empty street: the per-pixel median of the early frames, or of the late ones where the
    two disagree and the late one is closer to its row's colour.

    A road user resting for most of one half of the clip is in that half's median; the other
    half's median shows what is behind it, and which of the two is the street is told by the
    row's colour where both halves agree (roads, sidewalks and sky are nearly one colour a row).
    """
    cut = max(1, round(0.4 * len(frames)))
    early = np.median(np.stack(frames[:cut]), axis=0).astype(np.int16)
    late = np.median(np.stack(frames[-cut:]), axis=0).astype(np.int16)
    agree = (np.abs(early - late) <= _DIFF).all(axis=2)
    rows = np.empty_like(early)
    for y in range(early.shape[0]):
        seen = early[y][agree[y]]
        rows[y] = np.median(seen, axis=0) if len(seen) else np.median(early[y], axis=0)
    closer_late = np.abs(late - rows).sum(axis=2) < np.abs(early - rows).sum(axis=2)
    return np.where((~agree & closer_late)[..., None], late, early)


def ground_clip(source: str | Path | Iterable[Image.Image], *, fps: float | None = None) -> ClipGrounding:
    """Measure a clip of the crossing (an MP4's path, or frames with their ``fps``).

    Frames are read twice (once for the background, once to track), one at a time.
    """
    import time as clock

    from scipy import ndimage

    from mmreason.vision.video import iter_frames, probe

    if isinstance(source, (str, Path)):
        info = probe(source)
        rate = info.fps

        def frames() -> Iterable[np.ndarray]:
            return (np.asarray(f.image) for f in iter_frames(source))

        count = info.frames
    else:
        if fps is None or fps <= 0:
            raise InvalidInputError("frames given as images need their fps")
        images = [np.asarray(im.convert("RGB")) for im in source]
        rate, count = float(fps), len(images)

        def frames() -> Iterable[np.ndarray]:
            return iter(images)

    if count == 0:
        raise VideoError("the clip has no frames")
    start = clock.perf_counter()
    step = max(1, count // 25)
    sample = [f for k, f in enumerate(frames()) if k % step == 0]
    plate = _plate(sample)
    first = sample[0]
    # Calibrated on the first frame; where a road user hides the markings there, on the empty street.
    try:
        calib = calibrate(Image.fromarray(first))
    except VideoError:
        calib = calibrate(Image.fromarray(plate.astype(np.uint8)))
    housing = _housing(first)
    top, bottom = calib.road_px
    middle = (top + bottom) / 2

    car: Track | None = None
    lights: list[str] = []
    times: list[float] = []
    walkers: list[bool] = []
    walker: tuple[int, int, int, int] | None = None  # the box of the first one seen on the crosswalk
    previous: np.ndarray | None = None
    for k, rgb in enumerate(frames()):
        t = k / rate
        times.append(t)
        previous, rgb_before = rgb, previous
        lights.append(_light(rgb, housing))
        pixels = rgb.astype(np.int16)
        moving = (np.abs(pixels - plate) > _DIFF).any(axis=2)
        moving[housing[1] - 2 : housing[3] + 2, housing[0] - 2 : housing[2] + 2] = False
        labels, _ = ndimage.label(moving)
        parts = [(sl[1].start, sl[0].start, sl[1].stop, sl[0].stop) for sl in ndimage.find_objects(labels)]
        boxes = [
            b
            for b in _merge(p for p in parts if (p[2] - p[0]) * (p[3] - p[1]) >= 40)
            if b[3] - b[1] >= 14 and b[2] - b[0] >= 8 and (b[3] - b[1]) * (b[2] - b[0]) >= 200
        ]
        # Pedestrians: taller than wide; on the crosswalk when their feet are on the road within it.
        on = False
        for x0, y0, x1, y1 in boxes:
            if (y1 - y0) > 1.6 * (x1 - x0) and calib.crosswalk_px[0] <= (x0 + x1) / 2 <= calib.crosswalk_px[
                1
            ]:
                on = on or top <= y1 <= bottom
                if on and walker is None:
                    walker = (x0, y0, x1, y1)
        walkers.append(on)
        vehicles = [b for b in boxes if (b[2] - b[0]) >= (b[3] - b[1])]
        if k == 0:
            near = [b for b in vehicles if b[3] > middle and b[2] <= calib.crosswalk_px[1] + 4]
            first_lamps = {b: _lamp_lit(rgb, b) for b in near}
            first_glows = {b: _lamp_glow(rgb, b) for b in near}
            continue
        if car is None:
            # The car of the story: of the first frame's near-lane vehicles short of the crosswalk,
            # the one nearest it that has moved by the second frame.
            moved = [
                b for b in near if any(0 < c[2] - b[2] <= 40 and abs(c[3] - b[3]) <= 6 for c in vehicles)
            ]
            if not moved:
                raise VideoError("the clip shows no vehicle driving towards the crosswalk")
            box = max(moved, key=lambda b: b[2])
            car = Track([times[0]], [box], [first_lamps[box]], [first_glows[box]])
        if car.left_at is not None:
            # Its front is out of the picture; its rear still shows how far it went.
            rear = car.rear if car.rear is not None else car.last[0]
            tails = [b[0] for b in vehicles if b[2] >= rgb.shape[1] - 1 and abs(b[3] - car.last[3]) <= 6]
            ahead = [x for x in tails if 0 <= x - rear <= 40]
            if ahead:
                car.rear = min(ahead)
            continue
        if car.lost_at is not None:
            continue
        last = car.last
        length = max(b[2] - b[0] for b in car.boxes if b[0] > 0) if any(b[0] > 0 for b in car.boxes) else None
        step = last[2] - car.boxes[-2][2] if len(car.boxes) > 1 else 0
        candidates = []
        for b in vehicles:
            if b[3] <= middle or abs(b[3] - last[3]) > 6:
                continue
            if length is not None and b[0] > 0 and b[2] - b[0] > length + 4:
                # Joined to something ahead of it (a trace of the background): its rear and length.
                b = (b[0], b[1], b[0] + length, b[3])
            low, high = (-4, 8) if len(car.boxes) > 1 else (-4 - step, 40 - step)
            halted = len(car.boxes) > 1 and step > 4 and abs(b[2] - last[2]) <= 2
            if low <= b[2] - (last[2] + step) <= high or halted:
                candidates.append(b)  # where its motion takes it, or stopped dead (a collision)
        if last[2] + step >= rgb.shape[1] - 2 or any(b[2] >= rgb.shape[1] - 1 for b in candidates):
            car.left_at = t  # its front leaves the picture
            continue
        driven = len(car.boxes) >= 3 and last[2] - car.boxes[0][2] >= 8
        if not candidates and driven and (_unchanged(rgb, rgb_before, last) or _unchanged(rgb, plate, last)):
            # Stopped after driving: at rest it becomes part of the background the frames are
            # compared with, and its box shows what it showed a frame before, or what the
            # background shows there (a car parked for most of the clip). It stays where it stopped.
            candidates = [last]
        if not candidates:
            car.lost_at = t  # not found where it should be: nothing more is measured
            continue
        box = min(candidates, key=lambda b: abs(b[2] - last[2] - step))
        car.times.append(t)
        car.boxes.append(box)
        car.lamps.append(_lamp_lit(rgb, box))
        car.glows.append(_lamp_glow(rgb, box))
    if car is None:
        raise VideoError("the clip is too short to find a moving vehicle (fewer than 2 frames)")
    xs: list[float | None] = []
    for t in times:
        if t in car.times:
            xs.append(calib.along(car.boxes[car.times.index(t)][2]))
        else:
            xs.append(None)
    speeds = _speeds(times, xs, car)
    events = _events(times, lights, car, xs, speeds, walkers)
    seconds = clock.perf_counter() - start
    return ClipGrounding(
        calib,
        rate,
        tuple(times),
        tuple(xs),
        tuple(speeds),
        tuple(lights),
        tuple(events),
        tuple(walkers),
        seconds,
        Image.fromarray(first),
        car.boxes[0],
        housing,
        car.left_at,
        None if car.rear is None else calib.along(car.rear),
        walker,
    )


def _unchanged(rgb: np.ndarray, before: np.ndarray | None, box: tuple[int, int, int, int]) -> bool:
    """Whether ``box`` shows what ``before`` (a frame, the background) shows there, within the
    codec's noise."""
    if before is None:
        return False
    x0, y0, x1, y1 = box
    now, then = rgb[y0:y1, x0:x1].astype(np.int16), before[y0:y1, x0:x1].astype(np.int16)
    return now.size > 0 and float(np.abs(now - then).mean()) < _STILL


def _merge(parts: Iterable[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Boxes side by side (a gap of at most 4 px, mostly the same rows) joined: one road user
    split where it passes over the background's trace of itself."""
    out: list[list[int]] = []
    for x0, y0, x1, y1 in sorted(parts):
        for box in out:
            overlap = min(y1, box[3]) - max(y0, box[1])
            if x0 - box[2] <= 4 and overlap >= 0.5 * min(y1 - y0, box[3] - box[1]):
                box[:] = [min(box[0], x0), min(box[1], y0), max(box[2], x1), max(box[3], y1)]
                break
        else:
            out.append([x0, y0, x1, y1])
    return [(a, b, c, d) for a, b, c, d in out]


def _speeds(times: list[float], xs: list[float | None], car: Track) -> list[float | None]:
    seen = len(car.times)
    out: list[float | None] = []
    for k in range(len(times)):
        if k >= seen:
            out.append(None)
            continue
        lo, hi = max(0, k - 2), min(seen, k + 3)
        if hi - lo < 3:
            out.append(None)
            continue
        slope = np.polyfit(times[lo:hi], [xs[i] for i in range(lo, hi)], 1)[0]
        out.append(max(0.0, float(slope)))
    return out


def _events(
    times: list[float],
    lights: list[str],
    car: Track,
    xs: list[float | None],
    speeds: list[float | None],
    walkers: list[bool],
) -> list[tuple[str, float, str]]:
    events: list[tuple[str, float, str]] = []
    for k in range(1, len(times)):
        if lights[k] != lights[k - 1]:
            events.append(("light-change", times[k], lights[k]))
    first = next((k for k, lit in enumerate(car.lamps) if lit), None)
    if first is not None:
        if first > 0 and car.glows[first - 1]:
            first -= 1  # lit a frame earlier, its hot centre blurred by the codec
        events.append(("braking-onset", car.times[first], ""))
    # At rest: the front moves less than a pixel a frame from some frame to the clip's end.
    seen = len(car.times)
    if seen == len(times) and seen >= 4:
        fronts = [b[2] for b in car.boxes]
        rest = seen - 1
        while rest > 0 and abs(fronts[rest - 1] - fronts[-1]) <= 1:
            rest -= 1
        if rest < seen - 3:
            before = [s for s in speeds[max(0, rest - 3) : rest] if s is not None]
            # Coming to rest from speed within a few frames is a collision, not braking.
            kind = "collision" if before and max(before) > 4.0 else "stop"
            events.append((kind, times[rest], ""))
    enter = next((times[k] for k, on in enumerate(walkers) if on), None)
    if enter is not None:
        events.append(("pedestrian-enters-crosswalk", enter, ""))
    return sorted(events, key=lambda e: e[1])


def read_clip(path: str | Path, *, ground: Any, vocabulary: Any, clip: ClipGrounding | None = None) -> Any:
    """A clip as one scene graph: its first frame grounded as a still (``ground(image)``), with
    what only the clip shows added: the car's distance and speed at the first frame from its
    track, whether its driver braked, whether it came to rest before the crosswalk, who stepped
    onto the crosswalk, and the clip's events in the notes."""
    from dataclasses import replace

    from mmreason.vision.grounding import Attribute, GroundedObject, Relation, SceneEvent
    from mmreason.vision.proposals import box_iou
    from mmreason.vision.vocabulary import Concept
    from mmreason.worlds.crossing.namespace import MR

    clip = clip if clip is not None else ground_clip(path)
    scene = ground(clip.first_frame)
    objects = list(scene.objects)
    focal = max(range(len(objects)), key=lambda i: box_iou(objects[i].bbox, clip.car_box), default=None)
    speed = next((v for v in clip.car_speed if v is not None), None)
    followed = None
    if focal is not None and box_iou(objects[focal].bbox, clip.car_box) >= 0.5 and clip.car_x[0] is not None:
        measures = {str(MR.distanceToCrosswalk): max(0.0, -clip.car_x[0])}
        if speed is not None:
            measures[str(MR.speed)] = speed
        series = {
            str(MR.speed): tuple(
                (t, v) for t, v in zip(clip.times, clip.car_speed, strict=True) if v is not None
            ),
            str(MR.distanceToCrosswalk): tuple(
                (t, max(0.0, -x)) for t, x in zip(clip.times, clip.car_x, strict=True) if x is not None
            ),
        }
        objects[focal] = replace(objects[focal].with_measures(measures), series=series)
        followed = objects[focal].id

    def said(prop: Any, iri: Any, others: list[Any], confidence: float, how: str) -> Attribute:
        """``iri`` read at ``confidence``, the rest shared evenly among the ``others``."""
        concept = Concept(str(prop), str(iri), vocabulary.label(str(iri)), vocabulary.label(str(iri)))
        rest = (1.0 - confidence) / len(others)
        distribution = {str(iri): confidence, **{str(o): rest for o in others}}
        return replace(Attribute.of(concept, confidence, distribution), how=how)

    # The traffic light is where the clip found its housing, showing what the clip read there
    # (the reading the light's changes over the clip come from); a detection elsewhere is not it.
    lights = [i for i, o in enumerate(objects) if vocabulary.is_a(o.type.concept.iri, str(MR.TrafficLight))]
    if lights:
        housing = max(lights, key=lambda i: box_iou(objects[i].bbox, clip.light_box))
        if box_iou(objects[housing].bbox, clip.light_box) > 0.0:
            others = [MR[f"{c}Light"] for c in ("red", "yellow", "green") if c != clip.lights[0]]
            how = "the brightest third of its housing, first frame"
            reading = said(MR.lightState, MR[f"{clip.lights[0]}Light"], others, 0.98, how)
            objects[housing] = objects[housing].with_attribute(str(MR.lightState), reading)
            dropped = {i for i in lights if i != housing}
            objects = [o for i, o in enumerate(objects) if i not in dropped]
    attributes = dict(scene.attributes)
    braked = clip.event("braking-onset")
    lamp = f"lit at {braked[1]:.2f} s" if braked else "never lit"
    attributes[str(MR.driverResponse)] = said(
        MR.driverResponse,
        MR.brakingSeenInClip if braked else MR.noBrakingSeenInClip,
        [MR.noBrakingSeenInClip if braked else MR.brakingSeenInClip],
        0.95,
        f"the rear lamp {lamp} over the clip",
    )
    rest = clip.event("stop")
    past = any(x is not None and x > 0 for x in clip.car_x)
    if rest is not None or past:
        stopped = rest is not None and not past
        attributes[str(MR.stopOutcome)] = said(
            MR.stopOutcome,
            MR.restedBeforeCrosswalkInClip if stopped else MR.passedStopLineInClip,
            [MR.passedStopLineInClip if stopped else MR.restedBeforeCrosswalkInClip],
            0.99,  # a front tracked to 0.2 m/s (docs/video.md) is past the line or not
            "the car's front tracked to rest before the stop line"
            if stopped
            else "its front passed the stop line",
        )
    outcome = _collision_outcome(clip, stopped=rest is not None and not past)
    if outcome is not None:
        hit, how = outcome
        attributes[str(MR.collisionOutcome)] = said(
            MR.collisionOutcome,
            MR.collisionSeenInClip if hit else MR.noCollisionSeenInClip,
            [MR.noCollisionSeenInClip if hit else MR.collisionSeenInClip],
            0.99,
            how,
        )
    relations = list(scene.relations)
    crosswalk = next((r for r in scene.regions if r.cls == str(MR.Crosswalk)), None)
    # A pedestrian the clip shows on the crosswalk, or one the car stopped dead at (hit as they
    # stepped on, hidden by the car in the frames that would show them on it).
    if (any(clip.pedestrian_on_crosswalk) or clip.event("collision")) and crosswalk is not None:
        walkers = [o for o in objects if vocabulary.is_a(o.type.concept.iri, str(MR.Pedestrian))]
        if not walkers and clip.pedestrian_box is not None:
            # Not in the first frame: the one the clip shows stepping onto the crosswalk later.
            kind = next(c for c in vocabulary.types if c.iri == str(MR.Pedestrian))
            walker = GroundedObject(
                f"{kind.name.lower()}-0", Attribute.of(kind, 0.95), clip.pedestrian_box, "clip"
            )
            objects.append(walker)
            walkers = [walker]
        if walkers and not any(r.property == str(MR.onCrosswalk) for r in relations):
            relations.append(Relation(walkers[0].id, str(MR.onCrosswalk), crosswalk.id, 0.95))
    events = "; ".join(f"{kind} at {at:.2f} s{' (' + d + ')' if d else ''}" for kind, at, d in clip.events)
    note = (
        f"a clip of {len(clip.times)} frames at {clip.fps:g} fps, calibrated from its centre line "
        f"({clip.calibration.px_per_m:.2f} px per metre); events: {events or 'none'}"
    )
    happened = []
    for kind, at, detail in clip.events:
        cls = _EVENT_CLASSES.get((kind, detail)) or _EVENT_CLASSES.get((kind, ""))
        if kind == "stop" and not past:
            cls = "RestBeforeCrosswalk"  # at rest with its front never past the stop line
        if cls is not None:
            subject = followed if kind in ("braking-onset", "stop", "collision") else None
            happened.append(SceneEvent(str(MR[cls]), at, _EVENT_CONFIDENCE.get(kind, 0.99), subject))
    return replace(
        scene,
        objects=tuple(objects),
        attributes=attributes,
        relations=tuple(relations),
        notes=(*scene.notes, note),
        events=tuple(happened),
        duration=len(clip.times) / clip.fps,
        fps=clip.fps,
    )


def _collision_outcome(clip: ClipGrounding, *, stopped: bool) -> tuple[bool, str] | None:
    """Whether the followed car hit someone, once the clip shows it (and how it shows it): a
    collision seen, the car at rest before the crosswalk, or its rear (the first frame's box
    long, on the calibrated scale) past the crosswalk's far edge; None while still to come."""
    hit = clip.event("collision")
    if hit is not None:
        return True, f"the car came to a sudden halt at {hit[1]:.2f} s"
    if stopped:
        return False, "the car came to rest before the crosswalk"
    calib = clip.calibration
    length = (clip.car_box[2] - clip.car_box[0]) / calib.px_per_m
    rears = [x - length for x in clip.car_x if x is not None]
    if clip.car_left_at is not None:
        rears.append(calib.along(clip.first_frame.size[0]) - length)  # its front at the picture's edge
    if clip.car_rear is not None:
        rears.append(clip.car_rear)
    # Past the crosswalk's far edge by more than a person's half-width, it can hit no one on it.
    if length > 0 and rears and max(rears) > calib.along(calib.crosswalk_px[1]) + 0.3:
        return False, "the car's rear passed the crosswalk without a collision"
    return None


# The clip's events as classes of the world's ontology (below mm:Event), by (kind, detail).
_EVENT_CLASSES = {
    ("light-change", "red"): "LightTurnsRed",
    ("light-change", "yellow"): "LightTurnsYellow",
    ("light-change", "green"): "LightTurnsGreen",
    ("braking-onset", ""): "BrakingOnset",
    ("stop", ""): "Stop",
    ("collision", ""): "CollisionEvent",
    ("pedestrian-enters-crosswalk", ""): "PedestrianEntersCrosswalk",
}
# How sure each reading is: a lamp read as lit as the driver's response (as driverResponse);
# the rest are read off tracked positions and the light's colour.
_EVENT_CONFIDENCE = {"braking-onset": 0.95}
