#!/usr/bin/python3
"""Write level_shifts.csv: a noisy series whose level jumps every 500 steps.

The best forecast averages the recent past over a long stretch, so a recurrent network trained
on it with a long lookback learns to carry its state far: the setting of the exploding- and
vanishing-gradient examples (exploding_gradients.ini, gradient_flow.ini). Deterministic:
    /usr/bin/python3 examples/data/make_level_shifts.py > examples/data/level_shifts.csv
"""
import sys

import numpy as np
import pandas as pd

rng = np.random.default_rng(7)
n = 6000
level = np.repeat(rng.standard_normal(n // 500 + 1) * 2, 500)[:n]
y = level + rng.standard_normal(n) * 2
pd.DataFrame({"y": y}).to_csv(sys.stdout, index_label="t", float_format="%.4f")
