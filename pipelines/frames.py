"""Frames: a scene's still (or generated clip) moved by its camera path, as yuv420p planes.

Ken Burns moves are sub-pixel affine warps (OpenCV, bilinear) of each plane of
the YUV image, so the camera glides instead of snapping to whole pixels the way
ffmpeg's ``zoompan`` does. Everything is indexed by the frame number inside its
scene, never by time in the short, so a scene that moves keeps its pixels.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from models.errors import RenderFailed
from models.subject import Box
from models.types import CameraPath
from pipelines.types import Platform, Scene

SOURCE_SCALE = 1.16  # stills are prepared this much larger than the frame, so zooming in stays sharp
FADE_SECONDS = 0.25
FILL_BELOW = 0.4  # cover-cropping that would keep less of the source than this fitts it over a blurred fill instead
PREPARE_VERSION = 3  # bump when how a source becomes a frame changes (2: blurred fill; 3: crops, back-projection)
BACK_PROJECTIONS = 3  # rounds of iterative back-projection when a photo is enlarged


def source_size(platform: Platform) -> tuple[int, int]:
    """Size of the stills the camera moves over (multiples of 4, so each 4:2:0 chroma plane packs whole rows)."""
    return round(platform.width * SOURCE_SCALE / 4) * 4, round(platform.height * SOURCE_SCALE / 4) * 4


def image_size(path: Path) -> tuple[int, int]:
    """A picture's upright size (EXIF rotation applied), read from its header."""
    with Image.open(path) as im:
        w, h = im.size
        orientation = im.getexif().get(0x0112, 1)
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def kept_by_cover(src_w: int, src_h: int, w: int, h: int) -> float:
    """The share of a ``src_w``×``src_h`` source that cover-cropping it to a ``w``×``h`` frame keeps."""
    a, b = src_w / src_h, w / h
    return min(a, b) / max(a, b)


def needs_fill(src_w: int, src_h: int, w: int, h: int) -> bool:
    """True when the source should sit whole over a blurred fill of itself (a vertical source in 16:9, a
    panorama in 9:16) rather than be cover-cropped to a sliver."""
    return kept_by_cover(src_w, src_h, w, h) < FILL_BELOW


