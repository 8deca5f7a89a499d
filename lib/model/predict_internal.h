/* The prediction loop shared by tsf_predict_windows (a bare network) and
 * tsf_rnn_model_predict_windows (a pipeline model, which may normalize each window). */
#ifndef TSFLOW_PREDICT_INTERNAL_H
#define TSFLOW_PREDICT_INTERNAL_H

#include "tsflow/forecast.h"
#include "tsflow/rnn.h"
#include "tsflow/scale.h"
#include "tsflow/window.h"

/* Forecast every sample of w in batches of at most Bm (<= the network's maximum batch) into
 * fc as model `model` from entry `first`, with instance normalization inorm (TSF_INORM_NONE:
 * none) around each forward pass. The caller has checked that w's shapes fit m. NaN/Inf
 * inputs are refused naming the element; `hint` is appended to that message ("" for none). */
int tsf__predict_batches(tsf_rnn *m, const tsf_windows *w, size_t Bm, tsf_inorm inorm,
                         const char *hint, tsf_forecasts *fc, size_t model, size_t first,
                         tsf_err *err);

#endif
