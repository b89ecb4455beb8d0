"""Render: a laid-out timeline becomes encoded segments, joined without re-encoding.

Each scene is one segment, and a cross-fade into a scene is a short segment of its
own, so an edit re-encodes only the segments whose pixels changed. A segment's
cache key hashes everything that decides its pixels (the scenes' visuals and
camera paths, its frame range inside its scene, the caption events drawn on it
in its own time, the encoder settings), never where it sits in the short, so a
later scene that merely moved is reused. Segments are H.264 with the same
settings, each opening on an IDR frame, so ffmpeg's concat demuxer joins them as
is; the soundtrack is encoded once over the join.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from models.errors import RenderFailed
from pipelines import ffmpeg, frames
from pipelines.cache import Cache, key
from pipelines.types import Platform, Scene

RENDER_VERSION = 2  # bump when what a segment looks like changes for the same inputs (2: blurred fill)


@dataclass(frozen=True)
class EncodeOptions:
    preset: str = "veryfast"
    crf: int = 21
    audio_bitrate: str = "192k"

    def video_args(self) -> list[str]:
        # OpenCV's I420 conversion is BT.601 limited range: say so, so players show the right colours
        return ["-c:v", "libx264", "-profile:v", "high", "-preset", self.preset, "-crf", str(self.crf),
                "-pix_fmt", "yuv420p", "-colorspace", "smpte170m", "-color_primaries", "smpte170m",
                "-color_trc", "smpte170m", "-color_range", "tv"]


@dataclass(frozen=True)
class Segment:
    """Frames ``begin``..``end`` of one scene (scene-relative), faded in from the scene before when ``fade``."""

    scene: int  # index into the laid-out scenes
    begin: int
    end: int
    fade: bool
    events: tuple[str, ...]  # ASS events in the segment's own time
    digest: str

    @property
    def frames(self) -> int:
        return self.end - self.begin


@dataclass(frozen=True)
class RenderStats:
    segments: int
    encoded: int  # segments encoded by this render
    reused: int  # segments taken from the cache as they were
    encoded_frames: int
    encoded_scenes: tuple[str, ...]  # ids of the scenes with at least one segment encoded


def _looks(s: Scene) -> tuple:
    """Everything that decides a scene's pixels, except its position in the short."""
    cam = s.camera
    return (s.clip_key or s.image_key, s.frames, s.fps, s.video_frames,
            None if cam is None or s.clip is not None or s.video is not None else
            (cam.zoom_start, cam.zoom_end, cam.center_start, cam.center_end))


def plan_segments(scenes: list[Scene], header: str, events_for: Callable[[Scene, int, int], list[str]],
                  platform: Platform, options: EncodeOptions) -> list[Segment]:
    """Cut the timeline into segments and key each by what its pixels depend on."""
    out = []
    for i, s in enumerate(scenes):
        fade = frames.fade_frames(s.fps, s.frames) if i > 0 and s.transition == "fade" else 0
        cuts = [(0, fade, True), (fade, s.frames, False)] if fade else [(0, s.frames, False)]
        for begin, end, is_fade in cuts:
            if end <= begin:
                continue
            events = tuple(events_for(s, begin, end))
            before = _looks(scenes[i - 1]) if is_fade else None
            digest = key("segment", RENDER_VERSION, ffmpeg.version(), _looks(s), before, begin, end, header, events,
                         platform.width, platform.height, options)
            out.append(Segment(i, begin, end, is_fade, events, digest))
    return out


