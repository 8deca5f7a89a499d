/* Backpropagation through time, the plain way (see bptt_reference.h): the reference the fast,
 * batched and threaded pass of rnn.c is checked against, and the file to read first.
 *
 * The network (tsflow/rnn.h): n_layers recurrent layers, each running over the lookback
 * t = 0 .. T-1; layer 0 reads the input x_t, layer l > 0 reads layer l-1's state h_t; every
 * state starts at zero. A linear head reads the top layer's last state and the known future
 * and writes the whole horizon at once (the direct head):
 *     yhat = head.weight [h_top(T-1) | xf(0) | xf(1) | ... | xf(L-1)] + head.bias
 *
 * Backpropagation through time is the chain rule applied to the network unrolled over time:
 * a recurrent layer is T copies of one cell sharing one set of weights, so
 *   1. the forward pass keeps every copy's inputs and activations;
 *   2. the backward pass visits the copies in reverse (t = T-1 .. 0), each receiving the
 *      gradient of the loss with respect to its output h_t from two places: the layer above
 *      (or the head, at t = T-1 of the top layer) and the next copy (h_t is the state that
 *      step t+1 reads);
 *   3. the copies' weight gradients are summed, because they are one set of weights.
 * Layers are visited top down: a layer's gradient with respect to its inputs is the "from the
 * layer above" term of the layer below.
 *
 * Everything is a loop over one sample b and one step t with explicit index arithmetic; the
 * gradients of a batch are sums over its samples, which is what the loss's 1/B makes a mean.
 * Arrays are row-major: W (rows, cols) is W[i * cols + j]; a (T, B, H) array holds step t of
 * sample b at [(t * B + b) * H].
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bptt_reference.h"

/* Where layer l's tensors sit in theta (PyTorch's order, as tsf_rnn_tensor lists them). */
typedef struct layer_views {
    size_t in;                     /* I_l: I for layer 0, H above */
    size_t w_ih, w_hh, b_ih, b_hh; /* offsets of (G*H, I_l), (G*H, H), (G*H), (G*H) */
} layer_views;

struct tsf__ref {
    tsf_rnn_config c;
    size_t B, G;           /* batch, gates per cell (1 Elman, 4 LSTM, 3 GRU) */
    size_t n_head_in;      /* H + L*F */
    size_t head_w, head_b; /* offsets of head.weight (L*O*Q, n_head_in) and head.bias */
    layer_views *layer;    /* (n_layers) */
    const double *x, *xf;  /* the last forward's inputs: (T, B, I), (L, B, F) */
    /* Kept by the forward pass, per layer: (n_layers, T, B, ...) */
    double *h;    /* (.., H) the state after step t */
    double *cst;  /* (.., H) LSTM: the cell state after step t */
    double *gate; /* (.., G*H) the gates after their nonlinearity (Elman: h itself) */
    double *hn;   /* (.., H) GRU: W_hn h_{t-1} + b_hn, the term the reset gate multiplies */
    /* Backward: (n_layers, T, B, H) dLoss/dh_t arriving from above (the layer above or the
     * head); then per-sample scratch. */
    double *dh_above;
    double *a_in, *a_hid;       /* (G*H) W_ih in + b_ih and W_hh h_{t-1} + b_hh */
    double *da_in, *da_hid;     /* (G*H) dLoss/d of those two sums */
    double *dh, *dc;            /* (H) dLoss/dh_t and dLoss/dc_t, gathered from both places */
    double *dh_next;            /* (H) dLoss/dh_t from step t+1 */
    double *zeros;              /* (H) the initial state */
    double *head_in, *head_din; /* (n_head_in) one sample's head input and its gradient */
    double *head_out;           /* (L*O*Q) one sample's head output or its gradient */
};

static double sigmoid(double v)
{
    return 1 / (1 + exp(-v));
}

/* Index of (layer l, step t, sample b) in a (n_layers, T, B, n) array. */
static size_t at(const tsf__ref *r, size_t l, size_t t, size_t b, size_t n)
{
    return ((l * r->c.lookback + t) * r->B + b) * n;
}

