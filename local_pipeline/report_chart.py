"""The audience report as a PNG chart (``agegender report --png``), drawn with Pillow: people and watchers."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from local_pipeline.displays import AudienceReport

SIZE = (960, 420)
MARGIN = {"left": 48, "right": 16, "top": 48, "bottom": 56}
PEOPLE, WATCHERS, GRID, INK = (157, 183, 232), (31, 111, 235), (227, 230, 235), (29, 36, 48)


def render_png(report: AudienceReport, path: Path) -> None:
    """Bars per minute (people, watchers) with the totals as the title."""
    image = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    s = report.summary()
    title = (
        f"camera {report.camera}, {report.since:%Y-%m-%d %H:%M}-{report.until:%Y-%m-%d %H:%M} UTC: "
        f"{s['opportunities_to_see']} people, {s['watchers']} watchers"
    )
    draw.text((MARGIN["left"], 14), title, fill=INK, font=ImageFont.load_default(size=16))
    minutes = sorted(report.minutes, key=lambda m: m["minute"])
    left, right = MARGIN["left"], SIZE[0] - MARGIN["right"]
    top, bottom = MARGIN["top"], SIZE[1] - MARGIN["bottom"]
    peak = max([1, *(m["opportunities_to_see"] for m in minutes)])
    step = max(1, -(-peak // 4))
    for value in range(0, peak + 1, step):
        y = bottom - (bottom - top) * value / peak
        draw.line((left, y, right, y), fill=GRID)
        draw.text((8, y - 7), str(value), fill=INK, font=font)
    slot = (right - left) / max(1, len(minutes))
    width = max(2.0, slot * 0.4)
    for i, minute in enumerate(minutes):
        x = left + i * slot + slot * 0.1
        for offset, key, colour in ((0.0, "opportunities_to_see", PEOPLE), (width, "watchers", WATCHERS)):
            height = (bottom - top) * minute[key] / peak
            draw.rectangle((x + offset, bottom - height, x + offset + width - 1, bottom), fill=colour)
        if len(minutes) <= 24 or i % -(-len(minutes) // 24) == 0:
            draw.text((x, bottom + 6), minute["minute"][11:16], fill=INK, font=font)
    for j, (name, colour) in enumerate((("people (opportunities to see)", PEOPLE), ("watchers", WATCHERS))):
        x = left + j * 260
        draw.rectangle((x, SIZE[1] - 22, x + 12, SIZE[1] - 10), fill=colour)
        draw.text((x + 18, SIZE[1] - 24), name, fill=INK, font=font)
    if not minutes:
        draw.text((left + 20, (top + bottom) / 2), "no audience records in this range", fill=INK, font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
