"""Video files: round trips at a constant frame rate, bad files refused with their path, bounded memory."""

from __future__ import annotations

import gc
import io
import tracemalloc
import wave
import weakref
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from mmreason.errors import ImageError, InvalidInputError, MissingFileError, MmreasonError
from mmreason.vision.video import (
    Frame,
    VideoError,
    VideoInfo,
    VideoWriter,
    iter_frames,
    open_frames,
    probe,
    write_video,
)

WIDTH, HEIGHT = 64, 32
# H.264 is lossy and stores colour at half resolution: a solid colour comes back this close.
TOLERANCE = 12


def _colour(i: int) -> tuple[int, int, int]:
    return ((37 * i + 20) % 236 + 10, (73 * i + 90) % 236 + 10, (151 * i + 160) % 236 + 10)


def _solid(colour: tuple[int, int, int], size: tuple[int, int] = (WIDTH, HEIGHT)) -> np.ndarray:
    return np.full((size[1], size[0], 3), colour, dtype=np.uint8)


def _encode(target, pts: list[int], *, rate: int = 10, size=(WIDTH, HEIGHT), fmt="mp4", options=None, seed=0):
    """Encode noise frames with PyAV directly, at the given timestamps in a time base of 1/rate."""
    rng = np.random.default_rng(seed)
    container = av.open(target, "w", format=fmt, options=options or {})
    stream = container.add_stream("libx264", rate=rate)
    stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
    stream.codec_context.time_base = Fraction(1, rate)
    for t in pts:
        frame = av.VideoFrame.from_ndarray(
            rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), format="rgb24"
        )
        frame.pts = t
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
    container.close()


def _raw_h264(size: tuple[int, int], count: int) -> bytes:
    buffer = io.BytesIO()
    _encode(buffer, list(range(count)), size=size, fmt="h264")
    return buffer.getvalue()


@pytest.fixture
def clip(tmp_path):
    """Thirty frames of distinct solid colours at 10 fps."""
    path = tmp_path / "clip.mp4"
    write_video(path, [_solid(_colour(i)) for i in range(30)], fps=10)
    return path


@pytest.fixture
def bad_files(tmp_path):
    """Files each reader must refuse, by name."""
    good = tmp_path / "good.mp4"
    write_video(good, [_solid(_colour(i)) for i in range(20)], fps=10)
    data = good.read_bytes()
    folder = tmp_path / "bad"
    folder.mkdir()
    files = {}
    files["random"] = folder / "random.mp4"
    files["random"].write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    files["truncated"] = folder / "truncated.mp4"
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["audio"] = folder / "tone.wav"
    with wave.open(str(files["audio"]), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\0\0" * 800)
    # A YUV4MPEG2 header declares a 64×32 video stream; no frame follows it.
    files["empty"] = folder / "empty.y4m"
    files["empty"].write_bytes(b"YUV4MPEG2 W64 H32 F10:1 Ip A1:1 C420jpeg\n")
    return files


def test_round_trip_keeps_count_times_and_colours(clip):
    frames = list(iter_frames(clip))
    assert [f.index for f in frames] == list(range(30))
    assert [f.time_s for f in frames] == pytest.approx([i / 10 for i in range(30)])
    for i, frame in enumerate(frames):
        assert frame.image.mode == "RGB" and frame.image.size == (WIDTH, HEIGHT)
        error = np.abs(np.asarray(frame.image, dtype=int) - np.array(_colour(i)))
        assert error.max() <= TOLERANCE, (i, error.max())


def test_probe_reads_the_header(clip):
    assert probe(clip) == VideoInfo(
        path=str(clip), frames=30, fps=10.0, width=WIDTH, height=HEIGHT, duration_s=3.0, codec="h264"
    )


def test_fractional_frame_rate(tmp_path):
    path = tmp_path / "slow.mp4"
    info = write_video(path, [_solid(_colour(i)) for i in range(25)], fps=12.5)
    assert (info.frames, info.fps, info.duration_s) == (25, 12.5, 2.0)
    assert [f.time_s for f in iter_frames(path)] == pytest.approx([i / 12.5 for i in range(25)])


def test_every_and_max_frames(clip):
    frames = list(iter_frames(clip, every=3, max_frames=4))
    assert [(f.index, f.time_s) for f in frames] == [(0, 0.0), (3, 0.3), (6, 0.6), (9, 0.9)]
    error = np.abs(np.asarray(frames[2].image, dtype=int) - np.array(_colour(6)))
    assert error.max() <= TOLERANCE


def test_frames_of_one_clip_write_another(clip, tmp_path):
    copy = tmp_path / "copy.mp4"
    assert write_video(copy, iter_frames(clip), fps=10).frames == 30
    images = [Image.fromarray(_solid(_colour(0))).convert("L"), Frame(0, 0.0, Image.new("RGB", (8, 4)))]
    assert write_video(tmp_path / "mixed-kinds.mp4", images[:1], fps=5).codec == "h264"


@pytest.mark.parametrize(
    ("frames", "options", "error", "match"),
    [
        ([_solid((0, 0, 0), (63, 32))], {}, InvalidInputError, r"out\.mp4: frame 0 is 63×32; .* even width"),
        ([], {"size": (64, 31)}, InvalidInputError, r"out\.mp4: size is 64×31; .* even width"),
        (
            [_solid((0, 0, 0)), _solid((0, 0, 0)), _solid((0, 0, 0), (32, 32))],
            {},
            InvalidInputError,
            r"out\.mp4: frame 2 is 32×32, expected 64×32",
        ),
        (
            [_solid((0, 0, 0), (32, 32))],
            {"size": (64, 32)},
            InvalidInputError,
            r"frame 0 is 32×32, expected size",
        ),
        (
            [np.zeros((32, 64), np.uint8)],
            {},
            InvalidInputError,
            r"frame 0 must be an \[H, W, 3\] uint8 array",
        ),
        ([np.zeros((32, 64, 3), np.float32)], {}, InvalidInputError, r"found shape \(32, 64, 3\) of float32"),
        (["frame.png"], {}, InvalidInputError, r"frame 0 must be a PIL image, .* found str"),
        ([], {}, VideoError, r"out\.mp4: no frames were written"),
    ],
)
def test_writer_refuses_bad_frames_and_leaves_no_file(tmp_path, frames, options, error, match):
    with pytest.raises(error, match=match), VideoWriter(tmp_path / "out.mp4", fps=10, **options) as writer:
        for frame in frames:
            writer.write(frame)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"fps": 0}, "fps must be a positive number, found 0"),
        ({"fps": -5}, "fps must be a positive number"),
        ({"fps": float("nan")}, "fps must be a positive number, found nan"),
        ({"fps": float("inf")}, "fps must be a positive number"),
        ({"fps": True}, "fps must be a positive number, found True"),
        ({"fps": "10"}, "fps must be a positive number, found '10'"),
        ({"fps": 10, "crf": 52}, "crf must be an integer from 0 to 51, found 52"),
        ({"fps": 10, "size": (64, 0)}, r"size must be \(width, height\)"),
    ],
)
def test_writer_refuses_bad_settings(tmp_path, options, match):
    with pytest.raises(InvalidInputError, match=match):
        VideoWriter(tmp_path / "out.mp4", **options)


