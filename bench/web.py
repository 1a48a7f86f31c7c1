"""The web page's latency: a warm ``mmreason serve`` against the cold ``mmreason ask``.

The server is started for real on loopback and warmed with one picture; then, for each of
several unseen renders, the upload (decode, grounding, overlay) and the first question are
timed separately, then two follow-ups. The peer is what a user without the server runs:
``mmreason ask IMAGE QUESTION``, a fresh process per question (models loaded each time).
Targets (issue: the web page): the first question ≤ 2 s after the upload, follow-ups ≤ 300 ms.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from bench.harness import BenchReport, Comparison

QUESTIONS = ("Which vehicle is closest to the crosswalk?", "What colour is it?", "Must it stop?")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: bytes, content_type: str) -> dict:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _upload(root: str, path: Path) -> dict:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return _post(root + "/api/sessions", body, f"multipart/form-data; boundary={boundary}")


def _ask(root: str, session: str, question: str) -> dict:
    body = json.dumps({"question": question}).encode()
    return _post(f"{root}/api/sessions/{session}/ask", body, "application/json")


def run(*, quick: bool, device: str, out: Path) -> BenchReport:
    from mmreason.worlds.crossing import render_scene

    count = 4 if quick else 12
    cold_runs = 2 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        pictures = []
        for i in range(count + 1):
            path = Path(tmp) / f"render-{i}.png"
            render_scene(9_100_000 + i)[0].save(path)
            pictures.append(path)
        port = _port()
        root = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "mmreason", "--device", "cpu", "serve", "--port", str(port)]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            started = time.perf_counter()
            while True:
                try:
                    urllib.request.urlopen(root + "/api/info", timeout=2).close()
                    break
                except OSError:
                    if server.poll() is not None or time.perf_counter() - started > 120:
                        raise RuntimeError("mmreason serve did not start") from None
                    time.sleep(0.2)
            startup = time.perf_counter() - started
            warm = _upload(root, pictures[0])  # the same warm-up a user's first visitor pays
            _ask(root, warm["session"], QUESTIONS[0])
            uploads, firsts, follows = [], [], []
            for path in pictures[1:]:
                start = time.perf_counter()
                session = _upload(root, path)["session"]
                uploads.append(time.perf_counter() - start)
                start = time.perf_counter()
                _ask(root, session, QUESTIONS[0])
                firsts.append(time.perf_counter() - start)
                for question in QUESTIONS[1:]:
                    start = time.perf_counter()
                    _ask(root, session, question)
                    follows.append(time.perf_counter() - start)
        finally:
            server.terminate()
            server.wait(timeout=30)
        cold = []
        for path in pictures[1 : 1 + cold_runs]:
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "mmreason", "--device", "cpu", "ask", str(path), QUESTIONS[0]],
                check=True,
                capture_output=True,
            )
            cold.append(time.perf_counter() - start)
    median = statistics.median
    rows = [
        Comparison(
            "first question after the upload (warm server) vs mmreason ask (cold process)",
            median(firsts),
            median(cold),
            "mmreason ask",
            ours_range=(min(firsts), max(firsts)),
            peer_range=(min(cold), max(cold)),
            ours_target=2.0,
        ),
        Comparison(
            "upload + first answer (grounding included) vs mmreason ask",
            median([u + f for u, f in zip(uploads, firsts, strict=True)]),
            median(cold),
            "mmreason ask",
            ours_target=2.0,
        ),
        Comparison(
            "follow-up question (warm server) vs mmreason ask",
            median(follows),
            median(cold),
            "mmreason ask",
            ours_range=(min(follows), max(follows)),
            peer_range=(min(cold), max(cold)),
            ours_target=0.3,
        ),
    ]
    notes = (
        f"{count} unseen renders after one warm-up picture; upload (decode, grounding, overlay) median "
        f"{median(uploads) * 1000:.0f} ms; server start with models loaded {startup:.1f} s; "
        f"mmreason ask timed {cold_runs} times (a fresh process each).",
    )
    return BenchReport("web", tuple(rows), params={"pictures": count, "device": "cpu"}, notes=notes)
