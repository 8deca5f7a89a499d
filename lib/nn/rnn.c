/* Recurrent forecasting networks (see rnn.h): the flat parameter vector and its named views,
 * the workspaces, and the forward and backward passes over a batch.
 *
 * Time runs over S steps: the T lookback steps, then (recursive head) L-1 decoder steps. For
 * each layer and direction the caches hold every step, batch-major inside a step:
 *     layer output h (S, B, D*H), gate activations (S, B, G), LSTM c and tanh(c), GRU hn.
 * Forward, per layer: one GEMM projects the inputs of all lookback steps (T*B x I_l times
 * I_l x G), then each step does one GEMM h_prev W_hh^T and one fused elementwise kernel.
 * Backward, per layer: each step does the elementwise kernel and one GEMM dgates W_hh for the
 * recurrence; the weight gradients and the gradient to the layer below are then one GEMM each
 * over all steps. The decoder steps of the recursive head depend on each other through the
 * fed-back forecast, so they run step by step through all layers in both passes.
 *
 * Threads: the samples of a batch are independent, so the per-step recurrence of the lookback
 * (forward and backward) runs as independent tasks, one per direction and chunk of batch rows,
 * each through all T steps with single-threaded BLAS; the GEMMs over all steps (input
 * projections, weight gradients) run between them on OpenBLAS's threads. At these sizes a
 * step's GEMM is too small for OpenBLAS to split well (two threads on one (64, 32) x (32, 32)
 * product are slower than one), while whole chunks need no synchronisation until the layer
 * ends. The chunks depend only on the batch size, never on the thread count, so the results
 * do not either.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "nn.h"

#define NO_CUT SIZE_MAX

/* Batch rows per recurrence task: at most about 32 (the per-step products of 32 rows run as
 * fast per row as larger ones, and a batch of 64 gives two threads a chunk each), at least 16
 * (so that the default batch of 32 still makes two chunks). See n_chunks(). */
enum { CHUNK_ROWS = 32, MIN_CHUNK_ROWS = 16 };

/* The recurrence tasks of a batch of B: D directions times chunks of about CHUNK_ROWS rows;
 * task k is direction k / chunks, rows [b0, b0 + nb) of chunk k % chunks. */
static size_t n_chunks(size_t B)
{
    size_t n = (B + CHUNK_ROWS - 1) / CHUNK_ROWS, two = B / MIN_CHUNK_ROWS >= 2 ? 2 : 1;
    return n > two ? n : two;
}

static void task_rows(size_t B, size_t k, size_t *d, size_t *b0, size_t *nb)
{
    size_t n = n_chunks(B), c = k % n;
    *d = k / n;
    *b0 = c * B / n;
    *nb = (c + 1) * B / n - *b0;
}

typedef struct tensor {
    char name[48];
    size_t offset, rows, cols;
} tensor;

typedef struct ldir {              /* one layer, one direction */
    size_t n_in;                   /* I_l */
    size_t w_ih, w_hh, b_ih, b_hh; /* offsets into params/grads */
    size_t cut;                    /* step whose incoming state is detached, or NO_CUT */
    tsf_real *gates;               /* (S, B, G) pre-activations (x W_ih^T, + h W_hh^T for
                                      RNN/LSTM), replaced by the activations */
    tsf_real *c, *tc;              /* LSTM (S, B, H): cell state and tanh(c) */
    tsf_real *hn;                  /* GRU (S, B, H): h_prev W_hn^T + b_hn */
    tsf_real *dg;                  /* (S, B, G) dLoss/d(input-side pre-activations) */
    tsf_real *dgh;                 /* (S, B, G) hidden side; == dg except for GRU */
    tsf_real *dh_rec;              /* (B, H) dLoss/dh carried to the previous step */
    tsf_real *dc_rec;              /* LSTM (B, H) dLoss/dc carried */
    int have_rec;                  /* dh_rec/dc_rec hold a carried gradient */
    tsf_real *snap_h, *snap_c;     /* (B, H) frozen states at the cut (tsf__rnn_freeze) */
    tsf_real *w_ihT, *w_hhT;       /* (n_in, G), (H, G): W_ih and W_hh transposed by each
                                      forward; OpenBLAS's per-step products run up to 2x faster
                                      from them (its small-matrix kernels, no transposed
                                      operand to pack, no buffer taken from its locked pool) */
} ldir;

typedef struct layer {
    tsf_real *out;   /* (S, B, D*H) h of every step, directions side by side */
    tsf_real *dout;  /* (S, B, D*H) dLoss/dout from outside the recurrence (the head or the
                        layer above); only the rows dout_live() names are written */
    tsf_real *mask;  /* (S, B, D*H) dropout scale 0 or 1/(1-p) (layers below the top) */
    tsf_real *drop;  /* (S, B, D*H) out * mask: the next layer's input when dropping */
    tsf_real *ddrop; /* (S, B, D*H) */
} layer;

struct tsf_rnn {
    tsf_rnn_config cfg;
    size_t max_batch;
    size_t T, L, I, F, H, O, Q, OQ, D, S, n_layers;
    size_t G;                     /* gate rows: H (RNN), 4H (LSTM), 3H (GRU) */
    size_t n_head_in, n_head_out; /* head.weight is (n_head_out, n_head_in) */
    size_t head_w, head_b;        /* offsets */
    size_t n_params;
    tsf_real *params, *grads;
    size_t n_tensors;
    tensor *tensors;
    ldir *ld; /* (n_layers * D) */
    layer *layers;
    tsf_real *x_all;    /* (S, B, I) layer-0 inputs: lookback x, then decoder inputs */
    tsf_real *bsum;     /* (n_layers * D, G) b_ih + b_hh for RNN/LSTM */
    tsf_real *hh;       /* (D, B, G) GRU: h_prev W_hh^T */
    tsf_real *head_in;  /* direct (B, n_head_in); recursive (L, B, n_head_in) */
    tsf_real *head_out; /* direct (B, n_head_out) */
    tsf_real *dhead;    /* direct (B, n_head_out); recursive (L, B, O*Q) */
    tsf_real *dhin;     /* (B, D*H) dLoss/d(final hidden state) from the head */
    tsf_real *dxdec;    /* (B, O) decoder: dLoss/d(fed-back forecast) */
    tsf_real *ones;     /* (S * B) for column sums with gemv */
    tsf_real *zeros;    /* (B, G) the state before the first step (and GRU's hh there) */
    tsf_real *arena;
    double *ss;      /* (T) sum of squares of dLoss/dh_t, for dh_norm */
    double *ss_part; /* (D * chunks, T) the same per recurrence task */
    size_t B_last;
    int dropping;   /* the last forward applied dropout */
    size_t threads; /* for the recurrence tasks of the pass running */
    int frozen;
    tsf__seg *seg; /* segment > 0: the segment-wise network, which owns params and grads */
};

/* ---- BLAS through GSL views ---------------------------------------------------------- */

/* C (M, N) = beta C + op(A) op(B) with op(A) (M, K), op(B) (K, N); ld* are row strides and
 * ta/tb say whether A is stored (K, M) / B stored (N, K). */
