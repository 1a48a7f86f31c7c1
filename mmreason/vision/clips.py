"""Clips of a world written to a folder: one MP4 and one JSON of its truth per seed."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from mmreason.errors import InvalidInputError

__all__ = ["write_clips"]


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def write_clips(world: Any, out: str | Path, *, seed: int = 0, count: int = 1) -> list[Path]:
    """Render ``count`` clips from ``seed`` with the world's clip renderer into ``out``.

    Each clip is ``clip-SEED.mp4`` beside ``clip-SEED.json``: the renderer's truth (its
    ``run.draws`` and ``run.events`` when it has them), so the clip can be re-run and scored.
    """
    if count < 1 or seed < 0:
        raise InvalidInputError(f"count must be ≥ 1 and seed ≥ 0, found count={count}, seed={seed}")
    render = world.load_clip_renderer()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in range(seed, seed + count):
        path = folder / f"clip-{s}.mp4"
        truth = render(s, out=path)
        run = getattr(truth, "run", None)
        record = {"seed": s, "video": path.name}
        if run is not None:
            record["draws"] = _plain(run.draws)
            record["events"] = _plain(list(run.events))
            record["do"] = _plain(dict(run.do))
        (folder / f"clip-{s}.json").write_text(json.dumps(record, indent=2))
        paths.append(path)
    return paths
