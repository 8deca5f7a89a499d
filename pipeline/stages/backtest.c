/* backtest: rolling-origin evaluation of models against baselines on the same folds,
 * leak-free by construction (tsflow/backtest.h): every fold's imputation, scaler and models
 * are fitted on copies of the rows before its origin. Models come as inputs (train.rnn or
 * model.load steps): each is refitted fold by fold with its own recipe (architecture, loss,
 * instance normalization, window columns) through tsflow/rnn_forecaster.h; the baselines named
 * in `baselines` always run beside them. Outputs the forecasts (original scale), the metrics
 * (original scale, and normalized when the folds are scaled: the ETT protocol) and the
 * backtest record (folds, each fit's scaler, normalized forecasts) for export. */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_stages.h"
#include "prep_stages.h"
#include "tsflow/backtest.h"
#include "tsflow/baseline.h"
#include "tsflow/tz.h"
#include "tsflow/export.h"
#include "tsflow/metrics.h"
#include "tsflow/par.h"
#include "tsflow/stage.h"
#include "tsflow/train.h"

static const char *const windows[] = {"expanding", "sliding", NULL};
static const char *const origin_kinds[] = {"auto", "times", "rows", NULL};
enum { ORIGINS_AUTO = 0, ORIGINS_TIMES = 1, ORIGINS_ROWS = 2 };
static const char *const imputes[] = {"none", "ffill", "linear", "seasonal", NULL};
static const char *const scalings[] = {"model", "none", "zscore", "minmax", "robust", NULL};
enum { NORM_MODEL = 0, NORM_NONE = 1 }; /* then zscore, minmax, robust = TSF_SCALE_* + 1 */

#define MAX_MODELS 16

typedef struct bt_state {
    int origins;
    int window;
    const char *train_length_text;
    const char *first_origin_text;
    const char *end_text;
    size_t stride;
    size_t horizon;
    const char *retrain;
    int warm_start;
    int last_points_only;
    size_t jobs;
    int64_t seed;
    tsf_enums baselines; /* tsf_baseline values */
    size_t season;
    size_t baseline_lookback;
    tsf_strings targets;
    int impute;
    int normalize;
    int per_series;
    /* from check */
    size_t retrain_n;    /* 1 always, N every N folds, 0 never */
    size_t train_length; /* train_length as a number (0: unset or a duration) */
    tsf_freq train_span; /* train_length as a duration (unit NONE: a number) */
    size_t first_origin; /* first_origin as a number (0: unset or a time) */
    int has_first_time;  /* first_origin as a time: */
    int64_t first_time;
    int first_zoned;  /* written with an offset (else a wall-clock time of the data's zone) */
    size_t end;       /* end as a number (0: unset or a time) */
    int has_end_time; /* end as a time: */
    int64_t end_time;
    int end_zoned;
} bt_state;

#define OPT(field) .offset = offsetof(bt_state, field)

static const tsf_option options[] = {
    {.name = "origins",
     .type = TSF_OPT_ENUM,
     OPT(origins),
     .def = "auto",
     .choices = origin_kinds,
     .help = "times: cutoff instants shared by all series on their common frequency (every fit "
             "and forecast of a fold sees no row of any series after its cutoff; a series "
             "without horizon rows after a cutoff, or with less history than a model needs, is "
             "not forecast there); rows: row offsets from each series' first row (for series "
             "aligned in time); auto: times when the data has timestamps, else rows"},
    {.name = "window",
     .type = TSF_OPT_ENUM,
     OPT(window),
     .def = "expanding",
     .choices = windows,
     .help = "expanding: every fit sees all rows before its origin; sliding: only the last "
             "train_length rows"},
    {.name = "train_length",
     .type = TSF_OPT_STRING,
     OPT(train_length_text),
     .def = "0",
     .help = "rows (periods with origins = times) of the first fit (the first origin, unless "
             "first_origin is set) and the sliding window's length; with times also a duration "
             "as a pandas offset alias, a whole number of periods: 365D, 52W, 12MS, 2YS (0: the "
             "shortest train part of the split input)"},
    {.name = "first_origin",
     .type = TSF_OPT_STRING,
     OPT(first_origin_text),
     .def = "0",
     .help = "the first forecast origin: a row offset in each series (rows), or periods from "
             "the earliest first instant of any series, or an instant such as 2020-11-01 (times: "
             "the first cutoff is the period before it; without an offset a local time of the "
             "data's zone, UTC when it has none) (0: train_length when set, else the earliest "
             "start of the split's test part)"},
    {.name = "end",
     .type = TSF_OPT_STRING,
     OPT(end_text),
     .def = "0",
     .help = "forecasts end before this row offset (periods from the earliest first instant "
             "with times), or before an instant such as 2021-01-01 (times; read as "
             "first_origin is) (0: each series' end, or the latest end of the split's test "
             "part)"},
    {.name = "stride",
     .type = TSF_OPT_SIZE,
     OPT(stride),
     .def = "0",
     .min = 0,
     .max = 1e12,
     .help = "rows (periods with times) between consecutive origins (0: the horizon, so "
             "forecasts do not overlap)"},
    {.name = "horizon",
     .type = TSF_OPT_SIZE,
     OPT(horizon),
     .def = "0",
     .min = 0,
     .max = 1e9,
     .help = "steps forecast from each origin (0: the model's horizon; required without a "
             "model)"},
    {.name = "retrain",
     .type = TSF_OPT_STRING,
     OPT(retrain),
     .def = "always",
     .help = "always: refit at every fold; every N (or just N): refit every N folds; never: "
             "fit once at the first fold, then only forecast"},
    {.name = "warm_start",
     .type = TSF_OPT_BOOL,
     OPT(warm_start),
     .def = "false",
     .help = "a refit starts from the previous fit's weights instead of fresh ones (fits then "
             "run one after another)"},
    {.name = "last_points_only",
     .type = TSF_OPT_BOOL,
     OPT(last_points_only),
     .def = "false",
     .help = "keep only the last step of each forecast (step = horizon)"},
    {.name = "jobs",
     .type = TSF_OPT_SIZE,
     OPT(jobs),
     .def = "1",
     .min = 1,
     .max = 1024,
     .help = "threads for fits and forecasts; results are identical for any value"},
    {.name = "seed",
     .type = TSF_OPT_INT,
     OPT(seed),
     .def = "1",
     .min = 0,
     .max = 4294967295.0,
     .help = "the fit made at fold g trains with seed + g (initial weights, shuffles, dropout); "
             "unset: the seed the (first) model input was trained with"},
    {.name = "baselines",
     .type = TSF_OPT_ENUMS,
     OPT(baselines),
     .choices = tsfs_baselines,
     .def = "naive, snaive",
     .help = "baseline forecasters run on the same folds, for skill scores (ets and theta refit "
             "at every origin; \"\" for none)"},
    {.name = "season",
     .type = TSF_OPT_SIZE,
     OPT(season),
     .def = "0",
     .min = 0,
     .max = 1e9,
     .help = "rows per season for snaive, ets, theta, MASE and seasonal imputation (0: from "
             "the frequency: 96 for 15min, 24 hourly, 7 daily, 5 business-daily, 52 weekly, 12 "
             "monthly, 4 quarterly, 1 yearly; none for an integer index: then give it)"},
    {.name = "baseline_lookback",
     .type = TSF_OPT_SIZE,
     OPT(baseline_lookback),
     .def = "0",
     .min = 0,
     .max = 1e12,
     .help = "baselines see only this many rows before the origin (0: all of them; mean and "
             "drift are then fitted on the fit window)"},
    {.name = "targets",
     .type = TSF_OPT_STRINGS,
     OPT(targets),
     .help = "columns to forecast (default: the model's targets, else every column)"},
    {.name = "impute",
     .type = TSF_OPT_ENUM,
     OPT(impute),
     .def = "none",
     .choices = imputes,
     .help = "fill missing values in each fold's history (rows before its origin only): "
             "ffill, linear, seasonal (season rows back), or none"},
    {.name = "normalize",
     .type = TSF_OPT_ENUM,
     OPT(normalize),
     .def = "model",
     .choices = scalings,
     .help = "scaling fitted on each fit's rows: model (as the model input was trained: its "
             "scaler's method and per-series setting; none without one), none, zscore, "
             "minmax, robust"},
    {.name = "per_series",
     .type = TSF_OPT_BOOL,
     OPT(per_series),
     .def = "false",
     .help = "normalize = zscore, minmax or robust: separate parameters per series"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "frame",
     .types = TSF_TYPE_BIT(TSF_TYPE_FRAME),
     .help = "the series in their own units (missing values allowed with impute)"},
    {.name = "more",
     .types = TSF_TYPE_BIT(TSF_TYPE_MODEL) | TSF_TYPE_BIT(TSF_TYPE_SPLIT),
     .flags = TSF_PORT_OPTIONAL | TSF_PORT_MANY,
     .help = "models to refit fold by fold (train.rnn, model.load), and a split whose test "
             "part holds the origins"},
    TSF_PORT_END,
};

