"""The tabletop world's renderer: CLEVR-style scenes ray cast with numpy from a seed.

A scene is 3 to 10 solids (cubes, spheres, cylinders of CLEVR's eight colours, two
materials and two sizes) resting on a gray floor, seen by a pinhole camera that looks at
the origin. Placement, direction vectors and spatial relationships follow CLEVR's
``render_images.py`` (Johnson et al., "CLEVR: A Diagnostic Dataset for Compositional
Language and Elementary Visual Reasoning", CVPR 2017), the attribute values its
``properties.json``; the picture is ours: every pixel is ray cast against analytic
solids (a sphere, a box by the slab method in its own frame, a capped upright cylinder)
and shaded by Lambert plus ambient for rubber, Blinn-Phong highlights and a mirror image
of the floor, the sky and the other solids for metal, and soft shadows from a disk-shaped
key light, with 2x2 supersampling.

The truth of a render (:class:`TabletopTruth`) writes CLEVR's scene record, so tools
written for CLEVR's ``scenes.json`` read it unchanged.

>>> image, truth = render_scene(7)
>>> image.size
(320, 240)
>>> 3 <= len(truth.objects) <= 10
True
>>> render_scene(7)[1] == truth
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from mmreason.errors import InvalidInputError

__all__ = [
    "COLOURS",
    "FOV_DEG",
    "HEIGHT",
    "MATERIALS",
    "MIN_VISIBLE_PIXELS",
    "SHAPES",
    "SIZES",
    "TT_IRI",
    "WIDTH",
    "TableObject",
    "TabletopTruth",
    "project",
    "render_masks",
    "render_scene",
]

WIDTH, HEIGHT = 320, 240
#: The camera's horizontal field of view: the ground square [-3, 3]² stays in the picture
#: under any jitter of the camera (50.7° would just hold it); a solid standing at a corner
#: may still be cut by the frame.
FOV_DEG = 56.0
#: Fewest pixels every object shows (CLEVR's 200 at 480x320, scaled to the image's area).
MIN_VISIBLE_PIXELS = 100
TT_IRI = "http://mmreason.org/tabletop#"

SHAPES = ("cube", "sphere", "cylinder")
#: CLEVR's ``properties.json`` colours, sRGB.
COLOURS: Mapping[str, tuple[int, int, int]] = {
    "gray": (87, 87, 87),
    "red": (173, 35, 35),
    "blue": (42, 75, 215),
    "green": (29, 105, 20),
    "brown": (129, 74, 25),
    "purple": (129, 38, 192),
    "cyan": (41, 208, 208),
    "yellow": (255, 238, 51),
}
MATERIALS = ("rubber", "metal")
#: CLEVR's sizes: a sphere's radius, a cylinder's radius and half-height; a cube's half-side is r/√2.
SIZES: Mapping[str, float] = {"large": 0.7, "small": 0.35}

# CLEVR's placement: objects in [-3, 3]², at least MIN_DIST apart (surface to surface, by
# bounding radii) and at least MARGIN apart along each ground direction; a scene that
# cannot be finished within MAX_RETRIES tries for one object is started again.
_EXTENT = 3.0
_MIN_DIST = 0.25
_MARGIN = 0.4
_MAX_RETRIES = 50
# CLEVR's eps of compute_all_relationships.
_RELATION_EPS = 0.2
_COUNT = (3, 10)

# The camera: nominal place (CLEVR's camera sits at azimuth about -43°) and per-scene jitter.
_CAMERA_AZIMUTH, _CAMERA_AZIMUTH_JITTER = -45.0, 15.0
_CAMERA_ELEVATION, _CAMERA_ELEVATION_JITTER = 32.0, 2.0
_CAMERA_DISTANCE, _CAMERA_DISTANCE_JITTER = 10.5, 0.3
# The key light, relative to the camera's azimuth, and its jitter; its disk subtends _LIGHT_CONE.
_LIGHT_AZIMUTH, _LIGHT_ELEVATION, _LIGHT_JITTER = -55.0, 52.0, 10.0
_LIGHT_CONE = math.radians(6.0)
_LIGHT_SAMPLES = 5
_SUPERSAMPLE = 2  # rays per pixel along each axis

# Radiometry, in linear light.
_KEY = 1.05
_FILL = 0.22
_BACK = 0.25
_SKY = 0.33
_FLOOR_ALBEDO = 0.42
_GAMMA = 2.2
_EPS = 1e-4  # the nearest a hit may be to a ray's origin


@dataclass(frozen=True, slots=True)
class TableObject:
    """One solid in a scene, with what the render shows of it.

    ``coords`` is the centre in world units (``z`` is the height it rests at), ``rotation``
    degrees about ``z``; ``pixel_coords`` is the centre projected: the pixel that holds it
    and its depth along the camera's axis. ``bbox`` bounds its visible pixels (exclusive
    ends); ``full_pixels`` counts the pixels it would cover with nothing in front of it.

    >>> obj = render_scene(7)[1].objects[0]
    >>> obj.to_clevr()["shape"] in SHAPES, obj.to_clevr()["3d_coords"] == list(obj.coords)
    (True, True)
    """

    shape: str
    color: str
    material: str
    size: str
    coords: tuple[float, float, float]
    rotation: float
    pixel_coords: tuple[int, int, float]
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 of the visible pixels, exclusive ends
    visible_pixels: int
    full_pixels: int

    def to_clevr(self) -> dict[str, Any]:
        """The object as a CLEVR scene object, plus ``bbox``, ``visible_pixels`` and ``full_pixels``."""
        return {
            "shape": self.shape,
            "color": self.color,
            "material": self.material,
            "size": self.size,
            "3d_coords": list(self.coords),
            "pixel_coords": list(self.pixel_coords),
            "rotation": self.rotation,
            "bbox": list(self.bbox),
            "visible_pixels": self.visible_pixels,
            "full_pixels": self.full_pixels,
        }


@dataclass(frozen=True, slots=True)
class TabletopTruth:
    """Everything a tabletop render shows, and how it was made.

    ``directions`` are CLEVR's unit vectors on the ground (``behind`` is the camera's
    forward vector flattened, ``right`` its right vector), ``relationships[name][i]`` the
    sorted indices of the objects that are ``name`` of object ``i``; ``camera`` holds the
    camera's ``location``, ``look_at``, ``fov_deg`` (horizontal), ``width`` and ``height``
    and ``key_light`` the unit vector toward the key light.

    >>> truth = render_scene(7)[1]
    >>> truth.scene_id
    'tabletop-000007'
    >>> list(truth.scene_record(0, "a.png"))
    ['split', 'image_index', 'image_filename', 'objects', 'relationships', 'directions']
    """

    seed: int
    objects: tuple[TableObject, ...]
    directions: dict[str, tuple[float, float, float]]
    relationships: dict[str, list[list[int]]]
    camera: dict[str, Any]
    key_light: tuple[float, float, float]

    @property
    def scene_id(self) -> str:
        """The render's name: ``tabletop-`` and the seed in six digits."""
        return f"tabletop-{self.seed:06d}"

    def scene_record(self, index: int, filename: str, *, split: str = "render") -> dict[str, Any]:
        """The scene as one entry of CLEVR's ``scenes.json``, keys named as CLEVR names them."""
        return {
            "split": split,
            "image_index": index,
            "image_filename": filename,
            "objects": [obj.to_clevr() for obj in self.objects],
            "relationships": {name: [list(r) for r in rows] for name, rows in self.relationships.items()},
            "directions": {name: list(vector) for name, vector in self.directions.items()},
        }

    def to_dict(self) -> dict[str, Any]:
        """The scene record of ``<scene_id>.png``, plus the seed, the camera and the key light."""
        record = self.scene_record(self.seed, f"{self.scene_id}.png")
        record["seed"] = self.seed
        record["camera"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.camera.items()}
        record["key_light"] = list(self.key_light)
        return record

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON."""
        return json.dumps(self.to_dict(), indent=indent)

    def labels(self) -> list[tuple[tuple[float, float, float, float] | None, str, str]]:
        """What the render shows as training labels: ``(box, property, value)`` per object.

        Each object gives its class (``"a"``), colour, material and size on its visible box;
        an object hidden for more than half of its pixels gives none.

        >>> rows = render_scene(7)[1].labels()
        >>> rows[0][1], rows[1][1].removeprefix(TT_IRI)
        ('a', 'colour')
        """
        rows: list[tuple[tuple[float, float, float, float] | None, str, str]] = []
        for obj in self.objects:
            if 2 * obj.visible_pixels < obj.full_pixels:
                continue
            rows.append((obj.bbox, "a", TT_IRI + obj.shape.capitalize()))
            rows.append((obj.bbox, TT_IRI + "colour", TT_IRI + obj.color))
            rows.append((obj.bbox, TT_IRI + "material", TT_IRI + obj.material))
            rows.append((obj.bbox, TT_IRI + "size", TT_IRI + obj.size))
        return rows


@dataclass(frozen=True, slots=True, eq=False)
class _Camera:
    """A pinhole camera that looks at the origin, its right vector level (no roll)."""

    location: np.ndarray  # [3]
    forward: np.ndarray  # [3], unit, toward the origin
    right: np.ndarray  # [3], unit, horizontal
    up: np.ndarray  # [3], unit
    focal: float  # pixels
    fov_deg: float

    @classmethod
    def looking_at_origin(cls, location: Sequence[float], fov_deg: float) -> _Camera:
        location = np.asarray(location, dtype=float)
        forward = -location / np.linalg.norm(location)
        right = np.cross(forward, (0.0, 0.0, 1.0))
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        focal = (WIDTH / 2) / math.tan(math.radians(fov_deg) / 2)
        return cls(location, forward, right, up, focal, fov_deg)

    def project(self, points: np.ndarray) -> np.ndarray:
        """``points`` [..., 3] to ``(x, y, depth)`` [..., 3], ``x`` and ``y`` in pixels from the top left."""
        rel = np.asarray(points, dtype=float) - self.location
        depth = rel @ self.forward
        x = WIDTH / 2 + self.focal * (rel @ self.right) / depth
        y = HEIGHT / 2 - self.focal * (rel @ self.up) / depth
        return np.stack([x, y, depth], axis=-1)

    def rays(self, scale: int, rect: tuple[int, int, int, int]) -> np.ndarray:
        """Unit ray directions [y1-y0, x1-x0, 3] through the centres of the sub-pixels in ``rect``.

        ``rect`` is (x0, y0, x1, y1) in sub-pixels of size 1/``scale``; it may reach outside the image.
        """
        x0, y0, x1, y1 = rect
        xs = (np.arange(x0, x1) + 0.5) / scale - WIDTH / 2
        ys = (np.arange(y0, y1) + 0.5) / scale - HEIGHT / 2
        dirs = self.forward * self.focal + xs[None, :, None] * self.right - ys[:, None, None] * self.up
        return dirs / np.linalg.norm(dirs, axis=-1, keepdims=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "location": tuple(float(v) for v in self.location),
            "look_at": (0.0, 0.0, 0.0),
            "fov_deg": self.fov_deg,
            "width": WIDTH,
            "height": HEIGHT,
        }


@dataclass(frozen=True, slots=True)
class _Solid:
    """One solid as placed: what it is, where it stands and how it is turned."""

    shape: str
    color: str
    material: str
    size: str
    x: float
    y: float
    rotation: float  # degrees about z

    @property
    def radius(self) -> float:
        return SIZES[self.size]

    @property
    def half(self) -> float:
        """Half the height: the height of the centre above the floor."""
        return self.radius / math.sqrt(2) if self.shape == "cube" else self.radius

    @property
    def centre(self) -> np.ndarray:
        return np.array([self.x, self.y, self.half])

    @property
    def bounding_radius(self) -> float:
        if self.shape == "cube":
            return self.half * math.sqrt(3)
        return self.radius * (math.sqrt(2) if self.shape == "cylinder" else 1.0)


def _checked(name: str, value: object, low: int, high: float = math.inf) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        expected = f"≥ {low}" if high == math.inf else f"from {low} to {high}"
        raise InvalidInputError(f"{name} must be an integer {expected}, found {value!r}")
    return int(value)


def project(camera: Mapping[str, Any], point: Sequence[float]) -> tuple[float, float, float]:
    """Where a world point lands in a render: ``(x, y, depth)``, pixels from the top left.

    ``camera`` is a truth's ``camera``; ``depth`` is the distance along the camera's axis.

    >>> camera = render_scene(7)[1].camera
    >>> [round(v, 9) for v in project(camera, (0.0, 0.0, 0.0))[:2]]
    [160.0, 120.0]
    """
    resolved = _Camera.looking_at_origin(camera["location"], float(camera["fov_deg"]))
    x, y, depth = resolved.project(np.asarray(point, dtype=float))
    return float(x), float(y), float(depth)


# ------------------------------------------------------------------ scene layout


def _directions(camera: _Camera) -> dict[str, tuple[float, float, float]]:
    # CLEVR's ground directions: the camera's forward and right vectors flattened onto z = 0.
    behind = camera.forward * (1, 1, 0)
    behind = behind / np.linalg.norm(behind)
    right = camera.right * (1, 1, 0)
    right = right / np.linalg.norm(right)
    return {
        "behind": _triple(behind),
        "front": _triple(-behind),
        "above": (0.0, 0.0, 1.0),
        "below": (0.0, 0.0, -1.0),
        "left": _triple(-right),
        "right": _triple(right),
    }


def _relationships(
    coords: Sequence[tuple[float, float, float]], directions: Mapping[str, tuple[float, float, float]]
) -> dict[str, list[list[int]]]:
    # CLEVR's compute_all_relationships: j is <name> of i when (c_j - c_i) · direction > eps.
    points = np.asarray(coords, dtype=float).reshape(-1, 3)
    out: dict[str, list[list[int]]] = {}
    for name, direction in directions.items():
        if name in ("above", "below"):
            continue
        measure = points @ np.asarray(direction)
        out[name] = [
            [j for j in range(len(points)) if j != i and measure[j] - measure[i] > _RELATION_EPS]
            for i in range(len(points))
        ]
    return out


def _place(
    rng: np.random.Generator, count: int, directions: Mapping[str, tuple[float, float, float]]
) -> list[_Solid]:
    # CLEVR's add_random_objects: up to _MAX_RETRIES positions are tried for each object, the
    # first that keeps its distance and margins is taken; when none does, start over.
    ground = np.array([directions[name][:2] for name in ("right", "behind")])  # [2, 2]
    sizes, colours = list(SIZES), list(COLOURS)
    while True:
        solids: list[_Solid] = []
        for _ in range(count):
            size = sizes[rng.integers(len(sizes))]
            tries = rng.uniform(-_EXTENT, _EXTENT, size=(_MAX_RETRIES, 2))
            good = np.ones(_MAX_RETRIES, dtype=bool)
            for other in solids:
                delta = tries - (other.x, other.y)
                apart = np.hypot(delta[:, 0], delta[:, 1]) - SIZES[size] - other.radius >= _MIN_DIST
                # Left, right, front and behind: 0 < delta · direction < margin in either sense.
                margins = np.abs(delta @ ground.T)
                good &= apart & np.all((margins >= _MARGIN) | (margins == 0), axis=1)
            if not good.any():
                break
            x, y = tries[np.argmax(good)]
            shape = SHAPES[rng.integers(len(SHAPES))]
            colour = colours[rng.integers(len(colours))]
            material = MATERIALS[rng.integers(len(MATERIALS))]
            rotation = float(rng.uniform(0.0, 360.0))
            solids.append(_Solid(shape, colour, material, size, float(x), float(y), rotation))
        if len(solids) == count:
            return solids


# ------------------------------------------------------------------ ray casting


def _intersect(solid: _Solid, origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Distance along each ray [N] to where it enters ``solid``; ``inf`` where it misses."""
    rel = origins - solid.centre
    if solid.shape == "sphere":
        return _hit_sphere(rel, dirs, solid.radius)
    if solid.shape == "cube":
        return _hit_box(rel, dirs, solid.half, math.radians(solid.rotation))
    return _hit_cylinder(rel, dirs, solid.radius, solid.half)


