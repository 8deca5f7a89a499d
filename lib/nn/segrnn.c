/* Segment-wise recurrent networks (SegRNN, Lin et al. 2023), the network kind that
 * tsf_rnn_config.segment > 0 selects (see rnn.h): each channel's lookback is cut into segments
 * of W steps, each segment embedded by a linear map and a ReLU, and one cell runs over the
 * segments; the horizon is decoded segment by segment, in parallel from the encoder's final
 * state (PMF) or recurrently with each forecast segment fed back (RMF).
 *
 * Rows: the channels are independent samples sharing every weight, so a batch of B windows of
 * C channels runs as R = B*C rows, row r = b*C + c. Steps: the N = T/W lookback segments, then
 * (RMF) the M-1 decoder steps, S steps in all; caches are (S, R, .) so backward reads them.
 * The PMF decoder's M steps all start from the encoder's final state and are independent, so
 * they run as M blocks of R rows of one step each.
 *
 * Work: the embedding and the input projections of the lookback are one GEMM each over all
 * N*R rows; a step is one GEMM h_prev W_hh^T and the fused cell kernel of cells.c (PMF decoder:
 * the product is shared by all M blocks, and the input projection of [position | channel]
 * is computed once for the M*C distinct rows). Backward mirrors it; weight gradients are one
 * GEMM each over all steps. Products run through pmm-style row blocks on tsflow's threads.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "core.h"
#include "nn.h"

enum {
    T_EMB_W,
    T_EMB_B,
    T_W_IH,
    T_W_HH,
    T_B_IH,
    T_B_HH,
    T_POS,
    T_CHAN,
    T_HEAD_W,
    T_HEAD_B,
    T_REVIN_W,
    T_REVIN_B,
    N_T
};

/* RevIN's eps (Kim et al. 2022, as in their code): inside the standard deviation, and squared
 * next to the affine weight it divides by. */
#define REVIN_EPS 1e-5

struct tsf__seg {
    tsf_rnn_config cfg;
    size_t maxB, C, W, N, M, S, d, G, Q, WQ;
    int pmf, lstm, gru;
    size_t n_tensors;
    size_t off[N_T], rows[N_T], cols[N_T];
    char names[N_T][48];
    size_t n_params;
    tsf_real *params, *grads;
    /* caches, R = maxB * C rows per step */
    tsf_real *seg;      /* (S, R, W) segment inputs; RMF decoder steps: the fed-back forecast */
    tsf_real *emb;      /* (S, R, d) ReLU(seg W_e^T + b_e) */
    tsf_real *gates;    /* (S, R, G) pre-activations, replaced by the activations */
    tsf_real *h;        /* (S, R, d) */
    tsf_real *c, *tc;   /* LSTM (S, R, d) */
    tsf_real *hn;       /* GRU (S, R, d) */
    tsf_real *dg, *dgh; /* (S, R, G) input and hidden side (the same buffer but for GRU) */
    tsf_real *demb;     /* (S, R, d) */
    /* PMF decoder: M blocks of R rows */
    tsf_real *u;                                       /* (M*C, d) [pos_emb[m] | channel_emb[c]] */
    tsf_real *pu;                                      /* (M*C, G) u W_ih^T */
    tsf_real *dec_g, *dec_h, *dec_c, *dec_tc, *dec_hn; /* (M, R, G), (M, R, d) x 4 */
    tsf_real *dec_dg, *dec_dgh;                        /* (M, R, G) */
    tsf_real *dP, *du;                                 /* (M*C, G), (M*C, d) */
    tsf_real *sgh; /* (R, G) sum over blocks of the hidden-side gradient */
    /* head */
    tsf_real *hin, *mask; /* (M, R, d) head input (after dropout) and dropout scale */
    tsf_real *hout, *dY;  /* (M, R, W*Q) */
    tsf_real *dhin;       /* (R, d) */
    /* scratch */
    tsf_real *hh;      /* (R, G) h_prev W_hh^T */
    tsf_real *dh, *dc; /* (R, d) carried gradients */
    tsf_real *dcs;     /* (R, d) LSTM scratch */
    tsf_real *dseg;    /* (R, W) */
    tsf_real *mu, *sd; /* RevIN (R): each row's lookback mean and standard deviation */
    tsf_real *z;       /* RevIN (N, R, W): (x - mu) / sd */
    tsf_real *dz;      /* RevIN (N, R, W): dLoss/d(normalized input) */
    tsf_real *bsum;    /* (G) b_ih + b_hh */
    tsf_real *ones;    /* (max(S, M) * R) */
    tsf_real *zeros;   /* (R, G) */
    tsf_real *arena;
    size_t B_last;
    int dropping;
    size_t threads;
};

/* ---- products ------------------------------------------------------------------------ */

