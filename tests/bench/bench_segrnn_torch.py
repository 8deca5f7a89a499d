#!/usr/bin/python3
"""PyTorch twin of tests/bench/bench_segrnn.c: the same segment recurrent network (SegRNN's
structure: per channel, segments of 48 embedded by Linear + ReLU, a GRU over them, the parallel
decoder with position and channel embeddings, Linear d -> 48), the same data, batch, loss,
Adam and clipping; prints "hidden train_sps infer_sps" (windows per second, the batch over the
lower quartile of the step times). Inference runs under torch.no_grad() in eval mode.

    /usr/bin/python3 tests/bench/bench_segrnn_torch.py [--threads 2] [--seconds 3] [--hidden 128]
"""
import argparse
import math
import time

import torch

T, L, C, W, B = 720, 96, 7, 48, 64


class SegRNN(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.d, self.N, self.M = d, T // W, L // W
        self.embed = torch.nn.Linear(W, d)
        self.gru = torch.nn.GRU(d, d, batch_first=True)
        self.pos_emb = torch.nn.Parameter(torch.randn(self.M, d // 2))
        self.channel_emb = torch.nn.Parameter(torch.randn(C, d // 2))
        self.head = torch.nn.Linear(d, W)

    def forward(self, x):  # x (B, T, C) -> (B, L, C)
        b = x.shape[0]
        seg = x.permute(0, 2, 1).reshape(b * C, self.N, W)
        _, hn = self.gru(torch.relu(self.embed(seg)))  # hn (1, b*C, d)
        u = torch.cat([self.pos_emb.unsqueeze(0).expand(C, self.M, self.d // 2),
                       self.channel_emb.unsqueeze(1).expand(C, self.M, self.d // 2)], dim=-1)
        u = u.reshape(1, C * self.M, self.d).expand(b, -1, -1).reshape(-1, 1, self.d)
        h0 = hn.repeat_interleave(self.M, dim=1)  # (1, b*C*M, d)
        _, hy = self.gru(u, h0)
        y = self.head(hy[0]).view(b, C, L)
        return y.permute(0, 2, 1)


def quartile(times):
    return sorted(times)[len(times) // 4]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--hidden", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    t = torch.arange(T, dtype=torch.float32).view(1, T, 1)
    b = torch.arange(B, dtype=torch.float32).view(B, 1, 1)
    c = torch.arange(C, dtype=torch.float32).view(1, 1, C)
    x = torch.sin(0.05 * (t + 7 * b) + c)
    lv = torch.arange(L, dtype=torch.float32).view(1, L, 1)
    y = torch.cos(0.05 * (lv + 7 * b) + c)
    model = SegRNN(a.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    rates = []
    for mode in ("train", "infer"):
        times = []
        end = time.perf_counter() + a.seconds
        with torch.no_grad():
            model(x)
        while time.perf_counter() < end or len(times) < 5:
            t0 = time.perf_counter()
            if mode == "train":
                model.train()
                opt.zero_grad()
                loss = torch.mean((model(x) - y) ** 2)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
            else:
                model.eval()
                with torch.no_grad():
                    model(x)
            times.append(time.perf_counter() - t0)
        rates.append(B / quartile(times))
    print(f"hidden\ttrain_sps\tinfer_sps\n{a.hidden}\t{rates[0]:.1f}\t{rates[1]:.1f}")


if __name__ == "__main__":
    main()