def _hit_sphere(rel: np.ndarray, dirs: np.ndarray, radius: float) -> np.ndarray:
    b = np.einsum("...i,...i->...", rel, dirs)
    c = np.einsum("...i,...i->...", rel, rel) - radius * radius
    disc = b * b - c
    t = -b - np.sqrt(np.maximum(disc, 0.0))
    return np.where((disc > 0) & (t > _EPS), t, np.inf)


def _hit_box(rel: np.ndarray, dirs: np.ndarray, half: float, theta: float) -> np.ndarray:
    # The slab method in the box's own frame (Kay and Kajiya, SIGGRAPH 1986).
    c, s = math.cos(theta), math.sin(theta)
    rx, ry, rz = rel[..., 0], rel[..., 1], rel[..., 2]
    dx, dy, dz = dirs[..., 0], dirs[..., 1], dirs[..., 2]
    near = np.full(rx.shape, -np.inf)
    far = np.full(rx.shape, np.inf)
    for o, d in ((c * rx + s * ry, c * dx + s * dy), (-s * rx + c * ry, -s * dx + c * dy), (rz, dz)):
        inv = 1.0 / np.where(np.abs(d) < 1e-12, 1e-12, d)
        t1 = (-half - o) * inv
        t2 = (half - o) * inv
        near = np.maximum(near, np.minimum(t1, t2))
        far = np.minimum(far, np.maximum(t1, t2))
    return np.where((near <= far) & (near > _EPS), near, np.inf)


