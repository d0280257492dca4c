#!/usr/bin/env python3
"""Writes the LRA test fixtures next to this script (standard library only; rerun to refresh).

listops_reference.tsv
    ListOps examples from a Python transcription of LRA's generator (lra_benchmarks/data/
    listops.py, as summarised in notes/data-and-benchmarks.md 2.4): the tree draws, to_string,
    to_value and csv.writer(delimiter='\\t'), with short trees (10 < length < 80) so the file
    stays small. The C tests read it and re-evaluate every Source.

pathfinder_release/
    A miniature of the LRA Pathfinder release layout: metadata/<batch>.npy holding text rows
    "imgs/<batch> sample_<i>.png <i> <label> ..." and imgs/<batch>/sample_<i>.png, 8-bit
    grayscale PNGs whose rows use every filter type (0-4) and, in one file, several IDAT chunks.
    Pixel (x, y) of image i is pathfinder_pixel(i, x, y) below; the C test computes the same
    formula. Batches are 2 and 10, so a reader that sorts names as text gets the order wrong.
    imgs/10/sample_2.png is empty, like the release's known empty file.
"""
import csv
import os
import random
import statistics
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- ListOps (LRA's generator) ----
MIN, MAX, MED, SUM_MOD, END = "[MIN", "[MAX", "[MED", "[SM", "]"
OPERATORS = [MIN, MAX, MED, SUM_MOD]
VALUE_P = 0.25


def generate_tree(depth, max_depth, max_args):
    r = random.random() if depth < max_depth else 1
    if r > VALUE_P:
        return random.choice(range(10)), 1
    length = 2
    values = []
    for _ in range(random.randint(2, max_args)):
        sub, sub_length = generate_tree(depth + 1, max_depth, max_args)
        values.append(sub)
        length += sub_length
    t = (random.choice(OPERATORS), values[0])
    for v in values[1:]:
        t = (t, v)
    return (t, END), length


def to_string(t):
    if isinstance(t, str):
        return t
    if isinstance(t, int):
        return str(t)
    return "( " + to_string(t[0]) + " " + to_string(t[1]) + " )"


def to_value(t):
    if not isinstance(t, tuple):
        return t
    left, right = to_value(t[0]), to_value(t[1])
    if left in OPERATORS:
        return (left, [right])
    if right == END:
        op, args = left
        if op == MIN:
            return min(args)
        if op == MAX:
            return max(args)
        if op == MED:  # int(np.median(args)): statistics.median also averages the middle pair
            return int(statistics.median(args))
        return sum(args) % 10
    return (left[0], left[1] + [right])


def write_listops(path, count=40, min_length=10, max_length=80, seed=2021):
    random.seed(seed)
    seen, rows = set(), []
    while len(rows) < count:
        tree, length = generate_tree(1, 10, 10)
        if min_length < length < max_length and tree not in seen:
            seen.add(tree)
            rows.append([to_string(tree), to_value(tree)])
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, delimiter="\t")  # "\r\n" line ends, as LRA's files
        writer.writerow(["Source", "Target"])
        writer.writerows(rows)


# ---- Pathfinder release layout ----
def pathfinder_pixel(i, x, y):
    return (x * 7 + y * 13 + i * 29 + (x * y) % 5 * 11) & 255


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_row(kind, row, up):
    out = bytearray([kind])
    for x, v in enumerate(row):
        a = row[x - 1] if x > 0 else 0
        b = up[x]
        c = up[x - 1] if x > 0 else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out.append((v - pred) & 255)
    return bytes(out)


def write_png(path, pixels, size, split_idat):
    raw, up = b"", [0] * size
    for y in range(size):
        row = pixels[y * size:(y + 1) * size]
        raw += filter_row(y % 5, row, up)  # rows cycle through the five filters
        up = row
    data = zlib.compress(raw, 9)
    idats = [data[k:k + 97] for k in range(0, len(data), 97)] if split_idat else [data]
    png = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0))
    png += png_chunk(b"tEXt", b"Comment\x00dimix test fixture")  # ancillary: to be skipped
    for chunk in idats:
        png += png_chunk(b"IDAT", chunk)
    png += png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def write_pathfinder_release(root, size=32):
    batches = {2: [(0, 1), (1, 0), (2, 1)], 10: [(0, 0), (1, 1), (2, 0), (3, 1)]}
    image = 0
    os.makedirs(os.path.join(root, "metadata"), exist_ok=True)
    for batch, rows in batches.items():
        os.makedirs(os.path.join(root, "imgs", str(batch)), exist_ok=True)
        lines = []
        for i, label in rows:
            name = "sample_%d.png" % i
            path = os.path.join(root, "imgs", str(batch), name)
            if batch == 10 and i == 2:
                open(path, "wb").close()  # the empty file
            else:
                pixels = [pathfinder_pixel(image, x, y) for y in range(size) for x in range(size)]
                write_png(path, pixels, size, split_idat=(image == 1))
                image += 1
            lines.append("imgs/%d %s %d %d 1.0 14 4 2 0.5 1 1" % (batch, name, i, label))
        with open(os.path.join(root, "metadata", "%d.npy" % batch), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    write_listops(os.path.join(HERE, "listops_reference.tsv"))
    write_pathfinder_release(os.path.join(HERE, "pathfinder_release"))
