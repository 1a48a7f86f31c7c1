"""Worlds: a folder with a manifest (``world.toml``) is everything the engine knows of a domain.

A world holds its ontology (RDF, in its own namespace), optionally an SCM and
the bindings of its variables to scene facts, the vision schema (which classes
are countable objects, which are background, which properties are read per
object and per image), labelled images for ``train-clip``, a CLIP checkpoint,
and at most one module of world-specific code (a renderer, region proposer and
readers of measurements a picture encodes). The reasoner, question layer,
grounding and evidence code read everything by the IRIs the manifest names.

Prefixed names in a manifest are the ontology's own: the prefixes its files
declare, plus ``rdf rdfs xsd owl skos`` and the engine's ``mm``.

>>> world = World.load(bundled_world_dir("crossing"))
>>> world.name, world.vision.type_crop
('crossing', 'grey')
>>> world.curie(world.vision.scene_attributes[0])
'mr:weather'
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from mmreason.errors import WorldError
from mmreason.limits import quote
from mmreason.paths import bundled_graphs_dir

if TYPE_CHECKING:
    import rdflib

__all__ = [
    "DEFAULT_WORLD",
    "WORLD_FILE",
    "DemoSpec",
    "QuestionSchema",
    "RelationRule",
    "VisionSchema",
    "World",
    "bundled_world_dir",
    "bundled_worlds",
    "resolve_world",
]

#: The manifest's file name inside a world folder.
WORLD_FILE = "world.toml"
#: The world ``Reasoner.default()`` and every command without ``--world`` use.
DEFAULT_WORLD = "crossing"

_TOP_KEYS = {
    "name",
    "description",
    "ontology",
    "scm",
    "bindings",
    "encoder",
    "readers",
    "renderer",
    "clip_renderer",
    "clip_reader",
    "vision",
    "training",
    "demo",
    "examples",
    "questions",
}
_VISION_KEYS = {
    "objects",
    "background",
    "object_attributes",
    "scene_attributes",
    "prompts",
    "type_crop",
    "proposer",
    "focus",
}
_TRAINING_KEYS = {"labels", "steps", "seed", "rounds"}
_DEMO_KEYS = {"questions", "seeds", "images", "scenarios"}
_QUESTION_KEYS = {"attributes", "relations", "margin", "spacing", "spread"}
_RELATION_ORDERS = ("less", "more")
#: The attribute value of ``[questions] attributes`` that means an object's class.
CLASS_ATTRIBUTE = "a"
_TYPE_CROPS = ("colour", "grey")
_BUILTIN_PROPOSERS = ("grid", "segment")
_FOCUS_ORDERS = ("least", "most")
#: The prompt template of a kind without one in ``[vision.prompts]``.
DEFAULT_PROMPT = "{a} {label}"
_CODE_SPEC = re.compile(r"^(?P<module>[A-Za-z_][\w.]*|[\w\-./]+\.py):(?P<name>[A-Za-z_]\w*)$")


@dataclass(frozen=True, slots=True)
class VisionSchema:
    """What grounding reads in a world's pictures, by IRI.

    ``objects`` is the class whose leaf subclasses are countable objects (their
    ``rdfs:label`` is the prompt); leaves under a ``background`` class are regions
    a picture shows but no one counts. ``object_attributes`` are read on each
    object whose type falls in the property's ``rdfs:domain``;
    ``scene_attributes`` on the whole image; the values of both are the
    individuals of the property's ``rdfs:range``. ``focus`` orders objects by a
    measured property (``("least", iri)``): "the car" of a question is the first
    of several.
    """

    objects: str
    background: tuple[str, ...] = ()
    object_attributes: tuple[str, ...] = ()
    scene_attributes: tuple[str, ...] = ()
    prompts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    type_crop: str = "colour"
    proposer: str = "grid"
    focus: tuple[str, str] | None = None

    def prompt_template(self, key: str) -> str:
        """The template for ``"objects"`` or a property IRI (default ``"{a} {label}"``)."""
        return self.prompts.get(key, DEFAULT_PROMPT)


@dataclass(frozen=True, slots=True)
class RelationRule:
    """A spatial relation of compositional questions: j is ``name`` of i when j's ``measure``
    is less (``sign`` -1) or more (``sign`` +1) than i's by more than the schema's margin."""

    name: str
    property: str
    measure: str
    sign: int


@dataclass(frozen=True, slots=True)
class QuestionSchema:
    """How compositional (CLEVR-style) questions read a world's objects (``[questions]``).

    ``attributes`` maps the names programs use (``"color"``) to a property IRI, or to
    ``"a"`` for the object's class; ``relations`` maps relation names (``"left"``) to
    how they are measured.
    """

    attributes: Mapping[str, str]
    relations: Mapping[str, RelationRule] = field(default_factory=lambda: MappingProxyType({}))
    margin: float = 0.0
    #: How far apart the world's scenes keep any two things along each relation's measure (CLEVR
    #: places things at least 0.4 apart along every direction). When it exceeds the margin, the
    #: true difference of two things is either ≤ −spacing or ≥ spacing, so a difference read from
    #: a picture is decided at the midpoint, 0 (see :meth:`threshold`).
    spacing: float = 0.0
    #: Per measure IRI, the standard deviation of a reading from a picture about the truth;
    #: the scenes drawn for an answer's confidence perturb each measure by it.
    spread: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def threshold(self) -> float:
        """The difference of two read measures above which a relation is taken to hold: the margin,
        or 0 where the world's spacing exceeds it (the truth is then at least ``spacing`` either
        side, and 0 is the midpoint; NS-VQA's CLEVR executor compares read positions so)."""
        return 0.0 if self.spacing > self.margin else self.margin