static const tsf_port outputs[] = {
    {.name = "forecasts",
     .types = TSF_TYPE_BIT(TSF_TYPE_FORECASTS),
     .help = "every model's and baseline's forecasts per fold, original scale"},
    {.name = "metrics",
     .types = TSF_TYPE_BIT(TSF_TYPE_METRICS),
     .help = "pooled and per step, series and fold"},
    {.name = "backtest",
     .types = TSF_TYPE_BIT(TSF_TYPE_BACKTEST),
     .help = "folds, fit windows, each fit's scaler, normalized forecasts (for export)"},
    TSF_PORT_END,
};

/* "always" -> 1, "never" -> 0, "every N" or "N" -> N; -1 when not understood. */
static long parse_retrain(const char *s)
{
    if (!strcmp(s, "always"))
        return 1;
    if (!strcmp(s, "never"))
        return 0;
    if (!strncmp(s, "every", 5))
        for (s += 5; *s == ' '; s++)
            ;
    if (*s < '1' || *s > '9')
        return -1;
    char *end;
    long n = strtol(s, &end, 10);
    return *end || n < 1 ? -1 : n;
}

/* The season of the frame's frequency (tsflow/freq.h), the same for every series; 0 when there
 * is none (an integer index, or a step without a natural cycle such as 5h). Series whose
 * seasons differ are refused, naming two of them. */
static int season_of_frame(tsf_stage_ctx *ctx, const tsf_frame *f, size_t *season, tsf_err *err)
{
    *season = 0;
    if (f->time_kind != TSF_TIME_EPOCH)
        return TSF_OK;
    for (size_t s = 0; s < f->n_series; s++) {
        const tsf_freq *q = tsf_frame_series_freq(f, s);
        size_t k = tsf_freq_season(q);
        if (s == 0) {
            *season = k;
            continue;
        }
        const tsf_freq *q0 = tsf_frame_series_freq(f, 0);
        if (k != *season) {
            char a[96], b[96], fa[24], fb[24];
            return tsf_stage_fail_key(
                ctx, err, "season", TSF_EINVAL,
                "%s has frequency %s (season %zu) but %s has %s (season %zu) (expected one "
                "season for seasonal naive, MASE and seasonal imputation: give season, or "
                "backtest the series apart)",
                tsf_frame_series_label(f, 0, a, sizeof a), tsf_freq_format(q0, 0, fa, sizeof fa),
                *season, tsf_frame_series_label(f, s, b, sizeof b),
                tsf_freq_format(q, 0, fb, sizeof fb), k);
        }
    }
    return TSF_OK;
}

/* Indices of the model inputs (up to MAX_MODELS) and of the split input (0: none). */
static int sort_inputs(tsf_stage_ctx *ctx, const tsf_type *types, size_t n, size_t *models,
                       size_t *n_models, size_t *split, tsf_err *err)
{
    *n_models = 0;
    *split = 0;
    for (size_t i = 1; i < n; i++) {
        if (types[i] == TSF_TYPE_SPLIT) {
            if (*split)
                return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL,
                                          "two splits given (expected at most one)");
            *split = i;
        } else if (types[i] == TSF_TYPE_MODEL) {
            if (*n_models == MAX_MODELS)
                return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL, "more than %d models",
                                          MAX_MODELS);
            models[(*n_models)++] = i;
        }
    }
    return TSF_OK;
}

/* Whether origins are cutoff times: the option, or (auto) whether the data has timestamps;
 * -1 when the plan does not know the time axis yet. */
static int times_origins(const bt_state *s, int64_t time_kind)
{
    if (s->origins != ORIGINS_AUTO)
        return s->origins == ORIGINS_TIMES;
    return time_kind == TSF_UNKNOWN ? -1 : time_kind == TSF_TIME_EPOCH;
}

/* A non-negative decimal integer (at most 1e12) in text; 0 when text is not one. */
static int parse_count(const char *text, size_t *out)
{
    size_t n = strlen(text);
    if (n == 0 || n > 13 || strspn(text, "0123456789") != n)
        return 0;
    *out = (size_t)strtoull(text, NULL, 10);
    return *out <= (size_t)1e12;
}

/* end: a count, or an instant (time origins only; times is -1 when that is not known yet). */
static int parse_end(tsf_stage_ctx *ctx, bt_state *s, int times, tsf_err *err)
{
    const char *en = s->end_text ? s->end_text : "0";
    s->end = 0;
    s->has_end_time = 0;
    if (parse_count(en, &s->end))
        return TSF_OK;
    if (tsf_time_parse_text(en, strlen(en), &s->end_time, &s->end_zoned, NULL) != 1)
        return tsf_stage_fail_key(ctx, err, "end", TSF_EINVAL,
                                  "\"%s\" is neither a row offset nor a time (expected e.g. 480, "
                                  "or with origins = times 2021-01-01 or 2021-01-01 06:00:00)",
                                  en);
    if (times == 0)
        return tsf_stage_fail_key(
            ctx, err, "end", TSF_EINVAL,
            "\"%s\" is a time, but origins are row offsets%s (expected a "
            "row offset, or origins = times)",
            en, s->origins == ORIGINS_AUTO ? " (the data has an integer index)" : "");
    s->has_end_time = 1;
    return TSF_OK;
}

/* train_length and first_origin: counts, or a duration and an instant (time origins only;
 * times is -1 when that is not known yet). */