static void mm(tsf_real *C, size_t ldc, const tsf_real *A, size_t lda, int ta, const tsf_real *Bm,
               size_t ldb, int tb, size_t M, size_t N, size_t K, tsf_real beta)
{
    if (M == 0 || N == 0)
        return;
    tsf_matrix_view c = tsf_matrix_view_array_with_tda(C, M, N, ldc);
    if (K == 0) {
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++)
                C[i * ldc + j] *= beta;
        return;
    }
    tsf_matrix_const_view a = ta ? tsf_matrix_const_view_array_with_tda(A, K, M, lda)
                                 : tsf_matrix_const_view_array_with_tda(A, M, K, lda);
    tsf_matrix_const_view b = tb ? tsf_matrix_const_view_array_with_tda(Bm, N, K, ldb)
                                 : tsf_matrix_const_view_array_with_tda(Bm, K, N, ldb);
    int rc = tsf_blas_gemm(ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, 1,
                           &a.matrix, &b.matrix, beta, &c.matrix);
    assert(rc == 0);
    (void)rc;
}

typedef struct mm_job {
    tsf_real *C;
    const tsf_real *A, *Bm;
    size_t ldc, lda, ldb, M, N, K, parts;
    int ta, tb;
    tsf_real beta;
} mm_job;

/* Rows [k M / parts, (k + 1) M / parts) of C. */
static void mm_task(void *ctx, size_t k)
{
    const mm_job *j = ctx;
    size_t r0 = k * j->M / j->parts, r1 = (k + 1) * j->M / j->parts;
    mm(j->C + r0 * j->ldc, j->ldc, j->A + (j->ta ? r0 : r0 * j->lda), j->lda, j->ta, j->Bm, j->ldb,
       j->tb, r1 - r0, j->N, j->K, j->beta);
}

/* mm on up to `threads` threads for the products over all steps: row blocks of C, as many as
 * the size warrants (about 2^21 multiply-adds and 96 rows each at least, at most 16, a power of
 * two so that two or four threads share them evenly). Every block packs the whole of B again,
 * so blocks of a few dozen rows spent as long packing as multiplying (a weight gradient's B is
 * the activations of every step). The blocks depend only on the shape, so the results do not
 * depend on the thread count. */
static void pmm(size_t threads, tsf_real *C, size_t ldc, const tsf_real *A, size_t lda, int ta,
                const tsf_real *Bm, size_t ldb, int tb, size_t M, size_t N, size_t K, tsf_real beta)
{
    size_t parts = M * N * K >> 21;
    if (parts > M / 96)
        parts = M / 96;
    if (parts > 16)
        parts = 16;
    while (parts & (parts - 1))
        parts &= parts - 1; /* the largest power of two below */
    if (parts <= 1) {
        mm(C, ldc, A, lda, ta, Bm, ldb, tb, M, N, K, beta);
        return;
    }
    mm_job job = {.C = C,
                  .A = A,
                  .Bm = Bm,
                  .ldc = ldc,
                  .lda = lda,
                  .ldb = ldb,
                  .M = M,
                  .N = N,
                  .K = K,
                  .parts = parts,
                  .ta = ta,
                  .tb = tb,
                  .beta = beta};
    tsf__parallel(parts, threads, mm_task, &job);
}

/* dst (cols, rows) = src (rows, cols) transposed. */
static void transpose(tsf_real *dst, const tsf_real *src, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            dst[j * rows + i] = src[i * cols + j];
}

/* y (N) += column sums of A (M, N), contiguous. */
static void colsum_add(tsf_real *y, const tsf_real *A, const tsf_real *ones, size_t M, size_t N)
{
    if (M == 0 || N == 0)
        return;
    tsf_matrix_const_view a = tsf_matrix_const_view_array(A, M, N);
    tsf_vector_const_view o = tsf_vector_const_view_array(ones, M);
    tsf_vector_view yv = tsf_vector_view_array(y, N);
    int rc = tsf_blas_gemv(CblasTrans, 1, &a.matrix, &o.vector, 1, &yv.vector);
    assert(rc == 0);
    (void)rc;
}

/* ---- configuration ------------------------------------------------------------------- */

const char *tsf_rnn_cell_name(tsf_cell cell)
{
    switch (cell) {
    case TSF_CELL_RNN_TANH:
        return "rnn_tanh";
    case TSF_CELL_RNN_RELU:
        return "rnn_relu";
    case TSF_CELL_LSTM:
        return "lstm";
    case TSF_CELL_GRU:
        return "gru";
    }
    return "?";
}

int tsf_rnn_cell_parse(const char *name, tsf_cell *out, tsf_err *err)
{
    static const struct {
        const char *name;
        tsf_cell cell;
    } names[] = {{"rnn", TSF_CELL_RNN_TANH},
                 {"rnn_tanh", TSF_CELL_RNN_TANH},
                 {"rnn_relu", TSF_CELL_RNN_RELU},
                 {"lstm", TSF_CELL_LSTM},
                 {"gru", TSF_CELL_GRU}};
    for (size_t k = 0; name && k < sizeof names / sizeof names[0]; k++)
        if (strcmp(name, names[k].name) == 0) {
            *out = names[k].cell;
            return TSF_OK;
        }
    TSF_FAIL(err, TSF_EINVAL,
             "cell \"%s\" is not known (expected rnn, rnn_tanh, rnn_relu, lstm or gru)",
             name ? name : "(null)");
}

/* The segment-wise network reads each input column as a channel it forecasts. */
static int seg_config_check(const tsf_rnn_config *cfg, tsf_err *err)
{
    size_t W = cfg->segment;
    if (cfg->lookback % W)
        TSF_FAIL_FIELD(err, "segment", TSF_EINVAL, "segment %zu must divide the lookback %zu", W,
                       cfg->lookback);
    if (cfg->horizon % W)
        TSF_FAIL_FIELD(err, "segment", TSF_EINVAL, "segment %zu must divide the horizon %zu", W,
                       cfg->horizon);
    if (cfg->n_inputs != cfg->n_outputs || cfg->n_future)
        TSF_FAIL_FIELD(err, "segment", TSF_EINVAL,
                       "segments need every input to be a forecast channel (n_inputs == n_outputs, "
                       "no known future), got %zu inputs, %zu outputs, %zu known-future features",
                       cfg->n_inputs, cfg->n_outputs, cfg->n_future);
    if (cfg->n_layers != 1 || cfg->bidirectional)
        TSF_FAIL_FIELD(err, "segment", TSF_EINVAL,
                       "segments run one unidirectional layer, got %zu layers%s", cfg->n_layers,
                       cfg->bidirectional ? ", bidirectional" : "");
    if (cfg->revin != 0 && cfg->revin != 1)
        TSF_FAIL_FIELD(err, "revin", TSF_EINVAL, "revin must be 0 or 1, got %d", cfg->revin);
    if (cfg->bptt_steps)
        TSF_FAIL_FIELD(err, "bptt_steps", TSF_EINVAL,
                       "bptt_steps is not available with segments (got %zu)", cfg->bptt_steps);
    if (cfg->head == TSF_HEAD_DIRECT && cfg->hidden % 2)
        TSF_FAIL_FIELD(
            err, "hidden", TSF_EINVAL,
            "the parallel segment decoder needs an even hidden size (position and channel "
            "embeddings of hidden/2 each), got %zu",
            cfg->hidden);
    return TSF_OK;
}

