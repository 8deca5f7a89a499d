#!/usr/bin/python3
"""Write the PyTorch fixtures that tests/lib/nn/test_rnn.c compares tsflow's RNNs against.

Run with Debian's python3 (python3-torch): /usr/bin/python3 tests/reference/make_rnn_fixtures.py
It rewrites tests/reference/rnn/<case>.txt and <case>.bin; commit both with this script.

Format (one pair of files per case, compact and readable from C without a library):
  <case>.bin  little-endian float32 tensors, end to end
  <case>.txt  the manifest, one item per line:
      # comment
      config <key> <value>          tsf_rnn_config fields (cell, n_inputs, ..., bptt_steps)
                                    plus batch
      tensor <name> <offset> <count> <dim0>x<dim1>...   offset and count in floats
  Tensors: x (T,B,I), xf (L,B,F), y (L,B,O*Q), yhat (L,B,O*Q), loss (1), dh_norm (T),
  param.<torch name> and grad.<torch name> for every parameter (tsflow's names, rnn.h).

Each case is a torch model in float32: torch.nn.RNN/LSTM/GRU (batch_first=False) named
rnn/lstm/gru and a torch.nn.Linear named head, as described in lib/include/tsflow/rnn.h. The
loss is MSE (mean over every element of yhat). Truncated BPTT is `h.detach()` at the cut (see
rnn.h); dh_norm, ||dLoss/dh_t|| of the last layer's output (summed over the batch: the
Frobenius norm of the (B, D*H) gradient), comes from an unrolled copy of the network whose
h_t are leaves of the graph (retain_grad); the script asserts that copy reproduces the module.

HOOK for more fixtures (e.g. "weights after 10 Adam steps with clipping"): append a function
to EXTRA_HOOKS. It receives (case, model, data) after the gradients were computed, where
model.named_parameters() are the weights and data holds the float32 tensors x, xf, y; it
returns a dict of extra tensors {name: torch.Tensor} to store in the same case (e.g.
"adam10.lstm.weight_ih_l0"), and may add config lines with case["extra_config"][key] = value.
"""
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "rnn")

# One dict per fixture. cell: rnn_tanh, rnn_relu, lstm, gru; head: direct or recursive.
BASE = dict(n_inputs=3, n_future=2, hidden=5, n_layers=1, bidirectional=0, lookback=7,
            horizon=4, n_outputs=1, n_quantiles=1, head="direct", bptt_steps=0, batch=3)
CASES = [
    dict(name="rnn_tanh", cell="rnn_tanh"),
    dict(name="rnn_relu", cell="rnn_relu"),
    dict(name="lstm", cell="lstm"),
    dict(name="gru", cell="gru"),
    dict(name="rnn_tanh_2layer_bidir", cell="rnn_tanh", n_layers=2, bidirectional=1),
    dict(name="lstm_2layer", cell="lstm", n_layers=2),
    dict(name="lstm_2layer_bidir", cell="lstm", n_layers=2, bidirectional=1),
    dict(name="gru_2layer", cell="gru", n_layers=2),
    dict(name="gru_2layer_bidir", cell="gru", n_layers=2, bidirectional=1),
    dict(name="lstm_quantiles", cell="lstm", n_outputs=2, n_quantiles=3, n_future=0),
    dict(name="lstm_2layer_trunc", cell="lstm", n_layers=2, bptt_steps=3),
    dict(name="gru_2layer_bidir_trunc", cell="gru", n_layers=2, bidirectional=1, bptt_steps=3),
    dict(name="lstm_2layer_recursive", cell="lstm", n_layers=2, head="recursive", n_inputs=5,
         n_outputs=2, n_quantiles=3),
    dict(name="gru_recursive_trunc", cell="gru", head="recursive", n_inputs=4, bptt_steps=4),
]

EXTRA_HOOKS = []  # see HOOK in the docstring


def make_module(c):
    kind = c["cell"]
    args = dict(input_size=c["n_inputs"], hidden_size=c["hidden"], num_layers=c["n_layers"],
                bidirectional=bool(c["bidirectional"]))
    if kind.startswith("rnn"):
        return "rnn", torch.nn.RNN(nonlinearity=kind[4:], **args)
    return kind, torch.nn.LSTM(**args) if kind == "lstm" else torch.nn.GRU(**args)


