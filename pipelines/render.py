"""Render: the timeline becomes frames piped into one ffmpeg, which burns in the
captions with libass, muxes the soundtrack and encodes once.

Ken Burns moves are sub-pixel affine warps (OpenCV, bilinear) of each plane of
the YUV image, so the camera glides instead of snapping to whole pixels the way
ffmpeg's ``zoompan`` does.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from models.errors import RenderFailed
from models.types import CameraPath
from pipelines import ffmpeg
from pipelines.types import Platform, Scene

SOURCE_SCALE = 1.16  # stills are prepared this much larger than the frame, so zooming in stays sharp
FADE_SECONDS = 0.25


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


def source_size(platform: Platform) -> tuple[int, int]:
    """Size of the stills the camera moves over (even, for 4:2:0 chroma)."""
    return round(platform.width * SOURCE_SCALE / 2) * 2, round(platform.height * SOURCE_SCALE / 2) * 2


def prepare_still(src: Path, platform: Platform, out: Path) -> Path:
    """Cover-crop a photo or still to the frame's aspect at SOURCE_SCALE × the frame size."""
    w, h = source_size(platform)
    with Image.open(src) as opened:
        im = ImageOps.exif_transpose(opened).convert("RGB")
        ImageOps.fit(im, (w, h), Image.Resampling.LANCZOS).save(out, quality=95)
    return out


def _planes(path: Path) -> list[np.ndarray]:
    import cv2

    rgb = np.asarray(Image.open(path).convert("RGB"))
    h, w = rgb.shape[:2]
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    y = i420[:h]
    u = i420[h: h + h // 4].reshape(h // 2, w // 2)
    v = i420[h + h // 4:].reshape(h // 2, w // 2)
    return [y, u, v]


def ease(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * u)


def camera_at(path: CameraPath, u: float) -> tuple[float, float, float]:
    """Zoom and centre (fractions of the source) at progress ``u`` through the scene."""
    e = ease(u)
    z = path.zoom_start + (path.zoom_end - path.zoom_start) * e
    cx = path.center_start[0] + (path.center_end[0] - path.center_start[0]) * e
    cy = path.center_start[1] + (path.center_end[1] - path.center_start[1]) * e
    half = 0.5 / z  # keep the window inside the image
    return z, min(max(cx, half), 1 - half), min(max(cy, half), 1 - half)


def _warp(planes: list[np.ndarray], cam: tuple[float, float, float], width: int, height: int) -> list[np.ndarray]:
    import cv2

    z, cx, cy = cam
    out = []
    for k, plane in enumerate(planes):
        div = 1 if k == 0 else 2
        sh, sw = plane.shape
        s = z * (width / div) / sw
        m = np.array([[s, 0, width / div / 2 - s * cx * sw], [0, s, height / div / 2 - s * cy * sh]], np.float64)
        out.append(cv2.warpAffine(plane, m, (width // div, height // div), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE))
    return out


def _clip_planes(path: Path, platform: Platform) -> tuple[list[list[np.ndarray]], int]:
    """A generated clip's frames, cover-fitted to the frame size, as I420 planes; and its fps."""
    import cv2

    data = np.load(path)
    out = []
    for rgb in data["frames"]:
        fitted = ImageOps.fit(Image.fromarray(rgb), (platform.width, platform.height), Image.Resampling.LANCZOS)
        h = platform.height
        i420 = cv2.cvtColor(np.asarray(fitted), cv2.COLOR_RGB2YUV_I420)
        out.append([i420[:h], i420[h: h + h // 4].reshape(h // 2, -1), i420[h + h // 4:].reshape(h // 2, -1)])
    return out, int(data["fps"])


def _scene_frame(scene: Scene, source, t: float, platform: Platform) -> list[np.ndarray]:
    if scene.clip is not None:  # play the generated clip forwards and back until the scene ends
        clip, fps = source
        n = len(clip)
        k = int((t - scene.start) * fps) % max(2 * n - 2, 1)
        return clip[k if k < n else 2 * n - 2 - k]
    return _warp(source, camera_at(scene.camera, (t - scene.start) / scene.duration), platform.width,
                 platform.height)


def frames(scenes: list[Scene], platform: Platform, total: float):
    """Yield yuv420p frames for the whole timeline, cross-fading briefly at scene cuts."""
    fps = platform.fps
    sources = [_clip_planes(s.clip, platform) if s.clip is not None else _planes(s.image) for s in scenes]
    n = int(round(total * fps))
    for f in range(n):
        t = f / fps
        i = max(k for k, s in enumerate(scenes) if s.start <= t + 1e-9) if t >= scenes[0].start else 0
        scene = scenes[i]
        cur = _scene_frame(scene, sources[i], t, platform)
        # fade in from the previous scene over the first FADE_SECONDS of this one
        into = t - scene.start
        if i > 0 and into < FADE_SECONDS:
            old = _scene_frame(scenes[i - 1], sources[i - 1], t, platform)
            a = into / FADE_SECONDS
            cur = [(p * a + q * (1 - a)).astype(np.uint8) for p, q in zip(cur, old)]
        yield b"".join(p.tobytes() for p in cur)


def encode(scenes: list[Scene], platform: Platform, total: float, soundtrack: Path, ass: Path, out: Path,
           options: EncodeOptions, on_frame: Callable[[float], None] | None = None) -> Path:
    """One ffmpeg process: raw frames on stdin + soundtrack → captions burned in → H.264/AAC MP4."""
    w, h, fps = platform.width, platform.height, platform.fps
    args = [ffmpeg.binary("ffmpeg"), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}", "-r", str(fps), "-i", "pipe:0",
            "-i", str(soundtrack),
            "-vf", f"ass={ass.name}", "-map", "0:v", "-map", "1:a",
            *options.video_args(), "-r", str(fps),
            "-c:a", "aac", "-b:a", options.audio_bitrate, "-ar", "48000", "-ac", "2",
            "-t", f"{total:.3f}", "-movflags", "+faststart", str(out.resolve())]
    proc = subprocess.Popen(args, cwd=ass.parent, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None  # both are pipes  # noqa: S101
    n = int(round(total * fps))
    try:
        for k, frame in enumerate(frames(scenes, platform, total)):
            proc.stdin.write(frame)
            if on_frame and k % fps == 0:
                on_frame(k / n)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read().decode(errors="replace")
    if proc.wait() != 0:
        raise RenderFailed(f"ffmpeg could not encode the short: {err.strip()[-500:]}")
    return out


def thumbnail(still: Path, ass: Path, platform: Platform, out: Path) -> Path:
    """The chosen still at frame size with the hook drawn by libass, as a JPEG."""
    w, h = platform.width, platform.height
    ffmpeg.run(["-loglevel", "error", "-i", str(still.resolve()), "-vf",
                f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},ass={ass.name}",
                "-frames:v", "1", "-q:v", "3", str(out.resolve())], cwd=ass.parent, what="thumbnail")
    return out
