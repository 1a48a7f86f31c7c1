"""World manifests: what a world folder holds, read by the IRIs of its own ontology; refusals name
the file, the line and the key."""

from __future__ import annotations

import textwrap

import pytest

from mmreason.errors import WorldError
from mmreason.worlds import World, bundled_world_dir, bundled_worlds, expand_name, resolve_world

ONTOLOGY = """\
@prefix g: <http://example.org/garden#> .
@prefix mm: <http://mmreason.org/ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .

g:Thing a rdfs:Class ; rdfs:label "thing" .
g:Plant a rdfs:Class ; rdfs:subClassOf g:Thing ; rdfs:label "plant" .
g:Tomato a rdfs:Class ; rdfs:subClassOf g:Plant ; rdfs:label "tomato" .
g:Lawn a rdfs:Class ; rdfs:subClassOf g:Thing ; rdfs:label "lawn" .
g:Colour a rdfs:Class ; rdfs:label "colour" .
g:red a g:Colour ; rdfs:label "red" .
g:green a g:Colour ; rdfs:label "green" .
g:colour a rdf:Property ; rdfs:label "colour" ; rdfs:domain g:Plant ; rdfs:range g:Colour .
g:Season a rdfs:Class ; rdfs:label "season" .
g:winter a g:Season ; rdfs:label "winter" .
g:season a rdf:Property ; rdfs:label "season" ; rdfs:domain mm:Scene ; rdfs:range g:Season .
g:height a rdf:Property ; rdfs:label "height" ; rdfs:range g:Nothing .
"""

MANIFEST = """\
name = "garden"
ontology = ["garden.ttl"]

[vision]
objects = "g:Thing"
background = ["g:Lawn"]
object_attributes = ["g:colour"]
scene_attributes = ["g:season"]
"""


def make_world(folder, manifest=MANIFEST):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "garden.ttl").write_text(ONTOLOGY)
    (folder / "world.toml").write_text(textwrap.dedent(manifest))
    return folder


def test_a_world_reads_its_own_prefixes(tmp_path):
    world = World.load(make_world(tmp_path / "garden"))
    assert world.name == "garden"
    assert world.prefixes["g"] == "http://example.org/garden#"
    assert world.vision.objects == "http://example.org/garden#Thing"
    assert world.vision.background == ("http://example.org/garden#Lawn",)
    assert world.curie("http://example.org/garden#Tomato") == "g:Tomato"
    assert world.scm is None and world.encoder is None


def test_the_bundled_crossing_is_a_world():
    assert "crossing" in bundled_worlds()
    world = resolve_world("crossing")
    assert world.root == bundled_world_dir("crossing").resolve()
    assert world.load_renderer().__name__ == "render_scene"
    assert [r.__name__ for r in world.load_readers()] == ["read_measurements"]
    assert resolve_world(None) is world  # the default, loaded once


@pytest.mark.parametrize(
    ("manifest", "line", "key", "match"),
    [
        (
            'name = "g"\nontology = ["missing.ttl"]\n',
            2,
            "ontology",
            "names 'missing.ttl', which does not exist",
        ),
        (
            MANIFEST.replace('objects = "g:Thing"', 'objects = "g:Tomato"'),
            5,
            "vision.objects",
            "no subclasses",
        ),
        (
            MANIFEST.replace('"g:colour"]', '"g:size"]'),
            7,
            "vision.object_attributes",
            "'g:size' is not in the ontology",
        ),
        (MANIFEST.replace('"g:season"]', '"g:height"]'), 8, "vision.scene_attributes", "has no individuals"),
        (
            MANIFEST.replace('"g:Lawn"', '"x:Lawn"'),
            6,
            "vision.background",
            "not a prefixed name with a prefix",
        ),
        (MANIFEST + "colour = 1\n", 9, "vision.colour", "unknown key"),
        (MANIFEST.replace("[vision]", 'scm = "none.scm.toml"\n[vision]'), 4, "scm", "does not exist"),
        (MANIFEST + '[training]\nlabels = "labels.csv"\n', 10, "training.labels", "does not exist"),
        (
            MANIFEST.replace("[vision]", 'readers = ["not code"]\n[vision]'),
            4,
            "readers",
            "package.module:function",
        ),
        ('name = "g"\n', None, "ontology", "missing"),
        ("name = \n", None, None, "not valid TOML"),
    ],
)
def test_a_refused_manifest_names_the_file_line_and_key(tmp_path, manifest, line, key, match):
    folder = make_world(tmp_path / "garden", manifest)
    with pytest.raises(WorldError, match=match) as info:
        World.load(folder)
    error = info.value
    assert str(folder / "world.toml") in str(error)
    if line is not None:
        assert error.line == line and f"world.toml:{line}:" in str(error)
    if key is not None:
        assert error.key == key and f" {key}:" in str(error)


def test_a_folder_without_a_manifest_is_named(tmp_path):
    with pytest.raises(WorldError, match="no world manifest here"):
        World.load(tmp_path)


def test_a_world_names_code_that_must_exist(tmp_path):
    folder = make_world(
        tmp_path / "garden", MANIFEST.replace("[vision]", 'readers = ["no_such_module:read"]\n[vision]')
    )
    with pytest.raises(WorldError, match="cannot import 'no_such_module'"):
        World.load(folder).load_readers()
    (folder / "readers.py").write_text("def read(scene, image, **kwargs):\n    return scene\n")
    folder = make_world(
        tmp_path / "garden", MANIFEST.replace("[vision]", 'readers = ["readers.py:read"]\n[vision]')
    )
    assert [f.__name__ for f in World.load(folder).load_readers()] == ["read"]


@pytest.mark.parametrize(
    ("name", "iri"),
    [
        ("g:Tomato", "http://example.org/garden#Tomato"),
        ("<urn:x>", "urn:x"),
        ("http://a/b", "http://a/b"),
        ("z:Q", None),
    ],
)
def test_expand_name(name, iri):
    assert expand_name(name, {"g": "http://example.org/garden#"}) == iri
