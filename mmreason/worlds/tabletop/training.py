"""What the tabletop's two trained models share: reading a render folder, and the training loop.

The detector (:mod:`mmreason.worlds.tabletop.detector`) and the crop reader
(:mod:`mmreason.worlds.tabletop.crops`) both learn from a folder of renders in
CLEVR's layout, hold out its last renders, and train with AdamW on a one-cycle
schedule, a batch of renders a step, the lights' brightness jittered.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mmreason.errors import InvalidInputError

__all__ = ["brightness", "fit", "read_renders", "save_weights"]


def read_renders(folder: Path, validation: int) -> tuple[list[dict[str, Any]], list[Image.Image]]:
    """The scene records of ``folder/scenes.json`` and their pictures; refused when there are no
    more than ``validation`` of them to hold out."""
    records = json.loads((folder / "scenes.json").read_text(encoding="utf-8"))["scenes"]
    if len(records) <= validation:
        raise InvalidInputError(f"{folder}: {len(records)} scenes; need more than the {validation} held out")
    images = [Image.open(folder / "images" / r["image_filename"]).convert("RGB") for r in records]
    return records, images


def brightness(x: Any, rng: np.random.Generator) -> Any:
    """``x`` (pictures scaled for a network) with its brightness jittered half the time: lights vary."""
    if rng.random() < 0.5:
        return x * float(rng.uniform(0.85, 1.15)) + float(rng.uniform(-0.05, 0.05))
    return x


def fit(
    model: Any,
    train: Sequence[int],
    loss_of: Callable[[np.ndarray], Any],
    *,
    epochs: int,
    batch: int,
    lr: float,
    rng: np.random.Generator,
    desc: str,
    progress: bool,
) -> None:
    """Train ``model`` for ``epochs`` passes over ``train`` in shuffled batches; ``loss_of`` gives
    the loss of a batch of render indices. AdamW with a one-cycle schedule; the model is left in
    eval mode."""
    import torch
    from tqdm.auto import tqdm

    steps = epochs * math.ceil(len(train) / batch)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps, pct_start=0.1)
    bar = tqdm(total=steps, desc=desc, disable=not progress)
    model.train()
    for _ in range(epochs):
        order = rng.permutation(train)
        for k in range(0, len(order), batch):
            loss = loss_of(order[k : k + batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    model.eval()


def save_weights(model: Any, path: Path) -> None:
    """``model``'s weights as safetensors at ``path`` (its folder made if need be)."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
