"""Binding values as text: where the VALUES block goes, and that no value can escape its literal."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef

from mmreason.errors import InvalidInputError, QueryError
from mmreason.kg.sparql_text import expand_delete_where, where_group_start, with_values
from mmreason.kg.terms import sparql_term


@pytest.mark.parametrize(
    ("text", "before"),
    [
        ("SELECT ?x WHERE { ?x ?p ?o }", "SELECT ?x WHERE {"),
        ("SELECT ?x { ?x ?p ?o }", "SELECT ?x {"),
        ("ASK { ?x ?p ?o }", "ASK {"),
        ("SELECT (EXISTS { ?a ?b ?c } AS ?e) WHERE { ?x ?p ?o }", "AS ?e) WHERE {"),
        ("CONSTRUCT { ?x ?p ?o } WHERE { ?x ?p ?o }", "} WHERE {"),
        ("CONSTRUCT WHERE { ?x ?p ?o }", "CONSTRUCT WHERE {"),
        ('SELECT ?x WHERE { ?x ?p "{" }', "SELECT ?x WHERE {"),
        ("# a { comment\nSELECT ?x WHERE { ?x ?p ?o }", "SELECT ?x WHERE {"),
        ("PREFIX e: <http://e/#x> SELECT ?x WHERE { ?x ?p ?o }", "SELECT ?x WHERE {"),
        ('CONSTRUCT { ?x ?p "}" . ?x ?p """{ \\" }""" } WHERE { ?x ?p ?o }', '""" } WHERE {'),
        ("DELETE { GRAPH ?g { ?x ?p ?o } } INSERT { ?o ?p ?x } WHERE { GRAPH ?g { ?x ?p ?o } }", "} WHERE {"),
    ],
)
def test_where_group_start(text: str, before: str) -> None:
    at = where_group_start(text)
    assert text[:at].endswith(before)


def test_no_where_group_is_refused() -> None:
    with pytest.raises(QueryError, match="WHERE"):
        with_values("INSERT DATA { <http://e/a> <http://e/p> 1 }", {"x": Literal(1)})


def test_delete_where_long_form() -> None:
    text = "DELETE WHERE { GRAPH ?g { ?x ?p ?o } } ; DELETE WHERE { ?x ?p 1 }"
    assert expand_delete_where(text) == (
        "DELETE { GRAPH ?g { ?x ?p ?o } } WHERE { GRAPH ?g { ?x ?p ?o } } ; "
        "DELETE { ?x ?p 1 } WHERE { ?x ?p 1 }"
    )


@pytest.mark.parametrize(
    "iri", ["http://x/> } ; DROP ALL ; #", "http://x/a b", 'http://x/"', "http://x/{", "http://x/\\u0020"]
)
def test_iris_that_could_escape_are_refused(iri: str) -> None:
    with pytest.raises(InvalidInputError, match="character"):
        sparql_term(URIRef(iri))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40))
def test_any_string_binds_as_exactly_one_literal(value: str) -> None:
    # The text with the VALUES block parses, and the query returns the value unchanged.
    store = ox.Store()
    text = with_values("SELECT ?v WHERE { }", {"v": Literal(value)})
    rows = list(store.query(text))
    assert len(rows) == 1 and rows[0]["v"].value == value
