"""The web app: one Reasoner per server process, one Conversation per visitor's session.

FastAPI serves one page of our own (``page.html``: HTML, CSS and plain JavaScript, no build
step) and a small JSON API the page calls:

==========================================  =====================================================
``GET  /``                                  the page
``GET  /api/info``                          the world, its example pictures, the SCM's variables
``GET  /api/examples/{name}``               an example picture (PNG), rendered by the world's renderer
``POST /api/sessions``                      upload a picture (multipart ``file``) or pick ``example``:
                                            a new session, its grounded objects and overlay
``GET  /api/sessions/{id}/overlay.png``     the picture with the grounded boxes and labels drawn
``POST /api/sessions/{id}/ask``             ``{"question": ...}``: the answer, its steps, their graph
``POST /api/sessions/{id}/whatif``          ``{"target", "variable", "value"}``: factual and
                                            counterfactual distributions of the target
``GET  /api/sessions/{id}/report``          the conversation as a Markdown report (download)
==========================================  =====================================================

Sessions are keyed by an unguessable id (``secrets.token_urlsafe``) and never shared; the
least recently used is dropped past :data:`MAX_SESSIONS`. Uploads are refused, with a message
the page shows, past :data:`MAX_UPLOAD_BYTES`, past ``MAX_IMAGE_PIXELS`` (read from the header
before decoding), or when they are not pictures. Errors of the library come back as JSON
``{"error": ...}`` with status 400/404/413, never as a traceback.

Why not Gradio: the page needs an overlay whose boxes are the grounding's, a step graph and a
what-if plot that redraw from JSON, and a browser test that drives them; a page of our own over
FastAPI does that in a few hundred lines with three small dependencies, and the same JSON API
serves scripts.
"""

from __future__ import annotations

import io
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from mmreason.errors import ImageError, MmreasonError

__all__ = ["MAX_SESSIONS", "MAX_UPLOAD_BYTES", "create_app", "serve"]

#: Largest upload accepted, in bytes.
MAX_UPLOAD_BYTES = 20 * 2**20
#: Sessions kept; the least recently used is dropped past this.
MAX_SESSIONS = 64
#: Example pictures offered when the world has a renderer (their seeds).
EXAMPLE_SEEDS = (9000001, 9000002, 9000003)
PAGE = Path(__file__).with_name("page.html")


@dataclass
class Session:
    id: str
    name: str
    image: Any  # PIL image
    scene: Any  # SceneGraph
    conversation: Any  # Conversation
    overlay: bytes
    created: float = field(default_factory=time.time)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Sessions:
    """Every visitor's conversation, by id; the least recently used goes first."""

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self.limit = limit
        self._items: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, session: Session) -> None:
        with self._lock:
            self._items[session.id] = session
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def get(self, key: str) -> Session | None:
        with self._lock:
            session = self._items.get(key)
            if session is not None:
                self._items.move_to_end(key)
            return session

    def __len__(self) -> int:
        return len(self._items)


def draw_overlay(image: Any, scene: Any) -> bytes:
    """The picture with each grounded object's box, label and confidence drawn on it (PNG)."""
    from PIL import ImageDraw, ImageFont

    canvas = image.convert("RGB").copy()
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    palette = ("#ff3b30", "#34c759", "#0a84ff", "#ff9f0a", "#bf5af2", "#64d2ff", "#ffd60a")
    width = max(2, round(max(canvas.size) / 300))
    for index, obj in enumerate(scene.objects):
        colour = palette[index % len(palette)]
        x0, y0, x1, y1 = obj.bbox
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=width)
        text = f"{obj.id}: {obj.type.value} {obj.type.confidence:.2f}"
        box = draw.textbbox((x0, y0), text, font=font)
        top = max(0, y0 - (box[3] - box[1]) - 4)
        draw.rectangle((x0, top, x0 + box[2] - box[0] + 6, top + box[3] - box[1] + 4), fill=colour)
        draw.text((x0 + 3, top + 1), text, fill="black", font=font)
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def scene_json(scene: Any) -> dict[str, Any]:
    return {
        "size": list(scene.size),
        "reliability": scene.reliability,
        "warnings": list(scene.warnings),
        "attributes": {
            name.rsplit("#", 1)[-1].rsplit("/", 1)[-1]: {
                "value": a.value,
                "confidence": round(a.confidence, 4),
            }
            for name, a in scene.attributes.items()
        },
        "objects": [
            {
                "id": o.id,
                "type": o.type.value,
                "confidence": round(o.type.confidence, 4),
                "bbox": list(o.bbox),
                "attributes": {
                    name.rsplit("#", 1)[-1].rsplit("/", 1)[-1]: a.value for name, a in o.attributes.items()
                },
            }
            for o in scene.objects
        ],
    }


