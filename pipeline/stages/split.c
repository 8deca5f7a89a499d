/* split: train / validation / test row ranges per series (tsf_split, no copy), by share, by
 * row, by time, or the ETT standard split. Later steps take the split as a second input:
 * `inputs = data, split` (normalize fits on the train part, window cuts one part). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "prep_stages.h"
#include "tsflow/prep.h"
#include "tsflow/stage.h"

enum { BY_FRACTION, BY_ROWS, BY_TIME, BY_ETT };
static const char *const by_names[] = {"fraction", "rows", "time", "ett", NULL};

typedef struct split_state {
    int by;
    tsf_doubles fractions;
    size_t min_validation_rows;
    tsf_doubles rows;
    tsf_strings times;
    size_t rows_per_day;
    tsf_split_spec spec; /* built by check */
} split_state;

static const tsf_option options[] = {
    {.name = "by",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(split_state, by),
     .def = "fraction",
     .choices = by_names,
     .help = "fraction: shares of each series; rows: row offsets; time: timestamps; ett: the "
             "ETT papers' split (12/4/4 months of 30 days)"},
    {.name = "fractions",
     .type = TSF_OPT_DOUBLES,
     .offset = offsetof(split_state, fractions),
     .def = "0.7, 0.1, 0.2",
     .min = 0,
     .max = 1,
     .help = "by = fraction: train, validation and test shares (sum at most 1); a series of n "
             "rows is cut at floor(n x cumulative share)"},
    {.name = "min_validation_rows",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(split_state, min_validation_rows),
     .def = "0",
     .min = 0,
     .max = 1e12,
     .help = "by = fraction: a validation part (share > 0) takes at least this many rows from "
             "the end of the train part; set it to the horizon so that short series keep a "
             "validation window (0: off)"},
    {.name = "rows",
     .type = TSF_OPT_DOUBLES,
     .offset = offsetof(split_state, rows),
     .min = 1,
     .max = 1e15,
     .help = "by = rows: where train and validation end, and optionally where test ends, as "
             "row offsets from each series' first row (ETTh1: 8640, 11520, 14400)"},
    {.name = "times",
     .type = TSF_OPT_STRINGS,
     .offset = offsetof(split_state, times),
     .help = "by = time: the first timestamp of validation and of test, and optionally the end "
             "of test (ISO 8601, e.g. 2017-07-01)"},
    {.name = "rows_per_day",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(split_state, rows_per_day),
     .def = "24",
     .min = 1,
     .max = 86400,
     .help = "by = ett: 24 for hourly files (ETTh: 8640/11520/14400), 96 for 15-minute ones"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "the series to split"},
    TSF_PORT_END,
};

static const tsf_port outputs[] = {
    {.name = "split", .types = TSF_TYPE_BIT(TSF_TYPE_SPLIT), .help = "row ranges per part"},
    TSF_PORT_END,
};

