"""The crossing world's renderer: street-crossing scenes drawn with PIL from a seed.

A scene is drawn from one unit of the crossing SCM (``graphs/crossing/crossing.scm.toml``):
its weather, road surface, light state, the distance of the nearest vehicle to
the crosswalk and whether a pedestrian is on it are the SCM's values; the other
vehicles and pedestrians, their colours and places, are nuisance drawn from a
generator seeded by the same seed. The picture is a side view of a two-lane
road: sky on top (the weather), a far sidewalk, the road (the surface), a zebra
crosswalk near the right edge, a traffic light on the near sidewalk beside it.
Positions along the road follow a fixed world scale, :data:`PIXELS_PER_METRE`,
so a distance read off the image is a distance in metres. Each vehicle trails
motion streaks as long as the road it covers in :data:`EXPOSURE_S` seconds (the
picture's exposure), so its speed can be read off the image too, and its rear
lamp is lit while its driver brakes: the nearest vehicle's speed and lamps are
the SCM's ``Speed`` and ``DriverBrakes``.

The truth of each render (:class:`SceneTruth`) holds what is drawn and every
hidden causal value, noise terms included, so the true counterfactual of a
render is the SCM re-run on the same noise (Johnson et al., "CLEVR", CVPR 2017,
for the idea of a rendered world with full ground truth).

>>> image, truth = render_scene(7)
>>> image.size
(640, 320)
>>> truth.weather in WEATHERS and truth.road in ROADS and truth.light in LIGHTS
True
>>> render_scene(7)[1] == truth
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw

from mmreason.errors import InvalidInputError, UnknownNameError
from mmreason.worlds.crossing.namespace import MR

if TYPE_CHECKING:
    import rdflib

__all__ = [
    "COLOURS",
    "EXPOSURE_S",
    "HEIGHT",
    "LIGHTS",
    "PIXELS_PER_METRE",
    "ROADS",
    "TRAIL_COLOUR",
    "VEHICLE_TYPES",
    "WEATHERS",
    "WIDTH",
    "Layout",
    "SceneObject",
    "SceneTruth",
    "contact_sheet",
    "crossing_scm",
    "free_patch",
    "read_trail",
    "render_scene",
    "render_values",
]

WIDTH, HEIGHT = 640, 320
#: The world scale along the road: ``d`` metres before the crosswalk are drawn ``d * 8`` px left of it.
PIXELS_PER_METRE = 8.0
#: A moving vehicle's streaks are as long as the road it covers in this time: ``speed * 0.5 s * 8 px/m``.
EXPOSURE_S = 0.5
#: The colour of motion streaks (a pale yellow no paint, stripe or raindrop has).
TRAIL_COLOUR = (250, 240, 190)
# Speeds of the vehicles the SCM does not describe, in m/s (the SCM's U_Speed range).
_NUISANCE_SPEED = (8.0, 17.0)

WEATHERS = ("clear", "cloudy", "rain")
ROADS = ("dry", "wet")
LIGHTS = ("red", "yellow", "green")
VEHICLE_TYPES = ("car", "truck", "bus")
#: Vehicle paint colours, by the name of their ``mr:`` individual.
COLOURS: Mapping[str, tuple[int, int, int]] = {
    "red": (205, 35, 35),
    "blue": (35, 75, 205),
    "green": (35, 150, 55),
    "yellow": (240, 205, 30),
    "white": (246, 246, 246),
    "black": (22, 22, 26),
    "orange": (245, 130, 20),
    "silver": (168, 174, 184),
}

# Vehicle body length in metres (drawn to the world scale) and height in pixels (stylised).
_LENGTH_M = {"car": 4.5, "truck": 8.0, "bus": 11.0}
_HEIGHT_PX = {"car": 24, "truck": 36, "bus": 38}


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the fixed parts of every scene are, in pixels (y grows downwards)."""

    horizon: int = 110
    road_top: int = 135
    road_bottom: int = 262
    crosswalk_x0: int = 560
    crosswalk_x1: int = 600
    far_lane_y: int = 192  # bottom of the wheels of far-lane vehicles
    near_lane_y: int = 252  # bottom of the wheels of near-lane vehicles
    light_x0: int = 610
    light_y0: int = 265

    def regions(self) -> dict[str, tuple[int, int, int, int]]:
        """The background regions of the street as ``name -> (x0, y0, x1, y1)`` (exclusive ends)."""
        return {
            "far_sidewalk": (0, self.horizon, WIDTH, self.road_top),
            "road_left": (0, self.road_top, self.crosswalk_x0, self.road_bottom),
            "crosswalk": (self.crosswalk_x0, self.road_top, self.crosswalk_x1, self.road_bottom),
            "road_right": (self.crosswalk_x1, self.road_top, WIDTH, self.road_bottom),
            "near_sidewalk": (0, self.road_bottom, WIDTH, HEIGHT),
        }


