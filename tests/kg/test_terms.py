"""Term conversion: the fast pyoxigraph path gives exactly the values rdflib gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import XSD, Literal, URIRef

from mmreason.kg.terms import from_ox, ox_python, to_ox, to_python

DATATYPES = [XSD.integer, XSD.int, XSD.double, XSD.float, XSD.decimal, XSD.boolean, XSD.string, XSD.date]
LEXICAL = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False).map(repr),
    st.sampled_from(["true", "false", "1", "0", "01", "+5", "-0", "1e3", "abc", " 7", "2024-05-01", "1_000"]),
    st.text(max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(LEXICAL, st.sampled_from(DATATYPES))
def test_fast_path_agrees_with_rdflib(lexical: str, datatype: URIRef) -> None:
    term = Literal(lexical, datatype=datatype)
    ours = ox_python(to_ox(term))
    theirs = to_python(term)
    assert type(ours) is type(theirs)
    assert ours == theirs or (ours != ours and theirs != theirs)


@given(st.text(max_size=20), st.sampled_from(["en", "de-CH", None]))
def test_round_trip_through_pyoxigraph(value: str, lang: str | None) -> None:
    term = Literal(value, lang=lang)
    assert from_ox(to_ox(term)) == term
