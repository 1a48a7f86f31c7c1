"""Clips of a world written to a folder: one MP4 and one JSON of its truth per seed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmreason.errors import InvalidInputError

__all__ = ["write_clips"]


def write_clips(world: Any, out: str | Path, *, seed: int = 0, count: int = 1) -> list[Path]:
    """Render ``count`` clips from ``seed`` with the world's clip renderer into ``out``.

    Each clip is ``clip-SEED.mp4`` beside ``clip-SEED.json``: the renderer's truth as its
    ``to_dict()`` gives it (what re-runs and scores the clip), when it has one.
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
        record = {"seed": s, "video": path.name, **(truth.to_dict() if hasattr(truth, "to_dict") else {})}
        (folder / f"clip-{s}.json").write_text(json.dumps(record, indent=2))
        paths.append(path)
    return paths
