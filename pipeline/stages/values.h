/* The value types' destructors, one per type, for tsf_value_set(): every built-in stage that
 * produces a value of a type frees it with the same function. */
#ifndef TSFLOW_STAGE_VALUES_H
#define TSFLOW_STAGE_VALUES_H

#include <stdlib.h>

#include "tsflow/export.h"
#include "tsflow/forecast.h"
#include "tsflow/metrics.h"
#include "tsflow/prep.h"
#include "tsflow/scale.h"
#include "tsflow/stage.h"
#include "tsflow/train.h"
#include "tsflow/window.h"

/* TSF_TYPE_FRAME: tsf_free_frame (tsflow/stage.h). */

static inline void tsfs_free_windows(void *p)
{
    tsf_windows_free((tsf_windows *)p);
}

static inline void tsfs_free_scaler(void *p)
{
    tsf_scaler_free((tsf_scaler *)p);
}

/* TSF_TYPE_MODEL: tsf_free_model (tsflow/stage.h). */

static inline void tsfs_free_forecasts(void *p)
{
    tsf_forecasts_free((tsf_forecasts *)p);
}

static inline void tsfs_free_metrics(void *p)
{
    tsf_metrics_free((tsf_metrics *)p);
}

static inline void tsfs_free_history(void *p)
{
    tsf_train_history_clear((tsf_train_history *)p);
    free(p);
}

static inline void tsfs_free_split(void *p)
{
    tsf_split_free((tsf_split *)p);
}

static inline void tsfs_free_backtest(void *p)
{
    tsf_bt_record_free((tsf_bt_record *)p);
}

#endif
