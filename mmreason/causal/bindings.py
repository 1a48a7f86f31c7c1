"""Bindings: where each causal variable meets the image and the knowledge graph.

A bindings file (``<world>/<name>.bindings.toml``) says, for the variables of
one SCM, which words a question may use for them and their states, where
their values are read from a grounded scene (a property of the scene, a
property of an object, or the existence of an object in a relation), and
which KG individual stands for each value. The question parser takes the
words; the reasoner takes the rest to turn grounded facts into evidence.
Prefixed names are those of the world's ontology (``prefixes=``), or of the
file's own ``[prefixes]`` table, plus ``rdf rdfs xsd owl skos mm``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from rdflib import URIRef

from mmreason.errors import InvalidInputError, UnknownVariableError
from mmreason.kg.vocab import STANDARD_PREFIXES
from mmreason.paths import read_toml
from mmreason.worlds import expand_name

if TYPE_CHECKING:
    from mmreason.causal.scm import SCM

__all__ = ["Bindings", "KgSource", "VariableBinding"]

_SOURCE_KINDS = ("scene", "object", "exists")
_PICK_ORDERS = ("least", "most")


@dataclass(frozen=True, slots=True)
class KgSource:
    """Where a variable's value is read from a grounded scene.

    ``kind`` is ``"scene"`` (a property of the scene: ``property``),
    ``"object"`` (``property`` of an object of class ``cls``: with ``pick`` =
    ``("least", measure)`` the one with the least value of a measured property,
    else the likeliest one), or ``"exists"`` (1 when some object of class
    ``cls`` has the relation ``property``).
    """

    kind: str
    property: URIRef
    cls: URIRef | None = None
    pick: tuple[str, URIRef] | None = None


@dataclass(frozen=True, slots=True)
class VariableBinding:
    """One variable's words, scene source and KG individuals."""

    variable: str
    phrases: tuple[str, ...] = ()
    states: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    source: KgSource | None = None
    values: Mapping[Any, URIRef] = field(default_factory=lambda: MappingProxyType({}))
    resolution: float | None = None  # a measured quantity's reading error, in its unit
    #: The alternative a but-for test of this variable as a cause compares against ("what caused
    #: the outage?"): ("value", state) for a finite variable, ("shift", amount) for a real one;
    #: None when the variable is not a candidate cause.
    but_for: tuple[str, Any] | None = None

    def value_of(self, iri: URIRef) -> Any:
        """The variable's value that ``iri`` stands for, or None."""
        for value, individual in self.values.items():
            if individual == iri:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Bindings:
    """The bindings of every variable of one SCM, checked against it.

    >>> from mmreason.causal import SCM
    >>> from mmreason.paths import bundled_graphs_dir
    >>> scm = SCM.from_file(bundled_graphs_dir() / "sprinkler.scm.toml", device="cpu")
    >>> table = {"W": {"kg": {"scene": "g:lawn"}, "values": {1: "g:wetLawn", 0: "g:dryLawn"}}}
    >>> bindings = Bindings.from_dict(
    ...     {"variables": table}, scm=scm, prefixes={"g": "http://example.org/garden#"}
    ... )
    >>> bindings["W"].values[1]
    rdflib.term.URIRef('http://example.org/garden#wetLawn')
    """

    path: str
    variables: Mapping[str, VariableBinding]

    def __getitem__(self, variable: str) -> VariableBinding:
        try:
            return self.variables[variable]
        except KeyError:
            raise UnknownVariableError(variable, self.variables, where=f"the bindings {self.path}") from None

    @classmethod
    def from_file(cls, path: str | Path, *, scm: SCM, prefixes: Mapping[str, str] | None = None) -> Bindings:
        """Read a bindings file and check every name and value against ``scm``.

        ``prefixes`` are those of the world's ontology (default: those of the world whose
        folder holds the file, if any).
        """
        raw = read_toml(path, what="bindings file")
        if prefixes is None:
            from mmreason.worlds import WORLD_FILE, resolve_world

            folder = Path(path).resolve().parent
            if (folder / WORLD_FILE).is_file():
                prefixes = resolve_world(folder).prefixes
        return cls.from_dict(raw, scm=scm, path=str(path), prefixes=prefixes)

    @classmethod
    def from_dict(
        cls,
        raw: Mapping[str, Any],
        *,
        scm: SCM,
        path: str = "<bindings>",
        prefixes: Mapping[str, str] | None = None,
    ) -> Bindings:
        own = raw.get("prefixes", {})
        if not isinstance(own, Mapping) or not all(isinstance(v, str) for v in own.values()):
            raise InvalidInputError(f'{path}: [prefixes] must be a table of prefix = "namespace IRI"')
        known = {**dict(own), **dict(prefixes or {}), **STANDARD_PREFIXES}
        unknown_tables = sorted(set(raw) - {"variables", "prefixes"})
        if unknown_tables:
            raise InvalidInputError(
                f"{path}: unknown key(s) {unknown_tables}; "
                "a bindings file has [prefixes] and [variables.NAME]"
            )
        tables = raw.get("variables", {})
        if not isinstance(tables, Mapping):
            raise InvalidInputError(f"{path}: [variables] must be a table of variable names")
        bound: dict[str, VariableBinding] = {}
        for name in scm.variables:
            spec = scm.spec.variables[name]
            body = tables.get(name, {})
            phrases = tuple(_strings(body.get("phrases", []), f"{path}: variables.{name}.phrases"))
            if spec.description:
                phrases += (spec.description,)
            domain = scm.domain(name)
            states = {
                str(value): tuple(_strings(words, f"{path}: variables.{name}.states.{value}"))
                for value, words in body.get("states", {}).items()
            }
            values = {
                _value(value, domain, f"{path}: variables.{name}.values"): _iri(
                    iri, f"{path}: variables.{name}.values.{value}", known
                )
                for value, iri in body.get("values", {}).items()
            }
            for value in states:
                _value(value, domain, f"{path}: variables.{name}.states")
            source = _source(body.get("kg"), f"{path}: variables.{name}.kg", known)
            resolution = body.get("resolution")
            if resolution is not None and (
                domain is not None
                or not isinstance(resolution, int | float)
                or isinstance(resolution, bool)
                or resolution <= 0
            ):
                raise InvalidInputError(
                    f"{path}: variables.{name}.resolution: expected a positive number for a real-valued "
                    f"variable, found {resolution!r}"
                )
            bound[name] = VariableBinding(
                name,
                phrases,
                MappingProxyType(states),
                source,
                MappingProxyType(values),
                None if resolution is None else float(resolution),
                _but_for(body.get("but_for"), domain, f"{path}: variables.{name}.but_for"),
            )
        unknown = sorted(set(tables) - set(scm.variables))
        if unknown:
            raise UnknownVariableError(unknown[0], scm.variables, where=f"the SCM {scm.name!r} ({path})")
        return cls(path, MappingProxyType(bound))

    def phrases(self) -> dict[str, list[str]]:
        """Extra words per variable (``"Season"``) and per state (``"Season=winter"``), for the lexicon."""
        out: dict[str, list[str]] = {}
        for name, binding in self.variables.items():
            out[name] = list(binding.phrases)
            for value, words in binding.states.items():
                out[f"{name}={value}"] = list(words)
        return out


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"{where}: expected a list of strings, found {value!r}")
    return value