static int parse_origin_options(tsf_stage_ctx *ctx, bt_state *s, int times, tsf_err *err)
{
    const char *tl = s->train_length_text ? s->train_length_text : "0";
    const char *fo = s->first_origin_text ? s->first_origin_text : "0";
    s->train_length = s->first_origin = 0;
    s->train_span = (tsf_freq){0};
    s->has_first_time = 0;
    tsf_err e;
    if (!parse_count(tl, &s->train_length)) {
        if (tsf_freq_parse(tl, &s->train_span, &e) != TSF_OK)
            return tsf_stage_fail_key(ctx, err, "train_length", TSF_EINVAL,
                                      "\"%s\" is neither a number of rows (periods) nor a "
                                      "duration (expected e.g. 365, or with origins = times a "
                                      "pandas offset alias such as 365D, 52W, 12MS)",
                                      tl);
        if (times == 0)
            return tsf_stage_fail_key(ctx, err, "train_length", TSF_EINVAL,
                                      "\"%s\" is a duration, but origins are row offsets%s "
                                      "(expected a number of rows, or origins = times)",
                                      tl,
                                      s->origins == ORIGINS_AUTO ? " (the data has an integer "
                                                                   "index)"
                                                                 : "");
    }
    if (!parse_count(fo, &s->first_origin)) {
        if (tsf_time_parse_text(fo, strlen(fo), &s->first_time, &s->first_zoned, NULL) != 1)
            return tsf_stage_fail_key(ctx, err, "first_origin", TSF_EINVAL,
                                      "\"%s\" is neither a row offset nor a time (expected e.g. "
                                      "96, or with origins = times 2020-11-01 or 2020-11-01 "
                                      "06:00:00)",
                                      fo);
        if (times == 0)
            return tsf_stage_fail_key(ctx, err, "first_origin", TSF_EINVAL,
                                      "\"%s\" is a time, but origins are row offsets%s "
                                      "(expected a row offset, or origins = times)",
                                      fo,
                                      s->origins == ORIGINS_AUTO ? " (the data has an integer "
                                                                   "index)"
                                                                 : "");
        s->has_first_time = 1;
    }
    return parse_end(ctx, s, times, err);
}

/* The first origin against the rows the plan knows, and the folds when it knows them exactly
 * (the engine's own count); horizon may be TSF_UNKNOWN. */
static int check_first_origin(tsf_stage_ctx *ctx, const bt_state *s, const tsf_meta *frame,
                              int64_t horizon, int64_t *folds, tsf_err *err)
{
    /* The engine lays folds out up to the end of the longest series (shorter ones just give
     * fewer forecasts). The plan knows the shortest series and the total rows: the longest has
     * at most total - (n_series - 1) x shortest rows, exactly that when all are alike. */
    int64_t rows = frame->min_series_rows, n_ser = frame->n_series, total = frame->rows;
    int64_t longest = TSF_UNKNOWN;
    int exact = 0;
    if (rows != TSF_UNKNOWN && n_ser == 1) {
        longest = rows;
        exact = 1;
    } else if (rows != TSF_UNKNOWN && n_ser > 1 && total != TSF_UNKNOWN) {
        longest = total - (n_ser - 1) * rows;
        exact = total == n_ser * rows;
    }
    size_t first = s->first_origin ? s->first_origin : s->train_length;
    const char *first_key = s->first_origin ? "first_origin" : "train_length";
    int by_end = s->end && longest != TSF_UNKNOWN && (int64_t)s->end < longest;
    int64_t bound = by_end ? (int64_t)s->end : longest;
    if (bound != TSF_UNKNOWN && horizon != TSF_UNKNOWN && (int64_t)first + horizon > bound) {
        char where[160], cure[96];
        if (by_end)
            snprintf(where, sizeof where, "row %lld, where end = %lld stops the backtest",
                     (long long)bound, (long long)bound);
        else if (n_ser == 1)
            snprintf(where, sizeof where, "the %lld rows of the series", (long long)bound);
        else
            snprintf(where, sizeof where, "the end of every series (the longest has %s%lld rows)",
                     exact ? "" : "at most ", (long long)bound);
        if (bound - horizon >= 1)
            snprintf(cure, sizeof cure, "%s at most %lld", first_key, (long long)(bound - horizon));
        else
            snprintf(cure, sizeof cure, "a horizon shorter than %lld", (long long)bound);
        return tsf_stage_fail_key(ctx, err, first_key, TSF_EINVAL,
                                  "the first origin (row %zu) plus horizon %lld is past %s "
                                  "(expected %s + horizon <= %lld: %s)",
                                  first, (long long)horizon, where, first_key, (long long)bound,
                                  cure);
    }
    if (exact && horizon != TSF_UNKNOWN) {
        tsf_backtest_spec spec; /* the engine's count of the folds */
        tsf_backtest_spec_init(&spec);
        spec.train_length = s->train_length;
        spec.first_origin = s->first_origin;
        spec.horizon = (size_t)horizon;
        spec.stride = s->stride ? s->stride : (size_t)horizon;
        spec.retrain = s->retrain_n;
        size_t n_folds, n_fits;
        tsf_backtest_count(&spec, (size_t)bound, &n_folds, &n_fits);
        *folds = (int64_t)n_folds;
    }
    return TSF_OK;
}

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    bt_state *s = state;
    tsf_type types[MAX_MODELS + 4];
    if (ctx->n_inputs > MAX_MODELS + 2)
        return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL,
                                  "%zu inputs (expected the frame, up to %d models and a split)",
                                  ctx->n_inputs, MAX_MODELS);
    size_t n = ctx->n_inputs;
    for (size_t i = 0; i < n; i++)
        types[i] = in[i] ? in[i]->type : TSF_TYPE_NONE;
    size_t mi[MAX_MODELS], nm, si;
    int rc = sort_inputs(ctx, types, n, mi, &nm, &si, err);
    if (rc != TSF_OK)
        return rc;
    long r = parse_retrain(s->retrain ? s->retrain : "");
    if (r < 0)
        return tsf_stage_fail_key(ctx, err, "retrain", TSF_EINVAL,
                                  "\"%s\" is not a retraining rule (expected always, never, or "
                                  "every N with N >= 1)",
                                  s->retrain ? s->retrain : "");
    s->retrain_n = (size_t)r;
    if (s->warm_start && s->retrain_n == 0)
        return tsf_stage_fail_key(ctx, err, "warm_start", TSF_EINVAL,
                                  "warm_start needs refits, but retrain = never fits once");
    if (nm == 0 && s->baselines.n == 0)
        return tsf_stage_fail_key(ctx, err, "baselines", TSF_EINVAL,
                                  "nothing to backtest: bind a model (inputs = data, "
                                  "train_step.model) or name baselines");
    int64_t horizon = s->horizon ? (int64_t)s->horizon : TSF_UNKNOWN;
    for (size_t k = 0; k < nm; k++) {
        int64_t h = in[mi[k]]->horizon;
        if (h == TSF_UNKNOWN)
            continue;
        if (horizon != TSF_UNKNOWN && h != horizon)
            return tsf_stage_fail_key(ctx, err, s->horizon ? "horizon" : "inputs", TSF_EINVAL,
                                      "the models forecast %lld steps, but %s %lld (expected "
                                      "one horizon)",
                                      (long long)h, s->horizon ? "horizon is" : "another model",
                                      (long long)horizon);
        horizon = h;
    }
    if (!s->horizon && nm == 0)
        return tsf_stage_fail_key(ctx, err, "horizon", TSF_EINVAL,
                                  "set horizon (steps to forecast): no model input gives one");
    int times = times_origins(s, in[0]->time_kind);
    if (times == 1 && in[0]->time_kind == TSF_TIME_INDEX)
        return tsf_stage_fail_key(ctx, err, "origins", TSF_EINVAL,
                                  "origins = times needs timestamps, but the data has an "
                                  "integer index (expected origins = rows or auto)");
    if ((rc = parse_origin_options(ctx, s, times, err)) != TSF_OK)
        return rc;
    int has_train = s->train_length || s->train_span.unit != TSF_FREQ_NONE;
    if (!has_train && !s->first_origin && !s->has_first_time && !si)
        return tsf_stage_fail_key(ctx, err, "train_length", TSF_EINVAL,
                                  "set train_length (rows of the first fit) or bind a split "
                                  "(inputs = data, split)");
    if (s->window == TSF_WINDOW_SLIDING && !has_train && !si)
        return tsf_stage_fail_key(ctx, err, "train_length", TSF_EINVAL,
                                  "a sliding window needs train_length (its length)");
    if (tsf_stage_option_set(ctx, "per_series") && s->normalize <= NORM_NONE)
        return tsf_stage_fail_key(ctx, err, "per_series", TSF_EINVAL,
                                  "per_series applies to normalize = zscore, minmax or robust");
    if ((rc = tsfs_check_columns(ctx, in[0], &s->targets, "targets", err)) != TSF_OK)
        return rc;
    for (size_t k = 0; k < nm; k++) { /* a model's targets, when its check names them */
        const tsf_meta *m = in[mi[k]];
        tsf_strings t = {m->col_names, m->col_names && m->cols > 0 ? (size_t)m->cols : 0};
        if ((rc = tsfs_check_columns(ctx, in[0], &t, "inputs", err)) != TSF_OK)
            return rc;
    }
    /* with cutoff times, rows bound the periods only for one series (several may not be
     * aligned); the engine checks the rest against the times */
    int64_t folds = TSF_UNKNOWN;
    int by_rows = times == 0 || (times == 1 && in[0]->n_series == 1 && !s->has_first_time &&
                                 s->train_span.unit == TSF_FREQ_NONE);
    if (!si && by_rows && (rc = check_first_origin(ctx, s, in[0], horizon, &folds, err)) != TSF_OK)
        return rc;
    for (int o = 0; o < 3; o++) {
        out[o]->n_series = in[0]->n_series;
        out[o]->horizon = horizon;
        if (in[0]->source && (rc = tsf_meta_set_source(ctx, out[o], in[0]->source)) != TSF_OK)
            return rc;
    }
    for (int o = 0; o < 3; o++)
        out[o]->folds = folds;
    return tsf_meta_set_note(ctx, out[0],
                             "%zu model%s + %zu baseline%s, %s window, retrain %s, origins %s", nm,
                             nm == 1 ? "" : "s", s->baselines.n, s->baselines.n == 1 ? "" : "s",
                             windows[s->window], s->retrain,
                             times == 1   ? "times"
                             : times == 0 ? "rows"
                                          : "auto");
}

