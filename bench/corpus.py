"""The bad-input corpus: every kind of upload the pipeline must survive, made here (never downloaded).

    python -m bench.corpus OUT_DIR      # writes the files, and expected.json (key -> expected error code)

Each entry is an S3 key (some deliberately awkward: spaces, ``+``, ``%``, unicode, near the
1,024-byte key limit), its bytes, and the result it must get: an error code, or None for a
correct analysis.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

#: Over the pipeline's default byte limit (15 MiB).
OVERSIZED_BYTES = 15 * 1024 * 1024 + 1


@dataclass(frozen=True)
class CorpusEntry:
    """One upload of the corpus and the result it must get."""

    key: str
    data: bytes
    expected_error: str | None  # None: analysed (with or without faces)


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _scene(width: int = 320, height: int = 240, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], axis=-1)
    noise = rng.integers(0, 24, size=base.shape)
    return Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, valid PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def exif_rotated_jpeg() -> bytes:
    """A landscape JPEG stored sideways with EXIF orientation 6 (rotate 90 degrees to view)."""
    image = _scene(240, 320, seed=3)
    exif = Image.Exif()
    exif[0x0112] = 6
    return _encode(image, "JPEG", exif=exif.tobytes())


def animated_gif() -> bytes:
    """A three-frame animated GIF."""
    frames = [_scene(160, 120, seed=s).convert("P") for s in range(3)]
    return _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def multipage_tiff() -> bytes:
    """A three-page TIFF."""
    pages = [_scene(160, 120, seed=s) for s in range(3)]
    return _encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])


def corpus() -> list[CorpusEntry]:
    """The whole corpus (about 16 MB, most of it the one oversized upload)."""
    jpeg = _encode(_scene(), "JPEG", quality=90)
    png = _encode(_scene(), "PNG")
    rng = np.random.default_rng(7)
    grey16 = Image.fromarray(np.arange(240 * 320, dtype=np.uint16).reshape(240, 320) * 7)
    long_stem = "very-long-name-" + "x" * 900
    entries = [
        CorpusEntry("bad/zero-byte.jpg", b"", "InvalidImageFormat"),
        CorpusEntry("bad/truncated.jpg", jpeg[: len(jpeg) // 2], "InvalidImageFormat"),
        CorpusEntry("bad/truncated.png", png[: len(png) // 2], "InvalidImageFormat"),
        CorpusEntry("bad/random-bytes.png", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(), "InvalidImageFormat"),
        CorpusEntry("bad/notes.txt", b"this is not an image\n" * 20, "InvalidImageFormat"),
        CorpusEntry(
            "bad/report.pdf",
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
            "InvalidImageFormat",
        ),
        CorpusEntry("bad/page.html", b"<!doctype html><html><body><img src=x.jpg></body></html>", "InvalidImageFormat"),
        CorpusEntry("bad/bomb.png", png_declaring(30000, 30000), "ImageTooLarge"),
        CorpusEntry("bad/oversized.jpg", jpeg + bytes(OVERSIZED_BYTES - len(jpeg)), "ImageTooLarge"),
        CorpusEntry("odd/1x1.png", _encode(Image.new("RGB", (1, 1), (9, 9, 9)), "PNG"), None),
        CorpusEntry("odd/10x10.jpg", _encode(_scene(10, 10), "JPEG"), None),
        CorpusEntry("odd/grey-16bit.png", _encode(grey16, "PNG"), None),
        CorpusEntry("odd/cmyk.jpg", _encode(_scene().convert("CMYK"), "JPEG"), None),
        CorpusEntry("odd/palette.png", _encode(_scene().convert("P"), "PNG"), None),
        CorpusEntry("odd/alpha.png", _encode(_scene().convert("RGBA"), "PNG"), None),
        CorpusEntry("odd/animated.gif", animated_gif(), None),
        CorpusEntry("odd/multipage.tiff", multipage_tiff(), None),
        CorpusEntry("odd/exif-rotated.jpg", exif_rotated_jpeg(), None),
        CorpusEntry("keys/with spaces and + plus.jpg", jpeg, None),
        CorpusEntry("keys/100% sure & #hash?.jpg", jpeg, None),
        CorpusEntry("keys/ünïcødé 顔 😀.jpg", jpeg, None),
        CorpusEntry(f"keys/{long_stem}.jpg", jpeg, None),
    ]
    return entries


def main(argv: list[str]) -> int:
    """Write the corpus files and expected.json into OUT_DIR."""
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    expected = {}
    for entry in corpus():
        path = out / entry.key.replace("x" * 900, "x" * 40)  # file systems cap names at 255 bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(entry.data)
        expected[entry.key] = entry.expected_error
    (out / "expected.json").write_text(json.dumps(expected, indent=2, ensure_ascii=False))
    print(f"{len(expected)} files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
