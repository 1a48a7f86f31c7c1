"""What-if scenario files: load, validate, run, report (format: ``docs/scenario-format.md``).

A scenario names its world (a bundled world's name or a folder; default: the
one running it), an image (a file, or a seed of the world's renderer), evidence
that overrides or adds to what the image shows, and causal queries (observe,
do, counterfactual), each optionally with the answer it expects, so that a
scenario doubles as a test. Running one gives a :class:`WhatIfResult`: per
query, the factual distribution beside the intervened or counterfactual one.
"""

from __future__ import annotations

import copyreg
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from mmreason.errors import ScenarioError
from mmreason.limits import quote
from mmreason.paths import bundled_graphs_dir, read_toml

if TYPE_CHECKING:
    from mmreason.causal.distribution import Distribution
    from mmreason.causal.scm import SCM

__all__ = [
    "Expectation",
    "QueryOutcome",
    "Scenario",
    "ScenarioQuery",
    "WhatIfResult",
    "describe",
    "load_scenario",
    "run_scenario",
]



def _read_only(items: dict[str, Any]) -> MappingProxyType:
    return MappingProxyType(items)


# Scenarios and their results keep their mappings read-only; pickle (worker processes and Ray
# send results back to the driver) cannot pickle a mappingproxy by itself, so it goes as a dict.
copyreg.pickle(MappingProxyType, lambda proxy: (_read_only, (dict(proxy),)))

QUERY_KINDS = ("observe", "do", "counterfactual")
_TOP_KEYS = {"name", "description", "world", "image", "model", "evidence", "soft_evidence", "queries"}
_IMAGE_KEYS = {"path", "render_seed"}
_MODEL_KEYS = {"scm", "bindings"}
_QUERY_KEYS = {"name", "kind", "target", "do", "expect", "evidence"}
_EXPECT_KEYS = {"value", "min_probability", "max_probability", "mean_between"}


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a query is expected to give; checked after it runs."""

    value: Any = None  # a finite target's expected value (the most probable one unless bounds are given)
    min_probability: float | None = None  # P(target = value) >= this
    max_probability: float | None = None  # P(target = value) <= this
    mean_between: tuple[float, float] | None = None  # a real target's mean lies in [low, high]

    def check(self, dist: Distribution) -> tuple[bool, str]:
        """(passed, what was found) for one distribution."""
        from mmreason.causal.distribution import DiscreteDistribution

        if self.mean_between is not None:
            low, high = self.mean_between
            mean = dist.mean()
            return low <= mean <= high, f"mean {mean:.4g}, expected in [{low:g}, {high:g}]"
        if not isinstance(dist, DiscreteDistribution):
            return False, "a real-valued target needs expect.mean_between"
        p = _probability_of(dist, self.value)
        if self.min_probability is None and self.max_probability is None:
            mode = dist.mode()
            return str(mode) == str(self.value), f"most probable {mode!r} (p={dist[mode]:.4f})"
        ok = (self.min_probability is None or p >= self.min_probability) and (
            self.max_probability is None or p <= self.max_probability
        )
        bounds = []
        if self.min_probability is not None:
            bounds.append(f">= {self.min_probability:g}")
        if self.max_probability is not None:
            bounds.append(f"<= {self.max_probability:g}")
        return ok, f"P({dist.variable}={self.value!r}) = {p:.4f}, expected {' and '.join(bounds)}"


@dataclass(frozen=True, slots=True)
class ScenarioQuery:
    """One causal query of a scenario."""

    name: str
    kind: str  # "observe" | "do" | "counterfactual"
    target: str
    do: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    evidence: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    expect: Expectation | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario file."""

    path: Path | None
    name: str
    description: str
    image_path: Path | None
    render_seed: int | None
    world: str | None  # a bundled world's name or a world folder; None: the world running it
    scm_path: Path | None  # [model] scm: replaces the world's SCM
    bindings_path: Path | None  # [model] bindings: replaces the world's bindings
    evidence: Mapping[str, Any]
    soft_evidence: Mapping[str, Mapping[Any, float]]
    queries: tuple[ScenarioQuery, ...]

    def check_against(self, scm: SCM) -> None:
        """Refuse names and values the SCM does not know, naming the scenario field."""
        where = str(self.path or "<scenario>")

        def check(field_name: str, assignment: Mapping[str, Any]) -> None:
            for variable, value in assignment.items():
                if variable not in scm.variables:
                    raise ScenarioError(
                        f"{where}: {field_name}: variable {variable!r} is not in the SCM {scm.name!r}; "
                        f"known: {', '.join(scm.variables)}"
                    )
                domain = scm.domain(variable)
                if domain is not None and str(value) not in {str(v) for v in domain}:
                    raise ScenarioError(
                        f"{where}: {field_name}.{variable}: {value!r} is not in the domain {list(domain)}"
                    )

        check("evidence", self.evidence)
        for variable, likelihoods in self.soft_evidence.items():
            for value in likelihoods:
                check("soft_evidence", {variable: value})
        for i, query in enumerate(self.queries):
            prefix = f"queries[{i}] ({query.name})"
            if query.target not in scm.variables:
                raise ScenarioError(
                    f"{where}: {prefix}.target: {query.target!r} is not in the SCM {scm.name!r}; "
                    f"known: {', '.join(scm.variables)}"
                )
            check(f"{prefix}.do", query.do)
            check(f"{prefix}.evidence", query.evidence)
            if query.expect is not None and query.expect.value is not None:
                check(f"{prefix}.expect", {query.target: query.expect.value})


