"""Video files read and written one frame at a time, with the file named in every refusal.

* :func:`probe` reads a clip's header: :class:`VideoInfo` (frames, frame rate, size, codec).
* :func:`iter_frames` streams decoded :class:`Frame` s as RGB PIL images, checking as it goes that
  every frame has the first frame's size and is shown at ``index / fps`` (a constant frame rate).
* :class:`VideoWriter` and :func:`write_video` write H.264 (libx264, yuv420p) in an MP4 at a
  constant frame rate, into a temporary file that is renamed only once the clip is complete.
* :func:`open_frames` reads a video or a still image alike: a still image is a one-frame clip.

PyAV bundles FFmpeg, so no system FFmpeg is needed. Memory stays bounded by a few frames whatever
the clip's length; reading never writes anything.

>>> import tempfile
>>> frames = [np.full((16, 16, 3), 40 * i, dtype=np.uint8) for i in range(3)]
>>> with tempfile.TemporaryDirectory() as folder:
...     info = write_video(Path(folder) / "clip.mp4", frames, fps=10)
...     times = [frame.time_s for frame in iter_frames(Path(folder) / "clip.mp4")]
>>> info.frames, info.fps, info.width, info.height, info.duration_s, info.codec
(3, 10.0, 16, 16, 0.3, 'h264')
>>> times
[0.0, 0.1, 0.2]
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import secrets
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
from PIL import Image, UnidentifiedImageError

from mmreason.errors import InvalidInputError, MissingDependencyError, MissingFileError, VideoError
from mmreason.vision.images import MAX_PIXELS, as_rgb, load_image

__all__ = [
    "STILL_SUFFIXES",
    "Frame",
    "FrameLike",
    "VideoError",
    "VideoInfo",
    "VideoWriter",
    "iter_frames",
    "open_frames",
    "probe",
    "write_video",
]

#: File suffixes tried as still images (with PIL) before they are tried as videos (with PyAV).
STILL_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})

#: The encoder, pixel format and container that :class:`VideoWriter` writes.
_ENCODER = "libx264"
_PIXEL_FORMAT = "yuv420p"
_CONTAINER = "mp4"
_WRITE_SUFFIXES = frozenset({".mp4", ".m4v"})
#: Frame rates are kept as fractions with at most this denominator (30000/1001 stays exact).
_MAX_RATE_DENOMINATOR = 1001


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What a clip's header says about its video stream.

    Attributes:
        path: the file, as given.
        frames: the number of frames (from the header, else counted from the packets).
        fps: frames per second.
        width: frame width in pixels.
        height: frame height in pixels.
        duration_s: ``frames / fps``, the clip's length at a constant frame rate.
        codec: FFmpeg's name of the video codec (``"h264"``).
    """

    path: str
    frames: int
    fps: float
    width: int
    height: int
    duration_s: float
    codec: str


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame.

    Attributes:
        index: the frame's position in the clip, from 0 (skipped frames count).
        time_s: when the frame is shown, in seconds after the first frame.
        image: the picture, RGB.
    """

    index: int
    time_s: float
    image: Image.Image


FrameLike = Image.Image | np.ndarray | Frame


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read a clip's header: frame count, frame rate, size and codec; no frame is decoded.

    A stream whose header gives no frame count (a raw H.264 file) has its packets counted, which
    reads the file but decodes nothing. A file cut after its header passes; :func:`iter_frames`
    finds the damage.

    Raises:
        MissingFileError: ``path`` does not exist.
        VideoError: not a video FFmpeg can read, damaged, no video stream, or no frames.
    """
    path = _existing(path)
    with _open(path) as container:
        stream = container.streams.video[0]
        frames = stream.frames
        if frames <= 0:
            # A packet holds one frame; counting them reads the file but decodes nothing.
            try:
                frames = sum(1 for packet in container.demux(stream) if packet.size)
            except PermissionError:
                raise
            except av.FFmpegError as exc:
                raise VideoError(
                    f"{path}: damaged video; counting its frames failed: {_reason(exc)}"
                ) from None
        if frames <= 0:
            raise VideoError(f"{path}: the video stream has no frames")
        fps = _rate(stream, path)
        return VideoInfo(
            path=str(path),
            frames=frames,
            fps=float(fps),
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            duration_s=float(frames / fps),
            codec=stream.codec_context.name,
        )