def fitted(im: Image.Image, w: int, h: int, crop: Box | None = None) -> Image.Image:
    """``im`` at exactly ``w``×``h`` without stretching: the ``crop`` box (fractions of ``im``, the frame's aspect)
    or else the centre, cover-cropped; or fitted whole over a blurred, dimmed cover of itself when cropping would
    keep less than FILL_BELOW of it."""
    if crop is not None or not needs_fill(im.width, im.height, w, h):
        if crop is None:
            from pipelines.framing import place, widest

            crop = place(widest(im.width, im.height, w / h), (0.5, 0.5), (0.5, 0.5))
        x, y, cw, ch = crop
        box = (round(x * im.width), round(y * im.height), round((x + cw) * im.width), round((y + ch) * im.height))
        return resized(im.crop(box), w, h)
    from PIL import ImageEnhance, ImageFilter

    small = ImageOps.fit(im, (max(w // 8, 1), max(h // 8, 1)), Image.Resampling.BILINEAR)  # blur at 1/8 size: fast
    fill = small.filter(ImageFilter.GaussianBlur(4)).resize((w, h), Image.Resampling.BICUBIC)
    fill = ImageEnhance.Brightness(fill).enhance(0.6)
    front = resized(im, *_contained(im.width, im.height, w, h))
    fill.paste(front, ((w - front.width) // 2, (h - front.height) // 2))
    return fill


def _contained(sw: int, sh: int, w: int, h: int) -> tuple[int, int]:
    s = min(w / sw, h / sh)
    return max(1, round(sw * s)), max(1, round(sh * s))


def resized(im: Image.Image, w: int, h: int) -> Image.Image:
    """``im`` at ``w``×``h``: Lanczos when shrinking; when enlarging, Lanczos refined by iterative back-projection
    (Irani & Peleg): the enlargement is shrunk again, compared with the original, and the difference enlarged and
    added back, which restores edges plain interpolation blurs (beats bicubic on PSNR and SSIM; see
    tests/test_framing.py). Real-ESRGAN on a GPU is the better tool; this is the CPU one."""
    if w <= im.width and h <= im.height:
        return im.resize((w, h), Image.Resampling.LANCZOS, reducing_gap=3.0)
    import cv2

    low = np.asarray(im.convert("RGB"), np.float32)
    high: np.ndarray = cv2.resize(low, (w, h), interpolation=cv2.INTER_LANCZOS4).astype(np.float32)
    for _ in range(BACK_PROJECTIONS):
        error = low - cv2.resize(high, (im.width, im.height), interpolation=cv2.INTER_AREA)
        high = high + cv2.resize(error, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    return Image.fromarray(np.clip(high + 0.5, 0, 255).astype(np.uint8))


def prepare_still(src: Path, platform: Platform, out: Path, crop: Box | None = None) -> Path:
    """A photo or still at the frame's aspect, SOURCE_SCALE × the frame size (see ``fitted``)."""
    w, h = source_size(platform)
    with Image.open(src) as opened:
        im = ImageOps.exif_transpose(opened).convert("RGB")
        fitted(im, w, h, crop).save(out, quality=95)
    return out


def _planes(path: Path) -> list[np.ndarray]:
    import cv2

    rgb = np.asarray(Image.open(path).convert("RGB"))
    return _i420_planes(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), rgb.shape[1], rgb.shape[0])


def _i420_planes(i420: np.ndarray, w: int, h: int) -> list[np.ndarray]:
    """OpenCV's packed I420 → Y, U, V planes, cut by byte offsets (a chroma plane's rows need not be whole rows
    of the packed image: 1080×1350 has 337.5)."""
    flat, q = i420.reshape(-1), w * h // 4
    return [flat[:w * h].reshape(h, w), flat[w * h: w * h + q].reshape(h // 2, w // 2),
            flat[w * h + q: w * h + 2 * q].reshape(h // 2, w // 2)]


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
        frame = fitted(Image.fromarray(rgb), platform.width, platform.height)
        out.append(_i420_planes(cv2.cvtColor(np.asarray(frame), cv2.COLOR_RGB2YUV_I420), platform.width,
                                platform.height))
    return out, int(data["fps"])


STILL = CameraPath(1.0, 1.0, (0.5, 0.5), (0.5, 0.5))  # the whole prepared still, not moving


def fade_frames(fps: int, scene_frames: int) -> int:
    """How many frames a cross-fade into a scene lasts (never longer than the scene)."""
    return max(0, min(round(FADE_SECONDS * fps), scene_frames))


class SceneSource:
    """One scene's pixels, loaded once: the camera's view of the still, a generated clip, or a creator's clip
    (decoded by ffmpeg as it is needed, one decoder per thread)."""

    def __init__(self, scene: Scene, platform: Platform) -> None:
        self.scene, self.platform = scene, platform
        self._readers: dict[int, _ClipReader] = {}
        self._last_real = 1 << 30  # the clip's last decodable frame, once an early end has been found
        if scene.video is not None:
            from pipelines.media import video_size

            self._size = video_size(scene.video)
            self._fill = scene.video_crop is None and needs_fill(*self._size, platform.width, platform.height)
            return
        if scene.clip is not None:
            self.clip, self.clip_fps = _clip_planes(scene.clip, platform)
        else:
            self.planes = _planes(scene.image)

    def frame(self, k: int) -> list[np.ndarray]:
        """The scene's frame ``k`` (0 = its first); past its end the camera holds still and a clip keeps playing."""
        s = self.scene
        if s.video is not None:  # the creator's clip plays once, then holds its last frame
            return self._video_frame(min(k, max(s.video_frames - 1, 0)))
        if s.clip is not None:  # play the generated clip forwards and back until the scene ends
            n = len(self.clip)
            j = int(k * self.clip_fps / s.fps) % max(2 * n - 2, 1)
            return self.clip[j if j < n else 2 * n - 2 - j]
        return _warp(self.planes, camera_at(s.camera or STILL, k / s.frames), self.platform.width, self.platform.height)

    def _video_frame(self, j: int) -> list[np.ndarray]:
        video = self.scene.video
        assert video is not None  # noqa: S101 - only creator-clip scenes come here
        j = min(j, self._last_real)
        tid = threading.get_ident()
        reader = self._readers.get(tid)
        if reader is None or not reader.can_reach(j):
            if reader is not None:
                reader.close()
            reader = self._readers[tid] = _ClipReader(video, self.scene.video_in, j, self.platform, self._fill,
                                                      self._offset())
        frame = reader.frame(j)
        if frame is not None:
            return frame
        # the clip has fewer frames than its container's length says: step back to its real last frame, once
        back = max(0, j - 2 * self.platform.fps)
        reader.close()
        reader = self._readers[tid] = _ClipReader(video, self.scene.video_in, back, self.platform, self._fill,
                                                  self._offset())
        last, k = None, back
        while True:
            got = reader.frame(k)
            if got is None:
                break
            last, k = got, k + 1
        self._last_real = min(self._last_real, max(k - 1, back))
        if last is None:
            raise RenderFailed(f"The clip {video.name!r} ends before "
                               f"{self.scene.video_in + back / self.platform.fps:.2f} s; its in point is too late.")
        return last

    def _offset(self) -> tuple[int, int] | None:
        """Where the crop starts in the clip scaled to cover the frame (pixels), from the scene's crop."""
        crop = self.scene.video_crop
        if crop is None:
            return None
        vw, vh = self._size
        s = max(self.platform.width / vw, self.platform.height / vh)
        return round(crop[0] * vw * s), round(crop[1] * vh * s)

    def release(self) -> None:
        """Close this thread's clip decoder (each segment opens its own)."""
        reader = self._readers.pop(threading.get_ident(), None)
        if reader is not None:
            reader.close()

    def close(self) -> None:
        for reader in list(self._readers.values()):
            reader.close()
        self._readers.clear()


class _ClipReader:
    """Frames of a creator's clip from frame ``first`` on, fitted to the frame like a still (cover-cropped, or whole
    over a blurred fill of itself), BT.601 like the stills."""

    def __init__(self, path: Path, start: float, first: int, platform: Platform, fill: bool = False,
                 offset: tuple[int, int] | None = None) -> None:
        from pipelines import ffmpeg

        w, h, fps = platform.width, platform.height, platform.fps
        self.size, self.w, self.h = w * h * 3 // 2, w, h
        self.next = first
        self.ended = False
        self.last: list[np.ndarray] | None = None
        to601 = "out_color_matrix=bt601:out_range=tv"
        if fill:
            chain = (f"fps={fps},split[a][b];[a]scale={w // 8}:{h // 8}:force_original_aspect_ratio=increase,"
                     f"crop={w // 8}:{h // 8},gblur=sigma=4,scale={w}:{h}:{to601},eq=brightness=-0.12[bg];"
                     f"[b]scale={w}:{h}:force_original_aspect_ratio=decrease:{to601}[fg];"
                     f"[bg][fg]overlay=(W-w)/2:(H-h)/2,format=yuv420p")
        else:
            at = f":{offset[0]}:{offset[1]}" if offset else ""  # ffmpeg keeps a crop inside the picture
            chain = (f"fps={fps},scale={w}:{h}:force_original_aspect_ratio=increase:{to601},crop={w}:{h}{at},"
                     "format=yuv420p")
        self.proc = subprocess.Popen(
            [ffmpeg.binary("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "error", "-ss", f"{start + first / fps:.3f}",
             "-i", str(path), "-map", "0:v:0", "-vf", chain, "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def can_reach(self, j: int) -> bool:
        return self.next - 1 <= j <= self.next + 90 and (self.last is not None or j >= self.next)

    def frame(self, j: int) -> list[np.ndarray] | None:
        """Frame ``j``; at the clip's end, the last one read, or None when this decoder read nothing at all."""
        assert self.proc.stdout is not None  # noqa: S101 - a pipe
        while self.next <= j and not self.ended:
            raw = self.proc.stdout.read(self.size)
            if len(raw) < self.size:
                self.ended = True
                break
            y = np.frombuffer(raw, np.uint8, self.w * self.h).reshape(self.h, self.w)
            q = self.w * self.h // 4
            u = np.frombuffer(raw, np.uint8, q, self.w * self.h).reshape(self.h // 2, self.w // 2)
            v = np.frombuffer(raw, np.uint8, q, self.w * self.h + q).reshape(self.h // 2, self.w // 2)
            self.last, self.next = [y, u, v], self.next + 1
        return None if self.ended and j >= self.next else self.last

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


def segment_frames(scene: Scene, source: SceneSource, begin: int, end: int, before: SceneSource | None = None):
    """yuv420p frames ``begin``..``end`` of a scene (scene-relative), cross-faded from ``before`` over the fade."""
    fade = fade_frames(scene.fps, scene.frames) if before is not None else 0
    for k in range(begin, end):
        cur = source.frame(k)
        if k < fade and before is not None:
            old = before.frame(before.scene.frames + k)
            a = k / fade
            cur = [(p * a + q * (1 - a)).astype(np.uint8) for p, q in zip(cur, old)]
        yield b"".join(p.tobytes() for p in cur)
