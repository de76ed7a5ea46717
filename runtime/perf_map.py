"""`JITGRAD_PERF_MAP=1`: name every function of loaded native code for `perf`.

`perf report` shows code it cannot map to a file as bare addresses, and all
of a graph's steps and the GEMM are such code. perf reads names for them
from /tmp/perf-PID.map ("start size name" per line, hex), the convention
JITs use. A loaded object is an ELF relocatable file whose symbol table
still lists its functions, internal ones (each step) included, with their
offsets in their section; one exported function's address in memory gives
where that section was loaded.
"""
from __future__ import annotations

import os
import struct

_SHT_SYMTAB = 2
_STT_FUNC = 2


def enabled() -> bool:
    return os.environ.get("JITGRAD_PERF_MAP", "") not in ("", "0")


def functions(object_code: bytes) -> list[tuple[str, int, int, int]]:
    """(name, section index, offset, size) of each function symbol in a
    64-bit little-endian ELF object; [] for anything else."""
    if object_code[:4] != b"\x7fELF" or object_code[4] != 2 or object_code[5] != 1:
        return []
    shoff, = struct.unpack_from("<Q", object_code, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", object_code, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", object_code, shoff + i * shentsize) for i in range(shnum)]
    found = []
    for _, kind, _, _, offset, size, link, _, _, entsize in sections:
        if kind != _SHT_SYMTAB:
            continue
        names = sections[link][4]  # the linked string table's file offset
        for start in range(offset, offset + size, entsize):
            name, info, _, section, value, length = struct.unpack_from("<IBBHQQ", object_code, start)
            if info & 0xF == _STT_FUNC and section and length:
                end = object_code.index(b"\0", names + name)
                found.append((object_code[names + name:end].decode(), section, value, length))
    return found


def record(object_code: bytes, address_of) -> None:
    """Append the object's functions to this process's perf map;
    `address_of(name)` is an exported function's loaded address (0 if not
    exported). Functions of a section with no exported function are left
    out: nothing says where it was loaded."""
    symbols = functions(object_code)
    bases = {}
    for name, section, offset, _ in symbols:
        if section not in bases:
            address = address_of(name)
            if address:
                bases[section] = address - offset
    lines = [f"{bases[section] + offset:x} {size:x} {name}\n" for name, section, offset, size in symbols
             if section in bases]
    with open(f"/tmp/perf-{os.getpid()}.map", "a") as f:
        f.writelines(lines)
