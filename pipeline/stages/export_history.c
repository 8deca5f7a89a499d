/* export.history: write training histories (train.rnn's history output) to one HDF5 file, one
 * group per history: per-epoch and per-update pandas tables and the gradient-flow array with
 * xarray coordinates (layout: tsf_train_history_write_h5 in tsflow/rnn_model.h). Several
 * histories side by side let a plot compare, e.g., a tanh RNN's vanishing gradient with an
 * LSTM's. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "model_stages.h"
#include "tsflow/h5out.h"
#include "tsflow/rnn_model.h"
#include "tsflow/stage.h"

int tsfs_write_history(tsf_h5out *o, const char *group, const tsf_train_history *h, tsf_err *err)
{
    int64_t sde;
    int rc = tsf_source_date_epoch(&sde, err);
    if (rc != TSF_OK || sde < 0)
        return rc == TSF_OK ? tsf_train_history_write_h5(o, group, h, err) : rc;
    /* Wall-clock durations differ from run to run: left out (NaN) so that the file repeats. */
    tsf_train_history copy = *h;
    copy.epoch = malloc((h->n_epochs ? h->n_epochs : 1) * sizeof *copy.epoch);
    if (!copy.epoch)
        return tsf_err_set(err, TSF_ENOMEM, "out of memory");
    for (size_t e = 0; e < h->n_epochs; e++) {
        copy.epoch[e] = h->epoch[e];
        copy.epoch[e].seconds = NAN;
    }
    rc = tsf_train_history_write_h5(o, group, &copy, err);
    free(copy.epoch);
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, group, "seconds",
                                   "NaN: SOURCE_DATE_EPOCH is set, and wall-clock times would "
                                   "make the file differ from run to run",
                                   err);
    return rc;
}

typedef struct export_history_state {
    const char *path;
    tsf_strings keys;
} export_history_state;

static const tsf_option options[] = {
    {.name = "path",
     .type = TSF_OPT_PATH_OUT,
     .offset = offsetof(export_history_state, path),
     .flags = TSF_OPT_REQUIRED,
     .help = "the HDF5 file to write (replaced atomically)"},
    {.name = "keys",
     .type = TSF_OPT_STRINGS,
     .offset = offsetof(export_history_state, keys),
     .help = "a group name per input history, in order (default: \"history\" for a single "
             "one); pandas.read_hdf(path, \"KEY/epochs\") opens its table"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "history",
     .types = TSF_TYPE_BIT(TSF_TYPE_HISTORY),
     .flags = TSF_PORT_MANY,
     .help = "one or more training histories"},
    TSF_PORT_END,
};

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    (void)in;
    (void)out;
    const export_history_state *s = state;
    size_t n = ctx->n_inputs;
    if (s->keys.n == 0 && n > 1)
        return tsf_stage_fail_key(ctx, err, "keys", TSF_EINVAL,
                                  "%zu histories need %zu group names (keys = A, B, ...)", n, n);
    if (s->keys.n && s->keys.n != n)
        return tsf_stage_fail_key(ctx, err, "keys", TSF_EINVAL,
                                  "%zu names for %zu histories (expected one per input)", s->keys.n,
                                  n);
    for (size_t i = 0; i < s->keys.n; i++) {
        const char *k = s->keys.v[i];
        if (!k[0] || strchr(k, '/'))
            return tsf_stage_fail_key(ctx, err, "keys", TSF_EINVAL,
                                      "\"%s\" is not a group name (expected a name without '/')",
                                      k);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(k, s->keys.v[j]))
                return tsf_stage_fail_key(ctx, err, "keys", TSF_EINVAL, "\"%s\" is named twice", k);
    }
    return TSF_OK;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    (void)out;
    const export_history_state *s = state;
    tsf_h5out *o = NULL;
    int rc = tsf_h5out_open(&o, s->path, err);
    if (rc != TSF_OK)
        return rc;
    for (size_t i = 0; i < ctx->n_inputs && rc == TSF_OK; i++) {
        const char *key = s->keys.n ? s->keys.v[i] : "history";
        rc = tsfs_write_history(o, key, in[i]->ptr, err);
    }
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, "/", "tsflow_version", ctx->info->version, err);
    if (rc == TSF_OK && ctx->info->pipeline_text)
        rc = tsf_h5out_attr_string(o, "/", "pipeline", ctx->info->pipeline_text, err);
    if (rc != TSF_OK || tsf_stage_cancelled(ctx)) {
        tsf_h5out_abort(o);
        return rc != TSF_OK ? rc : tsf_err_set(err, TSF_ECANCEL, "cancelled");
    }
    rc = tsf_h5out_commit(o, err);
    if (rc == TSF_OK)
        tsf_stage_log(ctx, TSF_LOG_INFO, "wrote %s (%zu histor%s)", s->path, ctx->n_inputs,
                      ctx->n_inputs == 1 ? "y" : "ies");
    return rc;
}

const tsf_stage_def tsf_stage_export_history = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "export.history",
    .summary = "write training histories (losses, gradient norms, gradient flow) to HDF5",
    .help = "Per history KEY: KEY/epochs (pandas: train_loss, val_loss, lr, grad_norm_mean, "
            "grad_norm_max, n_steps, n_clipped, seconds per epoch), KEY/steps (pandas: the "
            "pre-clip gradient norm and whether it was clipped, per update) and KEY/grad_flow "
            "(epoch x t: the mean norm of dLoss/dh_t per lookback step, t = 0 the oldest; xarray "
            "reads it with its coordinates).",
    .state_size = sizeof(export_history_state),
    .options = options,
    .inputs = inputs,
    .check = check,
    .run = run,
};
