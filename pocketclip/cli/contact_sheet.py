"""Search hits as one picture: a row per query, thumbnails labelled with rank and score."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

THUMB = 128
LABEL_H = 22
FONT_SIZE = 14  # Pillow's built-in scalable font (its bitmap default has no space glyph: "#10.731")


def contact_sheet(rows: list[tuple[str, list[tuple[Path, float]]]], out: str | Path, thumb: int = THUMB) -> Path:
    """`rows` is [(query, [(photo path, score), ...]), ...]; writes a PNG and returns its path.
    A photo that cannot be read (deleted since indexing, say) gets a grey tile saying so."""
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"{out} is a folder; give a file name for the contact sheet, e.g. {out / 'hits.png'}")
    font = ImageFont.load_default(size=FONT_SIZE)
    columns = max((len(hits) for _, hits in rows), default=1)
    width = max(columns, 1) * (thumb + 4) + 4
    height = len(rows) * (thumb + 2 * LABEL_H + 4) + 4
    sheet = Image.new("RGB", (width, max(height, 1)), (250, 250, 250))
    draw = ImageDraw.Draw(sheet)
    y = 4
    for query, hits in rows:
        draw.text((6, y + 3), query, fill=(0, 0, 0), font=font)
        y += LABEL_H
        for col, (path, score) in enumerate(hits):
            x = 4 + col * (thumb + 4)
            try:
                with Image.open(path) as photo:
                    tile = ImageOps.fit(ImageOps.exif_transpose(photo).convert("RGB"), (thumb, thumb))
            except (OSError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError, ValueError):
                tile = Image.new("RGB", (thumb, thumb), (200, 200, 200))
                ImageDraw.Draw(tile).text((6, thumb // 2 - 8), "unreadable", fill=(90, 90, 90), font=font)
            sheet.paste(tile, (x, y))
            draw.text((x + 2, y + thumb + 3), f"#{col + 1} {score:.3f}", fill=(60, 60, 60), font=font)
        y += thumb + LABEL_H + 4
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, format="PNG")
    return out
