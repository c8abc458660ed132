"""Uploaded files: type decided from the bytes, size limited, images re-encoded.

Guarantees: a document is a PDF, PNG or JPEG by its content, whatever its name says; an
image above the pixel limit is refused from its header before it is decoded
(`image_too_large`, see marketplace.images); an image is decoded and encoded again with
Pillow, so only pixels are stored (no metadata, no trailing payload); nothing is written
when a check fails.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from marketplace.images import image_decode

from .errors import MerchantError

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
LOGO_MAX_SIDE = 512


@dataclass(frozen=True)
class CleanFile:
    content: bytes
    content_type: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


def sniff(head: bytes) -> str | None:
    """The content type from the first bytes, or None for anything we do not accept."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


def _read_limited(uploaded, limit: int) -> bytes:
    size = getattr(uploaded, "size", None)
    if size is not None and size > limit:
        raise MerchantError(
            "file_too_large",
            _("The file is larger than %(mb)d MB. Upload a smaller scan or photo.") % {"mb": limit // (1024 * 1024)},
            {"max_bytes": limit},
        )
    uploaded.seek(0)
    data = uploaded.read(limit + 1)
    if len(data) > limit:
        raise MerchantError(
            "file_too_large",
            _("The file is larger than %(mb)d MB. Upload a smaller scan or photo.") % {"mb": limit // (1024 * 1024)},
            {"max_bytes": limit},
        )
    if not data:
        raise MerchantError("file_empty", _("The file is empty."))
    return data


def _reencode(data: bytes, content_type: str, *, max_side: int | None = None) -> bytes:
    # Refused from its header above the pixel limit; a large JPEG is decoded reduced when
    # only `max_side` pixels are kept (marketplace.images).
    image = image_decode(data, fit=max_side, error=MerchantError)
    try:
        if max_side:
            image.thumbnail((max_side, max_side))
        out = io.BytesIO()
        if content_type == JPEG:
            image.convert("RGB").save(out, format="JPEG", quality=90, optimize=True)
        else:
            if image.mode not in {"RGB", "RGBA", "L", "LA", "P"}:
                image = image.convert("RGBA")
            image.save(out, format="PNG", optimize=True)
        return out.getvalue()
    except (OSError, ValueError) as exc:
        raise MerchantError(
            "file_corrupt", _("The image could not be read. Upload it again or use another file.")
        ) from exc


def clean_document(uploaded) -> CleanFile:
    """Validate a qualification document (PDF, PNG or JPEG, at most 10 MB)."""
    data = _read_limited(uploaded, settings.MERCHANT_DOCUMENT_MAX_BYTES)
    content_type = sniff(data[:16])
    if content_type is None:
        raise MerchantError(
            "file_type_not_allowed",
            _("Only PDF, PNG and JPEG files are accepted; this file is none of them, whatever its name says."),
        )
    if content_type == PDF:
        if b"%%EOF" not in data[-2048:]:
            raise MerchantError("file_corrupt", _("The PDF is incomplete or damaged. Export it again and retry."))
    else:
        data = _reencode(data, content_type)
    return CleanFile(content=data, content_type=content_type, sha256=hashlib.sha256(data).hexdigest())


def clean_logo(uploaded) -> CleanFile:
    """Validate a shop logo: PNG or JPEG, resized to fit 512×512, stored as PNG."""
    data = _read_limited(uploaded, settings.MERCHANT_DOCUMENT_MAX_BYTES)
    content_type = sniff(data[:16])
    if content_type not in {PNG, JPEG}:
        raise MerchantError("file_type_not_allowed", _("A logo must be a PNG or JPEG image."))
    data = _reencode(data, PNG, max_side=LOGO_MAX_SIDE)
    return CleanFile(content=data, content_type=PNG, sha256=hashlib.sha256(data).hexdigest())
