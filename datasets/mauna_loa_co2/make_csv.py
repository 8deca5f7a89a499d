#!/usr/bin/python3
"""Rebuild co2_weekly.csv from the copy Debian's python3-statsmodels ships.

The source file has dates as YYYYMMDD integers; this writes ISO 8601 dates and keeps the
missing weeks as empty fields, so the file exercises tsflow's missing-value handling.
Run: /usr/bin/python3 datasets/mauna_loa_co2/make_csv.py > datasets/mauna_loa_co2/co2_weekly.csv
"""
import csv
import os
import sys

import statsmodels.datasets.co2 as co2

src = os.path.join(os.path.dirname(co2.__file__), "co2.csv")
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["date", "co2"])
with open(src, newline="") as f:
    rows = csv.reader(f)
    assert next(rows) == ["date", "co2"]
    for d, v in rows:
        out.writerow([f"{d[0:4]}-{d[4:6]}-{d[6:8]}", v])