def _hit_cylinder(rel: np.ndarray, dirs: np.ndarray, radius: float, half: float) -> np.ndarray:
    rx, ry, rz = rel[..., 0], rel[..., 1], rel[..., 2]
    dx, dy, dz = dirs[..., 0], dirs[..., 1], dirs[..., 2]
    a = np.maximum(dx * dx + dy * dy, 1e-12)
    b = rx * dx + ry * dy
    c = rx * rx + ry * ry - radius * radius
    disc = b * b - a * c
    side = (-b - np.sqrt(np.maximum(disc, 0.0))) / a
    side_z = rz + side * dz
    best = np.where((disc > 0) & (side > _EPS) & (np.abs(side_z) <= half), side, np.inf)
    safe_dz = np.where(np.abs(dz) < 1e-12, 1e-12, dz)
    for cap in (half, -half):
        t = (cap - rz) / safe_dz
        px, py = rx + t * dx, ry + t * dy
        best = np.where((t > _EPS) & (px * px + py * py <= radius * radius) & (t < best), t, best)
    return best


def _normals(solid: _Solid, points: np.ndarray) -> np.ndarray:
    """Outward unit normals [N, 3] at ``points`` [N, 3] on the surface of ``solid``."""
    rel = points - solid.centre
    if solid.shape == "sphere":
        return rel / solid.radius
    if solid.shape == "cube":
        theta = math.radians(solid.rotation)
        c, s = math.cos(theta), math.sin(theta)
        axes = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])  # the box's axes, in world
        local = rel @ axes.T
        face = np.argmax(np.abs(local), axis=-1)
        sign = np.sign(np.take_along_axis(local, face[:, None], axis=-1))
        return axes[face] * sign
    radial = rel * (1, 1, 0)
    rho = np.linalg.norm(radial, axis=-1, keepdims=True)
    on_cap = np.abs(rel[:, 2:3]) / solid.half > rho / solid.radius
    cap = np.zeros_like(rel)
    cap[:, 2] = np.sign(rel[:, 2])
    return np.where(on_cap, cap, radial / np.maximum(rho, 1e-12))


