/* Helpers shared by the model stages (train.rnn, predict, model.load, model.save,
 * export.history): the model's description in check's metas.
 *
 * Value types: a TSF_TYPE_MODEL value is a tsf_model (tsflow/stage.h; the built-in recurrent
 * model wraps a tsf_rnn_model, rnn_value.c); a TSF_TYPE_HISTORY value is a tsf_train_history
 * (tsflow/train.h). A model meta carries lookback,
 * horizon, n_inputs and n_outputs when known, and a note describing the network. */
#ifndef TSFLOW_MODEL_STAGES_H
#define TSFLOW_MODEL_STAGES_H

#include <stdlib.h>

#include "tsflow/forecast.h"
#include "tsflow/rnn_model.h"
#include "tsflow/stage.h"
#include "tsflow/train.h"
#include "values.h"

/* The built-in recurrent model as a model value (rnn_value.c): takes r (freed on failure). */
int tsfs_rnn_model_value(tsf_model **out, tsf_rnn_model *r, tsf_err *err);

struct tsf_h5out;
/* tsf_train_history_write_h5, with the epochs' wall-clock seconds left out (NaN, and an
 * attribute saying why) when SOURCE_DATE_EPOCH is set, so that exports repeat byte for byte
 * (export.history, export.hdf5). */
int tsfs_write_history(struct tsf_h5out *o, const char *group, const tsf_train_history *h,
                       tsf_err *err);

/* The seed a built-in recurrent model value was trained with (1, into *seed), or 0 for other
 * models (a plugin's). */
int tsfs_model_seed(const tsf_model *m, uint64_t *seed);

/* Fill a model meta from a model value (model.load's check, train.rnn's run). */
static inline int tsfs_model_meta(tsf_stage_ctx *ctx, tsf_meta *out, const tsf_model *m)
{
    out->lookback = (int64_t)m->lookback;
    out->horizon = (int64_t)m->horizon;
    out->n_inputs = m->n_inputs ? (int64_t)m->n_inputs : TSF_UNKNOWN;
    out->n_outputs = m->n_outputs ? (int64_t)m->n_outputs : TSF_UNKNOWN;
    return tsf_meta_set_note(ctx, out, "%s", m->description ? m->description : m->name);
}

#endif
