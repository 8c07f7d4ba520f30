#!/usr/bin/env python3
"""Draws Perch's icon (a bird on a branch, on an indigo rounded square) as PNGs in icons/, plus
the Windows icon.ico and the macOS icon.icns made of those PNGs.

No third-party packages: a tiny rasteriser with 4x4 supersampling and a zlib PNG writer, so the
icons can be regenerated anywhere with a stock Python 3.
"""
import math
import struct
import sys
import zlib
from pathlib import Path

INDIGO = (79, 82, 178)
WHITE = (255, 255, 255)
AMBER = (255, 184, 76)
BRANCH = (200, 202, 255)


def inside_round_rect(x, y, r):
    # Unit square [0,1]^2 with corner radius r.
    cx = min(max(x, r), 1 - r)
    cy = min(max(y, r), 1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def in_ellipse(x, y, cx, cy, rx, ry, angle=0.0):
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = x - cx, y - cy
    u = dx * c + dy * s
    v = -dx * s + dy * c
    return (u / rx) ** 2 + (v / ry) ** 2 <= 1


def in_triangle(x, y, a, b, c):
    def sign(p, q, r):
        return (p[0] - r[0]) * (q[1] - r[1]) - (q[0] - r[0]) * (p[1] - r[1])

    d1, d2, d3 = sign((x, y), a, b), sign((x, y), b, c), sign((x, y), c, a)
    neg = d1 < 0 or d2 < 0 or d3 < 0
    pos = d1 > 0 or d2 > 0 or d3 > 0
    return not (neg and pos)


def colour_at(x, y):
    if not inside_round_rect(x, y, 0.22):
        return None
    # Branch.
    if 0.70 <= y <= 0.75 and 0.12 <= x <= 0.88:
        return BRANCH
    # Tail.
    if in_triangle(x, y, (0.30, 0.56), (0.14, 0.70), (0.24, 0.74)):
        return WHITE
    # Body and head.
    if in_ellipse(x, y, 0.47, 0.55, 0.21, 0.15, -0.35):
        return WHITE
    if in_ellipse(x, y, 0.63, 0.38, 0.11, 0.11):
        if in_ellipse(x, y, 0.66, 0.36, 0.022, 0.022):
            return INDIGO
        return WHITE
    # Beak.
    if in_triangle(x, y, (0.72, 0.35), (0.83, 0.39), (0.72, 0.42)):
        return AMBER
    # Legs.
    if (0.47 <= x <= 0.49 or 0.55 <= x <= 0.57) and 0.66 <= y <= 0.71:
        return AMBER
    return INDIGO


def render(size, samples=4):
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(samples):
                for sx in range(samples):
                    c = colour_at((px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size)
                    if c is not None:
                        acc[0] += c[0]
                        acc[1] += c[1]
                        acc[2] += c[2]
                        acc[3] += 255
            n = samples * samples
            alpha = acc[3] // n
            if alpha:
                covered = acc[3] // 255
                row += bytes([acc[0] // covered, acc[1] // covered, acc[2] // covered, alpha])
            else:
                row += bytes(4)
        rows.append(bytes(row))
    return rows


def png(size):
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = b"".join(render(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def ico(images):
    """A Windows .ico whose entries are PNGs (Vista and later), `images` as (size, png bytes)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    entries, data = b"", b""
    offset = 6 + 16 * len(images)
    for size, blob in images:
        dim = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset + len(data))
        data += blob
    return header + entries + data


def icns(chunks):
    """A macOS .icns of PNG chunks, `chunks` as (OSType, png bytes)."""
    body = b"".join(tag + struct.pack(">I", 8 + len(blob)) + blob for tag, blob in chunks)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


# The PNGs the bundles use (tauri.conf.json `bundle.icon`): Linux installs each under
# /usr/share/icons/hicolor/{size}/apps/perch.png; Windows takes icon.ico, macOS icon.icns.
PNGS = [
    ("32x32.png", 32),
    ("64x64.png", 64),
    ("128x128.png", 128),
    ("128x128@2x.png", 256),
    ("256x256.png", 256),
    ("icon.png", 512),
]


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "icons")
    out.mkdir(parents=True, exist_ok=True)
    cache = {}

    def sized(size):
        if size not in cache:
            cache[size] = png(size)
        return cache[size]

    for name, size in PNGS:
        (out / name).write_bytes(sized(size))
        print(f"wrote {out / name}")
    (out / "icon.ico").write_bytes(ico([(s, sized(s)) for s in (16, 24, 32, 48, 64, 128, 256)]))
    print(f"wrote {out / 'icon.ico'}")
    chunks = [(b"ic11", 32), (b"ic12", 64), (b"ic07", 128), (b"ic13", 256), (b"ic08", 256), (b"ic09", 512)]
    (out / "icon.icns").write_bytes(icns([(tag, sized(s)) for tag, s in chunks]))
    print(f"wrote {out / 'icon.icns'}")


if __name__ == "__main__":
    main()
