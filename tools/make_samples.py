"""Rebuild sample_images/ from two free pictures that ship with scikit-image.

    .venv/bin/python tools/make_samples.py

The portrait (Eileen Collins, NASA; public domain) is skimage.data.astronaut(); the cameraman
(Lav Varshney, CC0), skimage.data.camera(), a man in profile turned to his left, as CMU's "left"
faces are: the one sample that looks left. Only derived copies of them go into sample_images/:
never CMU or Pointing'04 images, which are not ours to redistribute.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from skimage import data

OUT = Path(__file__).resolve().parent.parent / "sample_images"
MAX_BYTES = 60_000  # "60 KB" read strictly


def samples() -> dict[str, Image.Image]:
    portrait = Image.fromarray(data.astronaut())  # 512x512 RGB
    cameraman = Image.fromarray(data.camera())  # 512x512 gray; he faces the picture's right: his left
    return {
        "cameraman.jpg": cameraman,
        "cameraman_mirrored.jpg": cameraman.transpose(Image.Transpose.FLIP_LEFT_RIGHT),  # turned to his right
        "astronaut.jpg": portrait,  # as is: she faces slightly to her left
        "astronaut_mirrored.jpg": portrait.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "astronaut_closeup.jpg": portrait.crop((120, 20, 340, 240)).resize((330, 330), Image.Resampling.LANCZOS),
        "astronaut_wide.jpg": portrait.crop((0, 0, 512, 384)),  # 4:3, face off-centre
    }


def save_small(image: Image.Image, path: Path) -> int:
    for quality in range(88, 40, -4):
        image.save(path, "JPEG", quality=quality, optimize=True, progressive=False)
        if path.stat().st_size <= MAX_BYTES:
            return quality
    raise RuntimeError(f"{path.name} stays over {MAX_BYTES} bytes")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, image in samples().items():
        quality = save_small(image, OUT / name)
        print(f"{name}: {image.size[0]}x{image.size[1]}, quality {quality}, {(OUT / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
