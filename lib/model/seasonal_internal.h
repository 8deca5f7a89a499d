/* The per-series seasonal adjustment rule shared by backtest refits (rnn_forecaster.c) and
 * trained models (rnn_seasonal.c), so that both adjust a series the same way. */
#ifndef TSFLOW_SEASONAL_INTERNAL_H
#define TSFLOW_SEASONAL_INTERNAL_H

#include <stddef.h>

#include "tsflow/deseason.h"
#include "tsflow/error.h"
#include "tsflow/rnn_model.h"

/* The indices of one series for a fit on y (n values in the data's units, the first being row
 * t0 of its series) by mode and season m: tsf_seasonal_fit, except that AUTO leaves the series
 * alone when a fit of lookback + horizon windows on n rows has at least
 * TSF_RNN_DESEASON_MAX_WINDOWS windows. d->index[p] belongs to the series rows t with
 * t % m == p. */
int tsf__seasonal_fit_rows(tsf_seasonal *d, const double *y, size_t n, size_t t0, size_t m,
                           size_t lookback, size_t horizon, tsf_deseason mode, tsf_err *err);

/* "deseason multiplicative (season 12, auto)" for one series, else the count of each kind. */
void tsf__seasonal_note(const tsf_seasonal *sv, size_t n, size_t season, char *note, size_t n_note);

/* A tsf_model_seasonal for G series and O targets, zeroed (NULL when memory runs out), and its
 * free (NULL is a no-op). */
tsf_model_seasonal *tsf__model_seasonal_alloc(size_t G, size_t O);
void tsf__model_seasonal_free(tsf_model_seasonal *s);

/* Put m->seasonal's season back on the forecasts of windows w (on m's scale) in entries first ..
 * of fc, model slot `model`: every step of window i at its period after the window's last
 * input row. */
int tsf__seasonal_restore(const tsf_rnn_model *m, const tsf_windows *w, tsf_forecasts *fc,
                          size_t model, size_t first, tsf_err *err);

/* m's indices as /meta/deseason (layout in rnn_seasonal.c): *vals (n) and *ids malloc'd, the
 * caller frees them; nonzero when memory runs out. */
int tsf__seasonal_meta_put(const tsf_model_seasonal *s, double **vals, size_t *n, char **ids);

/* /meta/deseason (n values v, text the ids) of a model with O targets into *out; TSF_EFORMAT
 * naming path when malformed. */
int tsf__seasonal_meta_get(tsf_model_seasonal **out, size_t O, const double *v, size_t n,
                           const char *text, const char *path, tsf_err *err);

#endif
