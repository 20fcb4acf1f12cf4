"""Analysing a large list's names in child processes.

Analysing a name (`alerts.names.analyse`) is pure Python, about 30 µs a name: 15 s for a list
of 500,000 names on one core. It also leaves the process's heap fragmented by the millions of
small objects it makes and drops (at 500,000 names the worker kept 200 MB more than a worker
that read the same analysis from its data folder). So a large list is analysed in child
processes, one per core, each on its share of the names; the worker only reads their results.

Each child reads a JSON list of names on stdin and writes, on stdout, an .npz of its tokens
(`tokens`, numbered among its own `vocabulary`) and where each name's tokens start (`starts`).

    python -m alerts.name_analysis < names.json > analysis.npz
"""

import dataclasses
import io
import json
import logging
import os
import subprocess
import sys
from array import array
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy

from alerts.names import VOCABULARY, Token, analyse_uncached

log = logging.getLogger(__name__)

PARALLEL_FROM = 50_000
"""Names: a list this large is analysed in child processes (below it, starting them costs
more than it saves)."""
_TIMEOUT_S = 900


class Analyses:
    """The tokens of many names, as numbers of this process's vocabulary, in one array."""

    def __init__(self) -> None:
        self.tokens = array("I")
        self.starts = array("Q", [0])

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, index: int) -> "array[int]":
        return self.tokens[self.starts[index] : self.starts[index + 1]]

    def add(self, numbers: Iterable[int]) -> None:
        self.tokens.extend(numbers)
        self.starts.append(len(self.tokens))


def analysed(names: list[str]) -> Analyses:
    """Each name's tokens; in child processes when there are many names and more than one
    core, else here."""
    processes = min(os.cpu_count() or 1, 8)
    if len(names) >= PARALLEL_FROM and processes > 1:
        try:
            return _in_processes(names, processes)
        except (OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
            log.warning("analysing the listed names in child processes failed (%s): here", exc)
    found = Analyses()
    for name in names:
        found.add(VOCABULARY.number(t) for t in analyse_uncached(name))
    return found


def _in_processes(names: list[str], processes: int) -> Analyses:
    share = -(-len(names) // processes)
    parts = [names[k : k + share] for k in range(0, len(names), share)]
    with ThreadPoolExecutor(len(parts)) as pool:
        outputs = list(pool.map(_child, parts))
    found = Analyses()
    for output in outputs:
        with numpy.load(io.BytesIO(output), allow_pickle=False) as result:
            vocabulary = json.loads(result["vocabulary"].tobytes())
            numbers = numpy.array(
                [VOCABULARY.number(Token(*fields)) for fields in vocabulary], dtype=numpy.uint32
            )
            tokens = numbers[result["tokens"]] if len(numbers) else numpy.zeros(0, numpy.uint32)
            starts = result["starts"][1:] + len(found.tokens)
        found.tokens.frombytes(tokens.astype(numpy.uint32).tobytes())
        found.starts.frombytes(starts.astype(numpy.uint64).tobytes())
    if len(found) != len(names):
        raise ValueError(f"{len(found)} analyses for {len(names)} names")
    return found


def _child(names: list[str]) -> bytes:
    run = subprocess.run(
        [sys.executable, "-m", "alerts.name_analysis"],
        input=json.dumps(names).encode(),
        capture_output=True,
        timeout=_TIMEOUT_S,
        check=False,
    )
    if run.returncode != 0:
        last = (run.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise subprocess.SubprocessError(f"exit {run.returncode}: {last}")
    return run.stdout


def main() -> None:
    names = json.loads(sys.stdin.buffer.read())
    numbers: dict[Token, int] = {}
    tokens: list[int] = []
    starts = [0]
    for name in names:
        for token in analyse_uncached(name):
            tokens.append(numbers.setdefault(token, len(numbers)))
        starts.append(len(tokens))
    vocabulary = [dataclasses.astuple(token) for token in numbers]
    out = io.BytesIO()
    numpy.savez(
        out,
        tokens=numpy.array(tokens, dtype=numpy.uint32),
        starts=numpy.array(starts, dtype=numpy.uint64),
        vocabulary=numpy.frombuffer(json.dumps(vocabulary).encode(), dtype=numpy.uint8),
    )
    sys.stdout.buffer.write(out.getvalue())


if __name__ == "__main__":
    main()
