"""The :class:`SCM` facade: load an SCM file, ask do, counterfactual and effect questions.

>>> from mmreason import SCM
>>> from mmreason.paths import bundled_graphs_dir
>>> scm = SCM.from_file(bundled_graphs_dir() / "sprinkler.scm.toml", device="cpu")
>>> round(scm.query("R", evidence={"W": 1})[1], 6)
0.707928
>>> round(scm.query("W", do={"S": 1})[1], 4)
0.945
>>> squad = SCM.from_file(bundled_graphs_dir() / "firing_squad.scm.toml", device="cpu")
>>> round(squad.query("U", evidence={"D": 1})[1], 6)  # was there a court order, given the death?
0.921053
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmreason.causal.distribution import Distribution, DistributionBatch
from mmreason.devices import DeviceLike, resolve_device
from mmreason.errors import InvalidInputError, ScmSpecError, UnknownVariableError

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd
    import torch
    from pgmpy.models import DiscreteBayesianNetwork

    from mmreason.causal.causation import CausationResult
    from mmreason.causal.discrete import EncodedEvidence, InferenceResult
    from mmreason.causal.effects import EffectEstimate
    from mmreason.causal.spec import ScmSpec, Variable

    Rows = pd.DataFrame | Sequence[Mapping[str, Any]]

# torch, pandas and networkx load on first use, so that importing mmreason stays fast.

__all__ = ["SCM"]


class SCM:
    """A structural causal model: variables, exogenous noise, and one mechanism per variable.

    Load one with :meth:`from_file` or :meth:`from_toml` (format: ``docs/scm-format.md``).
    Queries return distributions: :class:`~mmreason.causal.distribution.DiscreteDistribution`
    for finite targets, :class:`~mmreason.causal.distribution.SampleDistribution` for real ones.
    A target may be endogenous or a declared exogenous variable (its posterior); the response
    noise behind a CPD is not a target, since its value is an artefact of the coupling.

    Finite models are answered exactly by enumerating the exogenous posterior
    (Pearl, *Causality*, 2009, §7.1; Balke & Pearl, 1994, twin networks). A variable
    given by a CPD is driven by its own response noise ``U_X ~ Uniform(0, 1)`` through
    the inverse CDF of its column, one ``u`` shared across parent values (the
    comonotone coupling). Interventional answers do not depend on that choice;
    counterfactual ones do. Under this coupling a binary CPD is monotone, so for an
    unconfounded binary cause PN/PS/PNS take the values Tian & Pearl (2000) identify
    under monotonicity; they always lie within the Tian–Pearl bounds.
    """

    def __init__(self, spec: ScmSpec, *, device: DeviceLike = "auto") -> None:
        from mmreason.causal.model import CompiledModel

        self.spec = spec
        self.device = resolve_device(device)
        self._model = CompiledModel(spec)
        self._check_equations()

    # ------------------------------------------------------------ loading

    @classmethod
    def from_file(cls, path: str | Path, *, device: DeviceLike = "auto") -> SCM:
        """Load an ``.scm.toml`` file (at most :data:`~mmreason.causal.limits.MAX_SCM_BYTES`)."""
        from mmreason.causal.spec import read_spec

        return cls(read_spec(path), device=device)

    @classmethod
    def from_toml(cls, text: str, *, device: DeviceLike = "auto") -> SCM:
        """Load an SCM from TOML text.

        >>> scm = SCM.from_toml('''
        ... [exogenous.U]
        ... distribution = "bernoulli"
        ... p = 0.3
        ... [variables.X]
        ... domain = [0, 1]
        ... equation = "U"
        ... ''', device="cpu")
        >>> round(scm.query("X")[1], 3)
        0.3
        """
        from mmreason.causal.spec import parse_spec

        if not isinstance(text, str):
            raise InvalidInputError(f"text must be the TOML of an SCM, found {type(text).__name__}")
        return cls(parse_spec(text), device=device)

    @classmethod
    def from_pgmpy(cls, network: Any, *, name: str = "pgmpy", device: DeviceLike = "auto") -> SCM:
        """Read a pgmpy ``DiscreteBayesianNetwork`` as an SCM (its CPDs with response noise).

        >>> from mmreason.paths import bundled_graphs_dir
        >>> network = SCM.from_file(bundled_graphs_dir() / "sprinkler.scm.toml", device="cpu").to_pgmpy()
        >>> again = SCM.from_pgmpy(network, name="sprinkler", device="cpu")
        >>> round(again.query("W", do={"S": 1})[1], 3)
        0.945
        """
        from mmreason.causal.interop import spec_from_pgmpy

        return cls(spec_from_pgmpy(network, name=name), device=device)

    def _check_equations(self) -> None:
        # Run every mechanism once on a few prior draws so type errors surface at load time.
        import torch

        generator = torch.Generator().manual_seed(0)
        exogenous = self._model.sample_exogenous(4, generator, torch.device("cpu"))
        if exogenous:
            self._model.run(exogenous, torch.device("cpu"))

    # ------------------------------------------------------------ structure

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def variables(self) -> tuple[str, ...]:
        """Endogenous variables in topological order."""
        return tuple(self.spec.variables)

    @property
    def exogenous(self) -> tuple[str, ...]:
        """Exogenous variables, including the response noise ``U_X`` behind each CPD."""
        return tuple(self.spec.exogenous)

    def domain(self, variable: str) -> tuple[Any, ...] | None:
        """The finite values of ``variable``, or None when it is real-valued.

        ``variable`` may be exogenous: a bernoulli or categorical noise gives its support,
        a normal, uniform or response noise gives None.

        >>> from mmreason.paths import bundled_graphs_dir
        >>> scm = SCM.from_file(bundled_graphs_dir() / "firing_squad.scm.toml", device="cpu")
        >>> scm.domain("D"), scm.domain("U")
        ((0, 1), (0, 1))
        """
        if isinstance(variable, str) and variable in self.spec.exogenous:
            return self.spec.exogenous[variable].domain
        if not isinstance(variable, str) or variable not in self.spec.variables:
            raise UnknownVariableError(str(variable), [*self.spec.variables, *self.spec.exogenous])
        return self.spec.variables[variable].domain

    @property
    def graph(self) -> nx.DiGraph:
        """The causal graph over the endogenous variables (a fresh copy each time)."""
        import networkx as nx

        graph = nx.DiGraph(name=self.name)
        for name, variable in self.spec.variables.items():
            graph.add_node(
                name,
                domain=variable.domain,
                mechanism=variable.mechanism,
                unit=variable.unit,
                noise=variable.noise,
            )
            graph.add_edges_from((parent, name) for parent in variable.parents)
        return graph

    @property
    def is_discrete(self) -> bool:
        return all(v.discrete for v in self.spec.variables.values())

    def __repr__(self) -> str:
        return f"SCM({self.name!r}, variables={list(self.variables)})"

    # ------------------------------------------------------------ queries

    def query(
        self,
        target: str,
        *,
        evidence: Mapping[str, Any] | None = None,
        do: Mapping[str, Any] | None = None,
        soft_evidence: Mapping[str, Mapping[Any, float]] | None = None,
        samples: int = 2000,
        seed: int = 0,
        device: DeviceLike | None = None,
    ) -> Distribution:
        """P(target | evidence, do(...)): the distribution of ``target`` in the intervened world.

        An exogenous ``target`` gets its posterior given the evidence. Interventions do not set
        noise, but evidence observed in the intervened world still informs it: in the firing
        squad, P(U=1 | B=1, do(A=0)) = 1 while P(W=1 | D=1, do(A=0)) = P(W=1).

        Args:
            target: the variable asked about: endogenous, or an exogenous variable declared
                in the file (not the response noise behind a CPD).
            evidence: hard evidence observed in the (intervened) world, ``{variable: value}``.
            do: interventions, ``{variable: value}``.
            soft_evidence: likelihoods (virtual evidence) for finite variables,
                ``{variable: {value: likelihood}}``, e.g. CLIP probabilities.
            samples: draws of each real noise term that no evidence pins.
            seed: seeds those draws.
            device: overrides the model's device.

        Returns:
            The distribution of ``target``.
        """
        import torch

        dev = self._device(device)
        self._target(target)
        do_enc = self._encode_assignment(do, "do", dev)
        evidence = dict(evidence or {})
        for name in list(evidence):
            if name in do_enc:
                value = self._encode_value(name, evidence[name], "evidence", dev)
                if not torch.equal(value, do_enc[name]):
                    raise InvalidInputError(
                        f"do and evidence disagree on {name!r} in one world: do {name}={do[name]!r}, "  # type: ignore[index]
                        f"evidence {name}={evidence[name]!r}; "
                        "use counterfactual() for evidence from another world"
                    )
                del evidence[name]  # certainly true under the intervention
        encoded = self._encode_rows([evidence], "evidence", dev, soft_evidence)
        label = _label(target, evidence, do, soft_evidence)
        result = self._infer(
            target, encoded, do_enc, None, samples, seed, dev, lambda _: _describe(evidence, soft_evidence)
        )
        return self._single(target, result, label)

    def counterfactual(
        self,
        target: str,
        *,
        evidence: Mapping[str, Any] | None = None,
        do: Mapping[str, Any],
        soft_evidence: Mapping[str, Mapping[Any, float]] | None = None,
        samples: int = 2000,
        seed: int = 0,
        device: DeviceLike | None = None,
    ) -> Distribution:
        """P(target_{do} | evidence): what ``target`` would have been under ``do``, given what was seen.

        Abduction (condition the exogenous variables on ``evidence``), action (apply ``do``),
        prediction (run the model on the same exogenous values). ``evidence`` and
        ``soft_evidence`` belong to the factual world, ``do`` to the counterfactual one.

        The twin worlds share their noise, so for an exogenous ``target`` the answer is its
        posterior given the factual evidence, whatever ``do`` is: the same as
        ``query(target, evidence=evidence, soft_evidence=soft_evidence)``.

        >>> from mmreason.paths import bundled_graphs_dir
        >>> scm = SCM.from_file(bundled_graphs_dir() / "firing_squad.scm.toml", device="cpu")
        >>> d = scm.counterfactual("D", evidence={"D": 1}, do={"A": 0})
        >>> round(d[1], 4)  # p / (1 - (1 - p)(1 - q)) with p = 0.7, q = 0.2
        0.9211
        """

        dev = self._device(device)
        self._target(target)
        if not do:
            raise InvalidInputError("counterfactual() needs do={variable: value}; without it, use query()")
        do_enc = self._encode_assignment(do, "do", dev)
        evidence = dict(evidence or {})
        encoded = self._encode_rows([evidence], "evidence", dev, soft_evidence)
        label = _label(target, evidence, do, soft_evidence, counterfactual=True)
        result = self._infer(
            target, encoded, None, do_enc, samples, seed, dev, lambda _: _describe(evidence, soft_evidence)
        )
        return self._single(target, result, label)

    def counterfactual_batch(
        self,
        target: str,
        *,
        evidence: Rows,
        do: Mapping[str, Any],
        soft_evidence: Mapping[str, Mapping[Any, float]] | None = None,
        samples: int = 2000,
        seed: int = 0,
        device: DeviceLike | None = None,
    ) -> DistributionBatch:
        """One counterfactual per evidence row, computed as one tensor computation.

        Args:
            target: the variable asked about, in the counterfactual world.
            evidence: a DataFrame (one column per observed variable; NaN/None = not observed)
                or a list of ``{variable: value}`` dicts.
            do: the intervention, shared by all rows.
            soft_evidence: likelihoods shared by all rows.
            samples, seed, device: as in :meth:`query`.

        Returns:
            A :class:`DistributionBatch`; ``batch[i]`` is the answer for row ``i``.
        """

        dev = self._device(device)
        self._target(target)
        if not do:
            raise InvalidInputError("counterfactual_batch() needs do={variable: value}")
        do_enc = self._encode_assignment(do, "do", dev)
        frame = _as_frame(evidence)
        encoded = self._encode_rows(frame, "evidence", dev, soft_evidence)
        label = _label(target, {c: "·" for c in frame.columns}, do, soft_evidence, counterfactual=True)

        def describe(i: int) -> str:
            return f"row {i} {_describe(self._decode_row(encoded, i), soft_evidence)}"

        result = self._infer(target, encoded, None, do_enc, samples, seed, dev, describe)
        return self._batch(target, result, label)

    def query_batch(
        self,
        target: str,
        *,
        evidence: Rows,
        do: Mapping[str, Any] | None = None,
        soft_evidence: Mapping[str, Mapping[Any, float]] | None = None,
        samples: int = 2000,
        seed: int = 0,
        device: DeviceLike | None = None,
    ) -> DistributionBatch:
        """:meth:`query` for many evidence rows at once (rows as in :meth:`counterfactual_batch`)."""

        dev = self._device(device)
        self._target(target)
        do_enc = self._encode_assignment(do, "do", dev)
        frame = _as_frame(evidence)
        clash = [c for c in frame.columns if c in do_enc]
        if clash:
            raise InvalidInputError(f"evidence columns {clash} are also set by do in the same world")
        encoded = self._encode_rows(frame, "evidence", dev, soft_evidence)
        label = _label(target, {c: "·" for c in frame.columns}, do, soft_evidence)
        result = self._infer(
            target,
            encoded,
            do_enc,
            None,
            samples,
            seed,
            dev,
            lambda i: f"row {i} {_describe(self._decode_row(encoded, i), soft_evidence)}",
        )
        return self._batch(target, result, label)

    # ------------------------------------------------------------ simulation

    def sample(
        self,
        n: int | None = None,
        *,
        seed: int = 0,
        do: Mapping[str, Any] | None = None,
        noise: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Simulate units: one column per endogenous and per exogenous variable.

        Passing ``noise`` (the exogenous columns of an earlier sample) re-runs those same
        units, optionally under ``do``: the ground-truth counterfactual of each unit.

        >>> from mmreason.paths import bundled_graphs_dir
        >>> scm = SCM.from_file(bundled_graphs_dir() / "sprinkler.scm.toml", device="cpu")
        >>> units = scm.sample(5, seed=1)
        >>> again = scm.sample(noise=units, do={"S": 0})
        >>> bool((again["C"] == units["C"]).all()) and bool((again["S"] == 0).all())
        True
        """
        import torch

        dev = torch.device("cpu")
        do_enc = self._encode_assignment(do, "do", dev)
        if noise is None:
            if n is None or isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise InvalidInputError(f"n must be a non-negative integer, found {n!r}")
            generator = torch.Generator().manual_seed(int(seed))
            exogenous = self._model.sample_exogenous(n, generator, dev)
        else:
            if n is not None and n != len(noise):
                raise InvalidInputError(f"n={n} but noise has {len(noise)} rows; pass one or the other")
            exogenous = self._encode_noise(noise)
        size = len(noise) if noise is not None else n
        worlds = self._model.run(exogenous, dev, do=do_enc)
        columns: dict[str, Any] = {}
        for name in self.variables:
            columns[name] = self._decode(name, worlds.values[name].expand(size))
        for name in self.exogenous:
            columns[name] = self._decode_exogenous(name, worlds.values[name].expand(size))
        import pandas as pd

        index = noise.index if noise is not None else None
        return pd.DataFrame(columns, index=index)

    # ------------------------------------------------------------ interop and other engines

    def to_pgmpy(self) -> DiscreteBayesianNetwork:
        """A pgmpy ``DiscreteBayesianNetwork`` with the same observational distribution.

        Private finite noise is summed into each CPD; noise shared by several variables
        stays as a root node. Needs a finite model: see :meth:`discrete_part`.
        """
        from mmreason.causal.interop import to_pgmpy

        return to_pgmpy(self._model)

    def discrete_part(self, *, samples: int = 200_000, seed: int = 0) -> SCM:
        """The finite SCM left when every real variable is summed out.

        A finite variable with real ancestors gets a CPD over its nearest finite
        ancestors on real-only paths, estimated from ``samples`` seeded simulations
        per configuration. Needs the summed-out real noise to be private to that block.
        """
        from mmreason.causal.interop import discrete_part

        return SCM(discrete_part(self, samples=samples, seed=seed), device=self.device)

    def to_gcm(self) -> Any:
        """A DoWhy gcm ``InvertibleStructuralCausalModel`` that evaluates these equations.

        Needs a real-valued model whose every mechanism has additive noise.
        """
        from mmreason.causal.continuous import to_gcm

        return to_gcm(self._model)

    def effect(
        self,
        treatment: str,
        outcome: str,
        *,
        data: pd.DataFrame,
        method: str = "linear_regression",
        treatment_value: Any = 1,
        control_value: Any = 0,
        refuters: Sequence[str] = ("placebo_treatment", "random_common_cause", "data_subset"),
        simulations: int = 20,
        seed: int = 0,
    ) -> EffectEstimate:
        """Average treatment effect of ``treatment`` on ``outcome`` from ``data`` (DoWhy CausalModel).

        Identify (back-door/front-door/IV on this graph), estimate with ``method``, refute.
        """
        from mmreason.causal.effects import estimate_effect

        return estimate_effect(
            self,
            treatment,
            outcome,
            data=data,
            method=method,
            treatment_value=treatment_value,
            control_value=control_value,
            refuters=tuple(refuters),
            simulations=simulations,
            seed=seed,
        )

    def probabilities_of_causation(
        self,
        *,
        cause: tuple[str, Any],
        effect: tuple[str, Any],
        cause_alternative: Any = None,
        effect_alternative: Any = None,
        observational: pd.DataFrame | None = None,
        experimental: pd.DataFrame | None = None,
        samples: int = 2000,
        seed: int = 0,
    ) -> CausationResult:
        """PN, PS and PNS of ``cause=(X, x)`` for ``effect=(Y, y)`` (Pearl 1999; Tian & Pearl 2000).

        Exact from the model when no data is given; Tian–Pearl bounds from
        ``observational`` (columns X, Y) and ``experimental`` (X set at random, Y) data otherwise.
        """
        from mmreason.causal.causation import probabilities_of_causation

        return probabilities_of_causation(
            self,
            cause=cause,
            effect=effect,
            cause_alternative=cause_alternative,
            effect_alternative=effect_alternative,
            observational=observational,
            experimental=experimental,
            samples=samples,
            seed=seed,
        )

    def parse_assignments(self, texts: Sequence[str], *, role: str = "evidence") -> dict[str, Any]:
        """Turn ``["S=1", "Season=winter", "Depth=12.5"]`` into typed values of each variable's domain.

        >>> scm = SCM.from_toml('''
        ... [variables.Season]
        ... domain = ["summer", "winter"]
        ... cpd = [0.5, 0.5]
        ... [variables.S]
        ... domain = [0, 1]
        ... cpd = [0.5, 0.5]
        ... [variables.Depth]
        ... type = "real"
        ... equation = "2.0"
        ... ''', device="cpu")
        >>> scm.parse_assignments(["Season=winter", "S=1", "Depth=12.5"])
        {'Season': 'winter', 'S': 1, 'Depth': 12.5}
        """
        out: dict[str, Any] = {}
        for text in texts:
            name, sep, value = (part.strip() for part in str(text).partition("="))
            if not sep or not name or not value:
                raise InvalidInputError(f"{role}: expected VARIABLE=VALUE, found {text!r}")
            variable = self._variable(name, role)
            if variable.domain is None:
                try:
                    out[name] = float(value)
                except ValueError:
                    raise InvalidInputError(f"{role}: {name!r} is real-valued, found {value!r}") from None
                continue
            matches = [v for v in variable.domain if str(v) == value]
            if not matches:
                raise InvalidInputError(
                    f"{role}[{name!r}] = {value!r} is not in the domain of {name!r}: {list(variable.domain)}"
                )
            out[name] = matches[0]
        return out

    # ------------------------------------------------------------ encoding (the public boundary)

    def _device(self, device: DeviceLike | None) -> torch.device:
        return self.device if device is None else resolve_device(device)

    def _target(self, name: str) -> None:
        """Refuse a target that is neither endogenous nor an exogenous variable of the file."""
        known = [*self.spec.variables]
        known += [noise for noise, exo in self.spec.exogenous.items() if exo.kind != "response"]
        if isinstance(name, str) and name in known:
            return
        where = "the model"
        if isinstance(name, str) and name in self.spec.exogenous:
            owner = self._model.noise_users[name][0]
            where += (
                f"; {name!r} is exogenous: the response noise behind the cpd of {owner!r}, whose value "
                f"depends on the coupling chosen for that cpd; ask about {owner!r}"
            )
        raise UnknownVariableError(str(name), known, where=where)

    def _variable(self, name: str, role: str) -> Variable:
        if not isinstance(name, str) or name not in self.spec.variables:
            where = "the model" if role in ("variable", "target") else f"the model ({role})"
            if isinstance(name, str) and name in self.spec.exogenous:
                where += f"; {name!r} is exogenous"
            raise UnknownVariableError(str(name), self.spec.variables, where=where)
        return self.spec.variables[name]

    def _encode_value(self, name: str, value: Any, role: str, device: torch.device) -> torch.Tensor:
        import torch

        variable = self._variable(name, role)
        if variable.domain is None:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise InvalidInputError(
                    f"{role}[{name!r}] must be a number ({name!r} is real-valued), found {value!r}"
                )
            if not math.isfinite(float(value)):
                raise InvalidInputError(f"{role}[{name!r}] must be finite, found {value!r}")
            return torch.tensor(float(value), dtype=torch.float64, device=device)
        code = _code_of(variable.domain, value)
        if code is None:
            raise InvalidInputError(
                f"{role}[{name!r}] = {value!r} is not in the domain of {name!r}: {list(variable.domain)}"
            )
        return torch.tensor(code, dtype=torch.long, device=device)

    def _encode_assignment(
        self, assignment: Mapping[str, Any] | None, role: str, device: torch.device
    ) -> dict[str, torch.Tensor]:

        if assignment is None:
            return {}
        if not isinstance(assignment, Mapping):
            raise InvalidInputError(
                f"{role} must be a mapping {{variable: value}}, found {type(assignment).__name__}"
            )
        return {name: self._encode_value(name, value, role, device) for name, value in assignment.items()}

    def _encode_rows(
        self,
        rows: pd.DataFrame | Sequence[Mapping[str, Any]],
        role: str,
        device: torch.device,
        soft_evidence: Mapping[str, Mapping[Any, float]] | None,
    ) -> EncodedEvidence:
        import pandas as pd
        import torch

        from mmreason.causal.discrete import EncodedEvidence

        frame = _as_frame(rows)
        encoded = EncodedEvidence(rows=len(frame))
        for column in frame.columns:
            variable = self._variable(column, role)
            series = frame[column]
            numeric = pd.api.types.is_float_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype)
            if variable.domain is None and numeric:
                values = series.to_numpy(dtype=np.float64, copy=True)
                missing = np.isnan(values)
            else:
                missing = series.isna().to_numpy(dtype=bool)
            mask = torch.from_numpy(~missing).to(device)
            if variable.domain is None:
                if (
                    variable.name not in self._model.additive_noise
                    or self._model.additive_noise[column] is None
                ):
                    raise InvalidInputError(
                        f"{role} on the real variable {column!r} needs an additive-noise equation "
                        f"'g(parents) + noise' with noise of its own; {column!r} has {variable.equation!r}"
                    )
                if not numeric:
                    try:
                        values = pd.to_numeric(series.where(~missing, np.nan), errors="raise").to_numpy(
                            dtype=np.float64, copy=True
                        )
                    except (ValueError, TypeError):
                        raise InvalidInputError(
                            f"{role}[{column!r}] must hold numbers ({column!r} is real-valued)"
                        ) from None
                if np.isinf(values).any():
                    raise InvalidInputError(f"{role}[{column!r}] must be finite")
                encoded.continuous[column] = (torch.from_numpy(values).to(device), mask)
                continue
            codes = _codes(series, variable.domain, missing)
            bad = ~missing & (codes < 0)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                where = "" if len(frame) == 1 else f" in row {row}"
                shown = series.iloc[row]
                shown = shown.item() if isinstance(shown, np.generic) else shown
                raise InvalidInputError(
                    f"{role}[{column!r}] = {shown!r}{where} is not in the domain of {column!r}: "
                    f"{list(variable.domain)}"
                )
            codes = np.where(missing, 0, codes).astype(np.int64)
            encoded.discrete[column] = (torch.as_tensor(codes, device=device), mask)
        for name, likelihoods in (soft_evidence or {}).items():
            variable = self._variable(name, "soft_evidence")
            if variable.domain is None:
                raise InvalidInputError(f"soft_evidence[{name!r}]: soft evidence needs a finite variable")
            if not isinstance(likelihoods, Mapping):
                raise InvalidInputError(f"soft_evidence[{name!r}] must map values to likelihoods")
            vector = np.zeros(len(variable.domain))
            for value, likelihood in likelihoods.items():
                code = _code_of(variable.domain, value)
                if code is None:
                    raise InvalidInputError(
                        f"soft_evidence[{name!r}] names {value!r}, "
                        f"not in the domain of {name!r}: {list(variable.domain)}"
                    )
                if (
                    isinstance(likelihood, bool)
                    or not isinstance(likelihood, (int, float))
                    or not 0 <= likelihood < math.inf
                ):
                    raise InvalidInputError(
                        f"soft_evidence[{name!r}][{value!r}] must be a finite non-negative number, "
                        f"found {likelihood!r}"
                    )
                vector[code] = float(likelihood)
            if not vector.any():
                raise InvalidInputError(f"soft_evidence[{name!r}] gives every value likelihood 0")
            encoded.soft[name] = torch.as_tensor(vector, dtype=torch.float64, device=device)
        return encoded

    def _encode_noise(self, noise: pd.DataFrame) -> dict[str, torch.Tensor]:
        import pandas as pd
        import torch

        if not isinstance(noise, pd.DataFrame):
            raise InvalidInputError(
                f"noise must be a DataFrame of exogenous columns, found {type(noise).__name__}"
            )
        missing = [name for name in self.exogenous if name not in noise.columns]
        if missing:
            raise InvalidInputError(f"noise lacks the exogenous column(s) {missing}")
        out: dict[str, torch.Tensor] = {}
        for name in self.exogenous:
            exo = self.spec.exogenous[name]
            series = noise[name]
            if exo.kind in ("bernoulli", "categorical"):
                lookup = {value: i for i, value in enumerate(exo.values)}
                codes = series.map(lambda v, lookup=lookup: _lookup(lookup, v))
                if codes.isna().any():
                    raise InvalidInputError(f"noise[{name!r}] holds values outside {list(exo.values)}")
                out[name] = torch.from_numpy(codes.to_numpy(dtype=np.int64, copy=True))
            else:
                values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
                if not np.isfinite(values).all():
                    raise InvalidInputError(f"noise[{name!r}] must hold finite numbers")
                if exo.kind == "response" and ((values < 0) | (values >= 1)).any():
                    raise InvalidInputError(
                        f"noise[{name!r}] is a Uniform(0, 1) response noise; values must lie in [0, 1)"
                    )
                out[name] = torch.from_numpy(values.copy())
        return out

    def _decode(self, name: str, tensor: torch.Tensor) -> Any:
        variable = self.spec.variables[name]
        if variable.domain is None:
            return tensor.cpu().numpy()
        return np.asarray(variable.domain, dtype=object if not variable.numeric else np.int64)[
            tensor.cpu().numpy()
        ]

    def _decode_exogenous(self, name: str, tensor: torch.Tensor) -> Any:
        exo = self.spec.exogenous[name]
        if exo.kind in ("bernoulli", "categorical"):
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in exo.values)
            return np.asarray(exo.values, dtype=None if numeric else object)[tensor.cpu().numpy()]
        return tensor.cpu().numpy()

    def _decode_row(self, encoded: EncodedEvidence, row: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, (codes, mask) in encoded.discrete.items():
            if bool(mask[row]):
                out[name] = self.spec.variables[name].domain[int(codes[row])]  # type: ignore[index]
        for name, (values, mask) in encoded.continuous.items():
            if bool(mask[row]):
                out[name] = float(values[row])
        return out

    # ------------------------------------------------------------ results

    def _infer(
        self,
        target: str,
        encoded: EncodedEvidence,
        do_enc: dict[str, torch.Tensor] | None,
        cf_do: dict[str, torch.Tensor] | None,
        samples: int,
        seed: int,
        device: torch.device,
        describe: Any,
    ) -> InferenceResult:

        from mmreason.causal.discrete import infer

        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise InvalidInputError(f"samples must be a positive integer, found {samples!r}")
        return infer(
            self._model,
            target,
            encoded,
            do=do_enc,
            counterfactual_do=cf_do,
            samples=samples,
            seed=seed,
            device=device,
            describe_row=describe,
        )

    def _single(self, target: str, result: InferenceResult, label: str) -> Distribution:
        batch = self._batch(target, result, label)
        batch.query = label
        return batch[0]

    def _batch(self, target: str, result: InferenceResult, label: str) -> DistributionBatch:
        if result.probabilities is not None:
            probabilities = result.probabilities.cpu().numpy()
            self._check_finite(target, label, probabilities)
            return DistributionBatch(
                target, domain=self.domain(target), probabilities=probabilities, query=label
            )
        assert result.samples is not None and result.weights is not None
        samples = result.samples.cpu().numpy()
        weights = result.weights.cpu().numpy()
        # A world of weight 0 (ruled out by the evidence) takes no part in the answer.
        self._check_finite(target, label, weights, np.where(weights > 0, samples, 0.0))
        return DistributionBatch(target, samples=samples, weights=weights, query=label)

    def _check_finite(self, target: str, label: str, *arrays: np.ndarray) -> None:
        """Never return nan or ±inf: the equations are checked world by world, this is the last guard."""
        for array in arrays:
            if not np.isfinite(array).all():
                raise ScmSpecError(
                    f"the answer to {label} is not finite (nan or ±inf); the model's numbers overflow "
                    "float64 here",
                    path=self.spec.path,
                    variable=target,
                )


def _codes(series: pd.Series, domain: tuple[Any, ...], missing: np.ndarray) -> np.ndarray:
    """Codes of ``series`` in ``domain`` (-1 where not found), vectorised with a slow path for odd types."""
    import pandas as pd

    if series.dtype == bool:
        return np.full(len(series), -1, dtype=np.int64)
    codes = pd.Index(list(domain), dtype=object).get_indexer(series.astype(object))
    unmatched = (codes < 0) & ~missing
    if unmatched.any():
        lookup = {value: i for i, value in enumerate(domain)}
        for row in np.flatnonzero(unmatched):
            found = _lookup(lookup, series.iloc[row])
            codes[row] = -1 if isinstance(found, float) else found
    return codes


def _lookup(lookup: dict[Any, int], value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return np.nan
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        return lookup.get(value, np.nan)
    except TypeError:
        return np.nan


def _code_of(domain: tuple[Any, ...], value: Any) -> int | None:
    code = _lookup(
        {v: i for i, v in enumerate(domain)}, value.item() if isinstance(value, np.generic) else value
    )
    return None if isinstance(code, float) else int(code)


def _as_frame(rows: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        return rows  # read by position only; no copy
    if isinstance(rows, Mapping):
        raise InvalidInputError(
            "evidence rows must be a DataFrame or a list of dicts; for one row use a list [row]"
        )
    if not isinstance(rows, Sequence) or not all(isinstance(r, Mapping) for r in rows):
        raise InvalidInputError("evidence rows must be a DataFrame or a list of {variable: value} dicts")
    if len(rows) == 1 and not rows[0]:
        return pd.DataFrame(index=range(1))
    return pd.DataFrame(list(rows))


def _describe(assignment: Mapping[str, Any], soft: Mapping[str, Any] | None = None) -> str:
    parts = [f"{k}={v!r}" for k, v in assignment.items()] + [f"soft({k})" for k in soft or {}]
    return "{" + ", ".join(parts) + "}"


def _label(
    target: str,
    evidence: Mapping[str, Any],
    do: Mapping[str, Any] | None,
    soft: Mapping[str, Any] | None,
    *,
    counterfactual: bool = False,
) -> str:
    def show(value: Any) -> str:
        # A measured number reads as six significant digits (12.499999999999886 as 12.5).
        return f"{value:.6g}" if isinstance(value, float) else str(value)

    interventions = ", ".join(f"{k}={show(v)}" for k, v in (do or {}).items())
    given = [f"{k}={show(v)}" if not (isinstance(v, str) and v == "·") else k for k, v in evidence.items()]
    given += [f"soft({k})" for k in soft or {}]
    if counterfactual:
        head = f"{target}_{{{interventions}}}"
    else:
        head = target
        if interventions:
            given.append(f"do({interventions})")
    return f"P({head}" + (f" | {', '.join(given)})" if given else ")")
