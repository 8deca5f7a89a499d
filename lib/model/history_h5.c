/* A training history (tsflow/train.h) into an HDF5 file being written (tsflow/h5out.h): per-epoch
 * and per-update pandas tables and the gradient-flow record as an (epoch, t) array with
 * coordinates. Layout in tsflow/rnn_model.h (tsf_train_history_write_h5). */
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
