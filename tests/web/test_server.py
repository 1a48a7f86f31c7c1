"""``mmreason serve`` started for real on loopback: its JSON API, its limits, and the page in a browser."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
QUESTIONS = ("Which vehicle is closest to the crosswalk?", "What colour is it?", "Must it stop?")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    command = [sys.executable, "-m", "mmreason", "--device", "cpu", "serve", "--world", "crossing"]
    with log.open("wb") as handle:
        proc = subprocess.Popen([*command, "--port", str(port)], stdout=handle, stderr=subprocess.STDOUT)
    root = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(root + "/api/info", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"mmreason serve did not start: {log.read_text()[-3000:]}")
            time.sleep(0.3)
    try:
        yield root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def call(
    method: str, url: str, *, data: bytes | None = None, headers: dict | None = None
) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def post_json(url: str, body: dict) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    status, data, _ = call("POST", url, data=json.dumps(body).encode(), headers=headers)
    return status, json.loads(data)


def upload(root: str, name: str, payload: bytes, content_type: str = "image/png") -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, data, _ = call("POST", root + "/api/sessions", data=body, headers=headers)
    return status, json.loads(data)


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mmreason.worlds.crossing import render_scene

    image, _ = render_scene(9000002)
    path = tmp_path_factory.mktemp("render") / "render.png"
    image.save(path)
    return path


def test_binds_to_loopback_by_default(server: str) -> None:
    assert server.startswith("http://127.0.0.1:")
    from mmreason.cli import _parser

    assert _parser().parse_args(["serve"]).host == "127.0.0.1"


def test_the_api_holds_a_conversation(server: str, render: Path) -> None:
    from mmreason.reasoner import Reasoner

    status, info = call("GET", server + "/api/info")[:2]
    info = json.loads(info)
    assert status == 200 and info["world"] == "crossing" and "StopsInTime" in info["targets"]
    status, opened = upload(server, "render.png", render.read_bytes())
    assert status == 200, opened
    key = opened["session"]
    status, png, headers = call("GET", server + opened["overlay"])
    assert status == 200 and headers["content-type"] == "image/png" and png[:4] == b"\x89PNG"
    # The same answers as the API's own Conversation on the same picture.
    reasoner = Reasoner.from_world("crossing", device="cpu")
    conversation = reasoner.conversation(str(render))
    for question in QUESTIONS:
        status, body = post_json(f"{server}/api/sessions/{key}/ask", {"question": question})
        assert status == 200, body
        expected = conversation.ask(question)
        assert body["answer"]["text"] == expected.to_dict()["text"], question
        assert body["answer"]["confidence"] == pytest.approx(expected.confidence, abs=1e-3)
        kinds = [n["kind"] for n in body["graph"]["nodes"]]
        assert kinds[0] == "question" and kinds[-1] == "answer"
        assert len(body["graph"]["edges"]) == len(kinds) - 1
    # Two visitors never share a conversation: a second session starts with no history.
    status, other = upload(server, "render.png", render.read_bytes())
    assert other["session"] != key
    url = f"{server}/api/sessions/{other['session']}/ask"
    status, body = post_json(url, {"question": "What colour is it?"})
    assert status == 400 and "it" in body["error"]  # nothing for "it" to refer to in a new conversation
    status, report, headers = call("GET", f"{server}/api/sessions/{key}/report")
    assert status == 200 and "attachment" in headers["content-disposition"]
    assert report.decode().count("```") == 6 and QUESTIONS[0] in report.decode()


def test_the_whatif_panel_redraws(server: str, render: Path) -> None:
    _, opened = upload(server, "render.png", render.read_bytes())
    url = f"{server}/api/sessions/{opened['session']}/whatif"
    status, dry = post_json(url, {"target": "BrakingDistance", "variable": "Road", "value": "dry"})
    assert status == 200, dry
    status, wet = post_json(url, {"target": "BrakingDistance", "variable": "Road", "value": "wet"})
    # One factual (the same picture), two counterfactuals; the bars share the span of each pair.
    assert dry["factual"]["mean"] == wet["factual"]["mean"]
    assert dry["counterfactual"] != wet["counterfactual"]
    assert sum(b["p"] for b in dry["counterfactual"]["bars"]) == pytest.approx(1.0, abs=1e-6)
    assert dry["counterfactual"]["mean"] < wet["counterfactual"]["mean"]  # a wet road brakes longer
    status, stops = post_json(url, {"target": "StopsInTime", "variable": "Speed", "value": "8"})
    assert status == 200 and [b["x"] for b in stops["factual"]["bars"]] == ["0", "1"]
    status, body = post_json(url, {"target": "StopsInTime", "variable": "Road", "value": "lava"})
    assert status == 400 and "Road" in body["error"]
    status, body = post_json(url, {"target": "StopsInTime", "variable": "Road"})
    assert status == 400 and "'value'" in body["error"]


def test_bad_uploads_get_a_message_not_a_traceback(server: str, render: Path) -> None:
    from PIL import Image

    status, body = upload(server, "notes.txt", b"this is not a picture", "text/plain")
    assert status == 400 and "notes.txt" in body["error"] and "Traceback" not in body["error"]
    status, body = upload(server, "big.png", b"\x89PNG" + b"\0" * (21 * 2**20))
    assert status == 413 and "20 MB upload limit" in body["error"]
    huge = io.BytesIO()
    Image.new("1", (8000, 6000)).save(huge, format="PNG")  # 48 MP, a few kB on disk
    status, body = upload(server, "huge.png", huge.getvalue())
    assert status == 400 and "huge.png" in body["error"] and "pixels" in body["error"]
    status, body = post_json(f"{server}/api/sessions/nope/ask", {"question": "Is it red?"})
    assert status == 404 and "no such session" in body["error"]


def test_a_clip_is_a_picture_with_motion(server: str, tmp_path: Path) -> None:
    from mmreason.worlds.crossing.clip import render_clip

    clip = tmp_path / "clip.mp4"
    render_clip(9000004, out=clip, duration=4.0)
    status, opened = upload(server, "clip.mp4", clip.read_bytes(), "video/mp4")
    assert status == 200, opened
    status, png, _ = call("GET", server + opened["overlay"])
    assert status == 200 and png[:4] == b"\x89PNG"
    url = f"{server}/api/sessions/{opened['session']}/ask"
    status, body = post_json(url, {"question": "Did the driver brake?"})
    assert status == 200, body
    assert any("clip" in step["detail"] for step in body["answer"]["steps"]), body["answer"]["steps"]


def test_concurrent_visitors(server: str, render: Path) -> None:
    results: dict[int, str] = {}

    def visit(index: int) -> None:
        _, opened = upload(server, "render.png", render.read_bytes())
        url = f"{server}/api/sessions/{opened['session']}/ask"
        _, body = post_json(url, {"question": "How many cars are there?"})
        results[index] = body["answer"]["text"]

    threads = [threading.Thread(target=visit, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(results) == 4 and len(set(results.values())) == 1


def test_the_page_in_a_real_browser(server: str, render: Path, tmp_path: Path) -> None:
    pytest.importorskip("PySide6.QtWebEngineWidgets")
    screenshot = tmp_path / "page.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, str(HERE / "browser.py"), server + "/", str(render), str(screenshot)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    seen = json.loads(lines[-1]) if lines else {}
    assert done.returncode == 0, f"{seen.get('failure')}; screenshot: {screenshot}\n{done.stderr[-3000:]}"
    assert seen["overlay_width"] == 640 and seen["objects"] >= 1
    answers = seen["answers"]
    assert [a["failed"] for a in answers] == [False, False, False], answers
    assert all(a["steps"] >= 3 for a in answers)
    # The follow-up resolves against the first answer: "it" is the closest vehicle.
    assert answers[1]["answer"] in answers[0]["answer"], answers
    assert seen["plot_before"] != seen["plot_after"] and seen["bars"] >= 2
    assert seen["report_href"].endswith("/report")
    assert screenshot.stat().st_size > 10_000
