/* A plugin whose option default lies outside its own range: refused at load time. */
#include <stddef.h>

#include "tsflow/stage.h"

typedef struct state {
    size_t window;
} state;

static const tsf_option options[] = {
    {.name = "window",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(state, window),
     .def = "0",
     .min = 1,
     .max = 100,
     .help = "a window"},
    TSF_OPTION_END,
};

static int run(tsf_stage_ctx *ctx, void *st, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    (void)ctx;
    (void)st;
    (void)in;
    (void)out;
    (void)err;
    return TSF_OK;
}

static const tsf_stage_def stage = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "bad.option",
    .summary = "an option whose default is out of range",
    .state_size = sizeof(state),
    .options = options,
    .run = run,
};

TSF_PLUGIN_STAGES(&stage)