/* y (rows) = W (rows, cols) v + bias */
static void affine(double *y, const double *W, const double *bias, const double *v, size_t rows,
                   size_t cols)
{
    for (size_t i = 0; i < rows; i++) {
        double s = bias[i];
        for (size_t j = 0; j < cols; j++)
            s += W[i * cols + j] * v[j];
        y[i] = s;
    }
}

/* The backward of y = W v + bias for one sample: dW += dy v^T, dbias += dy, and, when dv is
 * not NULL, dv += W^T dy (the gradient passed on to v). */
static void affine_backward(double *dW, double *dbias, double *dv, const double *W,
                            const double *dy, const double *v, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows; i++) {
        dbias[i] += dy[i];
        for (size_t j = 0; j < cols; j++) {
            dW[i * cols + j] += dy[i] * v[j];
            if (dv)
                dv[j] += W[i * cols + j] * dy[i];
        }
    }
}

/* ---- one step of a cell ------------------------------------------------------------------ */

/* From a_in = W_ih in + b_ih and a_hid = W_hh h_prev + b_hh (gate rows in PyTorch's order),
 * the gates, the new state h and (LSTM) the new cell state c. */
static void cell_forward(const tsf__ref *r, const double *h_prev, const double *c_prev,
                         double *gate, double *h, double *c, double *hn)
{
    const size_t H = r->c.hidden;
    const double *ai = r->a_in, *ah = r->a_hid;
    for (size_t k = 0; k < H; k++) {
        switch (r->c.cell) {
        case TSF_CELL_RNN_TANH: /* h = tanh(a_in + a_hid) */
            h[k] = gate[k] = tanh(ai[k] + ah[k]);
            break;
        case TSF_CELL_RNN_RELU: /* h = relu(a_in + a_hid) */
            h[k] = gate[k] = fmax(0, ai[k] + ah[k]);
            break;
        case TSF_CELL_LSTM: {                                  /* rows i, f, g, o */
            double i = sigmoid(ai[k] + ah[k]);                 /* input gate: how much to write */
            double f = sigmoid(ai[H + k] + ah[H + k]);         /* forget gate: how much to keep */
            double g = tanh(ai[2 * H + k] + ah[2 * H + k]);    /* the candidate to write */
            double o = sigmoid(ai[3 * H + k] + ah[3 * H + k]); /* output gate: how much to show */
            c[k] = f * c_prev[k] + i * g;
            h[k] = o * tanh(c[k]);
            gate[k] = i, gate[H + k] = f, gate[2 * H + k] = g, gate[3 * H + k] = o;
            break;
        }
        case TSF_CELL_GRU: {                    /* rows r, z, n */
            double rg = sigmoid(ai[k] + ah[k]); /* reset gate: how much past the candidate sees */
            double z = sigmoid(ai[H + k] + ah[H + k]); /* update gate: how much of h_prev to keep */
            hn[k] = ah[2 * H + k];                     /* W_hn h_prev + b_hn */
            double n = tanh(ai[2 * H + k] + rg * hn[k]); /* the candidate state */
            h[k] = (1 - z) * n + z * h_prev[k];
            gate[k] = rg, gate[H + k] = z, gate[2 * H + k] = n;
            break;
        }
        }
    }
}

/* The backward of one step. In: r->dh = dLoss/dh_t (both sources added) and, for LSTM,
 * r->dc = dLoss/dc_t from step t+1. Out: r->da_in and r->da_hid, the gradients of the two
 * affine sums; r->dh gets the part of dLoss/dh_{t-1} that does not pass through W_hh (the GRU's
 * z * h_prev term, else 0); r->dc becomes dLoss/dc_{t-1}. */
