"""Product pictures for the demo, drawn with Pillow (no image files shipped)."""

import io
import random

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageFont

PALETTE = ["#e9c46a", "#f4a261", "#e76f51", "#2a9d8f", "#8ab17d", "#a8dadc", "#cdb4db", "#ffafcc"]


def picture(title: str, seed: int, size: int = 800) -> ContentFile:
    rng = random.Random(seed)
    background = rng.choice(PALETTE)
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    for _ in range(6):  # a few soft shapes so pictures differ
        x, y, r = rng.randrange(size), rng.randrange(size), rng.randrange(size // 8, size // 3)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rng.choice(PALETTE))
    font = ImageFont.load_default(size=size // 12)
    words, lines, line = title.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=font) > size * 0.8 and line:
            lines.append(line)
            line = word
        else:
            line = candidate
    lines.append(line)
    y = size // 2 - len(lines) * size // 24
    for text in lines:
        width = draw.textlength(text, font=font)
        draw.rectangle(
            (size / 2 - width / 2 - 12, y - 6, size / 2 + width / 2 + 12, y + size / 11),
            fill="#ffffff",
        )
        draw.text((size / 2 - width / 2, y), text, font=font, fill="#1c1c1c")
        y += size // 10
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return ContentFile(out.getvalue())
