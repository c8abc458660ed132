"""Decoding uploaded pictures (documents, logos, product pictures, after-sales photos) so
that no upload can take a worker's memory or minutes.

A PNG of 12000 × 12000 pixels compresses to a few hundred KB but decodes to 430 MB or more,
and seconds of CPU. So, with Pillow (its `Image.open` reads only the header):
- only PNG and JPEG are opened (Pillow tries no other format, whatever the bytes say);
- the dimensions are read from the header and a picture of more than
  `settings.MAX_IMAGE_PIXELS` pixels (40 megapixels unless the environment says otherwise)
  is refused with `image_too_large` (extra `max_pixels`) before any pixel is decoded;
  Pillow's own limit is the same number (set in MarketplaceConfig.ready) and its
  DecompressionBombWarning/Error are refusals too, so no other path decodes more;
- a JPEG is decoded reduced when the caller needs less than its size (`fit`): libjpeg
  scales by 1/2, 1/4 or 1/8 while decoding (Pillow's `draft`), so a 6000 × 6000 photo shown
  at 1600 px takes a quarter of the memory;
- anything Pillow cannot read is refused with `file_corrupt`.
Errors are raised in the caller's `DomainError` class (like marketplace.csvfiles), so each
app keeps its own error type and the API answers 400 with the code.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import DomainError

FORMATS = ("PNG", "JPEG")
_UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


def _too_large(error: type[DomainError]) -> DomainError:
    limit = settings.MAX_IMAGE_PIXELS
    return error(
        "image_too_large",
        _("The image is larger than %(megapixels)d megapixels. Scale it down and upload it again.")
        % {"megapixels": limit // 1_000_000},
        {"max_pixels": limit},
    )


def _unreadable(error: type[DomainError]) -> DomainError:
    return error("file_corrupt", _("The image could not be read. Upload it again or use another file."))


def image_size(data: bytes, *, error: type[DomainError] = DomainError) -> tuple[int, int]:
    """(width, height) from the header of a PNG or JPEG, without decoding a pixel; refuses
    a picture above the pixel limit (`image_too_large`) or unreadable (`file_corrupt`)."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size
    except _BOMB as exc:
        raise _too_large(error) from exc
    except _UNREADABLE as exc:
        raise _unreadable(error) from exc
    if width * height > settings.MAX_IMAGE_PIXELS:
        raise _too_large(error)
    return width, height


def image_decode(data: bytes, *, fit: int | None = None, error: type[DomainError] = DomainError) -> Image.Image:
    """The decoded picture, upright (its EXIF orientation applied), once `image_size` has
    accepted it. With `fit`, a JPEG is decoded at the smallest libjpeg scale that keeps
    both sides at least `fit` pixels (the caller still resizes it exactly)."""
    image_size(data, error=error)
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data), formats=FORMATS)
        if fit and image.format == "JPEG":
            image.draft(None, (fit, fit))
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
    except _BOMB as exc:
        raise _too_large(error) from exc
    except _UNREADABLE as exc:
        raise _unreadable(error) from exc
    return image