static void cell_backward(tsf__ref *r, const double *gate, const double *h, const double *c,
                          const double *c_prev, const double *h_prev, const double *hn)
{
    const size_t H = r->c.hidden;
    double *dai = r->da_in, *dah = r->da_hid, *dh = r->dh, *dc = r->dc;
    for (size_t k = 0; k < H; k++) {
        switch (r->c.cell) {
        case TSF_CELL_RNN_TANH: /* tanh'(a) = 1 - tanh(a)^2 = 1 - h^2 */
            dai[k] = dah[k] = dh[k] * (1 - h[k] * h[k]);
            dh[k] = 0;
            break;
        case TSF_CELL_RNN_RELU: /* relu'(a) = 1 where a > 0, i.e. where h > 0 */
            dai[k] = dah[k] = h[k] > 0 ? dh[k] : 0;
            dh[k] = 0;
            break;
        case TSF_CELL_LSTM: {
            double i = gate[k], f = gate[H + k], g = gate[2 * H + k], o = gate[3 * H + k];
            double tc = tanh(c[k]);
            /* h = o tanh(c): to o, and to c (added to what step t+1 sent to c) */
            double d_o = dh[k] * tc;
            double d_c = dc[k] + dh[k] * o * (1 - tc * tc);
            /* c = f c_prev + i g */
            double d_i = d_c * g, d_g = d_c * i, d_f = d_c * c_prev[k];
            dc[k] = d_c * f; /* to c_prev: the path along which LSTM gradients survive */
            /* through the nonlinearities: sigmoid' = s (1 - s), tanh' = 1 - tanh^2 */
            dai[k] = dah[k] = d_i * i * (1 - i);
            dai[H + k] = dah[H + k] = d_f * f * (1 - f);
            dai[2 * H + k] = dah[2 * H + k] = d_g * (1 - g * g);
            dai[3 * H + k] = dah[3 * H + k] = d_o * o * (1 - o);
            dh[k] = 0;
            break;
        }
        case TSF_CELL_GRU: {
            double rg = gate[k], z = gate[H + k], n = gate[2 * H + k];
            /* h = (1 - z) n + z h_prev */
            double d_n = dh[k] * (1 - z), d_z = dh[k] * (h_prev[k] - n);
            dh[k] = dh[k] * z; /* straight to h_prev, around every weight */
            /* n = tanh(a_in_n + r hn): the input side sees the whole pre-activation gradient,
             * the hidden side (hn = W_hn h_prev + b_hn) only its share through r */
            double d_an = d_n * (1 - n * n);
            double d_r = d_an * hn[k];
            dai[k] = dah[k] = d_r * rg * (1 - rg);
            dai[H + k] = dah[H + k] = d_z * z * (1 - z);
            dai[2 * H + k] = d_an;
            dah[2 * H + k] = d_an * rg;
            break;
        }
        }
    }
}

/* ---- the passes -------------------------------------------------------------------------- */

void tsf__ref_forward(tsf__ref *r, const double *theta, const double *x, const double *xf,
                      double *yhat)
{
    const tsf_rnn_config *c = &r->c;
    const size_t T = c->lookback, L = c->horizon, F = c->n_future, H = c->hidden, GH = r->G * H;
    const size_t B = r->B, top = c->n_layers - 1, OQ = c->n_outputs * c->n_quantiles;
    r->x = x;
    r->xf = xf;
    /* 1. The recurrent layers, bottom up; each over the lookback, oldest step first. */
    for (size_t l = 0; l < c->n_layers; l++) {
        const layer_views *v = &r->layer[l];
        for (size_t b = 0; b < B; b++)
            for (size_t t = 0; t < T; t++) {
                const double *in = l == 0 ? x + (t * B + b) * v->in : r->h + at(r, l - 1, t, b, H);
                const double *h_prev = t ? r->h + at(r, l, t - 1, b, H) : r->zeros;
                const double *c_prev = t ? r->cst + at(r, l, t - 1, b, H) : r->zeros;
                affine(r->a_in, theta + v->w_ih, theta + v->b_ih, in, GH, v->in);
                affine(r->a_hid, theta + v->w_hh, theta + v->b_hh, h_prev, GH, H);
                cell_forward(r, h_prev, c_prev, r->gate + at(r, l, t, b, GH),
                             r->h + at(r, l, t, b, H), r->cst + at(r, l, t, b, H),
                             r->hn + at(r, l, t, b, H));
            }
    }
    /* 2. The head: the whole horizon from the top layer's last state and the known future. */
    double *in = r->head_in, *out = r->head_out;
    for (size_t b = 0; b < B; b++) {
        memcpy(in, r->h + at(r, top, T - 1, b, H), H * sizeof *in);
        for (size_t j = 0; j < L; j++)
            for (size_t f = 0; f < F; f++)
                in[H + j * F + f] = xf[(j * B + b) * F + f];
        affine(out, theta + r->head_w, theta + r->head_b, in, L * OQ, r->n_head_in);
        for (size_t j = 0; j < L; j++) /* head row j*OQ + q is yhat[j][b][q] */
            memcpy(yhat + (j * B + b) * OQ, out + j * OQ, OQ * sizeof *out);
    }
}

