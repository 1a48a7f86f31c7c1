"""SCM files: TOML parsing and validation into an immutable :class:`ScmSpec`.

The format is documented in ``docs/scm-format.md``. A file is refused with a
:class:`~mmreason.ScmSpecError` that names the file, the variable, the line
(and column, for equations) and the reason. A file past the limits of
:mod:`mmreason.causal.limits` is refused before the work it would cost: its size
before it is read, its variable count before any variable is built.

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
from mmreason.causal.limits import (
    MAX_NAME_CHARS,
    MAX_NOISE_PARAMETER,
    MAX_SCM_BYTES,
    MAX_VARIABLES,
    quote,
    shown,
)
from mmreason.errors import MissingFileError, ScmSpecError, _did_you_mean

__all__ = ["Exogenous", "ScmSpec", "Variable", "parse_spec", "read_spec", "response_noise_name"]

_TOP_KEYS = {"name", "description", "constants", "exogenous", "variables"}
_VAR_KEYS = {"domain", "type", "unit", "bounds", "parents", "equation", "cpd", "fit", "description"}
_EXO_KEYS = {"distribution", "p", "values", "probs", "mean", "std", "low", "high", "description"}
_DISTRIBUTIONS = ("bernoulli", "categorical", "normal", "uniform")
_TOLERANCE = 1e-6
# Integer domain values are computed as float64 and decoded as int64: beyond 2**53
# neighbouring integers share one float.
_MAX_EXACT_INT = 2**53


def _real(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is not a finite real number (bools excluded)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)  # an int past 1e308 overflows
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


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


_SECTION = re.compile(r"^\s*\[\s*(\w+)\s*\.\s*(\"?)([^\"\s.\]]+)\2\s*(\.\s*cpd\s*\]|\.|\])")


class _Lines:
    """Finds the line of a section and of a key inside it, for error messages.

    The section headers are indexed in one pass, so that a file of many variables costs
    time linear in its length, not in its length times its variable count.
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.sections: dict[tuple[str, str], int] = {}  # (table, name) -> 0-based line
        self.cpd_tables: dict[str, int] = {}  # variable -> 0-based line of [variables.NAME.cpd]
        for i, line in enumerate(self.lines):
            if "[" not in line:
                continue
            match = _SECTION.match(line)
            if match is None:
                continue
            table, _, name, tail = match.groups()
            self.sections.setdefault((table, name), i)
            if table == "variables" and tail.startswith(".") and tail.endswith("]"):
                self.cpd_tables.setdefault(name, i)

    def section(self, table: str, name: str) -> int | None:
        start = self.sections.get((table, name))
        return None if start is None else start + 1

    def cpd_columns(self, name: str) -> dict[str, int]:
        """Column key -> line, for the columns written in a ``[variables.NAME.cpd]`` table."""
        start = self.cpd_tables.get(name)
        out: dict[str, int] = {}
        if start is None:
            return out
        for i in range(start + 1, len(self.lines)):
            line = self.lines[i].lstrip()
            if line.startswith("["):
                break
            if line[:1] in ("'", '"'):
                end = line.find(line[0], 1)
                if end > 0:
                    out.setdefault(line[1:end], i + 1)
        return out

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