int tsf_rnn_config_check(const tsf_rnn_config *cfg, tsf_err *err)
{
    if (!cfg)
        TSF_FAIL(err, TSF_EINVAL, "no network configuration given");
    if (cfg->cell != TSF_CELL_RNN_TANH && cfg->cell != TSF_CELL_RNN_RELU &&
        cfg->cell != TSF_CELL_LSTM && cfg->cell != TSF_CELL_GRU)
        TSF_FAIL_FIELD(err, "cell", TSF_EINVAL, "cell %d is not a tsf_cell value", (int)cfg->cell);
    if (cfg->n_inputs < 1)
        TSF_FAIL_FIELD(err, "n_inputs", TSF_EINVAL,
                       "n_inputs must be >= 1 (features per lookback step), got 0");
    if (cfg->hidden < 1)
        TSF_FAIL_FIELD(err, "hidden", TSF_EINVAL, "hidden must be >= 1, got 0");
    if (cfg->n_layers < 1)
        TSF_FAIL_FIELD(err, "n_layers", TSF_EINVAL, "n_layers must be >= 1, got 0");
    if (cfg->lookback < 1)
        TSF_FAIL_FIELD(err, "lookback", TSF_EINVAL, "lookback must be >= 1, got 0");
    if (cfg->horizon < 1)
        TSF_FAIL_FIELD(err, "horizon", TSF_EINVAL, "horizon must be >= 1, got 0");
    if (cfg->n_outputs < 1)
        TSF_FAIL_FIELD(err, "n_outputs", TSF_EINVAL, "n_outputs must be >= 1, got 0");
    if (cfg->n_quantiles < 1)
        TSF_FAIL_FIELD(err, "n_quantiles", TSF_EINVAL,
                       "n_quantiles must be >= 1 (1 = point forecast), got 0");
    if (cfg->bidirectional != 0 && cfg->bidirectional != 1)
        TSF_FAIL_FIELD(err, "bidirectional", TSF_EINVAL, "bidirectional must be 0 or 1, got %d",
                       cfg->bidirectional);
    if (!(cfg->dropout >= 0 && cfg->dropout < 1))
        TSF_FAIL_FIELD(err, "dropout", TSF_EINVAL, "dropout must be in [0, 1), got %g",
                       cfg->dropout);
    if (cfg->head != TSF_HEAD_DIRECT && cfg->head != TSF_HEAD_RECURSIVE)
        TSF_FAIL_FIELD(err, "head", TSF_EINVAL, "head %d is not a tsf_head value", (int)cfg->head);
    if (cfg->segment > 0)
        return seg_config_check(cfg, err);
    if (cfg->revin)
        TSF_FAIL_FIELD(err, "revin", TSF_EINVAL,
                       "revin needs a segment-wise network (segment > 0)");
    if (cfg->head == TSF_HEAD_RECURSIVE) {
        if (cfg->bidirectional)
            TSF_FAIL_FIELD(err, "head", TSF_EINVAL,
                           "the recursive head cannot follow a bidirectional encoder (the reverse "
                           "direction cannot run over the unknown future): use head = direct");
        if (cfg->n_inputs < cfg->n_outputs + cfg->n_future)
            TSF_FAIL_FIELD(err, "head", TSF_EINVAL,
                           "the recursive head needs n_inputs >= n_outputs + n_future (inputs lay "
                           "out targets, past covariates, known future), got %zu < %zu + %zu",
                           cfg->n_inputs, cfg->n_outputs, cfg->n_future);
    }
    return TSF_OK;
}

/* ---- allocation ---------------------------------------------------------------------- */

static void add_tensor(tsf_rnn *m, const char *name, size_t rows, size_t cols, size_t *at)
{
    if (m->tensors) {
        tensor *t = &m->tensors[m->n_tensors];
        snprintf(t->name, sizeof t->name, "%s", name);
        t->offset = *at;
        t->rows = rows;
        t->cols = cols;
    }
    m->n_tensors++;
    *at += rows * cols;
}

/* Lay out the parameter tensors (PyTorch's order: per layer, per direction, weight_ih,
 * weight_hh, bias_ih, bias_hh; then the head). First call with m->tensors NULL counts. */
static void layout_params(tsf_rnn *m)
{
    static const char *prefix[] = {"rnn", "rnn", "lstm", "gru"};
    const char *pre = prefix[m->cfg.cell];
    size_t at = 0;
    char name[48];
    m->n_tensors = 0;
    for (size_t l = 0; l < m->n_layers; l++)
        for (size_t d = 0; d < m->D; d++) {
            ldir *ld = &m->ld[l * m->D + d];
            const char *sfx = d ? "_reverse" : "";
            ld->n_in = l == 0 ? m->I : m->D * m->H;
            ld->w_ih = at;
            snprintf(name, sizeof name, "%s.weight_ih_l%zu%s", pre, l, sfx);
            add_tensor(m, name, m->G, ld->n_in, &at);
            ld->w_hh = at;
            snprintf(name, sizeof name, "%s.weight_hh_l%zu%s", pre, l, sfx);
            add_tensor(m, name, m->G, m->H, &at);
            ld->b_ih = at;
            snprintf(name, sizeof name, "%s.bias_ih_l%zu%s", pre, l, sfx);
            add_tensor(m, name, m->G, 1, &at);
            ld->b_hh = at;
            snprintf(name, sizeof name, "%s.bias_hh_l%zu%s", pre, l, sfx);
            add_tensor(m, name, m->G, 1, &at);
        }
    m->head_w = at;
    add_tensor(m, "head.weight", m->n_head_out, m->n_head_in, &at);
    m->head_b = at;
    add_tensor(m, "head.bias", m->n_head_out, 1, &at);
    m->n_params = at;
}

/* Carve n reals, 64-byte aligned, from the arena (base NULL: only count). */
static tsf_real *carve(tsf_real *base, size_t *at, size_t n)
{
    size_t align = 64 / sizeof(tsf_real);
    *at = (*at + align - 1) / align * align;
    tsf_real *p = base ? base + *at : NULL;
    *at += n;
    return p;
}

/* Assign every workspace from base (NULL: count); returns the reals needed. */
static size_t layout_work(tsf_rnn *m, tsf_real *base)
{
    size_t at = 0, B = m->max_batch, S = m->S, H = m->H, G = m->G, DH = m->D * m->H;
    int lstm = m->cfg.cell == TSF_CELL_LSTM, gru = m->cfg.cell == TSF_CELL_GRU;
    int trunc = m->cfg.bptt_steps > 0 && m->cfg.bptt_steps < m->T;
    m->params = carve(base, &at, m->n_params);
    m->grads = carve(base, &at, m->n_params);
    for (size_t k = 0; k < m->n_layers * m->D; k++) {
        ldir *ld = &m->ld[k];
        ld->gates = carve(base, &at, S * B * G);
        ld->dg = carve(base, &at, S * B * G);
        ld->dgh = gru ? carve(base, &at, S * B * G) : ld->dg;
        ld->c = lstm ? carve(base, &at, S * B * H) : NULL;
        ld->tc = lstm ? carve(base, &at, S * B * H) : NULL;
        ld->hn = gru ? carve(base, &at, S * B * H) : NULL;
        ld->w_ihT = carve(base, &at, ld->n_in * G);
        ld->w_hhT = carve(base, &at, H * G);
        ld->dh_rec = carve(base, &at, B * H);
        ld->dc_rec = lstm ? carve(base, &at, B * H) : NULL;
        ld->snap_h = trunc ? carve(base, &at, B * H) : NULL;
        ld->snap_c = trunc && lstm ? carve(base, &at, B * H) : NULL;
    }
    int dropout = m->cfg.dropout > 0;
    for (size_t l = 0; l < m->n_layers; l++) {
        layer *ly = &m->layers[l];
        int below_top = l + 1 < m->n_layers;
        ly->out = carve(base, &at, S * B * DH);
        ly->dout = carve(base, &at, S * B * DH);
        ly->mask = dropout && below_top ? carve(base, &at, S * B * DH) : NULL;
        ly->drop = dropout && below_top ? carve(base, &at, S * B * DH) : NULL;
        ly->ddrop = dropout && below_top ? carve(base, &at, S * B * DH) : NULL;
    }
    int rec = m->cfg.head == TSF_HEAD_RECURSIVE;
    m->x_all = carve(base, &at, S * B * m->I);
    m->bsum = carve(base, &at, m->n_layers * m->D * G);
    m->hh = carve(base, &at, m->D * B * G);
    m->head_in = carve(base, &at, (rec ? m->L : 1) * B * m->n_head_in);
    m->head_out = carve(base, &at, B * m->n_head_out);
    m->dhead = carve(base, &at, rec ? m->L * B * m->OQ : B * m->n_head_out);
    m->dhin = carve(base, &at, B * DH);
    m->dxdec = carve(base, &at, B * m->O);
    m->ones = carve(base, &at, S * B);
    m->zeros = carve(base, &at, B * G);
    return at;
}

