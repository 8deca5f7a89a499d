/* A plugin built against another stage ABI: the runner must refuse it, naming the file. */
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

static const tsf_stage_def stage = {
    .abi = TSF_STAGE_ABI_VERSION + 41,
    .name = "bad.abi",
    .summary = "from the future",
    .run = run,
};

TSF_PLUGIN_EXPORT const tsf_stage_def *const *tsflow_plugin_stages(unsigned *abi);
TSF_PLUGIN_EXPORT const tsf_stage_def *const *tsflow_plugin_stages(unsigned *abi)
{
    static const tsf_stage_def *const stages[] = {&stage, NULL};
    *abi = TSF_STAGE_ABI_VERSION + 41;
    return stages;
}
