"""Safe image loading: bad files are refused with the path, modes become RGB, memory stays bounded."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from mmreason.errors import ImageError, MissingFileError
from mmreason.vision.images import as_rgb, load_image


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _bomb_png(width: int, height: int) -> bytes:
    # A valid 1×1 PNG whose header claims width × height: decoding it would need gigabytes.
    data = bytearray(_png_bytes(Image.new("RGB", (1, 1))))
    ihdr = data[12:29]
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


@pytest.fixture
def files(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image at all\n")
    full = _png_bytes(Image.new("RGB", (64, 64), (10, 200, 30)))
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(full[: len(full) // 2])
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_bomb_png(100_000, 100_000))
    large = tmp_path / "large.png"
    large.write_bytes(_bomb_png(10_000, 5_000))
    return {"text": text, "truncated": truncated, "bomb": bomb, "large": large}


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("text", r"notes\.png: not an image"),
        ("truncated", r"cut\.png: damaged or truncated"),
        ("bomb", r"bomb\.png: too many pixels"),
        ("large", r"large\.png: 10000×5000 = 50,000,000 pixels is over the limit"),
    ],
)
def test_bad_files_are_refused_with_their_path(files, name, match):
    with pytest.raises(ImageError, match=match):
        load_image(files[name])


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match=r"nope\.png"):
        load_image(tmp_path / "nope.png")


def test_pixel_limit_is_a_setting():
    with pytest.raises(ImageError, match="over the limit of 100"):
        load_image(_png_bytes(Image.new("RGB", (20, 20))), max_pixels=100)


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "1", "I", "I;16", "F", "YCbCr"])
def test_modes_become_rgb(mode):
    image = Image.new("RGB", (8, 6), (200, 100, 50)).convert(mode)
    out = as_rgb(image)
    assert out.mode == "RGB" and out.size == (8, 6)


def test_sixteen_bit_png_scales_to_eight_bits(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16)).save(path)
    assert Image.open(path).mode.startswith("I")
    assert load_image(path).getpixel((0, 0)) == (255, 255, 255)


def test_transparent_pixels_lie_on_white():
    image = Image.new("RGBA", (2, 2), (255, 0, 0, 0))
    assert as_rgb(image).getpixel((0, 0)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.zeros((3, 5), dtype=np.uint8), (0, 0, 0)),
        (np.ones((3, 5, 3), dtype=np.float32), (255, 255, 255)),
        (np.full((3, 5), 65535, dtype=np.uint16), (255, 255, 255)),
    ],
)
def test_arrays(array, expected):
    image = load_image(array)
    assert image.size == (5, 3) and image.getpixel((0, 0)) == expected


@pytest.mark.parametrize(
    ("source", "match"),
    [
        (np.zeros((3, 5, 7), dtype=np.uint8), "shape"),
        (np.full((3, 3), np.nan), "NaN"),
        (np.zeros((3, 3), dtype=np.int8), "dtype"),
        (42, "found int"),
    ],
)
def test_bad_sources(source, match):
    with pytest.raises(ImageError, match=match):
        load_image(source)


def test_a_real_photo_loads():
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        image = load_image(fh.read())
    assert image.mode == "RGB" and image.size == (512, 600)
