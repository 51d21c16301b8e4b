"""The demo world: procedurally drawn captioned images that exist offline, reproducibly.

Each sample is a textured background with one to three shapes of one colour and size placed in a
region of the picture, and a caption in one of many phrasings. Every sample is a pure function of
(seed, split, index), so train/val/test never overlap and any machine draws the same pictures.
Only numpy and Pillow: the gallery can be drawn where torch is not installed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "star", "cross", "ring", "diamond", "hexagon")
COLOURS = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (240, 220, 40),
    "purple": (140, 50, 180), "orange": (245, 140, 30), "pink": (245, 130, 190), "white": (245, 245, 245),
    "black": (20, 20, 20), "cyan": (40, 210, 220),
}
BACKGROUNDS = {
    "grey": (128, 128, 128), "beige": (225, 210, 170), "navy": (25, 35, 90), "brown": (110, 70, 40),
    "olive": (110, 120, 50), "white": (240, 240, 240), "black": (15, 15, 15),
}
TEXTURES = ("plain", "striped", "checkered", "dotted", "noisy", "gradient")
SIZES = ("small", "large")
POSITIONS = ("left", "right", "top", "bottom", "middle")
SPLITS = {"train": 0, "val": 1, "test": 2, "gallery": 3}
COUNT_WORDS = {1: ("a", "one", "a single"), 2: ("two", "a pair of", "2"), 3: ("three", "3", "a group of three")}
PLURALS = {"cross": "crosses"}
POSITION_PHRASES = {
    "left": ("on the left", "at the left side", "to the left"),
    "right": ("on the right", "at the right side", "to the right"),
    "top": ("at the top", "near the top", "in the upper part"),
    "bottom": ("at the bottom", "near the bottom", "in the lower part"),
    "middle": ("in the middle", "in the centre", "at the center"),
}
TEXTURE_WORDS = {"plain": ("plain", "flat", "solid"), "striped": ("striped", "stripy", "lined"),
                 "checkered": ("checkered", "chequered", "checked"), "dotted": ("dotted", "spotty", "polka-dot"),
                 "noisy": ("noisy", "grainy", "speckled"), "gradient": ("gradient", "fading", "shaded")}
TEMPLATES = (
    "{count} {size} {colour} {shape} {where} of a {texture} {bg} background",
    "a photo of {count} {colour} {shape} {where}, {bg} {texture} background",
    "{count} {size} {colour} {shape} {where}",
    "a {texture} {bg} backdrop with {count} {size} {colour} {shape} {where}",
    "{where}: {count} {colour} {shape}, {size}, over {bg}",
    "picture of {count} {size} {colour} {shape} on a {bg} {texture} background",
    "{colour} {shape} ({count}, {size}) {where}",
)


@dataclass(frozen=True)
class Scene:
    shape: str
    colour: str
    size: str
    count: int
    position: str
    background: str
    texture: str

    def key(self) -> tuple:
        """Scenes with equal keys fit the same captions: retrieval counts either as a hit."""
        return (self.shape, self.colour, self.size, self.count, self.position, self.background, self.texture)


def sample_scene(rng: np.random.Generator) -> Scene:
    colour = str(rng.choice(list(COLOURS)))
    backgrounds = [b for b in BACKGROUNDS if b != colour]  # a white shape on white cannot be seen
    return Scene(
        shape=str(rng.choice(SHAPES)), colour=colour, size=str(rng.choice(SIZES)),
        count=int(rng.integers(1, 4)), position=str(rng.choice(POSITIONS)),
        background=str(rng.choice(backgrounds)), texture=str(rng.choice(TEXTURES)))


def caption(scene: Scene, rng: np.random.Generator) -> str:
    shape = scene.shape if scene.count == 1 else PLURALS.get(scene.shape, scene.shape + "s")
    count = str(rng.choice(COUNT_WORDS[scene.count]))
    text = str(rng.choice(TEMPLATES)).format(
        count=count, size=scene.size, colour=scene.colour, shape=shape,
        where=str(rng.choice(POSITION_PHRASES[scene.position])), bg=scene.background,
        texture=str(rng.choice(TEXTURE_WORDS[scene.texture])))
    text = " ".join("an" if w == "a" and nxt[0] in "aeiou" else w for w, nxt in zip(text.split(), text.split()[1:] + ["x"]))
    return text[0].upper() + text[1:] if rng.random() < 0.5 else text


def _jitter(rgb: tuple[int, int, int], rng: np.random.Generator, amount: int) -> tuple[int, ...]:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in rgb)


def _background(scene: Scene, size: int, rng: np.random.Generator) -> Image.Image:
    base = np.array(_jitter(BACKGROUNDS[scene.background], rng, 15), dtype=np.float32)
    contrast = 40.0 if base.mean() < 128 else -40.0  # texture marks go lighter on dark, darker on light
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    period = rng.uniform(0.06, 0.15)
    if scene.texture == "striped":
        angle = rng.uniform(0, math.pi)
        marks = (np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period) > 0)
    elif scene.texture == "checkered":
        marks = ((xx // period).astype(int) + (yy // period).astype(int)) % 2 == 1
    elif scene.texture == "dotted":
        marks = ((xx % period - period / 2) ** 2 + (yy % period - period / 2) ** 2) < (period / 4) ** 2
    elif scene.texture == "gradient":
        angle = rng.uniform(0, 2 * math.pi)
        marks = (xx * math.cos(angle) + yy * math.sin(angle)) * 1.5
    else:
        marks = np.zeros_like(xx)
    pixels = base + contrast * np.asarray(marks, dtype=np.float32)[..., None]
    grain = 30.0 if scene.texture == "noisy" else 6.0
    pixels += rng.normal(0, grain, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _polygon(cx: float, cy: float, r: float, points: list[tuple[float, float]], turn: float) -> list[tuple]:
    c, s = math.cos(turn), math.sin(turn)
    return [(cx + r * (x * c - y * s), cy + r * (x * s + y * c)) for x, y in points]


def _regular(n: int, phase: float = -math.pi / 2) -> list[tuple[float, float]]:
    return [(math.cos(phase + 2 * math.pi * i / n), math.sin(phase + 2 * math.pi * i / n)) for i in range(n)]


def _star() -> list[tuple[float, float]]:
    return [(math.cos(-math.pi / 2 + math.pi * i / 5) * (1 if i % 2 == 0 else 0.45),
             math.sin(-math.pi / 2 + math.pi * i / 5) * (1 if i % 2 == 0 else 0.45)) for i in range(10)]


OUTLINES = {
    "square": [(-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)],
    "triangle": _regular(3),
    "star": _star(),
    "cross": [(-0.3, -1), (0.3, -1), (0.3, -0.3), (1, -0.3), (1, 0.3), (0.3, 0.3), (0.3, 1), (-0.3, 1),
              (-0.3, 0.3), (-1, 0.3), (-1, -0.3), (-0.3, -0.3)],
    "diamond": [(0, -1), (0.7, 0), (0, 1), (-0.7, 0)],
    "hexagon": _regular(6, 0.0),
}
REGIONS = {"left": (0.25, 0.5), "right": (0.75, 0.5), "top": (0.5, 0.25), "bottom": (0.5, 0.75),
           "middle": (0.5, 0.5)}


def draw_scene(scene: Scene, size: int, rng: np.random.Generator) -> Image.Image:
    image = _background(scene, size, rng)
    draw = ImageDraw.Draw(image)
    fill = _jitter(COLOURS[scene.colour], rng, 25)
    radius = size * (rng.uniform(0.05, 0.075) if scene.size == "small" else rng.uniform(0.11, 0.15))
    cx0, cy0 = REGIONS[scene.position]
    # Spread several shapes along the region's long axis so they stay in their half of the picture.
    along_y = scene.position in ("left", "right")
    offsets = np.linspace(-1, 1, scene.count) if scene.count > 1 else np.zeros(1)
    for off in offsets:
        spread = radius * 2.1 * off
        cx = cx0 * size + (0 if along_y else spread) + rng.uniform(-0.03, 0.03) * size
        cy = cy0 * size + (spread if along_y else 0) + rng.uniform(-0.03, 0.03) * size
        if scene.shape in ("circle", "ring"):
            box = (cx - radius, cy - radius, cx + radius, cy + radius)
            if scene.shape == "circle":
                draw.ellipse(box, fill=fill)
            else:
                draw.ellipse(box, outline=fill, width=max(2, int(radius * 0.35)))
        else:
            turn = rng.uniform(-0.35, 0.35)
            draw.polygon(_polygon(cx, cy, radius, OUTLINES[scene.shape], turn), fill=fill)
    return image


def sample(index: int, split: str = "train", size: int = 128, seed: int = 0) -> tuple[Image.Image, str, Scene]:
    """Sample `index` of `split`: (image, caption, scene); the same arguments give the same pixels."""
    rng = np.random.default_rng([seed, SPLITS[split], index])
    scene = sample_scene(rng)
    text = caption(scene, rng)
    return draw_scene(scene, size, rng), text, scene


GALLERY_SIZE = 256  # pixels per side of a drawn demo photo


def draw_gallery(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """Demo photos as JPEG files (the 'gallery' split, never used for training); kept if already there."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"demo_{i:04d}.jpg"
        if not path.exists():
            sample(i, "gallery", GALLERY_SIZE, seed)[0].save(path, quality=92)
        paths.append(path)
    return paths
