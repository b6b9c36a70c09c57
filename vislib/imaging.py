"""Photo intake: decode what people upload, frame the face as CMU did, make the 64x60 input.

Everything works on bytes in memory: nothing uploaded is ever written to disk.

    gray = load_photo(uploaded_bytes)        # (H, W) float32 in [0, 1], or PhotoError
    framing = frame(gray)                    # detected face if any, else the whole photo
    framing.input                            # (60, 64, 1), what the network sees
"""

from __future__ import annotations

import io
import math
import struct
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from vislib.settings import INPUT_SHAPE

MAX_PIXELS = 40_000_000  # a 40-megapixel photo is plenty; more is refused (decompression bombs)
# A JPEG decoded at reduced size (below) never holds all its pixels, so phones' 48- and 64-megapixel
# photos pass; Pillow's own decompression-bomb warning starts at 89 megapixels.
MAX_JPEG_PIXELS = 80_000_000
MAX_BYTES = 50 * 1024 * 1024
MIN_SIDE = 8
# Large JPEGs are decoded at 1/2, 1/4 or 1/8 size (libjpeg's DCT scaling, through Pillow's
# draft()), keeping the long side at least this long: ample for a 64x60 input and for face
# detection, and several times faster than decoding every pixel.
REDUCED_LONG_SIDE = 1024
# The Pillow formats read (PPM covers PGM and PBM). A JPEG that carries extra pictures (phones'
# depth maps, 3-D cameras) opens as format "MPO"; its first picture is the photo.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "AVIF", "BMP", "GIF", "TIFF", "PPM")
ACCEPTED_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "avif", "bmp", "gif", "tif", "tiff", "pgm", "ppm")
FORMATS_IN_WORDS = "JPEG, PNG, WebP, AVIF, BMP, GIF, TIFF, PGM or PPM"
# iPhones' HEIC photos cannot be read (Pillow has no HEIC decoder); an uploader lets them through all the same,
# so that the page says why and what to do, where the uploader's own filter only marked the file red
EXPLAINED_EXTENSIONS = ("heic", "heif")
HEIC_ADVICE = ("On an iPhone, choose JPEG when sharing the photo, or set Settings › Camera › Formats to "
               "Most Compatible.")

# CMU framing, measured on the 128x120 CMU shots with this module's own face detector
# (`python -m vislib.evaluate --measure-framing`): over the 263 of 633 shots where it finds a
# face, the median face is 0.33 of the image height and its centre sits 0.54 of the way down
# (straight shots: 0.32 and 0.55), horizontally centred. (Until issue 10 the centre was put at
# 0.42, so framed faces sat about 0.12 of the crop height higher than CMU's.)
FACE_HEIGHT_FRACTION = 0.33
FACE_CENTRE_FROM_TOP = 0.54
# Lines at a photo's edge this dark (mean below the fraction of the photo's median, and below
# DARK_LINE_MAX) count as a frame, not as picture: Pointing'04 photos have a black border of a
# few pixels. At most this fraction of each side is taken as frame.
DARK_LINE_MAX = 0.2
DARK_LINE_RELATIVE = 0.5
MAX_FRAME_FRACTION = 0.03
FRAME_MARGIN = 2  # lines past a dark frame still dimmed by it (JPEG blurs the step)

# Anything a decoder may raise on a damaged or hostile file. PhotoError is a ValueError, so
# load_photo re-raises its own errors before this tuple is consulted.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError,
                  ArithmeticError, MemoryError, struct.error)
_DAMAGED = "The file looks damaged or cut short, so it cannot be read as a picture."


class PhotoError(ValueError):
    """A file that cannot be used as a photo; the message is meant for the person who sent it."""