/* The segment-wise network: m's parameters, gradients and tensor table are its. */
static int seg_alloc(tsf_rnn **out, tsf_rnn *m, tsf_err *err)
{
    int rc = tsf__seg_alloc(&m->seg, &m->cfg, m->max_batch, err);
    if (rc) {
        tsf_rnn_free(m);
        return rc;
    }
    m->n_params = tsf__seg_n_params(m->seg);
    m->params = tsf__seg_params(m->seg);
    m->grads = tsf__seg_grads(m->seg);
    m->n_tensors = tsf__seg_n_tensors(m->seg);
    m->tensors = calloc(m->n_tensors, sizeof *m->tensors);
    if (!m->tensors) {
        tsf_rnn_free(m);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory allocating a segment network's tensor table");
    }
    for (size_t k = 0; k < m->n_tensors; k++) {
        tensor *t = &m->tensors[k];
        snprintf(t->name, sizeof t->name, "%s",
                 tsf__seg_tensor(m->seg, k, &t->offset, &t->rows, &t->cols));
    }
    *out = m;
    return TSF_OK;
}

/* The dimensions tsf_rnn_alloc and tsf_rnn_bytes derive from cfg. */
static void set_dims(tsf_rnn *m, const tsf_rnn_config *cfg, size_t max_batch)
{
    m->cfg = *cfg;
    m->max_batch = max_batch;
    m->T = cfg->lookback;
    m->L = cfg->horizon;
    m->I = cfg->n_inputs;
    m->F = cfg->n_future;
    m->H = cfg->hidden;
    m->O = cfg->n_outputs;
    m->Q = cfg->n_quantiles;
    m->OQ = m->O * m->Q;
    m->D = cfg->bidirectional ? 2 : 1;
    m->G = (cfg->cell == TSF_CELL_LSTM ? 4 : cfg->cell == TSF_CELL_GRU ? 3 : 1) * m->H;
    m->n_layers = cfg->n_layers;
    if (cfg->head == TSF_HEAD_RECURSIVE) {
        m->S = m->T + m->L - 1;
        m->n_head_in = m->H + m->F;
        m->n_head_out = m->OQ;
    } else {
        m->S = m->T;
        m->n_head_in = m->D * m->H + m->L * m->F;
        m->n_head_out = m->L * m->OQ;
    }
}

double tsf_rnn_bytes(const tsf_rnn_config *cfg, size_t max_batch)
{
    if (cfg->segment > 0)
        return 0; /* a segment network sizes its own workspaces: not estimated here */
    tsf_rnn m;
    memset(&m, 0, sizeof m);
    set_dims(&m, cfg, max_batch);
    m.ld = calloc(m.n_layers * m.D + 1, sizeof *m.ld);
    m.layers = calloc(m.n_layers + 1, sizeof *m.layers);
    double reals = -1;
    if (m.ld && m.layers) {
        layout_params(&m);
        reals = (double)layout_work(&m, NULL);
    }
    free(m.ld);
    free(m.layers);
    return reals < 0 ? -1 : reals * (double)sizeof(tsf_real);
}

int tsf_rnn_alloc(tsf_rnn **out, const tsf_rnn_config *cfg, size_t max_batch, tsf_err *err)
{
    *out = NULL;
    int rc = tsf_rnn_config_check(cfg, err);
    if (rc)
        return rc;
    if (max_batch < 1)
        TSF_FAIL(err, TSF_EINVAL, "max_batch must be >= 1, got 0");
    tsf_rnn *m = calloc(1, sizeof *m);
    if (!m)
        goto nomem;
    set_dims(m, cfg, max_batch);
    if (cfg->segment > 0)
        return seg_alloc(out, m, err);
    m->ld = calloc(m->n_layers * m->D, sizeof *m->ld);
    m->layers = calloc(m->n_layers, sizeof *m->layers);
    m->ss = calloc(m->T, sizeof *m->ss);
    m->ss_part = calloc(m->D * n_chunks(max_batch) * m->T, sizeof(double));
    if (!m->ld || !m->layers || !m->ss || !m->ss_part)
        goto nomem;
    layout_params(m); /* count */
    m->tensors = calloc(m->n_tensors, sizeof *m->tensors);
    if (!m->tensors)
        goto nomem;
    layout_params(m);
    size_t n = layout_work(m, NULL);
    m->arena = aligned_alloc(64, (n * sizeof(tsf_real) + 63) / 64 * 64);
    if (!m->arena)
        goto nomem;
    memset(m->arena, 0, n * sizeof(tsf_real));
    layout_work(m, m->arena);
    for (size_t k = 0; k < m->S * max_batch; k++)
        m->ones[k] = 1;
    size_t k = cfg->bptt_steps;
    for (size_t d = 0; d < m->D; d++) {
        for (size_t l = 0; l < m->n_layers; l++)
            m->ld[l * m->D + d].cut = (k > 0 && k < m->T) ? (d == 0 ? m->T - k : k - 1) : NO_CUT;
    }
    *out = m;
    return TSF_OK;
nomem:
    tsf_rnn_free(m);
    TSF_FAIL(err, TSF_ENOMEM,
             "out of memory allocating a %s network (hidden %zu, %zu layers, lookback %zu, "
             "batch %zu)",
             tsf_rnn_cell_name(cfg->cell), cfg->hidden, cfg->n_layers, cfg->lookback, max_batch);
}

void tsf_rnn_free(tsf_rnn *m)
{
    if (!m)
        return;
    tsf__seg_free(m->seg);
    free(m->arena);
    free(m->tensors);
    free(m->ld);
    free(m->layers);
    free(m->ss);
    free(m->ss_part);
    free(m);
}

const tsf_rnn_config *tsf_rnn_config_of(const tsf_rnn *m)
{
    return &m->cfg;
}

size_t tsf_rnn_max_batch(const tsf_rnn *m)
{
    return m->max_batch;
}

size_t tsf_rnn_n_params(const tsf_rnn *m)
{
    return m->n_params;
}

tsf_real *tsf_rnn_params(tsf_rnn *m)
{
    return m->params;
}

tsf_real *tsf_rnn_grads(tsf_rnn *m)
{
    return m->grads;
}

size_t tsf_rnn_n_tensors(const tsf_rnn *m)
{
    return m->n_tensors;
}

