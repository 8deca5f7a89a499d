/* What the ingest stages share: checking their `tz` option before anything runs. */
#ifndef TSFLOW_STAGES_INGEST_H
#define TSFLOW_STAGES_INGEST_H

#include "tsflow/stage.h"
#include "tsflow/tz.h"

/* Refuse a tz option that names no zone the system knows, naming the key. */
static inline int tsfs_check_tz(tsf_stage_ctx *ctx, const char *tz, tsf_err *err)
{
    if (!tz)
        return TSF_OK;
    tsf_tz *z = NULL;
    tsf_err zerr = TSF_ERR_INIT;
    int rc = tsf_tz_load(&z, tz, &zerr);
    tsf_tz_free(z);
    return rc == TSF_OK ? TSF_OK : tsf_stage_fail_key(ctx, err, "tz", rc, "%s", zerr.msg);
}

#endif
