"""The same known-answer tests on every backend: rdflib memory, an Oxigraph store, a real SPARQL server."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, XSD, Literal, URIRef

from mmreason.errors import EndpointError, GraphParseError, InvalidInputError, MissingFileError, QueryError
from mmreason.kg import ASSERTED_GRAPH, IMAGE_GRAPH, MM, PREDICTED_GRAPH, KnowledgeGraph, bundled_graphs_dir
from mmreason.worlds.crossing import MR

EX = "http://example.org/"
A, B, C = URIRef(EX + "a"), URIRef(EX + "b"), URIRef(EX + "c")
KNOWS, AGE = URIRef(EX + "knows"), URIRef(EX + "age")

# Five triples small enough to check every answer by hand.
FIVE = [
    (A, KNOWS, B),
    (B, KNOWS, C),
    (A, AGE, Literal(30)),
    (B, AGE, Literal(40)),
    (A, RDFS.label, Literal("alice")),
]
INJECTION = 'x" } ; DROP ALL ; #'


def test_five_triples_known_answers(kg: KnowledgeGraph) -> None:
    kg.add(FIVE)
    assert len(kg) == 5
    rows = kg.query("SELECT ?x ?y WHERE { ?x <http://example.org/knows> ?y } ORDER BY ?x")
    assert rows == [{"x": A, "y": B}, {"x": B, "y": C}]
    rows = kg.query("SELECT (SUM(?age) AS ?total) WHERE { ?x <http://example.org/age> ?age }")
    assert rows == [{"total": 70}]
    rows = kg.query("SELECT ?z WHERE { ?x <http://example.org/knows>/<http://example.org/knows> ?z }", x=A)
    assert rows == [{"z": C}]
    assert kg.ask("ASK { ?x rdfs:label ?name }", name="alice") is True
    assert kg.ask("ASK { ?x rdfs:label ?name }", name="bob") is False
    assert sorted(kg.construct("CONSTRUCT { ?y ?p ?x } WHERE { ?x ?p ?y }", p=KNOWS)) == [
        (B, KNOWS, A),
        (C, KNOWS, B),
    ]


def test_bound_values_select_and_are_projected(kg: KnowledgeGraph) -> None:
    kg.add(FIVE)
    rows = kg.query("SELECT ?x ?name WHERE { ?x rdfs:label ?name }", name=Literal("alice"))
    assert rows == [{"x": A, "name": "alice"}]
    assert kg.query("SELECT ?x WHERE { ?x rdfs:label ?name }", name="nobody") == []
    rows = kg.query("SELECT ?age WHERE { ?x <http://example.org/age> ?age }", x=B)
    assert rows == [{"age": 40}]
    # A bound value also constrains a FILTER.
    rows = kg.query("SELECT ?x WHERE { ?x <http://example.org/age> ?age FILTER(?age > ?min) }", min=35)
    assert rows == [{"x": B}]


def test_injection_value_matches_only_that_literal_and_changes_nothing(kg: KnowledgeGraph) -> None:
    kg.add(FIVE)
    kg.add([(C, RDFS.label, Literal(INJECTION))])
    assert kg.query("SELECT ?x WHERE { ?x rdfs:label ?name }", name=INJECTION) == [{"x": C}]
    assert kg.query("SELECT ?x WHERE { ?x rdfs:label ?name }", name=Literal(INJECTION)) == [{"x": C}]
    kg.update(
        "DELETE { GRAPH ?g { ?x rdfs:label ?name } } WHERE { GRAPH ?g { ?x rdfs:label ?name } }",
        name="zzz" + INJECTION,
    )
    assert len(kg) == 6
    with pytest.raises(InvalidInputError, match="character"):
        kg.query("SELECT ?p WHERE { ?x ?p ?o }", x=URIRef("http://x/> } ; DROP ALL ; #"))
    assert len(kg) == 6


def test_python_values_are_the_same_on_every_backend(kg: KnowledgeGraph) -> None:
    values = [
        Literal(7),
        Literal(2.5),
        Literal(Decimal("1.25")),
        Literal(True),
        Literal("plain"),
        Literal("hallo", lang="de"),
        Literal(datetime.date(2024, 5, 1)),
        Literal("x", datatype=URIRef(EX + "custom")),
    ]
    kg.add([(A, URIRef(f"{EX}v{i}"), v) for i, v in enumerate(values)])
    rows = kg.query("SELECT ?p ?o WHERE { ?s ?p ?o }")
    got = {row["p"]: row["o"] for row in rows}
    expected = [
        7,
        2.5,
        Decimal("1.25"),
        True,
        "plain",
        Literal("hallo", lang="de"),
        datetime.date(2024, 5, 1),
    ]
    for i, value in enumerate(expected):
        assert got[URIRef(f"{EX}v{i}")] == value
        assert type(got[URIRef(f"{EX}v{i}")]) is type(value)
    custom = got[URIRef(f"{EX}v7")]
    assert isinstance(custom, Literal) and custom.datatype == URIRef(EX + "custom")
    rows = kg.query(
        "SELECT ?x ?y WHERE { ?x <http://example.org/v0> ?o OPTIONAL { ?x <http://example.org/none> ?y } }"
    )
    assert rows == [{"x": A, "y": None}]


def test_prefixes_of_loaded_files_and_standard_ones(kg: KnowledgeGraph, tmp_path: Path) -> None:
    path = tmp_path / "people.ttl"
    path.write_text("@prefix ex: <http://example.org/> .\nex:a ex:knows ex:b .\n")
    kg.load(path)
    assert kg.query("SELECT ?y WHERE { ex:a ex:knows ?y }") == [{"y": B}]
    # The engine's own prefix is always known; a world's prefix only once its files are loaded.
    assert kg.prefixes["mm"] == str(MM)
    assert "mr" not in kg.prefixes
    kg.load(bundled_graphs_dir() / "crossing" / "crossing.ttl")
    assert kg.prefixes["mr"] == str(MR)
    assert len(kg.query("SELECT ?c WHERE { ?c rdfs:subClassOf mr:Vehicle }")) == 3


def test_crossing_ontology_subclass_closure(kg: KnowledgeGraph) -> None:
    kg.load(bundled_graphs_dir() / "crossing" / "crossing.ttl")
    scene = URIRef("http://mmreason.org/scene/s1/")
    car, bus, walker, light = (URIRef(str(scene) + n) for n in ("car1", "bus1", "ped1", "light1"))
    kg.add(
        [
            (car, RDF.type, MR.Car),
            (bus, RDF.type, MR.Bus),
            (walker, RDF.type, MR.Pedestrian),
            (light, RDF.type, MR.TrafficLight),
        ],
        graph="image",
    )
    assert kg.instances_of(MR.Vehicle) == [bus, car]
    assert kg.instances_of("mr:RoadUser") == [bus, car, walker]
    assert kg.instances_of(MR.VulnerableRoadUser) == [walker]
    assert kg.instances_of(MR.SceneObject) == [bus, car, light, walker]
    # The traffic rule as a join: what does a red light require, and of whom?
    rows = kg.query(
        "SELECT ?action ?who WHERE { ?rule mm:when ?state ; mr:requires ?action ; mm:appliesTo ?who }",
        state=MR.redLight,
    )
    assert rows == [{"action": MR.stop, "who": MR.Vehicle}]
    rows = kg.query("SELECT ?mu WHERE { ?w mr:causes ?s . ?s mr:typicalFriction ?mu }", w=MR.rain)
    assert rows == [{"mu": 0.4}]
    assert kg.graphs() == [ASSERTED_GRAPH, IMAGE_GRAPH]


def test_scene_facts_join_the_traffic_rules(kg: KnowledgeGraph) -> None:
    kg.load(bundled_graphs_dir() / "crossing" / "crossing.ttl")
    scene, car, walker, light = (
        URIRef(f"http://mmreason.org/scene/s2/{n}") for n in ("", "car", "ped", "light")
    )
    kg.add(
        [
            (scene, MM.depicts, car),
            (scene, MM.depicts, walker),
            (scene, MM.depicts, light),
            (car, RDF.type, MR.Truck),
            (walker, RDF.type, MR.Pedestrian),
            (light, RDF.type, MR.TrafficLight),
            (light, MR.lightState, MR.redLight),
        ],
        graph="image",
    )
    rows = kg.query(
        """SELECT ?who ?action WHERE {
             ?scene mm:depicts ?who, ?light .
             ?who rdf:type/rdfs:subClassOf* ?cls .
             ?light mr:lightState ?state .
             ?rule mm:when ?state ; mm:appliesTo ?cls ; mr:requires ?action .
           }""",
        scene=scene,
    )
    assert rows == [{"who": car, "action": MR.stop}]


def test_named_graphs_keep_kinds_apart(kg: KnowledgeGraph) -> None:
    kg.add([(A, KNOWS, B)])
    kg.add([(A, KNOWS, C)], graph="image")
    kg.add([(B, KNOWS, C)], graph=PREDICTED_GRAPH)
    assert kg.graphs() == [ASSERTED_GRAPH, IMAGE_GRAPH, PREDICTED_GRAPH]
    assert len(kg) == 3
    rows = kg.query("SELECT ?g ?y WHERE { GRAPH ?g { ?x ?p ?y } } ORDER BY ?g", x=A)
    assert rows == [{"g": ASSERTED_GRAPH, "y": B}, {"g": IMAGE_GRAPH, "y": C}]
    kg.remove([(A, KNOWS, C)], graph="image")
    assert kg.graphs() == [ASSERTED_GRAPH, PREDICTED_GRAPH]
    with pytest.raises(InvalidInputError, match="graph="):
        kg.add([(A, KNOWS, B)], graph="imagined")


def test_update_insert_delete(kg: KnowledgeGraph) -> None:
    kg.update(
        "INSERT DATA { GRAPH <http://mmreason.org/graphs/asserted> { ex:a ex:knows ex:b } }".replace(
            "ex:a ex:knows ex:b", f"<{A}> <{KNOWS}> <{B}>"
        )
    )
    assert len(kg) == 1
    kg.update("INSERT { GRAPH ?g { ?y ?p ?x } } WHERE { GRAPH ?g { ?x ?p ?y } }", p=KNOWS)
    assert sorted((r["x"], r["y"]) for r in kg.query("SELECT ?x ?y WHERE { ?x ?p ?y }", p=KNOWS)) == [
        (A, B),
        (B, A),
    ]
    kg.update("DELETE WHERE { GRAPH ?g { ?x ?p ?y } }", x=B)
    assert kg.query("SELECT ?x ?y WHERE { ?x ?p ?y }") == [{"x": A, "y": B}]


def test_transaction_is_all_or_nothing(kg: KnowledgeGraph) -> None:
    kg.add(FIVE)
    with pytest.raises(RuntimeError, match="abort"), kg.transaction():
        kg.add([(C, KNOWS, A)])
        kg.remove([(A, KNOWS, B)])
        raise RuntimeError("abort")
    assert len(kg) == 5
    # A failing write inside the block undoes the writes before it.
    with pytest.raises(QueryError), kg.transaction():
        kg.add([(C, KNOWS, A)])
        kg.update("INSERT DATA { <http://example.org/c> <http://example.org/knows> <http://example.org/b> }")
        kg.update("THIS IS NOT SPARQL")
    assert len(kg) == 5
    assert not kg.ask("ASK { ?x ?p ?y }", x=C, y=A)
    with kg.transaction():
        kg.add([(C, KNOWS, A)])
        kg.remove([(A, KNOWS, B)])
        assert len(kg) == 5  # writes apply when the block ends
    assert len(kg) == 5
    assert kg.ask("ASK { ?x ?p ?y }", x=C, y=A) and not kg.ask("ASK { ?x ?p ?y }", x=A, y=B)


@pytest.mark.parametrize(
    ("sparql", "position"),
    [
        ("SELECT ?x WHERE { ?x ?p  }", "line 1, column"),
        ("SELECT ?x WHERE {\n  ?x ?p ?o .\n  FILTER(?x = ) }", "line 3, column"),
    ],
)
def test_syntax_error_gives_the_position(kg: KnowledgeGraph, sparql: str, position: str) -> None:
    with pytest.raises(QueryError, match=position):
        kg.query(sparql)


def test_query_form_must_match_the_method(kg: KnowledgeGraph) -> None:
    with pytest.raises(QueryError, match=r"use ask\(\)"):
        kg.query("ASK { ?s ?p ?o }")
    with pytest.raises(QueryError, match=r"ask\(\) runs ASK"):
        kg.ask("SELECT * WHERE { ?s ?p ?o }")


FORMATS = {
    "ttl": "@prefix ex: <http://example.org/> .\nex:a ex:knows ex:b .\nex:a ex:age 30 .\n",
    "nt": "<http://example.org/a> <http://example.org/knows> <http://example.org/b> .\n"
    '<http://example.org/a> <http://example.org/age> "30"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    "rdf": '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:ex="http://example.org/">\n<rdf:Description rdf:about="http://example.org/a">\n'
    '<ex:knows rdf:resource="http://example.org/b"/>\n'
    '<ex:age rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">30</ex:age>\n'
    "</rdf:Description>\n</rdf:RDF>\n",
    "jsonld": '{"@id": "http://example.org/a", "http://example.org/knows": {"@id": "http://example.org/b"},'
    ' "http://example.org/age": 30}',
}


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_load_triple_formats_by_extension(kg: KnowledgeGraph, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"data.{suffix}"
    path.write_text(FORMATS[suffix])
    kg.load(path)
    assert kg.graphs() == [ASSERTED_GRAPH]
    assert kg.query(
        "SELECT ?y ?age WHERE { ?x <http://example.org/knows> ?y ; <http://example.org/age> ?age }", x=A
    ) == [{"y": B, "age": 30}]


def test_load_quads_keep_their_graphs(kg: KnowledgeGraph, tmp_path: Path) -> None:
    trig = tmp_path / "data.trig"
    trig.write_text(
        "@prefix ex: <http://example.org/> .\nex:a ex:knows ex:b .\n"
        "<http://mmreason.org/graphs/image> { ex:a ex:knows ex:c . }\n"
    )
    nquads = tmp_path / "data.txt"
    nquads.write_text(f"<{B}> <{KNOWS}> <{C}> <{PREDICTED_GRAPH}> .\n")
    kg.load(trig)
    kg.load(nquads, format="nquads")
    assert kg.graphs() == [ASSERTED_GRAPH, IMAGE_GRAPH, PREDICTED_GRAPH]
    assert len(kg) == 3


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("bad.ttl", '@prefix ex: <http://example.org/> .\nex:a ex:knows ex:b .\nex:a ex:knows "open .\n', 3),
        ("bad.nt", f"<{A}> <{KNOWS}> <{B}> .\n<{A}> <{KNOWS}> .\n", 2),
    ],
)
def test_malformed_rdf_names_file_and_line_and_adds_nothing(
    kg: KnowledgeGraph, tmp_path: Path, name: str, text: str, line: int
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(GraphParseError, match=rf"{name}:{line}:") as info:
        kg.load(path)
    assert info.value.line == line and info.value.path == str(path)
    assert len(kg) == 0


def test_load_refuses_missing_file_and_unknown_extension(kg: KnowledgeGraph, tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match=r"nothere\.ttl"):
        kg.load(tmp_path / "nothere.ttl")
    odd = tmp_path / "data.xyz"
    odd.write_text("")
    with pytest.raises(InvalidInputError, match="format="):
        kg.load(odd)
    with pytest.raises(InvalidInputError, match="is a folder; give an RDF file"):
        kg.load(tmp_path)


def test_a_term_over_the_parsers_limit_is_named(kg: KnowledgeGraph, tmp_path: Path) -> None:
    path = tmp_path / "huge.nt"
    path.write_text("<http://x/" + "a" * 17_000_000 + "> <http://x/p> <http://x/o> .\n")
    with pytest.raises(GraphParseError, match=r"huge\.nt: a term longer than the parser's limit"):
        kg.load(path, progress=False)
    assert len(kg) == 0


def test_to_pyg_is_the_same_on_every_backend(kg: KnowledgeGraph) -> None:
    kg.load(bundled_graphs_dir() / "crossing" / "crossing.ttl")
    data, index = kg.to_pyg()
    reference = KnowledgeGraph.open()
    reference.load(bundled_graphs_dir() / "crossing" / "crossing.ttl")
    ref_data, ref_index = reference.to_pyg()
    assert index.entities == ref_index.entities and index.relations == ref_index.relations
    assert index.labels == ref_index.labels
    assert data.edge_index.tolist() == ref_data.edge_index.tolist()
    assert data.edge_type.tolist() == ref_data.edge_type.tolist()
    car = index.entity_id(MR.Car)
    assert index.labels[car] == "car"
    assert (MR.Car, RDFS.subClassOf, MR.Vehicle) in index.triples(data.edge_index, data.edge_type)


def test_closed_graph_refuses_use(kg: KnowledgeGraph) -> None:
    kg.close()
    with pytest.raises(InvalidInputError, match="closed"):
        len(kg)
    kg.close()  # closing twice is harmless


def test_bad_bindings_are_refused(kg: KnowledgeGraph) -> None:
    with pytest.raises(InvalidInputError, match="None"):
        kg.query("SELECT ?x WHERE { ?x ?p ?o }", o=None)
    with pytest.raises(InvalidInputError, match="subject"):
        kg.add([(Literal("s"), KNOWS, B)])
    with pytest.raises(InvalidInputError, match=r"triples\[0\]"):
        kg.add([(A, KNOWS)])
    assert XSD.integer  # the XSD namespace is importable alongside


@pytest.mark.parametrize(
    ("graphs", "expected"),
    [
        ([None], [(A, KNOWS, B)]),
        (["asserted", None], [(A, KNOWS, B), (B, KNOWS, C)]),
        (["predicted"], [(C, KNOWS, A)]),
        (None, [(A, KNOWS, B), (B, KNOWS, C), (C, KNOWS, A)]),
    ],
)
def test_to_pyg_reads_the_chosen_graphs(kg: KnowledgeGraph, graphs, expected, request) -> None:
    kg.add([(A, KNOWS, B)], graph=None)
    kg.add([(B, KNOWS, C)])
    kg.add([(C, KNOWS, A)], graph="predicted")
    if request.node.callspec.params["kg"] == "sparql-plain":
        # Triples in the unnamed graph and in named graphs of a server whose default graph is
        # not their union: the protocol cannot name that dataset, so queries are refused.
        with pytest.raises(EndpointError, match=r"unnamed default graph .* --union-default-graph"):
            kg.to_pyg(graphs=graphs)
        return
    data, index = kg.to_pyg(graphs=graphs)
    assert sorted(index.triples(data.edge_index, data.edge_type)) == sorted(expected)