def iter_frames(
    path: str | os.PathLike[str], *, every: int = 1, max_frames: int | None = None
) -> Iterator[Frame]:
    """Decode a clip's frames one at a time, as RGB images.

    Every frame is decoded and checked, and every ``every``-th one (indices 0, ``every``,
    ``2 * every``, …) is converted and yielded; at most a few frames are held at once. Times come
    from the frames' timestamps, measured from the first frame's; in a stream without timestamps
    (raw H.264) frame ``i`` is shown at ``i / fps``.

    Args:
        path: the video file.
        every: yield one frame in this many.
        max_frames: stop after yielding this many frames (default: read to the end).

    Raises:
        MissingFileError: ``path`` does not exist.
        VideoError: not a video FFmpeg can read or no video stream (raised by this call); while
            streaming, no frames, a frame that cannot be decoded, a frame whose size differs from
            the first frame's (mixed frame sizes), or a frame shown more than half a frame period
            away from ``index / fps`` (a variable frame rate). Each names the file, and the frame's
            index where there is one.

    >>> iter_frames("clip.mp4", every=0)
    Traceback (most recent call last):
    ...
    mmreason.errors.InvalidInputError: every must be an integer of at least 1, found 0
    """
    if not _is_count(every):
        raise InvalidInputError(f"every must be an integer of at least 1, found {every!r}")
    if max_frames is not None and not _is_count(max_frames):
        raise InvalidInputError(f"max_frames must be None or an integer of at least 1, found {max_frames!r}")
    path = _existing(path)
    container = _open(path)
    try:
        fps = _rate(container.streams.video[0], path)
    except VideoError:
        container.close()
        raise
    return _iter_frames(container, path, fps, every, max_frames)


def _iter_frames(
    container: av.container.InputContainer, path: Path, fps: Fraction, every: int, max_frames: int | None
) -> Iterator[Frame]:
    with container:
        stream = container.streams.video[0]
        time_base = stream.time_base
        first_size: tuple[int, int] | None = None
        first_pts: int | None = None
        yielded = 0
        index = 0
        decoded = container.decode(stream)
        while max_frames is None or yielded < max_frames:
            try:
                frame = next(decoded, None)
            except PermissionError:
                raise
            except av.FFmpegError as exc:
                raise VideoError(
                    f"{path}: cannot decode frame {index} (damaged or truncated file): {_reason(exc)}"
                ) from None
            if frame is None:
                if index == 0:
                    raise VideoError(f"{path}: the video stream has no frames")
                return
            size = (frame.width, frame.height)
            if first_size is None:
                first_size = size
            elif size != first_size:
                raise VideoError(
                    f"{path}: mixed frame sizes: frame {index} is {_wxh(size)}, frame 0 is {_wxh(first_size)}"
                )
            expected = Fraction(index) / fps
            time = expected
            if index == 0:
                first_pts = frame.pts
            if first_pts is not None and frame.pts is not None and time_base is not None:
                time = (frame.pts - first_pts) * time_base
                # A constant frame rate shows frame i at i / fps; half a period off is another slot.
                if abs(time - expected) > 1 / (2 * fps):
                    raise VideoError(
                        f"{path}: variable frame rate: frame {index} is shown at {float(time):.4g} s, "
                        f"expected {float(expected):.4g} s at {float(fps):g} fps"
                    )
            if index % every == 0:
                yield Frame(index=index, time_s=float(time), image=frame.to_image())
                yielded += 1
            index += 1


def open_frames(source: str | os.PathLike[str] | Image.Image) -> Iterator[Frame]:
    """The frames of a video, or a still image as a one-frame clip (index 0, time 0).

    A path whose suffix is in :data:`STILL_SUFFIXES` and that PIL recognises is read as an image
    (through :func:`~mmreason.vision.images.load_image`); any other path is read as a video.

    Raises:
        MissingFileError: ``source`` is a path that does not exist.
        ImageError: a still image that is damaged, too large or in an unusable mode.
        VideoError: as :func:`iter_frames`.
        InvalidInputError: ``source`` is neither a path nor a PIL image.

    >>> [(f.index, f.time_s, f.image.size) for f in open_frames(Image.new("L", (4, 2)))]
    [(0, 0.0, (4, 2))]
    """
    if isinstance(source, Image.Image):
        return iter((Frame(index=0, time_s=0.0, image=as_rgb(source)),))
    if not isinstance(source, (str, os.PathLike)):
        raise InvalidInputError(
            f"source must be a path to a video or image, or a PIL image, found {type(source).__name__}"
        )
    path = _existing(source)
    if _is_still(path):
        return iter((Frame(index=0, time_s=0.0, image=load_image(path)),))
    return iter_frames(path)


