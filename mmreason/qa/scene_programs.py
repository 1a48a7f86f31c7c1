"""CLEVR programs answered on a grounded picture, with a confidence that includes perception.

A grounded :class:`~mmreason.vision.grounding.SceneGraph` becomes a
:class:`~mmreason.qa.clevr.TableScene` through the world's ``[questions]``
table: each attribute name reads the object's class (``"a"``) or a grounded
property, and each relation compares a measured property of two objects
(``less``/``more`` by more than the schema's threshold: the margin, or 0 where
the world keeps things further apart than that). The answer is the program run on
the most probable reading of every object; its confidence is the share of
scenes drawn from the grounded distributions (each object's attributes, by
their readers' probabilities; each measure moved by the world's ``spread``,
so a relation between two things read close together is uncertain) on which
the program gives the same answer, times the picture's reliability. A question
whose program cannot run on the picture (a "the X" where two or none were
found) gets no answer, and says why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from mmreason.answer import Answer, Step
from mmreason.qa.clevr import ProgramError, TableScene, execute, family_of, node_function, run_nodes

if TYPE_CHECKING:
    from mmreason.vision.grounding import SceneGraph
    from mmreason.worlds import World

__all__ = ["answer_program", "describe_program", "table_scene"]

#: How many scenes are drawn from the grounded distributions to measure an answer's confidence.
SAMPLES = 64


def table_scene(scene: SceneGraph, world: World) -> TableScene:
    """The scene's most probable reading, as programs see it (see the module)."""
    return _tables(scene, world, samples=0, seed=0)[0]


def _attribute_tables(scene: SceneGraph, world: World) -> list[dict[str, list[tuple[str, float]]]]:
    """Per object, per attribute name: (value label, probability) pairs, most probable first."""
    from mmreason.vision.vocabulary import Vocabulary
    from mmreason.worlds import CLASS_ATTRIBUTE

    assert world.questions is not None
    vocabulary = Vocabulary.from_world(world)
    tables = []
    for obj in scene.objects:
        table: dict[str, list[tuple[str, float]]] = {}
        for name, prop in world.questions.attributes.items():
            attribute = obj.type if prop == CLASS_ATTRIBUTE else obj.attribute(prop)
            if attribute is None:
                table[name] = [("", 1.0)]
                continue
            pairs = [(attribute.value, 1.0)]
            if attribute.distribution:
                pairs = sorted(
                    ((vocabulary.label(iri), p) for iri, p in attribute.distribution.items()),
                    key=lambda pair: -pair[1],
                )
                pairs[0] = (attribute.value, pairs[0][1]) if pairs[0][0] == attribute.value else pairs[0]
            table[name] = pairs
        tables.append(table)
    return tables


def _relationships(
    scene: SceneGraph, world: World, rng: np.random.Generator | None = None
) -> dict[str, tuple[tuple[int, ...], ...]]:
    """Which objects stand in each relation to each; with ``rng``, on measures perturbed by
    the world's ``spread`` (one draw per object and measure, shared by the relations using it)."""
    assert world.questions is not None
    margin = world.questions.threshold
    spread = world.questions.spread
    drawn: dict[str, list[float]] = {}
    out = {}
    for name, rule in world.questions.relations.items():
        read = [obj.measure(rule.measure) for obj in scene.objects]
        if any(m is None for m in read):
            continue
        measures = [float(m) for m in read]  # type: ignore[arg-type]
        if rng is not None and spread.get(rule.measure):
            if rule.measure not in drawn:
                noise = rng.normal(0.0, spread[rule.measure], len(measures))
                drawn[rule.measure] = [m + e for m, e in zip(measures, noise, strict=True)]
            measures = drawn[rule.measure]
        rows = []
        for i, mine in enumerate(measures):
            rows.append(
                tuple(
                    j for j, theirs in enumerate(measures) if j != i and rule.sign * (theirs - mine) > margin
                )
            )
        out[name] = tuple(rows)
    return out