def load_photo(data: bytes, *, reduce_to: int | None = REDUCED_LONG_SIDE) -> np.ndarray:
    """Decode an image file's bytes into a grayscale float32 array in [0, 1], shape (H, W).

    Honours EXIF orientation, takes the first frame of animations and multi-page files,
    converts any mode (transparent pixels count as white). Raises PhotoError with a
    plain-language message for anything else: empty, not a picture, damaged or cut short,
    too many pixels (refused from the header, before any pixel is decoded).

    A photo whose long side is at least twice `reduce_to` comes back at a reduced size (long
    side still >= reduce_to; JPEGs are even decoded at that size); pass reduce_to=None for
    every pixel. Boxes drawn on the result are in the result's pixels.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise PhotoError(f"Expected the file's bytes, got {type(data).__name__}.")
    data = bytes(data)
    if not data:
        raise PhotoError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise PhotoError(
            f"The file is {len(data) / 2**20:.0f} MB; the limit is {MAX_BYTES // 2**20} MB. "
            "Please send a smaller copy."
        )
    try:
        image = _open_checked(data, reduced_jpeg=bool(reduce_to))
        if reduce_to and image.format in ("JPEG", "MPO"):
            _draft_gray(image, reduce_to)
        image.load()
        image = ImageOps.exif_transpose(image)
        gray = _to_gray(image)
    except PhotoError:
        raise
    except _DECODE_ERRORS as error:
        raise PhotoError(_DAMAGED) from error
    if not np.isfinite(gray).all():
        raise PhotoError("The picture has invalid pixel values, so it cannot be used.")
    # PNG, TIFF...: shrink after decoding, never a side below MIN_SIDE (a 4000x8 strip stays 8 high)
    factor = min(max(gray.shape) // reduce_to, min(gray.shape) // MIN_SIDE) if reduce_to else 1
    if factor >= 2:
        gray = np.asarray(Image.fromarray(gray).reduce(factor), dtype=np.float32)
    return gray


def _open_checked(data: bytes, reduced_jpeg: bool = False) -> Image.Image:
    """Open (read the header only) and refuse wrong formats and sizes before decoding pixels;
    reduced_jpeg: a JPEG will be decoded at reduced size, so MAX_JPEG_PIXELS applies to it."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # someone switched it on: cut-short files would pass
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False for photo intake")
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past twice its limit, raises) from the header alone. The
            # warning filter is process-wide while it lasts: a few microseconds, opening only.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(
            f"The picture has too many pixels to open safely; the limit is "
            f"{MAX_PIXELS / 1e6:.0f} megapixels ({MAX_JPEG_PIXELS / 1e6:.0f} for a JPEG). Please send a smaller copy."
        ) from None
    except UnidentifiedImageError:
        raise PhotoError(_not_a_picture(data)) from None
    width, height = image.size
    limit = MAX_JPEG_PIXELS if reduced_jpeg and image.format in ("JPEG", "MPO") else MAX_PIXELS
    if width * height > limit:
        raise PhotoError(
            f"The picture is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {limit / 1e6:.0f} megapixels. Please send a smaller copy."
        )
    if width < MIN_SIDE or height < MIN_SIDE:
        raise PhotoError(
            f"The picture is only {width}x{height} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed."
        )
    return image


def _not_a_picture(data: bytes) -> str:
    head = data[:64]
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
        return (f"This is a HEIC photo (the usual format of iPhones), which cannot be read here. Please send it as "
                f"{FORMATS_IN_WORDS}. {HEIC_ADVICE}")
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return f"This AVIF picture is damaged or cut short, so it cannot be read. Please send it again as {FORMATS_IN_WORDS}."
    if head.startswith(b"%PDF"):
        return f"This is a PDF document, not a picture. Please send a {FORMATS_IN_WORDS} picture."
    if head.lstrip()[:5].lower() in (b"<svg ", b"<?xml"):
        return f"This is a drawing (SVG) or other text file. Please send a {FORMATS_IN_WORDS} picture."
    return f"This file is not a picture that can be read here. Please use {FORMATS_IN_WORDS}."


def _draft_gray(image: Image.Image, long_side: int) -> None:
    """Ask libjpeg for grayscale at 1/2, 1/4 or 1/8 size, if the long side stays >= long_side
    and the short side >= MIN_SIDE.

    Smaller JPEGs are left alone: decoded exactly as before, pixel for pixel (the recorded
    three-amigos results depend on it).
    """
    width, height = image.size
    scale = max(long_side / max(width, height), MIN_SIDE / min(width, height))
    if scale < 0.5:
        image.draft("L", (math.ceil(width * scale), math.ceil(height * scale)))