@dataclass(frozen=True, slots=True)
class DemoSpec:
    """What ``mmreason demo`` shows of a world: its questions, renders or images, and scenarios."""

    questions: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()
    images: tuple[Path, ...] = ()
    scenarios: tuple[Path, ...] = ()


@dataclass(frozen=True)
class World:
    """A loaded, validated world folder. Build it with :meth:`load`."""

    name: str
    description: str
    root: Path
    manifest: Path
    ontology: tuple[Path, ...]
    prefixes: Mapping[str, str]
    scm: Path | None = None
    bindings: Path | None = None
    encoder: Path | None = None
    readers: tuple[str, ...] = ()
    renderer: str | None = None
    clip_renderer: str | None = None
    clip_reader: str | None = None
    vision: VisionSchema | None = None
    labels: Path | None = None
    training: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    demo: DemoSpec = field(default_factory=DemoSpec)
    examples: tuple[str, ...] = ()
    questions: QuestionSchema | None = None

    def __repr__(self) -> str:
        return f"World({self.name!r}, root={str(self.root)!r})"

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: str | Path) -> World:
        """Read and check ``path`` (a world folder, or its ``world.toml``).

        Raises:
            WorldError: the manifest is missing, not TOML, names a missing file, a class or
                property the ontology lacks, a class with no leaf subclasses, or an unknown key;
                the message names the file, the line and the key.
        """
        path = Path(path)
        manifest = path / WORLD_FILE if path.is_dir() else path
        if not manifest.is_file():
            raise WorldError(f"{manifest}: no world manifest here (a world is a folder with {WORLD_FILE})")
        from mmreason.limits import MAX_TOML_BYTES

        if manifest.stat().st_size > MAX_TOML_BYTES:
            raise WorldError(
                f"{manifest}: over {MAX_TOML_BYTES:,} bytes (docs/limits.md)", path=str(manifest)
            )
        try:
            text = manifest.read_text(encoding="utf-8")
            raw = tomllib.loads(text)
        except UnicodeDecodeError as exc:
            raise WorldError(f"{manifest}: not UTF-8 text: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise WorldError(f"{manifest}: not valid TOML: {exc}") from None
        return _Reader(manifest, text, raw).world()

    @cached_property
    def graph(self) -> rdflib.Graph:
        """The ontology files, parsed into one rdflib graph (once per World)."""
        return _parse_ontology(self.ontology)

    # ---------------------------------------------------------------- names

    def expand(self, name: str) -> str:
        """A prefixed name (``"mr:Car"``) or an IRI, as an IRI; raises WorldError for an unknown prefix."""
        iri = expand_name(name, self.prefixes)
        if iri is None:
            raise WorldError(
                f"{self.manifest}: {name!r} is not a prefixed name with a prefix the ontology declares "
                f"(known: {', '.join(sorted(self.prefixes))}) nor an IRI"
            )
        return iri

    def curie(self, iri: str) -> str:
        """``iri`` shortened by the world's prefixes, for display (the IRI itself when none fits)."""
        best = ""
        for prefix, namespace in self.prefixes.items():
            if iri.startswith(namespace) and len(namespace) > len(best):
                best, chosen = namespace, prefix
        return f"{chosen}:{iri[len(best) :]}" if best else iri

    # ----------------------------------------------------------------- code

    def load_readers(self) -> tuple[Callable[..., Any], ...]:
        """The reader functions the manifest names, imported."""
        return tuple(self._code(spec, "readers") for spec in self.readers)

    def load_renderer(self) -> Callable[..., Any]:
        """The renderer the manifest names; WorldError when the world has none."""
        if self.renderer is None:
            raise WorldError(f"{self.manifest}: the world {self.name!r} has no renderer (key 'renderer')")
        return self._code(self.renderer, "renderer")

    def load_clip_renderer(self) -> Callable[..., Any]:
        """The clip renderer the manifest names (``render(seed, out=PATH)``); WorldError when none."""
        if self.clip_renderer is None:
            raise WorldError(
                f"{self.manifest}: the world {self.name!r} has no clip renderer (key 'clip_renderer')"
            )
        return self._code(self.clip_renderer, "clip_renderer")

    def load_clip_reader(self) -> Callable[..., Any]:
        """The clip reader the manifest names (``read(path, ground=..., vocabulary=...)`` → a scene
        graph); WorldError when the world reads no clips."""
        if self.clip_reader is None:
            raise WorldError(f"{self.manifest}: the world {self.name!r} reads no clips (key 'clip_reader')")
        return self._code(self.clip_reader, "clip_reader")

    def load_proposer(self) -> Callable[..., Any] | None:
        """The world's own region proposer, or None when it uses a built-in one."""
        if self.vision is None or self.vision.proposer in _BUILTIN_PROPOSERS:
            return None
        return self._code(self.vision.proposer, "vision.proposer")

    def _code(self, spec: str, key: str) -> Callable[..., Any]:
        return load_code(spec, root=self.root, where=f"{self.manifest}: {key}")


def expand_name(name: str, prefixes: Mapping[str, str]) -> str | None:
    """``prefix:local`` by ``prefixes``, ``<iri>`` or an absolute IRI as is; None otherwise.

    >>> expand_name("ex:Car", {"ex": "http://example.org/#"})
    'http://example.org/#Car'
    >>> expand_name("<http://example.org/#Bus>", {})
    'http://example.org/#Bus'
    >>> expand_name("nope:Car", {}) is None
    True
    """
    if not isinstance(name, str):
        return None
    text = name.strip()
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1]
    prefix, colon, local = text.partition(":")
    if not colon:
        return None
    if prefix in prefixes:
        return prefixes[prefix] + local
    if local.startswith("//"):
        return text
    return None