def _tables(scene: SceneGraph, world: World, *, samples: int, seed: int) -> list[TableScene]:
    tables = _attribute_tables(scene, world)
    relationships = MappingProxyType(_relationships(scene, world))
    best = tuple(MappingProxyType({a: pairs[0][0] for a, pairs in t.items()}) for t in tables)
    out = [TableScene(best, relationships, scene.image_id)]
    rng = np.random.default_rng(seed)
    for _ in range(samples):
        drawn = []
        for table in tables:
            row = {}
            for name, pairs in table.items():
                p = np.array([max(q, 0.0) for _, q in pairs], dtype=float)
                p = p / p.sum() if p.sum() > 0 else np.full(len(pairs), 1.0 / len(pairs))
                row[name] = pairs[int(rng.choice(len(pairs), p=p))][0]
            drawn.append(MappingProxyType(row))
        if world.questions is not None and world.questions.spread:
            perturbed = MappingProxyType(_relationships(scene, world, rng))
            out.append(TableScene(tuple(drawn), perturbed, scene.image_id))
        else:
            out.append(TableScene(tuple(drawn), relationships, scene.image_id))
    return out


def describe_program(program: Sequence[Mapping[str, Any]]) -> str:
    """A program on one line: ``scene → filter_color[red] → unique → query_shape``."""
    parts = []
    for node in program:
        side = node.get("side_inputs", node.get("value_inputs", []))
        inputs = node.get("inputs", [])
        text = node_function(node) + (f"[{', '.join(map(str, side))}]" if side else "")
        if len(inputs) > 1:
            text += f"({', '.join(str(i) for i in inputs)})"
        parts.append(text)
    return " → ".join(parts)


def _value(text: str) -> Any:
    if text in ("yes", "no"):
        return text == "yes"
    return int(text) if text.isdigit() else text


def _unique_ids(
    program: Sequence[Mapping[str, Any]], scene: TableScene, ids: Sequence[str]
) -> tuple[str, ...]:
    """The id of the object the program's last ``unique`` picks (what "it" means in the next turn)."""
    last = max((i for i, n in enumerate(program) if node_function(n) == "unique"), default=None)
    if last is None:
        return ()
    chosen = run_nodes(program[: last + 1], scene)[-1]
    return (ids[chosen],) if isinstance(chosen, int) and 0 <= chosen < len(ids) else ()


def answer_program(
    question: str,
    program: Sequence[Mapping[str, Any]],
    scene: SceneGraph,
    world: World,
    *,
    samples: int = SAMPLES,
    seed: int = 0,
    steps: Sequence[Step] = (),
) -> Answer:
    """Run ``program`` on the grounded ``scene``; the Answer carries the program and the scene read."""
    scenes = _tables(scene, world, samples=samples, seed=seed)
    family = family_of(program)
    parse = Step("parse", f"CLEVR program: {describe_program(program)}", 1.0)
    listed = "; ".join(
        f"{obj.id}: " + " ".join(v for v in scenes[0].objects[i].values() if v)
        for i, obj in enumerate(scene.objects)
    )
    read = Step(
        "scene",
        f"{len(scene.objects)} objects read: {listed}" if scene.objects else "no objects read",
        float(scene.reliability),
    )
    try:
        best = execute(program, scenes[0])
    except ProgramError as exc:
        text = f"cannot tell from this picture: {exc}"
        return Answer(question, None, 0.0, (*steps, parse, read), text=text, family=family)
    agree = 1
    for drawn in scenes[1:]:
        with contextlib.suppress(ProgramError):
            agree += execute(program, drawn) == best
    confidence = agree / len(scenes) * float(scene.reliability)
    about = _unique_ids(program, scenes[0], [o.id for o in scene.objects])
    run = Step(
        "program",
        f"answer {best!r} on the most probable reading; {agree} of {len(scenes)} readings agree",
        confidence,
    )
    return Answer(
        question, _value(best), confidence, (*steps, parse, read, run), text=best, family=family, about=about
    )
