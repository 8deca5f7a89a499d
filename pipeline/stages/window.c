/* window: (lookback, horizon) windows over a frame, as views (only origins are stored), over
 * all rows or one part of a split, with targets, past and known-future covariates, calendar
 * features and optional channel independence. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prep_stages.h"
#include "tsflow/stage.h"
#include "tsflow/window.h"

typedef struct window_state {
    size_t lookback;
    size_t season;
    size_t horizon;
    size_t stride;
    tsf_strings targets;
    tsf_strings past;
    tsf_strings future;
    tsf_enums calendar;
    int channel_independent;
    int part;
    int require_finite;
    unsigned cal_flags; /* from check */
} window_state;

/* In the order of tsf_window_spec.calendar's bits. */
static const char *const cal_names[] = {"minute",  "hour",  "weekday", "monthday",
                                        "yearday", "month", NULL};

static const tsf_option options[] = {
    {.name = "lookback",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(window_state, lookback),
     .def = "0",
     .min = 0,
     .max = 1e9,
     .help = "input steps before each origin (0: from the season and the rows: a season, or the "
             "horizon if longer (twice the horizon without a season), doubled when 100 windows "
             "remain, shortened to keep 8 windows; counted on the shortest train part of the "
             "split, so that train and validation windows agree)"},
    {.name = "season",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(window_state, season),
     .def = "0",
     .min = 0,
     .max = 1e9,
     .help = "rows per season, for lookback = 0 (0 or 1: none)"},
    {.name = "horizon",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(window_state, horizon),
     .min = 1,
     .max = 1e9,
     .flags = TSF_OPT_REQUIRED,
     .help = "steps forecast from each origin"},
    {.name = "stride",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(window_state, stride),
     .def = "1",
     .min = 1,
     .max = 1e9,
     .help = "rows between consecutive origins"},
    {.name = "targets",
     .type = TSF_OPT_STRINGS,
     .offset = offsetof(window_state, targets),
     .help = "columns to forecast, also inputs (default: every column not named as a "
             "covariate)"},
    {.name = "past",
     .type = TSF_OPT_STRINGS,
     .offset = offsetof(window_state, past),
     .help = "covariates known only up to the origin"},
    {.name = "future",
     .type = TSF_OPT_STRINGS,
     .offset = offsetof(window_state, future),
     .help = "covariates known over the horizon too (planned values, holidays)"},
    {.name = "calendar",
     .type = TSF_OPT_ENUMS,
     .offset = offsetof(window_state, calendar),
     .choices = cal_names,
     .help = "calendar features from the timestamps, each in [-0.5, 0.5]"},
    {.name = "channel_independent",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(window_state, channel_independent),
     .def = "false",
     .help = "each target of each window is a separate sample (shared weights across series)"},
    {.name = "part",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(window_state, part),
     .def = "all",
     .choices = tsfs_parts,
     .help = "origins in all rows or in one part of the split input (the lookback may reach "
             "into earlier rows)"},
    {.name = "require_finite",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(window_state, require_finite),
     .def = "true",
     .help = "refuse windows with NaN in their inputs or targets, naming series, row and "
             "column"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "the series"},
    {.name = "split",
     .types = TSF_TYPE_BIT(TSF_TYPE_SPLIT),
     .flags = TSF_PORT_OPTIONAL,
     .help = "for part = train, validation or test"},
    TSF_PORT_END,
};