class Model(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        name, mod = make_module(c)
        self.kind = name
        setattr(self, name, mod)
        H, D, L, F, OQ = c["hidden"], 1 + c["bidirectional"], c["horizon"], c["n_future"], \
            c["n_outputs"] * c["n_quantiles"]
        if c["head"] == "direct":
            self.head = torch.nn.Linear(D * H + L * F, L * OQ)
        else:
            self.head = torch.nn.Linear(H + F, OQ)

    def cells(self):
        return self._modules[self.kind]


def cell_step(kind, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step of a cell written out from the formulas in rnn.h (not torch's module)."""
    gi = x @ w_ih.T + b_ih
    gh = (h @ w_hh.T if h is not None else torch.zeros_like(gi)) + b_hh
    if kind == "rnn_tanh":
        return torch.tanh(gi + gh), None
    if kind == "rnn_relu":
        return torch.relu(gi + gh), None
    if kind == "lstm":
        i, f, g, o = (gi + gh).chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c2 = i * g + (f * c if c is not None else 0)
        return o * torch.tanh(c2), c2
    ir, iz, inn = gi.chunk(3, dim=1)
    hr, hz, hn = gh.chunk(3, dim=1)
    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    n = torch.tanh(inn + r * hn)
    return (1 - z) * n + (z * h if h is not None else 0), None


def forward(model, x, xf, unrolled):
    """The network of rnn.h. unrolled=False uses torch's RNN/LSTM/GRU module (and, for
    truncated BPTT of a unidirectional network, detaches the state between two module calls);
    unrolled=True steps cell_step by hand and returns the top layer's h_t (retain_grad) too."""
    c = model.c
    T, L, H, D = c["lookback"], c["horizon"], c["hidden"], 1 + c["bidirectional"]
    O, Q, F, I = c["n_outputs"], c["n_quantiles"], c["n_future"], c["n_inputs"]
    k = c["bptt_steps"]
    trunc = 0 < k < T
    kind = c["cell"]
    rnn = model.cells()
    B = x.shape[1]
    tops = None
    if unrolled:
        p = dict(rnn.named_parameters())
        inp = x
        states = []  # per layer: final (h, c) of the forward direction
        for l in range(c["n_layers"]):
            outs = []
            for d in range(D):
                sfx = f"_l{l}" + ("_reverse" if d else "")
                w = [p["weight_ih" + sfx], p["weight_hh" + sfx], p["bias_ih" + sfx],
                     p["bias_hh" + sfx]]
                h = cc = None
                hs = [None] * T
                order = range(T) if d == 0 else range(T - 1, -1, -1)
                cut = (T - k if d == 0 else k - 1) if trunc else None
                for t in order:
                    if t == cut and h is not None:
                        h = h.detach()
                        cc = cc.detach() if cc is not None else None
                    h, cc = cell_step(kind, inp[t], h, cc, *w)
                    hs[t] = h
                if d == 0:
                    states.append((h, cc, w))
                outs.append(hs)
            if l == c["n_layers"] - 1:
                tops = outs
                for hs in outs:
                    for h in hs:
                        h.retain_grad()
            inp = torch.stack([torch.cat([outs[d][t] for d in range(D)], dim=1)
                               for t in range(T)])
        out = inp  # (T, B, D*H)
    else:
        if trunc and D == 1:
            o1, st = rnn(x[:T - k])
            st = tuple(s.detach() for s in st) if isinstance(st, tuple) else st.detach()
            o2, st = rnn(x[T - k:], st)
            out = torch.cat([o1, o2])
        else:
            assert not trunc
            out, st = rnn(x)
    if c["head"] == "direct":
        hT = out[T - 1, :, :H]
        feats = [hT] + ([out[0, :, H:]] if D == 2 else [])
        if F:
            feats.append(xf.permute(1, 0, 2).reshape(B, L * F))
        y = model.head(torch.cat(feats, dim=1)).view(B, L, O * Q).permute(1, 0, 2)
        return y, tops
    # recursive head: decoder steps through every layer, forecasts fed back (rnn.h)
    ys = []
    if unrolled:
        h_top = out[T - 1]
        layer_state = [(s[0], s[1]) for s in states]
    else:
        h_top = out[T - 1]
        dec_state = st
    for j in range(L):
        hin = torch.cat([h_top, xf[j]], dim=1) if F else h_top
        y = model.head(hin)
        ys.append(y)
        if j == L - 1:
            break
        u = torch.cat([y[:, [o * Q + Q // 2 for o in range(O)]], x[T - 1, :, O:I - F]]
                      + ([xf[j]] if F else []), dim=1)
        if unrolled:
            zin = u
            for l in range(c["n_layers"]):
                h, cc = layer_state[l]
                h, cc = cell_step(kind, zin, h, cc, *states[l][2])
                layer_state[l] = (h, cc)
                zin = h
            h_top = zin
        else:
            o, dec_state = rnn(u.unsqueeze(0), dec_state)
            h_top = o[0]
    return torch.stack(ys), tops


def run_case(case):
    c = dict(BASE)
    c.update(case)
    torch.manual_seed(sum(map(ord, c["name"])))
    T, L, B, I, F = c["lookback"], c["horizon"], c["batch"], c["n_inputs"], c["n_future"]
    OQ = c["n_outputs"] * c["n_quantiles"]
    model = Model(c).float()
    with torch.no_grad():  # weights a bit larger than the init, so the cells are not linear
        for name, p in model.named_parameters():
            p.mul_(2.0).add_(0.05 * (2 * torch.rand_like(p) - 1))
    x = torch.rand(T, B, I) * 2 - 1
    xf = torch.rand(L, B, F) * 2 - 1
    y = torch.rand(L, B, OQ) * 2 - 1
    trunc_bidir = 0 < c["bptt_steps"] < T and c["bidirectional"]

    # gradients from torch's modules (except the truncated bidirectional case)
    model.zero_grad()
    yhat, _ = forward(model, x, xf, unrolled=trunc_bidir)
    loss = torch.mean((yhat - y) ** 2)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}

    # the unrolled copy: same outputs and gradients, and dLoss/dh_t of the top layer
    model.zero_grad()
    yhat_u, tops = forward(model, x, xf, unrolled=True)
    loss_u = torch.mean((yhat_u - y) ** 2)
    loss_u.backward()
    assert torch.allclose(yhat_u, yhat, rtol=1e-5, atol=1e-6), c["name"]
    for n, p in model.named_parameters():
        assert torch.allclose(p.grad, grads[n], rtol=1e-4, atol=1e-6), (c["name"], n)
    dh_norm = torch.tensor([
        math.sqrt(sum(float((hs[t].grad.double() ** 2).sum()) if hs[t].grad is not None else 0
                      for hs in tops)) for t in range(T)])

    tensors = [("x", x), ("xf", xf), ("y", y), ("yhat", yhat.detach()),
               ("loss", loss.detach().reshape(1)), ("dh_norm", dh_norm.float())]
    tensors += [("param." + n, p.detach()) for n, p in model.named_parameters()]
    tensors += [("grad." + n, g) for n, g in grads.items()]
    c["extra_config"] = {}
    data = dict(x=x, xf=xf, y=y)
    for hook in EXTRA_HOOKS:
        tensors += list(hook(c, model, data).items())
    write_case(c, tensors)


def write_case(c, tensors):
    os.makedirs(OUT, exist_ok=True)
    lines = [f"# {c['name']}: written by tests/reference/make_rnn_fixtures.py "
             f"(torch {torch.__version__}); float32 little-endian in {c['name']}.bin"]
    for key in ("cell", "n_inputs", "n_future", "hidden", "n_layers", "bidirectional",
                "lookback", "horizon", "n_outputs", "n_quantiles", "head", "bptt_steps",
                "batch"):
        lines.append(f"config {key} {c[key]}")
    for key, value in c["extra_config"].items():
        lines.append(f"config {key} {value}")
    blob = []
    offset = 0
    for name, t in tensors:
        a = np.ascontiguousarray(t.detach().numpy(), dtype="<f4")
        shape = "x".join(str(s) for s in a.shape) or "1"
        lines.append(f"tensor {name} {offset} {a.size} {shape}")
        blob.append(a.tobytes())
        offset += a.size
    with open(os.path.join(OUT, c["name"] + ".bin"), "wb") as f:
        f.write(b"".join(blob))
    with open(os.path.join(OUT, c["name"] + ".txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    torch.set_num_threads(1)
    for case in CASES:
        run_case(case)
    print(f"wrote {len(CASES)} cases to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