/* ---- run ----------------------------------------------------------------------------------- */

typedef struct progress_state {
    tsf_stage_ctx *ctx;
    pthread_mutex_t lock;
    double *done; /* (n_fits) fraction of each fit */
    size_t n_fits, n_folds, retrain;
} progress_state;

static int on_fit_progress(void *user, size_t fold, const tsf_train_progress *p)
{
    progress_state *ps = user;
    size_t g = ps->retrain ? fold / ps->retrain : 0;
    double total = 0;
    pthread_mutex_lock(&ps->lock);
    if (g < ps->n_fits)
        ps->done[g] = p->fraction;
    for (size_t i = 0; i < ps->n_fits; i++)
        total += ps->done[i];
    pthread_mutex_unlock(&ps->lock);
    tsf_progress q = TSF_PROGRESS_INIT;
    q.fraction = total / (double)(ps->n_fits ? ps->n_fits : 1);
    q.fold = (long)fold + 1;
    q.folds = (long)ps->n_folds;
    q.epoch = (long)p->epoch + 1;
    q.epochs = (long)p->n_epochs;
    q.loss = p->loss;
    q.what = "fitting";
    tsf_stage_progress(ps->ctx, &q);
    return tsf_stage_cancelled(ps->ctx);
}

/* Log every model's pooled original-scale scores with its skill against the baselines. */
static void log_scores(tsf_stage_ctx *ctx, const tsf_metrics *mt, const tsf_backtest *bt)
{
    tsf_stage_log(ctx, TSF_LOG_INFO,
                  "%zu folds, %zu fit%s; pooled scores (original scale):", bt->n_folds, bt->n_fits,
                  bt->n_fits == 1 ? "" : "s");
    for (size_t m = 0; m < mt->n_models; m++) {
        const char *name = mt->models[m];
        double v[TSF_N_METRICS];
        for (int k = 0; k < TSF_N_METRICS; k++)
            v[k] = tsf_metrics_get(mt, name, TSF_ALL_TARGETS, TSF_BY_ALL, 0, TSF_FC_ORIGINAL, k);
        char line[512];
        size_t len =
            (size_t)snprintf(line, sizeof line, "  %-8s MAE %.5g  RMSE %.5g  MASE %.4g", name,
                             v[TSF_METRIC_MAE], v[TSF_METRIC_RMSE], v[TSF_METRIC_MASE]);
        if (!isnan(v[TSF_METRIC_PINBALL]))
            len += (size_t)snprintf(line + len, sizeof line - len, "  pinball %.5g coverage %.3g",
                                    v[TSF_METRIC_PINBALL], v[TSF_METRIC_COVERAGE]);
        for (int r = 0; r < TSF_N_BASELINES && len < sizeof line; r++) {
            const char *ref = tsf_baseline_name((tsf_baseline)r);
            if (!strcmp(name, ref))
                continue;
            double sk = tsf_metrics_skill(mt, name, ref, TSF_FC_ORIGINAL, TSF_METRIC_MAE);
            if (!isnan(sk))
                len +=
                    (size_t)snprintf(line + len, sizeof line - len, "  skill vs %s %+.3f", ref, sk);
        }
        tsf_stage_log(ctx, TSF_LOG_INFO, "%s", line);
    }
}

/* The series a fold left out for too little history, the first few by name. */
static void log_skipped(tsf_stage_ctx *ctx, const tsf_frame *f, const tsf_backtest *bt)
{
    enum { SHOWN = 10 };
    for (size_t i = 0; i < bt->n_skipped && i < SHOWN; i++) {
        const tsf_fold_skip *k = &bt->skipped[i];
        char t[40], sl[96];
        tsf_stage_log(ctx, TSF_LOG_INFO,
                      "fold %zu (cutoff %s): %s not forecast: %zu row%s of history at the "
                      "cutoff, the models need %zu",
                      k->fold,
                      tsf_time_format(f->time_kind, bt->folds[k->fold].cutoff, t, sizeof t),
                      tsf_frame_series_label(f, k->series, sl, sizeof sl), k->rows,
                      k->rows == 1 ? "" : "s", k->need);
    }
    if (bt->n_skipped > SHOWN)
        tsf_stage_log(ctx, TSF_LOG_INFO,
                      "... and %zu more (fold, series) pairs not forecast for too little history",
                      bt->n_skipped - SHOWN);
}

