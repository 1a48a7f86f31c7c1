"""Id maps: stable ids, round trips, fingerprints."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mmreason.gnn import IdMaps

names = st.text(alphabet="abcxyz:/#", min_size=1, max_size=6)
triples = st.lists(st.tuples(names, names, names), min_size=1, max_size=20)


@given(triples)
def test_encode_decode_round_trip(items):
    maps = IdMaps.from_triples(items)
    assert maps.decode(maps.encode(items)) == items


@given(triples)
def test_ids_do_not_depend_on_the_order_of_the_triples(items):
    a, b = IdMaps.from_triples(items), IdMaps.from_triples(list(reversed(items)))
    assert a == b
    assert a.fingerprint() == b.fingerprint()
    assert a.differences(b) == ""


def test_differences_name_what_is_only_on_one_side():
    a = IdMaps.from_triples([("x", "r", "y")])
    b = IdMaps.from_triples([("x", "r", "z")])
    assert a.differences(b) == "entities: 2 vs 2; only in the checkpoint: 'y'; only in the graph: 'z'"
    assert a.fingerprint() != b.fingerprint()
