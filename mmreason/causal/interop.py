"""pgmpy interop: the SCM as a Bayesian network, its twin network, and its finite part.

- :func:`to_pgmpy`: a ``DiscreteBayesianNetwork`` with the SCM's observational distribution.
- :func:`twin_network`: Balke & Pearl's twin network (1994) for one intervention, as a
  ``DiscreteBayesianNetwork`` in which the factual and counterfactual copies share the
  exogenous nodes; variable elimination on it answers the same counterfactual as
  :meth:`~mmreason.causal.scm.SCM.counterfactual`.
- :func:`discrete_part`: the finite SCM left when the real-valued variables are summed out.
- :func:`spec_from_pgmpy`: a pgmpy ``DiscreteBayesianNetwork`` read as an SCM (each CPD
  driven by its response noise, as in an SCM file).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import product
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from mmreason.causal.model import CompiledModel
from mmreason.causal.spec import Exogenous, ScmSpec, Variable, response_noise_name
from mmreason.errors import InvalidInputError

if TYPE_CHECKING:
    from pgmpy.models import DiscreteBayesianNetwork

    from mmreason.causal.scm import SCM

__all__ = ["COUNTERFACTUAL_SUFFIX", "discrete_part", "spec_from_pgmpy", "to_pgmpy", "twin_network"]

COUNTERFACTUAL_SUFFIX = "*"
_CPU = torch.device("cpu")


def _require_finite(model: CompiledModel) -> None:
    real = [name for name, v in model.variables.items() if not v.discrete]
    if real:
        raise InvalidInputError(
            f"a pgmpy network needs finite variables; {real} are real-valued: use SCM.discrete_part() first"
        )


def _deterministic_table(model: CompiledModel, name: str, inputs: list[str], cards: list[int]) -> np.ndarray:
    """One-hot table ``[|domain|, prod(cards)]`` of ``name`` over its inputs (last fastest)."""
    grids = np.meshgrid(*[np.arange(c) for c in cards], indexing="ij") if cards else []
    values: dict[str, torch.Tensor] = {}
    for input_name, grid in zip(inputs, grids, strict=True):
        codes = torch.as_tensor(grid.reshape(-1))
        exo = model.exogenous.get(input_name)
        if exo is not None and exo.kind == "response":
            values[input_name] = torch.as_tensor(exo.values, dtype=torch.float64)[codes]
        else:
            values[input_name] = codes
    out = model.mechanism(name, values, _CPU)
    size = int(np.prod(cards)) if cards else 1
    out = out.expand(size).numpy()
    k = len(model.variables[name].domain or ())
    table = np.zeros((k, size))
    table[out, np.arange(size)] = 1.0
    return table


def _exogenous_states(exo: Exogenous) -> list[Any]:
    # Response noise is enumerated by its cells; the states are the cell indices.
    return list(range(len(exo.values))) if exo.kind == "response" else list(exo.values)


def to_pgmpy(model: CompiledModel) -> DiscreteBayesianNetwork:
    """The SCM as a pgmpy ``DiscreteBayesianNetwork`` (see the module docstring)."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    _require_finite(model)
    shared = {name for name, users in model.noise_users.items() if len(users) > 1}
    for name in shared:
        if not model.exogenous[name].enumerable:
            raise InvalidInputError(f"the shared noise {name!r} is real-valued; pgmpy needs finite nodes")
    network = DiscreteBayesianNetwork()
    network.add_nodes_from(list(model.variables) + sorted(shared))
    cpds = []
    for name in sorted(shared):
        exo = model.exogenous[name]
        cpds.append(
            TabularCPD(
                name,
                len(exo.values),
                np.asarray(exo.probs).reshape(-1, 1),
                state_names={name: _exogenous_states(exo)},
            )
        )
    for name, variable in model.variables.items():
        assert variable.domain is not None
        states = {name: list(variable.domain)}
        if variable.mechanism == "cpd":
            assert variable.cpd is not None
            parents = list(variable.parents)
            for parent in parents:
                states[parent] = list(model.variables[parent].domain or ())
            network.add_edges_from((p, name) for p in parents)
            cpds.append(
                TabularCPD(
                    name,
                    len(variable.domain),
                    variable.cpd.T,
                    evidence=parents or None,
                    evidence_card=[len(states[p]) for p in parents] or None,
                    state_names=states,
                )
            )
            continue
        private = [n for n in variable.noise if n not in shared]
        for noise in private:
            if not model.exogenous[noise].enumerable:
                raise InvalidInputError(
                    f"{name!r} has the real-valued noise {noise!r}; pgmpy needs finite nodes"
                )
        parents = list(variable.parents) + [n for n in variable.noise if n in shared]
        cards = [
            len(model.variables[p].domain or ()) if p in model.variables else len(model.exogenous[p].values)
            for p in parents
        ]
        private_cards = [len(model.exogenous[n].values) for n in private]
        table = _deterministic_table(model, name, parents + private, cards + private_cards)
        # Sum the private noise out: weight each noise value by its prior.
        table = table.reshape(len(variable.domain), int(np.prod(cards)) if cards else 1, -1)
        weights = np.ones(1)
        for noise in private:
            weights = np.multiply.outer(weights, np.asarray(model.exogenous[noise].probs)).reshape(-1)
        table = table @ weights
        for parent in parents:
            states[parent] = (
                list(model.variables[parent].domain or ())
                if parent in model.variables
                else _exogenous_states(model.exogenous[parent])
            )
        network.add_edges_from((p, name) for p in parents)
        cpds.append(
            TabularCPD(
                name,
                len(variable.domain),
                table,
                evidence=parents or None,
                evidence_card=cards or None,
                state_names=states,
            )
        )
    network.add_cpds(*cpds)
    network.check_model()
    return network


