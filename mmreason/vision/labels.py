"""Labelled images: the training data of a world's CLIP model, one fact per CSV row.

A labels file is a CSV with the header ``image,x0,y0,x1,y1,property,value``:

* ``image``: a picture, relative to the CSV's folder;
* ``x0,y0,x1,y1``: a box in pixels (exclusive ends, inside the image), or all
  four empty for the whole image;
* ``property``: ``a`` (the value is a class: the type of what the box holds, one
  of the world's object types, background types included), or a property the
  manifest lists in ``vision.object_attributes`` or ``vision.scene_attributes``
  (the value is one of the individuals of its ``rdfs:range``);
* names are prefixed names with the world's prefixes (``mr:Car``) or IRIs.

:func:`read_labels` checks every row against the world and the image (sizes
are read from headers only); a refused row raises
:class:`~mmreason.errors.WorldError` naming the file, the line and the column.
:func:`write_renders` renders scenes with a world's renderer and, with
``labels=True``, writes their truth as such a file.

>>> import tempfile
>>> from mmreason.worlds import resolve_world
>>> world = resolve_world("crossing")
>>> with tempfile.TemporaryDirectory() as folder:
...     _ = write_renders(world, folder, seed=3, labels=True)
...     labels = read_labels(Path(folder) / LABELS_FILE, world)
>>> first = labels.rows[0]
>>> first.box is None, world.curie(first.property), first.image.name
(True, 'mr:weather', 'scene-3.png')
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmreason.errors import InvalidInputError, MissingFileError, WorldError
from mmreason.limits import MAX_LABEL_ROWS, quote
from mmreason.vision.vocabulary import TYPE, Vocabulary

if TYPE_CHECKING:
    from mmreason.worlds import World

__all__ = [
    "HEADER",
    "IMAGES_FOLDER",
    "LABELS_FILE",
    "SCENES_FILE",
    "TYPE_PROPERTY",
    "LabelRow",
    "Labels",
    "read_labels",
    "write_labels",
    "write_renders",
]

#: The columns of a labels file, in order.
HEADER: tuple[str, ...] = ("image", "x0", "y0", "x1", "y1", "property", "value")
#: The ``property`` of a row whose value is the class of what the box holds (as Turtle's ``a``).
TYPE_PROPERTY = "a"
#: The file name :func:`write_renders` gives the labels it writes.
LABELS_FILE = "labels.csv"
#: A renderer whose truth has ``scene_record`` writes CLEVR's layout: images here, and ...
IMAGES_FOLDER = "images"
#: ... every scene's record in one file, under ``"scenes"``.
SCENES_FILE = "scenes.json"

Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class LabelRow:
    """One labelled fact: what ``image`` (or the ``box`` of it) shows."""

    image: Path  # absolute
    box: Box | None  # (x0, y0, x1, y1) in pixels, exclusive ends; None: the whole image
    property: str  # TYPE_PROPERTY, or a property IRI
    value: str  # a class IRI (for TYPE_PROPERTY) or an individual's IRI
    line: int  # where the row is in the CSV

    @property
    def kind(self) -> str:
        """The vocabulary kind of the row: ``"type"`` or the property IRI."""
        return TYPE if self.property == TYPE_PROPERTY else self.property


@dataclass(frozen=True, slots=True)
class Labels:
    """A checked labels file: its rows, where it is and its SHA-256 (recorded by training)."""

    path: Path  # absolute
    sha256: str
    rows: tuple[LabelRow, ...]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def images(self) -> tuple[Path, ...]:
        """The distinct images, in order of first appearance."""
        return tuple(dict.fromkeys(r.image for r in self.rows))

    def relative(self, image: Path) -> str:
        """How the CSV names ``image``: relative to its folder when inside it (POSIX separators)."""
        try:
            return image.relative_to(self.path.parent).as_posix()
        except ValueError:
            return image.as_posix()


def read_labels(path: str | Path, world: World | str | Path) -> Labels:
    """Read and check a labels file against a world.

    Args:
        path: the CSV (see the module docstring for its columns).
        world: the world whose names the rows use (a World, a folder or a bundled world's name).

    Raises:
        MissingFileError: ``path`` does not exist.
        WorldError: a wrong header, an image missing or unreadable, a malformed number, a box
            outside its image or with ``x1 <= x0`` (or ``y1 <= y0``), half a box, an unknown
            property, or a value that is not one of the property's values; the message names the
            file, the line and the column.
    """
    from mmreason.worlds import resolve_world

    csv_path = Path(path)
    if not csv_path.is_file():
        raise MissingFileError(csv_path, what="labels file")
    resolved = resolve_world(world)
    return _read_impl(csv_path.resolve(), resolved, Vocabulary.from_world(resolved))


def _read_impl(path: Path, world: World, vocabulary: Vocabulary) -> Labels:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WorldError(f"{path}: not UTF-8 text (byte {exc.start})", path=str(path)) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    check = _RowChecker(path, world, vocabulary)
    try:
        header = next(reader, None)
        check.header(header, reader.line_num or 1)
        rows = tuple(
            check.row(fields, reader.line_num)
            for fields in itertools.islice(reader, MAX_LABEL_ROWS + 1)
            if any(f.strip() for f in fields)
        )
        if len(rows) > MAX_LABEL_ROWS:
            raise WorldError(
                f"{path}: more than {MAX_LABEL_ROWS:,} rows (docs/limits.md)",
                path=str(path),
                line=reader.line_num,
            )
    except csv.Error as exc:
        raise WorldError(
            f"{path}:{reader.line_num}: not valid CSV: {exc}", path=str(path), line=reader.line_num
        ) from None
    if not rows:
        raise WorldError(f"{path}: no labelled rows below the header", path=str(path))
    return Labels(path=path, sha256=hashlib.sha256(data).hexdigest(), rows=rows)


class _RowChecker:
    """Checks rows one by one; refusals name the file, the line and the column."""

    def __init__(self, path: Path, world: World, vocabulary: Vocabulary) -> None:
        self.path = path
        self.world = world
        self.properties = (*vocabulary.object_attributes, *vocabulary.scene_attributes)
        self.values = {TYPE_PROPERTY: {c.iri for c in vocabulary.types}}
        self.values.update({p: {c.iri for c in vocabulary.of(p)} for p in self.properties})
        self.sizes: dict[Path, tuple[int, int] | str] = {}  # image -> (width, height), or why it is refused

    def fail(self, line: int, column: str, message: str) -> WorldError:
        return WorldError(
            f"{self.path}:{line}: column {column!r}: {message}", path=str(self.path), line=line, key=column
        )

    def header(self, header: list[str] | None, line: int) -> None:
        found = tuple(h.strip() for h in header or ())
        if found != HEADER:
            wrong = next(
                (i for i, name in enumerate(HEADER) if i >= len(found) or found[i] != name), len(HEADER)
            )
            column = HEADER[wrong] if wrong < len(HEADER) else found[wrong]
            raise self.fail(
                line, column, f"the header must be {','.join(HEADER)}; found {','.join(found) or 'nothing'}"
            )

    def row(self, fields: list[str], line: int) -> LabelRow:
        if len(fields) != len(HEADER):
            column = HEADER[len(fields)] if len(fields) < len(HEADER) else "value"
            raise self.fail(line, column, f"expected {len(HEADER)} columns, found {len(fields)}")
        image_name, *corners, prop_name, value_name = (f.strip() for f in fields)
        image, size = self.image(image_name, line)
        box = self.box(corners, image.name, size, line)
        prop = self.property(prop_name, line)
        value = self.value(prop, value_name, line)
        return LabelRow(image=image, box=box, property=prop, value=value, line=line)

    def image(self, name: str, line: int) -> tuple[Path, tuple[int, int]]:
        from mmreason.vision.images import MAX_PIXELS

        if not name:
            raise self.fail(line, "image", "empty; expected a picture's path relative to the CSV")
        try:
            image = (self.path.parent / name).resolve()
        except (ValueError, OSError) as exc:  # a NUL byte, a name too long for the system
            raise self.fail(line, "image", f"{quote(name)} is not a usable path: {exc}") from None
        if image not in self.sizes:
            self.sizes[image] = _header_size(image, MAX_PIXELS)
        size = self.sizes[image]
        if isinstance(size, str):
            raise self.fail(line, "image", f"{name!r} ({image}): {size}")
        return image, size

    def box(self, corners: Sequence[str], image: str, size: tuple[int, int], line: int) -> Box | None:
        if not any(corners):
            return None
        numbers = []
        for column, text in zip(HEADER[1:5], corners, strict=True):
            if not text:
                raise self.fail(
                    line, column, "empty while other corners are given (all four empty: the whole image)"
                )
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise self.fail(line, column, f"expected a number of pixels, found {text!r}")
            numbers.append(number)
        x0, y0, x1, y1 = numbers
        width, height = size
        for column, low, high in (("x1", x0, x1), ("y1", y0, y1)):
            if high <= low:
                raise self.fail(
                    line, column, f"{high:g} is not beyond {low:g}; a box needs x1 > x0 and y1 > y0"
                )
        for column, number, limit in (
            ("x0", x0, width),
            ("y0", y0, height),
            ("x1", x1, width),
            ("y1", y1, height),
        ):
            if not 0 <= number <= limit:
                raise self.fail(
                    line, column, f"{number:g} is outside the image {image} ({width}×{height} pixels)"
                )
        return (x0, y0, x1, y1)

    def property(self, name: str, line: int) -> str:
        if name == TYPE_PROPERTY:
            return TYPE_PROPERTY
        iri = _expand(name, self.world)
        if iri not in self.properties:
            known = ", ".join([TYPE_PROPERTY, *(self.world.curie(p) for p in self.properties)])
            raise self.fail(
                line,
                "property",
                f"{name!r} is not {TYPE_PROPERTY!r} nor a property the manifest lists in "
                f"vision.object_attributes or vision.scene_attributes; known: {known}",
            )
        return iri

    def value(self, prop: str, name: str, line: int) -> str:
        iri = _expand(name, self.world)
        allowed = self.values[prop]
        if iri not in allowed:
            what = "object types" if prop == TYPE_PROPERTY else f"values of {self.world.curie(prop)}"
            known = ", ".join(sorted(self.world.curie(v) for v in allowed))
            raise self.fail(line, "value", f"{name!r} is not one of the world's {what}: {known}")
        return iri


def _expand(name: str, world: World) -> str | None:
    from mmreason.worlds import expand_name

    return expand_name(name, world.prefixes) if name else None


def _header_size(image: Path, max_pixels: int) -> tuple[int, int] | str:
    """``(width, height)`` read from the header, or why the image is refused."""
    from PIL import Image

    if not image.is_file():
        return "no such image file"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(image) as opened:
                width, height = opened.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return "too many pixels to decode safely"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"not an image PIL can read ({exc})"
    if width < 1 or height < 1 or width * height > max_pixels:
        return f"{width}×{height} pixels: empty, or over the limit of {max_pixels:,}"
    return (width, height)


def write_labels(
    path: str | Path, rows: Iterable[tuple[str | Path, Sequence[float] | None, str, str]]
) -> Path:
    """Write a labels file: rows of ``(image, box or None, property, value)``.

    ``image`` is relative to the CSV (an absolute path inside its folder is made relative);
    ``property`` and ``value`` are written as given (prefixed names or IRIs). Returns the path.

    Raises:
        InvalidInputError: a box that is not four numbers, or an empty property or value.
    """
    csv_path = Path(path)
    lines = []
    for number, (image, box, prop, value) in enumerate(rows):
        if box is not None and len(box) != 4:
            raise InvalidInputError(f"rows[{number}]: box must be (x0, y0, x1, y1) or None, found {box!r}")
        if not prop or not value:
            raise InvalidInputError(
                f"rows[{number}]: property and value must be non-empty, found {prop!r}, {value!r}"
            )
        corners = ["", "", "", ""] if box is None else [_number(v) for v in box]
        lines.append([_relative(Path(image), csv_path.parent), *corners, str(prop), str(value)])
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(lines)
    return csv_path


def _number(value: float) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _relative(image: Path, folder: Path) -> str:
    if image.is_absolute():
        try:
            return image.relative_to(folder.resolve()).as_posix()
        except ValueError:
            return image.as_posix()
    return image.as_posix()


def write_renders(
    world: World | str | Path,
    out: str | Path,
    *,
    seed: int = 0,
    count: int = 1,
    labels: bool = False,
    progress: bool = False,
) -> list[Path]:
    """Render seeds ``seed .. seed + count - 1`` with the world's renderer into ``out``.

    Each render is written as ``<scene id>.png`` (the truth's ``scene_id``, else the seed),
    with ``<scene id>.json`` beside it when the truth has ``to_json``. With ``labels=True``,
    ``out/labels.csv`` holds every render's ``truth.labels()``, boxes clipped to the image
    (a labels file only holds boxes inside their image; a box with nothing inside is dropped).

    Returns:
        The PNG paths, in seed order.

    Raises:
        InvalidInputError: ``count`` < 1 or ``seed`` negative.
        WorldError: the world has no renderer, or ``labels=True`` and its truth has no ``labels()``.
    """
    from mmreason.worlds import resolve_world

    for name, value, least in (("seed", seed, 0), ("count", count, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InvalidInputError(f"{name} must be an integer ≥ {least}, found {value!r}")
    resolved = resolve_world(world)
    render = resolved.load_renderer()
    return _write_renders_impl(resolved, render, Path(out), range(seed, seed + count), labels, progress)


def _write_renders_impl(
    world: World, render: Any, folder: Path, seeds: range, labels: bool, progress: bool
) -> list[Path]:
    from tqdm.auto import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    rows: list[tuple[str, Box | None, str, str]] = []
    records: list[dict[str, Any]] = []
    for seed in tqdm(seeds, desc=f"render {world.name}", disable=not progress):
        image, truth = render(seed)
        name = f"{getattr(truth, 'scene_id', None) or seed}.png"
        if hasattr(truth, "scene_record"):
            # A collection in CLEVR's layout: images/ and one scenes.json, image_index by position.
            (folder / IMAGES_FOLDER).mkdir(exist_ok=True)
            png = folder / IMAGES_FOLDER / name
            records.append(truth.scene_record(len(records), name))
        else:
            png = folder / name
        image.save(png)
        if hasattr(truth, "to_json") and not hasattr(truth, "scene_record"):
            png.with_suffix(".json").write_text(truth.to_json() + "\n", encoding="utf-8")
        paths.append(png)
        if labels:
            if not hasattr(truth, "labels"):
                raise WorldError(
                    f"{world.manifest}: renderer: the truth of {world.renderer!r} has no labels() to write",
                    path=str(world.manifest),
                    key="renderer",
                )
            for box, prop, value in truth.labels():
                clipped = None if box is None else _clip(box, image.size)
                if box is None or clipped is not None:
                    name = prop if prop == TYPE_PROPERTY else world.curie(prop)
                    rows.append((png.relative_to(folder).as_posix(), clipped, name, world.curie(value)))
    if records:
        info = {"world": world.name, "renderer": world.renderer, "seeds": [seeds.start, seeds.stop - 1]}
        (folder / SCENES_FILE).write_text(
            json.dumps({"info": info, "scenes": records}) + "\n", encoding="utf-8"
        )
    if labels:
        write_labels(folder / LABELS_FILE, rows)
    return paths


def _clip(box: Sequence[float], size: tuple[int, int]) -> Box | None:
    width, height = size
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = max(0.0, x0), min(float(width), x1)
    y0, y1 = max(0.0, y0), min(float(height), y1)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None
