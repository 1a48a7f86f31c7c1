"""The crossing ontology's namespace, ``mr:`` = ``http://mmreason.org/crossing#``.

>>> MR.Car
rdflib.term.URIRef('http://mmreason.org/crossing#Car')
"""

from __future__ import annotations

from rdflib import Namespace

__all__ = ["MR", "MR_IRI"]

MR_IRI = "http://mmreason.org/crossing#"
#: The crossing's classes, properties and individuals: ``MR.Car``, ``MR.colour``, ``MR.redLight``.
MR = Namespace(MR_IRI)