/* Everything one run holds, freed by bt_run_clear. */
typedef struct bt_run {
    tsf_stage_ctx *ctx;
    bt_state *s;
    const tsf_frame *f;
    const tsf_split *split;              /* or NULL */
    const tsf_model *models[MAX_MODELS]; /* (n_models) */
    tsf_model_binding bound[MAX_MODELS]; /* (n_bound) */
    size_t n_models, n_bound;
    tsf_baseline_config base[TSF_N_BASELINES];        /* (s->baselines.n) */
    tsf_forecaster fcs[MAX_MODELS + TSF_N_BASELINES]; /* (n_fcs) the models, then baselines */
    size_t n_fcs;
    size_t *targets, n_targets;
    size_t *scale_cols;
    size_t season;
    tsf_freq freq;        /* times: the grid's frequency */
    int64_t first_cutoff; /* times: fold 0's cutoff */
    tsf_backtest_spec spec;
    tsf_impute_spec imp;
    tsf_scale_spec scl;
    int scale_on;
    progress_state ps;
    int lock_ok;
    tsf_bt_record *rec;
} bt_run;

static void bt_run_clear(bt_run *r)
{
    for (size_t k = 0; k < r->n_bound; k++)
        if (r->models[k]->unbind)
            r->models[k]->unbind(r->models[k], &r->bound[k]);
    tsf_bt_record_free(r->rec);
    free(r->targets);
    free(r->scale_cols);
    if (r->lock_ok)
        pthread_mutex_destroy(&r->ps.lock);
    free(r->ps.done);
}

/* Targets: the models' (by name, all alike), else the option, else every column. */
static int resolve_targets(bt_run *r, tsf_err *err)
{
    tsf_stage_ctx *ctx = r->ctx;
    const bt_state *s = r->s;
    if (!r->n_models)
        return tsfs_columns(ctx, r->f, &s->targets, "targets", 1, &r->targets, &r->n_targets, err);
    const tsf_model *m0 = r->models[0];
    tsf_strings names = {m0->targets, m0->n_targets};
    int rc = tsfs_columns(ctx, r->f, &names, "inputs", 0, &r->targets, &r->n_targets, err);
    if (rc != TSF_OK)
        return rc;
    for (size_t k = 1; k < r->n_models; k++) {
        const tsf_model *m = r->models[k];
        int same = m->n_targets == m0->n_targets;
        for (size_t o = 0; same && o < m0->n_targets; o++)
            same = !strcmp(m->targets[o], m0->targets[o]);
        if (!same)
            return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL,
                                      "models \"%s\" and \"%s\" forecast different targets "
                                      "(expected the same columns)",
                                      m0->name, m->name);
    }
    int same = !s->targets.n || s->targets.n == r->n_targets;
    for (size_t o = 0; same && o < s->targets.n; o++)
        same = !strcmp(s->targets.v[o], m0->targets[o]);
    if (!same)
        return tsf_stage_fail_key(ctx, err, "targets", TSF_EINVAL,
                                  "the targets differ from those of model \"%s\" (leave targets "
                                  "unset to use the model's)",
                                  m0->name);
    return TSF_OK;
}

/* The horizon (the option, else the models', all alike) and the models' quantile levels. */
static int resolve_horizon(bt_run *r, tsf_err *err)
{
    const bt_state *s = r->s;
    tsf_backtest_spec *spec = &r->spec;
    spec->horizon = s->horizon;
    for (size_t k = 0; k < r->n_models; k++) {
        const tsf_model *m = r->models[k];
        if (spec->horizon && m->horizon != spec->horizon)
            return tsf_stage_fail_key(r->ctx, err, s->horizon ? "horizon" : "inputs", TSF_EINVAL,
                                      "model \"%s\" forecasts %zu steps, expected %zu", m->name,
                                      m->horizon, spec->horizon);
        spec->horizon = m->horizon;
        if (!m->n_quantiles)
            continue;
        if (spec->quantiles &&
            (spec->n_quantiles != m->n_quantiles ||
             memcmp(spec->quantiles, m->quantiles, m->n_quantiles * sizeof *m->quantiles) != 0))
            return tsf_stage_fail_key(r->ctx, err, "inputs", TSF_EINVAL,
                                      "the models forecast different quantile levels (expected "
                                      "the same levels)");
        spec->quantiles = m->quantiles;
        spec->n_quantiles = m->n_quantiles;
    }
    return TSF_OK;
}

/* The split's origins as times: the first origin is the earliest first instant of a test part,
 * the end the period after the latest last instant of one (in periods from the earliest first
 * instant of any series, as the engine counts them). */
static int split_times(bt_run *r, size_t train, int to_end)
{
    const tsf_split *sp = r->split;
    const tsf_frame *f = r->f;
    tsf_backtest_spec *spec = &r->spec;
    int64_t t0 = INT64_MAX, first = INT64_MAX, last = INT64_MIN;
    for (size_t q = 0; q < f->n_series; q++) {
        size_t a = f->series_start[q];
        const tsf_range *t = &sp->part[TSF_PART_TEST][q];
        if (f->series_start[q + 1] > a)
            t0 = f->time[a] < t0 ? f->time[a] : t0;
        if (t->end <= t->begin)
            continue;
        first = f->time[t->begin] < first ? f->time[t->begin] : first;
        last = f->time[t->end - 1] > last ? f->time[t->end - 1] : last;
    }
    int has_train = spec->train_length || spec->train_span.unit != TSF_FREQ_NONE;
    if (!spec->first_origin && !spec->has_first_origin_time && !has_train) {
        spec->has_first_origin_time = 1;
        spec->first_origin_time = first;
    }
    if (!has_train)
        spec->train_length = train;
    const tsf_freq *q = tsf_frame_series_freq(f, 0);
    int64_t k;
    if (!spec->end && !spec->has_end_time && !to_end && q->unit != TSF_FREQ_NONE) {
        tsf_tz_freq_count(f->tz ? tsf_tz_cached(f->tz) : NULL, q, t0, last, &k);
        spec->end = (size_t)k + 1;
    }
    return TSF_OK;
}

/* Origins from the split: from the earliest start of a test part to each series' end (or to
 * the latest end of a test part when the test parts stop short of the ends); the shortest
 * train part as train_length. Options that are set win. */
static int folds_from_split(bt_run *r, tsf_err *err)
{
    const tsf_split *sp = r->split;
    const tsf_frame *f = r->f;
    tsf_backtest_spec *spec = &r->spec;
    if (sp->n_series != f->n_series)
        TSF_FAIL(err, TSF_EINVAL, "the split has %zu series, the frame %zu", sp->n_series,
                 f->n_series);
    size_t tr = SIZE_MAX, t0 = SIZE_MAX, t1 = 0;
    int to_end = 1;
    for (size_t q = 0; q < f->n_series; q++) {
        size_t a = f->series_start[q], len = f->series_start[q + 1] - a;
        const tsf_range *t = &sp->part[TSF_PART_TEST][q], *n = &sp->part[TSF_PART_TRAIN][q];
        tr = n->end - n->begin < tr ? n->end - n->begin : tr;
        if (t->end <= t->begin)
            continue;
        t0 = t->begin - a < t0 ? t->begin - a : t0;
        t1 = t->end - a > t1 ? t->end - a : t1;
        to_end &= t->end - a == len;
    }
    if (t0 == SIZE_MAX && !spec->first_origin && !spec->train_length &&
        !spec->has_first_origin_time && spec->train_span.unit == TSF_FREQ_NONE)
        return tsf_stage_fail_key(r->ctx, err, "inputs", TSF_EINVAL,
                                  "the split's test part is empty: it holds no origin (set "
                                  "first_origin, or give the split a test share)");
    if (spec->origins == TSF_ORIGINS_TIMES)
        return split_times(r, tr, to_end);
    /* an explicit train_length places the first origin (as without a split); the split then
     * only bounds the end */
    if (!spec->first_origin && !spec->train_length)
        spec->first_origin = t0;
    if (!spec->train_length)
        spec->train_length = tr;
    if (!spec->end)
        spec->end = to_end ? 0 : t1;
    return TSF_OK;
}