/* Step 2 of the backward pass for layer l: back through time, from the last step to the first,
 * for every sample. r->dh_above holds dLoss/dh_t from above; the gradient with respect to the
 * layer's inputs goes to the layer below's dh_above. */
static void layer_backward(tsf__ref *r, size_t l, const double *theta, double *grad)
{
    const tsf_rnn_config *c = &r->c;
    const size_t T = c->lookback, H = c->hidden, GH = r->G * H, B = r->B;
    const layer_views *v = &r->layer[l];
    for (size_t b = 0; b < B; b++) {
        double *dh_next = r->dh_next;
        memset(dh_next, 0, H * sizeof *dh_next); /* nothing comes from after the last step */
        memset(r->dc, 0, H * sizeof *r->dc);
        for (size_t t = T; t-- > 0;) {
            const double *in = l == 0 ? r->x + (t * B + b) * v->in : r->h + at(r, l - 1, t, b, H);
            const double *h_prev = t ? r->h + at(r, l, t - 1, b, H) : r->zeros;
            const double *c_prev = t ? r->cst + at(r, l, t - 1, b, H) : r->zeros;
            /* dLoss/dh_t: from above plus from the next step */
            for (size_t k = 0; k < H; k++)
                r->dh[k] = r->dh_above[at(r, l, t, b, H) + k] + dh_next[k];
            cell_backward(r, r->gate + at(r, l, t, b, GH), r->h + at(r, l, t, b, H),
                          r->cst + at(r, l, t, b, H), c_prev, h_prev, r->hn + at(r, l, t, b, H));
            /* The weights are shared by every step: their gradients add up over t. What
             * cell_backward left in dh (GRU) plus W_hh^T da_hid is dLoss/dh_{t-1}. */
            memcpy(dh_next, r->dh, H * sizeof *dh_next);
            affine_backward(grad + v->w_hh, grad + v->b_hh, dh_next, theta + v->w_hh, r->da_hid,
                            h_prev, GH, H);
            affine_backward(grad + v->w_ih, grad + v->b_ih,
                            l ? r->dh_above + at(r, l - 1, t, b, H) : NULL, theta + v->w_ih,
                            r->da_in, in, GH, v->in);
        }
    }
}

void tsf__ref_backward(tsf__ref *r, const double *theta, const double *dyhat, double *grad)
{
    const tsf_rnn_config *c = &r->c;
    const size_t T = c->lookback, L = c->horizon, F = c->n_future, H = c->hidden;
    const size_t B = r->B, top = c->n_layers - 1, OQ = c->n_outputs * c->n_quantiles;
    memset(r->dh_above, 0, c->n_layers * T * B * H * sizeof *r->dh_above);
    /* 1. The head: its weight gradients, and dLoss/dh_top(T-1), the only state it reads. */
    double *in = r->head_in, *dout = r->head_out, *din = r->head_din;
    for (size_t b = 0; b < B; b++) {
        memcpy(in, r->h + at(r, top, T - 1, b, H), H * sizeof *in);
        for (size_t j = 0; j < L; j++) {
            for (size_t f = 0; f < F; f++)
                in[H + j * F + f] = r->xf[(j * B + b) * F + f];
            memcpy(dout + j * OQ, dyhat + (j * B + b) * OQ, OQ * sizeof *dout);
        }
        memset(din, 0, r->n_head_in * sizeof *din);
        affine_backward(grad + r->head_w, grad + r->head_b, din, theta + r->head_w, dout, in,
                        L * OQ, r->n_head_in);
        memcpy(r->dh_above + at(r, top, T - 1, b, H), din, H * sizeof *din);
    }
    /* 2. The recurrent layers, top down, each back through time. */
    for (size_t l = c->n_layers; l-- > 0;)
        layer_backward(r, l, theta, grad);
}

/* ---- clipping ---------------------------------------------------------------------------- */