def step_graph(answer: Any) -> dict[str, Any]:
    """The answer's steps as a chain of nodes (grounding → parse → SPARQL → SCM) for the page."""
    nodes = [{"id": "question", "kind": "question", "label": answer.question, "confidence": 1.0}]
    edges = []
    for index, step in enumerate(answer.steps):
        node = f"s{index}"
        nodes.append(
            {"id": node, "kind": step.kind, "label": step.detail, "confidence": round(step.confidence, 4)}
        )
        edges.append({"from": nodes[-2]["id"], "to": node})
    nodes.append(
        {"id": "answer", "kind": "answer", "label": answer.to_dict()["text"], "confidence": answer.confidence}
    )
    edges.append({"from": nodes[-2]["id"], "to": "answer"})
    return {"nodes": nodes, "edges": edges}


def distribution_json(
    dist: Any, *, bins: int = 24, span: tuple[float, float] | None = None
) -> dict[str, Any]:
    """A distribution as bars: a probability per value, or a histogram of weighted samples."""
    import numpy as np

    if hasattr(dist, "items"):
        return {"kind": "discrete", "bars": [{"x": str(v), "p": float(p)} for v, p in dist.items()]}
    low, high = span if span is not None else (dist.quantile(0.005), dist.quantile(0.995))
    if high <= low:
        high = low + 1.0
    counts, edges = np.histogram(
        np.clip(dist.samples, low, high), bins=bins, range=(low, high), weights=dist.weights
    )
    return {
        "kind": "real",
        "mean": dist.mean(),
        "bars": [
            {"x": float((a + b) / 2), "p": float(c)}
            for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)
        ],
    }


