/* model.load and model.save: models in HDF5 files (tsflow/rnn_model.h), so that a trained model
 * forecasts later without retraining. model.load also reads training checkpoints (train.rnn's
 * save option). Files of another format version are refused at check time, naming the version
 * this tsflow reads. */
#include <stddef.h>

#include "model_stages.h"
#include "tsflow/rnn_model.h"
#include "tsflow/stage.h"

/* ---- model.load -------------------------------------------------------------------------- */

typedef struct load_state {
    const char *path;
    size_t batch_size;
} load_state;

static const tsf_option load_options[] = {
    {.name = "path",
     .type = TSF_OPT_PATH_IN,
     .offset = offsetof(load_state, path),
     .flags = TSF_OPT_REQUIRED,
     .help = "a model file (model.save) or a training checkpoint (train.rnn's save)"},
    {.name = "batch_size",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(load_state, batch_size),
     .def = "0",
     .min = 0,
     .max = 1e6,
     .help = "largest batch predict may use (0: the batch size the model was trained with, so "
             "that its forecasts repeat bit for bit)"},
    TSF_OPTION_END,
};

static const tsf_port model_port[] = {
    {.name = "model", .types = TSF_TYPE_BIT(TSF_TYPE_MODEL), .help = "the model"},
    TSF_PORT_END,
};

static int load_check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in,
                      tsf_meta *const *out, tsf_err *err)
{
    (void)in;
    const load_state *s = state;
    tsf_rnn_model *m = NULL;
    tsf_network_info info;
    /* Reading the file is cheap (a model is small): it validates the format and fills the
     * shapes later steps check against. Load it for batches of 1 here; run loads it again. */
    int rc = tsf_rnn_model_load(&m, s->path, 1, &info, err);
    if (rc != TSF_OK) {
        ctx->host->blame(ctx, "path");
        return rc;
    }
    tsf_model *mv;
    if ((rc = tsfs_rnn_model_value(&mv, m, err)) == TSF_OK) {
        rc = tsfs_model_meta(ctx, out[0], mv);
        mv->destroy(mv);
    }
    if (rc == TSF_OK && info.has_train_state)
        rc = tsf_meta_set_note(ctx, out[0], "%s; checkpoint after %zu epochs", out[0]->note,
                               info.epochs_done);
    tsf_network_info_clear(&info);
    return rc;
}

static int load_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
                    tsf_err *err)
{
    (void)in;
    const load_state *s = state;
    tsf_rnn_model *m = NULL;
    tsf_network_info info;
    int rc = tsf_rnn_model_load(&m, s->path, s->batch_size, &info, err);
    if (rc != TSF_OK)
        return rc;
    char desc[256];
    tsf_stage_log(ctx, TSF_LOG_INFO, "%s: %s (written by tsflow %s%s)", m->name,
                  tsf_rnn_model_describe(m, desc, sizeof desc), info.tsflow_version,
                  info.has_train_state ? ", a training checkpoint" : "");
    tsf_network_info_clear(&info);
    tsf_model *mv;
    if ((rc = tsfs_rnn_model_value(&mv, m, err)) != TSF_OK)
        return rc;
    return tsf_value_set(ctx, out[0], mv, tsf_free_model);
}

const tsf_stage_def tsf_stage_model_load = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "model.load",
    .summary = "read a saved model (or a training checkpoint) to forecast without retraining",
    .help = "The file holds the network's weights and configuration, the loss, the window "
            "columns by name and the scaler, so predict can forecast a frame in its own units. "
            "A file of another format version is refused with the versions this tsflow reads.",
    .state_size = sizeof(load_state),
    .options = load_options,
    .outputs = model_port,
    .check = load_check,
    .run = load_run,
};

/* ---- model.save -------------------------------------------------------------------------- */

typedef struct save_state {
    const char *path;
} save_state;

static const tsf_option save_options[] = {
    {.name = "path",
     .type = TSF_OPT_PATH_OUT,
     .offset = offsetof(save_state, path),
     .flags = TSF_OPT_REQUIRED,
     .help = "the HDF5 model file to write (replaced atomically)"},
    TSF_OPTION_END,
};

static int save_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
                    tsf_err *err)
{
    (void)out;
    const save_state *s = state;
    const tsf_model *m = in[0]->ptr;
    if (!m->save)
        return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL,
                                  "model \"%s\" (%s) cannot be saved: its producer offers no file "
                                  "format",
                                  m->name, m->kind);
    int rc = m->save(m, s->path, err);
    if (rc == TSF_OK)
        tsf_stage_log(ctx, TSF_LOG_INFO, "wrote model \"%s\" to %s", m->name, s->path);
    return rc;
}

const tsf_stage_def tsf_stage_model_save = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "model.save",
    .summary = "write a model to an HDF5 file that model.load reads",
    .help = "Weights under PyTorch's names (torch.nn.LSTM/GRU/RNN and the head's nn.Linear), "
            "the configuration, the loss, the window columns and the scaler; no training state "
            "(train.rnn's save option writes a checkpoint that can also resume training).",
    .state_size = sizeof(save_state),
    .options = save_options,
    .inputs = model_port,
    .run = save_run,
};
