"""save_safetensors / load_safetensors of a ~100 MB state_dict against NumPy's own files.

    OPENBLAS_NUM_THREADS=1 python benchmarks/safetensors_bench.py [--rounds 5] [--mb 100]
        [--dir FOLDER] [--out benchmarks/results/safetensors.json]

Writers, each timed from arrays in memory to a file on disk (median of interleaved rounds):

- ``save_safetensors``: minigrad's writer, atomic: temporary file, fsync, rename (+ folder fsync);
- ``np.save``: one ``.npy`` per array, no fsync (what NumPy does by default);
- ``np.save+fsync``: the same, each file fsynced: the same durability as save_safetensors;
- ``np.savez``: one uncompressed ``.npz`` holding every array, no fsync;
- ``safetensors.numpy``: the reference writer (when installed), no fsync.

Readers (warm page cache: the files were just written), with the peak of memory that NumPy
allocated during the call (tracemalloc; NumPy reports its array allocations to it) divided by
the data size, i.e. the number of copies of the data held at once:

- ``load_safetensors``: one read into one buffer, tensors are views of it (1 copy);
- ``load_safetensors(mmap=True)``: the file mapped, nothing copied; timed alone and followed by
  a full pass over the data (``+touch``: a sum of every tensor, which reads every page);
- ``np.load`` of the ``.npy`` files and ``safetensors.numpy.load_file`` for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minigrad.safetensors_io import load_safetensors, save_safetensors


def make_state_dict(megabytes: float) -> dict:
    """float32 weights of 1024 x 1024 (4 MiB each) plus a bias each, ``megabytes`` in all."""
    rng = np.random.default_rng(0)
    count = max(1, round(megabytes * 1e6 / (1024 * 1024 * 4)))
    state = {}
    for i in range(count):
        state[f"layers.{i}.weight"] = rng.standard_normal((1024, 1024), dtype=np.float32)
        state[f"layers.{i}.bias"] = rng.standard_normal(1024, dtype=np.float32)
    return state


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def writers(folder: str) -> dict:
    def st_minigrad(state):
        save_safetensors(state, os.path.join(folder, "m.safetensors"))

    def np_save(state, sync=False):
        for i, array in enumerate(state.values()):
            path = os.path.join(folder, f"a{i}.npy")
            np.save(path, array)
            if sync:
                _fsync(path)

    def np_savez(state):
        np.savez(os.path.join(folder, "all.npz"), **state)

    out = {"save_safetensors": st_minigrad, "np.save": np_save,
           "np.save+fsync": lambda s: np_save(s, sync=True), "np.savez": np_savez}
    try:
        from safetensors.numpy import save_file
        out["safetensors.numpy"] = lambda s: save_file(s, os.path.join(folder, "r.safetensors"))
    except ImportError:
        pass
    return out


def readers(folder: str, count: int) -> dict:
    path = os.path.join(folder, "m.safetensors")

    def touch(tensors):
        return sum(float(t.data.sum(dtype=np.float64)) for t in tensors.values())

    out = {"load_safetensors": lambda: load_safetensors(path),
           "load_safetensors(mmap=True)": lambda: load_safetensors(path, mmap=True),
           "load_safetensors(mmap=True)+touch": lambda: touch(load_safetensors(path, mmap=True)),
           "np.load (.npy files)": lambda: [np.load(os.path.join(folder, f"a{i}.npy"))
                                            for i in range(count)]}
    try:
        from safetensors.numpy import load_file
        out["safetensors.numpy.load_file"] = lambda: load_file(path)
    except ImportError:
        pass
    return out


def measure(rounds: int, megabytes: float, folder: str) -> dict:
    state = make_state_dict(megabytes)
    nbytes = sum(a.nbytes for a in state.values())
    write = writers(folder)
    write_times = {name: [] for name in write}
    for _ in range(rounds):  # interleaved, so a noisy stretch hits every writer alike
        for name, fn in write.items():
            start = time.perf_counter()
            fn(state)
            write_times[name].append(time.perf_counter() - start)
    read = readers(folder, len(state))
    read_times = {name: [] for name in read}
    peaks = {}
    for _ in range(rounds):
        for name, fn in read.items():
            start = time.perf_counter()
            result = fn()
            read_times[name].append(time.perf_counter() - start)
            del result
    for name, fn in read.items():
        tracemalloc.start()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del result
        peaks[name] = peak
    base = statistics.median(write_times["np.save"])
    return {
        "data_bytes": nbytes, "tensors": len(state), "rounds": rounds,
        "folder_filesystem_note": "files written to --dir; reads hit a warm page cache",
        "write_seconds": {n: statistics.median(t) for n, t in write_times.items()},
        "write_ratio_to_np.save": {n: statistics.median(t) / base
                                   for n, t in write_times.items()},
        "read_seconds": {n: statistics.median(t) for n, t in read_times.items()},
        "read_peak_numpy_bytes": peaks,
        "read_copies_of_the_data": {n: p / nbytes for n, p in peaks.items()},
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mb", type=float, default=100.0)
    parser.add_argument("--dir", default=None, help="folder for the files (default: a temp dir)")
    parser.add_argument("--out", default=os.path.join("benchmarks", "results",
                                                      "safetensors.json"))
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="st-bench-", dir=args.dir)
    try:
        result = measure(args.rounds, args.mb, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result["command"] = "python benchmarks/safetensors_bench.py " + " ".join(sys.argv[1:])
    result["machine"] = {"python": platform.python_version(), "numpy": np.__version__,
                         "platform": platform.platform(), "cpus": os.cpu_count()}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out != "-":
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
