"""Every limit of mmreason.limits is checked before the work it bounds, with an error that names the
input and quotes at most 80 characters of it."""

from __future__ import annotations

import http.server
import threading

import pytest

from mmreason import EndpointError, InvalidInputError, KnowledgeGraph, QuestionNotUnderstoodError, WorldError
from mmreason.limits import MAX_QUESTION_CHARS, MAX_TOML_BYTES, QUOTE_CHARS
from mmreason.scenarios import load_scenario


def test_a_long_question_is_refused_and_quoted_short():
    from mmreason.qa.lexicon import CLASS, Concept, Lexicon
    from mmreason.qa.parser import QuestionParser

    parser = QuestionParser(Lexicon.from_concepts([Concept("ex:Tomato", "tomato", CLASS)]))
    question = "How many tomatoes " * 600
    assert len(question) > MAX_QUESTION_CHARS
    with pytest.raises(QuestionNotUnderstoodError, match="is longer than 1,000 characters") as info:
        parser.parse(question)
    assert len(str(info.value)) < QUOTE_CHARS + 200
    # Any refused question is quoted short, however it fails.
    with pytest.raises(QuestionNotUnderstoodError) as info:
        parser.parse("zz " * 300)
    assert "(900 characters)" in str(info.value) and len(str(info.value)) < 600


def test_an_oversized_scenario_or_manifest_is_refused_before_parsing(tmp_path):
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * MAX_TOML_BYTES + b"\n")
    with pytest.raises(InvalidInputError, match=r"big\.toml: .* bytes; a scenario file may hold at most"):
        load_scenario(big)
    folder = tmp_path / "world"
    folder.mkdir()
    (folder / "world.toml").write_bytes(big.read_bytes())
    with pytest.raises(WorldError, match=r"world\.toml: over"):
        from mmreason.worlds import World

        World.load(folder)


def test_a_labels_file_over_the_row_limit_is_refused(tmp_path, monkeypatch):
    import mmreason.vision.labels as labels
    from tests.worlds.test_manifest import make_world

    folder = make_world(tmp_path / "garden")
    from PIL import Image

    Image.new("RGB", (8, 8)).save(folder / "a.png")
    (folder / "labels.csv").write_text(
        "image,x0,y0,x1,y1,property,value\n" + "a.png,,,,,g:season,g:winter\n" * 5
    )
    monkeypatch.setattr(labels, "MAX_LABEL_ROWS", 3)
    with pytest.raises(WorldError, match="more than 3 rows"):
        labels.read_labels(folder / "labels.csv", folder)


class _Endless(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        # Read the request whole (closing on unread data would reset the connection), then stream
        # without end until the client hangs up.
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.end_headers()
        try:
            while True:
                self.wfile.write(b" " * 4096)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_a_runaway_sparql_answer_is_cut_off(monkeypatch):
    import mmreason.limits as limits

    monkeypatch.setattr(limits, "MAX_SPARQL_RESPONSE_BYTES", 100_000)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        kg = KnowledgeGraph.open(f"sparql:http://127.0.0.1:{server.server_address[1]}/sparql", timeout=5)
        with pytest.raises(EndpointError, match="sent more than 100,000 bytes"):
            kg.query("SELECT * WHERE { ?s ?p ?o }")
    finally:
        server.shutdown()


def test_a_path_with_a_nul_byte_is_refused_by_name(tmp_path):
    from mmreason import ScenarioError
    from mmreason.vision.labels import read_labels
    from mmreason.worlds import World
    from tests.worlds.test_manifest import MANIFEST, make_world

    scenario = tmp_path / "s.toml"
    scenario.write_text('[image]\npath = "a\\u0000b.png"\n[[queries]]\nkind = "observe"\ntarget = "W"\n')
    with pytest.raises(ScenarioError, match=r"image\.path: 'a\\x00b\.png' is not a usable path"):
        load_scenario(scenario)
    folder = make_world(tmp_path / "garden", MANIFEST.replace("[vision]", 'scm = "a\\u0000b"\n[vision]'))
    with pytest.raises(WorldError, match=r"scm: .* is not a usable path"):
        World.load(folder)
    folder = make_world(tmp_path / "garden2")
    (folder / "labels.csv").write_text("image,x0,y0,x1,y1,property,value\na\x00.png,,,,,g:season,g:winter\n")
    with pytest.raises(WorldError, match=r"labels\.csv:2: column 'image': .* is not a usable path"):
        read_labels(folder / "labels.csv", folder)
