"""Product pictures: checked and re-encoded by Pillow, with two thumbnails.

Guarantees: only PNG and JPEG pictures (decided from the bytes) are accepted; a picture above
the pixel limit is refused from its header before it is decoded (`image_too_large`, see
marketplace.images); what is stored is pixels encoded again (no metadata or trailing
payload); the content hash of the stored picture identifies exact duplicates.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from PIL import Image

from marketplace.images import image_decode, image_size

from .errors import CatalogError


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    sha256: str
    width: int
    height: int
    thumbnails: dict[str, bytes]


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=88, optimize=True, progressive=True)
    return out.getvalue()


def _read(uploaded) -> bytes:
    limit = settings.PRODUCT_IMAGE_MAX_BYTES
    if getattr(uploaded, "size", 0) and uploaded.size > limit:
        raise CatalogError("file_too_large", _("The picture is larger than 10 MB."), {"max_bytes": limit})
    uploaded.seek(0)
    data = uploaded.read(limit + 1)
    if len(data) > limit:
        raise CatalogError("file_too_large", _("The picture is larger than 10 MB."), {"max_bytes": limit})
    if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
        raise CatalogError("file_type_not_allowed", _("Product pictures must be PNG or JPEG images."))
    return data


def check_product_image(uploaded) -> None:
    """The cheap checks of `clean_product_image` (size, type, dimensions from the header),
    without decoding: a caller with several pictures checks them all before decoding any."""
    image_size(_read(uploaded), error=CatalogError)


def clean_product_image(uploaded) -> CleanImage:
    """Check a picture (see `check_product_image`), decode it and encode it again at most
    PRODUCT_IMAGE_MAX_SIDE pixels wide and high, with its thumbnails."""
    data = _read(uploaded)
    side = settings.PRODUCT_IMAGE_MAX_SIDE
    # Refused from its header above the pixel limit; a large JPEG is decoded reduced.
    image = image_decode(data, fit=side, error=CatalogError)
    try:
        image.thumbnail((side, side))
        content = _encode(image)
        thumbnails = {}
        for name, size in settings.PRODUCT_THUMBNAIL_SIZES.items():
            thumb = image.copy()
            thumb.thumbnail((size, size))
            thumbnails[name] = _encode(thumb)
        width, height = image.size
    except (OSError, ValueError) as exc:
        raise CatalogError(
            "file_corrupt", _("The picture could not be read. Upload it again or use another file.")
        ) from exc
    return CleanImage(
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        width=width,
        height=height,
        thumbnails=thumbnails,
    )
