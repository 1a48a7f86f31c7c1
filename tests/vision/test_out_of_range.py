"""Pictures unlike those a world's model was trained on are converted where that loses nothing, and
otherwise answered with a warning and a confidence that says so; never "1.00" from a 1×1 image."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from mmreason.reasoner import Reasoner
from mmreason.vision.images import conversions, load_image
from mmreason.worlds.crossing import render_scene


@pytest.fixture(scope="module")
def reasoner():
    return Reasoner.default(device="cpu")


def _png(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **kwargs)
    return buffer.getvalue()


RENDER = render_scene(2)[0]


def _half_transparent() -> bytes:
    rgba = np.asarray(RENDER.convert("RGBA")).copy()
    rgba[..., 3] = 128
    return _png(Image.fromarray(rgba))


def _sixteen_bit_grey() -> bytes:
    return _png(Image.fromarray(np.asarray(RENDER.convert("L")).astype(np.uint16) * 257))


def _animated() -> bytes:
    buffer = io.BytesIO()
    RENDER.save(buffer, format="GIF", save_all=True, append_images=[RENDER.rotate(180)], duration=100)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("source", "note", "trust"),
    [
        (_half_transparent(), "half-transparent, laid on white", 0.5),
        (_png(RENDER.convert("RGBA")), "transparent pixels laid on white", 1.0),
        (_sixteen_bit_grey(), "grey scaled to 8 bits", 1.0),
        (_animated(), "the first of 2 frames", 1.0),
    ],
)
def test_conversions_are_noted_with_what_they_cost(source, note, trust):
    image = load_image(source)
    assert image.mode == "RGB"
    (_, cost), *_ = [c for c in conversions(image) if note in c[0]]
    assert cost == trust


def test_a_one_pixel_picture_gets_no_answer(reasoner):
    answer = reasoner.ask(Image.new("RGB", (1, 1), (90, 90, 90)), "What is the weather?")
    assert answer.value is None and answer.confidence == 0.0
    assert "far smaller than the 640×320 pictures" in answer.text
    # Knowledge needs no picture: a bad one changes nothing.
    assert reasoner.ask(Image.new("RGB", (1, 1)), "Is a bus a vehicle?").value is True


@pytest.mark.parametrize(
    ("source", "warning"),
    [(_half_transparent(), "half-transparent"), (_sixteen_bit_grey(), "a grey picture")],
)
def test_a_picture_changed_or_unlike_the_training_ones_is_answered_with_less_confidence(
    reasoner, source, warning
):
    plain = reasoner.ask(RENDER, "Is there a truck?")
    answer = reasoner.ask(source, "Is there a truck?")
    assert any(s.kind == "ground" and warning in s.detail for s in answer.steps)
    assert answer.confidence <= 0.5 * plain.confidence + 1e-9


def test_a_render_as_trained_is_unchanged(reasoner):
    answer = reasoner.ask(RENDER, "Is there a truck?")
    assert not any("out of range" in s.detail for s in answer.steps)