/* C (M, N) = beta C + op(A) op(B), row strides equal to the stored widths; see tsf__mm. */
static void prod(const tsf__seg *s, tsf_real *C, const tsf_real *A, int ta, const tsf_real *B,
                 int tb, size_t M, size_t N, size_t K, tsf_real beta)
{
    tsf__pmm(s->threads, C, N, A, ta ? M : K, ta, B, tb ? K : N, tb, M, N, K, beta);
}

static void relu_mask_mul(tsf_real *dx, const tsf_real *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(y[i] > 0))
            dx[i] = 0;
}

/* ---- setup --------------------------------------------------------------------------- */

static void add_tensor(tsf__seg *s, int k, const char *name, size_t rows, size_t cols, size_t *at)
{
    snprintf(s->names[k], sizeof s->names[k], "%s", name);
    s->off[k] = *at;
    s->rows[k] = rows;
    s->cols[k] = cols;
    *at += rows * cols;
}

static tsf_real *carve(tsf_real *base, size_t *at, size_t n)
{
    size_t align = 64 / sizeof(tsf_real);
    *at = (*at + align - 1) / align * align;
    tsf_real *p = base ? base + *at : NULL;
    *at += n;
    return p;
}

static size_t layout_work(tsf__seg *s, tsf_real *base)
{
    size_t at = 0, R = s->maxB * s->C, S = s->S, d = s->d, G = s->G, M = s->M, W = s->W;
    size_t MR = M * R, MC = M * s->C;
    s->params = carve(base, &at, s->n_params);
    s->grads = carve(base, &at, s->n_params);
    s->seg = carve(base, &at, S * R * W);
    s->emb = carve(base, &at, S * R * d);
    s->gates = carve(base, &at, S * R * G);
    s->h = carve(base, &at, S * R * d);
    s->c = s->lstm ? carve(base, &at, S * R * d) : NULL;
    s->tc = s->lstm ? carve(base, &at, S * R * d) : NULL;
    s->hn = s->gru ? carve(base, &at, S * R * d) : NULL;
    s->dg = carve(base, &at, S * R * G);
    s->dgh = s->gru ? carve(base, &at, S * R * G) : s->dg;
    s->demb = carve(base, &at, S * R * d);
    if (s->pmf) {
        s->u = carve(base, &at, MC * d);
        s->pu = carve(base, &at, MC * G);
        s->dec_g = carve(base, &at, MR * G);
        s->dec_h = carve(base, &at, MR * d);
        s->dec_c = s->lstm ? carve(base, &at, MR * d) : NULL;
        s->dec_tc = s->lstm ? carve(base, &at, MR * d) : NULL;
        s->dec_hn = s->gru ? carve(base, &at, MR * d) : NULL;
        s->dec_dg = carve(base, &at, MR * G);
        s->dec_dgh = s->gru ? carve(base, &at, MR * G) : s->dec_dg;
        s->dP = carve(base, &at, MC * G);
        s->du = carve(base, &at, MC * d);
        s->sgh = carve(base, &at, R * G);
    }
    s->hin = carve(base, &at, MR * d);
    s->mask = s->cfg.dropout > 0 ? carve(base, &at, MR * d) : NULL;
    s->hout = carve(base, &at, MR * s->WQ);
    s->dY = carve(base, &at, MR * s->WQ);
    s->dhin = carve(base, &at, R * d);
    s->hh = carve(base, &at, R * G);
    s->dh = carve(base, &at, R * d);
    s->dc = carve(base, &at, R * d);
    s->dcs = carve(base, &at, R * d);
    s->dseg = carve(base, &at, R * W);
    s->bsum = carve(base, &at, G);
    int revin = s->cfg.revin;
    s->mu = revin ? carve(base, &at, R) : NULL;
    s->sd = revin ? carve(base, &at, R) : NULL;
    s->z = revin ? carve(base, &at, s->N * R * W) : NULL;
    s->dz = revin ? carve(base, &at, s->N * R * W) : NULL;
    s->ones = carve(base, &at, (S > M ? S : M) * R);
    s->zeros = carve(base, &at, R * G);
    return at;
}