class App:
    """What the routes share: the Reasoner (models loaded once) and the sessions."""

    def __init__(self, world: str | Path | None = None, *, device: str = "cpu", reasoner: Any = None) -> None:
        from mmreason.reasoner import Reasoner

        self.reasoner = reasoner or Reasoner.from_world(world, device=device)
        self.world = self.reasoner.world
        self.sessions = Sessions()
        self._examples: dict[str, bytes] = {}
        self._upload_dir: Any = None  # uploaded clips, removed when the server stops
        self._lock = threading.Lock()

    # --------------------------------------------------------------- examples

    def example_names(self) -> list[str]:
        if self.world is None or self.world.renderer is None:
            return []
        return [f"{self.world.name}-{seed}.png" for seed in EXAMPLE_SEEDS]

    def example(self, name: str) -> bytes:
        if name not in self.example_names():
            raise KeyError(name)
        with self._lock:
            if name not in self._examples:
                seed = int(name.rsplit("-", 1)[1].removesuffix(".png"))
                image = self.world.load_renderer()(seed)[0]
                out = io.BytesIO()
                image.save(out, format="PNG")
                self._examples[name] = out.getvalue()
            return self._examples[name]

    # --------------------------------------------------------------- sessions

    def open_session(self, data: bytes, name: str) -> Session:
        from mmreason.reasoner import VIDEO_SUFFIXES
        from mmreason.vision.images import load_image

        if len(data) > MAX_UPLOAD_BYTES:
            raise UploadTooLarge(
                f"{name}: {len(data) / 2**20:.1f} MB is over the {MAX_UPLOAD_BYTES // 2**20} MB upload limit"
            )
        suffix = Path(name).suffix.lower()
        if suffix in VIDEO_SUFFIXES:
            # A clip is read from a file (the world's clip reader streams its frames): it is kept
            # in the server's folder of uploads while the server runs.
            from mmreason.vision.video import iter_frames

            path = self._uploads() / f"{secrets.token_hex(8)}{suffix}"
            path.write_bytes(data)
            first = next(iter_frames(path, max_frames=1), None)
            if first is None:
                raise ImageError(f"{name}: the clip has no frames")
            image, source = first.image, path
            scene = self.reasoner.ground(path, image_id=Path(name).stem or "upload")
        else:
            image = load_image(data, name=name)  # the pixel limit is checked from the header first
            source = image
            scene = self.reasoner.ground(image, image_id=Path(name).stem or "upload")
        conversation = self.reasoner.conversation(source)
        session = Session(
            id=secrets.token_urlsafe(16),
            name=name,
            image=image,
            scene=scene,
            conversation=conversation,
            overlay=draw_overlay(image, scene),
        )
        self.sessions.add(session)
        return session

    def _uploads(self) -> Path:
        import tempfile

        with self._lock:
            if self._upload_dir is None:
                self._upload_dir = tempfile.TemporaryDirectory(prefix="mmreason-serve-")
            return Path(self._upload_dir.name)

    def ask(self, session: Session, question: str) -> dict[str, Any]:
        with session.lock:
            answer = session.conversation.ask(question)
        return {
            "answer": answer.to_dict(),
            "graph": step_graph(answer),
            "turn": len(session.conversation.turns),
        }

    # --------------------------------------------------------------- what-if

    def variables(self) -> list[dict[str, Any]]:
        scm = self.reasoner.scm
        if scm is None:
            return []
        out = []
        for name in scm.variables:
            spec = scm.spec.variables[name]
            domain = scm.domain(name)
            entry: dict[str, Any] = {"name": name, "description": getattr(spec, "description", "") or ""}
            if domain is not None:
                entry.update(kind="discrete", values=[str(v) for v in domain])
            else:
                bounds = spec.bounds
                entry.update(
                    kind="real",
                    low=None if bounds is None else bounds[0],
                    high=None if bounds is None else bounds[1],
                )
                entry["unit"] = getattr(spec, "unit", None)
            out.append(entry)
        return out

    def what_if(self, session: Session, target: str, variable: str, value: Any) -> dict[str, Any]:
        scm = self.reasoner.scm
        if scm is None:
            raise MmreasonError("this world has no causal model: nothing to intervene on")
        found = self.reasoner.executor.evidence(session.scene)
        assignment = scm.parse_assignments([f"{variable}={value}"], role="do")
        evidence = {k: v for k, v in found.evidence.items() if k != variable}
        soft = {k: v for k, v in found.soft_evidence.items() if k != variable}
        options = {"evidence": evidence, "soft_evidence": soft, "samples": 4000, "seed": 0}
        factual = scm.query(target, **options)
        counterfactual = scm.counterfactual(target, do=assignment, **options)
        span = None
        if not hasattr(factual, "items"):
            low = min(factual.quantile(0.005), counterfactual.quantile(0.005))
            high = max(factual.quantile(0.995), counterfactual.quantile(0.995))
            span = (low, high)
        return {
            "target": target,
            "do": {variable: str(value)},
            "evidence": {k: str(v) for k, v in evidence.items()},
            "soft_evidence": {k: {str(a): round(float(b), 4) for a, b in v.items()} for k, v in soft.items()},
            "factual": distribution_json(factual, span=span),
            "counterfactual": distribution_json(counterfactual, span=span),
        }

    def report(self, session: Session) -> str:
        lines = [
            f"# Conversation about {session.name}",
            "",
            f"World: {self.world.name if self.world else '-'}",
            "",
        ]
        lines.append("## What was grounded")
        lines.append("")
        for obj in session.scene.objects:
            attrs = ", ".join(f"{k.rsplit('#', 1)[-1]}={a.value}" for k, a in obj.attributes.items())
            lines.append(
                f"- {obj.id}: {obj.type.value} ({obj.type.confidence:.2f}) at {list(obj.bbox)} {attrs}"
            )
        lines.append("")
        lines.append("## Turns")
        for turn in session.conversation.turns:
            lines.append("")
            lines.append("```")
            lines.append(turn.explain())
            lines.append("```")
        return "\n".join(lines) + "\n"


class UploadTooLarge(MmreasonError):
    """An upload over :data:`MAX_UPLOAD_BYTES`."""


