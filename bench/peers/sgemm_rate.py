#!/usr/bin/env python3
"""OpenBLAS sgemm FLOP rate at the shapes of streamrec's exact scoring, one thread.

Scores = Q (B x 33) @ V^T (33 x n): d=32 factors plus the bias column, B queries at once (1, 4, 64),
n items. Run with one BLAS thread for a fair comparison with the single-threaded Swift kernel:

    OPENBLAS_NUM_THREADS=1 python3 bench/peers/sgemm_rate.py [10000,100000,1000000]
"""
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402  (after the thread pin)

sizes = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "10000,100000,1000000").split(",")]
rng = np.random.default_rng(11)
print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
print("| items | queries per call | sgemm GFLOP/s (median of 5) | µs per query |")
print("|---:|---:|---:|---:|")
for n in sizes:
    v = rng.standard_normal((n, 33), dtype=np.float32)
    for b in (1, 4, 64):
        q = rng.standard_normal((b, 33), dtype=np.float32)
        out = np.empty((b, n), dtype=np.float32)
        reps = max(1, int(2e8 // (2 * 33 * n * b)))
        times = []
        for _ in range(5):
            t = time.process_time()
            for _ in range(reps):
                np.matmul(q, v.T, out=out)
            times.append((time.process_time() - t) / reps)
        s = sorted(times)[2]
        print(f"| {n} | {b} | {2 * 33 * n * b / s / 1e9:.2f} | {s / b * 1e6:.1f} |")
