"""Loading images safely: bounded size, whole files, one colour mode (RGB).

Every image that enters mmreason passes through :func:`load_image` (paths,
bytes, arrays) or :func:`as_rgb` (PIL images): a file that is not an image, a
truncated file, an image over :data:`MAX_PIXELS` (a decompression bomb) or an
unusable mode raises :class:`~mmreason.ImageError` naming the source; the pixel
count is checked from the header before any pixel is decoded, so memory stays
bounded.

>>> from PIL import Image
>>> as_rgb(Image.new("LA", (4, 4))).mode
'RGB'
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from mmreason.errors import ImageError, MissingFileError
from mmreason.limits import MAX_IMAGE_PIXELS

__all__ = ["CONVERTED", "MAX_PIXELS", "ImageLike", "as_rgb", "conversions", "load_image"]

#: The key of a loaded image's ``info`` under which its conversions are noted: ``[(what, trust)]``,
#: trust 1.0 for a lossless conversion and less for one that changed what the picture shows.
CONVERTED = "mmreason.converted"

#: The largest image accepted, in pixels (about 40 megapixels, 120 MB as RGB; see :mod:`mmreason.limits`).
MAX_PIXELS = MAX_IMAGE_PIXELS

ImageLike = str | Path | bytes | Image.Image | np.ndarray


def load_image(source: ImageLike, *, max_pixels: int = MAX_PIXELS, name: str | None = None) -> Image.Image:
    """Open an image from a path, bytes, a PIL image or an ``[H, W(, C)]`` array, as RGB.

    Args:
        source: the image or where it is.
        max_pixels: refuse images with more pixels than this.
        name: how messages name the source (default: the path, or the argument's type).

    Raises:
        MissingFileError: a path that does not exist.
        ImageError: not an image, truncated, too many pixels, or a mode that cannot become RGB.

    >>> load_image(np.zeros((2, 3), dtype=np.uint8)).size
    (3, 2)
    """
    if isinstance(source, Image.Image):
        return as_rgb(source, name=name or "image", max_pixels=max_pixels)
    if isinstance(source, np.ndarray):
        return as_rgb(_from_array(source, name or "array"), name=name or "array", max_pixels=max_pixels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _open(io.BytesIO(bytes(source)), name or "<bytes>", max_pixels)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise MissingFileError(path, what="image")
        with open(path, "rb") as fh:
            return _open(fh, name or str(path), max_pixels)
    raise ImageError(
        f"{name or 'image'}: expected a path, bytes, PIL image or array, found {type(source).__name__}"
    )


def _open(fh: Any, name: str, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(fh)
            width, height = image.size
            # Checked from the header, before the pixels are decoded.
            _check_pixels(width, height, name, max_pixels)
            frames = getattr(image, "n_frames", 1)
            image.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{name}: too many pixels to decode safely ({exc})") from None
    except Image.UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file PIL can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{name}: damaged or truncated image: {exc}") from None
    rgb = as_rgb(image, name=name, max_pixels=max_pixels)
    if frames > 1:
        rgb = _noted(rgb, f"the first of {frames} frames", 1.0)
    return rgb


def conversions(image: Image.Image) -> list[tuple[str, float]]:
    """What :func:`load_image` did to make ``image`` RGB: ``[(what, trust)]`` (empty: nothing)."""
    return list(image.info.get(CONVERTED, ()))


def _noted(image: Image.Image, what: str, trust: float) -> Image.Image:
    image.info[CONVERTED] = [*conversions(image), (what, trust)]
    return image


def _check_pixels(width: int, height: int, name: str, max_pixels: int) -> None:
    if width < 1 or height < 1:
        raise ImageError(f"{name}: empty image ({width}×{height})")
    if width * height > max_pixels:
        raise ImageError(
            f"{name}: {width}×{height} = {width * height:,} pixels is over the limit of {max_pixels:,} "
            "(a decompression bomb, or raise max_pixels)"
        )


def _from_array(array: np.ndarray, name: str) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(
            f"{name}: expected an array [H, W], [H, W, 3] or [H, W, 4], found shape {array.shape}"
        )
    if array.dtype == np.uint8:
        return Image.fromarray(array)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageError(f"{name}: float array holds NaN or infinity")
        return Image.fromarray((np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8))
    if array.dtype == np.uint16:
        return Image.fromarray((array >> 8).astype(np.uint8))
    raise ImageError(f"{name}: unsupported array dtype {array.dtype}; use uint8, uint16 or float in [0, 1]")


def as_rgb(image: Image.Image, *, name: str = "image", max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The same picture in RGB: grey, palette, CMYK and 16-bit modes are converted, alpha is laid on white.

    Raises:
        ImageError: not a PIL image, too many pixels, or a mode that cannot be converted.
    """
    if not isinstance(image, Image.Image):
        raise ImageError(f"{name}: expected a PIL image, found {type(image).__name__}")
    _check_pixels(image.width, image.height, name, max_pixels)
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(image, dtype=np.int64)
        top = 65535 if mode.startswith("I;16") or array.max(initial=0) > 255 else 255
        scaled = np.clip(array * 255 // max(top, 1), 0, 255).astype(np.uint8)
        return _noted(Image.fromarray(scaled).convert("RGB"), f"{mode} grey scaled to 8 bits", 1.0)
    if mode == "F":
        array = np.asarray(image, dtype=np.float64)
        if not np.isfinite(array).all():
            raise ImageError(f"{name}: float image holds NaN or infinity")
        high = max(float(array.max(initial=0.0)), 1e-12)
        rgb = Image.fromarray((np.clip(array / high, 0, 1) * 255).astype(np.uint8)).convert("RGB")
        return _noted(rgb, "a float image scaled to 8 bits", 1.0)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(background, rgba).convert("RGB")
        alpha = np.asarray(rgba.getchannel("A"))
        partial = float(((alpha > 0) & (alpha < 255)).mean())
        if partial > 0.01:
            # Half-transparent pixels blend with white: the picture is not the one that was taken.
            return _noted(rgb, f"{partial:.0%} of its pixels half-transparent, laid on white", 0.5)
        return _noted(rgb, "transparent pixels laid on white", 1.0)
    try:
        return image.convert("RGB")
    except (ValueError, OSError) as exc:
        raise ImageError(f"{name}: colour mode {mode!r} cannot be converted to RGB: {exc}") from None