def spec_from_pgmpy(network: Any, *, name: str = "pgmpy") -> ScmSpec:
    """An :class:`ScmSpec` with the variables, state names and CPDs of a pgmpy network."""
    import networkx as nx

    from mmreason.causal.spec import _response_exogenous
    from mmreason.errors import ScmSpecError

    if not hasattr(network, "get_cpds") or not hasattr(network, "nodes"):
        raise InvalidInputError(f"expected a pgmpy DiscreteBayesianNetwork, found {type(network).__name__}")
    variables: dict[str, Variable] = {}
    exogenous: dict[str, Exogenous] = {}
    order = (
        list(nx.lexicographical_topological_sort(nx.DiGraph(list(network.edges()))))
        if network.edges()
        else []
    )
    order += [n for n in network.nodes() if n not in order]
    for node in order:
        cpd = network.get_cpds(node)
        if cpd is None:
            raise ScmSpecError("has no CPD in the pgmpy network", variable=str(node))
        states = cpd.state_names
        domain = tuple(states[node])
        if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in domain):
            raise ScmSpecError(
                f"state names must be strings or integers, found {list(domain)}", variable=str(node)
            )
        parents = tuple(cpd.variables[1:])
        for parent in parents:
            if tuple(states[parent]) != variables[parent].domain:
                raise ScmSpecError(
                    f"the cpd orders the states of {parent!r} as {states[parent]}, "
                    f"its own cpd as {list(variables[parent].domain or ())}",
                    variable=str(node),
                )
        table = np.asarray(cpd.get_values(), dtype=np.float64).T  # [parent configurations, |domain|]
        sums = table.sum(axis=1)
        if not np.allclose(sums, 1.0, atol=1e-6):
            raise ScmSpecError(
                f"cpd column {int(np.argmax(np.abs(sums - 1)))} sums to {sums.max():.6g}", variable=node
            )
        noise = response_noise_name(str(node))
        table = table / sums[:, None]  # columns within 1e-6 of 1, made exact
        variables[str(node)] = Variable(
            name=str(node), domain=domain, parents=parents, noise=(noise,), mechanism="cpd", cpd=table
        )
        exogenous[noise] = _response_exogenous(noise, table)
    return ScmSpec(
        name=name,
        description="read from a pgmpy network",
        variables=variables,
        exogenous=exogenous,
        constants={},
    )