def test_writer_refuses_other_containers_and_missing_folders(tmp_path):
    with pytest.raises(InvalidInputError, match=r"out\.avi: .* must end in \.mp4"):
        VideoWriter(tmp_path / "out.avi", fps=10)
    with pytest.raises(MissingFileError, match=r"folder not found: .*nowhere"):
        VideoWriter(tmp_path / "nowhere" / "out.mp4", fps=10)


def test_frame_rates_are_kept_as_fractions(tmp_path):
    assert VideoWriter(tmp_path / "a.mp4", fps=12.5).fps == Fraction(25, 2)
    assert VideoWriter(tmp_path / "a.mp4", fps=Fraction(30000, 1001)).fps == Fraction(30000, 1001)
    assert VideoWriter(tmp_path / "a.mp4", fps=24).fps == 24


def test_exception_inside_with_leaves_no_file_and_the_old_one_untouched(tmp_path):
    path = tmp_path / "out.mp4"
    path.write_bytes(b"the clip before")
    with pytest.raises(RuntimeError, match="stop"), VideoWriter(path, fps=10) as writer:
        for i in range(5):
            writer.write(_solid(_colour(i)))
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == [path]
    assert path.read_bytes() == b"the clip before"


def test_a_reader_never_sees_a_partial_clip(tmp_path):
    path = tmp_path / "out.mp4"
    with VideoWriter(path, fps=10) as writer:
        writer.write(_solid(_colour(0)))
        writer.write(_solid(_colour(1)))
        assert not path.exists()
        (partial,) = tmp_path.iterdir()
        assert partial.name.startswith(".out.mp4.")
    assert list(tmp_path.iterdir()) == [path]
    assert probe(path).frames == 2
    with pytest.raises(VideoError, match="writer is closed"):
        writer.write(_solid(_colour(2)))


@pytest.mark.parametrize("read", [probe, iter_frames, open_frames])
def test_missing_file(tmp_path, read):
    with pytest.raises(MissingFileError, match=r"video not found: .*nope\.mp4"):
        read(tmp_path / "nope.mp4")


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("random", r"random\.mp4: not a video FFmpeg can read, or damaged"),
        ("truncated", r"truncated\.mp4: not a video FFmpeg can read, or damaged"),
        ("audio", r"tone\.wav: no video stream \(streams: audio\)"),
        ("empty", r"empty\.y4m: the video stream has no frames"),
    ],
)
@pytest.mark.parametrize("read", [probe, lambda path: list(iter_frames(path))], ids=["probe", "iter_frames"])
def test_bad_files_are_refused_with_their_path(bad_files, name, match, read):
    with pytest.raises(VideoError, match=match):
        read(bad_files[name])


