#!/usr/bin/python3
"""80% interval coverage of `tsflow backtest` on many simulated series, by series length.

The series come from scripts/measure_defaults.py's generator (trend, season, AR(1) noise, every
other one multiplicative) with seeds 5000.. (disjoint from the measured ones), lengths cycling
over 80-200 (quarterly) or 72-240 (monthly); the protocol is measure_defaults': horizon =
season, the last three years tested, one origin a year, refits at each, --quantiles 0.1,0.5,0.9.
The 12 or 36 test points of one series are strongly correlated (a fold's errors share its
origin), so judge a calibration rule on the mean over many series, not on a handful.

usage: scripts/coverage_study.py BUILD_DIR OUT_DIR m|q N_SERIES [--length N] [EXTRA tsflow FLAGS...]
e.g. scripts/coverage_study.py build /tmp/cs q 80 (--calibrate none for the network's own);
--length N runs only the series of that length among the N_SERIES (the same seeds).
Prints one line per series (coverage, mean interval width / mean absolute error of the median:
3.21 for a normal 80% interval, how many folds were not calibrated), the mean by length and
overall with its standard error. Needs python3-numpy, -pandas, -h5py.
"""
import os
import re
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure_defaults import dates, simulated  # noqa: E402


def main():
    if len(sys.argv) < 5 or sys.argv[3] not in ("m", "q"):
        sys.exit(__doc__.split("\n\n")[2])
    build, work, m, nser = sys.argv[1], sys.argv[2], {"m": 12, "q": 4}[sys.argv[3]], int(sys.argv[4])
    extra = sys.argv[5:]
    only = None
    if extra[:1] == ["--length"]:
        only, extra = int(extra[1]), extra[2:]
    os.makedirs(work, exist_ok=True)
    tsflow = os.path.join(build, "pipeline", "cli", "tsflow")
    lens = [80, 100, 120, 160, 200] if m == 4 else [72, 96, 144, 240]
    rows = []
    for k in range(nser):
        n = lens[k % len(lens)]
        if only is not None and n != only:
            continue
        y = simulated(5000 + k, n, m, k % 2)
        path = os.path.join(work, f"s{k}.csv")
        pd.DataFrame({"date": dates("1990-01-01", n, m).strftime("%Y-%m-%d"),
                      "y": np.round(y, 6)}).to_csv(path, index=False)
        h5 = os.path.join(work, f"s{k}.h5")
        r = subprocess.run([tsflow, "backtest", path, "--horizon", str(m), "--test-fraction",
                            repr(3 * m / n), "--out", h5, "--quantiles", "0.1,0.5,0.9"] + extra,
                           capture_output=True, text=True,
                           env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        if r.returncode:
            print(f"s{k} FAILED:", r.stderr.strip().splitlines()[-1:], flush=True)
            continue
        with h5py.File(h5, "r") as f:
            fc, a = f["cube/forecast"][0, 0, 0], f["cube/actual"][0, 0]
        lo, md, hi = fc[..., 1], fc[..., 2], fc[..., 3]
        row = {"n": n, "cov": float(np.mean((a >= lo) & (a <= hi))),
               "ratio": float((hi - lo).mean() / np.abs(a - md).mean()),
               "notcal": len(re.findall("not calibrated", r.stderr))}
        rows.append(row)
        print(f"s{k} n={n} coverage={row['cov']:.3f} width/|e|={row['ratio']:.2f} "
              f"folds not calibrated={row['notcal']}", flush=True)
    df = pd.DataFrame(rows)
    for n, g in df.groupby("n"):
        print(f"n={n}: {len(g)} series, mean coverage {g['cov'].mean():.3f}, median width/|e| "
              f"{g['ratio'].median():.2f}, folds not calibrated {g['notcal'].sum()}")
    print(f"all: {len(df)} series, mean coverage {df['cov'].mean():.3f} "
          f"(se {df['cov'].std(ddof=1) / np.sqrt(len(df)):.3f}), folds not calibrated "
          f"{df['notcal'].sum()} of {3 * len(df)}")


if __name__ == "__main__":
    main()
