/* Benchmark of tsflow's segment recurrent network (SegRNN) against its PyTorch twin
 * (tests/bench/bench_segrnn_torch.py): training and inference windows per second for the
 * ETT configuration of examples/ett: 7 channels, lookback 720 in 15 segments of 48, horizon 96,
 * GRU with hidden 128 (--hidden), parallel decoder, batch 64 windows (448 channel rows), MSE,
 * Adam, gradient clipping by norm at 1.0. Every step is timed and a rate is the batch over the
 * lower quartile of the step times (the machine is shared), as in the Python twin.
 * Output, TSV: hidden train_sps infer_sps.
 * Data: x[t][b][c] = sin(0.05 (t + 7b) + c), y[l][b][c] = cos(0.05 (l + 7b) + c).
 * Usage: bench_segrnn [--seconds S] [--hidden H] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_rng.h>

#include "tsflow/optim.h"
#include "tsflow/rnn.h"

enum { T = 720, L = 96, C = 7, W = 48, B = 64, MAX_STEPS = 100000 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The lower quartile of n step times. */
static double quartile(double *t, size_t n)
{
    qsort(t, n, sizeof *t, cmp);
    return t[n / 4];
}

int main(int argc, char **argv)
{
    double seconds = 3;
    size_t hidden = 128;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--hidden"))
            hidden = (size_t)atol(argv[i + 1]);
    }
    tsf_rnn_config c = {.cell = TSF_CELL_GRU,
                        .n_inputs = C,
                        .hidden = hidden,
                        .n_layers = 1,
                        .lookback = T,
                        .horizon = L,
                        .n_outputs = C,
                        .n_quantiles = 1,
                        .head = TSF_HEAD_DIRECT,
                        .segment = W};
    tsf_rnn *m = NULL;
    tsf_optim *opt = NULL;
    tsf_err err = TSF_ERR_INIT;
    tsf_optim_config oc;
    tsf_optim_config_init(&oc, TSF_OPTIM_ADAM);
    if (tsf_rnn_alloc(&m, &c, B, &err) || tsf_optim_alloc(&opt, &oc, tsf_rnn_n_params(m), &err)) {
        fprintf(stderr, "bench_segrnn: %s\n", err.msg);
        return 1;
    }
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    tsf_rnn_init_params(m, rng);
    float *x = malloc(sizeof(float) * T * B * C), *y = malloc(sizeof(float) * L * B * C),
          *yhat = malloc(sizeof(float) * L * B * C), *dy = malloc(sizeof(float) * L * B * C);
    double *times = malloc(sizeof(double) * MAX_STEPS);
    for (size_t t = 0; t < T; t++)
        for (size_t b = 0; b < B; b++)
            for (size_t k = 0; k < C; k++)
                x[(t * B + b) * C + k] = (float)sin(0.05 * (double)(t + 7 * b) + (double)k);
    for (size_t l = 0; l < L; l++)
        for (size_t b = 0; b < B; b++)
            for (size_t k = 0; k < C; k++)
                y[(l * B + b) * C + k] = (float)cos(0.05 * (double)(l + 7 * b) + (double)k);
    tsf_clip clip = {.val = 1.0, .algorithm = TSF_CLIP_NORM};
    size_t n = L * B * C, P = tsf_rnn_n_params(m);
    double rates[2];
    for (int mode = 0; mode < 2; mode++) { /* 0 training, 1 inference */
        size_t steps = 0;
        double end = now() + seconds;
        for (int warm = 0; warm < 2; warm++)
            tsf_rnn_forward(m, B, x, NULL, yhat, 0, NULL);
        while ((now() < end || steps < 5) && steps < MAX_STEPS) {
            double t0 = now();
            tsf_rnn_forward(m, B, x, NULL, yhat, mode == 0, rng);
            if (mode == 0) {
                for (size_t i = 0; i < n; i++)
                    dy[i] = 2 * (yhat[i] - y[i]) / (float)n;
                tsf_rnn_zero_grad(m);
                tsf_rnn_backward(m, B, dy, NULL);
                double scale = 1;
                tsf_clip_grads(&clip, tsf_rnn_grads(m), P, &scale, NULL);
                tsf_optim_step(opt, tsf_rnn_params(m), tsf_rnn_grads(m), oc.lr, scale);
            }
            times[steps++] = now() - t0;
        }
        rates[mode] = B / quartile(times, steps);
    }
    printf("hidden\ttrain_sps\tinfer_sps\n%zu\t%.1f\t%.1f\n", hidden, rates[0], rates[1]);
    free(x);
    free(y);
    free(yhat);
    free(dy);
    free(times);
    gsl_rng_free(rng);
    tsf_optim_free(opt);
    tsf_rnn_free(m);
    return 0;
}