/* A first_origin or end time written without an offset is a wall-clock time of the data's
 * zone, as the data's own times are read; logged, since UTC is the other reading. A time the
 * clocks skip, or show twice, asks for its offset. */
static int in_data_zone(bt_run *r, const char *key, const char *text, int64_t *t, tsf_err *err)
{
    const tsf_tz *z = r->f->tz ? tsf_tz_cached(r->f->tz) : NULL;
    if (!z)
        return TSF_OK;
    int64_t u, later;
    char a[48], b[48];
    switch (tsf_tz_resolve(z, *t, &u, &later)) {
    case TSF_TZ_GAP:
        return tsf_stage_fail_key(r->ctx, err, key, TSF_EINVAL,
                                  "%s \"%s\" is a local time of the data's zone %s that the "
                                  "clocks skip (they jump to %s; expected a time that exists "
                                  "there, or one with its offset)",
                                  key, text, r->f->tz, tsf_tz_format(z, u, a, sizeof a));
    case TSF_TZ_FOLD:
        return tsf_stage_fail_key(r->ctx, err, key, TSF_EINVAL,
                                  "%s \"%s\" is shown twice by the clocks of the data's zone %s, "
                                  "at %s and at %s (expected the time with its offset)",
                                  key, text, r->f->tz, tsf_tz_format(z, u, a, sizeof a),
                                  tsf_tz_format(z, later, b, sizeof b));
    case TSF_TZ_UNIQUE:
        break;
    }
    *t = u;
    tsf_stage_log(r->ctx, TSF_LOG_INFO,
                  "%s %s has no offset: read in the data's zone, %s (write an offset such as "
                  "Z for another)",
                  key, text, tsf_tz_format(z, u, a, sizeof a));
    return TSF_OK;
}

/* first_origin and end as times: those without an offset in the data's zone. */
static int option_times_in_zone(bt_run *r, tsf_err *err)
{
    const bt_state *s = r->s;
    tsf_backtest_spec *spec = &r->spec;
    int rc = TSF_OK;
    if (s->has_first_time && !s->first_zoned)
        rc = in_data_zone(r, "first_origin", s->first_origin_text, &spec->first_origin_time, err);
    if (rc == TSF_OK && s->has_end_time && !s->end_zoned)
        rc = in_data_zone(r, "end", s->end_text, &spec->end_time, err);
    return rc;
}

/* The engine's spec from the options, the models and the split, with each fold's imputation
 * and scaling. */
static int make_spec(bt_run *r, tsf_err *err)
{
    const bt_state *s = r->s;
    tsf_backtest_spec *spec = &r->spec;
    tsf_backtest_spec_init(spec);
    int rc = resolve_horizon(r, err);
    if (rc != TSF_OK)
        return rc;
    int times = times_origins(s, r->f->time_kind);
    if (times && r->f->time_kind != TSF_TIME_EPOCH)
        return tsf_stage_fail_key(r->ctx, err, "origins", TSF_EINVAL,
                                  "origins = times needs timestamps, but the data has an "
                                  "integer index (expected origins = rows or auto)");
    if ((rc = parse_origin_options(r->ctx, r->s, times, err)) != TSF_OK)
        return rc;
    spec->origins = times ? TSF_ORIGINS_TIMES : TSF_ORIGINS_ROWS;
    if (s->origins == ORIGINS_AUTO && r->f->n_series > 1)
        tsf_stage_log(r->ctx, TSF_LOG_INFO, "%s",
                      times ? "origins: cutoff times shared by all series (the data has "
                              "timestamps; origins = rows counts rows in each series instead)"
                            : "origins: row offsets in each series (the data has an integer "
                              "index)");
    spec->window = (tsf_train_window)s->window;
    spec->train_length = s->train_length;
    spec->train_span = s->train_span;
    spec->first_origin = s->first_origin;
    spec->has_first_origin_time = s->has_first_time;
    spec->first_origin_time = s->first_time;
    spec->end = s->end;
    spec->has_end_time = s->has_end_time;
    spec->end_time = s->end_time;
    if ((rc = option_times_in_zone(r, err)) != TSF_OK)
        return rc;
    spec->stride = s->stride ? s->stride : spec->horizon;
    spec->retrain = s->retrain_n;
    spec->warm_start = s->warm_start;
    spec->last_points_only = s->last_points_only;
    spec->jobs = s->jobs;
    spec->seed = (uint64_t)s->seed;
    if (r->n_models) {
        /* refits follow the model's own seed unless the backtest names one: say which */
        uint64_t ms;
        int known = tsfs_model_seed(r->models[0], &ms), set = tsf_stage_option_set(r->ctx, "seed");
        if (known && !set)
            spec->seed = ms;
        tsf_stage_log(r->ctx, TSF_LOG_INFO, "fits train with seed %llu + fold (%s)",
                      (unsigned long long)spec->seed,
                      !set     ? (known ? "the model's seed" : "the backtest's default seed")
                      : !known ? "the backtest's seed option"
                      : ms == spec->seed
                          ? "the backtest's seed option, the model's too"
                          : "the backtest's seed option; the model input's seed is not used");
    }
    spec->targets = r->targets;
    spec->n_targets = r->n_targets;
    if (r->split && (rc = folds_from_split(r, err)) != TSF_OK)
        return rc;
    r->season = s->season;
    if (!r->season && (rc = season_of_frame(r->ctx, r->f, &r->season, err)) != TSF_OK)
        return rc;
    if (!r->season) {
        char fq[24];
        return tsf_stage_fail_key(
            r->ctx, err, "season", TSF_EINVAL,
            "the data has %s%s, so no season for seasonal naive and MASE (expected season = "
            "rows per seasonal cycle, e.g. 12 for monthly data; season = 1 scales MASE by the "
            "naive forecast)",
            r->f->time_kind != TSF_TIME_EPOCH ? "an integer index" : "frequency ",
            r->f->time_kind != TSF_TIME_EPOCH ? ""
                                              : tsf_freq_format(&r->f->freq, 0, fq, sizeof fq));
    }
    tsf_stage_log(r->ctx, TSF_LOG_INFO, "season %zu (%s)", r->season,
                  s->season ? "the option" : "from the frequency");
    tsf_impute_spec_init(&r->imp);
    r->imp.method = (tsf_impute_method)s->impute; /* ffill, linear, seasonal share the numbers */
    r->imp.season = r->season;
    r->imp.allow_unfilled = 1; /* leading gaps stay NaN: windows over them are refused by name */
    if (s->impute)
        spec->impute = &r->imp;
    tsf_scale_spec_init(&r->scl);
    r->scl.on_constant = TSF_CONST_CENTER; /* a short early fold may hold a constant column */
    if (s->normalize == NORM_MODEL) {
        for (size_t k = 0; k < r->n_models && !r->scale_on; k++)
            if (r->models[k]->scaling) {
                r->scl.kind = r->models[k]->scaling->kind;
                r->scl.pre = r->models[k]->scaling->pre;
                r->scl.per_series = r->models[k]->scaling->per_series;
                r->scale_on = 1;
            }
    } else if (s->normalize > NORM_NONE) {
        r->scl.kind = (tsf_scale_kind)(s->normalize - 1);
        r->scl.per_series = s->per_series;
        r->scale_on = 1;
    }
    return TSF_OK;
}

