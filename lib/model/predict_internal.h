/* The prediction loop shared by tsf_predict_windows (a bare network) and
 * tsf_rnn_model_predict_windows (a pipeline model, which may normalize each window), and the
 * combination of an ensemble's forecasts (the model's members, the forecaster's fits). */
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

/* An ensemble's forecast from its N members' forecasts v (N, C, P) into out (C, P): the median
 * of the members' points (slot 0: robust to one poor fit), the mean of each quantile level
 * (slots 1..: averaging quantiles keeps the levels ordered). N <= 64. */
void tsf__ensemble_combine(const double *v, size_t N, size_t C, size_t P, double *out);

#endif