int tsf__seg_alloc(tsf__seg **out, const tsf_rnn_config *cfg, size_t max_batch, tsf_err *err)
{
    *out = NULL;
    tsf__seg *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    s->cfg = *cfg;
    s->maxB = max_batch;
    s->C = cfg->n_outputs;
    s->W = cfg->segment;
    s->N = cfg->lookback / s->W;
    s->M = cfg->horizon / s->W;
    s->pmf = cfg->head == TSF_HEAD_DIRECT;
    s->S = s->pmf ? s->N : s->N + s->M - 1;
    s->d = cfg->hidden;
    s->lstm = cfg->cell == TSF_CELL_LSTM;
    s->gru = cfg->cell == TSF_CELL_GRU;
    s->G = (s->lstm ? 4 : s->gru ? 3 : 1) * s->d;
    s->Q = cfg->n_quantiles;
    s->WQ = s->W * s->Q;
    static const char *prefix[] = {"rnn", "rnn", "lstm", "gru"};
    const char *pre = prefix[cfg->cell];
    char name[48];
    size_t at = 0, d = s->d;
    add_tensor(s, T_EMB_W, "embed.weight", d, s->W, &at);
    add_tensor(s, T_EMB_B, "embed.bias", d, 1, &at);
    snprintf(name, sizeof name, "%s.weight_ih_l0", pre);
    add_tensor(s, T_W_IH, name, s->G, d, &at);
    snprintf(name, sizeof name, "%s.weight_hh_l0", pre);
    add_tensor(s, T_W_HH, name, s->G, d, &at);
    snprintf(name, sizeof name, "%s.bias_ih_l0", pre);
    add_tensor(s, T_B_IH, name, s->G, 1, &at);
    snprintf(name, sizeof name, "%s.bias_hh_l0", pre);
    add_tensor(s, T_B_HH, name, s->G, 1, &at);
    add_tensor(s, T_POS, "pos_emb", s->pmf ? s->M : 0, d / 2, &at);
    add_tensor(s, T_CHAN, "channel_emb", s->pmf ? s->C : 0, d / 2, &at);
    add_tensor(s, T_HEAD_W, "head.weight", s->WQ, d, &at);
    add_tensor(s, T_HEAD_B, "head.bias", s->WQ, 1, &at);
    add_tensor(s, T_REVIN_W, "revin.weight", cfg->revin ? s->C : 0, 1, &at);
    add_tensor(s, T_REVIN_B, "revin.bias", cfg->revin ? s->C : 0, 1, &at);
    s->n_params = at;
    size_t n = layout_work(s, NULL);
    s->arena = aligned_alloc(64, (n * sizeof(tsf_real) + 63) / 64 * 64);
    if (!s->arena)
        goto nomem;
    memset(s->arena, 0, n * sizeof(tsf_real));
    layout_work(s, s->arena);
    size_t R = max_batch * s->C, n1 = (s->S > s->M ? s->S : s->M) * R;
    for (size_t i = 0; i < n1; i++)
        s->ones[i] = 1;
    *out = s;
    return TSF_OK;
nomem:
    tsf__seg_free(s);
    TSF_FAIL(err, TSF_ENOMEM,
             "out of memory allocating a segment %s network (hidden %zu, lookback %zu, segment "
             "%zu, %zu channels, batch %zu)",
             tsf_rnn_cell_name(cfg->cell), cfg->hidden, cfg->lookback, cfg->segment, cfg->n_outputs,
             max_batch);
}

void tsf__seg_free(tsf__seg *s)
{
    if (!s)
        return;
    free(s->arena);
    free(s);
}

size_t tsf__seg_n_params(const tsf__seg *s)
{
    return s->n_params;
}

tsf_real *tsf__seg_params(tsf__seg *s)
{
    return s->params;
}

tsf_real *tsf__seg_grads(tsf__seg *s)
{
    return s->grads;
}

/* Tensors with no elements (PMF's embeddings under RMF, RevIN's without it) are not listed. */
size_t tsf__seg_n_tensors(const tsf__seg *s)
{
    size_t n = 0;
    for (size_t k = 0; k < N_T; k++)
        n += s->rows[k] > 0;
    return n;
}

const char *tsf__seg_tensor(const tsf__seg *s, size_t k, size_t *offset, size_t *rows, size_t *cols)
{
    size_t i = 0;
    for (; i < N_T; i++)
        if (s->rows[i] > 0 && k-- == 0)
            break;
    if (i == N_T)
        return NULL;
    k = i;
    *offset = s->off[k];
    *rows = s->rows[k];
    *cols = s->cols[k];
    return s->names[k];
}

void tsf__seg_init_params(tsf__seg *s, gsl_rng *rng)
{
    for (size_t k = 0; k < N_T; k++) {
        size_t n = s->rows[k] * s->cols[k];
        tsf_real *p = s->params + s->off[k];
        if (k == T_REVIN_W || k == T_REVIN_B) { /* the identity */
            for (size_t i = 0; i < n; i++)
                p[i] = k == T_REVIN_W ? 1 : 0;
            continue;
        }
        if (k == T_POS || k == T_CHAN) { /* nn.Parameter(torch.randn(...)) */
            for (size_t i = 0; i < n; i++)
                p[i] = (tsf_real)gsl_ran_gaussian(rng, 1.0);
            continue;
        }
        double fan_in = k == T_EMB_W || k == T_EMB_B ? (double)s->W : (double)s->d;
        double bound = 1 / sqrt(fan_in);
        for (size_t i = 0; i < n; i++)
            p[i] = (tsf_real)(bound * (2 * gsl_rng_uniform(rng) - 1));
    }
    if (s->lstm) /* forget bias 1, as tsf_rnn_init_params and for the same reason */
        for (size_t j = 0; j < s->d; j++) {
            s->params[s->off[T_B_IH] + s->d + j] = 1;
            s->params[s->off[T_B_HH] + s->d + j] = 0;
        }
}