static const tsf_port outputs[] = {
    {.name = "windows", .types = TSF_TYPE_BIT(TSF_TYPE_WINDOWS), .help = "views into the frame"},
    TSF_PORT_END,
};

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    window_state *s = state;
    int has_split = ctx->n_inputs > 1 && in[1];
    if (s->part != TSFS_PART_ALL && !has_split)
        return tsf_stage_fail_key(ctx, err, "part", TSF_EINVAL,
                                  "part = %s needs a split as second input (inputs = data, split)",
                                  tsfs_parts[s->part]);
    s->cal_flags = tsf_enums_mask(&s->calendar);
    if (s->cal_flags && in[0]->time_kind == TSF_TIME_INDEX)
        return tsf_stage_fail_key(ctx, err, "calendar", TSF_EINVAL,
                                  "calendar features need timestamps, but the frame has a plain "
                                  "integer index");
    const char *keys[] = {"targets", "past", "future"};
    const tsf_strings *lists[] = {&s->targets, &s->past, &s->future};
    for (int k = 0; k < 3; k++) {
        int rc = tsfs_check_columns(ctx, in[0], lists[k], keys[k], err);
        if (rc != TSF_OK)
            return rc;
    }
    int64_t shortest = in[0]->min_series_rows;
    if (s->lookback && shortest != TSF_UNKNOWN && (int64_t)(s->lookback + s->horizon) > shortest)
        return tsf_stage_fail_key(ctx, err, "lookback", TSF_EINVAL,
                                  "lookback %zu + horizon %zu is longer than the %lld rows of "
                                  "the shortest series (expected lookback + horizon <= %lld)",
                                  s->lookback, s->horizon, (long long)shortest,
                                  (long long)shortest);
    tsf_meta *m = out[0];
    m->n_series = in[0]->n_series;
    m->lookback = s->lookback ? (int64_t)s->lookback : TSF_UNKNOWN; /* 0: chosen at run */
    m->horizon = (int64_t)s->horizon;
    if (in[0]->cols != TSF_UNKNOWN) {
        size_t n_cal = 0;
        for (unsigned b = s->cal_flags; b; b &= b - 1)
            n_cal++;
        size_t n_t = s->targets.n ? s->targets.n : (size_t)in[0]->cols - s->past.n - s->future.n;
        size_t per = s->channel_independent ? 1 : n_t;
        m->n_inputs = (int64_t)(per + s->past.n + s->future.n + n_cal);
        m->n_outputs = (int64_t)per;
    }
    return TSF_OK;
}

/* Default targets: every column not named as a covariate. */
static int default_targets(const tsf_frame *f, const size_t *past, size_t n_past, const size_t *fut,
                           size_t n_fut, size_t **cols, size_t *n, tsf_err *err)
{
    size_t *c = malloc((f->n_cols ? f->n_cols : 1) * sizeof *c), k = 0;
    if (!c)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    for (size_t j = 0; j < f->n_cols; j++) {
        int cov = 0;
        for (size_t i = 0; i < n_past; i++)
            cov |= past[i] == j;
        for (size_t i = 0; i < n_fut; i++)
            cov |= fut[i] == j;
        if (!cov)
            c[k++] = j;
    }
    *cols = c;
    *n = k;
    return TSF_OK;
}

/* lookback = 0: the rule of the option's help, on n rows (the shortest train part); why gets
 * the reason. The season (or the horizon) lets the network see a whole cycle; a longer input
 * helps only when there are windows enough to learn from it; too few windows is worse than a
 * shorter input. */
