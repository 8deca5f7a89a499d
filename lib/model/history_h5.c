/* A training history (tsflow/train.h) into an HDF5 file being written (tsflow/h5out.h): per-epoch
 * and per-update pandas tables and the gradient-flow record as an (epoch, t) array with
 * coordinates. Layout in tsflow/rnn_model.h (tsf_train_history_write_h5). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tsflow/h5out.h"
#include "tsflow/rnn_model.h"

int tsf_train_history_write_h5(struct tsf_h5out *o, const char *group, const tsf_train_history *h,
                               tsf_err *err)
{
    const size_t E = h->n_epochs, S = h->n_steps, T = h->lookback;
    char key[512];
    int rc = TSF_OK;
    int64_t *epoch = malloc((E ? E : 1) * sizeof *epoch);
    int64_t *n_steps = malloc((E ? E : 1) * sizeof *n_steps);
    int64_t *n_clipped = malloc((E ? E : 1) * sizeof *n_clipped);
    double *cols = malloc((E ? E : 1) * 6 * sizeof *cols);
    int64_t *step = malloc((S ? S : 1) * sizeof *step);
    int64_t *clipped = malloc((S ? S : 1) * sizeof *clipped);
    int64_t *t_coord = malloc((T ? T : 1) * sizeof *t_coord);
    if (!epoch || !n_steps || !n_clipped || !cols || !step || !clipped || !t_coord) {
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t e = 0; e < E; e++) {
        const tsf_epoch_record *r = &h->epoch[e];
        epoch[e] = (int64_t)e + 1;
        n_steps[e] = (int64_t)r->n_steps;
        n_clipped[e] = (int64_t)r->n_clipped;
        cols[0 * E + e] = r->train_loss;
        cols[1 * E + e] = r->val_loss;
        cols[2 * E + e] = r->lr;
        cols[3 * E + e] = r->grad_norm_mean;
        cols[4 * E + e] = r->grad_norm_max;
        cols[5 * E + e] = r->seconds;
    }
    const tsf_h5_column ecols[] = {
        {"epoch", TSF_H5_INT64, epoch},
        {"train_loss", TSF_H5_FLOAT64, cols + 0 * E},
        {"val_loss", TSF_H5_FLOAT64, cols + 1 * E},
        {"lr", TSF_H5_FLOAT64, cols + 2 * E},
        {"grad_norm_mean", TSF_H5_FLOAT64, cols + 3 * E},
        {"grad_norm_max", TSF_H5_FLOAT64, cols + 4 * E},
        {"n_steps", TSF_H5_INT64, n_steps},
        {"n_clipped", TSF_H5_INT64, n_clipped},
        {"seconds", TSF_H5_FLOAT64, cols + 5 * E},
    };
    snprintf(key, sizeof key, "%s/epochs", group);
    if ((rc = tsf_h5out_pandas(o, key, E, ecols, sizeof ecols / sizeof *ecols, 1, err)))
        goto done;
    for (size_t k = 0; k < S; k++) {
        step[k] = (int64_t)k + 1;
        clipped[k] = h->step_clipped[k];
    }
    const tsf_h5_column scols[] = {
        {"step", TSF_H5_INT64, step},
        {"grad_norm", TSF_H5_FLOAT64, h->step_norm},
        {"clipped", TSF_H5_INT64, clipped},
    };
    snprintf(key, sizeof key, "%s/steps", group);
    if ((rc = tsf_h5out_pandas(o, key, S, scols, 3, 1, err)))
        goto done;
    for (size_t t = 0; t < T; t++)
        t_coord[t] = (int64_t)t;
    if (E > 0 && T > 0) {
        const tsf_h5_dim dims[] = {{"epoch", E, TSF_H5_INT64, epoch},
                                   {"t", T, TSF_H5_INT64, t_coord}};
        snprintf(key, sizeof key, "%s/grad_flow", group);
        if ((rc = tsf_h5out_array(o, key, dims, 2, h->grad_flow, err)) ||
            (rc = tsf_h5out_attr_string(o, key, "description",
                                        "mean over the epoch's updates of ||dLoss/dh_t||_F, the "
                                        "gradient reaching the last layer's state at lookback step "
                                        "t (0 = oldest input, lookback-1 = the last before the "
                                        "forecast); small values toward t = 0 show the gradient "
                                        "vanishing",
                                        err)))
            goto done;
    }
    if ((rc = tsf_h5out_attr_int(o, group, "best_epoch", (int64_t)h->best_epoch + 1, err)) ||
        (rc = tsf_h5out_attr_int(o, group, "stopped_early", h->stopped_early, err)) ||
        (rc = tsf_h5out_attr_int(o, group, "restored_best", h->restored_best, err)) ||
        (rc = tsf_h5out_attr_int(o, group, "lookback", (int64_t)T, err)) ||
        (h->note[0] && (rc = tsf_h5out_attr_string(o, group, "note", h->note, err))))
        goto done;
done:
    free(epoch);
    free(n_steps);
    free(n_clipped);
    free(cols);
    free(step);
    free(clipped);
    free(t_coord);
    return rc;
}

/* Rows of every table for the histories with epochs. */
typedef struct hist_sizes {
    size_t fits, epochs, steps, max_e, max_t;
} hist_sizes;

