"""SCM files: TOML parsing and validation into an immutable :class:`ScmSpec`.

The format is documented in ``docs/scm-format.md``. A file is refused with a
:class:`~mmreason.ScmSpecError` that names the file, the variable, the line
(and column, for equations) and the reason.

>>> spec = parse_spec('''
... [variables.X]
... domain = [0, 1]
... cpd = [0.25, 0.75]
... ''')
>>> spec.variables["X"].domain
(0, 1)
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from mmreason.causal import expr
from mmreason.errors import ScmSpecError, _did_you_mean

__all__ = ["Exogenous", "ScmSpec", "Variable", "parse_spec", "response_noise_name"]

_TOP_KEYS = {"name", "description", "constants", "exogenous", "variables"}
_VAR_KEYS = {"domain", "type", "unit", "bounds", "parents", "equation", "cpd", "fit", "description"}
_EXO_KEYS = {"distribution", "p", "values", "probs", "mean", "std", "low", "high", "description"}
_DISTRIBUTIONS = ("bernoulli", "categorical", "normal", "uniform")
_TOLERANCE = 1e-6


def response_noise_name(variable: str) -> str:
    """The canonical exogenous variable that drives a CPD-specified variable.

    >>> response_noise_name("Rain")
    'U_Rain'
    """
    return f"U_{variable}"


@dataclass(frozen=True)
class Exogenous:
    """An exogenous (noise) variable.

    ``kind`` is one of ``bernoulli``, ``categorical`` (finite, enumerable), ``normal``, ``uniform``
    (continuous), or ``response``: the Uniform(0, 1) variable behind a CPD, whose exact engine
    enumerates the finitely many cells on which every column's inverse CDF is constant.
    """

    name: str
    kind: str
    values: tuple[Any, ...] = ()  # support of a finite variable; cell midpoints of a response variable
    probs: tuple[float, ...] = ()
    params: dict[str, float] = field(default_factory=dict)
    description: str = ""

    @property
    def enumerable(self) -> bool:
        return self.kind in ("bernoulli", "categorical", "response")

    @property
    def continuous(self) -> bool:
        return self.kind in ("normal", "uniform", "response")

    @property
    def domain(self) -> tuple[Any, ...] | None:
        """The finite support, as :attr:`Variable.domain`; None for continuous (and response) noise."""
        return None if self.continuous else self.values


@dataclass(frozen=True)
class Variable:
    """An endogenous variable: its domain, parents and mechanism (equation or CPD)."""

    name: str
    domain: tuple[Any, ...] | None  # None: real-valued
    parents: tuple[str, ...]
    noise: tuple[str, ...]
    mechanism: str  # "equation" | "cpd" (a "fit" from data becomes one of them)
    equation: str | None = None
    ast: expr.Node | None = None
    cpd: np.ndarray | None = None  # [num parent configurations, |domain|], last parent fastest
    unit: str | None = None
    bounds: tuple[float, float] | None = None
    description: str = ""
    line: int | None = None

    @property
    def discrete(self) -> bool:
        return self.domain is not None

    @property
    def numeric(self) -> bool:
        """A real variable, or a finite one whose values are all numbers."""
        return self.domain is None or all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.domain
        )


@dataclass(frozen=True)
class ScmSpec:
    """A validated SCM: variables in topological order, exogenous variables and constants."""

    name: str
    description: str
    variables: dict[str, Variable]
    exogenous: dict[str, Exogenous]
    constants: dict[str, float]
    path: str | None = None


class _Lines:
    """Finds the line of a section and of a key inside it, for error messages."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def section(self, table: str, name: str) -> int | None:
        pattern = re.compile(rf"^\s*\[\s*{table}\s*\.\s*\"?{re.escape(name)}\"?\s*(\.|\])")
        for i, line in enumerate(self.lines):
            if pattern.match(line):
                return i + 1
        return None

    def cpd_column(self, name: str, key: str) -> int | None:
        """The line of column ``key`` in a ``[variables.NAME.cpd]`` table, if it is written there."""
        header = re.compile(rf"^\s*\[\s*variables\s*\.\s*\"?{re.escape(name)}\"?\s*\.\s*cpd\s*\]")
        start = next((i for i, line in enumerate(self.lines) if header.match(line)), None)
        if start is None:
            return None
        for i in range(start + 1, len(self.lines)):
            line = self.lines[i].lstrip()
            if line.startswith("["):
                break
            if line.startswith((f'"{key}"', f"'{key}'")):
                return i + 1
        return None

    def key(self, table: str, name: str, key: str) -> tuple[int | None, int]:
        """(line, column of the first character of the string value) of ``key`` in the section."""
        start = self.section(table, name)
        if start is None:
            return None, 0
        pattern = re.compile(rf"^\s*{key}\s*=\s*(\"\"\"|'''|\"|')")
        for i in range(start, len(self.lines)):
            line = self.lines[i]
            if line.lstrip().startswith("["):
                break
            match = pattern.match(line)
            if match:
                return i + 1, match.end() + 1
        return start, 0