def _to_gray(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode.startswith("I;16"):
        return (np.asarray(image, dtype=np.float32) / 65535.0).clip(0, 1)
    if mode == "I":  # 32-bit integers: PGM with maxval > 255, 32-bit TIFF, ...
        pixels = np.asarray(image, dtype=np.float64)
        top = float(pixels.max(initial=0))
        top = 255.0 if top <= 255 else 65535.0 if top <= 65535 else top
        return (pixels / top).clip(0, 1).astype(np.float32)
    if mode == "F":  # floating point TIFF: use [0, 1] or [0, 255] as is, stretch anything else
        pixels = np.array(image, dtype=np.float32)  # a writable copy, like the other modes give
        if not np.isfinite(pixels).all():
            raise PhotoError("The picture has invalid pixel values, so it cannot be used.")
        low, high = float(pixels.min()), float(pixels.max())
        if low >= 0 and high <= 1:
            return pixels
        if low >= 0 and high <= 255:
            return pixels / np.float32(255)
        return ((pixels - low) / ((high - low) or 1.0)).astype(np.float32)
    if mode == "LAB":  # CIELab: the lightness band is the grayscale picture
        image = image.getchannel("L")
    elif mode == "HSV":
        image = image.convert("RGB")
    elif image.has_transparency_data:  # RGBA, LA, PA, La, RGBa, or a transparent colour
        rgba = image.convert("RGBA")  # transparent parts are shown on white
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return np.asarray(image.convert("L"), dtype=np.float32) / np.float32(255)


# ---------------------------------------------------------------- framing

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels; may reach outside the photo
_OUT_H, _OUT_W = INPUT_SHAPE[0], INPUT_SHAPE[1]
MAX_CROP_PIXELS = 4_000_000  # larger boxes are averaged down before cropping


def cmu_frame(face_box, image_shape, zoom: float = 1.0) -> Box:
    """The 64:60 head-and-shoulders crop around a face box (centre x, centre y, width, height).

    zoom > 1 crops tighter, < 1 looser. The box may extend past the photo; it is padded.
    `image_shape` is not needed for the geometry; it is kept for callers' convenience.
    """
    cx, cy, _, face_h = (float(v) for v in face_box)
    if not (face_h > 0 and zoom > 0) or not np.isfinite([cx, cy, face_h, zoom]).all():
        raise ValueError(f"expected a positive face height and zoom, got {face_h} and {zoom}")
    height = face_h / FACE_HEIGHT_FRACTION / zoom
    width = height * _OUT_W / _OUT_H
    top = cy - FACE_CENTRE_FROM_TOP * height
    return (cx - width / 2, top, cx + width / 2, top + height)


def moved(box: Box, right: float = 0.0, down: float = 0.0) -> Box:
    """The box shifted by fractions of its own width (right) and height (down)."""
    x0, y0, x1, y1 = box
    dx, dy = right * (x1 - x0), down * (y1 - y0)
    return (x0 + dx, y0 + dy, x1 + dx, y1 + dy)


def share_on_photo(box: Box, image_shape) -> float:
    """The share of the box's area that lies on the photo (the rest is padding)."""
    h, w = image_shape[:2]
    x0, y0, x1, y1 = box
    area = max(x1 - x0, 0.0) * max(y1 - y0, 0.0)
    inside = max(min(x1, w) - max(x0, 0.0), 0.0) * max(min(y1, h) - max(y0, 0.0), 0.0)
    return inside / area if area > 0 else 0.0


def _reduced(gray: np.ndarray, box: Box, k: int) -> tuple[np.ndarray, Box]:
    """The photo averaged over k x k blocks, and the box in its pixels (no-op for k < 2)."""
    if k < 2:
        return gray, box
    small = np.asarray(Image.fromarray(np.ascontiguousarray(gray, dtype=np.float32)).reduce(k))
    return small, tuple(v / k for v in box)


def preview(gray: np.ndarray, box: Box, max_side: int = 480) -> np.ndarray:
    """The box's contents, at most about max_side pixels on the long side (cheap for huge boxes)."""
    x0, y0, x1, y1 = box
    return crop(*_reduced(gray, box, int(max(x1 - x0, y1 - y0) // max_side)))


def whole_frame(image_shape) -> Box:
    """The largest centred 64:60 crop of the photo: the 'whole photo' option."""
    h, w = image_shape[:2]
    aspect = _OUT_W / _OUT_H
    if w / h > aspect:
        cw = h * aspect
        return ((w - cw) / 2, 0.0, (w + cw) / 2, float(h))
    ch = w / aspect
    return (0.0, (h - ch) / 2, float(w), (h + ch) / 2)


def content_bounds(gray: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right): the photo without a dark frame of edge lines (rows/columns
    much darker than the photo, followed by a lighter line within MAX_FRAME_FRACTION of the
    side); the whole photo when it has none."""
    h, w = gray.shape
    reference = float(np.median(gray[:: max(1, h // 64), :: max(1, w // 64)]))
    limit = min(DARK_LINE_MAX, DARK_LINE_RELATIVE * reference)

    def count(lines) -> int:  # dark lines, then a lighter one: a frame (else dark picture)
        for n, line in enumerate(lines):
            if float(np.mean(line)) >= limit:  # a frame, and its blurred inner edge
                return n + FRAME_MARGIN if n else 0
        return 0

    kh, kw = int(h * MAX_FRAME_FRACTION), int(w * MAX_FRAME_FRACTION)
    top = count(gray[i] for i in range(kh))
    bottom = h - count(gray[h - 1 - i] for i in range(kh))
    left = count(gray[:, i] for i in range(kw))
    right = w - count(gray[:, w - 1 - i] for i in range(kw))
    return top, bottom, left, right


def crop(gray: np.ndarray, box: Box) -> np.ndarray:
    """Cut a box out of a grayscale photo; parts outside the picture take its edges' colour.

    The picture is the photo without a dark frame at its edges (`content_bounds`: the black
    border of Pointing'04 photos). Outside it, each side is filled flat with the median of the
    picture's line along that side (corners: the mean of their two sides), so a wall stays a
    wall: no black bands (the black line repeated, until issue 10) and no streaks (any edge
    line repeated). The box is rounded to whole pixels. A box inside the picture gives a view
    of it; one reaching outside allocates only the box, however far it reaches.
    """
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"expected a box with x1 > x0 and y1 > y0, got {box}")
    top, bottom, left, right = content_bounds(gray)
    if left <= x0 and x1 <= right and top <= y0 and y1 <= bottom:
        return gray[y0:y1, x0:x1]
    picture = gray[top:bottom, left:right]
    side = {"top": np.median(picture[0]), "bottom": np.median(picture[-1]),
            "left": np.median(picture[:, 0]), "right": np.median(picture[:, -1])}
    rows, cols = np.arange(y0, y1), np.arange(x0, x1)
    out = gray[np.ix_(np.clip(rows, top, bottom - 1), np.clip(cols, left, right - 1))].copy()
    vertical = np.where(rows < top, side["top"], np.where(rows >= bottom, side["bottom"], np.nan))[:, None]
    horizontal = np.where(cols < left, side["left"], np.where(cols >= right, side["right"], np.nan))[None, :]
    fill = np.where(np.isnan(vertical), horizontal, np.where(np.isnan(horizontal), vertical,
                                                            (vertical + horizontal) / 2))
    outside = ~np.isnan(fill)
    out[outside] = fill[outside]
    return out


def to_network_input(gray: np.ndarray, box: Box | None = None) -> np.ndarray:
    """The 64x60 network input (60, 64, 1) in [0, 1]: crop (whole frame by default), resize."""
    box = whole_frame(gray.shape) if box is None else tuple(float(v) for v in box)
    # A huge box (a zoomed-out one can be far larger than the photo): average k x k blocks
    # first, so the crop stays small (at least 8 times the output) and the resize cheap. The
    # box then snaps to whole k-pixel blocks, at most 1/16 of an output pixel away.
    k = int(min((box[3] - box[1]) / (8 * _OUT_H), (box[2] - box[0]) / (8 * _OUT_W)))
    if (box[3] - box[1]) * (box[2] - box[0]) > MAX_CROP_PIXELS:
        gray, box = _reduced(gray, box, k)
    patch = np.ascontiguousarray(crop(gray, box), dtype=np.float32)
    resample = Image.Resampling.BOX if patch.shape[0] > _OUT_H else Image.Resampling.BILINEAR
    resized = Image.fromarray(patch).resize((_OUT_W, _OUT_H), resample)
    return np.clip(np.asarray(resized, dtype=np.float32), 0, 1)[..., None]


# ---------------------------------------------------------------- face detection

# Detection runs on a copy with this long side, looking for faces at least 1/12 of its width
# (26 px here, above the cascades' 24 and 20 px windows): fast, and on the Pointing'04 photos
# as accurate as larger copies (the sure passes found 115-119 of 138 faces within half a face of
# the truth).
DETECT_LONG_SIDE = 320
DETECT_SCALE_STEP = 1.15  # the cascades' scaleFactor
PROFILE_SCALE_STEP = 1.2  # the profile cascade is slower; it runs twice, only when needed
# Where both sure passes find nothing, a last pass asks fewer windows to agree (3, not 5) on a finer
# scale step. Chosen on the nine pointing04_train people and the CMU originals, never the amigos
# (BENCHMARKS.md, "Sixth round"): faces found 688 -> 743 of 828 (4 of the new 55 off by over half a
# face) and 263 -> 376 of 633; turned and raised heads are most of the gain. Uploads and the
# evaluation get it; Experiment 2 is trained without it (train.TRAIN_ON_LESS_SURE_FACES says why).
SURE_VOTES = 5
LAST_PASS_VOTES = 3
LAST_PASS_SCALE_STEP = 1.1
LESS_SURE = ", less sure"  # appended to the detector's name for a face found by the last pass


@dataclass(frozen=True)
class Face:
    """A detected face: centre, size (the skin face, as Pointing'04 boxes), and the detector."""

    cx: float
    cy: float
    width: float
    height: float
    detector: str  # 'frontal', 'profile' or 'profile (mirrored)', each possibly + LESS_SURE

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.cx, self.cy, self.width, self.height)


# OpenCV cascades keep per-image state, so one must not run in two threads at once (Streamlit
# serves each session from its own thread). A small pool lends each call its own pair.
_pool: list = []
_pool_lock = threading.Lock()


def _load_cascades():
    import cv2

    root = cv2.data.haarcascades
    frontal = cv2.CascadeClassifier(root + "haarcascade_frontalface_default.xml")
    profile = cv2.CascadeClassifier(root + "haarcascade_profileface.xml")
    if frontal.empty() or profile.empty():
        raise RuntimeError(f"OpenCV's Haar cascade files are missing from {root}")
    return frontal, profile


@contextmanager
def _cascades():
    with _pool_lock:
        pair = _pool.pop() if _pool else None
    if pair is None:
        pair = _load_cascades()
    try:
        yield pair
    finally:
        with _pool_lock:
            _pool.append(pair)


def detect_face(gray: np.ndarray, less_sure: bool = True) -> Face | None:
    """The surest face OpenCV's bundled Haar cascades find, or None.

    The frontal cascade is tried first; the profile cascade (as is, and on the mirrored photo
    for faces turned the other way) only when it finds nothing; then, only when neither finds a
    face, all three again with fewer detection windows asked to agree (the detector's name then
    ends in LESS_SURE; less_sure=False skips that pass). Among several candidates the one the
    most windows agree on wins (a false alarm gathers few).
    """
    import cv2

    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or min(gray.shape) < MIN_SIDE:
        raise ValueError(f"expected a 2-D grayscale photo at least {MIN_SIDE}x{MIN_SIDE}, got {gray.shape}")
    scale = min(1.0, DETECT_LONG_SIDE / max(gray.shape))
    if scale < 1.0:
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    small = cv2.equalizeHist((np.clip(gray, 0, 1) * 255 + 0.5).astype(np.uint8))
    min_size = (max(20, small.shape[1] // 12),) * 2
    width = small.shape[1]
    with _cascades() as (frontal, profile):
        sure_profiles = (("profile", profile, False, PROFILE_SCALE_STEP, SURE_VOTES),
                         ("profile (mirrored)", profile, True, PROFILE_SCALE_STEP, SURE_VOTES))
        last = tuple((name + LESS_SURE, detector, mirrored, LAST_PASS_SCALE_STEP, LAST_PASS_VOTES)
                     for name, detector, mirrored in (("frontal", frontal, False), ("profile", profile, False),
                                                      ("profile (mirrored)", profile, True)))
        for passes in ((("frontal", frontal, False, DETECT_SCALE_STEP, SURE_VOTES),), sure_profiles,
                       *([last] if less_sure else [])):
            found: list[tuple[int, Face]] = []
            for name, detector, mirrored, step, votes_needed in passes:
                img = np.ascontiguousarray(small[:, ::-1]) if mirrored else small
                boxes, votes = detector.detectMultiScale2(img, step, votes_needed, minSize=min_size)
                for (x, y, w, h), n in zip(boxes, np.ravel(votes)):
                    if mirrored:
                        x = width - x - w
                    # Haar boxes are square and generous: the skin face (what framing expects,
                    # as in the Pointing'04 boxes) is about 0.72 of the box tall, 0.6 down.
                    found.append((int(n), Face(float((x + w / 2) / scale), float((y + 0.6 * h) / scale),
                                               float(0.6 * w / scale), float(0.72 * h / scale), name)))
            if found:  # the surest: most overlapping windows agree on it (then the largest)
                return max(found, key=lambda nf: (nf[0], nf[1].width))[1]
    return None


# ---------------------------------------------------------------- the intake in one call


@dataclass(frozen=True)
class Framing:
    """How a photo was framed: the crop box, the network input, and where the box came from."""

    box: Box
    input: np.ndarray  # (60, 64, 1) float32 in [0, 1]
    source: str  # 'face box', 'detected face (frontal)', 'detected face (profile)', ..., 'whole photo'


# the detector looks for profiles turned one way, and in the mirror image for the other: one to a client
DETECTORS_IN_WORDS = {"frontal": "from the front", "profile": "from the side", "profile (mirrored)": "from the side"}
MOVED = ", moved by hand"


def framing_in_words(source: str) -> str:
    """A Framing.source for a person: 'detected face (profile (mirrored), less sure)' -> 'the face the
    detector found (from the side; it was less sure)'. Others are kept as they are."""
    moved = source.endswith(MOVED)
    core = source[: -len(MOVED)] if moved else source
    if not (core.startswith("detected face (") and core.endswith(")")):
        return source
    detector = core[len("detected face ("):-1]
    less_sure = detector.endswith(LESS_SURE)
    detector = detector[: -len(LESS_SURE)] if less_sure else detector
    words = DETECTORS_IN_WORDS.get(detector, detector) + ("; it was less sure" if less_sure else "")
    return f"the face the detector found ({words})" + (MOVED if moved else "")


def frame(gray: np.ndarray, face=None, zoom: float = 1.0, use_whole_photo: bool = False,
          right: float = 0.0, down: float = 0.0, less_sure: bool = True) -> Framing:
    """Frame a photo for the network: CMU framing around a face, else the whole photo.

    face: a face box (centre x, centre y, width, height) or a Face; when None, one is looked
    for with detect_face (with its less sure pass unless less_sure=False). zoom, right and down
    (see `moved`) apply to face framing only. use_whole_photo skips faces.
    """
    if use_whole_photo:
        face, source = None, "whole photo"
    elif face is None:
        face = detect_face(gray, less_sure)
        source = f"detected face ({face.detector})" if face is not None else "whole photo"
    else:
        source = f"detected face ({face.detector})" if isinstance(face, Face) else "face box"
    if face is None:
        box = whole_frame(gray.shape)
    else:
        box = cmu_frame(face.box if isinstance(face, Face) else face, gray.shape, zoom)
        if right or down:
            box, source = moved(box, right, down), source + MOVED
    return Framing(box, to_network_input(gray, box), source)
