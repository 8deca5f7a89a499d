/* Benchmark of tsflow's recurrent networks: training and inference samples per second over the
 * grid cells rnn/lstm/gru x hidden 32/64/128 x features 1/7 (lookback 96, horizon 24, batch 64,
 * Adam, gradient clipping by norm at 1.0), and OpenBLAS's sgemm peak on this machine.
 *
 * scripts/bench_rnn.sh runs this next to tests/bench/bench_rnn_torch.py (the same models, data
 * and batch in PyTorch) and prints the comparison. Output, one TSV row per configuration:
 *     cell hidden features train_sps infer_sps train_gflops
 * train_gflops counts the matrix products of one training step (forward and backward GEMMs,
 * see gemm_flops) times steps per second; a line "# sgemm_peak_gflops X" precedes the rows.
 * Every step is timed and a rate is B over the lower quartile of the step times (see
 * quartile()), as in the Python twin; each measurement runs for about --seconds.
 *
 * "features" is both the inputs per step and the outputs per horizon step (I = O, the
 * multivariate setting of the LTSF benchmarks: all 7 ETT columns in, all 7 out); no known
 * future inputs. Data: x[t][b][i] = sin(0.05 (t + 7b) + i), y[l][b][o] = cos(0.05 (l + 7b) + o),
 * as in the Python twin.
 *
 * Usage: bench_rnn [--seconds S] [--only CELL:HIDDEN:FEATURES] [--no-peak | --peak-only]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_rng.h>

#include "tsflow/optim.h"
#include "tsflow/rnn.h"
#include "tsflow/train.h"

enum { T = 96, L = 24, B = 64 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Floating-point operations of the GEMMs of one training step (forward + backward), 2 per
 * multiply-add, for a unidirectional stack with the direct head (what the bench runs). */
static double gemm_flops(const tsf_rnn_config *c)
{
    double H = (double)c->hidden, G = (c->cell == TSF_CELL_LSTM  ? 4
                                       : c->cell == TSF_CELL_GRU ? 3
                                                                 : 1) *
                                      H;
    double f = 0, steps = (double)c->lookback, b = B;
    for (size_t l = 0; l < c->n_layers; l++) {
        double in = l == 0 ? (double)c->n_inputs : H;
        f += 2 * steps * b * in * G;      /* forward input projection */
        f += 2 * (steps - 1) * b * H * G; /* forward h W_hh^T */
        f += 2 * (steps - 1) * b * G * H; /* backward dh = dg W_hh */
        f += 2 * steps * b * G * in;      /* dW_ih */
        f += 2 * (steps - 1) * b * G * H; /* dW_hh */
        if (l > 0)
            f += 2 * steps * b * G * in; /* dx to the layer below */
    }
    double ni = H + (double)(c->horizon * c->n_future), no = (double)(c->horizon * c->n_outputs);
    f += 3 * 2 * b * ni * no; /* head: forward, dW, dh */
    return f;
}

static double sgemm_peak(void)
{
    enum { N = 1024 };
    float *a = malloc(sizeof(float) * N * N), *b = malloc(sizeof(float) * N * N),
          *c = malloc(sizeof(float) * N * N);
    for (size_t i = 0; i < (size_t)N * N; i++) {
        a[i] = (float)sin((double)i);
        b[i] = (float)cos((double)i);
    }
    gsl_matrix_float_view A = gsl_matrix_float_view_array(a, N, N),
                          Bm = gsl_matrix_float_view_array(b, N, N),
                          C = gsl_matrix_float_view_array(c, N, N);
    double best = 0;
    for (int rep = 0; rep < 6; rep++) {
        double t0 = now();
        gsl_blas_sgemm(CblasNoTrans, CblasTrans, 1, &A.matrix, &Bm.matrix, 0, &C.matrix);
        double dt = now() - t0;
        if (rep > 0 && 2.0 * N * N * N / dt > best)
            best = 2.0 * N * N * N / dt;
    }
    free(a);
    free(b);
    free(c);
    return best / 1e9;
}