const char *tsf_rnn_tensor(const tsf_rnn *m, size_t k, size_t *offset, size_t *rows, size_t *cols)
{
    if (k >= m->n_tensors)
        return NULL;
    const tensor *t = &m->tensors[k];
    if (offset)
        *offset = t->offset;
    if (rows)
        *rows = t->rows;
    if (cols)
        *cols = t->cols;
    return t->name;
}

size_t tsf_rnn_find_tensor(const tsf_rnn *m, const char *name)
{
    for (size_t k = 0; k < m->n_tensors; k++)
        if (strcmp(m->tensors[k].name, name) == 0)
            return k;
    return (size_t)-1;
}

void tsf_rnn_init_params(tsf_rnn *m, gsl_rng *rng)
{
    if (m->seg) {
        tsf__seg_init_params(m->seg, rng);
        return;
    }
    double a = 1 / sqrt((double)m->H);
    for (size_t k = 0; k < m->n_tensors; k++) {
        const tensor *t = &m->tensors[k];
        double bound = t->offset >= m->head_w ? 1 / sqrt((double)m->n_head_in) : a;
        for (size_t i = 0; i < t->rows * t->cols; i++)
            m->params[t->offset + i] = (tsf_real)(bound * (2 * gsl_rng_uniform(rng) - 1));
    }
    if (m->cfg.cell == TSF_CELL_LSTM)
        for (size_t k = 0; k < m->n_layers * m->D; k++) {
            const ldir *ld = &m->ld[k];
            for (size_t j = 0; j < m->H; j++) {
                m->params[ld->b_ih + m->H + j] = 1; /* forget rows f = [H, 2H) */
                m->params[ld->b_hh + m->H + j] = 0;
            }
        }
}

void tsf_rnn_zero_grad(tsf_rnn *m)
{
    memset(m->grads, 0, m->n_params * sizeof *m->grads);
}

/* ---- forward ------------------------------------------------------------------------- */

/* Input of layer l (S*B rows, stride n_in): x_all, or the layer below (after dropout). */
static const tsf_real *layer_input(const tsf_rnn *m, size_t l)
{
    if (l == 0)
        return m->x_all;
    const layer *below = &m->layers[l - 1];
    return m->dropping && below->drop ? below->drop : below->out;
}

/* Does step s of direction d have a previous state, and which step is it? */
static int prev_step(const tsf_rnn *m, size_t d, size_t s, size_t *sp)
{
    if (d == 0) {
        *sp = s - 1;
        return s > 0;
    }
    *sp = s + 1;
    return s + 1 < m->T;
}

/* One recurrent step of layer l, direction d, at step s, for rows [b0, b0 + nb) of a batch of
 * B: gates[s] already holds the input projection x_s W_ih^T. */
static void step_forward(tsf_rnn *m, size_t l, size_t d, size_t s, size_t B, size_t b0, size_t nb)
{
    ldir *ld = &m->ld[l * m->D + d];
    layer *ly = &m->layers[l];
    size_t H = m->H, G = m->G, DH = m->D * H, sp;
    const tsf_real *W_hhT = ld->w_hhT;                                /* (H, G) */
    tsf_real *g = ld->gates + (s * B + b0) * G;                       /* (nb, G) */
    tsf_real *h = ly->out + (s * B + b0) * DH + d * H;                /* (nb, H) stride DH */
    tsf_real *hh = m->hh + (d * B + b0) * G;                          /* (nb, G) GRU scratch */
    const tsf_real *h_prev = NULL, *c_prev = NULL, *zeros = m->zeros; /* zeros: (B, G) */
    size_t ldp = DH;
    if (prev_step(m, d, s, &sp)) {
        if (m->frozen && s == ld->cut) {
            h_prev = ld->snap_h + b0 * H;
            c_prev = ld->snap_c ? ld->snap_c + b0 * H : NULL;
            ldp = H;
        } else {
            h_prev = ly->out + (sp * B + b0) * DH + d * H;
            c_prev = ld->c ? ld->c + (sp * B + b0) * H : NULL;
        }
    }
    const tsf_real *bsum = m->bsum + (l * m->D + d) * G;
    switch (m->cfg.cell) {
    case TSF_CELL_RNN_TANH:
    case TSF_CELL_RNN_RELU:
        if (h_prev) /* g += h_prev W_hh^T */
            mm(g, G, h_prev, ldp, 0, W_hhT, G, 0, nb, G, H, 1);
        tsf__rnn_cell_forward(h, DH, g, bsum, nb, H, m->cfg.cell == TSF_CELL_RNN_RELU);
        break;
    case TSF_CELL_LSTM:
        if (h_prev)
            mm(g, G, h_prev, ldp, 0, W_hhT, G, 0, nb, G, H, 1);
        tsf__lstm_cell_forward(h, DH, ld->c + (s * B + b0) * H, ld->tc + (s * B + b0) * H, g,
                               c_prev ? c_prev : zeros, bsum, nb, H);
        break;
    case TSF_CELL_GRU:
        if (h_prev) /* hh = h_prev W_hh^T */
            mm(hh, G, h_prev, ldp, 0, W_hhT, G, 0, nb, G, H, 0);
        tsf__gru_cell_forward(h, DH, g, ld->hn + (s * B + b0) * H, h_prev ? hh : zeros,
                              h_prev ? h_prev : zeros, h_prev ? ldp : H, m->params + ld->b_ih,
                              m->params + ld->b_hh, nb, H);
        break;
    }
}

typedef struct rec_job {
    tsf_rnn *m;
    size_t l, B;
    size_t lo;       /* backward: the first step back-propagated */
    double *ss_part; /* backward: (tasks, T) sums of squares of dh, or NULL */
} rec_job;

/* Task k of layer l's forward recurrence: every lookback step of its direction and rows. */
static void forward_task(void *ctx, size_t k)
{
    const rec_job *j = ctx;
    tsf_rnn *m = j->m;
    size_t T = m->T, G = m->G, B = j->B, d, b0, nb;
    task_rows(B, k, &d, &b0, &nb);
    const ldir *ld = &m->ld[j->l * m->D + d];
    const tsf_real *in = layer_input(m, j->l); /* (T*B, n_in) */
    for (size_t i = 0; i < T; i++) {
        size_t s = d == 0 ? i : T - 1 - i;
        /* gates[s] = in[s] W_ih^T for these rows, right before the step reads them: one
         * product over all steps would be a separate pass over (T*B, G), and at small n_in
         * mostly OpenBLAS zeroing it for beta = 0 */
        mm(ld->gates + (s * B + b0) * G, G, in + (s * B + b0) * ld->n_in, ld->n_in, 0, ld->w_ihT, G,
           0, nb, G, ld->n_in, 0);
        step_forward(m, j->l, d, s, B, b0, nb);
    }
}

/* Dropout masks for n rows of layer l's output starting at step s, and the dropped copy. */
static void dropout_forward(tsf_rnn *m, size_t l, size_t s, size_t n_steps, size_t B, gsl_rng *rng)
{
    layer *ly = &m->layers[l];
    size_t n = n_steps * B * m->D * m->H, off = s * B * m->D * m->H;
    tsf_real keep = (tsf_real)(1 / (1 - m->cfg.dropout));
    for (size_t i = 0; i < n; i++) {
        ly->mask[off + i] = gsl_rng_uniform(rng) < m->cfg.dropout ? 0 : keep;
        ly->drop[off + i] = ly->out[off + i] * ly->mask[off + i];
    }
}