def load_code(spec: str, *, root: Path | None = None, where: str = "code") -> Callable[..., Any]:
    """The function ``module:name`` or ``file.py:name`` (a file relative to ``root``) names.

    A world's readers and renderer are code the world's author wrote; they are
    imported like any Python module.
    """
    match = _CODE_SPEC.match(spec) if isinstance(spec, str) else None
    if match is None:
        raise WorldError(f"{where}: expected 'package.module:function' or 'file.py:function', found {spec!r}")
    module_name, name = match.group("module"), match.group("name")
    if module_name.endswith(".py"):
        path = (root or Path.cwd()) / module_name
        if not path.is_file():
            raise WorldError(f"{where}: {spec!r}: no such file {path}")
        key = f"mmreason_world_code_{abs(hash(str(path.resolve())))}"
        module = sys.modules.get(key)
        if module is None:
            loaded = importlib.util.spec_from_file_location(key, path)
            if loaded is None or loaded.loader is None:
                raise WorldError(f"{where}: {spec!r}: cannot import {path}")
            module = importlib.util.module_from_spec(loaded)
            sys.modules[key] = module
            loaded.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise WorldError(f"{where}: {spec!r}: cannot import {module_name!r}: {exc}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise WorldError(f"{where}: {spec!r}: {module_name!r} has no function {name!r}")
    return function


def bundled_world_dir(name: str) -> Path:
    """The folder of a world shipped with mmreason (``graphs/<name>/``)."""
    return bundled_graphs_dir() / name


def bundled_worlds() -> tuple[str, ...]:
    """The names of the worlds shipped with mmreason."""
    root = bundled_graphs_dir()
    return tuple(sorted(p.parent.name for p in root.glob(f"*/{WORLD_FILE}")))


def resolve_world(world: World | str | Path | None) -> World:
    """A World from a World, a folder, a manifest path or a bundled world's name (None: the default)."""
    if isinstance(world, World):
        return world
    if world is None:
        world = DEFAULT_WORLD
    path = Path(world)
    if not path.exists() and isinstance(world, str) and world in bundled_worlds():
        path = bundled_world_dir(world)
    return _load_cached(str(path.resolve()), _mtime(path))


def _mtime(path: Path) -> int:
    manifest = path / WORLD_FILE if path.is_dir() else path
    return manifest.stat().st_mtime_ns if manifest.is_file() else 0


_CACHE: dict[tuple[str, int], World] = {}


def _load_cached(path: str, mtime: int) -> World:
    key = (path, mtime)
    if key not in _CACHE:
        _CACHE[key] = World.load(path)
    return _CACHE[key]


# ------------------------------------------------------------------------ the manifest


class _Reader:
    """Reads one manifest, naming the file, line and key of everything it refuses."""

    def __init__(self, manifest: Path, text: str, raw: Mapping[str, Any]) -> None:
        self.manifest = manifest
        self.root = manifest.parent
        self.text = text
        self.raw = raw

    def fail(self, key: str, message: str) -> WorldError:
        line = _line_of(self.text, key)
        where = f"{self.manifest}:{line}" if line else str(self.manifest)
        return WorldError(f"{where}: {key}: {message}", path=str(self.manifest), line=line, key=key)

    def keys(self, table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(f"{prefix}{key}", f"unknown key; allowed: {', '.join(sorted(allowed))}")

    def path(self, key: str, value: Any) -> Path:
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"expected a file name, found {value!r}")
        if "\x00" in value or len(value) > 4096:
            raise self.fail(key, f"{quote(value)} is not a usable path")
        return (self.root / value).resolve()

    def file(self, key: str, value: Any) -> Path:
        path = self.path(key, value)
        if not path.exists():
            raise self.fail(key, f"names {value!r}, which does not exist ({path})")
        return path

    def strings(self, key: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a string or a list of strings, found {value!r}")
        return tuple(value)

    def table(self, key: str) -> Mapping[str, Any]:
        value = self.raw.get(key, {})
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a table, found {value!r}")
        return value

    def world(self) -> World:
        raw = self.raw
        self.keys(raw, _TOP_KEYS, "")
        if "ontology" not in raw:
            raise self.fail("ontology", "missing: a world needs at least one ontology file")
        ontology = tuple(self.file("ontology", v) for v in self.strings("ontology", raw["ontology"]))
        prefixes = _ontology_prefixes(ontology)
        graph = _parse_ontology(ontology)
        name = raw.get("name", self.root.name)
        if not isinstance(name, str) or not name:
            raise self.fail("name", f"expected a name, found {name!r}")
        optional = {key: self.file(key, raw[key]) if key in raw else None for key in ("scm", "bindings")}
        # The encoder folder is where train-clip writes: a world may name it before it exists.
        encoder = self.path("encoder", raw["encoder"]) if "encoder" in raw else None
        readers = self.strings("readers", raw.get("readers", []))
        renderer = raw.get("renderer")
        clip_renderer = raw.get("clip_renderer")
        clip_reader = raw.get("clip_reader")
        for key, spec in [
            *(("readers", r) for r in readers),
            ("renderer", renderer),
            ("clip_renderer", clip_renderer),
            ("clip_reader", clip_reader),
        ]:
            if spec is not None and (not isinstance(spec, str) or not _CODE_SPEC.match(spec)):
                raise self.fail(
                    key, f"expected 'package.module:function' or 'file.py:function', found {spec!r}"
                )
        training = self.table("training")
        self.keys(training, _TRAINING_KEYS, "training.")
        labels = self.file("training.labels", training["labels"]) if "labels" in training else None
        world = World(
            name=name,
            description=str(raw.get("description", "")),
            root=self.root.resolve(),
            manifest=self.manifest.resolve(),
            ontology=ontology,
            prefixes=MappingProxyType(prefixes),
            scm=optional["scm"],
            bindings=optional["bindings"],
            encoder=encoder,
            readers=readers,
            renderer=renderer,
            clip_renderer=clip_renderer,
            clip_reader=clip_reader,
            labels=labels,
            training=MappingProxyType({k: v for k, v in training.items() if k != "labels"}),
            demo=self.demo(),
            examples=self.strings("examples", raw.get("examples", [])),
            vision=self.vision(graph, prefixes) if "vision" in raw else None,
            questions=self.questions(graph, prefixes) if "questions" in raw else None,
        )
        world.__dict__["graph"] = graph  # parsed once: the cached_property finds it
        return world

    def demo(self) -> DemoSpec:
        demo = self.table("demo")
        self.keys(demo, _DEMO_KEYS, "demo.")
        seeds = demo.get("seeds", [])
        if not isinstance(seeds, list) or not all(isinstance(s, int) and s >= 0 for s in seeds):
            raise self.fail("demo.seeds", f"expected a list of non-negative integers, found {seeds!r}")
        return DemoSpec(
            questions=self.strings("demo.questions", demo.get("questions", [])),
            seeds=tuple(seeds),
            images=tuple(
                self.file("demo.images", v) for v in self.strings("demo.images", demo.get("images", []))
            ),
            scenarios=tuple(
                self.file("demo.scenarios", v)
                for v in self.strings("demo.scenarios", demo.get("scenarios", []))
            ),
        )

    def iri(self, prefixes: Mapping[str, str], key: str, value: Any) -> str:
        iri = expand_name(value, prefixes) if isinstance(value, str) else None
        if iri is None:
            raise self.fail(
                key,
                f"{value!r} is not a prefixed name with a prefix the ontology declares "
                f"(known: {', '.join(sorted(prefixes))}) nor an IRI",
            )
        return iri

    def vision(self, graph: rdflib.Graph, prefixes: Mapping[str, str]) -> VisionSchema:
        from rdflib import RDFS, URIRef

        vision = self.table("vision")
        self.keys(vision, _VISION_KEYS, "vision.")
        if "objects" not in vision:
            raise self.fail("vision.objects", "missing: the class whose leaf subclasses are the objects")
        objects = self.iri(prefixes, "vision.objects", vision["objects"])
        if not any(True for _ in graph.triples((None, RDFS.subClassOf, URIRef(objects)))):
            raise self.fail(
                "vision.objects",
                f"{vision['objects']!r} has no subclasses in the ontology, so no object types",
            )
        background = tuple(
            self.iri(prefixes, "vision.background", v)
            for v in self.strings("vision.background", vision.get("background", []))
        )
        for name, iri in zip(
            self.strings("vision.background", vision.get("background", [])), background, strict=True
        ):
            if not _mentioned(graph, iri):
                raise self.fail("vision.background", f"{name!r} is not in the ontology")
        attributes: dict[str, tuple[str, ...]] = {}
        for key in ("object_attributes", "scene_attributes"):
            names = self.strings(f"vision.{key}", vision.get(key, []))
            iris = tuple(self.iri(prefixes, f"vision.{key}", v) for v in names)
            for name, iri in zip(names, iris, strict=True):
                self.check_property(graph, f"vision.{key}", name, iri)
            attributes[key] = iris
        prompts_raw = vision.get("prompts", {})
        if not isinstance(prompts_raw, Mapping):
            raise self.fail("vision.prompts", f"expected a table, found {prompts_raw!r}")
        prompts: dict[str, str] = {}
        for key, template in prompts_raw.items():
            if not isinstance(template, str) or "{label}" not in template:
                raise self.fail(
                    f"vision.prompts.{key}", f"expected a template with {{label}}, found {template!r}"
                )
            prompts["objects" if key == "objects" else self.iri(prefixes, f"vision.prompts.{key}", key)] = (
                template
            )
        type_crop = vision.get("type_crop", "colour")
        if type_crop not in _TYPE_CROPS:
            raise self.fail(
                "vision.type_crop", f"expected one of {', '.join(_TYPE_CROPS)}, found {type_crop!r}"
            )
        proposer = vision.get("proposer", "grid")
        if not isinstance(proposer, str) or (
            proposer not in _BUILTIN_PROPOSERS and not _CODE_SPEC.match(proposer)
        ):
            raise self.fail(
                "vision.proposer",
                f"expected {', '.join(_BUILTIN_PROPOSERS)} or 'package.module:function', found {proposer!r}",
            )
        focus = None
        if "focus" in vision:
            body = vision["focus"]
            if not isinstance(body, Mapping) or len(body) != 1 or next(iter(body)) not in _FOCUS_ORDERS:
                raise self.fail(
                    "vision.focus", f'expected {{ least = "prefix:property" }} or most, found {body!r}'
                )
            order, name = next(iter(body.items()))
            focus = (order, self.iri(prefixes, "vision.focus", name))
            if not _mentioned(graph, focus[1]):
                raise self.fail("vision.focus", f"{name!r} is not in the ontology")
        return VisionSchema(
            objects=objects,
            background=background,
            object_attributes=attributes["object_attributes"],
            scene_attributes=attributes["scene_attributes"],
            prompts=MappingProxyType(prompts),
            type_crop=type_crop,
            proposer=proposer,
            focus=focus,
        )

    def questions(self, graph: rdflib.Graph, prefixes: Mapping[str, str]) -> QuestionSchema:
        body = self.table("questions")
        self.keys(body, _QUESTION_KEYS, "questions.")
        raw_attributes = body.get("attributes")
        if not isinstance(raw_attributes, Mapping) or not raw_attributes:
            raise self.fail(
                "questions.attributes", f"expected a table of name = property, found {raw_attributes!r}"
            )
        attributes: dict[str, str] = {}
        for name, value in raw_attributes.items():
            key = f"questions.attributes.{name}"
            if value == CLASS_ATTRIBUTE:
                attributes[name] = CLASS_ATTRIBUTE
                continue
            iri = self.iri(prefixes, key, value)
            self.check_property(graph, key, str(value), iri)
            attributes[name] = iri
        raw_relations = body.get("relations", {})
        if not isinstance(raw_relations, Mapping):
            raise self.fail("questions.relations", f"expected a table, found {raw_relations!r}")
        relations: dict[str, RelationRule] = {}
        for name, rule in raw_relations.items():
            key = f"questions.relations.{name}"
            orders = [o for o in _RELATION_ORDERS if isinstance(rule, Mapping) and o in rule]
            if not isinstance(rule, Mapping) or "property" not in rule or len(orders) != 1 or len(rule) != 2:
                raise self.fail(
                    key,
                    'expected { property = "prefix:p", less = "prefix:measure" } (or more), '
                    f"found {rule!r}",
                )
            prop = self.iri(prefixes, key, rule["property"])
            measure = self.iri(prefixes, key, rule[orders[0]])
            for iri, shown in ((prop, rule["property"]), (measure, rule[orders[0]])):
                if not _mentioned(graph, iri):
                    raise self.fail(key, f"{shown!r} is not in the ontology")
            relations[name] = RelationRule(name, prop, measure, -1 if orders[0] == "less" else 1)
        margin = self.non_negative("questions.margin", body.get("margin", 0.0))
        spacing = self.non_negative("questions.spacing", body.get("spacing", 0.0))
        raw_spread = body.get("spread", {})
        if not isinstance(raw_spread, Mapping):
            raise self.fail("questions.spread", f"expected a table of measure = number, found {raw_spread!r}")
        spread: dict[str, float] = {}
        for name, sd in raw_spread.items():
            key = f"questions.spread.{name}"
            value = self.non_negative(key, sd)
            iri = self.iri(prefixes, key, name)
            if iri not in {rule.measure for rule in relations.values()}:
                raise self.fail(key, f"{name!r} is the measure of no relation in [questions.relations]")
            spread[iri] = value
        return QuestionSchema(
            MappingProxyType(attributes),
            MappingProxyType(relations),
            margin,
            spacing,
            MappingProxyType(spread),
        )

    def non_negative(self, key: str, value: Any) -> float:
        """``value`` as a float, when it is a number ≥ 0 (and under a million)."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e6:
            raise self.fail(key, f"expected a number ≥ 0, found {value!r}")
        return float(value)

    def check_property(self, graph: rdflib.Graph, key: str, name: str, iri: str) -> None:
        from rdflib import RDF, RDFS, URIRef

        prop = URIRef(iri)
        if not _mentioned(graph, iri):
            raise self.fail(key, f"{name!r} is not in the ontology")
        value_class = graph.value(prop, RDFS.range)
        if value_class is None:
            raise self.fail(key, f"{name!r} has no rdfs:range, so no values to read")
        if not any(True for _ in graph.subjects(RDF.type, value_class)):
            raise self.fail(key, f"the range of {name!r} ({value_class}) has no individuals to read")


def _mentioned(graph: rdflib.Graph, iri: str) -> bool:
    from rdflib import URIRef

    node = URIRef(iri)
    return any(True for _ in graph.triples((node, None, None))) or any(
        True for _ in graph.triples((None, None, node))
    )


_SYSTEM_PREFIXES = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
}


def _ontology_prefixes(files: Sequence[Path]) -> dict[str, str]:
    from mmreason.kg.formats import rdf_format, read_prefixes
    from mmreason.kg.vocab import MM_IRI

    prefixes = {**_SYSTEM_PREFIXES, "mm": MM_IRI}
    for path in files:
        try:
            fmt = rdf_format(path)
        except Exception:
            continue
        for prefix, namespace in read_prefixes(path, fmt).items():
            if prefix not in _SYSTEM_PREFIXES and prefix != "mm":
                prefixes[prefix] = namespace
    return prefixes


def _parse_ontology(files: Sequence[Path]) -> rdflib.Graph:
    import rdflib

    from mmreason.kg.formats import parse_quads, rdf_format

    graph = rdflib.Graph()
    for path in files:
        for s, p, o, _ in parse_quads(path, rdf_format(path), None):
            graph.add((s, p, o))
    return graph


def _line_of(text: str, dotted: str) -> int | None:
    """The 1-based line of ``dotted`` (``"vision.objects"``) in TOML ``text``, or None."""
    *tables, key = (
        dotted.split(".")
        if not dotted.startswith("vision.prompts.")
        else [
            "vision",
            "prompts",
            dotted.removeprefix("vision.prompts."),
        ]
    )
    wanted = ".".join(tables)
    current = ""
    inline_parent: int | None = None
    key_line = re.compile(r'^\s*(?:"(?P<q>[^"]+)"|(?P<b>[A-Za-z0-9_\-:]+))\s*=')
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[+\s*([^\]]+?)\s*\]+", line)
        if header:
            current = header.group(1).replace('"', "").replace(" ", "")
            continue
        found = key_line.match(line)
        if not found:
            continue
        name = found.group("q") or found.group("b")
        if current == wanted and name == key:
            return number
        # An inline table: [vision] prompts = { ... } or a top-level dotted parent.
        if tables and current == ".".join(tables[:-1]) and name == tables[-1]:
            inline_parent = number
    return inline_parent