def render_segments(segments: list[Segment], scenes: list[Scene], platform: Platform, header: str,
                    options: EncodeOptions, cache: Cache, on_frame: Callable[[float], None] | None = None,
                    workers: int = 2) -> tuple[list[Path], RenderStats]:
    """Every segment's file: from the cache when its key is known, else encoded now.

    Two segments are encoded at once: while one ffmpeg drains its encoder at the end of a segment, the
    next segment's frames are already being drawn, so short segments cost no more than one long stream."""
    sources: dict[int, frames.SceneSource] = {}
    lock = threading.Lock()

    def source(i: int) -> frames.SceneSource:
        with lock:
            if i not in sources:
                sources[i] = frames.SceneSource(scenes[i], platform)
            return sources[i]

    todo = sum(seg.frames for seg in segments if not cache.path("segments", seg.digest, ".mp4").exists())
    done = [0]

    def tick(n: int) -> None:
        with lock:
            done[0] += n
            if on_frame and todo:
                on_frame(done[0] / todo)

    def make(seg: Segment, tmp: Path) -> dict:
        scene = scenes[seg.scene]
        before = source(seg.scene - 1) if seg.fade else None
        try:
            _encode(frames.segment_frames(scene, source(seg.scene), seg.begin, seg.end, before), seg, platform,
                    header, options, tmp, tick)
        finally:  # a creator clip's decoder lives for one segment: many clip scenes never pile up ffmpegs
            source(seg.scene).release()
            if before is not None:
                before.release()
        return {"frames": seg.frames}

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="segment")
    try:
        results = list(pool.map(lambda seg: cache.file("segments", seg.digest, ".mp4", partial(make, seg)),
                                segments))
    finally:  # on Ctrl-C or a failure, segments not started yet are dropped, not encoded before the error is seen
        pool.shutdown(wait=True, cancel_futures=True)
        for src in sources.values():
            src.close()
    encoded = [seg for seg, (_, _, hit) in zip(segments, results) if not hit]
    touched = tuple(dict.fromkeys(scenes[seg.scene].id for seg in encoded))
    stats = RenderStats(len(segments), len(encoded), len(segments) - len(encoded), sum(s.frames for s in encoded),
                        touched)
    return [path for path, _, _ in results], stats


def _encode(pixels, seg: Segment, platform: Platform, header: str, options: EncodeOptions, out: Path,
            tick: Callable[[int], None]) -> None:
    """One ffmpeg: raw frames on stdin → captions burned in → an H.264 segment (video only)."""
    w, h, fps = platform.width, platform.height, platform.fps
    ass = out.with_suffix(".ass")
    filters = []
    if seg.events:
        ass.write_text(header + "\n".join(seg.events) + "\n", encoding="utf-8")
        filters = ["-vf", f"ass={ass.name}"]
    args = [ffmpeg.binary("ffmpeg"), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}", "-r", str(fps), "-i", "pipe:0",
            *filters, *options.video_args(), "-r", str(fps), "-frames:v", str(seg.frames), "-an",
            "-f", "mp4", out.name]
    proc = subprocess.Popen(args, cwd=out.parent, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None  # both are pipes  # noqa: S101
    try:
        for k, frame in enumerate(pixels, 1):
            proc.stdin.write(frame)
            if k % fps == 0:
                tick(fps)
        tick(seg.frames % fps)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    except BaseException:
        proc.kill()  # the frames failed: ffmpeg would wait for more forever
        raise
    finally:
        err = proc.stderr.read().decode(errors="replace")
        code = proc.wait()
        ass.unlink(missing_ok=True)
    if code != 0:
        if ffmpeg.interrupted(code):
            raise ffmpeg.cancelled("ffmpeg")
        raise RenderFailed(f"ffmpeg could not encode a segment of the short: {err.strip()[-500:]}")


def join(files: list[Path], segments: list[Segment], fps: int, soundtrack: Path, total: float, out: Path) -> Path:
    """Join the segments without re-encoding them and put the encoded soundtrack (AAC) under them, faststart.

    Each file's length is given to the concat demuxer exactly (frames ÷ fps): the container rounds its own
    to the millisecond, and those roundings would add up to gaps that bend the frame rate."""
    listing = out.with_name(out.name + ".segments.txt")
    lines = []
    for path, seg in zip(files, segments, strict=True):
        quoted = str(path.resolve()).replace("'", "'\\''")  # the concat list's own quoting
        lines.append(f"file '{quoted}'\nduration {seg.frames / fps:.9f}\n")
    listing.write_text("".join(lines), encoding="utf-8")
    try:
        ffmpeg.run(["-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(soundtrack),
                    "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "copy",  # the AAC was measured as is
                    "-t", f"{total:.3f}", "-movflags", "+faststart", str(out)],
                   what="joining the segments")
    finally:
        listing.unlink(missing_ok=True)
    return out


def thumbnail(still: Path, ass: Path, platform: Platform, out: Path) -> Path:
    """The chosen still at frame size with the hook drawn by libass, as a JPEG."""
    w, h = platform.width, platform.height
    ffmpeg.run(["-loglevel", "error", "-i", str(still.resolve()), "-vf",
                f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},ass={ass.name}",
                "-frames:v", "1", "-q:v", "3", str(out.resolve())], cwd=ass.parent, what="thumbnail")
    return out