/* The head on the decoder/encoder state at step s for horizon step j (recursive head):
 * head_in[j] = [h_top(s) | xf[j]], yhat[j] = head_in[j] W^T + b. */
static void head_step_forward(tsf_rnn *m, size_t s, size_t j, size_t B, const tsf_real *xf,
                              tsf_real *yhat)
{
    size_t H = m->H, F = m->F, NI = m->n_head_in, OQ = m->OQ;
    const tsf_real *top = m->layers[m->n_layers - 1].out + s * B * H;
    tsf_real *in = m->head_in + j * B * NI; /* (B, H + F) */
    tsf_real *y = yhat + j * B * OQ;        /* (B, O*Q) */
    for (size_t b = 0; b < B; b++) {
        memcpy(in + b * NI, top + b * H, H * sizeof *in);
        if (F)
            memcpy(in + b * NI + H, xf + (j * B + b) * F, F * sizeof *in);
        memcpy(y + b * OQ, m->params + m->head_b, OQ * sizeof *y);
    }
    mm(y, OQ, in, NI, 0, m->params + m->head_w, NI, 1, B, OQ, NI, 1);
}

/* The direct head: head_in = [h_fwd(T-1) | h_rev(0) | xf flattened], all horizon steps. */
static void head_direct_forward(tsf_rnn *m, size_t B, const tsf_real *xf, tsf_real *yhat)
{
    size_t H = m->H, DH = m->D * H, F = m->F, L = m->L, T = m->T, NI = m->n_head_in,
           NO = m->n_head_out, OQ = m->OQ;
    const tsf_real *top = m->layers[m->n_layers - 1].out; /* (T, B, D*H) */
    for (size_t b = 0; b < B; b++) {
        tsf_real *in = m->head_in + b * NI;
        memcpy(in, top + ((T - 1) * B + b) * DH, H * sizeof *in);
        if (m->D == 2)
            memcpy(in + H, top + b * DH + H, H * sizeof *in);
        for (size_t j = 0; j < L && F; j++)
            memcpy(in + DH + j * F, xf + (j * B + b) * F, F * sizeof *in);
        memcpy(m->head_out + b * NO, m->params + m->head_b, NO * sizeof *in);
    }
    /* head_out (B, NO) += head_in (B, NI) W^T */
    pmm(m->threads, m->head_out, NO, m->head_in, NI, 0, m->params + m->head_w, NI, 1, B, NO, NI, 1);
    for (size_t j = 0; j < L; j++)
        for (size_t b = 0; b < B; b++)
            memcpy(yhat + (j * B + b) * OQ, m->head_out + b * NO + j * OQ, OQ * sizeof *yhat);
}

static void forward(tsf_rnn *m, size_t B, const tsf_real *x, const tsf_real *xf, tsf_real *yhat,
                    int training, gsl_rng *rng)
{
    assert(B >= 1 && B <= m->max_batch);
    assert(xf || m->F == 0);
    size_t T = m->T, L = m->L, I = m->I, G = m->G, D = m->D;
    m->B_last = B;
    m->dropping = training && m->cfg.dropout > 0;
    assert(!m->dropping || rng);
    memcpy(m->x_all, x, T * B * I * sizeof *x);
    for (size_t k = 0; k < m->n_layers * D; k++)
        for (size_t i = 0; i < G; i++) /* RNN/LSTM add both biases at once */
            m->bsum[k * G + i] = m->params[m->ld[k].b_ih + i] + m->params[m->ld[k].b_hh + i];
    for (size_t k = 0; k < m->n_layers * D; k++) {
        ldir *ld = &m->ld[k];
        transpose(ld->w_ihT, m->params + ld->w_ih, G, ld->n_in);
        transpose(ld->w_hhT, m->params + ld->w_hh, G, m->H);
    }

    /* Encoder: layer by layer over the lookback. */
    for (size_t l = 0; l < m->n_layers; l++) {
        rec_job job = {.m = m, .l = l, .B = B};
        tsf__parallel(D * n_chunks(B), m->threads, forward_task, &job);
        if (m->dropping && l + 1 < m->n_layers)
            dropout_forward(m, l, 0, T, B, rng);
    }
    if (m->cfg.head == TSF_HEAD_DIRECT) {
        head_direct_forward(m, B, xf, yhat);
        return;
    }

    /* Recursive head: yhat[0] from the encoder, then one decoder step per horizon step. */
    size_t O = m->O, Q = m->Q, OQ = m->OQ, F = m->F;
    head_step_forward(m, T - 1, 0, B, xf, yhat);
    for (size_t j = 1; j < L; j++) {
        size_t s = T - 1 + j;
        tsf_real *u = m->x_all + s * B * I; /* (B, I) */
        for (size_t b = 0; b < B; b++) {
            tsf_real *ub = u + b * I;
            for (size_t o = 0; o < O; o++) /* the fed-back forecast: middle quantile */
                ub[o] = yhat[((j - 1) * B + b) * OQ + o * Q + Q / 2];
            memcpy(ub + O, x + ((T - 1) * B + b) * I + O, (I - O - F) * sizeof *ub);
            if (F)
                memcpy(ub + I - F, xf + ((j - 1) * B + b) * F, F * sizeof *ub);
        }
        for (size_t l = 0; l < m->n_layers; l++) {
            ldir *ld = &m->ld[l];
            const tsf_real *in = layer_input(m, l) + s * B * ld->n_in;
            mm(ld->gates + s * B * G, G, in, ld->n_in, 0, m->params + ld->w_ih, ld->n_in, 1, B, G,
               ld->n_in, 0);
            step_forward(m, l, 0, s, B, 0, B);
            if (m->dropping && l + 1 < m->n_layers)
                dropout_forward(m, l, s, 1, B, rng);
        }
        head_step_forward(m, s, j, B, xf, yhat);
    }
}

/* ---- backward ------------------------------------------------------------------------ */

/* sum x_i^2 in double, in 8 interleaved partial sums (a fixed order, so the result is
 * reproducible, and the compiler can keep the 8 lanes in one vector register). */
static double sum_squares(const tsf_real *x, size_t n)
{
    double acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++)
            acc[k] += (double)x[i + k] * x[i + k];
    for (; i < n; i++)
        acc[i % 8] += (double)x[i] * x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* Does dout of layer l, direction d, hold a gradient at step s? Lower layers receive one at
 * every back-propagated step (input_backward writes them all); the top layer only where the
 * head reads it. Rows that are not live are never written, so nothing needs zeroing. */
static int dout_live(const tsf_rnn *m, size_t l, size_t d, size_t s)
{
    if (l + 1 < m->n_layers)
        return 1;
    if (m->cfg.head == TSF_HEAD_RECURSIVE)
        return s + 1 >= m->T;
    return d == 0 ? s + 1 == m->T : s == 0;
}

/* Back-propagate layer l, direction d, through step s for rows [b0, b0 + nb) of a batch of B:
 * dout[s] plus the carried gradient give dh = dLoss/dh_s; the kernel writes dg[s] (and dgh[s])
 * and the carry to the previous step. *have_rec says whether a carry is held (in and out).
 * ss: where to add sum(dh^2) over the rows (top layer, lookback steps), or NULL. */
