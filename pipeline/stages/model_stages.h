/* Helpers shared by the model stages (train.rnn, predict, model.load, model.save,
 * export.history): the model's description in check's metas.
 *
 * Value types: a TSF_TYPE_MODEL value is a tsf_rnn_model (tsflow/rnn_model.h); a
 * TSF_TYPE_HISTORY value is a tsf_train_history (tsflow/train.h). A model meta carries lookback,
 * horizon, n_inputs and n_outputs when known, and a note describing the network. */
#ifndef TSFLOW_MODEL_STAGES_H
#define TSFLOW_MODEL_STAGES_H

#include <stdlib.h>

#include "tsflow/forecast.h"
#include "tsflow/rnn_model.h"
#include "tsflow/stage.h"
#include "tsflow/train.h"
#include "values.h"

/* Fill a model meta from a model (model.load's check). */
static inline int tsfs_model_meta(tsf_stage_ctx *ctx, tsf_meta *out, const tsf_rnn_model *m)
{
    const tsf_rnn_config *c = tsf_rnn_config_of(m->rnn);
    char note[256];
    out->lookback = (int64_t)c->lookback;
    out->horizon = (int64_t)c->horizon;
    out->n_inputs = (int64_t)c->n_inputs;
    out->n_outputs = (int64_t)c->n_outputs;
    return tsf_meta_set_note(ctx, out, "%s", tsf_rnn_model_describe(m, note, sizeof note));
}

#endif
