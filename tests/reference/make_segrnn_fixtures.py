#!/usr/bin/python3
"""Write the PyTorch fixtures that tests/lib/nn/test_rnn.c compares tsflow's segment-wise
networks (SegRNN, tsf_rnn_config.segment > 0, described in lib/include/tsflow/rnn.h) against.

Run with Debian's python3 (python3-torch): /usr/bin/python3 tests/reference/make_segrnn_fixtures.py
It rewrites tests/reference/rnn/seg_<case>.txt and .bin (make_rnn_fixtures.py's format, plus
"config segment W"); commit both with this script.

The model, in float32: torch.nn.Linear(W, d) "embed" with a ReLU, one torch.nn.RNN/LSTM/GRU(d, d)
named rnn/lstm/gru, for the parallel decoder (head = direct) the parameters pos_emb (M, d/2) and
channel_emb (C, d/2), and torch.nn.Linear(d, W*Q) "head". Channels are independent rows
b*C + c. The loss is MSE (mean over every element of yhat).

Tensors: x (T,B,C), y (L,B,C*Q), yhat, loss (1), dh_norm (N: ||dLoss/dh_n|| per lookback
segment, from an unrolled copy written from rnn.h's cell formulas, asserted to reproduce the
module), param.<name>, grad.<name>; then the weights after 10 steps of
    loss = mean((yhat - 3 y)^2); loss.backward(); clip_grad_norm_(params, clip); Adam(lr 1e-3)
(clip 0.5; 0.1 for the RevIN cases, whose outputs are small) as adam10.<name>, with norm
(10 pre-clip norms) and losses (10). With revin, RevIN (Kim et al. 2022) wraps the model:
statistics of each window and channel detached, affine weight and bias per channel.
"""
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_rnn_fixtures as mrf  # noqa: E402

BASE = dict(n_inputs=3, n_future=0, hidden=6, n_layers=1, bidirectional=0, lookback=8,
            horizon=6, n_outputs=3, n_quantiles=1, head="direct", bptt_steps=0, batch=3,
            segment=2, revin=0)
CASES = [
    dict(name="seg_gru_pmf", cell="gru"),
    dict(name="seg_lstm_pmf", cell="lstm"),
    dict(name="seg_rnn_tanh_pmf", cell="rnn_tanh"),
    dict(name="seg_gru_rmf", cell="gru", head="recursive", n_quantiles=3),
    dict(name="seg_lstm_rmf", cell="lstm", head="recursive"),
    dict(name="seg_gru_pmf_revin", cell="gru", revin=1, clip=0.1),
    dict(name="seg_gru_rmf_revin", cell="gru", head="recursive", revin=1, clip=0.1),
]
REVIN_EPS = 1e-5
STEPS, LR, CLIP = 10, 1e-3, 0.5