/* Under MPI each rank recorded the training histories of the fits it ran (bt->fit_rank): send
 * ours, receive the others', so every rank holds all of them, as one process would. */
static int exchange_histories(const bt_run *r, const tsf_backtest *bt, tsf_err *err)
{
    const size_t me = tsf_par_rank();
    tsf_train_history *hs = r->rec ? r->rec->histories : NULL;
    size_t n_hs = r->rec ? r->rec->n_histories : 0;
    if (tsf_par_size() == 1 || !hs)
        return TSF_OK;
    unsigned char *mine = NULL;
    size_t len = 0;
    int rc = TSF_OK;
    for (size_t g = 0; g < bt->n_fits && rc == TSF_OK; g++)
        if (bt->fit_rank[g] == me && bt->fit_fold[g] < n_hs)
            rc = tsf_train_history_pack(&hs[bt->fit_fold[g]], &mine, &len, err);
    void *all = NULL;
    size_t counts_total = 0, *counts = calloc(tsf_par_size(), sizeof *counts);
    if (!counts)
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
    if (rc == TSF_OK)
        rc = tsf_par_allgather(mine, len, &all, counts, err);
    free(mine);
    for (size_t rk = 0; rc == TSF_OK && rk < tsf_par_size(); rk++)
        counts_total += counts[rk];
    /* The ranks' parts in rank order; each holds its fits in increasing order. */
    const unsigned char *p = all;
    size_t at = 0;
    for (size_t rk = 0; rc == TSF_OK && rk < tsf_par_size(); rk++) {
        if (rk == me) { /* ours are in place */
            at += counts[rk];
            continue;
        }
        for (size_t g = 0; rc == TSF_OK && g < bt->n_fits; g++) {
            if (bt->fit_rank[g] != rk || bt->fit_fold[g] >= n_hs)
                continue;
            size_t used;
            rc = tsf_train_history_unpack(&hs[bt->fit_fold[g]], p + at, counts_total - at, &used,
                                          err);
            at += used;
        }
    }
    free(counts);
    free(all);
    return rc;
}

/* Progress bookkeeping and the record, with the folds and fits the engine will lay out. */
static int prepare_record(bt_run *r, tsf_err *err)
{
    progress_state *ps = &r->ps;
    if (r->spec.origins == TSF_ORIGINS_TIMES) { /* the engine's own layout (errors too) */
        tsf_backtest_layout *lay;
        int rc = tsf_backtest_layout_make(&lay, r->f, &r->spec, NULL, 0, err);
        if (rc != TSF_OK)
            return rc;
        ps->n_folds = lay->n_folds;
        ps->n_fits = lay->n_fits;
        r->freq = lay->freq;
        r->first_cutoff = lay->n_folds ? lay->folds[0].cutoff : 0;
        tsf_backtest_layout_free(lay);
    } else {
        size_t span = tsf_backtest_span(r->f, &r->spec);
        tsf_backtest_count(&r->spec, span, &ps->n_folds, &ps->n_fits);
    }
    ps->ctx = r->ctx;
    ps->retrain = r->spec.retrain;
    ps->done = calloc(ps->n_fits ? ps->n_fits : 1, sizeof *ps->done);
    if (!ps->done || pthread_mutex_init(&ps->lock, NULL) != 0)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    r->lock_ok = 1;
    if (!(r->rec = calloc(1, sizeof *r->rec)))
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    if (r->n_models) { /* the first model's fit histories, by fold, for export and plots */
        if (!(r->rec->histories = calloc(ps->n_folds ? ps->n_folds : 1, sizeof(tsf_train_history))))
            TSF_FAIL(err, TSF_ENOMEM, "out of memory");
        r->rec->n_histories = ps->n_folds;
        for (size_t k = 0; k < ps->n_folds; k++)
            tsf_train_history_init(&r->rec->histories[k]);
    }
    return TSF_OK;
}

/* The forecasters: every model bound to the frame through its interface, then the baselines;
 * names must differ. */
static int make_forecasters(bt_run *r, tsf_err *err)
{
    for (size_t k = 0; k < r->n_models; k++) {
        tsf_model_binding *b = &r->bound[k];
        *b = (tsf_model_binding){.frame = r->f,
                                 .fit_progress = on_fit_progress,
                                 .progress_user = &r->ps,
                                 .season = r->season};
        if (k == 0) {
            b->histories = r->rec->histories;
            b->n_histories = r->rec->n_histories;
        }
        int rc = r->models[k]->bind(r->models[k], b, err);
        if (rc != TSF_OK)
            return rc;
        r->n_bound++;
        r->fcs[r->n_fcs++] = b->forecaster;
    }
    for (size_t b = 0; b < r->s->baselines.n; b++) {
        r->base[b] = (tsf_baseline_config){.kind = (tsf_baseline)r->s->baselines.v[b],
                                           .season = r->season,
                                           .lookback = r->s->baseline_lookback};
        tsf_baseline_forecaster(&r->fcs[r->n_fcs++], &r->base[b], NULL);
    }
    for (size_t a = 0; a < r->n_fcs; a++)
        for (size_t b = 0; b < a; b++)
            if (!strcmp(r->fcs[a].name, r->fcs[b].name))
                return tsf_stage_fail_key(r->ctx, err, "inputs", TSF_EINVAL,
                                          "two models are called \"%s\" (rename one with "
                                          "train.rnn's name option)",
                                          r->fcs[a].name);
    return TSF_OK;
}

/* Scale the columns the forecasters read: the targets and what the models read beside them
 * (other columns may be empty or constant in early folds), in frame order as a normalize step
 * would list them. */
static int scale_columns(bt_run *r, tsf_err *err)
{
    if (!r->scale_on)
        return TSF_OK;
    size_t n_sc = r->n_targets;
    for (size_t k = 0; k < r->n_bound; k++)
        n_sc += r->bound[k].n_read_cols;
    size_t *sc = r->scale_cols = malloc(n_sc * sizeof *sc);
    if (!sc)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    n_sc = 0;
    for (size_t k = 0; k <= r->n_bound; k++) {
        const size_t *c = k == r->n_bound ? r->targets : r->bound[k].read_cols;
        size_t nc = k == r->n_bound ? r->n_targets : r->bound[k].n_read_cols;
        for (size_t i = 0; i < nc; i++) {
            size_t j = 0;
            while (j < n_sc && sc[j] != c[i])
                j++;
            if (j == n_sc)
                sc[n_sc++] = c[i];
        }
    }
    for (size_t i = 1; i < n_sc; i++)
        for (size_t j = i; j > 0 && sc[j - 1] > sc[j]; j--) {
            size_t t = sc[j];
            sc[j] = sc[j - 1];
            sc[j - 1] = t;
        }
    r->scl.cols = sc;
    r->scl.n_cols = n_sc;
    r->spec.scale = &r->scl;
    return TSF_OK;
}