/* ---- forward ------------------------------------------------------------------------- */

/* One cell step over R rows: g holds the input projection (no bias); hh = h_prev W_hh^T, or
 * NULL for the first step (state zero). Writes h (and c, tc / hn). */
static void cell_forward(tsf__seg *s, size_t R, tsf_real *h, tsf_real *c, tsf_real *tc,
                         tsf_real *hn, tsf_real *g, const tsf_real *hh, const tsf_real *h_prev,
                         const tsf_real *c_prev)
{
    size_t d = s->d, G = s->G;
    const tsf_real *p = s->params;
    if (!s->gru && hh)
        for (size_t i = 0; i < R * G; i++)
            g[i] += hh[i];
    switch (s->cfg.cell) {
    case TSF_CELL_RNN_TANH:
    case TSF_CELL_RNN_RELU:
        tsf__rnn_cell_forward(h, d, g, s->bsum, R, d, s->cfg.cell == TSF_CELL_RNN_RELU);
        break;
    case TSF_CELL_LSTM:
        tsf__lstm_cell_forward(h, d, c, tc, g, c_prev ? c_prev : s->zeros, s->bsum, R, d);
        break;
    case TSF_CELL_GRU:
        tsf__gru_cell_forward(h, d, g, hn, hh ? hh : s->zeros, h_prev ? h_prev : s->zeros, d,
                              p + s->off[T_B_IH], p + s->off[T_B_HH], R, d);
        break;
    }
}

/* Embed and run steps [s0, s0 + n) over R rows from seg[s0 ..]. */
static void run_steps(tsf__seg *s, size_t s0, size_t n, size_t R)
{
    size_t d = s->d, G = s->G, W = s->W;
    const tsf_real *p = s->params;
    tsf_real *emb = s->emb + s0 * R * d;
    /* emb (nR, d) = ReLU(seg (nR, W) W_e^T + b_e) */
    for (size_t r = 0; r < n * R; r++)
        memcpy(emb + r * d, p + s->off[T_EMB_B], d * sizeof *emb);
    prod(s, emb, s->seg + s0 * R * W, 0, p + s->off[T_EMB_W], 1, n * R, d, W, 1);
    for (size_t i = 0; i < n * R * d; i++)
        emb[i] = emb[i] > 0 ? emb[i] : 0;
    /* gates (nR, G) = emb W_ih^T */
    prod(s, s->gates + s0 * R * G, emb, 0, p + s->off[T_W_IH], 1, n * R, G, d, 0);
    for (size_t t = s0; t < s0 + n; t++) {
        const tsf_real *h_prev = t ? s->h + (t - 1) * R * d : NULL;
        if (h_prev)
            prod(s, s->hh, h_prev, 0, p + s->off[T_W_HH], 1, R, G, d, 0);
        cell_forward(s, R, s->h + t * R * d, s->c ? s->c + t * R * d : NULL,
                     s->tc ? s->tc + t * R * d : NULL, s->hn ? s->hn + t * R * d : NULL,
                     s->gates + t * R * G, h_prev ? s->hh : NULL, h_prev,
                     h_prev && s->c ? s->c + (t - 1) * R * d : NULL);
    }
}

/* Head for output segment j from the state h_j (R, d): hin[j] = dropout(h_j), hout[j]. */
static void head_forward(tsf__seg *s, size_t j, size_t R, const tsf_real *hj, gsl_rng *rng)
{
    size_t d = s->d, WQ = s->WQ;
    tsf_real *in = s->hin + j * R * d, *out = s->hout + j * R * WQ;
    if (s->dropping) {
        tsf_real keep = (tsf_real)(1 / (1 - s->cfg.dropout)), *mk = s->mask + j * R * d;
        for (size_t i = 0; i < R * d; i++) {
            mk[i] = gsl_rng_uniform(rng) < s->cfg.dropout ? 0 : keep;
            in[i] = hj[i] * mk[i];
        }
    } else {
        memcpy(in, hj, R * d * sizeof *in);
    }
    for (size_t r = 0; r < R; r++)
        memcpy(out + r * WQ, s->params + s->off[T_HEAD_B], WQ * sizeof *out);
    prod(s, out, in, 0, s->params + s->off[T_HEAD_W], 1, R, WQ, d, 1);
}

/* RevIN on the lookback segments of every row r = b*C + c (statistics in double, not
 * differentiated, as RevIN detaches them):
 *     z = (x - mu) / sd,  sd = sqrt(var + eps) (biased variance),  seg = z gamma_c + beta_c */
