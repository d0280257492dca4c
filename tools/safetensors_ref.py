#!/usr/bin/env python3
"""An independent safetensors reader and writer (standard library only), to check dimix's
files against the format as the reference implementation defines it.

  safetensors_ref.py check FILE            validate FILE strictly, list its contents
  safetensors_ref.py selftest --tool EXE --dir DIR
        both directions against dimix: EXE (tests/io/st_tool) writes its sample, which this
        reader validates and compares value by value; this writer writes a file in Python's
        own JSON spelling (\\uXXXX escapes, spaces, metadata last), which EXE dumps back.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

DTYPE_BITS = {"BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8,
              "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16, "U16": 16, "F16": 16,
              "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64,
              "U64": 64}
DTYPE_ORDER = list(DTYPE_BITS)  # the reference enum order: larger alignment later
STRUCT = {"F32": "f", "I32": "i", "I64": "q", "U8": "B", "F16": "e"}


class FormatError(Exception):
    pass


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise FormatError("duplicate key in %r" % keys)
    return dict(pairs)


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def read(path):
    """Returns (metadata, key order, {name: (dtype, shape, (begin, end), bytes)})."""
    blob = open(path, "rb").read()
    if len(blob) < 8:
        raise FormatError("shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > 100_000_000 or n > len(blob) - 8:
        raise FormatError("header length %d out of range" % n)
    text = blob[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise FormatError("header does not start with '{'")
    order = [k for k, _ in json.loads(text, object_pairs_hook=lambda p: p)]
    header = json.loads(text, object_pairs_hook=no_duplicates)
    metadata = header.pop("__metadata__", {})
    if not all(isinstance(v, str) for v in metadata.values()):
        raise FormatError("non-string metadata")
    data = blob[8 + n:]
    tensors, ranges = {}, []
    for name, info in header.items():
        if set(info) != {"dtype", "shape", "data_offsets"}:
            raise FormatError("fields of %r: %r" % (name, sorted(info)))
        begin, end = info["data_offsets"]
        bits = numel(info["shape"]) * DTYPE_BITS[info["dtype"]]
        if bits % 8 or end - begin != bits // 8 or not 0 <= begin <= end <= len(data):
            raise FormatError("bad data_offsets for %r" % name)
        tensors[name] = (info["dtype"], info["shape"], (begin, end), data[begin:end])
        ranges.append((begin, end))
    covered = 0
    for begin, end in sorted(ranges):
        if begin != covered:
            raise FormatError("hole or overlap at %d" % begin)
        covered = end
    if covered != len(data):
        raise FormatError("%d trailing bytes" % (len(data) - covered))
    return metadata, order, tensors


def write(path, tensors, metadata):
    """tensors: {name: (dtype, shape, bytes)}. Python's json spelling, metadata placed last."""
    names = sorted(tensors, key=lambda k: (-DTYPE_ORDER.index(tensors[k][0]), k))
    header, offset = {}, 0
    for name in names:
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    header["__metadata__"] = metadata
    text = json.dumps(header).encode("ascii")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for name in names:
            f.write(tensors[name][2])


def pack(dtype, values):
    return struct.pack("<%d%s" % (len(values), STRUCT[dtype]), *values)


# Keep in step with write_sample() in tests/io/st_tool.c.
SAMPLE_TENSORS = {
    "weight": ("F32", [2, 3], pack("F32", [i * 0.25 - 1.0 for i in range(6)])),
    "labels": ("I32", [4], pack("I32", [-1, 0, 7, 2147483647])),
    "scalar": ("F32", [], pack("F32", [3.5])),
    "empty": ("F32", [0, 5], b""),
    "name \"quoted\" \\ \n\t\x01 \u00e9 \U0001F600": ("F32", [1], pack("F32", [1.0])),
}
SAMPLE_METADATA = {"step": "42", "config": '{"model": "mixer"}',
                   "\u00fcn\u00efcode key": "v\u00e4lue\n"}


def check_dimix_sample(tool, directory):
    path = os.path.join(directory, "from_dimix.safetensors")
    subprocess.run([tool, "write-sample", path], check=True)
    metadata, order, tensors = read(path)
    (n,) = struct.unpack("<Q", open(path, "rb").read(8))
    problems = []
    if n % 8:
        problems.append("header length %d is not a multiple of 8" % n)
    if order[0] != "__metadata__":
        problems.append("__metadata__ is not the first key: %r" % order)
    if metadata != SAMPLE_METADATA:
        problems.append("metadata %r != %r" % (metadata, SAMPLE_METADATA))
    for name, (dtype, shape, raw) in SAMPLE_TENSORS.items():
        got = tensors.get(name)
        if got is None or (got[0], got[1], got[3]) != (dtype, shape, raw):
            problems.append("tensor %r: got %r, want %r" % (name, got, (dtype, shape, raw)))
    if set(tensors) != set(SAMPLE_TENSORS):
        problems.append("tensor names %r" % sorted(tensors))
    return problems


def check_python_file(tool, directory):
    tensors = dict(SAMPLE_TENSORS)
    tensors.update({
        "ids.i64": ("I64", [3], pack("I64", [-5, 0, 2**40])),
        "pixels": ("U8", [2, 2], bytes([0, 1, 254, 255])),
        "half \u2211": ("F16", [2], pack("F16", [1.5, -2.0])),
        "deep": ("F32", [1, 2, 1, 1, 2, 1], pack("F32", [0.5, 1.5, 2.5, 3.5])),
    })
    path = os.path.join(directory, "from_python.safetensors")
    write(path, tensors, SAMPLE_METADATA)
    out = subprocess.run([tool, "dump", path], check=True, capture_output=True).stdout
    lines = [json.loads(line) for line in out.decode("utf-8").splitlines()]
    metadata = {d["meta"]: d["value"] for d in lines if "meta" in d}
    dumped = {d["name"]: d for d in lines if "name" in d}
    _, _, expected = read(path)
    problems = [] if metadata == SAMPLE_METADATA else ["metadata %r" % metadata]
    for name, (dtype, shape, offsets, raw) in expected.items():
        d = dumped.get(name)
        want = {"name": name, "dtype": dtype, "shape": shape, "offsets": list(offsets),
                "hex": raw.hex()}
        if d != want:
            problems.append("tensor %r: dimix read %r, want %r" % (name, d, want))
    if set(dumped) != set(expected):
        problems.append("tensor names %r" % sorted(dumped))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check")
    check.add_argument("file")
    selftest = sub.add_parser("selftest")
    selftest.add_argument("--tool", required=True)
    selftest.add_argument("--dir", required=True)
    args = parser.parse_args()
    if args.command == "check":
        metadata, _, tensors = read(args.file)
        for key, value in metadata.items():
            print("metadata %r = %r" % (key, value))
        for name, (dtype, shape, offsets, _) in tensors.items():
            print("%s %s %s bytes [%d, %d)" % (name, dtype, shape, *offsets))
        return 0
    os.makedirs(args.dir, exist_ok=True)
    problems = check_dimix_sample(args.tool, args.dir) + check_python_file(args.tool, args.dir)
    for p in problems:
        print("MISMATCH:", p)
    print("safetensors interop: %s" % ("FAILED" if problems else
                                       "dimix -> python and python -> dimix agree"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