@dataclass(frozen=True, slots=True)
class QueryOutcome:
    """One query run: the factual distribution beside the intervened or counterfactual one."""

    query: ScenarioQuery
    factual: Distribution
    result: Distribution
    passed: bool | None  # None when the query states no expectation
    check: str  # what the expectation check found


@dataclass(frozen=True, slots=True)
class WhatIfResult:
    """A scenario run: per query, factual vs. what-if distributions, and how evidence was reached."""

    scenario: Scenario
    outcomes: tuple[QueryOutcome, ...]
    evidence: Mapping[str, Any]
    soft_evidence: Mapping[str, Mapping[Any, float]]
    steps: tuple[Any, ...] = ()
    image: Any = None  # the PIL image the evidence came from, when the scenario has one
    scene: Any = None  # its grounded SceneGraph

    @property
    def passed(self) -> bool:
        """True when every stated expectation held."""
        return all(o.passed is not False for o in self.outcomes)

    def summary(self) -> str:
        lines = [f"scenario {self.scenario.name!r}: {'passed' if self.passed else 'FAILED'}"]
        for o in self.outcomes:
            status = {True: "ok", False: "FAILED", None: "--"}[o.passed]
            lines.append(f"  [{status}] {o.query.name}: {o.result.query} {describe(o.result)}; {o.check}")
        return "\n".join(lines)


def describe(dist: Distribution) -> str:
    """A distribution in one line: probabilities by value, or a mean with a 90% interval."""
    from mmreason.causal.distribution import DiscreteDistribution

    if isinstance(dist, DiscreteDistribution):
        return "{" + ", ".join(f"{v}: {p:.3f}" for v, p in dist.items()) + "}"
    return f"mean {dist.mean():.3f} (90% in [{dist.quantile(0.05):.3f}, {dist.quantile(0.95):.3f}])"