LAYOUT = Layout()


@dataclass(frozen=True, slots=True)
class SceneObject:
    """One road user in a scene: ``type`` (``"car"``, ``"pedestrian"`` ...), ``color`` or None, ``bbox``."""

    type: str
    color: str | None
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, exclusive ends
    lane: str  # "near", "far", "crosswalk" or "sidewalk"
    on_crosswalk: bool = False
    nearest: bool = False
    speed: float | None = None  # m/s, vehicles only
    braking: bool | None = None  # rear lamp lit, vehicles only

    @property
    def trail_px(self) -> int:
        """The length in pixels of the vehicle's motion streaks (0 for a road user that is not a vehicle)."""
        return 0 if self.speed is None else round(self.speed * EXPOSURE_S * PIXELS_PER_METRE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "color": self.color,
            "bbox": list(self.bbox),
            "lane": self.lane,
            "on_crosswalk": self.on_crosswalk,
            "nearest": self.nearest,
            "speed": self.speed,
            "braking": self.braking,
        }


@dataclass(frozen=True, slots=True)
class SceneTruth:
    """Everything a render shows, and the hidden causal values behind it.

    ``values`` holds one unit of the crossing SCM: every endogenous and
    exogenous variable by name (speed in m/s, distances in metres, noise terms).
    """

    seed: int
    weather: str
    road: str
    light: str
    objects: tuple[SceneObject, ...]
    traffic_light_bbox: tuple[int, int, int, int]
    crosswalk_bbox: tuple[int, int, int, int]
    distance_to_crosswalk: float
    values: Mapping[str, Any] = field(default_factory=dict)
    pixels_per_metre: float = PIXELS_PER_METRE

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SceneTruth) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    @property
    def scene_id(self) -> str:
        return f"scene-{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        hidden = {k: _plain(v) for k, v in self.values.items()}
        return {
            "scene": self.scene_id,
            "seed": self.seed,
            "weather": self.weather,
            "road": self.road,
            "light": self.light,
            "objects": [o.to_dict() for o in self.objects],
            "traffic_light": {"state": self.light, "bbox": list(self.traffic_light_bbox)},
            "crosswalk": {"bbox": list(self.crosswalk_bbox)},
            "distance_to_crosswalk": self.distance_to_crosswalk,
            "pixels_per_metre": self.pixels_per_metre,
            "hidden": {
                "speed": hidden.get("Speed"),
                "distance_to_crosswalk": hidden.get("DistanceToCrosswalk"),
                "braking_distance": hidden.get("BrakingDistance"),
                "collision": hidden.get("Collision"),
                "values": hidden,
            },
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The truth as JSON: the keys ``mmreason ground --json`` prints, plus ``hidden``."""
        return json.dumps(self.to_dict(), indent=indent)

    def to_rdf(self) -> rdflib.Graph:
        """The scene as RDF in the ``mr:`` vocabulary (asserted truth, so no confidences).

        >>> g = render_scene(3)[1].to_rdf()
        >>> len(list(g.triples((None, MR.weather, None))))
        1
        """
        from rdflib import RDF, XSD, Graph, Literal

        from mmreason.kg.vocab import MM, SCENE

        g = Graph()
        g.bind("mr", MR)
        g.bind("mm", MM)
        scene = SCENE[self.scene_id]
        g.add((scene, RDF.type, MM.Scene))
        g.add((scene, MR.weather, MR[self.weather]))
        g.add((scene, MR.surface, MR[self.road]))
        light = SCENE[f"{self.scene_id}/traffic-light"]
        g.add((scene, MM.depicts, light))
        g.add((light, RDF.type, MR.TrafficLight))
        g.add((light, MR.lightState, MR[f"{self.light}Light"]))
        crosswalk = SCENE[f"{self.scene_id}/crosswalk"]
        g.add((scene, MM.depicts, crosswalk))
        g.add((crosswalk, RDF.type, MR.Crosswalk))
        nodes = []
        for i, obj in enumerate(self.objects):
            node = SCENE[f"{self.scene_id}/{obj.type}-{i}"]
            nodes.append((node, obj))
            g.add((scene, MM.depicts, node))
            g.add((node, RDF.type, MR[obj.type.capitalize()]))
            if obj.color is not None:
                g.add((node, MR.colour, MR[obj.color]))
            if obj.on_crosswalk:
                g.add((node, MR.onCrosswalk, crosswalk))
            if obj.braking is not None:
                g.add((node, MR.brakeLights, MR.brakeLightsOn if obj.braking else MR.brakeLightsOff))
            if obj.nearest:
                g.add(
                    (
                        node,
                        MR.distanceToCrosswalk,
                        Literal(round(self.distance_to_crosswalk, 3), datatype=XSD.double),
                    )
                )
                if obj.speed is not None:
                    g.add((node, MR.speed, Literal(round(obj.speed, 3), datatype=XSD.double)))
        for a, obj_a in nodes:
            for b, obj_b in nodes:
                if obj_a.bbox[2] <= obj_b.bbox[0]:
                    g.add((a, MM.leftOf, b))
        return g

    def labels(self) -> list[tuple[tuple[int, int, int, int] | None, str, str]]:
        """What the render shows as training labels: ``(box or None for the whole image, property, value)``.

        ``property`` is ``"a"`` (the value is the class of what the box holds) or a property
        IRI (the value an individual). Brake lamps are labelled on the square at a vehicle's
        rear where grounding reads them; a square of bare road and one of the crosswalk,
        clear of road users, are labelled as background, seeded by the scene's seed.

        >>> rows = render_scene(3)[1].labels()
        >>> rows[0] == (None, str(MR.weather), str(MR[render_scene(3)[1].weather]))
        True
        """
        from mmreason.vision.proposals import rear_box

        rows: list[tuple[tuple[int, int, int, int] | None, str, str]] = [
            (None, str(MR.weather), str(MR[self.weather])),
            (None, str(MR.surface), str(MR[self.road])),
        ]
        for obj in self.objects:
            rows.append((obj.bbox, "a", str(MR[obj.type.capitalize()])))
            if obj.color is not None:
                rows.append((obj.bbox, str(MR.colour), str(MR[obj.color])))
            if obj.braking is not None:
                rear = rear_box(obj.bbox, facing_right=obj.lane != "far")
                rows.append(
                    (rear, str(MR.brakeLights), str(MR.brakeLightsOn if obj.braking else MR.brakeLightsOff))
                )
        rows.append((self.traffic_light_bbox, "a", str(MR.TrafficLight)))
        rows.append((self.traffic_light_bbox, str(MR.lightState), str(MR[f"{self.light}Light"])))
        rng = np.random.default_rng([self.seed, 0xBAC6])
        boxes = [o.bbox for o in self.objects]
        for cls, area in (
            (MR.Road, (0, LAYOUT.road_top, LAYOUT.crosswalk_x0, LAYOUT.road_bottom)),
            (MR.Crosswalk, (LAYOUT.crosswalk_x0, LAYOUT.road_top, LAYOUT.crosswalk_x1, LAYOUT.road_bottom)),
        ):
            patch = free_patch(rng, area, boxes)
            if patch is not None:
                rows.append((patch, "a", str(cls)))
        return rows


def _plain(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def free_patch(
    rng: np.random.Generator, area: tuple[int, int, int, int], boxes: list[tuple[int, int, int, int]]
) -> tuple[int, int, int, int] | None:
    """A square inside ``area`` that overlaps none of ``boxes`` (None after 20 tries)."""
    x0, y0, x1, y1 = area
    for _ in range(20):
        side = int(rng.integers(24, 64))
        px = int(rng.integers(x0 - side // 3, max(x0 - side // 3 + 1, x1 - 2 * side // 3)))
        py = int(rng.integers(y0, max(y0 + 1, y1 - side)))
        patch = (px, py, px + side, py + side)
        if not any(px < b[2] and b[0] < px + side and py < b[3] and b[1] < py + side for b in boxes):
            return patch
    return None


@lru_cache(maxsize=1)
def crossing_scm() -> Any:
    """The crossing world's SCM (``graphs/crossing/crossing.scm.toml``), loaded once."""
    from mmreason.causal import SCM
    from mmreason.worlds import bundled_world_dir

    return SCM.from_file(bundled_world_dir("crossing") / "crossing.scm.toml")


def _sample_values(seed: int, do: Mapping[str, Any]) -> dict[str, Any]:
    row = crossing_scm().sample(1, seed=seed, do=dict(do) or None).iloc[0]
    return {str(k): _plain(v) for k, v in row.items()}


def render_scene(
    seed: int,
    *,
    exclude_pairs: Iterable[tuple[str, str]] = (),
    **do: Any,
) -> tuple[Image.Image, SceneTruth]:
    """Render the crossing scene of one seed.

    The scene-level values come from ``crossing_scm().sample(1, seed=seed, do=do)``;
    the nuisance (other vehicles, pedestrians, colours) from ``numpy`` seeded by ``seed``.

    Args:
        seed: any non-negative integer; the same seed gives the same image and truth.
        exclude_pairs: ``(colour, vehicle type)`` pairs never drawn (held out for
            compositional tests); a vehicle that would have one is repainted.
        **do: interventions on SCM variables, e.g. ``Weather="rain"``, applied
            before sampling so that their effects follow.

    Returns:
        ``(image, truth)``: an RGB :class:`PIL.Image.Image` of 640×320 and its :class:`SceneTruth`.

    Raises:
        InvalidInputError: ``seed`` is negative or not an integer.

    >>> image, truth = render_scene(11, Weather="rain")
    >>> truth.weather
    'rain'
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer, found {seed!r}")
    values = _sample_values(int(seed), do)
    return render_values(values, seed=int(seed), exclude_pairs=exclude_pairs)


def render_values(
    values: Mapping[str, Any],
    *,
    seed: int,
    exclude_pairs: Iterable[tuple[str, str]] = (),
) -> tuple[Image.Image, SceneTruth]:
    """Render the scene of one SCM unit (a row of values by variable name).

    The values used are ``Weather``, ``Road``, ``Light``, ``DistanceToCrosswalk``
    and ``PedestrianOnCrosswalk``, and ``Speed`` and ``DriverBrakes`` when the row
    has them (the nearest vehicle's streaks and rear lamp); every value is kept in the truth.

    >>> row = {"Weather": "cloudy", "Road": "dry", "Light": "green",
    ...        "DistanceToCrosswalk": 12.5, "PedestrianOnCrosswalk": 1}
    >>> image, truth = render_values(row, seed=1)
    >>> [o.type for o in truth.objects if o.on_crosswalk]
    ['pedestrian']
    >>> next(o for o in truth.objects if o.nearest).bbox[2] == 560 - round(12.5 * PIXELS_PER_METRE)
    True
    """
    weather = _choice(values, "Weather", WEATHERS)
    road = _choice(values, "Road", ROADS)
    light = _choice(values, "Light", LIGHTS)
    try:
        distance = float(values["DistanceToCrosswalk"])
        pedestrian = int(values["PedestrianOnCrosswalk"])
        speed = None if values.get("Speed") is None else float(values["Speed"])
        braking = None if values.get("DriverBrakes") is None else bool(int(values["DriverBrakes"]))
    except KeyError as exc:
        raise InvalidInputError(f"values lacks the SCM variable {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"values has a non-numeric distance, speed, pedestrian or brakes flag: {exc}"
        ) from None
    if not math.isfinite(distance) or distance < 0:
        raise InvalidInputError(f"DistanceToCrosswalk must be a finite distance ≥ 0 m, found {distance!r}")
    if speed is not None and (not math.isfinite(speed) or speed < 0):
        raise InvalidInputError(f"Speed must be a finite speed ≥ 0 m/s, found {speed!r}")
    excluded = {(str(c), str(t)) for c, t in exclude_pairs}
    rng = np.random.default_rng([int(seed), 0xC805])
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    _draw_sky(draw, rng, weather)
    _draw_street(draw, rng, road)
    if weather == "rain":
        _draw_rain(draw, rng)
    objects = _place_objects(rng, distance, bool(pedestrian), excluded, speed, braking)
    for obj in objects:
        if obj.type == "pedestrian":
            _draw_pedestrian(draw, rng, obj.bbox)
        else:
            _draw_vehicle(draw, obj)
    light_bbox = _draw_traffic_light(draw, light)
    crosswalk_bbox = (LAYOUT.crosswalk_x0, LAYOUT.road_top, LAYOUT.crosswalk_x1, LAYOUT.road_bottom)
    truth = SceneTruth(
        seed=int(seed),
        weather=weather,
        road=road,
        light=light,
        objects=tuple(objects),
        traffic_light_bbox=light_bbox,
        crosswalk_bbox=crosswalk_bbox,
        distance_to_crosswalk=distance,
        values=dict(values),
    )
    return image, truth


def _choice(values: Mapping[str, Any], name: str, domain: tuple[str, ...]) -> str:
    if name not in values:
        raise InvalidInputError(f"values lacks the SCM variable {name!r}")
    value = str(values[name])
    if value not in domain:
        raise UnknownNameError(f"value of {name}", value, domain)
    return value


# ---------------------------------------------------------------------------------------------
# Placement


def _vehicle_box(kind: str, front_x: int, lane: str, facing_right: bool) -> tuple[int, int, int, int]:
    length = round(_LENGTH_M[kind] * PIXELS_PER_METRE)
    bottom = LAYOUT.near_lane_y if lane == "near" else LAYOUT.far_lane_y
    x0, x1 = (front_x - length, front_x) if facing_right else (front_x, front_x + length)
    return (x0, bottom - _HEIGHT_PX[kind], x1, bottom)


def _pick_vehicle(rng: np.random.Generator, excluded: set[tuple[str, str]]) -> tuple[str, str]:
    kind = VEHICLE_TYPES[int(rng.integers(len(VEHICLE_TYPES)))]
    allowed = [c for c in COLOURS if (c, kind) not in excluded]
    if not allowed:
        raise InvalidInputError(f"exclude_pairs leaves no colour for a {kind}")
    return kind, allowed[int(rng.integers(len(allowed)))]


def _place_objects(
    rng: np.random.Generator,
    distance: float,
    pedestrian: bool,
    excluded: set[tuple[str, str]],
    speed: float | None = None,
    braking: bool | None = None,
) -> list[SceneObject]:
    objects: list[SceneObject] = []
    gap = 10  # pixels between neighbouring road users, so that each is its own region

    def motion() -> tuple[float, bool]:
        # Speed and brake lamp of a vehicle the SCM does not describe.
        return round(float(rng.uniform(*_NUISANCE_SPEED)), 3), bool(rng.integers(2))

    # The nearest vehicle: near lane, driving right, its front `distance` metres before the crosswalk.
    kind, colour = _pick_vehicle(rng, excluded)
    own_speed, own_braking = motion()
    nearest = SceneObject(
        kind,
        colour,
        (0, 0, 1, 1),
        "near",
        nearest=True,
        speed=own_speed if speed is None else speed,
        braking=own_braking if braking is None else braking,
    )
    front = LAYOUT.crosswalk_x0 - round(distance * PIXELS_PER_METRE)
    box = _vehicle_box(kind, front, "near", True)
    objects.append(replace(nearest, bbox=_clip(box)))
    # Vehicles queued behind it in the near lane, behind its streaks.
    left = box[0] - _TRAIL_GAP - nearest.trail_px
    for _ in range(int(rng.integers(0, 2))):
        kind, colour = _pick_vehicle(rng, excluded)
        own_speed, own_braking = motion()
        front = left - gap - int(rng.integers(0, 120))
        box = _vehicle_box(kind, front, "near", True)
        if box[0] < 4:
            break
        queued = SceneObject(kind, colour, box, "near", speed=own_speed, braking=own_braking)
        objects.append(queued)
        left = box[0] - _TRAIL_GAP - queued.trail_px
    # Oncoming vehicles in the far lane, streaks and all kept off the crosswalk and its margins.
    x = int(rng.integers(0, 60))
    for _ in range(int(rng.integers(0, 3))):
        kind, colour = _pick_vehicle(rng, excluded)
        own_speed, own_braking = motion()
        box = _vehicle_box(kind, x, "far", False)
        oncoming = SceneObject(kind, colour, box, "far", speed=own_speed, braking=own_braking)
        if box[2] + _TRAIL_GAP + oncoming.trail_px > LAYOUT.crosswalk_x0 - 14:
            break
        objects.append(oncoming)
        x = box[2] + _TRAIL_GAP + oncoming.trail_px + gap + int(rng.integers(0, 140))
    # Pedestrians: one on the crosswalk when the SCM says so, others waiting on the near sidewalk.
    if pedestrian:
        feet = int(rng.integers(LAYOUT.road_top + 40, LAYOUT.road_bottom - 6))
        x0 = int(rng.integers(LAYOUT.crosswalk_x0 + 8, LAYOUT.crosswalk_x1 - 22))
        objects.append(SceneObject("pedestrian", None, (x0, feet - 36, x0 + 14, feet), "crosswalk", True))
    x = int(rng.integers(8, 120))
    for _ in range(int(rng.integers(0, 3))):
        if x + 14 > LAYOUT.crosswalk_x0 - 20:
            break
        feet = int(rng.integers(HEIGHT - 14, HEIGHT - 3))
        objects.append(SceneObject("pedestrian", None, (x, feet - 36, x + 14, feet), "sidewalk"))
        x += 14 + gap + int(rng.integers(20, 220))
    return objects


def _clip(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return (max(0, x0), y0, min(WIDTH, x1), y1)


# ---------------------------------------------------------------------------------------------
# Drawing

_SKY = {"clear": (120, 185, 245), "cloudy": (172, 178, 188), "rain": (88, 94, 108)}
_ROAD = {"dry": (118, 118, 116), "wet": (58, 60, 70)}
_REFLECTION = (74, 77, 90)
_SIDEWALK = (192, 186, 172)
_STRIPE = (236, 236, 232)
_RAIN = (175, 190, 215)


def _draw_sky(draw: ImageDraw.ImageDraw, rng: np.random.Generator, weather: str) -> None:
    top = np.array(_SKY[weather], dtype=float)
    bottom = np.minimum(top + 40, 255)
    for y in range(LAYOUT.horizon):
        t = y / LAYOUT.horizon
        draw.line([(0, y), (WIDTH, y)], fill=tuple(int(v) for v in top * (1 - t) + bottom * t))
    if weather == "clear":
        cx, cy = int(rng.integers(40, 500)), int(rng.integers(22, 50))
        draw.ellipse([cx - 18, cy - 18, cx + 18, cy + 18], fill=(255, 222, 60))
        return
    cloud = (236, 236, 240) if weather == "cloudy" else (66, 70, 82)
    for _ in range(int(rng.integers(4, 8))):
        cx, cy = int(rng.integers(0, WIDTH)), int(rng.integers(15, 75))
        for _ in range(4):
            dx, dy = int(rng.integers(-30, 30)), int(rng.integers(-8, 8))
            rx, ry = int(rng.integers(22, 40)), int(rng.integers(10, 18))
            draw.ellipse([cx + dx - rx, cy + dy - ry, cx + dx + rx, cy + dy + ry], fill=cloud)


def _draw_street(draw: ImageDraw.ImageDraw, rng: np.random.Generator, road: str) -> None:
    draw.rectangle([0, LAYOUT.horizon, WIDTH, LAYOUT.road_top - 1], fill=_SIDEWALK)
    draw.rectangle([0, LAYOUT.road_top, WIDTH, LAYOUT.road_bottom - 1], fill=_ROAD[road])
    draw.rectangle([0, LAYOUT.road_bottom, WIDTH, HEIGHT], fill=_SIDEWALK)
    if road == "wet":
        # Reflections: low-contrast horizontal sheen on the wet asphalt.
        for _ in range(int(rng.integers(14, 22))):
            x = int(rng.integers(0, WIDTH - 40))
            y = int(rng.integers(LAYOUT.road_top + 4, LAYOUT.road_bottom - 6))
            length = int(rng.integers(30, 110))
            draw.rectangle([x, y, x + length, y + int(rng.integers(2, 5))], fill=_REFLECTION)
    stripe = 12
    for y in range(LAYOUT.road_top + 4, LAYOUT.road_bottom - 4, 2 * stripe):
        draw.rectangle([LAYOUT.crosswalk_x0, y, LAYOUT.crosswalk_x1 - 1, y + stripe - 1], fill=_STRIPE)


def _draw_rain(draw: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
    for _ in range(260):
        x, y = int(rng.integers(-20, WIDTH)), int(rng.integers(0, HEIGHT))
        draw.line([(x, y), (x + 4, y + 14)], fill=_RAIN, width=1)


# Pixels of road between a vehicle's rear and its streaks; the streaks' rows above the body's bottom.
_TRAIL_GAP = 2
_TRAIL_ROWS = ((10, 0.6), (6, 1.0), (2, 0.8))  # (rows above the body's bottom, share of the length)
_LAMP_LIT, _LAMP_HOT, _LAMP_OFF = (255, 45, 45), (255, 200, 175), (100, 28, 28)


def _wheel_radius(kind: str) -> int:
    return 5 if kind == "car" else 6


def _draw_motion(draw: ImageDraw.ImageDraw, obj: SceneObject) -> None:
    """The vehicle's streaks behind it (its rear lamp, lit while it brakes, is drawn with the body)."""
    x0, _, x1, y1 = obj.bbox
    body_bottom = y1 - _wheel_radius(obj.type)
    right = obj.lane != "far"
    for above, share in _TRAIL_ROWS:
        length = round(obj.trail_px * share)
        if length <= 0:
            continue
        y = body_bottom - above
        if right:
            draw.line([(x0 - _TRAIL_GAP - length, y), (x0 - _TRAIL_GAP - 1, y)], fill=TRAIL_COLOUR)
        else:
            draw.line([(x1 + _TRAIL_GAP, y), (x1 + _TRAIL_GAP + length - 1, y)], fill=TRAIL_COLOUR)


def _draw_lamp(draw: ImageDraw.ImageDraw, obj: SceneObject, body_bottom: int) -> None:
    if obj.braking is None:
        return
    x0, _, x1, _ = obj.bbox
    lx = x0 + 1 if obj.lane != "far" else x1 - 5
    if obj.braking:
        draw.rectangle([lx, body_bottom - 8, lx + 3, body_bottom - 4], fill=_LAMP_LIT)
        draw.rectangle([lx + 1, body_bottom - 7, lx + 2, body_bottom - 5], fill=_LAMP_HOT)
    else:
        draw.rectangle([lx, body_bottom - 8, lx + 3, body_bottom - 4], fill=_LAMP_OFF)


def read_trail(
    image: Image.Image, bbox: tuple[int, int, int, int], *, facing_right: bool = True
) -> float | None:
    """The length in pixels of the streaks behind a vehicle's box, or None when they cannot be read.

    Each of the three streaks is followed from the vehicle's rear. The middle one is as long as
    the road covered; when it runs out of the picture, a shorter one (0.8 or 0.6 of that length)
    that ends inside it gives the length, divided by its share (to within a pixel over the share).
    Nothing is read when every streak runs out of the picture (or the vehicle does) or when
    nothing trails the vehicle.

    >>> image, truth = render_scene(7)
    >>> car = next(o for o in truth.objects if o.nearest)
    >>> read_trail(image, car.bbox) in (car.trail_px, None)
    True
    """
    x0, _, x1, y1 = bbox
    width, height = image.size
    if (facing_right and x0 <= 0) or (not facing_right and x1 >= width):
        return None
    target = np.array(TRAIL_COLOUR, dtype=np.int16)
    step = -1 if facing_right else 1
    start = x0 - 1 if facing_right else x1
    # The middle streak first, then the longer of the others; the first that ends inside the picture.
    rows = sorted(_TRAIL_ROWS, key=lambda row: -row[1])
    for above, share in rows:
        best: int | None = None
        cut = False
        # The box's bottom is the wheels' bottom; the wheel radius (5 or 6) leaves two candidate rows.
        for radius in (5, 6):
            y = y1 - radius - above
            if not 0 <= y < height:
                continue
            pixels = np.asarray(image.crop((0, y, width, y + 1)).convert("RGB"), dtype=np.int16)[0]
            row = np.abs(pixels - target).max(axis=1) <= 24
            x = start
            # Skip the gap between the rear and the streak (and a pixel of slack in the box).
            skipped = 0
            while 0 <= x < width and not row[x] and skipped < _TRAIL_GAP + 2:
                x += step
                skipped += 1
            run = 0
            while 0 <= x < width and row[x]:
                run += 1
                x += step
            if run == 0:
                continue
            if not 0 <= x < width:
                cut = True  # this streak runs out of the picture: only a lower bound
                continue
            best = max(best or 0, run)
        if best is not None and not cut:
            return best / share
        if not cut:
            return None  # nothing trails the vehicle
    return None


def _draw_vehicle(draw: ImageDraw.ImageDraw, obj: SceneObject) -> None:
    _draw_motion(draw, obj)
    x0, y0, x1, y1 = obj.bbox
    paint = COLOURS[obj.color or "silver"]
    outline = (15, 15, 15) if obj.color != "black" else (90, 90, 96)
    glass = (150, 200, 235)
    wheel_r = _wheel_radius(obj.type)
    body_bottom = y1 - wheel_r
    right = obj.lane != "far"  # near-lane vehicles face right, far-lane ones face left
    if obj.type == "car":
        length = x1 - x0
        draw.rectangle([x0, y0 + 10, x1 - 1, body_bottom], fill=paint, outline=outline)
        c0, c1 = (x0 + length * 0.2, x0 + length * 0.72) if right else (x0 + length * 0.28, x0 + length * 0.8)
        draw.polygon([(c0, y0 + 10), (c0 + 5, y0), (c1 - 5, y0), (c1, y0 + 10)], fill=paint, outline=outline)
        draw.rectangle([c0 + 5, y0 + 3, c1 - 5, y0 + 9], fill=glass)
        wheels = (x0 + 8, x1 - 9)
    elif obj.type == "truck":
        cab = 18
        cab0, cab1 = (x1 - cab, x1 - 1) if right else (x0, x0 + cab - 1)
        box0, box1 = (x0, cab0 - 2) if right else (cab1 + 2, x1 - 1)
        draw.rectangle([box0, y0, box1, body_bottom], fill=paint, outline=outline)
        draw.rectangle([cab0, y0 + 12, cab1, body_bottom], fill=paint, outline=outline)
        draw.rectangle([min(cab0, cab1) + 4, y0 + 15, max(cab0, cab1) - 4, y0 + 21], fill=glass)
        # The chassis joins the box to the cab, whichever end the cab is at, and stays inside the box.
        chassis = (box0, box1 + 2) if right else (box0 - 2, box1)
        draw.rectangle([chassis[0], body_bottom - 3, chassis[1], body_bottom], fill=outline)
        wheels = (x0 + 9, (x0 + x1) // 2 - 6, x1 - 10) if right else (x0 + 9, (x0 + x1) // 2 + 6, x1 - 10)
    else:
        draw.rounded_rectangle([x0, y0, x1 - 1, body_bottom], radius=5, fill=paint, outline=outline)
        for wx in range(x0 + 6, x1 - 12, 13):
            draw.rectangle([wx, y0 + 5, wx + 8, y0 + 14], fill=glass)
        door = x1 - 16 if right else x0 + 6
        draw.rectangle([door, y0 + 17, door + 9, body_bottom - 2], fill=glass, outline=outline)
        draw.line([(x0, y0 + 21), (x1 - 1, y0 + 21)], fill=outline, width=2)
        wheels = (x0 + 14, x1 - 15)
    _draw_lamp(draw, obj, body_bottom)
    for wx in wheels:
        draw.ellipse([wx - wheel_r, y1 - 2 * wheel_r, wx + wheel_r, y1 - 1], fill=(20, 20, 20))
        draw.ellipse([wx - 2, y1 - wheel_r - 2, wx + 2, y1 - wheel_r + 2], fill=(150, 150, 150))


_SHIRTS = ((120, 60, 160), (0, 140, 140), (220, 90, 150), (150, 100, 50), (60, 60, 180))


def _draw_pedestrian(draw: ImageDraw.ImageDraw, rng: np.random.Generator, bbox: tuple[int, ...]) -> None:
    x0, y0, x1, y1 = bbox
    cx = (x0 + x1) // 2
    shirt = _SHIRTS[int(rng.integers(len(_SHIRTS)))]
    skin = ((240, 200, 160), (200, 150, 110), (140, 95, 60))[int(rng.integers(3))]
    draw.ellipse([cx - 4, y0, cx + 4, y0 + 8], fill=skin)
    draw.rectangle([cx - 5, y0 + 8, cx + 5, y0 + 22], fill=shirt)
    draw.rectangle([x0, y0 + 9, x0 + 2, y0 + 20], fill=shirt)
    draw.rectangle([x1 - 3, y0 + 9, x1 - 1, y0 + 20], fill=shirt)
    draw.rectangle([cx - 5, y0 + 22, cx - 1, y1 - 1], fill=(35, 45, 120))
    draw.rectangle([cx + 1, y0 + 22, cx + 5, y1 - 1], fill=(35, 45, 120))


_LAMPS = {"red": (235, 30, 30), "yellow": (250, 200, 20), "green": (30, 215, 70)}


def _draw_traffic_light(draw: ImageDraw.ImageDraw, light: str) -> tuple[int, int, int, int]:
    x0, y0 = LAYOUT.light_x0, LAYOUT.light_y0
    w, h = 20, 46
    draw.rectangle([x0 + 8, y0 + h, x0 + 11, HEIGHT - 3], fill=(40, 40, 40))
    draw.rectangle([x0, y0, x0 + w - 1, y0 + h - 1], fill=(30, 30, 30))
    for i, state in enumerate(LIGHTS):
        cy = y0 + 8 + i * 15
        fill = _LAMPS[state] if state == light else (70, 70, 70)
        draw.ellipse([x0 + 4, cy - 6, x0 + 15, cy + 5], fill=fill)
    return (x0, y0, x0 + w, HEIGHT - 2)


def contact_sheet(seeds: Iterable[int], *, columns: int = 4, scale: float = 0.5) -> Image.Image:
    """Renders of several seeds tiled on one image, each captioned with its weather, road and light.

    >>> contact_sheet(range(2), columns=2, scale=0.25).size
    (320, 100)
    """
    tiles = []
    for seed in seeds:
        image, truth = render_scene(seed)
        tile = image.resize((round(WIDTH * scale), round(HEIGHT * scale)))
        tiles.append((tile, f"seed {seed}: {truth.weather}, {truth.road} road, {truth.light} light"))
    if not tiles:
        raise InvalidInputError("seeds must name at least one seed")
    width, height = tiles[0][0].size
    caption = 20
    rows = math.ceil(len(tiles) / columns)
    sheet = Image.new("RGB", (columns * width, rows * (height + caption)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, (tile, text) in enumerate(tiles):
        x, y = (i % columns) * width, (i // columns) * (height + caption)
        sheet.paste(tile, (x, y))
        draw.text((x + 4, y + height + 4), text, fill=(0, 0, 0))
    return sheet
