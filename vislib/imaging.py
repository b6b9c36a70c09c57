"""Photo intake: decode what people upload, frame the face as CMU did, make the 64x60 input.

Everything works on bytes in memory: nothing uploaded is ever written to disk.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vislib.settings import INPUT_SHAPE

MAX_PIXELS = 40_000_000  # a 40-megapixel photo is plenty; more is refused (decompression bombs)
MAX_BYTES = 50 * 1024 * 1024
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF", "PPM")  # PPM covers PGM
ACCEPTED_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff", "pgm", "ppm")

# CMU framing, measured on the 128x120 CMU shots: the face (skin) is about 30% of the image
# height, and its centre sits about 42% of the way down, horizontally centred.
FACE_HEIGHT_FRACTION = 0.30
FACE_CENTRE_FROM_TOP = 0.42


class PhotoError(ValueError):
    """A file that cannot be used as a photo; the message is meant for the person who sent it."""


def load_photo(data: bytes) -> np.ndarray:
    """Decode an image file's bytes into a grayscale float32 array in [0, 1], shape (H, W).

    Honours EXIF orientation, takes the first frame of animations, converts any mode.
    Raises PhotoError with a plain-language message for anything else.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise PhotoError(f"Expected the file's bytes, got {type(data).__name__}.")
    if len(data) == 0:
        raise PhotoError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise PhotoError(f"The file is {len(data) / 2**20:.0f} MB; the limit is {MAX_BYTES // 2**20} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(bytes(data)))
            if image.format not in ACCEPTED_FORMATS:
                raise PhotoError(
                    f"This is a {image.format} file; please use JPEG, PNG, WebP, BMP, GIF, TIFF or PGM."
                )
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise PhotoError(
                    f"The picture is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
                    f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels. Please send a smaller copy."
                )
            if width < 8 or height < 8:
                raise PhotoError(f"The picture is only {width}x{height} pixels; at least 8x8 is needed.")
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image)
            gray = _to_gray(image)
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoError(_plain(error)) from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, KeyError,
            ZeroDivisionError, MemoryError, struct_error()) as error:
        raise PhotoError("The file looks damaged or cut short, so it cannot be read as a picture.") from error
    if not np.isfinite(gray).all():
        raise PhotoError("The picture has invalid pixel values.")
    return gray


def struct_error():
    import struct

    return struct.error


def _plain(error: Exception) -> str:
    if isinstance(error, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return f"The picture is too large to open safely (over {MAX_PIXELS / 1e6:.0f} megapixels)."
    return "This file is not a picture we can read. Please use JPEG, PNG, WebP, BMP, GIF, TIFF or PGM."


def _to_gray(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        pixels = np.asarray(image, dtype=np.float64)
        top = 65535.0 if pixels.max(initial=0) > 255 else 255.0
        return np.clip(pixels / top, 0, 1).astype(np.float32)
    if image.mode == "F":
        pixels = np.asarray(image, dtype=np.float32)
        span = float(pixels.max() - pixels.min()) or 1.0
        return ((pixels - pixels.min()) / span).astype(np.float32)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


# ---------------------------------------------------------------- framing

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels; may reach outside the photo


def cmu_frame(face_box, image_shape, zoom: float = 1.0) -> Box:
    """The 64:60 head-and-shoulders crop around a face box (centre x, centre y, width, height).

    zoom > 1 crops tighter, < 1 looser. The box may extend past the photo; it is padded.
    """
    cx, cy, _, face_h = (float(v) for v in face_box)
    if face_h <= 0 or zoom <= 0:
        raise ValueError(f"expected a positive face height and zoom, got {face_h} and {zoom}")
    height = face_h / FACE_HEIGHT_FRACTION / zoom
    width = height * INPUT_SHAPE[1] / INPUT_SHAPE[0]
    top = cy - FACE_CENTRE_FROM_TOP * height
    return (cx - width / 2, top, cx + width / 2, top + height)


def whole_frame(image_shape) -> Box:
    """The largest centred 64:60 crop of the photo: the 'whole photo' option."""
    h, w = image_shape[:2]
    aspect = INPUT_SHAPE[1] / INPUT_SHAPE[0]
    if w / h > aspect:
        cw = h * aspect
        return ((w - cw) / 2, 0.0, (w + cw) / 2, float(h))
    ch = w / aspect
    return (0.0, (h - ch) / 2, float(w), (h + ch) / 2)


def crop(gray: np.ndarray, box: Box) -> np.ndarray:
    """Cut a box out of a grayscale photo; parts outside the photo are filled with its edge."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"expected a box with x1 > x0 and y1 > y0, got {box}")
    h, w = gray.shape
    pad = ((max(0, -y0), max(0, y1 - h)), (max(0, -x0), max(0, x1 - w)))
    padded = np.pad(gray, pad, mode="edge") if any(sum(p) for p in pad) else gray
    ox, oy = max(0, -x0), max(0, -y0)
    return padded[y0 + oy: y1 + oy, x0 + ox: x1 + ox]


def to_network_input(gray: np.ndarray, box: Box | None = None) -> np.ndarray:
    """The 64x60 network input (60, 64, 1) in [0, 1]: crop (whole frame by default), resize."""
    box = whole_frame(gray.shape) if box is None else box
    patch = crop(gray, box)
    resized = Image.fromarray(patch.astype(np.float32), mode="F").resize(
        (INPUT_SHAPE[1], INPUT_SHAPE[0]), Image.Resampling.BOX if patch.shape[0] > INPUT_SHAPE[0] else Image.Resampling.BILINEAR
    )
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 1)[..., None]


# ---------------------------------------------------------------- face detection


@dataclass(frozen=True)
class Face:
    """A detected face: centre, size, and which detector found it."""

    cx: float
    cy: float
    width: float
    height: float
    detector: str

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.cx, self.cy, self.width, self.height)


@lru_cache(maxsize=1)
def _cascades():
    import cv2

    root = cv2.data.haarcascades
    frontal = cv2.CascadeClassifier(root + "haarcascade_frontalface_default.xml")
    profile = cv2.CascadeClassifier(root + "haarcascade_profileface.xml")
    if frontal.empty() or profile.empty():
        raise RuntimeError(f"OpenCV's Haar cascade files are missing from {root}")
    return frontal, profile


def detect_face(gray: np.ndarray) -> Face | None:
    """The largest face OpenCV's bundled Haar cascades find (frontal, profile, mirrored profile)."""
    import cv2

    frontal, profile = _cascades()
    scale = min(1.0, 640 / max(gray.shape))  # detect on a small copy: fast, and enough
    small = (gray * 255).astype(np.uint8)
    if scale < 1.0:
        small = cv2.resize(small, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.equalizeHist(small)
    min_size = (max(16, small.shape[1] // 12),) * 2
    found: list[Face] = []
    for name, detector, mirrored in (("frontal", frontal, False), ("profile", profile, False),
                                     ("profile (mirrored)", profile, True)):
        img = small[:, ::-1] if mirrored else small
        for x, y, w, h in detector.detectMultiScale(np.ascontiguousarray(img), 1.1, 5, minSize=min_size):
            if mirrored:
                x = small.shape[1] - x - w
            # Haar boxes are square and generous: the skin face (what framing expects, as in the
            # Pointing'04 boxes) is about 0.72 of the box tall, centred 0.6 of the way down.
            found.append(Face((x + w / 2) / scale, (y + 0.6 * h) / scale, 0.6 * w / scale, 0.72 * h / scale, name))
    if not found:
        return None
    return max(found, key=lambda f: f.width * f.height)