static size_t choose_lookback(size_t season, size_t h, size_t n, char *why, size_t n_why)
{
    size_t base = season > 1 ? (season > h ? season : h) : 2 * h;
    const char *what = season > 1 ? (season >= h ? "a season" : "the horizon") : "2 x horizon";
    size_t lb = base;
    if (n >= 2 * base + h - 1 + 100) {
        lb = 2 * base;
        snprintf(why, n_why, "2 x %s (%zu), as %zu rows leave %zu windows", what, base, n,
                 n - lb - h + 1);
    } else if (n >= base + h - 1 + 8) {
        snprintf(why, n_why, "%s, leaving %zu windows in %zu rows", what, n - lb - h + 1, n);
    } else {
        lb = n > h + 8 ? n - h - 7 : 1;
        snprintf(why, n_why, "shortened from %s (%zu) to keep %zu windows in %zu rows", what, base,
                 n >= lb + h ? n - lb - h + 1 : 0, n);
    }
    return lb;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    window_state *s = state;
    const tsf_frame *f = in[0]->ptr;
    const tsf_split *sp = ctx->n_inputs > 1 && in[1] ? in[1]->ptr : NULL;
    size_t *tc = NULL, *pc = NULL, *fc = NULL, nt = 0, np = 0, nf = 0;
    tsf_range *ranges = NULL;
    tsf_windows *w = NULL;
    int rc = tsfs_columns(ctx, f, &s->past, "past", 0, &pc, &np, err);
    if (rc == TSF_OK)
        rc = tsfs_columns(ctx, f, &s->future, "future", 0, &fc, &nf, err);
    if (rc == TSF_OK)
        rc = s->targets.n ? tsfs_columns(ctx, f, &s->targets, "targets", 0, &tc, &nt, err)
                          : default_targets(f, pc, np, fc, nf, &tc, &nt, err);
    if (rc != TSF_OK)
        goto done;
    if (sp && sp->n_series != f->n_series) {
        rc = tsf_err_set(err, TSF_EINVAL, "the split has %zu series, the frame %zu", sp->n_series,
                         f->n_series);
        goto done;
    }
    if (!(ranges = malloc(f->n_series * sizeof *ranges))) {
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t q = 0; q < f->n_series; q++)
        ranges[q] = s->part == TSFS_PART_ALL
                        ? (tsf_range){f->series_start[q], f->series_start[q + 1]}
                        : sp->part[s->part - 1][q];
    size_t lookback = s->lookback;
    if (!lookback) {
        size_t n = SIZE_MAX;
        for (size_t q = 0; q < f->n_series; q++) {
            tsf_range r = sp ? sp->part[TSF_PART_TRAIN][q]
                             : (tsf_range){f->series_start[q], f->series_start[q + 1]};
            if (r.end > r.begin && r.end - r.begin < n)
                n = r.end - r.begin;
        }
        char why[160];
        lookback = choose_lookback(s->season, s->horizon, n == SIZE_MAX ? 0 : n, why, sizeof why);
        tsf_stage_log(ctx, TSF_LOG_INFO, "lookback %zu: %s", lookback, why);
    }
    tsf_window_spec spec = {.lookback = lookback,
                            .horizon = s->horizon,
                            .stride = s->stride,
                            .target_cols = tc,
                            .n_targets = nt,
                            .past_cols = pc,
                            .n_past = np,
                            .future_cols = fc,
                            .n_future = nf,
                            .calendar = s->cal_flags,
                            .channel_independent = s->channel_independent};
    rc = tsf_windows_make_ranges(&w, f, &spec, ranges, s->require_finite, err);
    if (rc == TSF_OK)
        tsf_stage_log(ctx, TSF_LOG_INFO,
                      "%zu window%s (%zu samples) of %zu input%s x %zu steps -> %zu output%s x "
                      "%zu steps%s%s",
                      w->n_windows, w->n_windows == 1 ? "" : "s", w->n_samples, w->n_inputs,
                      w->n_inputs == 1 ? "" : "s", lookback, w->n_outputs,
                      w->n_outputs == 1 ? "" : "s", s->horizon, s->part ? ", part " : "",
                      s->part ? tsfs_parts[s->part] : "");
done:
    free(tc);
    free(pc);
    free(fc);
    free(ranges);
    if (rc != TSF_OK)
        return rc;
    rc = tsf_value_set(ctx, out[0], w, tsfs_free_windows);
    if (rc == TSF_OK)
        rc = tsf_value_keep(ctx, out[0], in[0]);
    return rc;
}

const tsf_stage_def tsf_stage_window = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "window",
    .summary = "cut (lookback, horizon) windows as views into a frame",
    .help = "A window with origin t reads rows [t - lookback, t) and forecasts [t, t + horizon) "
            "of one series; only origins are stored. Inputs per step are the targets, past "
            "covariates, future covariates and calendar features, in that order.",
    .state_size = sizeof(window_state),
    .options = options,
    .inputs = inputs,
    .outputs = outputs,
    .check = check,
    .run = run,
};