static void revin_normalize(tsf__seg *s, size_t B)
{
    size_t C = s->C, N = s->N, W = s->W, R = B * C, T = N * W;
    const tsf_real *gamma = s->params + s->off[T_REVIN_W], *beta = s->params + s->off[T_REVIN_B];
    for (size_t r = 0; r < R; r++) {
        double sum = 0, ss = 0;
        for (size_t n = 0; n < N; n++)
            for (size_t w = 0; w < W; w++)
                sum += s->seg[(n * R + r) * W + w];
        double mu = sum / (double)T;
        for (size_t n = 0; n < N; n++)
            for (size_t w = 0; w < W; w++) {
                double e = s->seg[(n * R + r) * W + w] - mu;
                ss += e * e;
            }
        s->mu[r] = (tsf_real)mu;
        s->sd[r] = (tsf_real)sqrt(ss / (double)T + REVIN_EPS);
        size_t c = r % C;
        for (size_t n = 0; n < N; n++)
            for (size_t w = 0; w < W; w++) {
                size_t i = (n * R + r) * W + w;
                s->z[i] = (s->seg[i] - s->mu[r]) / s->sd[r];
                s->seg[i] = s->z[i] * gamma[c] + beta[c];
            }
    }
}

static void forward(tsf__seg *s, size_t B, const tsf_real *x, tsf_real *yhat, int training,
                    gsl_rng *rng)
{
    assert(B >= 1 && B <= s->maxB);
    size_t C = s->C, W = s->W, N = s->N, M = s->M, d = s->d, G = s->G, Q = s->Q, WQ = s->WQ;
    size_t R = B * C, OQ = C * Q;
    const tsf_real *p = s->params;
    s->B_last = B;
    s->dropping = training && s->cfg.dropout > 0;
    assert(!s->dropping || rng);
    if (!s->gru)
        for (size_t i = 0; i < G; i++)
            s->bsum[i] = p[s->off[T_B_IH] + i] + p[s->off[T_B_HH] + i];
    /* seg[n][b*C + c][w] = x[n*W + w][b][c] */
    for (size_t n = 0; n < N; n++)
        for (size_t w = 0; w < W; w++)
            for (size_t b = 0; b < B; b++)
                for (size_t c = 0; c < C; c++)
                    s->seg[(n * R + b * C + c) * W + w] = x[((n * W + w) * B + b) * C + c];
    if (s->cfg.revin)
        revin_normalize(s, B);
    run_steps(s, 0, N, R);
    const tsf_real *hN = s->h + (N - 1) * R * d;

    if (s->pmf) {
        /* u[m*C + c] = [pos_emb[m] | channel_emb[c]];  pu = u W_ih^T (M*C, G) */
        size_t h2 = d / 2;
        for (size_t m = 0; m < M; m++)
            for (size_t c = 0; c < C; c++) {
                memcpy(s->u + (m * C + c) * d, p + s->off[T_POS] + m * h2, h2 * sizeof *s->u);
                memcpy(s->u + (m * C + c) * d + h2, p + s->off[T_CHAN] + c * h2, h2 * sizeof *s->u);
            }
        prod(s, s->pu, s->u, 0, p + s->off[T_W_IH], 1, M * C, G, d, 0);
        prod(s, s->hh, hN, 0, p + s->off[T_W_HH], 1, R, G, d, 0); /* shared by every block */
        for (size_t m = 0; m < M; m++) {
            tsf_real *g = s->dec_g + m * R * G;
            for (size_t b = 0; b < B; b++)
                memcpy(g + b * C * G, s->pu + m * C * G, C * G * sizeof *g);
            cell_forward(s, R, s->dec_h + m * R * d, s->dec_c ? s->dec_c + m * R * d : NULL,
                         s->dec_tc ? s->dec_tc + m * R * d : NULL,
                         s->dec_hn ? s->dec_hn + m * R * d : NULL, g, s->hh, hN,
                         s->c ? s->c + (N - 1) * R * d : NULL);
            head_forward(s, m, R, s->dec_h + m * R * d, rng);
        }
    } else {
        /* RMF: y_0 from h_N, then each forecast segment (its middle quantile) embedded and fed
         * through one more step. */
        head_forward(s, 0, R, hN, rng);
        for (size_t j = 1; j < M; j++) {
            size_t t = N - 1 + j;
            const tsf_real *prev = s->hout + (j - 1) * R * WQ;
            for (size_t r = 0; r < R; r++)
                for (size_t w = 0; w < W; w++)
                    s->seg[(t * R + r) * W + w] = prev[r * WQ + w * Q + Q / 2];
            run_steps(s, t, 1, R);
            head_forward(s, j, R, s->h + t * R * d, rng);
        }
    }
    /* yhat[m*W + w][b][c*Q + q] = hout[m][b*C + c][w*Q + q], RevIN: (hout - beta_c) /
     * (gamma_c + eps^2) sd + mu */
    const tsf_real *gamma = s->cfg.revin ? p + s->off[T_REVIN_W] : NULL;
    const tsf_real *beta = s->cfg.revin ? p + s->off[T_REVIN_B] : NULL;
    for (size_t m = 0; m < M; m++)
        for (size_t b = 0; b < B; b++)
            for (size_t c = 0; c < C; c++) {
                size_t r = b * C + c;
                for (size_t w = 0; w < W; w++) {
                    tsf_real *dst = yhat + ((m * W + w) * B + b) * OQ + c * Q;
                    const tsf_real *src = s->hout + (m * R + r) * WQ + w * Q;
                    if (!gamma) {
                        memcpy(dst, src, Q * sizeof *yhat);
                        continue;
                    }
                    tsf_real k = s->sd[r] / (gamma[c] + (tsf_real)(REVIN_EPS * REVIN_EPS));
                    for (size_t q = 0; q < Q; q++)
                        dst[q] = (src[q] - beta[c]) * k + s->mu[r];
                }
            }
}

