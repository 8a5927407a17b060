"""The badge image: a navy and gold seal with the provider, the unit or course code, the
achievement's name and a ribbon, as SVG and as PNG (drawn with the bundled fonts, so both look
the same everywhere). `credentials.baking` puts the signed credential into either.

A pure module: no models, no settings, no network.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from PIL import Image, ImageDraw, ImageFont

from credentials.baking import SVG_NS

FONTS_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
BADGE_SIZE = 512

NAVY = "#174a6d"
BLUE = "#1f5f8b"
GOLD = "#ffd766"
GOLD_DARK = "#c9a227"
PAPER = "#fbfaf5"
INK = "#1c2430"

_SANS_BOLD = "DejaVuSans-Bold.ttf"
_SANS = "DejaVuSans.ttf"
_SERIF_BOLD = "DejaVuSerif-Bold.ttf"
_FAMILY = {
    _SANS_BOLD: ("'DejaVu Sans', Verdana, Arial, sans-serif", "bold"),
    _SANS: ("'DejaVu Sans', Verdana, Arial, sans-serif", "normal"),
    _SERIF_BOLD: ("'DejaVu Serif', Georgia, serif", "bold"),
}


@functools.lru_cache(maxsize=64)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS_DIR / name), size)


@dataclass(frozen=True)
class _Line:
    text: str
    font: str
    size: int
    y: float  # baseline, in a 512-unit square
    fill: str
    spacing: float = 0.0  # letter-spacing, for the small capitals


def _width(text: str, font: str, size: int, spacing: float = 0.0) -> float:
    return float(_font(font, size).getlength(text)) + spacing * max(len(text) - 1, 0)


def _fit(text: str, font: str, largest: int, smallest: int, width: float) -> int:
    size = largest
    while size > smallest and _width(text, font, size) > width:
        size -= 1
    return size


def _wrap(text: str, font: str, size: int, width: float, max_lines: int) -> list[str]:
    """Greedy word wrap into at most `max_lines`, the last ellipsised when the text runs on."""
    words = text.split()
    lines: list[str] = []
    current = ""
    for index, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if _width(candidate, font, size) <= width or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines:
            current = " ".join([lines.pop(), *words[index:]])
            break
    if current:
        lines.append(current)
    if len(lines) > max_lines:  # pragma: no cover - guarded above
        lines = lines[:max_lines]
    last = lines[-1] if lines else ""
    if _width(last, font, size) > width:
        while last and _width(last + "…", font, size) > width:
            last = last[:-1].rstrip()
        lines[-1] = last + "…"
    return lines


@functools.lru_cache(maxsize=256)
def _badge_layout(
    achievement_name: str, human_code: str, provider_name: str, label: str
) -> tuple[_Line, ...]:
    lines: list[_Line] = []
    provider = " ".join(provider_name.upper().split())
    if provider:
        size = 20
        while size > 11 and _width(provider, _SANS_BOLD, size, 1.5) > 300:
            size -= 1
        if _width(provider, _SANS_BOLD, size, 1.5) > 300:
            while provider and _width(provider + "…", _SANS_BOLD, size, 1.5) > 300:
                provider = provider[:-1].rstrip()
            provider += "…"
        lines.append(_Line(provider, _SANS_BOLD, size, 138, NAVY, 1.5))
    code = human_code.strip()
    code_size = _fit(code, _SERIF_BOLD, 56, 26, 330)
    lines.append(_Line(code, _SERIF_BOLD, code_size, 222, NAVY))
    # The name: the largest size at which it fits in three lines, centred in its band.
    name = " ".join(achievement_name.split())
    for name_size in range(24, 14, -1):
        wrapped = _wrap(name, _SANS, name_size, 300, 4)
        if len(wrapped) <= 3 and not wrapped[-1].endswith("…"):
            break
    else:
        wrapped = _wrap(name, _SANS, name_size, 300, 3)
    line_height = name_size * 1.3
    first = 318 - line_height * len(wrapped) / 2 + name_size * 0.8
    for index, text in enumerate(wrapped):
        lines.append(_Line(text, _SANS, name_size, first + index * line_height, INK))
    label_text = label.upper()
    label_size = _fit(label_text, _SANS_BOLD, 22, 12, 230)
    lines.append(_Line(label_text, _SANS_BOLD, label_size, 415, GOLD, 2.0))
    return tuple(lines)


def _star_points(cx: float, cy: float, outer: float, inner: float) -> list[tuple[float, float]]:
    points = []
    for index in range(10):
        radius = outer if index % 2 == 0 else inner
        angle = -math.pi / 2 + index * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def badge_svg(
    achievement_name: str,
    human_code: str,
    *,
    provider_name: str = "",
    label: str = "Competent",
) -> str:
    """The badge as a 512x512 SVG: a navy and gold seal with the provider, the unit or course
    code, the achievement's name and a ribbon (`label`). All text is escaped."""
    star = " ".join(f"{x:.1f},{y:.1f}" for x, y in _star_points(256, 92, 20, 8.5))
    parts = [
        f'<svg xmlns="{SVG_NS}" width="{BADGE_SIZE}" height="{BADGE_SIZE}" '
        f'viewBox="0 0 {BADGE_SIZE} {BADGE_SIZE}" role="img" '
        f'aria-label="{xml_escape(f"{human_code} {achievement_name}", {chr(34): "&quot;"})}">',
        f"<title>{xml_escape(f'{human_code} {achievement_name}')}</title>",
        f'<circle cx="256" cy="256" r="250" fill="{NAVY}"/>',
        f'<circle cx="256" cy="256" r="232" fill="none" stroke="{GOLD}" stroke-width="6"/>',
        f'<circle cx="256" cy="256" r="214" fill="{PAPER}"/>',
        f'<circle cx="256" cy="256" r="204" fill="none" stroke="{GOLD_DARK}" stroke-width="2"/>',
        f'<polygon points="{star}" fill="{GOLD_DARK}"/>',
        f'<path d="M150 158 H362" stroke="{GOLD_DARK}" stroke-width="2"/>',
        f'<path d="M40 380 H472 L452 407 L472 434 H40 L60 407 Z" fill="{BLUE}"/>',
        f'<path d="M96 380 H416 V434 H96 Z" fill="{NAVY}"/>',
    ]
    for line in _badge_layout(achievement_name, human_code, provider_name, label):
        family, weight = _FAMILY[line.font]
        spacing = f' letter-spacing="{line.spacing}"' if line.spacing else ""
        parts.append(
            f'<text x="256" y="{line.y:.1f}" text-anchor="middle" font-family="{family}" '
            f'font-weight="{weight}" font-size="{line.size}" fill="{line.fill}"{spacing}>'
            f"{xml_escape(line.text)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


@functools.lru_cache(maxsize=64)
def badge_png(
    achievement_name: str,
    human_code: str,
    *,
    provider_name: str = "",
    label: str = "Competent",
) -> bytes:
    """The same badge as `badge_svg`, drawn as a 512x512 PNG with the bundled fonts (drawn at
    twice the size and scaled down, for smooth edges). Cached: one image per achievement."""
    scale = 2
    size = BADGE_SIZE * scale
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    def circle(radius: float, **kwargs: object) -> None:
        box = [(256 - radius) * scale, (256 - radius) * scale, (256 + radius) * scale,
               (256 + radius) * scale]  # fmt: skip
        draw.ellipse(box, **kwargs)  # type: ignore[arg-type]

    circle(250, fill=NAVY)
    # Pillow draws outlines inside the box, SVG strokes centred on the radius: match the SVG.
    circle(235, outline=GOLD, width=6 * scale)
    circle(214, fill=PAPER)
    circle(205, outline=GOLD_DARK, width=2 * scale)
    draw.polygon(
        [(x * scale, y * scale) for x, y in _star_points(256, 92, 20, 8.5)], fill=GOLD_DARK
    )
    draw.line(
        [(150 * scale, 158 * scale), (362 * scale, 158 * scale)], fill=GOLD_DARK, width=2 * scale
    )
    ribbon = [(40, 380), (472, 380), (452, 407), (472, 434), (40, 434), (60, 407)]
    draw.polygon([(x * scale, y * scale) for x, y in ribbon], fill=BLUE)
    draw.rectangle([96 * scale, 380 * scale, 416 * scale, 434 * scale], fill=NAVY)
    for line in _badge_layout(achievement_name, human_code, provider_name, label):
        font = _font(line.font, line.size * scale)
        fill = line.fill
        if line.spacing:
            total = _width(line.text, line.font, line.size, line.spacing) * scale
            x = 256 * scale - total / 2
            for char in line.text:
                draw.text((x, line.y * scale), char, font=font, fill=fill, anchor="ls")
                x += font.getlength(char) + line.spacing * scale
        else:
            draw.text((256 * scale, line.y * scale), line.text, font=font, fill=fill, anchor="ms")
    image = image.resize((BADGE_SIZE, BADGE_SIZE), Image.Resampling.LANCZOS)
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()
