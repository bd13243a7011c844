"""
Capture benchmark's command: prints LINES lines to stdout as fast as the pipe takes them.

The lines come from SAMPLE (a file of whole lines that bench/capture.js writes with
bench/lib.js makeBlock, so every scenario prints the same text), written ~100 KB at a time and
repeated until LINES lines are out. Python with blocking writes: the child costs little more than
the write syscalls, which the capture baseline shows.

    /usr/bin/python3 bench/children/generate.py SAMPLE LINES LINE_BYTES
"""
import os
import sys

sample_path, lines, line_bytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(sample_path, "rb") as f:
    sample = memoryview(f.read())
block_lines = 1000
blocks = [sample[i : i + block_lines * line_bytes] for i in range(0, len(sample), block_lines * line_bytes)]
written = 0
b = 0
while written < lines:
    block = blocks[b % len(blocks)]
    count = min(len(block) // line_bytes, lines - written)
    view = block[: count * line_bytes]
    while len(view) > 0:
        view = view[os.write(1, view) :]  # one write(2) a block, unbuffered
    written += count
    b += 1