/* ---- backward ------------------------------------------------------------------------ */

/* Back through one cell step over R rows. dh (R, d): in dLoss/dh, out the direct part of
 * dLoss/dh_prev (GRU: dh z; others 0, left for the caller's beta-0 product to overwrite).
 * dc (R, d), LSTM: in dLoss/dc (0 when !dc_valid), out dLoss/dc_prev. */
static void cell_backward(tsf__seg *s, size_t R, tsf_real *dg, tsf_real *dgh, tsf_real *dh,
                          tsf_real *dc, int dc_valid, const tsf_real *g, const tsf_real *hn,
                          const tsf_real *h, const tsf_real *h_prev, const tsf_real *c_prev,
                          const tsf_real *tc)
{
    size_t d = s->d;
    switch (s->cfg.cell) {
    case TSF_CELL_RNN_TANH:
    case TSF_CELL_RNN_RELU:
        tsf__rnn_cell_backward(dg, dh, h, d, R, d, s->cfg.cell == TSF_CELL_RNN_RELU);
        break;
    case TSF_CELL_LSTM:
        tsf__lstm_cell_backward(dg, dc, dc_valid, dh, g, c_prev ? c_prev : s->zeros, tc, R, d);
        break;
    case TSF_CELL_GRU:
        tsf__gru_cell_backward(dg, dgh, dh, g, hn, h_prev ? h_prev : s->zeros, d, R, d);
        break;
    }
}

/* dY (M, R, W*Q): the loss gradient in the network's (RevIN-normalized) output space, and the
 * output side of RevIN's affine gradient. */
static void output_grad(tsf__seg *s, size_t B, const tsf_real *dyhat)
{
    size_t C = s->C, W = s->W, M = s->M, Q = s->Q, WQ = s->WQ, R = B * C, OQ = C * Q;
    const tsf_real *p = s->params;
    tsf_real *gr = s->grads;
    const tsf_real *gamma = s->cfg.revin ? p + s->off[T_REVIN_W] : NULL;
    const tsf_real *beta = s->cfg.revin ? p + s->off[T_REVIN_B] : NULL;
    for (size_t m = 0; m < M; m++)
        for (size_t b = 0; b < B; b++)
            for (size_t c = 0; c < C; c++) {
                size_t r = b * C + c;
                for (size_t w = 0; w < W; w++) {
                    tsf_real *dst = s->dY + (m * R + r) * WQ + w * Q;
                    const tsf_real *src = dyhat + ((m * W + w) * B + b) * OQ + c * Q;
                    if (!gamma) {
                        memcpy(dst, src, Q * sizeof *s->dY);
                        continue;
                    }
                    /* y = (yn - beta) k + mu, k = sd / (gamma + eps^2) */
                    tsf_real g = gamma[c] + (tsf_real)(REVIN_EPS * REVIN_EPS), k = s->sd[r] / g;
                    const tsf_real *yn = s->hout + (m * R + r) * WQ + w * Q;
                    for (size_t q = 0; q < Q; q++) {
                        dst[q] = src[q] * k;
                        gr[s->off[T_REVIN_B] + c] -= src[q] * k;
                        gr[s->off[T_REVIN_W] + c] -= src[q] * (yn[q] - beta[c]) * k / g;
                    }
                }
            }
}

/* The parallel decoder: every block's cell step back to h_N (and c_N), into dh and dc, the
 * head, W_hh, the biases and the position and channel embeddings. */