static int whole_rows(tsf_stage_ctx *ctx, double v, tsf_err *err)
{
    if (v != (double)(size_t)v)
        return tsf_stage_fail_key(ctx, err, "rows", TSF_EINVAL,
                                  "%g is not a whole row number (expected an integer)", v);
    return TSF_OK;
}

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    split_state *s = state;
    tsf_split_spec *sp = &s->spec;
    int rc = TSF_OK;
    *sp = (tsf_split_spec){0};
    switch (s->by) {
    case BY_FRACTION:
        if (s->fractions.n != 3)
            return tsf_stage_fail_key(ctx, err, "fractions", TSF_EINVAL,
                                      "%zu shares given (expected 3: train, validation, test)",
                                      s->fractions.n);
        sp->kind = TSF_SPLIT_FRACTION;
        for (int p = 0; p < 3; p++)
            sp->fraction[p] = s->fractions.v[p];
        sp->min_validation_rows = s->min_validation_rows;
        if (sp->fraction[0] + sp->fraction[1] + sp->fraction[2] > 1 + 1e-9)
            return tsf_stage_fail_key(ctx, err, "fractions", TSF_EINVAL,
                                      "shares %g + %g + %g add up to more than 1", sp->fraction[0],
                                      sp->fraction[1], sp->fraction[2]);
        if (sp->fraction[0] <= 0)
            return tsf_stage_fail_key(ctx, err, "fractions", TSF_EINVAL,
                                      "the train share must be positive");
        break;
    case BY_ROWS:
        if (s->rows.n != 2 && s->rows.n != 3)
            return tsf_stage_fail_key(ctx, err, "rows", TSF_EINVAL,
                                      "%zu boundaries given (expected 2 or 3: end of train, end "
                                      "of validation[, end of test])",
                                      s->rows.n);
        sp->kind = TSF_SPLIT_ROWS;
        for (size_t k = 0; k < s->rows.n && rc == TSF_OK; k++)
            rc = whole_rows(ctx, s->rows.v[k], err);
        if (rc != TSF_OK)
            return rc;
        sp->rows[0] = 0;
        sp->rows[1] = (size_t)s->rows.v[0];
        sp->rows[2] = (size_t)s->rows.v[1];
        sp->rows[3] = s->rows.n == 3 ? (size_t)s->rows.v[2] : TSF_SPLIT_END;
        if (sp->rows[1] > sp->rows[2] || sp->rows[2] > sp->rows[3])
            return tsf_stage_fail_key(ctx, err, "rows", TSF_EINVAL,
                                      "boundaries are not increasing (expected end of train <= "
                                      "end of validation <= end of test)");
        break;
    case BY_TIME:
        if (s->times.n != 2 && s->times.n != 3)
            return tsf_stage_fail_key(ctx, err, "times", TSF_EINVAL,
                                      "%zu timestamps given (expected 2 or 3: start of "
                                      "validation, start of test[, end of test])",
                                      s->times.n);
        sp->kind = TSF_SPLIT_TIME;
        sp->times[0] = INT64_MIN;
        sp->times[3] = INT64_MAX;
        for (size_t k = 0; k < s->times.n; k++) {
            const char *t = s->times.v[k];
            if (tsf_time_parse_iso(t, strlen(t), &sp->times[k + 1], NULL) != 1)
                return tsf_stage_fail_key(ctx, err, "times", TSF_EINVAL,
                                          "\"%s\" is not a timestamp (expected ISO 8601 like "
                                          "2017-07-01 or 2017-07-01 12:00:00)",
                                          t);
        }
        if (sp->times[1] > sp->times[2] || sp->times[2] > sp->times[3])
            return tsf_stage_fail_key(ctx, err, "times", TSF_EINVAL,
                                      "timestamps are not increasing");
        if (in[0]->time_kind == TSF_TIME_INDEX)
            return tsf_stage_fail_key(ctx, err, "by", TSF_EINVAL,
                                      "by = time needs timestamps, but the frame has a plain "
                                      "integer index (use by = rows)");
        break;
    case BY_ETT:
        tsf_split_spec_ett(sp, s->rows_per_day);
        break;
    }
    if (sp->kind == TSF_SPLIT_ROWS && sp->rows[3] != TSF_SPLIT_END &&
        in[0]->min_series_rows != TSF_UNKNOWN && (int64_t)sp->rows[3] > in[0]->min_series_rows)
        return tsf_stage_fail_key(ctx, err, s->by == BY_ETT ? "by" : "rows", TSF_EINVAL,
                                  "the test part ends at row %zu, but the shortest series has "
                                  "%lld rows",
                                  sp->rows[3], (long long)in[0]->min_series_rows);
    out[0]->n_series = in[0]->n_series;
    if (sp->kind == TSF_SPLIT_ROWS) {
        char end[32] = "end";
        if (sp->rows[3] != TSF_SPLIT_END)
            snprintf(end, sizeof end, "%zu", sp->rows[3]);
        return tsf_meta_set_note(ctx, out[0],
                                 "train [0, %zu), validation [%zu, %zu), test [%zu, %s)",
                                 sp->rows[1], sp->rows[1], sp->rows[2], sp->rows[2], end);
    }
    return TSF_OK;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    split_state *s = state;
    const tsf_frame *f = in[0]->ptr;
    tsf_split *sp;
    int rc = tsf_split_make(&sp, f, &s->spec, err);
    if (rc != TSF_OK)
        return rc;
    size_t n[TSF_N_PARTS] = {0, 0, 0};
    for (int p = 0; p < TSF_N_PARTS; p++)
        for (size_t q = 0; q < sp->n_series; q++)
            n[p] += sp->part[p][q].end - sp->part[p][q].begin;
    if (sp->n_series == 1)
        tsf_stage_log(ctx, TSF_LOG_INFO,
                      "train rows [%zu, %zu), validation [%zu, %zu), test [%zu, %zu)",
                      sp->part[0][0].begin, sp->part[0][0].end, sp->part[1][0].begin,
                      sp->part[1][0].end, sp->part[2][0].begin, sp->part[2][0].end);
    else
        tsf_stage_log(ctx, TSF_LOG_INFO,
                      "%zu series: %zu train, %zu validation and %zu test rows in all",
                      sp->n_series, n[0], n[1], n[2]);
    return tsf_value_set(ctx, out[0], sp, tsfs_free_split);
}

const tsf_stage_def tsf_stage_split = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "split",
    .summary = "cut each series into train, validation and test rows (ranges, not copies)",
    .help = "The split is a set of row ranges per series. normalize fits its scaler on the train "
            "part and window cuts windows of one part (inputs = data, split). Test windows may "
            "read their lookback from earlier rows, as the ETT protocol does.",
    .state_size = sizeof(split_state),
    .options = options,
    .inputs = inputs,
    .outputs = outputs,
    .check = check,
    .run = run,
};
