"""Demo product pictures: generated JPEGs (a category's two-colour gradient with a simple
shape), so the demo needs no image files."""

from __future__ import annotations

import functools
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw, ImageOps

from demo.product_lines import LINES

PICTURES_PER_CATEGORY = 6


@functools.cache
def picture(category: str, variant: int) -> bytes:
    """A 480×480 JPEG: the category's two-colour gradient with a simple shape. Generated
    once per (category, variant); products reuse the bytes."""
    line = LINES[category]
    low, high = line.palette
    gradient = Image.linear_gradient("L").resize((480, 480))
    if variant % 2:
        gradient = gradient.transpose(Image.Transpose.ROTATE_90)
    image = ImageOps.colorize(gradient, low, high)
    draw = ImageDraw.Draw(image)
    shade = tuple(min(255, c + 40) for c in high)
    ink = tuple(max(0, c - 30) for c in low)
    draw.ellipse((110, 380, 370, 420), fill=tuple(max(0, c - 50) for c in low))  # a shadow
    shape = variant % PICTURES_PER_CATEGORY
    if shape == 0:
        draw.ellipse((120, 100, 360, 340), fill=shade, outline=ink, width=6)
    elif shape == 1:
        draw.rounded_rectangle((120, 120, 360, 360), radius=36, fill=shade, outline=ink, width=6)
    elif shape == 2:
        draw.polygon([(240, 90), (380, 360), (100, 360)], fill=shade, outline=ink)
    elif shape == 3:
        draw.polygon([(240, 90), (380, 230), (240, 370), (100, 230)], fill=shade, outline=ink)
    elif shape == 4:
        draw.ellipse((110, 110, 370, 370), outline=shade, width=40)
    else:
        draw.polygon([(170, 110), (310, 110), (360, 230), (120, 230)], fill=shade, outline=ink)
        draw.rectangle((228, 230, 252, 360), fill=ink)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def picture_upload(category: str, variant: int) -> SimpleUploadedFile:
    return SimpleUploadedFile(f"{category}-{variant}.jpg", picture(category, variant), content_type="image/jpeg")