static void step_backward(tsf_rnn *m, size_t l, size_t d, size_t s, size_t B, size_t b0, size_t nb,
                          int *have_rec, double *ss)
{
    ldir *ld = &m->ld[l * m->D + d];
    layer *ly = &m->layers[l];
    size_t H = m->H, G = m->G, DH = m->D * H, sp;
    int has_prev = prev_step(m, d, s, &sp);
    tsf_real *dh = ld->dh_rec + b0 * H; /* (nb, H): the carry in, dLoss/dh_s, the carry out */
    tsf_real *dg = ld->dg + (s * B + b0) * G, *dgh = ld->dgh + (s * B + b0) * G;
    const tsf_real *W_hh = m->params + ld->w_hh;               /* (G*H, H) */
    const tsf_real *h_s = ly->out + (s * B + b0) * DH + d * H; /* (nb, H) stride DH */
    const tsf_real *h_prev = has_prev ? ly->out + (sp * B + b0) * DH + d * H : m->zeros;

    // dh = dout[s] + carried
    if (dout_live(m, l, d, s)) {
        const tsf_real *dout = ly->dout + (s * B + b0) * DH + d * H; /* (nb, H) stride DH */
        for (size_t b = 0; b < nb; b++) {
            tsf_real *restrict hb = dh + b * H;
            const tsf_real *restrict ob = dout + b * DH;
            if (*have_rec)
                for (size_t j = 0; j < H; j++)
                    hb[j] += ob[j];
            else
                memcpy(hb, ob, H * sizeof *hb);
        }
    } else if (!*have_rec) {
        memset(dh, 0, nb * H * sizeof *dh);
    }
    if (ss)
        *ss += sum_squares(dh, nb * H);

    /* The carry goes on unless this is the first step or the truncation point. */
    int carry = has_prev && s != ld->cut;
    switch (m->cfg.cell) {
    case TSF_CELL_RNN_TANH:
    case TSF_CELL_RNN_RELU:
        tsf__rnn_cell_backward(dg, dh, h_s, DH, nb, H, m->cfg.cell == TSF_CELL_RNN_RELU);
        if (carry) /* dh_prev = da W_hh */
            mm(dh, H, dg, G, 0, W_hh, H, 0, nb, H, G, 0);
        break;
    case TSF_CELL_LSTM:
        tsf__lstm_cell_backward(
            dg, ld->dc_rec + b0 * H, *have_rec, dh, ld->gates + (s * B + b0) * G,
            has_prev ? ld->c + (sp * B + b0) * H : m->zeros, ld->tc + (s * B + b0) * H, nb, H);
        if (carry) /* dh_prev = dg W_hh; dc_prev was written by the kernel */
            mm(dh, H, dg, G, 0, W_hh, H, 0, nb, H, G, 0);
        break;
    case TSF_CELL_GRU:
        tsf__gru_cell_backward(dg, dgh, dh, ld->gates + (s * B + b0) * G, ld->hn + (s * B + b0) * H,
                               h_prev, has_prev ? DH : H, nb, H);
        if (carry) /* dh_prev = dh z + dgh W_hh */
            mm(dh, H, dgh, G, 0, W_hh, H, 0, nb, H, G, 1);
        break;
    }
    *have_rec = carry;
}

/* Task k of layer l's backward recurrence: lookback steps [lo, T) of its direction and rows,
 * from the carry the decoder left (all rows hold the same have_rec). */
static void backward_task(void *ctx, size_t k)
{
    const rec_job *j = ctx;
    tsf_rnn *m = j->m;
    size_t T = m->T, d, b0, nb;
    task_rows(j->B, k, &d, &b0, &nb);
    int have = m->ld[j->l * m->D + d].have_rec;
    for (size_t i = 0; i < T - j->lo; i++) {
        size_t s = d == 0 ? T - 1 - i : j->lo + i;
        step_backward(m, j->l, d, s, j->B, b0, nb, &have,
                      j->ss_part ? j->ss_part + k * T + s : NULL);
    }
}

/* dLoss/d(input of layer l) = dg W_ih over steps [s0, s0 + n) of both directions, written to
 * the layer below's dout (through the dropout mask when the forward dropped). l >= 1. Those
 * rows receive nothing else, so the first direction assigns (beta 0). */
static void input_backward(tsf_rnn *m, size_t l, size_t s0, size_t n, size_t B)
{
    layer *below = &m->layers[l - 1];
    size_t DH = m->D * m->H, G = m->G, rows = n * B, off = s0 * B * DH;
    int drop = m->dropping && below->mask;
    tsf_real *dst = drop ? below->ddrop : below->dout;
    for (size_t d = 0; d < m->D; d++) {
        const ldir *ld = &m->ld[l * m->D + d];
        /* dst (rows, DH) (+)= dg (rows, G) W_ih (G, DH) */
        pmm(m->threads, dst + off, DH, ld->dg + s0 * B * G, G, 0, m->params + ld->w_ih, ld->n_in, 0,
            rows, DH, G, d == 0 ? 0 : 1);
    }
    if (drop)
        for (size_t i = 0; i < rows * DH; i++)
            below->dout[off + i] = below->ddrop[off + i] * below->mask[off + i];
}

/* Weight and bias gradients of layer l over steps [lo, S) (all steps that were
 * back-propagated), one GEMM each. */
static void weight_backward(tsf_rnn *m, size_t l, size_t lo, size_t B)
{
    size_t H = m->H, G = m->G, DH = m->D * H, S = m->S;
    const layer *ly = &m->layers[l];
    const tsf_real *in = layer_input(m, l);
    for (size_t d = 0; d < m->D; d++) {
        const ldir *ld = &m->ld[l * m->D + d];
        size_t end = d == 0 ? S : m->T, rows = (end - lo) * B;
        tsf_real *dW_ih = m->grads + ld->w_ih, *dW_hh = m->grads + ld->w_hh;
        /* dW_ih (G, n_in) += dg^T (G, rows) in (rows, n_in) */
        pmm(m->threads, dW_ih, ld->n_in, ld->dg + lo * B * G, G, 1, in + lo * B * ld->n_in,
            ld->n_in, 0, G, ld->n_in, rows, 1);
        colsum_add(m->grads + ld->b_ih, ld->dg + lo * B * G, m->ones, rows, G);
        colsum_add(m->grads + ld->b_hh, ld->dgh + lo * B * G, m->ones, rows, G);
        /* dW_hh (G, H) += dgh[s]^T h[prev(s)] summed over steps with a previous state:
         * forward steps [max(lo, 1), end) read h[s-1]; reverse steps [lo, T-1) read h[s+1]. */
        size_t s0 = d == 0 ? (lo > 0 ? lo : 1) : lo, s1 = d == 0 ? end : m->T - 1;
        if (s1 > s0) {
            size_t p0 = d == 0 ? s0 - 1 : s0 + 1;
            pmm(m->threads, dW_hh, H, ld->dgh + s0 * B * G, G, 1, ly->out + p0 * B * DH + d * H, DH,
                0, G, H, (s1 - s0) * B, 1);
        }
    }
}