typedef struct run {
    tsf_rnn *m;
    size_t features;
    float *x, *y, *yhat; /* the batch: x (T, B, I), y (L, B, O) */
    double *times;       /* (max_times) step durations in seconds */
    size_t n_times, max_times;
    double last; /* when the previous batch ended */
} run;

/* The batch source tsf_train reads: the same 64 samples every epoch. */
static void gather(void *ctx, const size_t *idx, size_t n, float *x, float *xf, float *y)
{
    const run *r = ctx;
    size_t I = r->features;
    (void)xf;
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < n; k++)
            memcpy(x + (t * n + k) * I, r->x + (t * B + idx[k]) * I, I * sizeof *x);
    for (size_t l = 0; l < L && y; l++)
        for (size_t k = 0; k < n; k++)
            memcpy(y + (l * n + k) * I, r->y + (l * B + idx[k]) * I, I * sizeof *y);
}

/* tsf_train's progress callback: after every batch, the time since the previous one. */
static int on_batch(void *user, const tsf_train_progress *p)
{
    run *r = user;
    if (p->epoch_end)
        return 0;
    double t = now();
    if (r->last > 0 && r->n_times < r->max_times)
        r->times[r->n_times++] = t - r->last;
    r->last = t;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The lower quartile of the recorded step times. The machine is shared with other work: the
 * quartile estimates the undisturbed speed without resting on one lucky step. */
static double quartile(run *r)
{
    qsort(r->times, r->n_times, sizeof *r->times, cmp_double);
    return r->times[r->n_times / 4];
}

/* Training steps per second with the training loop (tsf_train: gather, forward, MSE,
 * backward with the gradient-flow record, clipping by norm at 1.0, Adam lr 1e-3, history),
 * one batch per epoch, for about `seconds`; every batch is timed. Returns -1 on error. */
static double train_rate(run *r, double seconds)
{
    tsf_batch_source src = {.n_samples = B,
                            .lookback = T,
                            .horizon = L,
                            .n_inputs = r->features,
                            .n_future = 0,
                            .n_outputs = r->features,
                            .gather = gather,
                            .ctx = r};
    tsf_train_config cfg;
    tsf_train_config_init(&cfg);
    cfg.batch_size = B;
    cfg.shuffle = 0;
    cfg.init_params = 0;
    cfg.clip.val = 1.0;
    cfg.clip.algorithm = TSF_CLIP_NORM;
    cfg.progress = on_batch;
    cfg.progress_user = r;
    tsf_train_history hist;
    tsf_err err = TSF_ERR_INIT;
    int rc = 0;
    /* a short run to size the timed one */
    cfg.epochs = 3;
    r->n_times = 0;
    r->last = 0;
    tsf_train_history_init(&hist);
    rc = tsf_train(r->m, &src, NULL, &cfg, &hist, &err);
    tsf_train_history_clear(&hist);
    if (rc == 0) {
        double step = quartile(r);
        cfg.epochs = (size_t)(seconds / step) + 4;
        if (cfg.epochs > r->max_times)
            cfg.epochs = r->max_times;
        r->n_times = 0;
        r->last = 0;
        tsf_train_history_init(&hist);
        rc = tsf_train(r->m, &src, NULL, &cfg, &hist, &err);
        tsf_train_history_clear(&hist);
    }
    if (rc) {
        fprintf(stderr, "bench_rnn: %s\n", err.msg);
        return -1;
    }
    return 1 / quartile(r);
}

/* Inference forwards per second (dropout off), every forward timed, as train_rate. */
static double infer_rate(run *r, double seconds)
{
    for (int i = 0; i < 2; i++)
        tsf_rnn_forward(r->m, B, r->x, NULL, r->yhat, 0, NULL);
    r->n_times = 0;
    double start = now();
    while ((now() - start < seconds || r->n_times < 8) && r->n_times < r->max_times) {
        double t0 = now();
        tsf_rnn_forward(r->m, B, r->x, NULL, r->yhat, 0, NULL);
        r->times[r->n_times++] = now() - t0;
    }
    return 1 / quartile(r);
}

static int bench_one(tsf_cell cell, size_t hidden, size_t features, double seconds)
{
    tsf_rnn_config c = {.cell = cell,
                        .n_inputs = features,
                        .hidden = hidden,
                        .n_layers = 1,
                        .lookback = T,
                        .horizon = L,
                        .n_outputs = features,
                        .n_quantiles = 1,
                        .head = TSF_HEAD_DIRECT};
    run r = {.features = features, .max_times = 100000};
    tsf_err err = TSF_ERR_INIT;
    if (tsf_rnn_alloc(&r.m, &c, B, &err)) {
        fprintf(stderr, "bench_rnn: %s\n", err.msg);
        return 1;
    }
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);
    tsf_rnn_init_params(r.m, rng);
    gsl_rng_free(rng);
    r.x = malloc(sizeof(float) * T * B * features);
    r.y = malloc(sizeof(float) * L * B * features);
    r.yhat = malloc(sizeof(float) * L * B * features);
    r.times = malloc(sizeof(double) * r.max_times);
    for (size_t t = 0; t < T; t++)
        for (size_t b = 0; b < B; b++)
            for (size_t i = 0; i < features; i++)
                r.x[(t * B + b) * features + i] =
                    (float)sin(0.05 * (double)(t + 7 * b) + (double)i);
    for (size_t l = 0; l < L; l++)
        for (size_t b = 0; b < B; b++)
            for (size_t o = 0; o < features; o++)
                r.y[(l * B + b) * features + o] =
                    (float)cos(0.05 * (double)(l + 7 * b) + (double)o);
    double train = train_rate(&r, seconds), infer = infer_rate(&r, seconds);
    if (train > 0)
        printf("%s\t%zu\t%zu\t%.1f\t%.1f\t%.2f\n",
               cell == TSF_CELL_RNN_TANH ? "rnn" : tsf_rnn_cell_name(cell), hidden, features,
               train * B, infer * B, train * gemm_flops(&c) / 1e9);
    fflush(stdout);
    free(r.x);
    free(r.y);
    free(r.yhat);
    free(r.times);
    tsf_rnn_free(r.m);
    return train > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    double seconds = 1.5;
    const char *only = NULL;
    int peak = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--no-peak") == 0)
            peak = 0;
        else if (strcmp(argv[i], "--peak-only") == 0)
            peak = 2;
        else {
            fprintf(stderr, "usage: bench_rnn [--seconds S] [--only CELL:HIDDEN:FEATURES] "
                            "[--no-peak | --peak-only]\n");
            return 2;
        }
    }
    tsf_init();
    if (peak)
        printf("# sgemm_peak_gflops %.1f\n", sgemm_peak());
    if (peak == 2)
        return 0;
    printf("cell\thidden\tfeatures\ttrain_sps\tinfer_sps\ttrain_gflops\n");
    static const struct {
        const char *name;
        tsf_cell cell;
    } cells[] = {{"rnn", TSF_CELL_RNN_TANH}, {"lstm", TSF_CELL_LSTM}, {"gru", TSF_CELL_GRU}};
    static const size_t hidden[] = {32, 64, 128}, features[] = {1, 7};
    for (size_t k = 0; k < 3; k++)
        for (size_t h = 0; h < 3; h++)
            for (size_t f = 0; f < 2; f++) {
                char key[64];
                snprintf(key, sizeof key, "%s:%zu:%zu", cells[k].name, hidden[h], features[f]);
                if (only && strcmp(only, key) != 0)
                    continue;
                if (bench_one(cells[k].cell, hidden[h], features[f], seconds))
                    return 1;
            }
    return 0;
}