def twin_network(model: CompiledModel, do: Mapping[str, Any]) -> DiscreteBayesianNetwork:
    """The twin network for ``do``: counterfactual copies ``X*`` of the intervened variables' descendants.

    Every exogenous variable (including the response noise of each CPD, by its cells) is a
    node shared by both copies; variables that ``do`` cannot reach are not copied
    (they are equal in both worlds). Query ``"Y*"`` given factual evidence.
    """
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    _require_finite(model)
    for name, value in do.items():
        domain = model.variables[name].domain or ()
        if value not in domain:
            raise InvalidInputError(f"do[{name!r}] = {value!r} is not in {list(domain)}")
    copied = set(do) | model.descendants(list(do))
    network = DiscreteBayesianNetwork()
    cpds = []
    for exo in model.exogenous.values():
        if not exo.enumerable:
            raise InvalidInputError(
                f"the noise {exo.name!r} is real-valued; a pgmpy twin network needs finite noise"
            )
        network.add_node(exo.name)
        cpds.append(
            TabularCPD(
                exo.name,
                len(exo.values),
                np.asarray(exo.probs).reshape(-1, 1),
                state_names={exo.name: list(range(len(exo.values)))},
            )
        )

    def card(node: str) -> int:
        return (
            len(model.variables[node].domain or ())
            if node in model.variables
            else len(model.exogenous[node].values)
        )

    def states(node: str) -> list[Any]:
        return (
            list(model.variables[node].domain or ()) if node in model.variables else list(range(card(node)))
        )

    for world in ("factual", "counterfactual"):
        for name, variable in model.variables.items():
            if world == "counterfactual" and name not in copied:
                continue
            node = name if world == "factual" else name + COUNTERFACTUAL_SUFFIX
            network.add_node(node)
            if world == "counterfactual" and name in do:
                column = np.zeros((card(name), 1))
                column[list(variable.domain or ()).index(do[name]), 0] = 1.0
                cpds.append(TabularCPD(node, card(name), column, state_names={node: states(name)}))
                continue
            inputs = list(variable.parents) + list(variable.noise)
            cards = [card(i) for i in inputs]
            table = _deterministic_table(model, name, inputs, cards)
            evidence = [
                i + COUNTERFACTUAL_SUFFIX if world == "counterfactual" and i in copied else i for i in inputs
            ]
            network.add_edges_from((e, node) for e in evidence)
            names = {node: states(name)}
            names.update({e: states(i) for e, i in zip(evidence, inputs, strict=True)})
            cpds.append(
                TabularCPD(
                    node,
                    card(name),
                    table,
                    evidence=evidence or None,
                    evidence_card=cards or None,
                    state_names=names,
                )
            )
    network.add_cpds(*cpds)
    network.check_model()
    return network


def discrete_part(scm: SCM, *, samples: int, seed: int) -> ScmSpec:
    """The finite SCM left when every real-valued variable is summed out (see :meth:`SCM.discrete_part`)."""
    model = scm._model
    spec = scm.spec
    real = {name for name, v in spec.variables.items() if not v.discrete}
    if not real:
        return spec
    variables: dict[str, Variable] = {}
    exogenous = {name: exo for name, exo in spec.exogenous.items() if exo.kind != "response"}
    generator_seed = int(seed)
    for name, variable in spec.variables.items():
        if name in real:
            continue
        if not any(p in real for p in variable.parents):
            variables[name] = variable
            continue
        # The finite ancestors reached through real-valued variables only.
        boundary: list[str] = []
        block: set[str] = set()
        stack = [p for p in variable.parents if p in real]
        for p in variable.parents:
            if p not in real and p not in boundary:
                boundary.append(p)
        while stack:
            node = stack.pop()
            if node in block:
                continue
            block.add(node)
            for parent in spec.variables[node].parents:
                if parent in real:
                    stack.append(parent)
                elif parent not in boundary:
                    boundary.append(parent)
        block_noise = {n for b in block for n in spec.variables[b].noise}
        for noise in block_noise:
            outside = [u for u in model.noise_users[noise] if u not in block]
            if outside:
                raise InvalidInputError(
                    f"cannot sum out {sorted(block)}: their noise {noise!r} is shared with {outside}"
                )
        for b in block:
            others = [c for c in model.children[b] if c not in block and c != name]
            if others:
                raise InvalidInputError(f"cannot sum out {b!r}: it also causes {others}, not only {name!r}")
        boundary = [b for b in spec.variables if b in boundary]  # topological order
        domains = [spec.variables[b].domain or () for b in boundary]
        columns = []
        for config in product(*domains):
            # Simulate the real-valued block with the boundary held fixed (seeded, same draws per column).
            frame = scm.sample(samples, seed=generator_seed, do=dict(zip(boundary, config, strict=True)))
            counts = frame[name].value_counts(normalize=True)
            columns.append([float(counts.get(v, 0.0)) for v in variable.domain or ()])
        cpd = np.asarray(columns)
        variables[name] = Variable(
            name=name,
            domain=variable.domain,
            parents=tuple(boundary),
            noise=(response_noise_name(name),),
            mechanism="cpd",
            cpd=cpd,
            unit=variable.unit,
            description=variable.description
            + f" (real-valued {sorted(block)} summed out, {samples} samples)",
        )
    from mmreason.causal.spec import _response_exogenous

    used = {n for v in variables.values() for n in v.noise}
    exogenous = {name: exo for name, exo in exogenous.items() if name in used}
    for name, variable in variables.items():
        if variable.mechanism == "cpd":
            assert variable.cpd is not None
            exogenous[response_noise_name(name)] = _response_exogenous(
                response_noise_name(name), variable.cpd
            )
    return ScmSpec(
        name=f"{spec.name}-discrete",
        description=f"finite part of {spec.name}",
        variables=variables,
        exogenous=exogenous,
        constants=spec.constants,
        path=spec.path,
    )
