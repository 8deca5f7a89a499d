#!/usr/bin/python3
"""PyTorch twin of tests/bench/bench_rnn.c: the same models, data, batch and training step.

Run with Debian's python3 (python3-torch): torch.set_num_threads(2), float32. Prints one TSV
row per configuration: cell hidden features train_sps infer_sps.

Model: torch.nn.RNN (tanh) / LSTM / GRU with one layer of `hidden` units over a lookback of 96
steps (time-major, batch 64), then torch.nn.Linear(hidden, 24 * features) on the final hidden
state: the direct head of lib/include/tsflow/rnn.h with no known-future inputs. Training step:
zero_grad, forward, MSE loss, backward, clip_grad_norm_(1.0), Adam(lr 1e-3). Inference:
forward under torch.inference_mode(). Data as in bench_rnn.c:
x[t][b][i] = sin(0.05 (t + 7b) + i), y[l][b][o] = cos(0.05 (l + 7b) + o).

Usage: bench_rnn_torch.py [--seconds S] [--only CELL:HIDDEN:FEATURES] [--threads N]
"""
import argparse
import time

import numpy as np
import torch

T, L, B = 96, 24, 64


class Net(torch.nn.Module):
    def __init__(self, cell, hidden, features):
        super().__init__()
        mod = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        self.cells = mod(features, hidden)
        self.head = torch.nn.Linear(hidden, L * features)
        self.features = features

    def forward(self, x):
        out, _ = self.cells(x)
        return self.head(out[-1]).view(x.shape[1], L, self.features).permute(1, 0, 2)


def rate(fn, seconds):
    """Steps per second: 1 / the lower quartile of the step times over about `seconds`, after
    two warm-up steps (as bench_rnn.c: the machine is shared, the quartile estimates the
    undisturbed speed without resting on one lucky step)."""
    for _ in range(2):
        fn()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 8:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return 1.0 / times[len(times) // 4]


def bench(cell, hidden, features, seconds):
    torch.manual_seed(1)
    net = Net(cell, hidden, features).float()
    t = np.arange(T)[:, None, None]
    b = np.arange(B)[None, :, None]
    i = np.arange(features)[None, None, :]
    x = torch.from_numpy(np.sin(0.05 * (t + 7 * b) + i).astype(np.float32))
    l = np.arange(L)[:, None, None]
    y = torch.from_numpy(np.cos(0.05 * (l + 7 * b) + i).astype(np.float32))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def train_step():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()

    def infer():
        with torch.inference_mode():
            net(x)

    train = rate(train_step, seconds)
    inf = rate(infer, seconds)
    print(f"{cell}\t{hidden}\t{features}\t{train * B:.1f}\t{inf * B:.1f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--only")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print("cell\thidden\tfeatures\ttrain_sps\tinfer_sps")
    for cell in ("rnn", "lstm", "gru"):
        for hidden in (32, 64, 128):
            for features in (1, 7):
                if a.only and a.only != f"{cell}:{hidden}:{features}":
                    continue
                bench(cell, hidden, features, a.seconds)


if __name__ == "__main__":
    main()