def read_spec(path: str | Path) -> ScmSpec:
    """Read, parse and validate an SCM file; its size is checked before it is read.

    Raises:
        MissingFileError: no file at ``path``.
        ScmSpecError: a file past :data:`~mmreason.causal.limits.MAX_SCM_BYTES`, not UTF-8
            text, or refused by :func:`parse_spec`.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, what="SCM file")
    where = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_SCM_BYTES:
            raise _too_large(size, where)
        with path.open("rb") as handle:
            data = handle.read(MAX_SCM_BYTES + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise ScmSpecError(f"cannot be read: {exc.strerror or exc}", path=where) from None
    if len(data) > MAX_SCM_BYTES:
        raise _too_large(len(data), where, at_least=True)
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark, as some editors write, is not content
    except UnicodeDecodeError as exc:
        raise ScmSpecError(f"not UTF-8 text (byte {exc.start}): an SCM file is TOML", path=where) from None
    return parse_spec(text, path=where)


def _too_large(size: int, path: str | None, *, at_least: bool = False, unit: str = "bytes") -> ScmSpecError:
    return ScmSpecError(
        f"the file is {'at least ' if at_least else ''}{size:,} {unit}; "
        f"SCM files are limited to {MAX_SCM_BYTES:,} (mmreason.causal.limits.MAX_SCM_BYTES)",
        path=path,
    )


def parse_spec(text: str, *, path: str | None = None) -> ScmSpec:
    """Parse and validate the TOML text of an SCM file."""
    if len(text) > MAX_SCM_BYTES:
        raise _too_large(len(text), path, unit="characters")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        column = getattr(exc, "colno", None)
        raise ScmSpecError(f"not valid TOML: {exc}", path=path, line=line, column=column) from None
    except RecursionError:
        # Python's TOML reader descends once per nested array or inline table.
        raise ScmSpecError("not valid TOML: arrays or inline tables nest too deeply", path=path) from None
    except ValueError as exc:  # an integer literal past Python's 4,300-digit conversion limit
        raise ScmSpecError(f"not valid TOML: {exc}", path=path) from None
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
                f"unknown top-level key(s) {shown(sorted(unknown))}; expected some of {sorted(_TOP_KEYS)}"
            )
        for key in ("constants", "exogenous", "variables"):
            if not isinstance(self.raw.get(key, {}), dict):
                raise self.error(
                    f"{key!r} must be a table ([{key}] or [{key}.NAME]), found {shown(self.raw[key])}"
                )
        raw_vars = self.raw.get("variables")
        if not isinstance(raw_vars, dict) or not raw_vars:
            raise self.error("the file declares no [variables.NAME] tables")
        raw_exogenous = self.raw.get("exogenous", {})
        if len(raw_vars) + len(raw_exogenous) > MAX_VARIABLES:
            raise self.error(
                f"the file declares {len(raw_vars):,} variables and {len(raw_exogenous):,} exogenous "
                f"variables; a model is limited to {MAX_VARIABLES:,} in all "
                "(mmreason.causal.limits.MAX_VARIABLES)"
            )
        for key in ("constants", "exogenous", "variables"):
            for name in self.raw.get(key, {}):
                if len(name) > MAX_NAME_CHARS:
                    raise self.error(
                        f"{key} name {quote(name)} is longer than {MAX_NAME_CHARS} characters "
                        "(mmreason.causal.limits.MAX_NAME_CHARS)"
                    )
        constants = self.constants()
        exogenous = {name: self.exogenous(name, body) for name, body in raw_exogenous.items()}
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
            number = _real(value)
            if number is None:
                raise self.error(f"constant {quote(name)} must be a finite number, found {shown(value)}")
            out[name] = number
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
            number = _real(value)
            if number is None:
                raise err(f"{kind} needs a finite number {key!r}, found {shown(value)}")
            if kind in ("normal", "uniform") and abs(number) > MAX_NOISE_PARAMETER:
                raise err(
                    f"{kind} {key} = {number:g} is beyond ±{MAX_NOISE_PARAMETER:g} "
                    "(mmreason.causal.limits.MAX_NOISE_PARAMETER)"
                )
            return number

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
                raise err(f"categorical values repeat: {shown(values)}")
            if not all(isinstance(v, str) or _real(v) is not None for v in values):
                raise err(f"categorical values must be strings or finite numbers, found {shown(values)}")
            if any(
                isinstance(v, int) and not isinstance(v, bool) and abs(v) > _MAX_EXACT_INT for v in values
            ):
                raise err(f"categorical values must lie within ±2**53, found {shown(values)}")
            reals = [_real(p) for p in probs]
            if any(p is None for p in reals):
                raise err(f"categorical probs must be finite numbers, found {shown(probs)}")
            probs_f = [float(p) for p in reals]  # type: ignore[arg-type]
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
                raise self.error(f"domain values repeat: {shown(values)}", variable=name)
            if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
                raise self.error(
                    f"domain values must be strings or integers, found {shown(values)}", variable=name
                )
            if any(isinstance(v, int) and abs(v) > _MAX_EXACT_INT for v in values):
                raise self.error(
                    f"domain integers must lie within ±2**53 (exact in float64), found {shown(values)}",
                    variable=name,
                )
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
            reals = [_real(x) for x in b] if isinstance(b, list) and len(b) == 2 else [None]
            if any(x is None for x in reals) or reals[0] >= reals[1]:  # type: ignore[operator]
                raise self.error(
                    f"bounds must be [low, high], finite numbers with low < high, found {shown(b)}",
                    variable=name,
                )
            bounds = (float(reals[0]), float(reals[1]))  # type: ignore[arg-type]
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
                raise self.error(f"unknown parent {quote(parent)}{_hint(parent, raw_vars)}", variable=name)
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
                        f"equation uses unknown name {quote(used)}{_hint(used, known)}",
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
        from mmreason.causal.limits import MAX_FIT_BYTES

        if path.stat().st_size > MAX_FIT_BYTES:
            raise self.error(
                f"fit file {path} is over {MAX_FIT_BYTES:,} bytes (docs/limits.md)", variable=name, line=line
            )
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
        try:
            design = np.column_stack([np.ones(len(data)), data[list(variable.parents)].to_numpy(dtype=float)])
            target = data[name].to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise self.error(
                f"fit file {path}: the columns {needed} must hold numbers", variable=name, line=line
            ) from None
        if not (np.isfinite(design).all() and np.isfinite(target).all()):
            raise self.error(f"fit file {path}: the columns {needed} hold inf", variable=name, line=line)
        with np.errstate(all="ignore"):
            coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
            residual = target - design @ coefficients
            std = float(max(np.std(residual), 1e-12))
        if not (np.isfinite(coefficients).all() and std <= MAX_NOISE_PARAMETER):
            raise self.error(
                f"fit file {path}: least squares gives no finite equation (the values overflow float64)",
                variable=name,
                line=line,
            )
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
                    f"fit file {path}: column {column!r} holds {shown(bad)}, not in {shown(list(values))}",
                    variable=name,
                    line=line,
                )
            return codes.to_numpy(dtype=np.int64)

        parent_codes = []
        for parent in variable.parents:
            parent_domain = shells[parent].domain
            if parent_domain is None:
                raise self.error(f"a fitted cpd cannot have the real-valued parent {parent!r}", variable=name)
            parent_codes.append(codes_of(parent, parent_domain))
        parent_domains = [shells[p].domain or () for p in variable.parents]
        empty_config = None
        if math.prod(len(d) for d in parent_domains) > len(data):
            # More parent values than rows: some column has no rows; find the first one
            # without building a table of them all.
            seen = set(zip(*parent_codes, strict=True))
            ranges = [range(len(d)) for d in parent_domains]
            empty_config = next(c for c in product(*ranges) if c not in seen)
        else:
            column = np.zeros(len(data), dtype=np.int64)
            for codes, parent_domain in zip(parent_codes, parent_domains, strict=True):
                column = column * len(parent_domain) + codes
            counts = np.zeros((math.prod(len(d) for d in parent_domains), len(domain)))
            np.add.at(counts, (column, codes_of(name, domain)), 1.0)
            totals = counts.sum(axis=1, keepdims=True)
            empty = np.flatnonzero(totals[:, 0] == 0)
            if len(empty):
                sizes = [len(d) for d in parent_domains]
                empty_config = tuple(int(i) for i in np.unravel_index(int(empty[0]), sizes)) if sizes else ()
        if empty_config is not None:
            values = [d[i] for d, i in zip(parent_domains, empty_config, strict=True)]
            where = ", ".join(f"{p}={v}" for p, v in zip(variable.parents, values, strict=True))
            raise self.error(
                f"fit file {path} has no rows with {where}; the cpd column cannot be estimated",
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
            position = {name: i for i, name in enumerate(shells)}
            return list(nx.lexicographical_topological_sort(graph, key=position.__getitem__))
        names = [edge[0] for edge in cycle] + [cycle[0][0]]
        if len(names) > 10:  # a cycle through thousands of variables is named by its start
            names = [*names[:5], f"… ({len(cycle)} variables)", *names[-2:]]
        raise self.error(f"the graph has a cycle: {' -> '.join(names)}", variable=cycle[0][0])

    def with_cpd(self, variable: Variable, raw: Any, shells: dict[str, Variable]) -> Variable:
        name = variable.name
        domain = variable.domain
        assert domain is not None
        line, _ = self.lines.key("variables", name, "cpd")
        for parent in variable.parents:
            if shells[parent].domain is None:
                raise self.error(f"a cpd cannot have the real-valued parent {parent!r}", variable=name)
        parent_domains = [shells[p].domain or () for p in variable.parents]

        def label_of(config: tuple[Any, ...]) -> str:
            return ", ".join(f"{p}={v}" for p, v in zip(variable.parents, config, strict=True))

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
            by_config: dict[tuple[Any, ...], tuple[str, Any]] = {}
            for key, probs in raw.items():
                config = self.cpd_key(name, key, variable.parents, shells)
                if config in by_config:
                    raise self.error(f"cpd column {quote(key)} is given twice", variable=name, line=line)
                by_config[config] = (key, probs)
            # Every joint parent value needs a column; with fewer columns than values, list the
            # first few missing without enumerating all of them (40 binary parents have 2**40).
            if math.prod(len(d) for d in parent_domains) > len(by_config):
                missing = []
                for config in product(*parent_domains):  # last parent varies fastest
                    if config not in by_config:
                        missing.append(label_of(config))
                        if len(missing) == 5:
                            break
                raise self.error(f"cpd has no column for {shown(missing)}", variable=name, line=line)
            configs = list(product(*parent_domains))
            labels = [label_of(config) for config in configs]
            columns = [by_config[config][1] for config in configs]
            written = self.lines.cpd_columns(name)
            column_lines = [written.get(by_config[config][0], line) for config in configs]
        table = np.zeros((len(columns), len(domain)))
        for i, (column, label) in enumerate(zip(columns, labels, strict=True)):
            if variable.parents:
                line = column_lines[i]
            if not isinstance(column, list) or len(column) != len(domain):
                raise self.error(
                    f"cpd column {label} must list {len(domain)} probabilities "
                    f"(for {shown(list(domain))}), found {shown(column)}",
                    variable=name,
                    line=line,
                )
            reals = [_real(p) for p in column]
            if any(p is None for p in reals):
                raise self.error(
                    f"cpd column {label} must hold finite numbers, found {shown(column)}",
                    variable=name,
                    line=line,
                )
            values = np.asarray(reals, dtype=np.float64)
            if (values < 0).any() or (values > 1).any():
                raise self.error(
                    f"cpd column {label} has a probability outside [0, 1]: {shown(column)}",
                    variable=name,
                    line=line,
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
                    f'cpd column {quote(key)} must read like "Parent=value, Other=value"', variable=name
                )
            parent, _, text = (s.strip() for s in part.partition("="))
            if parent not in parents:
                raise self.error(
                    f"cpd column {quote(key)} names {quote(parent)}, which is not among parents "
                    f"{shown(list(parents))}",
                    variable=name,
                )
            domain = shells[parent].domain or ()
            text = text.strip("\"'")
            matches = [v for v in domain if str(v) == text]
            if not matches:
                raise self.error(
                    f"cpd column {quote(key)}: {quote(text)} is not in the domain of {parent!r}: "
                    f"{shown(list(domain))}",
                    variable=name,
                )
            assignment[parent] = matches[0]
        if set(assignment) != set(parents):
            raise self.error(
                f"cpd column {quote(key)} must give a value for each of {shown(list(parents))}",
                variable=name,
            )
        return tuple(assignment[p] for p in parents)


def _hint(name: str, known: Any) -> str:
    # difflib compares every known name in quadratic time; a long unknown name gets no hint.
    return _did_you_mean(name, known) if len(name) <= MAX_NAME_CHARS else ""


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