def _probability_of(dist: Any, value: Any) -> float:
    for v, p in dist.items():
        if str(v) == str(value):
            return float(p)
    return 0.0


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; errors name the file and the field.

    >>> from mmreason.paths import bundled_scenarios_dir
    >>> scenario = load_scenario(bundled_scenarios_dir() / "wet_crossing.toml")
    >>> scenario.queries[0].kind
    'counterfactual'
    """
    path = Path(path)
    return _parse(read_toml(path, what="scenario file", error=ScenarioError), path)


def _parse(raw: Mapping[str, Any], path: Path) -> Scenario:
    where = str(path)
    _keys(raw, _TOP_KEYS, where, "the top level")
    image = _table(raw, "image", where, required=False)
    _keys(image, _IMAGE_KEYS, where, "[image]")
    if image and ("path" in image) == ("render_seed" in image):
        raise ScenarioError(f'{where}: [image] needs exactly one of path = "..." or render_seed = N')
    image_path = None
    if "path" in image:
        _usable(image["path"], where, "image.path")
        image_path = (path.parent / str(image["path"])).resolve()
        if not image_path.is_file():
            raise ScenarioError(f"{where}: image.path: no such file {image_path}")
    seed = image.get("render_seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise ScenarioError(f"{where}: image.render_seed: expected a non-negative integer, found {seed!r}")
    world = _world(raw.get("world"), path, where)
    model = _table(raw, "model", where, required=False)
    _keys(model, _MODEL_KEYS, where, "[model]")
    if "bindings" in model and "scm" not in model:
        raise ScenarioError(
            f"{where}: [model] bindings needs scm = ... beside it (bindings belong to one SCM)"
        )
    scm_path = _model_file(model["scm"], path, world, where, "model.scm") if "scm" in model else None
    bindings_path = None
    if "bindings" in model:
        bindings_path = _model_file(model["bindings"], path, world, where, "model.bindings")
    evidence = _table(raw, "evidence", where, required=False)
    soft = _table(raw, "soft_evidence", where, required=False)
    soft_evidence: dict[str, dict[Any, float]] = {}
    for variable, likelihoods in soft.items():
        if not isinstance(likelihoods, Mapping) or not likelihoods:
            raise ScenarioError(f"{where}: soft_evidence.{variable}: expected a table value = likelihood")
        for value, weight in likelihoods.items():
            if (
                not isinstance(weight, int | float)
                or isinstance(weight, bool)
                or weight < 0
                or math.isnan(weight)
            ):
                raise ScenarioError(
                    f"{where}: soft_evidence.{variable}.{value}: expected a likelihood >= 0, found {weight!r}"
                )
        soft_evidence[variable] = {_coerce(v): float(w) for v, w in likelihoods.items()}
    queries_raw = raw.get("queries")
    if not isinstance(queries_raw, list) or not queries_raw:
        raise ScenarioError(f"{where}: needs at least one [[queries]] table")
    queries = tuple(_query(q, i, where) for i, q in enumerate(queries_raw))
    names = [q.name for q in queries]
    if len(set(names)) != len(names):
        raise ScenarioError(f"{where}: queries: names must be distinct, found {names}")
    return Scenario(
        path=path,
        name=str(raw.get("name", path.stem)),
        description=str(raw.get("description", "")),
        image_path=image_path,
        render_seed=seed,
        world=world,
        scm_path=scm_path,
        bindings_path=bindings_path,
        evidence=MappingProxyType({k: _coerce(v) for k, v in evidence.items()}),
        soft_evidence=MappingProxyType(soft_evidence),
        queries=queries,
    )


def _query(raw: Any, index: int, where: str) -> ScenarioQuery:
    label = f"queries[{index}]"
    if not isinstance(raw, Mapping):
        raise ScenarioError(f"{where}: {label}: expected a table")
    _keys(raw, _QUERY_KEYS, where, label)
    kind = raw.get("kind")
    if kind not in QUERY_KINDS:
        raise ScenarioError(
            f"{where}: {label}.kind: expected one of {', '.join(QUERY_KINDS)}, found {kind!r}"
        )
    target = raw.get("target")
    if not isinstance(target, str) or not target:
        raise ScenarioError(f"{where}: {label}.target: expected a variable name, found {target!r}")
    do = raw.get("do", {})
    if not isinstance(do, Mapping):
        raise ScenarioError(f"{where}: {label}.do: expected a table variable = value")
    if kind != "observe" and not do:
        raise ScenarioError(f"{where}: {label}.do: a {kind} query needs do = {{ variable = value }}")
    evidence = raw.get("evidence", {})
    if not isinstance(evidence, Mapping):
        raise ScenarioError(f"{where}: {label}.evidence: expected a table variable = value")
    expect = None
    if "expect" in raw:
        body = raw["expect"]
        if not isinstance(body, Mapping):
            raise ScenarioError(f"{where}: {label}.expect: expected a table")
        _keys(body, _EXPECT_KEYS, where, f"{label}.expect")
        between = body.get("mean_between")
        if between is not None and (
            not isinstance(between, list)
            or len(between) != 2
            or not all(isinstance(b, int | float) for b in between)
        ):
            raise ScenarioError(
                f"{where}: {label}.expect.mean_between: expected [low, high], found {between!r}"
            )
        if between is None and "value" not in body:
            raise ScenarioError(f"{where}: {label}.expect: give value = ... or mean_between = [low, high]")
        expect = Expectation(
            value=_coerce(body.get("value")),
            min_probability=_probability(
                body.get("min_probability"), where, f"{label}.expect.min_probability"
            ),
            max_probability=_probability(
                body.get("max_probability"), where, f"{label}.expect.max_probability"
            ),
            mean_between=None if between is None else (float(between[0]), float(between[1])),
        )
    return ScenarioQuery(
        name=str(raw.get("name", f"query {index + 1}")),
        kind=kind,
        target=target,
        do=MappingProxyType({k: _coerce(v) for k, v in do.items()}),
        evidence=MappingProxyType({k: _coerce(v) for k, v in evidence.items()}),
        expect=expect,
    )


def _probability(value: Any, where: str, field_name: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ScenarioError(f"{where}: {field_name}: expected a probability in [0, 1], found {value!r}")
    return float(value)


def _coerce(value: Any) -> Any:
    # TOML keys are strings: "1" in { 1 = 0.9 } means the value 1 of a 0/1 variable.
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def _world(name: Any, path: Path, where: str) -> str | None:
    """The scenario's world: a folder relative to the scenario, or a bundled world's name."""
    from mmreason.worlds import WORLD_FILE, bundled_world_dir, bundled_worlds

    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{where}: world: expected a world's name or folder, found {name!r}")
    _usable(name, where, "world")
    folder = (path.parent / name).resolve()
    if (folder / WORLD_FILE).is_file():
        return str(folder)
    if name in bundled_worlds():
        return str(bundled_world_dir(name))
    raise ScenarioError(
        f"{where}: world: {name!r} is neither a world folder beside the scenario nor a bundled world "
        f"({', '.join(bundled_worlds())})"
    )


def _usable(name: Any, where: str, field_name: str) -> None:
    # A NUL byte or a name longer than the system takes is no path (os calls would raise).
    text = str(name)
    if "\x00" in text or len(text) > 4096:
        raise ScenarioError(f"{where}: {field_name}: {quote(text)} is not a usable path")


def _model_file(name: Any, path: Path, world: str | None, where: str, field_name: str) -> Path:
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{where}: {field_name}: expected a file name, found {name!r}")
    _usable(name, where, field_name)
    folders = [path.parent] + ([Path(world)] if world is not None else []) + [bundled_graphs_dir()]
    for folder in folders:
        candidate = folder / name
        if candidate.is_file():
            return candidate.resolve()
    raise ScenarioError(f"{where}: {field_name}: {name!r} is in none of {', '.join(str(f) for f in folders)}")


def _table(raw: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> Mapping[str, Any]:
    if key not in raw:
        if required:
            raise ScenarioError(f"{where}: missing [{key}] table")
        return {}
    value = raw[key]
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{where}: [{key}] must be a table, found {type(value).__name__}")
    return value


def _keys(raw: Mapping[str, Any], allowed: set[str], where: str, what: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ScenarioError(
            f"{where}: {what}: unknown key(s) {unknown}; allowed: {', '.join(sorted(allowed))}"
        )


def run_scenario(
    scenario: Scenario,
    *,
    scm: SCM,
    image_evidence: Mapping[str, Any] | None = None,
    image_soft_evidence: Mapping[str, Mapping[Any, float]] | None = None,
    steps: tuple[Any, ...] = (),
    image: Any = None,
    scene: Any = None,
    samples: int = 2000,
    seed: int = 0,
) -> WhatIfResult:
    """Run every query of ``scenario`` on ``scm``.

    Evidence is what the image showed (``image_evidence``, hard, and
    ``image_soft_evidence``, likelihoods such as CLIP probabilities), overridden
    by the scenario's own ``[evidence]`` and ``[soft_evidence]``. An ``observe``
    query is P(target | evidence); a ``do`` query is P(target | do, evidence on
    variables the intervention cannot change), since evidence on a descendant
    of the intervened variable was seen in the factual world only; a
    ``counterfactual`` query keeps all evidence in the factual world
    (abduction) and asks the intervened world (action, prediction).
    """
    import networkx as nx

    scenario.check_against(scm)
    evidence = {**dict(image_evidence or {}), **dict(scenario.evidence)}
    soft = {k: dict(v) for k, v in dict(image_soft_evidence or {}).items() if k not in evidence}
    soft.update({k: dict(v) for k, v in scenario.soft_evidence.items() if k not in scenario.evidence})
    for name in scenario.evidence:
        soft.pop(name, None)
    graph = scm.graph
    outcomes = []
    for query in scenario.queries:
        q_evidence = {**evidence, **dict(query.evidence)}
        q_soft = {k: v for k, v in soft.items() if k not in q_evidence}
        factual = scm.query(
            query.target, evidence=q_evidence, soft_evidence=q_soft, samples=samples, seed=seed
        )
        if query.kind == "observe":
            result = factual
        elif query.kind == "do":
            changed = set(query.do).union(*(nx.descendants(graph, v) for v in query.do))
            result = scm.query(
                query.target,
                evidence={k: v for k, v in q_evidence.items() if k not in changed},
                soft_evidence={k: v for k, v in q_soft.items() if k not in changed},
                do=dict(query.do),
                samples=samples,
                seed=seed,
            )
        else:
            result = scm.counterfactual(
                query.target,
                evidence=q_evidence,
                soft_evidence=q_soft,
                do=dict(query.do),
                samples=samples,
                seed=seed,
            )
        if query.expect is None:
            passed, check = None, "no expectation stated"
        else:
            passed, check = query.expect.check(result)
        outcomes.append(QueryOutcome(query, factual, result, passed, check))
    return WhatIfResult(
        scenario=scenario,
        outcomes=tuple(outcomes),
        evidence=MappingProxyType(evidence),
        soft_evidence=MappingProxyType(soft),
        steps=steps,
        image=image,
        scene=scene,
    )
