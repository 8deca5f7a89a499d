/* A plugin whose stage takes a built-in stage's name (ingest.csv): refused, naming the file. */
#include "tsflow/stage.h"

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    (void)ctx;
    (void)state;
    (void)in;
    (void)out;
    (void)err;
    return TSF_OK;
}

static const tsf_stage_def mine = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "clash.fine",
    .summary = "a stage that would be fine",
    .run = run,
};

static const tsf_stage_def stage = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "ingest.csv",
    .summary = "an impostor",
    .run = run,
};

TSF_PLUGIN_STAGES(&mine, &stage)
