"""Benchmark: what an oversized picture costs a worker now that it is refused from its header.

    DEBUG=1 .venv/bin/python bench/image_upload.py [--runs 5] [--photo 4000x3000] [--unguarded]

Builds in memory the file of issue #10 (finding 5): a PNG of 12000 × 12000 black pixels,
about 420 KB, that decodes to 432 MB of pixels. Then times, each in a fresh child process
(so the peak memory of one does not hide the next), through the real upload checks
(`catalog.images.clean_product_image` for product pictures and after-sales photos,
`merchants.documents.clean_document` for application documents):
  - the refusal of that PNG (`image_too_large`);
  - a baseline: a normal phone photo (`--photo`, a JPEG) accepted, decoded reduced and
    re-encoded with its thumbnails;
  - with `--unguarded`, the PNG decoded as before the fix (Pillow without a limit): seconds
    and more than a gigabyte, so only on request.
For each: the median wall time over `--runs`, and the growth of the child's peak resident
memory (ru_maxrss) plus Python's own peak allocation (tracemalloc).
Needs no database.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

import django

django.setup()

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from PIL import Image  # noqa: E402

from catalog.images import clean_product_image  # noqa: E402
from marketplace.errors import DomainError  # noqa: E402
from merchants.documents import clean_document  # noqa: E402
from tests.factories import png_bomb  # noqa: E402

GOAL_MS = 50
GOAL_MB = 10


def _product_picture(data: bytes) -> str:
    try:
        clean_product_image(SimpleUploadedFile("upload", data))
    except DomainError as error:
        return error.code
    return "accepted"


def _document(data: bytes) -> str:
    try:
        clean_document(SimpleUploadedFile("upload", data))
    except DomainError as error:
        return error.code
    return "accepted"


def _unguarded(data: bytes) -> str:
    Image.MAX_IMAGE_PIXELS = None
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return f"decoded {image.size[0]} × {image.size[1]}"


CHECKS = {"product picture": _product_picture, "document": _document, "unguarded": _unguarded}


def _child(check: str, data: bytes, out) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    began = time.perf_counter()
    outcome = CHECKS[check](data)
    seconds = time.perf_counter() - began
    _current, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    out.send((outcome, seconds, grown / 1024, python_peak / (1024 * 1024)))


def measure(check: str, data: bytes, runs: int) -> tuple[str, float, float, float]:
    """(outcome, median seconds, max peak-RSS growth in MB, max Python peak in MB)."""
    context = multiprocessing.get_context("fork")
    results = []
    for _ in range(runs):
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(check, data, sender))
        process.start()
        results.append(receiver.recv())
        process.join()
    outcomes = {r[0] for r in results}
    assert len(outcomes) == 1, outcomes
    return (
        results[0][0],
        statistics.median(r[1] for r in results),
        max(r[2] for r in results),
        max(r[3] for r in results),
    )


def _print(label: str, figures) -> None:
    outcome, seconds, rss_mb, python_mb = figures
    print(f"{label}: {outcome} in {seconds * 1000:.1f} ms; peak memory +{rss_mb:.1f} MB (Python +{python_mb:.1f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--photo", default="4000x3000", help="Size of the baseline JPEG photo, WIDTHxHEIGHT.")
    parser.add_argument("--unguarded", action="store_true", help="Also decode the PNG without a limit (slow).")
    args = parser.parse_args()

    bomb = png_bomb()
    width, height = (int(n) for n in args.photo.split("x"))
    buffer = io.BytesIO()
    gradient = Image.radial_gradient("L").resize((width, height))
    noise = Image.effect_noise((width // 8, height // 8), 60).resize((width, height))
    Image.merge("RGB", (gradient, noise, gradient.rotate(90))).save(buffer, format="JPEG", quality=90)
    photo = buffer.getvalue()
    print(f"image_upload: 12000 × 12000 PNG of {len(bomb) / 1024:.0f} KB (432 MB of pixels)")

    refusals = [measure(check, bomb, args.runs) for check in ("product picture", "document")]
    _print("refused as a product picture", refusals[0])
    _print("refused as a document", refusals[1])
    _print(
        f"baseline: {width} × {height} JPEG photo of {len(photo) / 1024:.0f} KB as a product picture",
        measure("product picture", photo, args.runs),
    )
    if args.unguarded:
        _print("unguarded: the PNG decoded as before the fix", measure("unguarded", bomb, 1))
    slowest = max(r[1] for r in refusals) * 1000
    largest = max(r[2] for r in refusals)
    verdict = "met" if slowest < GOAL_MS and largest < GOAL_MB else "missed"
    print(f"goal: a refusal under {GOAL_MS} ms and {GOAL_MB} MB: {verdict} ({slowest:.1f} ms, {largest:.1f} MB)")


if __name__ == "__main__":
    main()