def test_a_file_cut_after_its_header_fails_at_the_frame_it_loses(tmp_path):
    # With the header first ("faststart"), the half that is left still opens; decoding stops midway.
    whole = tmp_path / "whole.mp4"
    _encode(str(whole), list(range(40)), options={"movflags": "faststart"})
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert probe(cut).frames == 40
    seen = []
    with pytest.raises(VideoError, match=r"cut\.mp4: cannot decode frame (\d+)") as raised:
        seen.extend(f.index for f in iter_frames(cut))
    assert 0 < len(seen) < 40
    assert f"frame {len(seen)} " in str(raised.value)


def test_mixed_frame_sizes_are_refused_at_the_frame(tmp_path):
    # Two raw H.264 streams back to back: the second starts with its own size.
    path = tmp_path / "mixed.h264"
    path.write_bytes(_raw_h264((WIDTH, HEIGHT), 3) + _raw_h264((32, 32), 2))
    assert probe(path).frames == 5
    with pytest.raises(
        VideoError, match=r"mixed\.h264: mixed frame sizes: frame 3 is 32×32, frame 0 is 64×32"
    ):
        list(iter_frames(path))


def test_variable_frame_rate_is_refused_at_the_frame(tmp_path):
    path = tmp_path / "jumps.mp4"
    _encode(str(path), [0, 1, 2, 5, 6], rate=10)
    with pytest.raises(
        VideoError, match=r"jumps\.mp4: variable frame rate: frame 3 is shown at 0\.5 s, expected 0\.3 s"
    ):
        list(iter_frames(path))


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    write_video(path, (_solid(_colour(i % 50), (64, 32)) for i in range(3000)), fps=25, crf=30)
    return path


def test_streaming_holds_a_few_frames_at_a_time(long_clip):
    # PIL keeps pixels outside Python's allocator: tracemalloc sees the bytes each decoded frame passes
    # through and every object kept per frame, and the weak references count the images still alive.
    all_frames = 3000 * 64 * 32 * 3
    alive: list[weakref.ref] = []
    most_alive = 0
    gc.collect()
    tracemalloc.start()
    try:
        count = 0
        for frame in iter_frames(long_clip):
            count += 1
            alive.append(weakref.ref(frame.image))
            most_alive = max(most_alive, sum(ref() is not None for ref in alive[-10:]))
            alive = [ref for ref in alive[-10:] if ref() is not None]
            del frame
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 3000
    assert most_alive <= 2
    assert peak < all_frames / 100, (peak, all_frames)


def test_still_image_is_a_one_frame_clip(tmp_path):
    path = tmp_path / "still.png"
    Image.new("RGB", (6, 4), (200, 30, 40)).save(path)
    (frame,) = open_frames(path)
    assert (frame.index, frame.time_s, frame.image.mode, frame.image.size) == (0, 0.0, "RGB", (6, 4))
    assert frame.image.getpixel((0, 0)) == (200, 30, 40)
    (frame,) = open_frames(Image.new("RGBA", (3, 3), (0, 0, 0, 0)))
    assert frame.image.mode == "RGB" and frame.image.getpixel((1, 1)) == (255, 255, 255)


def test_open_frames_reads_videos_too(clip, tmp_path):
    assert len(list(open_frames(clip))) == 30
    # An image suffix that PIL does not recognise is tried as a video.
    disguised = tmp_path / "disguised.png"
    disguised.write_bytes(clip.read_bytes())
    assert len(list(open_frames(disguised))) == 30


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        (b"not an image, not a video", VideoError, r"notes\.png: not a video FFmpeg can read"),
        ("cut-png", ImageError, r"cut\.png: damaged or truncated"),
    ],
)
def test_open_frames_refuses_bad_stills(tmp_path, content, error, match):
    if content == "cut-png":
        buffer = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
            buffer, "PNG"
        )
        path = tmp_path / "cut.png"
        path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    else:
        path = tmp_path / "notes.png"
        path.write_bytes(content)
    with pytest.raises(error, match=match):
        list(open_frames(path))


def test_open_frames_refuses_other_sources():
    with pytest.raises(InvalidInputError, match=r"source must be a path .* found int"):
        open_frames(3)


def test_video_errors_are_invalid_input():
    assert issubclass(VideoError, InvalidInputError) and issubclass(VideoError, ValueError)
    assert issubclass(VideoError, MmreasonError)


def test_reading_writes_nothing_next_to_the_input(clip, bad_files):
    folders = {clip.parent, bad_files["random"].parent}
    before = {folder: sorted(p.name for p in folder.iterdir()) for folder in folders}
    probe(clip)
    list(iter_frames(clip, every=7))
    list(open_frames(clip))
    for path in bad_files.values():
        for read in (probe, iter_frames, open_frames):
            with pytest.raises(VideoError):
                result = read(path)
                list(result) if not isinstance(result, VideoInfo) else None
    assert {folder: sorted(p.name for p in folder.iterdir()) for folder in folders} == before
