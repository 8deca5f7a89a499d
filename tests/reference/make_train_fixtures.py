#!/usr/bin/python3
"""Write the PyTorch fixtures that tests/lib/nn/test_train.c compares tsflow's training with:
the weights after 10 Adam steps with gradient clipping by norm 1.0, for an Elman RNN, an LSTM
and a GRU (and a two-layer LSTM with quantile outputs trained with the pinball loss).

Run with Debian's python3 (python3-torch): /usr/bin/python3 tests/reference/make_train_fixtures.py
It rewrites tests/reference/train/<case>.txt and <case>.bin; commit both with this script.

The network, its data and the file format come from make_rnn_fixtures.py (same directory):
the model is that script's Model (torch.nn.RNN/LSTM/GRU + Linear head), seeded and scaled the
same way. Training: one batch (the whole data, B samples, in order) per step, 10 steps of
    loss = mean((yhat - y)^2)        (pinball: sum over quantiles of max(q e, (q - 1) e), mean
                                      over targets, e = y - yhat)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(params, 1.0)
    torch.optim.Adam(params, lr=1e-3).step()        (the pinball case: AdamW, weight decay
                                                      0.01, clip 0.25)
Tensors: x, xf, y, param.<name> (initial weights), adam10.<name> (weights after 10 steps),
norm (10 pre-clip gradient norms), loss (10 losses).
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_rnn_fixtures as mrf  # noqa: E402

STEPS = 10
LR = 1e-3  # torch.optim.Adam's default
CLIP = 1.0
CASES = [
    dict(name="rnn_tanh", cell="rnn_tanh"),
    dict(name="lstm", cell="lstm"),
    dict(name="gru", cell="gru"),
    dict(name="lstm_2layer_pinball", cell="lstm", n_layers=2, n_outputs=2, n_quantiles=3,
         optimizer="adamw", clip=0.25),  # pinball gradients are small: clip lower
]
QUANTILES = [0.1, 0.5, 0.9]


def pinball(yhat, y, O, Q):
    # yhat (L, B, O*Q) with the quantile innermost, y (L, B, O)
    e = y.unsqueeze(-1) - yhat.reshape(*yhat.shape[:-1], O, Q)
    q = torch.tensor(QUANTILES[:Q], dtype=yhat.dtype)
    return torch.maximum(q * e, (q - 1) * e).sum(-1).mean()


def run_case(case):
    c = dict(mrf.BASE)
    c.update(case)
    torch.manual_seed(1000 + sum(map(ord, c["name"])))
    T, L, B, I, F = c["lookback"], c["horizon"], c["batch"], c["n_inputs"], c["n_future"]
    O, Q = c["n_outputs"], c["n_quantiles"]
    model = mrf.Model(c).float()
    with torch.no_grad():  # as make_rnn_fixtures: weights larger than the init
        for _, p in model.named_parameters():
            p.mul_(2.0).add_(0.05 * (2 * torch.rand_like(p) - 1))
    x = torch.rand(T, B, I) * 2 - 1
    xf = torch.rand(L, B, F) * 2 - 1
    y = (torch.rand(L, B, O) * 2 - 1) * 3  # far from the start: gradients exceed the clip
    initial = [("param." + n, p.detach().clone()) for n, p in model.named_parameters()]
    params = list(model.parameters())
    if c.get("optimizer") == "adamw":
        opt = torch.optim.AdamW(params, lr=LR, weight_decay=0.01, foreach=False)
    else:
        opt = torch.optim.Adam(params, lr=LR, foreach=False)
    clip = c.get("clip", CLIP)
    norms, losses = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        yhat, _ = mrf.forward(model, x, xf, unrolled=False)
        loss = pinball(yhat, y, O, Q) if Q > 1 else torch.mean((yhat - y) ** 2)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, clip)))
        losses.append(float(loss))
        opt.step()
    assert sum(n > clip for n in norms) >= 5, (c["name"], norms)  # clipping is exercised
    c["extra_config"] = dict(steps=STEPS, lr=LR, clip=clip,
                             optimizer=c.get("optimizer", "adam"),
                             loss="pinball" if Q > 1 else "mse")
    tensors = [("x", x), ("xf", xf), ("y", y)] + initial
    tensors += [("adam10." + n, p.detach()) for n, p in model.named_parameters()]
    tensors += [("norm", torch.tensor(norms)), ("loss", torch.tensor(losses))]
    mrf.write_case(c, tensors)


def main():
    torch.set_num_threads(1)
    mrf.OUT = os.path.join(HERE, "train")
    for case in CASES:
        run_case(case)
    print(f"wrote {len(CASES)} cases to {mrf.OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