/* One line that says what will run. */
static void describe(const bt_run *r, char *desc, size_t n)
{
    const bt_state *s = r->s;
    const tsf_backtest_spec *spec = &r->spec;
    size_t nm = r->n_models, nb = s->baselines.n;
    char until[64] = "", where[160];
    int times = spec->origins == TSF_ORIGINS_TIMES;
    const tsf_tz *z = times && r->f->tz ? tsf_tz_cached(r->f->tz) : NULL;
    if (spec->has_end_time) {
        char te[48];
        snprintf(until, sizeof until, " to before %s",
                 z ? tsf_tz_format(z, spec->end_time, te, sizeof te)
                   : tsf_time_format(TSF_TIME_EPOCH, spec->end_time, te, sizeof te));
    } else if (spec->end) {
        snprintf(until, sizeof until, " to %s %zu", times ? "period" : "row", spec->end);
    }
    if (times) {
        char fq[24], t[48];
        snprintf(where, sizeof where, "cutoffs every %zu periods of %s from %s%s", spec->stride,
                 tsf_freq_format(&r->freq, 0, fq, sizeof fq),
                 z ? tsf_tz_format(z, r->first_cutoff, t, sizeof t)
                   : tsf_time_format(TSF_TIME_EPOCH, r->first_cutoff, t, sizeof t),
                 until);
    } else {
        snprintf(where, sizeof where, "origins every %zu rows from row %zu%s", spec->stride,
                 spec->first_origin ? spec->first_origin : spec->train_length, until);
    }
    snprintf(desc, n,
             "%zu model%s and %zu baseline%s on %zu folds (%s, horizon %zu, %s window%s, %zu "
             "fit%s%s%s%s%s%s)",
             nm, nm == 1 ? "" : "s", nb, nb == 1 ? "" : "s", r->ps.n_folds, where, spec->horizon,
             windows[s->window],
             s->window == TSF_WINDOW_SLIDING
                 ? (times ? " of train_length periods" : " of train_length rows")
                 : "",
             r->ps.n_fits, r->ps.n_fits == 1 ? "" : "s", s->warm_start ? ", warm start" : "",
             r->scale_on ? ", normalized per fit (" : "",
             r->scale_on ? tsf_scale_kind_name(r->scl.kind) : "", r->scale_on ? ")" : "",
             s->impute ? ", imputed per fold" : "");
}

/* Hand the results on: forecasts, metrics, and the record that takes bt. */
static int set_outputs(bt_run *r, tsf_backtest *bt, tsf_metrics *mt, const char *desc,
                       tsf_value *const *out, tsf_err *err)
{
    tsf_stage_ctx *ctx = r->ctx;
    const tsf_frame *f = r->f;
    tsf_forecasts *fc = bt->fc;
    bt->fc = NULL;
    int rc = tsf_value_set(ctx, out[0], fc, tsfs_free_forecasts);
    if (rc == TSF_OK)
        rc = tsf_value_set(ctx, out[1], mt, tsfs_free_metrics);
    else
        tsf_metrics_free(mt);
    tsf_bt_record *rec = r->rec;
    rec->bt = bt;
    rec->seed = r->spec.seed;
    rec->n_cols = f->n_cols;
    if (rc != TSF_OK)
        return rc;
    if (!(rec->description = strdup(desc)) ||
        !(rec->col_names = calloc(f->n_cols ? f->n_cols : 1, sizeof *rec->col_names)))
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    for (size_t j = 0; j < f->n_cols; j++)
        if (!(rec->col_names[j] = strdup(f->col_names[j])))
            TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    r->rec = NULL;
    return tsf_value_set(ctx, out[2], rec, tsfs_free_backtest);
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    bt_run r = {.ctx = ctx, .s = state, .f = in[0]->ptr};
    tsf_type types[MAX_MODELS + 4];
    size_t n = ctx->n_inputs < MAX_MODELS + 4 ? ctx->n_inputs : MAX_MODELS + 4;
    for (size_t i = 0; i < n; i++)
        types[i] = in[i] ? in[i]->type : TSF_TYPE_NONE;
    size_t mi[MAX_MODELS], si;
    int rc = sort_inputs(ctx, types, n, mi, &r.n_models, &si, err);
    if (rc != TSF_OK)
        return rc;
    r.split = si ? in[si]->ptr : NULL;
    for (size_t k = 0; k < r.n_models; k++)
        r.models[k] = in[mi[k]]->ptr;
    tsf_backtest *bt = NULL;
    tsf_metrics *mt = NULL;
    char desc[512];
    if ((rc = resolve_targets(&r, err)) || (rc = make_spec(&r, err)) ||
        (rc = prepare_record(&r, err)) || (rc = make_forecasters(&r, err)) ||
        (rc = scale_columns(&r, err)))
        goto done;
    describe(&r, desc, sizeof desc);
    tsf_stage_log(ctx, TSF_LOG_INFO, "%s", desc);
    if ((rc = tsf_backtest_run(&bt, r.f, &r.spec, r.fcs, r.n_fcs, err)) != TSF_OK ||
        (rc = exchange_histories(&r, bt, err)) != TSF_OK)
        goto done;
    log_skipped(ctx, r.f, bt);
    /* one line per fit: what the first model chose from that fit's windows, and why */
    for (size_t k = 0; r.rec && k < r.rec->n_histories; k++)
        if (r.rec->histories[k].note[0])
            tsf_stage_log(ctx, TSF_LOG_INFO, "%s, fit at fold %zu: %s", r.fcs[0].name, k,
                          r.rec->histories[k].note);
    /* metrics: original scale (MASE from each fit window of the frame), then normalized */
    tsf_metrics_spec ms = {.season = r.season, .groups = 0, .per_target = r.n_targets > 1};
    rc = tsf_metrics_compute(&mt, bt->fc, r.f, &ms, err);
    if (rc == TSF_OK && bt->fc_norm)
        rc = tsf_metrics_compute(&mt, bt->fc_norm, NULL, &ms, err);
    if (rc != TSF_OK)
        goto done;
    log_scores(ctx, mt, bt);
    rc = set_outputs(&r, bt, mt, desc, out, err);
    bt = NULL; /* the record owns it */
    mt = NULL;
done:
    tsf_backtest_free(bt);
    tsf_metrics_free(mt);
    bt_run_clear(&r);
    return rc;
}

const tsf_stage_def tsf_stage_backtest = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "backtest",
    .summary = "rolling-origin backtest of models against baselines, leak-free",
    .help = "Origins o_k = first_origin + k x stride. With timestamps (origins = times, the "
            "default) they are periods of the series' common frequency from the earliest first "
            "instant of any series, and fold k's cutoff is the period before o_k, shared by all "
            "series as in NeuralForecast's cross_validation: its fits and forecasts see no row "
            "of any series after the cutoff; each series is forecast from its next row, and a "
            "series without horizon rows after the cutoff, or with less history than a model "
            "needs (its lookback, the season for snaive), is not forecast there (logged). "
            "first_origin may be a time (2020-11-01) and train_length a duration (365D). "
            "With origins = rows (and with an integer index) they are row offsets in each "
            "series, for series aligned in time. Fold k is "
            "forecast by a model fitted on the rows before its fit origin (all of them, or the "
            "last train_length with window = sliding); retrain says how often to refit. Every "
            "fold works on a copy of the rows before its origin: imputation, scaling and the "
            "models are fitted there only, so changing a value after an origin never changes "
            "that fold's forecasts. Models come as inputs (inputs = data, lstm.model, split) "
            "and are refitted with their own architecture, loss, window columns and training "
            "recipe (early stopping then watches the training loss); the baselines run on the "
            "same folds. With a split input, origins cover its test part. "
            "The metrics hold every model and baseline (export.hdf5 adds skill columns against "
            "every baseline present).",
    .state_size = sizeof(bt_state),
    .options = options,
    .inputs = inputs,
    .outputs = outputs,
    .check = check,
    .run = run,
};