static hist_sizes hist_count(const tsf_train_history *h, size_t n)
{
    hist_sizes z = {0, 0, 0, 0, 0};
    for (size_t k = 0; k < n; k++) {
        if (!h[k].n_epochs)
            continue;
        z.fits++;
        z.epochs += h[k].n_epochs;
        z.steps += h[k].n_steps;
        z.max_e = h[k].n_epochs > z.max_e ? h[k].n_epochs : z.max_e;
        z.max_t = h[k].lookback > z.max_t ? h[k].lookback : z.max_t;
    }
    return z;
}

/* <group>/epochs indexed by (fold, epoch) and <group>/fits indexed by fold. */
static int write_epochs(struct tsf_h5out *o, const char *group, const tsf_train_history *h,
                        size_t n, int seconds_nan, hist_sizes z, tsf_err *err)
{
    size_t E = z.epochs, F = z.fits;
    int64_t *iv = malloc(((E ? E : 1) * 4 + (F ? F : 1) * 5) * sizeof *iv);
    double *x = malloc((E ? E : 1) * 6 * sizeof *x);
    if (!iv || !x) {
        free(iv);
        free(x);
        return tsf_err_set(err, TSF_ENOMEM, "out of memory");
    }
    int64_t *fold = iv, *epoch = iv + E, *n_steps = iv + 2 * E, *n_clipped = iv + 3 * E;
    int64_t *f_fold = iv + 4 * E, *f_ep = f_fold + F, *f_best = f_ep + F, *f_stop = f_best + F,
            *f_rest = f_stop + F;
    size_t r = 0, f = 0;
    for (size_t k = 0; k < n; k++) {
        if (!h[k].n_epochs)
            continue;
        for (size_t e = 0; e < h[k].n_epochs; e++, r++) {
            const tsf_epoch_record *er = &h[k].epoch[e];
            fold[r] = (int64_t)k;
            epoch[r] = (int64_t)e + 1;
            n_steps[r] = (int64_t)er->n_steps;
            n_clipped[r] = (int64_t)er->n_clipped;
            const double v[6] = {er->train_loss,     er->val_loss,      er->lr,
                                 er->grad_norm_mean, er->grad_norm_max, er->seconds};
            for (size_t c = 0; c < 6; c++)
                x[c * E + r] = v[c];
            if (seconds_nan)
                x[5 * E + r] = NAN;
        }
        f_fold[f] = (int64_t)k;
        f_ep[f] = (int64_t)h[k].n_epochs;
        f_best[f] = (int64_t)h[k].best_epoch + 1;
        f_stop[f] = h[k].stopped_early;
        f_rest[f++] = h[k].restored_best;
    }
    const tsf_h5_column ecols[] = {
        {"fold", TSF_H5_INT64, fold},
        {"epoch", TSF_H5_INT64, epoch},
        {"train_loss", TSF_H5_FLOAT64, x + 0 * E},
        {"val_loss", TSF_H5_FLOAT64, x + 1 * E},
        {"lr", TSF_H5_FLOAT64, x + 2 * E},
        {"grad_norm_mean", TSF_H5_FLOAT64, x + 3 * E},
        {"grad_norm_max", TSF_H5_FLOAT64, x + 4 * E},
        {"n_steps", TSF_H5_INT64, n_steps},
        {"n_clipped", TSF_H5_INT64, n_clipped},
        {"seconds", TSF_H5_FLOAT64, x + 5 * E},
    };
    const tsf_h5_column fcols[] = {
        {"fold", TSF_H5_INT64, f_fold},          {"n_epochs", TSF_H5_INT64, f_ep},
        {"best_epoch", TSF_H5_INT64, f_best},    {"stopped_early", TSF_H5_INT64, f_stop},
        {"restored_best", TSF_H5_INT64, f_rest},
    };
    char key[512];
    snprintf(key, sizeof key, "%s/epochs", group);
    int rc = tsf_h5out_pandas(o, key, E, ecols, sizeof ecols / sizeof *ecols, 2, err);
    snprintf(key, sizeof key, "%s/fits", group);
    if (rc == TSF_OK)
        rc = tsf_h5out_pandas(o, key, F, fcols, sizeof fcols / sizeof *fcols, 1, err);
    free(iv);
    free(x);
    return rc;
}

