"""Generic code names no world: the crossing's vocabulary appears nowhere in the engine's generic modules.

A world is data (its ontology, SCM, bindings, labels, model) plus at most one module of its own;
the reasoner, the question layer, grounding, the vocabulary and the causal engine read everything
by the IRIs a world's files name.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from mmreason.worlds import resolve_world
from mmreason.worlds.crossing import MR

PACKAGE = Path(__file__).resolve().parents[1] / "mmreason"
GENERIC = sorted(
    [
        PACKAGE / "reasoner.py",
        PACKAGE / "dialogue.py",
        PACKAGE / "vision" / "grounding.py",
        PACKAGE / "vision" / "vocabulary.py",
        *(PACKAGE / "qa").glob("*.py"),
        *(PACKAGE / "causal").glob("*.py"),
    ]
)


def _crossing_vocabulary() -> tuple[set[str], set[str]]:
    """The crossing's distinctive local names (``Vehicle``, ``onCrosswalk``: capitalised or compound),
    and the labels of its classes ("traffic light", "pedestrian")."""
    from rdflib import RDFS

    graph = Graph()
    for path in resolve_world("crossing").ontology:
        graph.parse(path)
    names = {str(t)[len(str(MR)) :] for triple in graph for t in triple if isinstance(t, URIRef)}
    # A lower-case single word ("red", "stop", "speed") is also plain English and a code word; it is
    # caught as a prefixed name or an IRI, never alone.
    distinctive = {n for n in names if n and (n[0].isupper() or re.search(r"[a-z][A-Z]", n))}
    # Pearl's second step of a counterfactual is called "Action" in any world.
    distinctive -= {"Action"}
    # The things of the world: its object classes (not "colour" or "action", which are plain words).
    things = set(graph.transitive_subjects(RDFS.subClassOf, MR.SceneObject))
    labels = {str(graph.value(c, RDFS.label)) for c in things}
    return distinctive, {label for label in labels if label != "None"}


def _tabletop_vocabulary() -> tuple[set[str], set[str]]:
    """The tabletop's distinctive local names (``Cube``, ``leftOf``) and the labels and synonyms of
    its object classes and attribute values that are not plain words of questions ("cube", "ball",
    "metal"); "red", "small", "thing" are caught only as prefixed names or IRIs."""
    from rdflib import RDFS, SKOS

    from mmreason.worlds.tabletop import TT_IRI

    graph = Graph()
    for path in resolve_world("tabletop").ontology:
        graph.parse(path)
    names = {
        str(t)[len(TT_IRI) :]
        for triple in graph
        for t in triple
        if isinstance(t, URIRef) and str(t).startswith(TT_IRI)
    }
    distinctive = {n for n in names if n and (n[0].isupper() or re.search(r"[a-z][A-Z]", n))}
    # The engine's own mm:leftOf shares its local name; "block" is also a plain word of code.
    distinctive -= {"Thing", "Colour", "Size", "leftOf"}
    thing = URIRef(TT_IRI + "Thing")
    leaves = set(graph.transitive_subjects(RDFS.subClassOf, thing)) - {thing}
    materials = set(graph.subjects(None, URIRef(TT_IRI + "Material"))) - {URIRef(TT_IRI + "material")}
    labels = {
        str(o) for c in leaves | materials for p in (RDFS.label, SKOS.altLabel) for o in graph.objects(c, p)
    }
    return distinctive, labels - {"block"}


_CROSSING = _crossing_vocabulary()
_TABLETOP = _tabletop_vocabulary()
NAMES, LABELS = _CROSSING[0] | _TABLETOP[0], _CROSSING[1] | _TABLETOP[1]


def _words(path: Path) -> list[tuple[int, str, bool]]:
    """(line, word, in text) of every word of the code's names, strings (docstrings too) and comments;
    an attribute of another object (``cache.clear()``) is that object's, not a concept."""
    found = []
    tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text()).readline))
    texts = (tokenize.STRING, tokenize.COMMENT, getattr(tokenize, "FSTRING_MIDDLE", -1))
    for previous, token in zip([None, *tokens], tokens, strict=False):
        if token.type == tokenize.NAME and not (previous and previous.string == "."):
            found.append((token.start[0], token.string, False))
        elif token.type in texts:
            lines = token.string.splitlines() or [""]
            for offset, line in enumerate(lines):
                words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", line)
                found += [(token.start[0] + offset, w, True) for w in words]
                found += [(token.start[0] + offset, line.lower(), True)]
    return found


@pytest.mark.parametrize("path", GENERIC, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_generic_modules_name_no_worlds_concept(path):
    text = path.read_text()
    named = re.search(r"\bmr:|\bMR\b|crossing|\btt:|\bTT_IRI\b|tabletop", text)
    assert not named, f"{path.name} names a bundled world: {named.group(0)!r}"
    hits = []
    for line, word, in_text in _words(path):
        if not in_text or " " not in word:
            if word in NAMES:
                hits.append(f"{path.name}:{line}: {word}")
            continue
        hits += [f"{path.name}:{line}: {label!r}" for label in LABELS if re.search(rf"\b{label}s?\b", word)]
    assert not hits, "a world's concepts in generic code:\n" + "\n".join(hits)


def test_the_scan_knows_the_crossings_names():
    assert {"Vehicle", "TrafficLight", "onCrosswalk", "brakeLights", "redLight"} <= NAMES
    assert {"car", "traffic light", "pedestrian", "crosswalk", "vehicle"} <= LABELS


def test_the_scan_knows_the_tabletops_names():
    assert {"Cube", "Sphere", "rightOf", "inFrontOf"} <= NAMES
    assert {"cube", "sphere", "ball", "cylinder", "metal", "shiny", "rubber", "matte"} <= LABELS
