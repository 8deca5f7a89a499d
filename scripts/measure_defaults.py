#!/usr/bin/python3
"""Score `tsflow backtest` with its defaults on short monthly and quarterly series.

The series: simulated ones (seeded: trend, season, AR noise, some multiplicative), statsmodels'
datasets (macrodata quarterly, elnino monthly, co2 weekly -> monthly) and the shipped Mauna Loa
CO2 series aggregated to monthly means; each cut to at most 500 points. The protocol: horizon
and season = the frequency (12 or 4), the last three years are the test part, origins once a
year, the model refitted at each (rolling origin, MASE as R's forecast package computes it,
pooled per series). Nothing is tuned here: the RNN runs with no option beyond the data, the
horizon and the test share. The CSVs carry real dates (month starts, quarter starts; the
simulated series start in January 1990), so tsflow infers the frequency and the season itself
as it would for a user's file.

usage: scripts/measure_defaults.py BUILD_DIR OUT_DIR [--only m|q] [EXTRA tsflow FLAGS...]
--only m or --only q measures only the monthly or the quarterly series (shorter runs).
e.g. EXTRA = --baselines naive,snaive,ets (ETS beside the RNN), --ensemble 5, or
--quantiles 0.1,0.5,0.9 [--calibrate none] (80% coverage with and without calibration).
Prints one line per series (MASE of each model, 80% coverage when quantiles are forecast) and
the means per frequency. Needs python3-numpy, -pandas, -tables, -statsmodels.
"""
import os
import subprocess
import sys

import numpy as np
import pandas as pd


def simulated(seed, n, m, mult):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    level = 100 + rng.uniform(-0.2, 0.6) * t
    season = rng.normal(0, 1, m)
    season -= season.mean()
    amp = rng.uniform(3, 12)
    e = np.zeros(n)
    phi = rng.uniform(0, 0.7)
    for i in range(1, n):
        e[i] = phi * e[i - 1] + rng.normal(0, 2)
    if mult:
        return level * (1 + 0.01 * amp * season[t % m]) + e
    return level + amp * season[t % m] + e


def dates(start, n, m):
    """n month starts (m = 12) or quarter starts (m = 4) from start."""
    return pd.date_range(start, periods=n, freq="MS" if m == 12 else "QS")


def series():
    """(name, season, pandas Series with its dates) for every measured series."""
    out = []
    for k, (n, m, mult) in enumerate([(96, 12, 0), (144, 12, 1), (240, 12, 0), (72, 12, 1),
                                      (80, 4, 0), (120, 4, 1), (200, 4, 0)]):
        y = simulated(100 + k, n, m, mult)
        out.append((f"sim{k}_{'m' if m == 12 else 'q'}{n}", m,
                    pd.Series(y, index=dates("1990-01-01", n, m))))
    import statsmodels.api as sm
    macro = sm.datasets.macrodata.load_pandas().data
    start = f"{int(macro['year'].iloc[0])}-{3 * (int(macro['quarter'].iloc[0]) - 1) + 1:02d}-01"
    idx = dates(start, len(macro), 4)
    for col in ("realcons", "cpi", "unemp"):
        out.append((f"macro_{col}", 4, pd.Series(macro[col].to_numpy(), index=idx)[-200:]))
    el = sm.datasets.elnino.load_pandas().data.set_index("YEAR")
    ely = el.to_numpy().ravel()
    out.append(("elnino", 12, pd.Series(ely, index=dates(f"{int(el.index[0])}-01-01",
                                                         len(ely), 12))[-360:]))
    co2 = sm.datasets.co2.load_pandas().data["co2"]
    co2m = co2.resample("MS").mean().interpolate()
    out.append(("sm_co2_monthly", 12, co2m[-480:]))
    here = os.path.dirname(os.path.abspath(__file__))
    ml = pd.read_csv(os.path.join(here, "..", "datasets", "mauna_loa_co2", "co2_weekly.csv"),
                     parse_dates=["date"], index_col="date")["co2"]
    mlm = ml.resample("MS").mean().interpolate()
    out.append(("maunaloa_monthly", 12, mlm[-300:]))
    return out


def main():
    build, work, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
    only = None
    if extra[:1] == ["--only"]:
        if len(extra) < 2 or extra[1] not in ("m", "q"):
            sys.exit("measure_defaults: --only takes m (monthly) or q (quarterly)")
        only, extra = {"m": 12, "q": 4}[extra[1]], extra[2:]
    os.makedirs(work, exist_ok=True)
    tsflow = os.path.join(build, "pipeline", "cli", "tsflow")
    rows = []
    for name, m, y in series():
        if only is not None and m != only:
            continue
        path = os.path.join(work, name + ".csv")
        pd.DataFrame({"date": y.index.strftime("%Y-%m-%d"),
                      "y": np.round(y.to_numpy(), 6)}).to_csv(path, index=False)
        n = len(y)
        h5 = os.path.join(work, name + ".h5")
        cmd = [tsflow, "backtest", path, "--horizon", str(m),
               "--test-fraction", repr(3 * m / n), "--out", h5, "-q"] + extra
        r = subprocess.run(cmd, capture_output=True, text=True,
                           env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        if r.returncode:
            print(name, "FAILED:", r.stderr.strip().splitlines()[-1:], flush=True)
            continue
        mt = pd.read_hdf(h5, "metrics").reset_index()
        sel = mt[(mt["scale"] == "original") & (mt["by"] == "all")] if "by" in mt else mt
        row = {"series": name, "m": m, "n": n}
        for model in sorted(set(sel["model"])):
            s = sel[sel["model"] == model]
            row[model] = float(s["mase"].iloc[0])
            if "coverage" in s and not np.isnan(s["coverage"].iloc[0]):
                row[model + "_cov"] = float(s["coverage"].iloc[0])
        rows.append(row)
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in row.items()), flush=True)
    df = pd.DataFrame(rows)
    for m, g in df.groupby("m"):
        cols = [c for c in g.columns if c not in ("series", "m", "n")]
        print(f"mean over {len(g)} series with season {m}: " +
              " ".join(f"{c}={g[c].mean():.4g}" for c in cols))


if __name__ == "__main__":
    main()