/* <group>/steps indexed by (fold, step) and <group>/grad_flow (fold, epoch, t). */
static int write_steps(struct tsf_h5out *o, const char *group, const tsf_train_history *h, size_t n,
                       hist_sizes z, tsf_err *err)
{
    size_t S = z.steps, F = z.fits, ME = z.max_e, MT = z.max_t;
    int64_t *iv = malloc(((S ? S : 1) * 3 + F + ME + MT + 1) * sizeof *iv);
    double *norm = malloc((S ? S : 1) * sizeof *norm);
    double *flow = malloc((F * ME * MT + 1) * sizeof *flow);
    int rc = TSF_OK;
    if (!iv || !norm || !flow) {
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
        goto done;
    }
    int64_t *fold = iv, *step = iv + S, *clipped = iv + 2 * S, *f_coord = iv + 3 * S,
            *e_coord = f_coord + F, *t_coord = e_coord + ME;
    size_t r = 0, f = 0;
    for (size_t k = 0; k < n; k++) {
        if (!h[k].n_epochs)
            continue;
        for (size_t s = 0; s < h[k].n_steps; s++, r++) {
            fold[r] = (int64_t)k;
            step[r] = (int64_t)s + 1;
            norm[r] = h[k].step_norm[s];
            clipped[r] = h[k].step_clipped[s];
        }
        for (size_t e = 0; e < ME; e++)
            for (size_t t = 0; t < MT; t++)
                flow[(f * ME + e) * MT + t] = e < h[k].n_epochs && t < h[k].lookback
                                                  ? h[k].grad_flow[e * h[k].lookback + t]
                                                  : NAN;
        f_coord[f++] = (int64_t)k;
    }
    for (size_t e = 0; e < ME; e++)
        e_coord[e] = (int64_t)e + 1;
    for (size_t t = 0; t < MT; t++)
        t_coord[t] = (int64_t)t;
    const tsf_h5_column scols[] = {{"fold", TSF_H5_INT64, fold},
                                   {"step", TSF_H5_INT64, step},
                                   {"grad_norm", TSF_H5_FLOAT64, norm},
                                   {"clipped", TSF_H5_INT64, clipped}};
    char key[512];
    snprintf(key, sizeof key, "%s/steps", group);
    rc = tsf_h5out_pandas(o, key, S, scols, 4, 2, err);
    if (rc == TSF_OK && ME > 0 && MT > 0) {
        const tsf_h5_dim dims[] = {{"fold", F, TSF_H5_INT64, f_coord},
                                   {"epoch", ME, TSF_H5_INT64, e_coord},
                                   {"t", MT, TSF_H5_INT64, t_coord}};
        snprintf(key, sizeof key, "%s/grad_flow", group);
        rc = tsf_h5out_array(o, key, dims, 3, flow, err);
    }
done:
    free(iv);
    free(norm);
    free(flow);
    return rc;
}

int tsf_train_histories_write_h5(struct tsf_h5out *o, const char *group, const tsf_train_history *h,
                                 size_t n, int seconds_nan, tsf_err *err)
{
    hist_sizes z = hist_count(h, n);
    if (z.fits == 0)
        return TSF_OK;
    int rc = write_epochs(o, group, h, n, seconds_nan, z, err);
    if (rc == TSF_OK)
        rc = write_steps(o, group, h, n, z, err);
    return rc;
}