static void pmf_backward(tsf__seg *s, size_t B)
{
    size_t C = s->C, N = s->N, M = s->M, d = s->d, G = s->G, WQ = s->WQ, R = B * C;
    const tsf_real *p = s->params;
    tsf_real *gr = s->grads;
    const tsf_real *W_hh = p + s->off[T_W_HH], *W_ih = p + s->off[T_W_IH];
    const tsf_real *W_head = p + s->off[T_HEAD_W];
    /* dhin (M*R, d) = dY W_head, through the dropout mask */
    tsf_real *dhd = s->hin; /* hin is no longer needed after the head's weight gradient */
    prod(s, gr + s->off[T_HEAD_W], s->dY, 1, s->hin, 0, WQ, d, M * R, 1);
    tsf__colsum_add(gr + s->off[T_HEAD_B], s->dY, s->ones, M * R, WQ);
    prod(s, dhd, s->dY, 0, W_head, 0, M * R, d, WQ, 0);
    if (s->dropping)
        for (size_t i = 0; i < M * R * d; i++)
            dhd[i] *= s->mask[i];
    const tsf_real *hN = s->h + (N - 1) * R * d;
    const tsf_real *cN = s->c ? s->c + (N - 1) * R * d : NULL;
    memset(s->dh, 0, R * d * sizeof *s->dh);
    memset(s->dc, 0, R * d * sizeof *s->dc);
    memset(s->sgh, 0, R * G * sizeof *s->sgh);
    for (size_t m = 0; m < M; m++) {
        tsf_real *dhm = dhd + m * R * d, *dg = s->dec_dg + m * R * G, *dgh = s->dec_dgh + m * R * G;
        cell_backward(s, R, dg, dgh, dhm, s->dcs, 0, s->dec_g + m * R * G,
                      s->dec_hn ? s->dec_hn + m * R * d : NULL, s->dec_h + m * R * d, hN, cN,
                      s->dec_tc ? s->dec_tc + m * R * d : NULL);
        if (s->gru)
            for (size_t i = 0; i < R * d; i++)
                s->dh[i] += dhm[i];
        if (s->lstm)
            for (size_t i = 0; i < R * d; i++)
                s->dc[i] += s->dcs[i];
        for (size_t i = 0; i < R * G; i++)
            s->sgh[i] += dgh[i];
    }
    /* every block read h_N through W_hh: dh_N += sgh W_hh, dW_hh += sgh^T h_N */
    prod(s, s->dh, s->sgh, 0, W_hh, 0, R, d, G, 1);
    prod(s, gr + s->off[T_W_HH], s->sgh, 1, hN, 0, G, d, R, 1);
    tsf__colsum_add(gr + s->off[T_B_IH], s->dec_dg, s->ones, M * R, G);
    tsf__colsum_add(gr + s->off[T_B_HH], s->dec_dgh, s->ones, M * R, G);
    /* dP[m*C + c] = sum over b of the block's input-side gradient; dW_ih += dP^T u;
     * du = dP W_ih, split into the position and channel embeddings */
    memset(s->dP, 0, M * C * G * sizeof *s->dP);
    for (size_t m = 0; m < M; m++)
        for (size_t b = 0; b < B; b++) {
            const tsf_real *src = s->dec_dg + (m * R + b * C) * G;
            tsf_real *dst = s->dP + m * C * G;
            for (size_t i = 0; i < C * G; i++)
                dst[i] += src[i];
        }
    prod(s, gr + s->off[T_W_IH], s->dP, 1, s->u, 0, G, d, M * C, 1);
    prod(s, s->du, s->dP, 0, W_ih, 0, M * C, d, G, 0);
    size_t h2 = d / 2;
    for (size_t m = 0; m < M; m++)
        for (size_t c = 0; c < C; c++) {
            const tsf_real *du = s->du + (m * C + c) * d;
            tsf_real *dpos = gr + s->off[T_POS] + m * h2, *dch = gr + s->off[T_CHAN] + c * h2;
            for (size_t k = 0; k < h2; k++) {
                dpos[k] += du[k];
                dch[k] += du[h2 + k];
            }
        }
}

/* Back through the encoder's steps (and RMF's decoder steps), from dh (and dc) left by the
 * parallel decoder, if any. */