def _iri(text: Any, where: str, prefixes: Mapping[str, str]) -> URIRef:
    if not isinstance(text, str) or ":" not in text:
        raise InvalidInputError(f"{where}: expected an IRI or a prefixed name like 'ex:wet', found {text!r}")
    iri = expand_name(text, prefixes)
    if iri is None:
        raise InvalidInputError(
            f"{where}: unknown prefix {text.partition(':')[0]!r} in {text!r}; "
            f"known: {', '.join(sorted(prefixes))}"
        )
    return URIRef(iri)


def _value(text: str, domain: tuple[Any, ...] | None, where: str) -> Any:
    if domain is None:
        raise InvalidInputError(f"{where}: the variable is real-valued; it has no named values")
    for value in domain:
        if str(value) == str(text):
            return value
    raise InvalidInputError(f"{where}: {text!r} is not in the domain {list(domain)}")


def _but_for(body: Any, domain: tuple[Any, ...] | None, where: str) -> tuple[str, Any] | None:
    """``{ value = "dry" }`` for a finite variable, ``{ shift = -0.5 }`` for a real one."""
    if body is None:
        return None
    if domain is not None:
        if not isinstance(body, Mapping) or set(body) != {"value"}:
            raise InvalidInputError(
                f'{where}: expected {{ value = "state" }} for a finite variable, found {body!r}'
            )
        return ("value", _value(body["value"], domain, where))
    shift = body.get("shift") if isinstance(body, Mapping) and set(body) == {"shift"} else None
    if not isinstance(shift, int | float) or isinstance(shift, bool) or shift == 0:
        raise InvalidInputError(
            f"{where}: expected {{ shift = amount }} (not 0) for a real variable, found {body!r}"
        )
    return ("shift", float(shift))


def _source(body: Any, where: str, prefixes: Mapping[str, str]) -> KgSource | None:
    if body is None:
        return None
    if not isinstance(body, Mapping):
        raise InvalidInputError(f"{where}: expected a table, found {body!r}")
    kinds = [k for k in _SOURCE_KINDS if k in body]
    if len(kinds) != 1:
        raise InvalidInputError(f"{where}: give exactly one of {', '.join(_SOURCE_KINDS)}")
    kind = kinds[0]
    if kind == "scene":
        return KgSource("scene", _iri(body["scene"], f"{where}.scene", prefixes))
    if "property" not in body:
        raise InvalidInputError(f"{where}: {kind} = ... needs property = ...")
    pick = body.get("pick")
    order = None
    if pick is not None:
        if (
            kind != "object"
            or not isinstance(pick, Mapping)
            or len(pick) != 1
            or next(iter(pick)) not in _PICK_ORDERS
        ):
            raise InvalidInputError(
                f'{where}.pick: expected {{ least = "prefix:measure" }} or {{ most = ... }} on an object '
                f"source, found {pick!r}"
            )
        ((how, measure),) = pick.items()
        order = (how, _iri(measure, f"{where}.pick.{how}", prefixes))
    return KgSource(
        kind,
        _iri(body["property"], f"{where}.property", prefixes),
        _iri(body[kind], f"{where}.{kind}", prefixes),
        order,
    )
