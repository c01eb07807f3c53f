"""The photo pipeline on a 12-megapixel camera JPEG: time and stored size.

    .venv/bin/python bench/photos.py            (make bench-photos)

The photo is the one bench/upload.py sends: 4000 x 3000 pixels, about 5.5 MB, with sensor
noise, so it compresses like a real one. `app.photos.process` decodes it (at a reduced DCT
scale), turns it upright, converts it to sRGB, shrinks it to 1600 px, encodes the photo and
its thumbnail and computes the perceptual hash; the median of 15 runs is printed with the
sizes stored. Target from issue 6: under 150 ms median, stored under 500 KB.
"""
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.photos import process  # noqa: E402
from bench.machine import describe  # noqa: E402
from upload import camera_photo  # noqa: E402

RUNS = 15


def main():
    photo = camera_photo()
    process(photo)  # warm up: imports, the colour-profile machinery
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        result = process(photo)
        times.append((time.perf_counter() - start) * 1000)
    print(describe())
    print(f"12-megapixel JPEG, {len(photo) / 1e6:.1f} MB in: median {statistics.median(times):.0f} ms "
          f"(min {min(times):.0f}, max {max(times):.0f}, {RUNS} runs); stored {result.width} x "
          f"{result.height}, {len(result.jpeg) / 1e3:.0f} KB, thumbnail {len(result.thumb) / 1e3:.0f} KB")


if __name__ == "__main__":
    main()
