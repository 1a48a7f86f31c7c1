"""The stores a :class:`~mmreason.kg.KnowledgeGraph` runs on, one module each.

- :mod:`~mmreason.kg.backends.memory`: rdflib in memory (the default),
- :mod:`~mmreason.kg.backends.oxigraph`: a persistent on-disk Oxigraph store (pyoxigraph),
- :mod:`~mmreason.kg.backends.remote`: any SPARQL 1.1 endpoint over HTTP.
"""