def create_app(world: str | Path | None = None, *, device: str = "cpu", reasoner: Any = None) -> Any:
    """The FastAPI application (models are loaded here, once)."""
    state = App(world, device=device, reasoner=reasoner)
    app = FastAPI(title="mmreason", docs_url=None, redoc_url=None)
    app.state.mmreason = state

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(MmreasonError)
    async def library_error(_: Request, exc: MmreasonError) -> JSONResponse:
        status = 413 if isinstance(exc, UploadTooLarge) else 400
        return error(status, str(exc))

    def session_or_404(key: str) -> Session:
        session = state.sessions.get(key)
        if session is None:
            raise LookupError(key)
        return session

    @app.exception_handler(LookupError)
    async def missing(_: Request, exc: LookupError) -> JSONResponse:
        return error(
            404, f"no such session or example: {exc.args[0] if exc.args else ''} (upload a picture again)"
        )

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return PAGE.read_text(encoding="utf-8")

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        scm = state.reasoner.scm
        return {
            "world": None if state.world is None else state.world.name,
            "examples": state.example_names(),
            "variables": state.variables(),
            "targets": [] if scm is None else list(scm.variables),
            "limits": {"upload_bytes": MAX_UPLOAD_BYTES, "pixels": _max_pixels()},
        }

    @app.get("/api/examples/{name}")
    def example(name: str) -> Response:
        try:
            return Response(state.example(name), media_type="image/png")
        except KeyError:
            raise LookupError(name) from None

    @app.post("/api/sessions")
    async def open_session(
        file: Annotated[UploadFile | None, File()] = None,
        example: Annotated[str | None, Form()] = None,
    ) -> dict[str, Any]:
        if file is not None:
            data = await file.read(MAX_UPLOAD_BYTES + 1)
            name = Path(file.filename or "upload").name
        elif example:
            try:
                data = state.example(example)
            except KeyError:
                raise LookupError(example) from None
            name = example
        else:
            raise ImageError("choose a picture to upload or an example")
        session = await _in_thread(state.open_session, data, name)
        return {
            "session": session.id,
            "name": session.name,
            "scene": scene_json(session.scene),
            "overlay": f"/api/sessions/{session.id}/overlay.png",
        }

    @app.get("/api/sessions/{key}/overlay.png")
    def overlay(key: str) -> Response:
        return Response(session_or_404(key).overlay, media_type="image/png")

    @app.post("/api/sessions/{key}/ask")
    async def ask(key: str, body: dict[str, Any]) -> dict[str, Any]:
        question = body.get("question")
        if not isinstance(question, str) or not question.strip():
            raise _bad("question")
        return await _in_thread(state.ask, session_or_404(key), question)

    @app.post("/api/sessions/{key}/whatif")
    async def whatif(key: str, body: dict[str, Any]) -> dict[str, Any]:
        for field_name in ("target", "variable", "value"):
            if body.get(field_name) in (None, ""):
                raise _bad(field_name)
        return await _in_thread(
            state.what_if, session_or_404(key), str(body["target"]), str(body["variable"]), body["value"]
        )

    @app.get("/api/sessions/{key}/report")
    def report(key: str) -> PlainTextResponse:
        session = session_or_404(key)
        name = Path(session.name).stem or "conversation"
        return PlainTextResponse(
            state.report(session),
            media_type="text/markdown",
            headers={"Content-Disposition": f'attachment; filename="{name}-report.md"'},
        )

    return app


def _bad(field_name: str) -> MmreasonError:
    from mmreason.errors import InvalidInputError

    return InvalidInputError(f"the field {field_name!r} is missing or empty")


def _max_pixels() -> int:
    from mmreason.limits import MAX_IMAGE_PIXELS

    return MAX_IMAGE_PIXELS


async def _in_thread(fn: Any, *args: Any) -> Any:
    """Run blocking work (grounding, inference) off the event loop."""
    import anyio

    return await anyio.to_thread.run_sync(fn, *args)


def serve(
    world: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 7860, device: str = "cpu"
) -> None:
    """Start the server (blocking). Binds to loopback unless ``host`` says otherwise."""
    import uvicorn

    app = create_app(world, device=device)
    world_name = getattr(app.state.mmreason.world, "name", "-")
    print(f"mmreason: serving the world {world_name!r} on http://{host}:{port}/", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