static void backward(tsf_rnn *m, size_t B, const tsf_real *dyhat, double *dh_norm)
{
    assert(B == m->B_last);
    size_t T = m->T, L = m->L, H = m->H, D = m->D, DH = D * H, OQ = m->OQ, top = m->n_layers - 1,
           NI = m->n_head_in;
    for (size_t k = 0; k < m->n_layers * D; k++)
        m->ld[k].have_rec = 0;
    memset(m->ss, 0, T * sizeof *m->ss);
    /* Unidirectional truncated BPTT never reaches steps before T-k: skip them. */
    size_t k = m->cfg.bptt_steps, lo = (D == 1 && k > 0 && k < T) ? T - k : 0;
    double *ss_top = dh_norm ? m->ss : NULL;
    const tsf_real *W_head = m->params + m->head_w; /* (n_head_out, n_head_in) */

    if (m->cfg.head == TSF_HEAD_DIRECT) {
        size_t NO = m->n_head_out;
        /* dhead (B, L*O*Q) from dyhat (L, B, O*Q) */
        for (size_t j = 0; j < L; j++)
            for (size_t b = 0; b < B; b++)
                memcpy(m->dhead + b * NO + j * OQ, dyhat + (j * B + b) * OQ, OQ * sizeof *dyhat);
        /* dW (NO, NI) += dhead^T head_in;  db += colsum(dhead) */
        pmm(m->threads, m->grads + m->head_w, NI, m->dhead, NO, 1, m->head_in, NI, 0, NO, NI, B, 1);
        colsum_add(m->grads + m->head_b, m->dhead, m->ones, B, NO);
        /* dhin (B, D*H) = dhead W[:, :D*H]: into h_fwd(T-1) and h_rev(0) */
        pmm(m->threads, m->dhin, DH, m->dhead, NO, 0, W_head, NI, 0, B, DH, NO, 0);
        tsf_real *dtop = m->layers[top].dout; /* the only gradient reaching the top layer */
        for (size_t b = 0; b < B; b++) {
            memcpy(dtop + ((T - 1) * B + b) * DH, m->dhin + b * DH, H * sizeof *dtop);
            if (D == 2)
                memcpy(dtop + b * DH + H, m->dhin + b * DH + H, H * sizeof *dtop);
        }
    } else {
        /* Recursive: decoder steps from the last, through all layers, feeding the gradient of
         * each fed-back forecast into the horizon step that made it. */
        size_t O = m->O, Q = m->Q;
        tsf_real *dY = m->dhead; /* (L, B, O*Q) */
        memcpy(dY, dyhat, L * B * OQ * sizeof *dY);
        for (size_t j = L; j-- > 0;) {
            size_t s = T - 1 + j;
            /* dh_top(s) = dY[j] W[:, :H] (the top layer's only gradient from outside) */
            mm(m->layers[top].dout + s * B * H, H, dY + j * B * OQ, OQ, 0, W_head, NI, 0, B, H, OQ,
               0);
            if (j == 0)
                break;
            for (size_t l = m->n_layers; l-- > 0;) {
                step_backward(m, l, 0, s, B, 0, B, &m->ld[l].have_rec, NULL);
                if (l > 0) {
                    input_backward(m, l, s, 1, B);
                    continue;
                }
                /* dxdec (B, O) = dg[s] W_ih[:, :O]: the fed-back forecast's gradient */
                const ldir *ld0 = &m->ld[0];
                mm(m->dxdec, O, ld0->dg + s * B * m->G, m->G, 0, m->params + ld0->w_ih, m->I, 0, B,
                   O, m->G, 0);
                for (size_t b = 0; b < B; b++)
                    for (size_t o = 0; o < O; o++)
                        dY[((j - 1) * B + b) * OQ + o * Q + Q / 2] += m->dxdec[b * O + o];
            }
        }
        /* head.weight (OQ, H+F) += dY^T head_in over all L*B rows; head.bias += colsum(dY) */
        pmm(m->threads, m->grads + m->head_w, NI, dY, OQ, 1, m->head_in, NI, 0, OQ, NI, L * B, 1);
        colsum_add(m->grads + m->head_b, dY, m->ones, L * B, OQ);
    }

    /* Encoder: layer by layer, top down, over lookback steps [lo, T). The top layer's sums
     * of squares are added up over the tasks in a fixed order. */
    size_t n_tasks = D * n_chunks(B);
    for (size_t l = m->n_layers; l-- > 0;) {
        rec_job job = {.m = m, .l = l, .B = B, .lo = lo};
        if (l == top && ss_top) {
            job.ss_part = m->ss_part;
            memset(m->ss_part, 0, n_tasks * T * sizeof *m->ss_part);
        }
        tsf__parallel(n_tasks, m->threads, backward_task, &job);
        for (size_t d = 0; d < D; d++)
            m->ld[l * D + d].have_rec = 0; /* the first step carries nothing further */
        for (size_t task = 0; job.ss_part && task < n_tasks; task++)
            for (size_t t = lo; t < T; t++)
                ss_top[t] += job.ss_part[task * T + t];
        if (l > 0)
            input_backward(m, l, lo, T - lo, B);
        weight_backward(m, l, lo, B);
    }
    if (dh_norm)
        for (size_t t = 0; t < T; t++)
            dh_norm[t] += sqrt(m->ss[t]);
}

/* OpenBLAS stays serial for the whole pass: its idle threads spin for a while after each
 * multithreaded call, and would take the cores from the recurrence tasks. */
void tsf_rnn_forward(tsf_rnn *m, size_t B, const tsf_real *x, const tsf_real *xf, tsf_real *yhat,
                     int training, gsl_rng *rng)
{
    m->threads = tsf__threads();
    tsf__blas_serial_begin();
    if (m->seg)
        tsf__seg_forward(m->seg, B, x, yhat, training, rng, m->threads);
    else
        forward(m, B, x, xf, yhat, training, rng);
    tsf__blas_serial_end();
}

void tsf_rnn_backward(tsf_rnn *m, size_t B, const tsf_real *dyhat, double *dh_norm)
{
    m->threads = tsf__threads();
    tsf__blas_serial_begin();
    if (m->seg)
        tsf__seg_backward(m->seg, B, dyhat, dh_norm, m->threads);
    else
        backward(m, B, dyhat, dh_norm);
    tsf__blas_serial_end();
}

void tsf__rnn_freeze(tsf_rnn *m, int on)
{
    assert(!m->seg);
    size_t B = m->B_last, H = m->H, DH = m->D * H;
    m->frozen = 0;
    if (!on)
        return;
    for (size_t l = 0; l < m->n_layers; l++)
        for (size_t d = 0; d < m->D; d++) {
            ldir *ld = &m->ld[l * m->D + d];
            size_t sp;
            assert(ld->cut != NO_CUT && ld->snap_h);
            if (!prev_step(m, d, ld->cut, &sp))
                continue;
            for (size_t b = 0; b < B; b++)
                memcpy(ld->snap_h + b * H, m->layers[l].out + (sp * B + b) * DH + d * H,
                       H * sizeof(tsf_real));
            if (ld->snap_c)
                memcpy(ld->snap_c, ld->c + sp * B * H, B * H * sizeof(tsf_real));
        }
    m->frozen = 1;
}

void tsf__mm(tsf_real *C, size_t ldc, const tsf_real *A, size_t lda, int ta, const tsf_real *B,
             size_t ldb, int tb, size_t M, size_t N, size_t K, tsf_real beta)
{
    mm(C, ldc, A, lda, ta, B, ldb, tb, M, N, K, beta);
}

void tsf__pmm(size_t threads, tsf_real *C, size_t ldc, const tsf_real *A, size_t lda, int ta,
              const tsf_real *B, size_t ldb, int tb, size_t M, size_t N, size_t K, tsf_real beta)
{
    pmm(threads, C, ldc, A, lda, ta, B, ldb, tb, M, N, K, beta);
}

void tsf__colsum_add(tsf_real *y, const tsf_real *A, const tsf_real *ones, size_t M, size_t N)
{
    colsum_add(y, A, ones, M, N);
}

double tsf__sum_squares(const tsf_real *x, size_t n)
{
    return sum_squares(x, n);
}