def _screen_rect(
    camera: _Camera, lo: np.ndarray, hi: np.ndarray, scale: int, *, clip: bool = True
) -> tuple[int, int, int, int] | None:
    """The sub-pixel rectangle (x0, y0, x1, y1) that holds the projection of the 3D box [lo, hi].

    Clipped to the image (None when nothing of it is inside) unless ``clip`` is false.
    Every box the renderer asks about lies in front of the camera.
    """
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    projected = camera.project(corners)
    x0 = math.floor(projected[:, 0].min() * scale) - 1
    y0 = math.floor(projected[:, 1].min() * scale) - 1
    x1 = math.ceil(projected[:, 0].max() * scale) + 1
    y1 = math.ceil(projected[:, 1].max() * scale) + 1
    if not clip:
        return x0, y0, x1, y1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, WIDTH * scale), min(y1, HEIGHT * scale)
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def _cast(
    camera: _Camera, solids: Sequence[_Solid], scale: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """Primary rays: (directions, distance, index of the solid hit or -1, each solid's unoccluded count).

    The unoccluded count includes what falls outside the image.
    """
    dirs = camera.rays(scale, (0, 0, WIDTH * scale, HEIGHT * scale))
    dz = dirs[..., 2]
    depth = np.where(dz < -1e-9, -camera.location[2] / np.minimum(dz, -1e-9), np.inf)
    ids = np.full(depth.shape, -1, dtype=np.int64)
    full: list[int] = []
    for k, solid in enumerate(solids):
        centre, reach = solid.centre, solid.bounding_radius
        x0, y0, x1, y1 = rect = _screen_rect(camera, centre - reach, centre + reach, scale, clip=False)
        t = _intersect(solid, camera.location, camera.rays(scale, rect))
        full.append(int(np.count_nonzero(np.isfinite(t))))
        cx0, cy0 = max(x0, 0), max(y0, 0)
        cx1, cy1 = min(x1, WIDTH * scale), min(y1, HEIGHT * scale)
        if cx0 >= cx1 or cy0 >= cy1:
            continue
        t = t[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
        nearer = t < depth[cy0:cy1, cx0:cx1]
        depth[cy0:cy1, cx0:cx1][nearer] = t[nearer]
        ids[cy0:cy1, cx0:cx1][nearer] = k
    return dirs, depth, ids, full


def _camera_and_light(rng: np.random.Generator) -> tuple[_Camera, np.ndarray]:
    azimuth = _CAMERA_AZIMUTH + rng.uniform(-_CAMERA_AZIMUTH_JITTER, _CAMERA_AZIMUTH_JITTER)
    elevation = _CAMERA_ELEVATION + rng.uniform(-_CAMERA_ELEVATION_JITTER, _CAMERA_ELEVATION_JITTER)
    distance = _CAMERA_DISTANCE + rng.uniform(-_CAMERA_DISTANCE_JITTER, _CAMERA_DISTANCE_JITTER)
    camera = _Camera.looking_at_origin(distance * _unit(azimuth, elevation), FOV_DEG)
    light_azimuth = azimuth + _LIGHT_AZIMUTH + rng.uniform(-_LIGHT_JITTER, _LIGHT_JITTER)
    light_elevation = _LIGHT_ELEVATION + rng.uniform(-_LIGHT_JITTER, _LIGHT_JITTER)
    return camera, _unit(light_azimuth, light_elevation)


def _triple(v: np.ndarray) -> tuple[float, float, float]:
    return float(v[0]), float(v[1]), float(v[2])


def _unit(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    a, e = math.radians(azimuth_deg), math.radians(elevation_deg)
    return np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])


@dataclass(frozen=True, slots=True, eq=False)
class _Layout:
    camera: _Camera
    light: np.ndarray  # [3], unit, toward the key light
    solids: tuple[_Solid, ...]
    ids: np.ndarray  # [HEIGHT, WIDTH], the solid seen through each pixel centre, -1 for the floor
    full: tuple[int, ...]


def _layout(seed: int, num_objects: int | None) -> _Layout:
    """The scene of ``seed``: camera, key light, solids, drawn again until every solid shows enough."""
    rng = np.random.default_rng(seed)
    camera, light = _camera_and_light(rng)
    directions = _directions(camera)
    # The count is drawn even when given, so a given count changes nothing drawn before it.
    drawn = int(rng.integers(_COUNT[0], _COUNT[1] + 1))
    count = drawn if num_objects is None else num_objects
    while True:
        solids = _place(rng, count, directions)
        _, _, ids, full = _cast(camera, solids, 1)
        visible = np.bincount(ids[ids >= 0], minlength=count)
        if visible.min() >= MIN_VISIBLE_PIXELS:
            return _Layout(camera, light, tuple(solids), ids, tuple(full))


# ------------------------------------------------------------------ shading


def _srgb_to_linear(rgb: Sequence[int]) -> np.ndarray:
    return (np.asarray(rgb, dtype=float) / 255.0) ** _GAMMA


def _shadow(
    layout: _Layout, points: np.ndarray, normals: np.ndarray, ids: np.ndarray, scale: int
) -> np.ndarray:
    """The share [H, W] of the key light's disk each surface point sees (soft shadows).

    Each sub-pixel sends ``_LIGHT_SAMPLES`` shadow rays to stratified points of the disk;
    the sub-pixels of one pixel use interleaved patterns, so a pixel averages
    ``_LIGHT_SAMPLES * scale²`` distinct points and penumbrae come out smooth.
    """
    light = layout.light
    e1 = np.cross(light, (0.0, 0.0, 1.0))
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(light, e1)
    spread = math.tan(_LIGHT_CONE)
    lowest = math.sin(math.asin(light[2]) - _LIGHT_CONE)
    phase = (np.arange(ids.shape[0])[:, None] % scale) * scale + np.arange(ids.shape[1])[None, :] % scale
    phase = (phase + 0.5) / scale**2  # [H, W] in (0, 1): which interleaved pattern
    blocked = np.zeros((_LIGHT_SAMPLES, *ids.shape), dtype=bool)
    for k, solid in enumerate(layout.solids):
        # Points this solid can shade lie in its bounding sphere swept away from the light.
        centre, reach = solid.centre, solid.bounding_radius
        sweep = (centre[2] + reach) / lowest
        end = centre - sweep * light
        grow = reach + sweep * spread
        lo, hi = np.minimum(centre, end) - grow, np.maximum(centre, end) + grow
        lo[2], hi[2] = 0.0, centre[2] + reach
        rect = _screen_rect(layout.camera, lo, hi, scale)
        if rect is None:
            continue
        x0, y0, x1, y1 = rect
        window = (slice(y0, y1), slice(x0, x1))
        towards = centre - points[window]
        along = towards @ light
        miss2 = np.einsum("...i,...i->...", towards, towards) - along**2
        candidates = (
            (ids[window] != k)
            & (normals[window] @ light > 0)
            & (along > -reach)
            & (miss2 < (reach + np.maximum(along, 0.0) * spread) ** 2)
        )
        if not candidates.any():
            continue
        origins = points[window][candidates] + 1e-3 * normals[window][candidates]
        turn = phase[window][candidates]
        for s in range(_LIGHT_SAMPLES):
            # A golden-angle spiral over the disk, stratified in radius.
            u = (s + turn) / _LIGHT_SAMPLES
            angle = 2.399963 * (s * scale**2 + turn * scale**2)
            radius = spread * np.sqrt(u)
            dirs = light + (radius * np.cos(angle))[:, None] * e1 + (radius * np.sin(angle))[:, None] * e2
            dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
            blocked[s, y0:y1, x0:x1][candidates] |= np.isfinite(_intersect(solid, origins, dirs))
    return 1.0 - blocked.mean(axis=0)


def _near(solid: _Solid, origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Which rays [N] pass through the bounding sphere of ``solid`` ahead of their origin."""
    towards = solid.centre - origins
    along = np.einsum("...i,...i->...", towards, dirs)
    miss2 = np.einsum("...i,...i->...", towards, towards) - along**2
    return (along > -solid.bounding_radius) & (miss2 < solid.bounding_radius**2)


def _mirror(layout: _Layout, origins: np.ndarray, dirs: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Radiance [N, 3] seen along mirrored rays: the other solids, the floor and its shadows, the sky."""
    light = layout.light
    up = dirs[:, 2]
    far = np.where(up < -1e-6, -origins[:, 2] / np.minimum(up, -1e-6), np.inf)
    seen = np.full(len(origins), -1)
    for k, solid in enumerate(layout.solids):
        near = _near(solid, origins, dirs) & (own != k)
        if near.any():
            index = np.flatnonzero(near)
            t = _intersect(solid, origins[index], dirs[index])
            closer = t < far[index]
            far[index[closer]] = t[closer]
            seen[index[closer]] = k
    radiance = np.empty_like(origins)
    # The sky: darker at the horizon, with the fill and back lamps as soft bright patches.
    fill, back = _lamps(layout.camera)
    sky = 0.3 + 0.4 * np.clip(up, 0.0, 1.0)
    for lamp, power in ((fill, 1.5), (back, 2.5)):
        sky += power * np.exp((dirs @ lamp - 1.0) / 0.02)
    radiance[:] = sky[:, None]
    floor = (seen < 0) & np.isfinite(far)
    if floor.any():
        points = origins[floor] + far[floor, None] * dirs[floor]
        lit = np.ones(len(points), dtype=bool)
        for solid in layout.solids:
            near = _near(solid, points, np.broadcast_to(light, points.shape))
            if near.any():
                lit[near] &= ~np.isfinite(_intersect(solid, points[near], light[None, :]))
        radiance[floor] = (_FLOOR_ALBEDO * (_KEY * light[2] * lit + _SKY) * _falloff(points))[:, None]
    for k, solid in enumerate(layout.solids):
        hit = seen == k
        if hit.any():
            normals = _normals(solid, origins[hit] + far[hit, None] * dirs[hit])
            light_in = _KEY * np.maximum(normals @ light, 0.0) + _SKY * (0.6 + 0.4 * normals[:, 2])
            radiance[hit] = light_in[:, None] * _srgb_to_linear(COLOURS[solid.color])
    return radiance


def _lamps(camera: _Camera) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors toward the fill lamp (beside the camera) and the back lamp (facing it)."""
    azimuth = math.degrees(math.atan2(camera.location[1], camera.location[0]))
    return _unit(azimuth + 60.0, 30.0), _unit(azimuth + 180.0, 45.0)


def _falloff(points: np.ndarray) -> np.ndarray:
    # The key light is a large lamp above the table: its light fades slowly away from the middle.
    reach2 = points[..., 0] ** 2 + points[..., 1] ** 2
    return 1.0 / (1.0 + reach2 / 180.0)


def _shade(layout: _Layout) -> np.ndarray:
    """The render in linear RGB [HEIGHT*s, WIDTH*s, 3], s the supersampling factor."""
    scale = _SUPERSAMPLE
    camera, light, solids = layout.camera, layout.light, layout.solids
    dirs, depth, ids, _ = _cast(camera, solids, scale)
    points = camera.location + depth[..., None] * dirs
    normals = np.zeros_like(points)
    normals[..., 2] = 1.0
    for k, solid in enumerate(solids):
        mask = ids == k
        normals[mask] = _normals(solid, points[mask])
    # Per-solid tables, indexed by ids; their last row (index -1) is the floor's.
    albedo = np.array([_srgb_to_linear(COLOURS[s.color]) for s in solids] + [[_FLOOR_ALBEDO] * 3])[ids]
    metal = np.array([s.material == "metal" for s in solids] + [False])[ids]
    rubber = (ids >= 0) & ~metal

    lit = _shadow(layout, points, normals, ids, scale)

    # A fill light from the camera's side and a back light from behind the objects.
    fill, back = _lamps(camera)
    view = -dirs
    n_l = normals @ light
    diffuse = (
        _KEY * np.maximum(n_l, 0.0) * lit
        + _FILL * np.maximum(normals @ fill, 0.0)
        + _BACK * np.maximum(normals @ back, 0.0)
        + _SKY * (0.6 + 0.4 * normals[..., 2])
    )
    floor = ids < 0
    diffuse[floor] *= _falloff(points[floor])
    half_vector = light + view
    half_vector /= np.linalg.norm(half_vector, axis=-1, keepdims=True)
    n_h = np.maximum(np.einsum("...i,...i->...", normals, half_vector), 0.0)
    colour = albedo * diffuse[..., None]

    # Rubber: a faint, broad sheen.
    colour[rubber] += (0.04 * _KEY * n_h[rubber] ** 12 * lit[rubber] * (n_l[rubber] > 0))[:, None]
    if metal.any():
        # Metal: a darker, more saturated diffuse, a mirror image of the scene tinted by the
        # metal's colour (Schlick's Fresnel), and a tight Blinn-Phong highlight on a broad one.
        base = albedo[metal]
        n, v, p = normals[metal], view[metal], points[metal]
        cos_v = np.clip(np.einsum("...i,...i->...", n, v), 0.0, 1.0)
        mirror = 2 * cos_v[:, None] * n - v
        fresnel = base + (1 - base) * ((1 - cos_v) ** 5)[:, None]
        reflected = _mirror(layout, p + 1e-3 * n, mirror, ids[metal])
        sheen = n_h[metal]
        highlight = _KEY * (3.0 * sheen**180 + 0.4 * sheen**24) * lit[metal] * (n_l[metal] > 0)
        colour[metal] = (
            0.15 * base**1.4 * diffuse[metal][:, None]
            + 0.9 * fresnel * reflected
            + highlight[:, None] * (0.6 + 0.4 * base)
        )
    return colour


def _to_image(linear: np.ndarray) -> Image.Image:
    scale = _SUPERSAMPLE
    pixels = linear.reshape(HEIGHT, scale, WIDTH, scale, 3).mean(axis=(1, 3))
    # A soft shoulder instead of a hard clip keeps highlights from flattening.
    pixels = pixels / (1.0 + 0.15 * np.maximum(pixels - 0.8, 0.0))
    srgb = np.clip(pixels, 0.0, 1.0) ** (1 / _GAMMA)
    return Image.fromarray(np.round(srgb * 255).astype(np.uint8), mode="RGB")


# ------------------------------------------------------------------ the public renderer


def _truth(seed: int, layout: _Layout) -> TabletopTruth:
    camera, ids = layout.camera, layout.ids
    directions = _directions(camera)
    objects = []
    for k, solid in enumerate(layout.solids):
        ys, xs = np.nonzero(ids == k)
        x, y, depth = camera.project(solid.centre)
        objects.append(
            TableObject(
                shape=solid.shape,
                color=solid.color,
                material=solid.material,
                size=solid.size,
                coords=(solid.x, solid.y, float(solid.half)),
                rotation=solid.rotation,
                pixel_coords=(math.floor(x), math.floor(y), float(depth)),
                bbox=(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1),
                visible_pixels=len(xs),
                full_pixels=layout.full[k],
            )
        )
    return TabletopTruth(
        seed=seed,
        objects=tuple(objects),
        directions=directions,
        relationships=_relationships([obj.coords for obj in objects], directions),
        camera=camera.as_dict(),
        key_light=_triple(layout.light),
    )


def render_scene(seed: int, *, num_objects: int | None = None) -> tuple[Image.Image, TabletopTruth]:
    """Render the tabletop scene of ``seed``: the RGB picture and its truth.

    The camera and key light are jittered, the objects drawn and placed as CLEVR does,
    and the scene is drawn again (from the same generator) until every object shows at
    least :data:`MIN_VISIBLE_PIXELS` pixels. Everything follows from ``seed``.

    Args:
        seed: a non-negative integer.
        num_objects: how many objects, 3 to 10; by default drawn uniformly from the seed.

    Raises:
        InvalidInputError: ``seed`` is negative or not an integer, or ``num_objects`` is out of range.

    >>> image, truth = render_scene(11, num_objects=4)
    >>> image.mode, len(truth.objects)
    ('RGB', 4)
    """
    seed = _checked("seed", seed, 0)
    count = None if num_objects is None else _checked("num_objects", num_objects, *_COUNT)
    layout = _layout(seed, count)
    return _to_image(_shade(layout)), _truth(seed, layout)


def render_masks(seed: int, *, num_objects: int | None = None) -> np.ndarray:
    """Which object each pixel of ``render_scene(seed)`` shows: [HEIGHT, WIDTH] indices, -1 for the floor.

    A pixel shows what the ray through its centre meets first.

    >>> masks = render_masks(7)
    >>> masks.shape, int(masks.min())
    ((240, 320), -1)
    """
    seed = _checked("seed", seed, 0)
    count = None if num_objects is None else _checked("num_objects", num_objects, *_COUNT)
    return _layout(seed, count).ids.copy()
