"""Knowledge-graph store: rdflib memory vs our ``oxigraph:`` backend vs raw pyoxigraph.

One seeded N-Triples file (entities with types in a subclass hierarchy,
labels, integer and decimal values, links between entities, group
membership) is loaded by each system, then three queries run on each:
a 3-way join, GROUP BY + SUM, and a property path with ``rdfs:subClassOf*``.
Each load runs in its own forked process (``measure_peak_rss``), so each
peak RSS counts only that system; every system loads the same number of
times. Queries are timed in pairs, each pair alike (the same warm-up and
number of runs, alternating): ours vs rdflib, ours vs raw pyoxigraph. All
three must load the same triples and return the same answers.

Figures: load and query speed-up of our backend over rdflib memory (targets
≥ 8× load, ≥ 30× queries), and our overhead over raw pyoxigraph (target
≤ 1.15×, reported as raw/ours ≥ 0.87).
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench.harness import BenchReport, Comparison, Timing, measure_peak_rss, save_figure, time_both

EX = "http://bench.mmreason.org/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
N_GROUPS = 1000
# Each entity contributes 7 triples.
TRIPLES_PER_ENTITY = 7
#: Loads per system (each in a fresh store), and warm-up and timed runs per side for each query.
LOAD_RUNS = 3
REPEAT = 5
WARMUP = 1

PREFIXES = (
    f"PREFIX ex: <{EX}>\nPREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>\nPREFIX rdfs: <{RDFS}>\n"
)
QUERIES = {
    "3-way join": PREFIXES
    + "SELECT ?a ?c WHERE { ?c ex:group ex:g7 . ?b ex:linksTo ?c . ?a ex:linksTo ?b } ORDER BY ?a ?c",
    "GROUP BY + SUM": PREFIXES
    + "SELECT ?g (SUM(?v) AS ?total) (COUNT(?e) AS ?n) WHERE { ?e ex:group ?g ; ex:value ?v } "
    "GROUP BY ?g ORDER BY ?g",
    "path rdfs:subClassOf*": PREFIXES
    + "SELECT (COUNT(?e) AS ?n) WHERE { ?e rdf:type/rdfs:subClassOf* ex:C1 }",
}


def generate(path: Path, n_triples: int, *, seed: int = 0) -> int:
    """Write a seeded N-Triples file of about ``n_triples`` triples; return the exact count."""
    rng = random.Random(seed)
    lines = []
    # A class tree: C0 is the root; each class i > 0 has parent (i - 1) // 4; 85 classes, depth 4.
    n_classes = 85
    for i in range(1, n_classes):
        lines.append(f"<{EX}C{i}> <{RDFS}subClassOf> <{EX}C{(i - 1) // 4}> .")
    for i in range(n_classes):
        lines.append(f'<{EX}C{i}> <{RDFS}label> "class {i}" .')
    leaves = list(range(21, n_classes))
    n_entities = max(1, (n_triples - len(lines)) // TRIPLES_PER_ENTITY)
    for e in range(n_entities):
        s = f"<{EX}e{e}>"
        lines.append(f"{s} <{RDF_TYPE}> <{EX}C{rng.choice(leaves)}> .")
        lines.append(f'{s} <{RDFS}label> "entity {e}" .')
        lines.append(f'{s} <{EX}value> "{rng.randrange(1000)}"^^<{XSD}integer> .')
        lines.append(f'{s} <{EX}price> "{rng.randrange(100000) / 100:.2f}"^^<{XSD}decimal> .')
        lines.append(f"{s} <{EX}group> <{EX}g{rng.randrange(N_GROUPS)}> .")
        for _ in range(2):
            lines.append(f"{s} <{EX}linksTo> <{EX}e{rng.randrange(n_entities)}> .")
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def _normalise(rows: list[tuple[Any, ...]]) -> list[tuple[str, ...]]:
    return sorted(tuple(str(v) for v in row) for row in rows)


# Each system's query, returning its own result objects; normalised to Python values afterwards.


def _rdflib_query(graph: Any, text: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in graph.query(text)]


def _ours_query(kg: Any, text: str) -> list[dict[str, Any]]:
    return kg.query(text)


def _raw_query(store: Any, text: str) -> list[tuple[Any, ...]]:
    return [tuple(solution) for solution in store.query(text, use_default_graph_as_union=True)]


def _rdflib_rows(rows: list[tuple[Any, ...]]) -> list[tuple[str, ...]]:
    from mmreason.kg.terms import to_python

    return _normalise([tuple(to_python(v) for v in row) for row in rows])


def _ours_rows(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return _normalise([tuple(row.values()) for row in rows])


def _raw_rows(rows: list[tuple[Any, ...]]) -> list[tuple[str, ...]]:
    from mmreason.kg.terms import ox_python

    return _normalise([tuple(ox_python(v) for v in row) for row in rows])


# One load of one system into a fresh store, in its own forked process. The first round also
# runs each query once, so that the peak RSS covers loading and querying.


def _load_rdflib(path: Path, query: bool) -> dict[str, Any]:
    from rdflib import Graph

    graph = Graph()
    start = time.perf_counter()
    graph.parse(str(path), format="nt")
    out: dict[str, Any] = {"load": time.perf_counter() - start, "count": len(graph)}
    if query:
        for text in QUERIES.values():
            _rdflib_query(graph, text)
    return out


def _load_ours(path: Path, store: Path, query: bool) -> dict[str, Any]:
    from mmreason.kg import KnowledgeGraph

    kg = KnowledgeGraph.open(f"oxigraph:{store}")
    start = time.perf_counter()
    kg.load(path, graph=None)  # as a user calls it: with its progress bar
    out: dict[str, Any] = {"load": time.perf_counter() - start, "count": len(kg)}
    if query:
        for text in QUERIES.values():
            _ours_query(kg, text)
    kg.close()
    return out


def _load_raw(path: Path, store_dir: Path, query: bool) -> dict[str, Any]:
    import pyoxigraph as ox

    store = ox.Store(str(store_dir))
    start = time.perf_counter()
    store.bulk_load(path=str(path), format=ox.RdfFormat.N_TRIPLES)
    store.flush()
    out: dict[str, Any] = {"load": time.perf_counter() - start, "count": len(store)}
    if query:
        for text in QUERIES.values():
            _raw_query(store, text)
    return out


def _time_queries(data: Path, ours_dir: Path, raw_dir: Path, repeat: int, warmup: int) -> dict[str, Any]:
    """Every query timed in pairs, each pair alike (``time_both``): ours vs rdflib, ours vs raw pyoxigraph.

    rdflib's graph is parsed here again (not timed) so that all three live in one process.
    """
    import pyoxigraph as ox
    from rdflib import Graph

    from mmreason.kg import KnowledgeGraph

    graph = Graph()
    graph.parse(str(data), format="nt")
    kg = KnowledgeGraph.open(f"oxigraph:{ours_dir}")
    store = ox.Store(str(raw_dir))
    out: dict[str, Any] = {}
    for name, text in QUERIES.items():
        ours_a, rdflib_t, ours_rows, rdflib_rows = time_both(
            lambda t=text: _ours_query(kg, t),
            lambda t=text: _rdflib_query(graph, t),
            repeat=repeat,
            warmup=warmup,
        )
        ours_b, raw_t, ours_rows_b, raw_rows = time_both(
            lambda t=text: _ours_query(kg, t),
            lambda t=text: _raw_query(store, t),
            repeat=repeat,
            warmup=warmup,
        )
        out[name] = {
            "vs rdflib": (ours_a, rdflib_t),
            "vs raw": (ours_b, raw_t),
            "rows": {
                "ours": _ours_rows(ours_rows),
                "ours again": _ours_rows(ours_rows_b),
                "rdflib": _rdflib_rows(rdflib_rows),
                "raw": _raw_rows(raw_rows),
            },
        }
    kg.close()
    return out


def _plot(loads: dict[str, Timing], queries: dict[str, Any], count: int, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = ["load", *QUERIES]
    figures = {
        "rdflib memory": [loads["rdflib memory"].median]
        + [queries[q]["vs rdflib"][1].median for q in QUERIES],
        "mmreason oxigraph:": [loads["mmreason oxigraph:"].median]
        + [queries[q]["vs raw"][0].median for q in QUERIES],
        "raw pyoxigraph": [loads["raw pyoxigraph"].median]
        + [queries[q]["vs raw"][1].median for q in QUERIES],
    }
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(figures)
    for i, (system, values) in enumerate(figures.items()):
        ax.bar([t + i * width for t in range(len(tasks))], values, width, label=system)
    ax.set_xticks([t + width for t in range(len(tasks))], tasks)
    ax.set_yscale("log")
    ax.set_ylabel("seconds, median (log scale)")
    ax.set_title(f"KG stores, {count:,} triples")
    ax.legend()
    return save_figure(fig, out, "kg.png")


def _in_process(fn: Callable[[], Any]) -> tuple[int, float, Any]:
    """``fn`` run here, with no memory figure: for agreement checks inside a test process, where a
    fork of a process with many threads (torch, a server's) can deadlock."""
    start = time.perf_counter()
    result = fn()
    return 0, time.perf_counter() - start, result


def _measure(
    quick: bool,
    out: Path | None,
    *,
    load_runs: int,
    repeat: int,
    warmup: int,
    n_triples: int,
    isolate: bool = True,
) -> BenchReport:
    from rich.console import Console

    console = Console(stderr=True)
    run_apart = measure_peak_rss if isolate else _in_process
    work = Path(tempfile.mkdtemp(prefix="mmreason-bench-kg-"))
    try:
        data = work / "graph.nt"
        count = generate(data, n_triples, seed=0)
        systems: dict[str, Callable[[int], dict[str, Any]]] = {
            "rdflib memory": lambda r: _load_rdflib(data, r == 0),
            "mmreason oxigraph:": lambda r: _load_ours(data, work / f"ours{r}", r == 0),
            "raw pyoxigraph": lambda r: _load_raw(data, work / f"raw{r}", r == 0),
        }
        load_times: dict[str, list[float]] = {s: [] for s in systems}
        counts: dict[str, set[int]] = {s: set() for s in systems}
        rss: dict[str, int] = {}
        # The same number of loads for every system, in rounds, each into a fresh store.
        for r in range(load_runs):
            for system, fn in systems.items():
                console.print(
                    f"[bold]kg bench[/bold]: {system} loads {count:,} triples ({r + 1} of {load_runs}) ..."
                )
                peak, _, outcome = run_apart(lambda fn=fn, r=r: fn(r))
                load_times[system].append(outcome["load"])
                counts[system].add(outcome["count"])
                rss[system] = max(rss.get(system, 0), peak)
        loads = {s: Timing.of(t) for s, t in load_times.items()}
        console.print("[bold]kg bench[/bold]: query times, in alternating pairs ...")
        _, _, queries = run_apart(lambda: _time_queries(data, work / "ours0", work / "raw0", repeat, warmup))

        stored = set().union(*counts.values())
        same_count = len(stored) == 1
        load_agreement = (
            f"same {stored.pop():,} triples in all three, every load"
            if same_count
            else "COUNTS DIFFER: " + ", ".join(f"{s} {sorted(c)}" for s, c in counts.items())
        )
        rdflib_name, ours_name, raw_name = systems
        comparisons = [
            Comparison.timed(
                "load vs rdflib",
                loads[ours_name],
                loads[rdflib_name],
                rdflib_name,
                target=8.0,
                agrees=same_count,
                agreement=load_agreement,
            )
        ]

        def agreement(name: str) -> tuple[bool, str]:
            rows = queries[name]["rows"]
            same = rows["ours"] == rows["ours again"] == rows["rdflib"] == rows["raw"]
            text = f"same {len(rows['ours'])} rows in all three" if same else "ANSWERS DIFFER"
            return same, text

        for name in QUERIES:
            same, text = agreement(name)
            ours_t, peer_t = queries[name]["vs rdflib"]
            comparisons.append(
                Comparison.timed(
                    f"{name} vs rdflib", ours_t, peer_t, rdflib_name, target=30.0, agrees=same, agreement=text
                )
            )
        overhead_target = round(1 / 1.15, 3)
        comparisons.append(
            Comparison.timed(
                "load vs raw pyoxigraph",
                loads[ours_name],
                loads[raw_name],
                raw_name,
                target=overhead_target,
                agrees=same_count,
                agreement=load_agreement,
            )
        )
        for name in QUERIES:
            same, text = agreement(name)
            ours_t, peer_t = queries[name]["vs raw"]
            comparisons.append(
                Comparison.timed(
                    f"{name} vs raw pyoxigraph",
                    ours_t,
                    peer_t,
                    raw_name,
                    target=overhead_target,
                    agrees=same,
                    agreement=text,
                )
            )
        comparisons.append(
            Comparison("peak RSS vs rdflib", rss[ours_name], rss[rdflib_name], rdflib_name, unit="B")
        )
        comparisons.append(
            Comparison("peak RSS vs raw pyoxigraph", rss[ours_name], rss[raw_name], raw_name, unit="B")
        )
        for system in systems:
            median, peak = loads[system].median, rss[system] / 2**20
            console.print(f"  {system}: load {median:.2f} s (median of {load_runs}), peak RSS {peak:.0f} MiB")
        notes = (
            f"{count:,} seeded triples (N-Triples, {data.stat().st_size / 2**20:.0f} MiB).",
            f"Load: {load_runs} loads per system, in rounds (rdflib, ours, raw pyoxigraph), each in its own "
            "forked process into a fresh store; the median, with min and max. Peak RSS: the largest of a "
            "system's load processes (the first also runs each query once).",
            f"Queries: {warmup} warm-up and {repeat} timed runs per side, the two sides of each row "
            "alternating (ours vs rdflib, then ours vs raw pyoxigraph), all three systems in one process; "
            "the median, with min and max.",
            "Overhead target ≤ 1.15× raw pyoxigraph is shown as ratio ≥ 0.87 (raw time / our time). "
            "Raw pyoxigraph: bulk_load + flush, queries materialised as tuples of pyoxigraph terms; "
            "ours: load() (bulk loader on the file path, with its progress bar, flush) and query() rows "
            "of Python values; "
            "rdflib: Graph.parse, queries materialised as tuples of rdflib terms.",
        )
        plots = () if out is None else (str(_plot(loads, queries, count, out)),)
        return BenchReport(
            name="kg",
            comparisons=tuple(comparisons),
            params={
                "triples": count,
                "quick": quick,
                "load_runs": load_runs,
                "repeat": repeat,
                "warmup": warmup,
                "queries": QUERIES,
            },
            notes=notes,
            plots=plots,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(*, quick: bool, device: str, out: Path) -> BenchReport:
    """Load and query the same generated graph with rdflib, our oxigraph: backend and raw pyoxigraph.

    A full run written to ``bench/results/full`` also rewrites the figures in ``docs/kg.md``.
    """
    report = _measure(
        quick,
        out,
        load_runs=LOAD_RUNS,
        repeat=REPEAT,
        warmup=WARMUP,
        n_triples=100_000 if quick else 1_000_000,
    )
    if not quick and out.resolve() == RESULTS_FULL.resolve():
        write_doc(report.to_dict())
    return report


def agreement(*, n_triples: int = 100_000) -> BenchReport:
    """The quick-size checks that all three systems load and answer alike, one run each: for CI."""
    return _measure(True, None, load_runs=1, repeat=1, warmup=0, n_triples=n_triples, isolate=False)


# The table in docs/kg.md, written from a report's JSON.

DOC = Path(__file__).resolve().parents[1] / "docs" / "kg.md"
RESULTS_FULL = Path(__file__).resolve().parent / "results" / "full"
BEGIN = "<!-- bench/kg.py writes the figures below from bench/results/full/kg.json -->"
END = "<!-- end of the figures from bench/results/full/kg.json -->"


def _cell(row: Mapping[str, Any], side: str) -> str:
    value, spread = row[side], row.get(f"{side}_range")
    if row["unit"] == "B":
        return f"{value / 2**20:.0f} MiB"
    if spread is None:
        return _seconds(value)
    return f"{_seconds(value)} [{_seconds(spread[0])}–{_seconds(spread[1])}]"


def _seconds(value: float) -> str:
    return f"{value * 1e3:.1f} ms" if value < 1 else f"{value:.2f} s"


def doc_table(report: Mapping[str, Any]) -> str:
    """The Markdown that ``docs/kg.md`` shows between its markers, from a kg report's JSON."""
    params, machine = report["params"], report["machine"]
    lines = [
        f"Measured by `python -m bench kg` ({params['triples']:,} triples; {machine['cpus']} CPUs, "
        f"Python {machine['python']}). Times: the median [min–max] of {params['load_runs']} loads per "
        f"system, or of {params['repeat']} timed runs per side after {params['warmup']} warm-up run(s) "
        "for a query. Ratio: the peer's figure over ours (above 1, ours is faster or smaller).",
        "",
        "| task | ours (`oxigraph:`) | peer | peer's figure | ratio | target | answers |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["comparisons"]:
        target = (
            "" if row["target"] is None else f"≥ {row['target']:g}× " + ("✓" if row["meets_target"] else "✗")
        )
        answers = {True: "✓ ", False: "✗ ", None: ""}[row.get("agrees")] + row["agreement"]
        lines.append(
            f"| {row['task']} | {_cell(row, 'ours')} | {row['peer_name']} | {_cell(row, 'peer')} "
            f"| {row['ratio']:.2f}× | {target} | {answers} |"
        )
    checked = [c for c in report["comparisons"] if c.get("agrees") is not None]
    lines.append("")
    if all(c["agrees"] for c in checked):
        lines.append("All three systems load the same number of triples and return the same answers.")
    else:
        differ = "; ".join(f"{c['task']}: {c['agreement']}" for c in checked if not c["agrees"])
        lines.append(f"Disagreements: {differ}.")
    return "\n".join(lines)


def write_doc(report: Mapping[str, Any], doc: Path = DOC) -> None:
    """Replace the figures between the markers of ``docs/kg.md`` with ``report``'s."""
    text = doc.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{doc_table(report)}\n{END}{tail}")


if __name__ == "__main__":
    # Rewrite docs/kg.md from the last full run's JSON: python -m bench.kg
    write_doc(json.loads((RESULTS_FULL / "kg.json").read_text()))