class VideoWriter:
    """Write an H.264 MP4 (libx264, yuv420p) at a constant frame rate, one frame at a time.

    Frame ``i`` has timestamp ``i`` in a time base of ``1 / fps``. Frames go to a hidden temporary
    file in the destination folder, which :meth:`close` renames to ``path`` (replacing any file
    there); a reader never sees a partial clip. If the ``with`` block raises, or :meth:`abort` is
    called, the temporary file is removed and ``path`` is left as it was. A writer given no frames
    makes no file: :meth:`close` raises :class:`VideoError`.

    yuv420p stores colour at half resolution, so the width and height must be even: an odd size
    is refused rather than padded or cropped, which would change the picture.

    Args:
        path: the ``.mp4`` (or ``.m4v``) file to write; its folder must exist.
        fps: frames per second, a positive int, float or fraction (12.5, ``Fraction(30000, 1001)``),
            kept as a fraction with a denominator of at most 1001.
        size: ``(width, height)`` of every frame (default: the first frame's).
        crf: x264's constant rate factor, 0 (lossless) to 51; 18 is visually lossless.

    Raises:
        InvalidInputError: a bad ``path`` suffix, ``fps``, ``size`` or ``crf``.
        MissingFileError: the destination folder does not exist.

    >>> with VideoWriter("a.mp4", fps=10) as writer:
    ...     writer.write(np.zeros((3, 4, 3), dtype=np.uint8))
    Traceback (most recent call last):
    ...
    mmreason.errors.InvalidInputError: a.mp4: frame 0 is 4×3; H.264 in yuv420p needs an even width and height
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fps: float | Fraction,
        size: tuple[int, int] | None = None,
        crf: int = 18,
    ) -> None:
        path = Path(path)
        if path.suffix.lower() not in _WRITE_SUFFIXES:
            raise InvalidInputError(
                f"{path}: the writer makes MP4 files; path must end in .mp4 or .m4v, found {path.suffix!r}"
            )
        if not path.parent.is_dir():
            raise MissingFileError(path.parent, what="folder")
        if isinstance(crf, bool) or not isinstance(crf, numbers.Integral) or not 0 <= crf <= 51:
            raise InvalidInputError(f"crf must be an integer from 0 to 51, found {crf!r}")
        if size is not None:
            if not isinstance(size, (tuple, list)) or len(size) != 2 or not all(_is_count(n) for n in size):
                raise InvalidInputError(f"size must be (width, height) in positive integers, found {size!r}")
            size = (int(size[0]), int(size[1]))
            _check_even(size, path, "size")
        self.path = path
        self.fps = _positive_rate(fps)
        self.size = size
        self.crf = int(crf)
        #: How many frames have been written.
        self.frames = 0
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._partial: Path | None = None
        self._cleanup: weakref.finalize | None = None
        self._closed = False

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, frame: FrameLike) -> None:
        """Append one frame: a PIL image (any mode that becomes RGB), an ``[H, W, 3]`` uint8 array,
        or a :class:`Frame`.

        Raises:
            InvalidInputError: not a frame, an odd size, or a size unlike the first frame's.
            VideoError: the writer is closed, or the encoder failed.
        """
        if self._closed:
            raise VideoError(f"{self.path}: the writer is closed")
        index = self.frames
        pixels = self._pixels(frame, index)
        height, width = pixels.shape[:2]
        if self.size is None:
            _check_even((width, height), self.path, f"frame {index}")
            self.size = (width, height)
        elif (width, height) != self.size:
            raise InvalidInputError(
                f"{self.path}: frame {index} is {_wxh((width, height))}, expected {_wxh(self.size)} "
                "like the frames before it"
                if index
                else f"{self.path}: frame 0 is {_wxh((width, height))}, expected size={self.size!r}"
            )
        if self._container is None:
            self._start()
        video_frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        video_frame.pts = index
        try:
            self._mux(self._stream.encode(video_frame))
        except av.FFmpegError as exc:
            raise VideoError(f"{self.path}: encoding frame {index} failed: {_reason(exc)}") from None
        self.frames += 1

    def close(self) -> None:
        """Finish the clip and move it to ``path``; a second call does nothing.

        Raises:
            VideoError: no frame was written (no file is made), or the encoder failed.
        """
        if self._closed:
            return
        if self._container is None:
            self._closed = True
            raise VideoError(f"{self.path}: no frames were written; an empty video is not made")
        try:
            # Flush the frames the encoder still holds (B-frames wait for later ones).
            self._mux(self._stream.encode(None))
            self._container.close()
        except av.FFmpegError as exc:
            self.abort()
            raise VideoError(f"{self.path}: finishing the clip failed: {_reason(exc)}") from None
        self._closed = True
        try:
            os.replace(self._partial, self.path)
        except OSError:
            self._cleanup()
            raise
        self._cleanup.detach()

    def abort(self) -> None:
        """Stop without making a file: the temporary file is removed and ``path`` is left as it was."""
        self._closed = True
        if self._cleanup is not None:
            self._cleanup()

    def _pixels(self, frame: FrameLike, index: int) -> np.ndarray:
        if isinstance(frame, Frame):
            frame = frame.image
        if isinstance(frame, Image.Image):
            return np.asarray(as_rgb(frame, name=f"{self.path}: frame {index}"))
        if isinstance(frame, np.ndarray):
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise InvalidInputError(
                    f"{self.path}: frame {index} must be an [H, W, 3] uint8 array, "
                    f"found shape {frame.shape} of {frame.dtype}"
                )
            if frame.shape[0] * frame.shape[1] > MAX_PIXELS:
                raise InvalidInputError(
                    f"{self.path}: frame {index} has {frame.shape[0] * frame.shape[1]:,} pixels, "
                    f"over the limit of {MAX_PIXELS:,}"
                )
            return np.ascontiguousarray(frame)
        raise InvalidInputError(
            f"{self.path}: frame {index} must be a PIL image, an [H, W, 3] uint8 array or a Frame, "
            f"found {type(frame).__name__}"
        )

    def _start(self) -> None:
        if _ENCODER not in av.codecs_available:
            raise MissingDependencyError(
                f"the installed PyAV has no {_ENCODER} encoder; writing H.264 needs it"
            )
        # A hidden name in the same folder, so that the final rename is atomic.
        partial = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(descriptor)
        try:
            container = av.open(str(partial), mode="w", format=_CONTAINER)
            stream = container.add_stream(_ENCODER, rate=self.fps, options={"crf": str(self.crf)})
            stream.width, stream.height = self.size
            stream.pix_fmt = _PIXEL_FORMAT
            stream.codec_context.time_base = 1 / self.fps
            stream.time_base = 1 / self.fps
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        self._container, self._stream, self._partial = container, stream, partial
        self._cleanup = weakref.finalize(self, _discard, container, partial)

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            self._container.mux(packet)


def write_video(
    path: str | os.PathLike[str], frames: Iterable[FrameLike], *, fps: float | Fraction, crf: int = 18
) -> VideoInfo:
    """Write ``frames`` (streamed, one at a time) as an H.264 MP4 and return what :func:`probe` reads.

    Frames are as :meth:`VideoWriter.write` takes them, so ``iter_frames`` of one clip can be
    written as another.

    Raises:
        InvalidInputError: as :class:`VideoWriter`.
        VideoError: ``frames`` is empty (no file is made), or the encoder failed.
    """
    with VideoWriter(path, fps=fps, crf=crf) as writer:
        for frame in frames:
            writer.write(frame)
    return probe(path)


def _discard(container: av.container.OutputContainer, partial: Path) -> None:
    with contextlib.suppress(av.FFmpegError):
        container.close()
    partial.unlink(missing_ok=True)


def _existing(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, what="video")
    return path


def _open(path: Path) -> av.container.InputContainer:
    try:
        container = av.open(str(path), mode="r")
    except PermissionError:
        raise
    except av.FFmpegError as exc:
        raise VideoError(f"{path}: not a video FFmpeg can read, or damaged: {_reason(exc)}") from None
    streams = container.streams.video
    if not streams:
        kinds = ", ".join(stream.type for stream in container.streams) or "none"
        container.close()
        raise VideoError(f"{path}: no video stream (streams: {kinds})")
    width, height = streams[0].codec_context.width, streams[0].codec_context.height
    if width < 1 or height < 1:
        container.close()
        raise VideoError(
            f"{path}: not a video FFmpeg can read, or damaged: frames of {_wxh((width, height))}"
        )
    if width * height > MAX_PIXELS:
        container.close()
        raise VideoError(
            f"{path}: frames of {_wxh((width, height))} = {width * height:,} pixels are over the limit of "
            f"{MAX_PIXELS:,}"
        )
    return container


def _rate(stream: av.video.stream.VideoStream, path: Path) -> Fraction:
    # FFmpeg's best guess from the container and the codec; the average rate when it has none.
    for rate in (stream.guessed_rate, stream.average_rate):
        if rate:
            return Fraction(rate.numerator, rate.denominator)
    raise VideoError(f"{path}: the video stream reports no frame rate")


def _positive_rate(fps: object) -> Fraction:
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not math.isfinite(fps) or fps <= 0:
        raise InvalidInputError(f"fps must be a positive number, found {fps!r}")
    rate = Fraction(fps).limit_denominator(_MAX_RATE_DENOMINATOR)
    if rate <= 0:
        raise InvalidInputError(f"fps must be at least 1/{_MAX_RATE_DENOMINATOR}, found {fps!r}")
    return rate


def _is_still(path: Path) -> bool:
    if path.suffix.lower() not in STILL_SUFFIXES:
        return False
    try:
        with Image.open(path):
            return True
    except (UnidentifiedImageError, OSError):
        return False


def _check_even(size: tuple[int, int], path: Path, what: str) -> None:
    if size[0] % 2 or size[1] % 2:
        raise InvalidInputError(
            f"{path}: {what} is {_wxh(size)}; H.264 in yuv420p needs an even width and height"
        )


def _is_count(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _wxh(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def _reason(exc: av.FFmpegError) -> str:
    return exc.strerror or str(exc)
