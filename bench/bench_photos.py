"""How long does cleaning one 12 MP phone photograph take at upload? (issue 15)

    .venv/bin/python bench/bench_photos.py [--repeat 3]

Makes a synthetic 4000 x 3000 JPEG (noise blurred to photographic texture,
with EXIF GPS and an orientation tag), then times, side by side in this
process:
  baseline  decode + one plain JPEG re-encode of the same file (Pillow alone)
  clean     photos.imaging.clean: header checks, decode, exif_transpose,
            sRGB, full + screen (1600 px) + thumbnail (320 px) re-encoded
and prints the ratio clean / baseline and the size of each version.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageFilter  # noqa: E402

from photos import imaging  # noqa: E402

LIMITS = imaging.Limits(max_pixels=50_000_000, max_side=16_000, screen_side=1600, thumb_side=320)


def phone_jpeg() -> bytes:
    noise = Image.effect_noise((1000, 750), 60).convert("RGB")
    texture = noise.resize((4000, 3000), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    skin = Image.new("RGB", (4000, 3000), (205, 150, 130))
    image = Image.blend(skin, texture, 0.35)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x0110] = "Phone"
    exif.get_ifd(0x8825).update({1: "N", 2: (41.0, 24.0, 17.5)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92, exif=exif.tobytes())
    return buffer.getvalue()


def baseline(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    image.load()
    image.save(io.BytesIO(), "JPEG", quality=90)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = phone_jpeg()
    times = {"baseline": [], "clean": []}
    result = None
    for _ in range(args.repeat):
        start = time.perf_counter()
        baseline(data)
        times["baseline"].append(time.perf_counter() - start)
        start = time.perf_counter()
        result = imaging.clean(io.BytesIO(data), LIMITS)
        times["clean"].append(time.perf_counter() - start)
    base, clean = (statistics.median(times[k]) for k in ("baseline", "clean"))
    print(f"source: 4000 x 3000 JPEG, {len(data) / 1e6:.2f} MB")
    print(f"baseline (decode + one re-encode): {base:.2f} s (median of {args.repeat})")
    print(f"clean (3 versions, EXIF stripped):  {clean:.2f} s; ratio {clean / base:.2f}")
    for name in ("full", "screen", "thumb"):
        version = getattr(result, name)
        print(f"  {name:6} {version.width} x {version.height}  {len(version.data) / 1024:.0f} KB")


if __name__ == "__main__":
    main()