double tsf__ref_clip_norm(double *g, size_t P, double max_norm)
{
    /* One norm over every parameter of the network (not one per tensor)... */
    double sum = 0;
    for (size_t i = 0; i < P; i++)
        sum += g[i] * g[i];
    double norm = sqrt(sum);
    /* ...and one scale for all of them, so the step keeps its direction and only gets shorter.
     * A NaN or Inf norm means training diverged: nothing to clip, the caller stops. */
    if (isfinite(norm) && norm > max_norm) {
        double s = max_norm / norm;
        for (size_t i = 0; i < P; i++)
            g[i] *= s;
    }
    return norm;
}

/* ---- workspace --------------------------------------------------------------------------- */

int tsf__ref_alloc(tsf__ref **out, const tsf_rnn_config *c, size_t B, tsf_err *err)
{
    *out = NULL;
    if (c->bidirectional || c->head != TSF_HEAD_DIRECT || c->segment ||
        (c->bptt_steps > 0 && c->bptt_steps < c->lookback))
        TSF_FAIL(err, TSF_EINVAL,
                 "reference BPTT: only step-wise unidirectional networks with the direct head and "
                 "full BPTT");
    tsf__ref *r = calloc(1, sizeof *r);
    if (!r)
        TSF_FAIL(err, TSF_ENOMEM, "reference BPTT: out of memory");
    r->c = *c;
    r->B = B;
    r->G = c->cell == TSF_CELL_LSTM ? 4 : c->cell == TSF_CELL_GRU ? 3 : 1;
    const size_t H = c->hidden, GH = r->G * H, n = c->n_layers * c->lookback * B;
    r->layer = calloc(c->n_layers, sizeof *r->layer);
    size_t off = 0;
    for (size_t l = 0; r->layer && l < c->n_layers; l++) {
        layer_views *v = &r->layer[l];
        v->in = l ? H : c->n_inputs;
        v->w_ih = off, off += GH * v->in;
        v->w_hh = off, off += GH * H;
        v->b_ih = off, off += GH;
        v->b_hh = off, off += GH;
    }
    r->n_head_in = H + c->horizon * c->n_future;
    r->head_w = off, off += c->horizon * c->n_outputs * c->n_quantiles * r->n_head_in;
    r->head_b = off;
    r->h = calloc(n * H, sizeof *r->h);
    r->cst = calloc(n * H, sizeof *r->cst);
    r->gate = calloc(n * GH, sizeof *r->gate);
    r->hn = calloc(n * H, sizeof *r->hn);
    r->dh_above = calloc(n * H, sizeof *r->dh_above);
    r->a_in = calloc(GH, sizeof *r->a_in);
    r->a_hid = calloc(GH, sizeof *r->a_hid);
    r->da_in = calloc(GH, sizeof *r->da_in);
    r->da_hid = calloc(GH, sizeof *r->da_hid);
    r->dh = calloc(H, sizeof *r->dh);
    r->dc = calloc(H, sizeof *r->dc);
    r->dh_next = calloc(H, sizeof *r->dh_next);
    r->zeros = calloc(H, sizeof *r->zeros);
    r->head_in = calloc(r->n_head_in, sizeof *r->head_in);
    r->head_din = calloc(r->n_head_in, sizeof *r->head_din);
    r->head_out = calloc(c->horizon * c->n_outputs * c->n_quantiles, sizeof *r->head_out);
    if (!r->layer || !r->h || !r->cst || !r->gate || !r->hn || !r->dh_above || !r->a_in ||
        !r->a_hid || !r->da_in || !r->da_hid || !r->dh || !r->dc || !r->dh_next || !r->zeros ||
        !r->head_in || !r->head_din || !r->head_out) {
        tsf__ref_free(r);
        TSF_FAIL(err, TSF_ENOMEM, "reference BPTT: out of memory");
    }
    *out = r;
    return TSF_OK;
}

void tsf__ref_free(tsf__ref *r)
{
    if (!r)
        return;
    free(r->layer);
    free(r->h);
    free(r->cst);
    free(r->gate);
    free(r->hn);
    free(r->dh_above);
    free(r->a_in);
    free(r->a_hid);
    free(r->da_in);
    free(r->da_hid);
    free(r->dh);
    free(r->dc);
    free(r->dh_next);
    free(r->zeros);
    free(r->head_in);
    free(r->head_din);
    free(r->head_out);
    free(r);
}