static void steps_backward(tsf__seg *s, size_t B, double *dh_norm)
{
    size_t C = s->C, W = s->W, N = s->N, S = s->S, d = s->d, G = s->G, Q = s->Q;
    size_t WQ = s->WQ, R = B * C;
    const tsf_real *p = s->params;
    const tsf_real *W_hh = p + s->off[T_W_HH], *W_ih = p + s->off[T_W_IH];
    const tsf_real *W_head = p + s->off[T_HEAD_W], *W_e = p + s->off[T_EMB_W];
    int have = s->pmf, have_c = s->pmf && s->lstm;
    /* Steps S-1 .. 0: RMF adds the head's gradient at the steps it reads (N-1 .. S-1) and
     * sends each decoder step's input gradient to the forecast segment fed back into it. */
    for (size_t t = S; t-- > 0;) {
        if (!s->pmf && t + 1 >= N) {
            size_t j = t + 1 - N;
            prod(s, s->dhin, s->dY + j * R * WQ, 0, W_head, 0, R, d, WQ, 0);
            const tsf_real *mk = s->dropping ? s->mask + j * R * d : NULL;
            for (size_t i = 0; i < R * d; i++) {
                tsf_real v = mk ? s->dhin[i] * mk[i] : s->dhin[i];
                s->dh[i] = have ? s->dh[i] + v : v;
            }
            have = 1;
        }
        if (dh_norm && t < N)
            dh_norm[t] += sqrt(tsf__sum_squares(s->dh, R * d));
        tsf_real *dg = s->dg + t * R * G, *dgh = s->dgh + t * R * G;
        cell_backward(s, R, dg, dgh, s->dh, s->dc, have_c, s->gates + t * R * G,
                      s->hn ? s->hn + t * R * d : NULL, s->h + t * R * d,
                      t ? s->h + (t - 1) * R * d : NULL, t && s->c ? s->c + (t - 1) * R * d : NULL,
                      s->tc ? s->tc + t * R * d : NULL);
        have_c = s->lstm;
        if (t > 0) /* dh_prev = (GRU: dh z +) dgh W_hh */
            prod(s, s->dh, dgh, 0, W_hh, 0, R, d, G, s->gru ? 1 : 0);
        if (t >= N) { /* RMF decoder step: into the fed-back forecast segment t - N */
            tsf_real *de = s->demb + t * R * d;
            prod(s, de, dg, 0, W_ih, 0, R, d, G, 0);
            relu_mask_mul(de, s->emb + t * R * d, R * d);
            prod(s, s->dseg, de, 0, W_e, 0, R, W, d, 0);
            tsf_real *dprev = s->dY + (t - N) * R * WQ;
            for (size_t r = 0; r < R; r++)
                for (size_t w = 0; w < W; w++)
                    dprev[r * WQ + w * Q + Q / 2] += s->dseg[r * W + w];
        }
    }
}

/* Weight gradients summed over all S steps (and RMF's head, whose dY is final only now). */
static void weights_backward(tsf__seg *s, size_t B)
{
    size_t C = s->C, W = s->W, N = s->N, M = s->M, S = s->S, d = s->d, G = s->G;
    size_t WQ = s->WQ, R = B * C;
    const tsf_real *p = s->params;
    tsf_real *gr = s->grads;
    const tsf_real *W_ih = p + s->off[T_W_IH], *W_e = p + s->off[T_EMB_W];
    if (!s->pmf) {
        prod(s, gr + s->off[T_HEAD_W], s->dY, 1, s->hin, 0, WQ, d, M * R, 1);
        tsf__colsum_add(gr + s->off[T_HEAD_B], s->dY, s->ones, M * R, WQ);
    }

    /* Weights over all S steps: W_ih, W_hh, the biases, and the embedding. */
    prod(s, gr + s->off[T_W_IH], s->dg, 1, s->emb, 0, G, d, S * R, 1);
    if (S > 1)
        prod(s, gr + s->off[T_W_HH], s->dgh + R * G, 1, s->h, 0, G, d, (S - 1) * R, 1);
    tsf__colsum_add(gr + s->off[T_B_IH], s->dg, s->ones, S * R, G);
    tsf__colsum_add(gr + s->off[T_B_HH], s->dgh, s->ones, S * R, G);
    prod(s, s->demb, s->dg, 0, W_ih, 0, S * R, d, G, 0);
    relu_mask_mul(s->demb, s->emb, S * R * d);
    prod(s, gr + s->off[T_EMB_W], s->demb, 1, s->seg, 0, d, W, S * R, 1);
    tsf__colsum_add(gr + s->off[T_EMB_B], s->demb, s->ones, S * R, d);
    if (s->cfg.revin) { /* seg = z gamma + beta on the lookback */
        prod(s, s->dz, s->demb, 0, W_e, 0, N * R, W, d, 0);
        for (size_t n = 0; n < N; n++)
            for (size_t r = 0; r < R; r++)
                for (size_t w = 0; w < W; w++) {
                    size_t i = (n * R + r) * W + w, c = r % C;
                    gr[s->off[T_REVIN_W] + c] += s->dz[i] * s->z[i];
                    gr[s->off[T_REVIN_B] + c] += s->dz[i];
                }
    }
}

static void backward(tsf__seg *s, size_t B, const tsf_real *dyhat, double *dh_norm)
{
    assert(B == s->B_last);
    output_grad(s, B, dyhat);
    if (s->pmf)
        pmf_backward(s, B);
    steps_backward(s, B, dh_norm);
    weights_backward(s, B);
}

void tsf__seg_forward(tsf__seg *s, size_t B, const tsf_real *x, tsf_real *yhat, int training,
                      gsl_rng *rng, size_t threads)
{
    s->threads = threads;
    forward(s, B, x, yhat, training, rng);
}

void tsf__seg_backward(tsf__seg *s, size_t B, const tsf_real *dyhat, double *dh_norm,
                       size_t threads)
{
    s->threads = threads;
    backward(s, B, dyhat, dh_norm);
}
