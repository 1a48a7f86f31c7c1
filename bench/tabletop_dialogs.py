"""CLEVR-Dialog-style dialogues on tabletop scenes (Kottur et al., NAACL 2019), with their answers.

Like CLEVR-Dialog, each dialogue opens with a caption that introduces one object
("There is a small red cube.") and asks 10 rounds, most about "it": its
attributes ("What is its colour?", "What about its shape?"), things related to it
("How many things are to its left?", "Is there anything behind it?"), things
that share an attribute with it ("How many other things share its colour?"),
and a move to another object ("What is the colour of the object to its
left?"; "it" is then that object). A few rounds depend on nothing ("How many
cylinders are there?"). Each round records the round whose referent it
depends on, so accuracy can be split by coreference distance.

Answers are computed here from the scene record with this module's own lookups,
never with mmreason's parser, executor or dialogue state.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from bench.tabletop_questions import ATTRIBUTES, SYNONYMS, VALUES

ROUNDS = 10
SIDES = {"left": "to its left", "right": "to its right", "front": "in front of it", "behind": "behind it"}


def _word(rng: random.Random, value: str) -> str:
    return rng.choice(SYNONYMS.get(value, (value,)))


def _attribute_word(rng: random.Random, attribute: str) -> str:
    return _word(rng, attribute) if attribute == "color" else attribute


def _phrase(rng: random.Random, filters: Mapping[str, str]) -> str:
    words = [_word(rng, filters[a]) for a in ("size", "color", "material") if a in filters]
    return " ".join([*words, _word(rng, filters.get("shape", "thing"))])


def _unique(
    objects: list[Mapping[str, Any]], target: int, pool: list[int], rng: random.Random
) -> dict[str, str] | None:
    subsets: list[tuple[str, ...]] = [()]
    for attribute in ATTRIBUTES:
        subsets += [(*s, attribute) for s in subsets]
    rng.shuffle(subsets)
    subsets.sort(key=len)
    for subset in subsets:
        filters = {a: objects[target][a] for a in subset}
        if [i for i in pool if all(objects[i][a] == v for a, v in filters.items())] == [target]:
            return filters
    return None


def generate_dialog(record: Mapping[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """One dialogue on a CLEVR scene record: a caption and ``ROUNDS`` rounds with answers."""
    objects = record["objects"]
    rel = record["relationships"]
    everything = list(range(len(objects)))
    it = rng.choice(everything)
    filters = _unique(objects, it, everything, rng)
    if filters is None:
        return None
    caption = f"There is a {_phrase(rng, filters)}."
    rounds: list[dict[str, Any]] = []
    introduced = 0  # the round (0: the caption) whose referent "it" is
    asked: list[str] = []
    while len(rounds) < ROUNDS:
        kind = rng.choice(
            ("seek", "seek", "count_rel", "exist_rel", "count_share", "exist_share", "count_attr", "move")
        )
        index = len(rounds) + 1
        if kind == "seek":
            remaining = [a for a in ATTRIBUTES if a not in asked] or list(ATTRIBUTES)
            attribute = rng.choice(remaining)
            asked.append(attribute)
            word = _attribute_word(rng, attribute)
            forms = [f"What is its {word}?", f"What {word} is it?"]
            if len(rounds) and rounds[-1]["type"] == "seek":
                forms = [f"What about its {word}?", f"And its {word}?"]
            if attribute == "material":
                forms.append("What is it made of?")
            if attribute == "size":
                forms.append("How big is it?")
            rounds.append(_round(rng.choice(forms), objects[it][attribute], "seek", introduced))
        elif kind in ("count_rel", "exist_rel"):
            side = rng.choice(tuple(SIDES))
            related = rel[side][it]
            if kind == "count_rel":
                noun = _word(rng, "thing") + "s"
                rounds.append(
                    _round(f"How many {noun} are {SIDES[side]}?", str(len(related)), kind, introduced)
                )
            else:
                rounds.append(_round(f"Is there anything {SIDES[side]}?", _yes(related), kind, introduced))
        elif kind in ("count_share", "exist_share"):
            attribute = rng.choice(("color", "material", "size", "shape"))
            others = [j for j in everything if j != it and objects[j][attribute] == objects[it][attribute]]
            word = _attribute_word(rng, attribute)
            if kind == "count_share":
                text = f"How many other {_word(rng, 'thing')}s share its {word}?"
                rounds.append(_round(text, str(len(others)), kind, introduced))
            else:
                text = f"Are there other {_word(rng, 'thing')}s that share its {word}?"
                rounds.append(_round(text, _yes(others), kind, introduced))
        elif kind == "count_attr":
            attribute = rng.choice(ATTRIBUTES)
            value = rng.choice(VALUES[attribute])
            count = sum(o[attribute] == value for o in objects)
            rounds.append(
                _round(f"How many {_phrase(rng, {attribute: value})}s are there?", str(count), kind, None)
            )
        else:  # move: "What is the colour of the object to its left?"; "it" is then that object
            side = rng.choice(tuple(SIDES))
            related = rel[side][it]
            if len(related) != 1:
                continue
            attribute = rng.choice(ATTRIBUTES)
            word = _attribute_word(rng, attribute)
            text = f"What is the {word} of the {_word(rng, 'thing')} {SIDES[side]}?"
            rounds.append(_round(text, objects[related[0]][attribute], kind, introduced))
            it, introduced, asked = related[0], index, [attribute]
    return {
        "image_index": record["image_index"],
        "image_filename": record["image_filename"],
        "caption": caption,
        "dialog": rounds,
    }


def _yes(found: Any) -> str:
    return "yes" if found else "no"


def _round(question: str, answer: str, kind: str, depends_on: int | None) -> dict[str, Any]:
    return {"question": question, "answer": answer, "type": kind, "depends_on": depends_on}


def truth_scene(record: Mapping[str, Any], image_id: str = "truth") -> Any:
    """The scene record as a grounded scene graph with certainty: the true-scene-graph ceiling."""
    from types import MappingProxyType

    import numpy as np

    from mmreason.vision.grounding import Attribute, GroundedObject, SceneGraph
    from mmreason.vision.vocabulary import TYPE, Vocabulary
    from mmreason.worlds.tabletop import TT_IRI

    vocabulary = Vocabulary.from_world("tabletop")
    right = np.array(record["directions"]["right"][:2], dtype=float)
    behind = np.array(record["directions"]["behind"][:2], dtype=float)
    objects = []
    counts: dict[str, int] = {}
    for obj in record["objects"]:
        kind = vocabulary.concept(TYPE, obj["shape"])
        number = counts.get(kind.name, 0)
        counts[kind.name] = number + 1
        attributes = {
            TT_IRI + prop: Attribute.of(vocabulary.concept(TT_IRI + prop, obj[key]), 1.0)
            for key, prop in (("color", "colour"), ("material", "material"), ("size", "size"))
        }
        ground = np.array(obj["3d_coords"][:2], dtype=float)
        objects.append(
            GroundedObject(
                id=f"{kind.name.lower()}-{number}",
                type=Attribute.of(kind, 1.0),
                bbox=tuple(obj["bbox"]),
                source="truth",
                attributes=MappingProxyType(attributes),
                measures=MappingProxyType(
                    {TT_IRI + "across": float(ground @ right), TT_IRI + "depth": float(ground @ behind)}
                ),
            )
        )
    return SceneGraph(
        image_id, (320, 240), MappingProxyType({}), tuple(objects), proposer="truth", model="truth"
    )
