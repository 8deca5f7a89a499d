/* impute: fill missing values (forward fill, linear, seasonal) or refuse them naming the rows;
 * reports the counts. With a split input each part is filled from its own rows and the rows
 * before it only, so no value of a later part leaks into an earlier one. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "prep_stages.h"
#include "tsflow/prep.h"
#include "tsflow/stage.h"

static const char *const methods[] = {"refuse", "ffill", "linear", "seasonal", NULL};

typedef struct impute_state {
    int method;
    size_t season;
    tsf_strings columns;
    int allow_unfilled;
} impute_state;

static const tsf_option options[] = {
    {.name = "method",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(impute_state, method),
     .def = "refuse",
     .choices = methods,
     .help = "refuse: fail naming the missing rows; ffill: last observed value; linear: "
             "straight line between the observed neighbours (a trailing gap carries the last "
             "value); seasonal: the value `season` rows earlier"},
    {.name = "season",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(impute_state, season),
     .def = "1",
     .min = 1,
     .max = 1e9,
     .help = "method = seasonal: rows per period (24 for a daily period in hourly data)"},
    {.name = "columns",
     .type = TSF_OPT_STRINGS,
     .offset = offsetof(impute_state, columns),
     .help = "columns to impute (default: all)"},
    {.name = "allow_unfilled",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(impute_state, allow_unfilled),
     .def = "false",
     .help = "leave values that cannot be filled (leading gaps) as NaN instead of failing"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "the series"},
    {.name = "split",
     .types = TSF_TYPE_BIT(TSF_TYPE_SPLIT),
     .flags = TSF_PORT_OPTIONAL,
     .help = "fill each part without looking at later parts"},
    TSF_PORT_END,
};

static const tsf_port outputs[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "the series, filled"},
    TSF_PORT_END,
};

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    impute_state *s = state;
    if (tsf_stage_option_set(ctx, "season") && s->method != TSF_IMPUTE_SEASONAL)
        return tsf_stage_fail_key(ctx, err, "season", TSF_EINVAL,
                                  "season is only used by method = seasonal");
    int rc = tsfs_check_columns(ctx, in[0], &s->columns, "columns", err);
    if (rc != TSF_OK)
        return rc;
    return tsf_meta_copy(ctx, out[0], in[0]);
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    impute_state *s = state;
    const tsf_split *sp = ctx->n_inputs > 1 && in[1] ? in[1]->ptr : NULL;
    tsf_frame *f = tsf_value_take(ctx, in[0]);
    int rc = TSF_OK;
    if (!f && (rc = tsf_frame_copy_rows(&f, in[0]->ptr, 0, ((const tsf_frame *)in[0]->ptr)->n_rows,
                                        err)) != TSF_OK)
        return rc;
    size_t *cols = NULL, n_cols = 0;
    size_t *nan_before = NULL;
    tsf_range *rows = malloc(f->n_series * sizeof *rows);
    if (!rows) {
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = tsfs_columns(ctx, f, &s->columns, "columns", 1, &cols, &n_cols, err)) != TSF_OK)
        goto done;
    if (!(nan_before = calloc(n_cols ? n_cols : 1, sizeof *nan_before))) {
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
        goto done;
    }
    if (sp && sp->n_series != f->n_series) {
        rc = tsf_err_set(err, TSF_EINVAL, "the split has %zu series, the frame %zu", sp->n_series,
                         f->n_series);
        goto done;
    }
    for (size_t k = 0; k < n_cols; k++)
        for (size_t r = 0; r < f->n_rows; r++)
            nan_before[k] += isnan(f->cols[cols[k]][r]) != 0;
    tsf_impute_spec spec = {.method = (tsf_impute_method)s->method,
                            .season = s->season,
                            .cols = cols,
                            .n_cols = n_cols,
                            .allow_unfilled = s->allow_unfilled};
    /* Without a split: every row at once. With one: the rows up to the end of train, then up
     * to the end of validation, then up to the end of test, then everything; each pass sees
     * only rows before its end and finds the earlier parts already filled. */
    int passes = sp ? TSF_N_PARTS + 1 : 1;
    for (int p = 0; p < passes && rc == TSF_OK; p++) {
        for (size_t q = 0; q < f->n_series; q++) {
            size_t a = f->series_start[q], b = f->series_start[q + 1];
            if (sp && p < TSF_N_PARTS && sp->part[p][q].end < b)
                b = sp->part[p][q].end > a ? sp->part[p][q].end : a;
            rows[q] = (tsf_range){a, b};
        }
        rc = tsf_impute(f, &spec, rows, NULL, err);
    }
    if (rc == TSF_OK) {
        size_t missing = 0, filled = 0;
        char detail[512] = "";
        size_t len = 0;
        for (size_t k = 0; k < n_cols; k++) {
            size_t left = 0;
            for (size_t r = 0; r < f->n_rows; r++)
                left += isnan(f->cols[cols[k]][r]) != 0;
            missing += nan_before[k];
            filled += nan_before[k] - left;
            if (nan_before[k] && len < sizeof detail)
                len += (size_t)snprintf(detail + len, sizeof detail - len, "%s%s %zu/%zu",
                                        len ? ", " : "", f->col_names[cols[k]],
                                        nan_before[k] - left, nan_before[k]);
        }
        if (missing == 0)
            tsf_stage_log(ctx, TSF_LOG_INFO, "no missing values");
        else
            tsf_stage_log(ctx, TSF_LOG_INFO, "%s: filled %zu of %zu missing values (%s)",
                          methods[s->method], filled, missing, detail);
    }
done:
    free(cols);
    free(nan_before);
    free(rows);
    if (rc != TSF_OK) {
        tsf_frame_free(f);
        return rc;
    }
    return tsf_value_set(ctx, out[0], f, tsf_free_frame);
}

const tsf_stage_def tsf_stage_impute = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "impute",
    .summary = "fill missing values (ffill, linear, seasonal) or refuse them naming the rows",
    .help = "Counts are reported per column. With a split as second input (inputs = data, "
            "split) the train rows are filled first from train rows only, then validation from "
            "the rows before its end, then test: a later part never informs an earlier one.",
    .state_size = sizeof(impute_state),
    .options = options,
    .inputs = inputs,
    .outputs = outputs,
    .check = check,
    .run = run,
};
