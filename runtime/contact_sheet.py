"""Search hits as one picture: a row per query, thumbnails labelled with rank and score."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

THUMB = 128
LABEL_H = 22


def contact_sheet(rows: list[tuple[str, list[tuple[Path, float]]]], out: str | Path, thumb: int = THUMB) -> Path:
    """`rows` is [(query, [(photo path, score), ...]), ...]; writes a PNG and returns its path."""
    columns = max((len(hits) for _, hits in rows), default=1)
    width = max(columns, 1) * (thumb + 4) + 4
    height = len(rows) * (thumb + 2 * LABEL_H + 4) + 4
    sheet = Image.new("RGB", (width, max(height, 1)), (250, 250, 250))
    draw = ImageDraw.Draw(sheet)
    y = 4
    for query, hits in rows:
        draw.text((6, y + 4), query, fill=(0, 0, 0))
        y += LABEL_H
        for col, (path, score) in enumerate(hits):
            x = 4 + col * (thumb + 4)
            with Image.open(path) as photo:
                tile = ImageOps.fit(ImageOps.exif_transpose(photo).convert("RGB"), (thumb, thumb))
            sheet.paste(tile, (x, y))
            draw.text((x + 2, y + thumb + 3), f"#{col + 1} {score:.3f}", fill=(60, 60, 60))
        y += thumb + LABEL_H + 4
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