def parse_spec(text: str, *, path: str | None = None) -> ScmSpec:
    """Parse and validate the TOML text of an SCM file."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        column = getattr(exc, "colno", None)
        raise ScmSpecError(f"not valid TOML: {exc}", path=path, line=line, column=column) from None
    return _Builder(raw, _Lines(text), path).build()


class _Builder:
    def __init__(self, raw: dict[str, Any], lines: _Lines, path: str | None) -> None:
        self.raw = raw
        self.lines = lines
        self.path = path

    def error(
        self, message: str, *, variable: str | None = None, table: str = "variables", line: int | None = None
    ) -> ScmSpecError:
        if line is None and variable is not None:
            line = self.lines.section(table, variable)
        return ScmSpecError(message, path=self.path, variable=variable, line=line)

    def build(self) -> ScmSpec:
        unknown = set(self.raw) - _TOP_KEYS
        if unknown:
            raise self.error(
                f"unknown top-level key(s) {sorted(unknown)}; expected some of {sorted(_TOP_KEYS)}"
            )
        constants = self.constants()
        raw_vars = self.raw.get("variables")
        if not isinstance(raw_vars, dict) or not raw_vars:
            raise self.error("the file declares no [variables.NAME] tables")
        exogenous = {name: self.exogenous(name, body) for name, body in self.raw.get("exogenous", {}).items()}
        for name in exogenous:
            if name in raw_vars:
                raise self.error("is declared both as exogenous and as endogenous", variable=name)
            if name in constants:
                raise self.error("is declared both as exogenous and as a constant", variable=name)
        for name in raw_vars:
            if name in constants:
                raise self.error("is declared both as a variable and as a constant", variable=name)
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise self.error("is not a valid name (letters, digits, underscore)", variable=name)
        shells = {
            name: self.shell(name, body, raw_vars, exogenous, constants) for name, body in raw_vars.items()
        }
        order = self.topological_order(shells)
        variables: dict[str, Variable] = {}
        for name in order:
            variable = shells[name]
            if variable.mechanism == "fit":
                variable, noise = self.fitted(variable, raw_vars[name]["fit"], shells)
                if noise is not None:
                    if noise.name in exogenous or noise.name in raw_vars:
                        raise self.error(
                            f"{noise.name!r} is reserved for the noise of {name!r}", variable=name
                        )
                    exogenous[noise.name] = noise
            if variable.mechanism == "cpd":
                if variable.cpd is None:
                    variable = self.with_cpd(variable, raw_vars[name]["cpd"], shells)
                noise_name = response_noise_name(name)
                if noise_name in exogenous or noise_name in raw_vars:
                    raise self.error(
                        f"{noise_name!r} is reserved for the noise behind the cpd of {name!r}", variable=name
                    )
                exogenous[noise_name] = _response_exogenous(noise_name, variable.cpd)
            variables[name] = variable
        return ScmSpec(
            name=str(self.raw.get("name", Path(self.path).stem if self.path else "scm")),
            description=str(self.raw.get("description", "")),
            variables=variables,
            exogenous=exogenous,
            constants=constants,
            path=self.path,
        )

    def constants(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, value in self.raw.get("constants", {}).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.error(f"constant {name!r} must be a number, found {value!r}")
            out[name] = float(value)
        return out

    def exogenous(self, name: str, body: Any) -> Exogenous:
        def err(message: str) -> ScmSpecError:
            return self.error(message, variable=name, table="exogenous")

        if not isinstance(body, dict):
            raise err("must be a table with a 'distribution' key")
        unknown = set(body) - _EXO_KEYS
        if unknown:
            raise err(f"unknown key(s) {sorted(unknown)}; expected some of {sorted(_EXO_KEYS)}")
        kind = body.get("distribution")
        if kind not in _DISTRIBUTIONS:
            raise err(f"distribution must be one of {list(_DISTRIBUTIONS)}, found {kind!r}")

        def number(key: str) -> float:
            value = body.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise err(f"{kind} needs a finite number {key!r}, found {value!r}")
            return float(value)

        text = str(body.get("description", ""))
        if kind == "bernoulli":
            p = number("p")
            if not 0.0 <= p <= 1.0:
                raise err(f"bernoulli p must lie in [0, 1], found {p}")
            return Exogenous(name, kind, (0, 1), (1.0 - p, p), description=text)
        if kind == "categorical":
            values = body.get("values")
            probs = body.get("probs")
            if not isinstance(values, list) or not isinstance(probs, list) or len(values) != len(probs):
                raise err("categorical needs lists 'values' and 'probs' of the same length")
            if len(set(map(repr, values))) != len(values):
                raise err(f"categorical values repeat: {values}")
            probs_f = [float(p) for p in probs]
            if any(p < 0 for p in probs_f) or abs(sum(probs_f) - 1.0) > _TOLERANCE:
                raise err(
                    f"categorical probs must be non-negative and sum to 1, found sum {sum(probs_f):.6g}"
                )
            return Exogenous(name, kind, tuple(values), tuple(probs_f), description=text)
        if kind == "normal":
            mean, std = number("mean"), number("std")
            if std <= 0:
                raise err(f"normal std must be positive, found {std}")
            return Exogenous(name, kind, params={"mean": mean, "std": std}, description=text)
        low, high = number("low"), number("high")
        if not low < high:
            raise err(f"uniform needs low < high, found low={low}, high={high}")
        return Exogenous(name, kind, params={"low": low, "high": high}, description=text)

    def shell(
        self,
        name: str,
        body: Any,
        raw_vars: dict[str, Any],
        exogenous: dict[str, Exogenous],
        constants: dict[str, float],
    ) -> Variable:
        """The variable without its CPD table (which needs the parents' domains)."""
        if not isinstance(body, dict):
            raise self.error("must be a table", variable=name)
        unknown = set(body) - _VAR_KEYS
        if unknown:
            raise self.error(
                f"unknown key(s) {sorted(unknown)}; expected some of {sorted(_VAR_KEYS)}", variable=name
            )
        domain: tuple[Any, ...] | None
        if "domain" in body:
            values = body["domain"]
            if not isinstance(values, list) or len(values) < 2:
                raise self.error("domain must be a list of at least two values", variable=name)
            if len({repr(v) for v in values}) != len(values):
                raise self.error(f"domain values repeat: {values}", variable=name)
            if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
                raise self.error(f"domain values must be strings or integers, found {values}", variable=name)
            domain = tuple(values)
            if body.get("type", "discrete") != "discrete":
                raise self.error("a variable with a domain has type 'discrete'", variable=name)
        elif body.get("type") == "real":
            domain = None
        else:
            raise self.error('needs either domain = [...] or type = "real"', variable=name)
        bounds = None
        if "bounds" in body:
            b = body["bounds"]
            if (
                not isinstance(b, list)
                or len(b) != 2
                or not all(isinstance(x, (int, float)) for x in b)
                or b[0] >= b[1]
            ):
                raise self.error(f"bounds must be [low, high] with low < high, found {b!r}", variable=name)
            bounds = (float(b[0]), float(b[1]))
        has_eq, has_cpd, has_fit = "equation" in body, "cpd" in body, "fit" in body
        if has_eq + has_cpd + has_fit != 1:
            raise self.error("needs exactly one mechanism: 'equation', 'cpd' or 'fit'", variable=name)
        declared = body.get("parents")
        if declared is not None and (
            not isinstance(declared, list) or not all(isinstance(p, str) for p in declared)
        ):
            raise self.error("parents must be a list of variable names", variable=name)
        for parent in declared or ():
            if parent not in raw_vars:
                raise self.error(f"unknown parent {parent!r}{_did_you_mean(parent, raw_vars)}", variable=name)
        common = {"unit": body.get("unit"), "bounds": bounds, "description": str(body.get("description", ""))}
        line = self.lines.section("variables", name)
        if has_eq:
            text = body["equation"]
            eq_line, eq_col = self.lines.key("variables", name, "equation")
            if not isinstance(text, str):
                raise self.error("equation must be a string", variable=name, line=eq_line)
            try:
                ast = expr.parse(text)
            except expr.ExprSyntaxError as exc:
                column = eq_col + exc.position if "\n" not in text else None
                raise ScmSpecError(
                    f"equation does not parse: {exc.message} (column {exc.position + 1} of the equation)",
                    path=self.path,
                    variable=name,
                    line=eq_line,
                    column=column,
                ) from None
            names = ast.names()
            parents: list[str] = []
            noise: list[str] = []
            for used in sorted(names):
                if used in raw_vars:
                    if used == name:
                        raise self.error(
                            "equation refers to the variable itself", variable=name, line=eq_line
                        )
                    parents.append(used)
                elif used in exogenous:
                    noise.append(used)
                elif used not in constants:
                    known = [*raw_vars, *exogenous, *constants]
                    raise self.error(
                        f"equation uses unknown name {used!r}{_did_you_mean(used, known)}",
                        variable=name,
                        line=eq_line,
                    )
            if declared is not None:
                missing = sorted(set(parents) - set(declared))
                if missing:
                    raise self.error(
                        f"equation uses {missing} which are not in parents {declared}", variable=name
                    )
                parents = list(declared)
            return Variable(
                name, domain, tuple(parents), tuple(noise), "equation", text, ast, line=line, **common
            )
        if has_fit:
            if not isinstance(body["fit"], str) or not body["fit"]:
                raise self.error("fit must be the path of a CSV file", variable=name)
            # Fitted later, once the parents' domains are known; the mechanism is set then.
            return Variable(
                name, domain, tuple(declared or ()), (response_noise_name(name),), "fit", line=line, **common
            )
        if domain is None:
            raise self.error("a cpd needs a finite domain", variable=name)
        return Variable(
            name, domain, tuple(declared or ()), (response_noise_name(name),), "cpd", line=line, **common
        )

    def fitted(
        self, variable: Variable, source: str, shells: dict[str, Variable]
    ) -> tuple[Variable, Exogenous | None]:
        """Fit a mechanism from a CSV file (path relative to the SCM file).

        A finite variable gets the maximum-likelihood CPD (the frequencies in each parent
        column); a real one the least-squares linear equation over its parents plus
        Normal(0, residual std) noise ``U_NAME``, an additive-noise mechanism.
        """
        import pandas as pd

        name = variable.name
        line, _ = self.lines.key("variables", name, "fit")
        base = Path(self.path).parent if self.path else Path.cwd()
        path = Path(source) if Path(source).is_absolute() else base / source
        if not path.is_file():
            raise self.error(f"fit file not found: {path}", variable=name, line=line)
        try:
            data = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise self.error(f"fit file {path} cannot be read: {exc}", variable=name, line=line) from None
        needed = [name, *variable.parents]
        missing = [c for c in needed if c not in data.columns]
        if missing:
            raise self.error(f"fit file {path} lacks the column(s) {missing}", variable=name, line=line)
        data = data[needed].dropna()
        if len(data) < 2:
            raise self.error(f"fit file {path} has fewer than 2 complete rows", variable=name, line=line)
        if variable.domain is not None:
            table = self.fitted_cpd(variable, data, shells, path, line)
            return Variable(**{**_fields(variable), "mechanism": "cpd", "cpd": table}), None
        for parent in variable.parents:
            if not shells[parent].numeric:
                raise self.error(
                    "a fitted real equation needs numeric parents; "
                    f"{parent!r} has values {shells[parent].domain}",
                    variable=name,
                    line=line,
                )
        design = np.column_stack([np.ones(len(data)), data[list(variable.parents)].to_numpy(dtype=float)])
        target = data[name].to_numpy(dtype=float)
        coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
        residual = target - design @ coefficients
        std = float(max(np.std(residual), 1e-12))
        noise = response_noise_name(name)
        terms = [repr(float(coefficients[0]))]
        terms += [f"{float(c)!r} * {p}" for c, p in zip(coefficients[1:], variable.parents, strict=True)]
        text = " + ".join([*terms, noise])
        exo = Exogenous(noise, "normal", params={"mean": 0.0, "std": std})
        fields = {**_fields(variable), "mechanism": "equation", "equation": text, "ast": expr.parse(text)}
        return Variable(**fields), exo

    def fitted_cpd(
        self, variable: Variable, data: Any, shells: dict[str, Variable], path: Path, line: int | None
    ) -> np.ndarray:
        name = variable.name
        domain = variable.domain or ()

        def codes_of(column: str, values: tuple[Any, ...]) -> np.ndarray:
            lookup = {str(v): i for i, v in enumerate(values)}
            raw = data[column].map(
                lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
            )
            codes = raw.map(lookup)
            if codes.isna().any():
                bad = data[column][codes.isna()].iloc[0]
                bad = bad.item() if isinstance(bad, np.generic) else bad
                raise self.error(
                    f"fit file {path}: column {column!r} holds {bad!r}, not in {list(values)}",
                    variable=name,
                    line=line,
                )
            return codes.to_numpy(dtype=np.int64)

        column = np.zeros(len(data), dtype=np.int64)
        cards = []
        for parent in variable.parents:
            parent_domain = shells[parent].domain
            if parent_domain is None:
                raise self.error(f"a fitted cpd cannot have the real-valued parent {parent!r}", variable=name)
            column = column * len(parent_domain) + codes_of(parent, parent_domain)
            cards.append(len(parent_domain))
        configs = int(np.prod(cards)) if cards else 1
        counts = np.zeros((configs, len(domain)))
        np.add.at(counts, (column, codes_of(name, domain)), 1.0)
        totals = counts.sum(axis=1, keepdims=True)
        empty = np.flatnonzero(totals[:, 0] == 0)
        if len(empty):
            labels = list(product(*[shells[p].domain or () for p in variable.parents]))
            shown = ", ".join(f"{p}={v}" for p, v in zip(variable.parents, labels[empty[0]], strict=True))
            raise self.error(
                f"fit file {path} has no rows with {shown}; the cpd column cannot be estimated",
                variable=name,
                line=line,
            )
        return counts / totals

    def topological_order(self, shells: dict[str, Variable]) -> list[str]:
        graph = nx.DiGraph()
        graph.add_nodes_from(shells)
        for name, variable in shells.items():
            graph.add_edges_from((parent, name) for parent in variable.parents)
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return list(nx.lexicographical_topological_sort(graph, key=list(shells).index))
        path = " -> ".join([edge[0] for edge in cycle] + [cycle[0][0]])
        raise self.error(f"the graph has a cycle: {path}", variable=cycle[0][0])

    def with_cpd(self, variable: Variable, raw: Any, shells: dict[str, Variable]) -> Variable:
        name = variable.name
        domain = variable.domain
        assert domain is not None
        line, _ = self.lines.key("variables", name, "cpd")
        for parent in variable.parents:
            if shells[parent].domain is None:
                raise self.error(f"a cpd cannot have the real-valued parent {parent!r}", variable=name)
        parent_domains = [shells[p].domain for p in variable.parents]
        configs = list(product(*parent_domains))  # last parent varies fastest
        labels = [
            ", ".join(f"{p}={v}" for p, v in zip(variable.parents, config, strict=True)) for config in configs
        ]
        columns: list[Any]
        if not variable.parents:
            if not isinstance(raw, list):
                raise self.error(
                    "a cpd without parents is a list of probabilities, one per domain value", variable=name
                )
            columns = [raw]
            labels = ["(no parents)"]
        else:
            if not isinstance(raw, dict):
                raise self.error(
                    'a cpd with parents is a table keyed by parent values, e.g. "C=0" = [0.5, 0.5]',
                    variable=name,
                )
            by_config: dict[tuple[Any, ...], Any] = {}
            for key, probs in raw.items():
                config = self.cpd_key(name, key, variable.parents, shells)
                if config in by_config:
                    raise self.error(f"cpd column {key!r} is given twice", variable=name, line=line)
                by_config[config] = probs
            missing = [
                label for config, label in zip(configs, labels, strict=True) if config not in by_config
            ]
            if missing:
                raise self.error(f"cpd has no column for {missing[:5]}", variable=name, line=line)
            columns = [by_config[config] for config in configs]
            raw_keys = {
                config: key for key in raw for config in [self.cpd_key(name, key, variable.parents, shells)]
            }
            column_lines = [self.lines.cpd_column(name, raw_keys[config]) or line for config in configs]
        table = np.zeros((len(columns), len(domain)))
        for i, (column, label) in enumerate(zip(columns, labels, strict=True)):
            if variable.parents:
                line = column_lines[i]
            if not isinstance(column, list) or len(column) != len(domain):
                raise self.error(
                    f"cpd column {label} must list {len(domain)} probabilities "
                    f"(for {list(domain)}), found {column!r}",
                    variable=name,
                    line=line,
                )
            if not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in column):
                raise self.error(
                    f"cpd column {label} must hold numbers, found {column!r}", variable=name, line=line
                )
            values = np.asarray(column, dtype=np.float64)
            if (values < 0).any() or (values > 1).any():
                raise self.error(
                    f"cpd column {label} has a probability outside [0, 1]: {column}", variable=name, line=line
                )
            total = float(values.sum())
            if abs(total - 1.0) > _TOLERANCE:
                raise self.error(
                    f"cpd sums to {total:.6g} in column {label}, expected 1", variable=name, line=line
                )
            table[i] = values / total
        return Variable(**{**_fields(variable), "cpd": table})

    def cpd_key(
        self, name: str, key: str, parents: tuple[str, ...], shells: dict[str, Variable]
    ) -> tuple[Any, ...]:
        assignment: dict[str, Any] = {}
        for part in key.split(","):
            if "=" not in part:
                raise self.error(
                    f'cpd column {key!r} must read like "Parent=value, Other=value"', variable=name
                )
            parent, _, text = (s.strip() for s in part.partition("="))
            if parent not in parents:
                raise self.error(
                    f"cpd column {key!r} names {parent!r}, which is not among parents {list(parents)}",
                    variable=name,
                )
            domain = shells[parent].domain or ()
            text = text.strip("\"'")
            matches = [v for v in domain if str(v) == text]
            if not matches:
                raise self.error(
                    f"cpd column {key!r}: {text!r} is not in the domain of {parent!r}: {list(domain)}",
                    variable=name,
                )
            assignment[parent] = matches[0]
        if set(assignment) != set(parents):
            raise self.error(
                f"cpd column {key!r} must give a value for each of {list(parents)}", variable=name
            )
        return tuple(assignment[p] for p in parents)


def _fields(variable: Variable) -> dict[str, Any]:
    return {f: getattr(variable, f) for f in Variable.__dataclass_fields__}


def _response_exogenous(name: str, cpd: np.ndarray) -> Exogenous:
    """Cells of Uniform(0, 1) on which every column's inverse CDF is constant.

    The CPD variable is ``X = min{k : u < F(k | parents)}`` with one ``u`` shared by all
    parent configurations (the comonotone coupling); its exact engine needs only the cells
    between consecutive cumulative probabilities of all columns.
    """
    cumulative = np.cumsum(cpd, axis=1)[:, :-1].ravel()
    breaks = np.unique(np.concatenate([[0.0, 1.0], np.clip(cumulative, 0.0, 1.0)]))
    keep = [0]
    for i in range(1, len(breaks)):
        if breaks[i] - breaks[keep[-1]] > 1e-12:
            keep.append(i)
    breaks = breaks[keep]
    breaks[-1] = 1.0
    widths = np.diff(breaks)
    mids = (breaks[:-1] + breaks[1:]) / 2
    return Exogenous(name, "response", tuple(float(m) for m in mids), tuple(float(w) for w in widths))
