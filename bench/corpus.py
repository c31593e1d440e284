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


def many_page_tiff(pages: int) -> bytes:
    """A tiny 1x1 greyscale TIFF with ``pages`` pages (about 100 bytes a page): pillow's page count walks them all."""
    entries = 8
    ifd_size = 2 + entries * 12 + 4
    first_ifd = 8 + 1  # header, then one byte of pixel data (shared by every page)
    out = bytearray(b"II*\x00" + struct.pack("<I", first_ifd) + b"\x80")
    for page in range(pages):
        offset = first_ifd + page * ifd_size
        following = offset + ifd_size if page + 1 < pages else 0
        tags = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
                (273, 4, 1, 8), (278, 3, 1, 1), (279, 4, 1, 1)]  # fmt: skip
        out += struct.pack("<H", entries)
        for tag, kind, count, value in tags:
            out += struct.pack("<HHI", tag, kind, count) + struct.pack(
                "<I" if kind == 4 else "<HH", *((value,) if kind == 4 else (value, 0))
            )
        out += struct.pack("<I", following)
    return bytes(out)


def many_scan_jpeg(side: int, scans: int) -> bytes:
    """A progressive JPEG whose last scan is repeated until it has ``scans`` scans: each one re-decodes the image."""
    data = _encode(Image.new("RGB", (side, side), (120, 90, 60)), "JPEG", progressive=True, quality=75)
    last = data.rindex(b"\xff\xda")
    body, end = data[last:-2], data[-2:]  # the final scan (header + entropy-coded data), then EOI
    existing = data.count(b"\xff\xda")
    return data[:-2] + body * max(0, scans - existing) + end


def wide_grey(width: int, height: int, fmt: str, mode: str) -> bytes:
    """A flat 16-bit or float greyscale image: a few KB compressed, hundreds of MB once decoded and converted."""
    pixels = np.zeros((height, width), dtype=np.uint16 if mode == "I;16" else np.float32)
    params = {"compression": "tiff_deflate"} if fmt == "TIFF" else {"optimize": True}
    return _encode(Image.fromarray(pixels), fmt, **params)


def truncated_animated_gif() -> bytes:
    """A two-frame GIF cut inside its second frame."""
    frames = [_scene(160, 120, seed=s).convert("P") for s in range(2)]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    return data[: len(data) - len(data) // 4]


def zeroed_avif() -> bytes:
    """An AVIF whose coded image data (the ``mdat`` box) is all zeros: the decoder raises RuntimeError."""
    data = bytearray(_encode(_scene(64, 64), "AVIF"))
    start = data.index(b"mdat") + 4
    data[start:] = bytes(len(data) - start)
    return bytes(data)


def hostile() -> list[CorpusEntry]:
    """Small files that cost a lot: each must get a typed error (or a correct analysis) quickly and frugally."""
    tiff = multipage_tiff()
    return [
        CorpusEntry("hostile/100000-pages.tiff", many_page_tiff(100_000), None),
        CorpusEntry("hostile/25000-scans.jpg", many_scan_jpeg(2000, 25_000), "ImageTooLarge"),
        CorpusEntry("hostile/grey16-6300.png", wide_grey(6300, 6300, "PNG", "I;16"), None),
        CorpusEntry("hostile/float-6324.tiff", wide_grey(6324, 6324, "TIFF", "F"), "ImageTooLarge"),
        CorpusEntry("hostile/truncated-animated.gif", truncated_animated_gif(), None),
        CorpusEntry("hostile/truncated-3-page.tiff", tiff[: len(tiff) * 3 // 4], None),  # the first page is whole
        CorpusEntry("hostile/zeroed.avif", zeroed_avif(), "InvalidImageFormat"),
    ]


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