class SegModel(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        W, d, C, Q = c["segment"], c["hidden"], c["n_outputs"], c["n_quantiles"]
        M = c["horizon"] // W
        self.embed = torch.nn.Linear(W, d)
        name, mod = mrf.make_module(dict(c, n_inputs=d))
        self.kind = name
        setattr(self, name, mod)
        if c["head"] == "direct":
            self.pos_emb = torch.nn.Parameter(torch.randn(M, d // 2))
            self.channel_emb = torch.nn.Parameter(torch.randn(C, d // 2))
        self.head = torch.nn.Linear(d, W * Q)
        if c["revin"]:  # RevIN's affine_weight and affine_bias, per channel
            self.revin = torch.nn.Module()
            self.revin.weight = torch.nn.Parameter(torch.ones(C))
            self.revin.bias = torch.nn.Parameter(torch.zeros(C))


def forward(model, x, unrolled):
    """yhat (L, B, C*Q); with unrolled=True also the encoder's h_n (retain_grad)."""
    c = model.c
    T, B, C = x.shape
    W, d, Q, L = c["segment"], c["hidden"], c["n_quantiles"], c["horizon"]
    N, M, R = T // W, L // W, B * C
    kind = c["cell"]
    rnn = model._modules[model.kind]
    p = dict(rnn.named_parameters())
    w = [p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]]
    if c["revin"]:  # RevIN: statistics detached, affine per channel
        mu = x.mean(dim=0, keepdim=True).detach()
        sd = torch.sqrt(x.var(dim=0, keepdim=True, unbiased=False) + REVIN_EPS).detach()
        x = (x - mu) / sd * model.revin.weight + model.revin.bias
    seg = x.permute(1, 2, 0).reshape(R, N, W)  # row b*C + c
    e = torch.relu(model.embed(seg)).transpose(0, 1)  # (N, R, d)
    hs = []
    if unrolled:
        h = cc = None
        for n in range(N):
            h, cc = mrf.cell_step(kind, e[n], h, cc, *w)
            h.retain_grad()
            hs.append(h)
        st = (h, cc)
    else:
        _, st = rnn(e)

    def step(inp, st):  # one step of the cell from state st
        if unrolled:
            h2, c2 = mrf.cell_step(kind, inp, st[0], st[1], *w)
            return h2, (h2, c2)
        o, st2 = rnn(inp.unsqueeze(0), st)
        return o[0], st2

    def state_h(st):
        if unrolled:
            return st[0]
        return (st[0] if isinstance(st, tuple) else st)[0]

    if c["head"] == "direct":
        u = torch.cat([model.pos_emb.unsqueeze(1).expand(M, C, d // 2),
                       model.channel_emb.unsqueeze(0).expand(M, C, d // 2)], dim=2)  # (M, C, d)
        u = u.unsqueeze(1).expand(M, B, C, d).reshape(M * R, d)
        if unrolled:
            st0 = (st[0].repeat(M, 1), st[1].repeat(M, 1) if st[1] is not None else None)
        elif isinstance(st, tuple):
            st0 = tuple(s.repeat(1, M, 1) for s in st)
        else:
            st0 = st.repeat(1, M, 1)
        hd, _ = step(u, st0)
        ys = model.head(hd).view(M, R, W * Q)
    else:
        ys = [model.head(state_h(st))]
        for _ in range(1, M):
            fed = ys[-1].view(R, W, Q)[:, :, Q // 2]
            hd, st = step(torch.relu(model.embed(fed)), st)
            ys.append(model.head(hd))
        ys = torch.stack(ys)  # (M, R, W*Q)
    y = ys.view(M, B, C, W, Q).permute(0, 3, 1, 2, 4)  # (M, W, B, C, Q)
    if c["revin"]:
        k = (sd / (model.revin.weight + REVIN_EPS ** 2)).unsqueeze(-1)  # (1, B, C, 1)
        y = (y - model.revin.bias.unsqueeze(-1)) * k + mu.unsqueeze(-1)
    y = y.reshape(L, B, C * Q)
    return y, hs


def run_case(case):
    c = dict(BASE)
    c.update(case)
    torch.manual_seed(sum(map(ord, c["name"])))
    T, L, B, C, Q = c["lookback"], c["horizon"], c["batch"], c["n_outputs"], c["n_quantiles"]
    model = SegModel(c).float()
    with torch.no_grad():  # weights a bit larger than the init, so the cells are not linear
        for _, p in model.named_parameters():
            p.mul_(2.0).add_(0.05 * (2 * torch.rand_like(p) - 1))
    x = torch.rand(T, B, C) * 2 - 1
    y = torch.rand(L, B, C * Q) * 2 - 1
    initial = [("param." + n, p.detach().clone()) for n, p in model.named_parameters()]

    model.zero_grad()
    yhat, _ = forward(model, x, unrolled=False)
    loss = torch.mean((yhat - y) ** 2)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}

    model.zero_grad()
    yhat_u, hs = forward(model, x, unrolled=True)
    torch.mean((yhat_u - y) ** 2).backward()
    assert torch.allclose(yhat_u, yhat, rtol=1e-5, atol=1e-6), c["name"]
    for n, p in model.named_parameters():
        assert torch.allclose(p.grad, grads[n], rtol=1e-4, atol=1e-6), (c["name"], n)
    dh_norm = torch.tensor([math.sqrt(float((h.grad.double() ** 2).sum())) for h in hs])

    # 10 clipped Adam steps from the same weights, on targets far enough for the clip to act
    params = list(model.parameters())
    clip = c.get("clip", CLIP)  # RevIN's outputs are small: a lower clip for them
    opt = torch.optim.Adam(params, lr=LR, foreach=False)
    norms, losses = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        yh, _ = forward(model, x, unrolled=False)
        lo = torch.mean((yh - 3 * y) ** 2)
        lo.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, clip)))
        losses.append(float(lo))
        opt.step()
    assert sum(n > clip for n in norms) >= 5, (c["name"], norms)

    c["extra_config"] = dict(segment=c["segment"], revin=c["revin"], steps=STEPS, lr=LR, clip=clip)
    tensors = [("x", x), ("y", y), ("yhat", yhat.detach()), ("loss", loss.detach().reshape(1)),
               ("dh_norm", dh_norm.float())]
    tensors += initial
    tensors += [("grad." + n, g) for n, g in grads.items()]
    tensors += [("adam10." + n, p.detach()) for n, p in model.named_parameters()]
    tensors += [("norm", torch.tensor(norms)), ("losses", torch.tensor(losses))]
    mrf.write_case(c, tensors)
    txt = os.path.join(mrf.OUT, c["name"] + ".txt")
    with open(txt) as f:
        lines = f.read().split("\n")
    lines[0] = lines[0].replace("make_rnn_fixtures.py", "make_segrnn_fixtures.py")
    with open(txt, "w") as f:
        f.write("\n".join(lines))


def main():
    torch.set_num_threads(1)
    for case in CASES:
        run_case(case)
    print(f"wrote {len(CASES)} cases to {mrf.OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
