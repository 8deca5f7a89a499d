/* boxcox: the Box-Cox transform of frame columns, as a tsflow plugin.
 *
 * The example of examples/plugins/README.md: a third-party stage that includes only
 * tsflow/stage.h (and tsflow/frame.h through it), built out of tree against the installed
 * tsflow.pc and loaded with `tsflow run --plugin ./boxcox.so pipeline.ini`.
 *
 *     y = ((x + shift)^lambda - 1) / lambda    (lambda != 0)
 *     y = log(x + shift)                       (lambda == 0)
 *
 * Box-Cox needs x + shift > 0: a value that is not is an error naming the column, the row and
 * its time. NaN (missing) stays NaN. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <tsflow/stage.h>

typedef struct boxcox {
    double lambda;
    double shift;
    tsf_strings columns; /* empty: every column */
} boxcox;

static const tsf_option options[] = {
    {.name = "lambda",
     .type = TSF_OPT_DOUBLE,
     .offset = offsetof(boxcox, lambda),
     .def = "0",
     .min = -5,
     .max = 5,
     .help = "the Box-Cox exponent; 0 is the natural logarithm"},
    {.name = "shift",
     .type = TSF_OPT_DOUBLE,
     .offset = offsetof(boxcox, shift),
     .def = "0",
     .min = -1e12,
     .max = 1e12,
     .help = "added to every value first, to make the values positive"},
    {.name = "columns",
     .type = TSF_OPT_STRINGS,
     .offset = offsetof(boxcox, columns),
     .help = "the columns to transform (default: all)"},
    TSF_OPTION_END,
};

static const tsf_port frame_in[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "positive series"},
    TSF_PORT_END,
};

static const tsf_port frame_out[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "the transformed series"},
    TSF_PORT_END,
};

/* check: same shape as the input; the named columns must exist when the input's are known. */
static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    const boxcox *s = state;
    int rc = tsf_meta_copy(ctx, out[0], in[0]);
    if (rc != TSF_OK || !in[0]->col_names)
        return rc;
    for (size_t i = 0; i < s->columns.n; i++) {
        const char *name = s->columns.v[i];
        int found = 0;
        for (int64_t j = 0; j < in[0]->cols && !found; j++)
            found = !strcmp(in[0]->col_names[j], name);
        if (found)
            continue;
        const char *near = tsf_stage_suggest(ctx, name, in[0]->col_names, (size_t)in[0]->cols);
        if (near)
            return tsf_stage_fail_key(ctx, err, "columns", TSF_EINVAL,
                                      "the input has no column \"%s\" (did you mean "
                                      "\"%s\"?)",
                                      name, near);
        return tsf_stage_fail_key(ctx, err, "columns", TSF_EINVAL, "the input has no column \"%s\"",
                                  name);
    }
    return TSF_OK;
}

static int transform(tsf_stage_ctx *ctx, const boxcox *s, tsf_frame *f, size_t j, tsf_err *err)
{
    double *x = f->cols[j];
    for (size_t r = 0; r < f->n_rows; r++) {
        if ((r & 0xffff) == 0 && tsf_stage_cancelled(ctx))
            return tsf_err_set(err, TSF_ECANCEL, "interrupted");
        double v = x[r] + s->shift;
        if (isnan(v))
            continue;
        if (!(v > 0)) {
            char t[32];
            tsf_time_format(f->time_kind, f->time[r], t, sizeof t);
            return tsf_err_set(err, TSF_ENUMERIC,
                               "column \"%s\", row %zu (%s): %g + shift %g = %g is not positive "
                               "(expected values > 0 for Box-Cox; raise shift)",
                               f->col_names[j], r, t, x[r], s->shift, v);
        }
        x[r] = s->lambda == 0 ? log(v) : (pow(v, s->lambda) - 1) / s->lambda;
    }
    return TSF_OK;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    const boxcox *s = state;
    /* Transform in place when we are the input's last reader; copy otherwise. */
    tsf_frame *f = tsf_value_take(ctx, in[0]);
    int rc = TSF_OK;
    if (!f) {
        const tsf_frame *src = in[0]->ptr;
        if ((rc = tsf_frame_copy_rows(&f, src, 0, src->n_rows, err)) != TSF_OK)
            return rc;
    }
    size_t n = s->columns.n ? s->columns.n : f->n_cols;
    for (size_t i = 0; i < n && rc == TSF_OK; i++) {
        size_t j = i;
        if (s->columns.n) {
            j = tsf_frame_col_index(f, s->columns.v[i]);
            if (j == (size_t)-1) {
                rc =
                    tsf_err_set(err, TSF_EINVAL, "the input has no column \"%s\"", s->columns.v[i]);
                break;
            }
        }
        rc = transform(ctx, s, f, j, err);
        tsf_progress p = TSF_PROGRESS_INIT;
        p.fraction = (double)(i + 1) / (double)n;
        tsf_stage_progress(ctx, &p);
    }
    if (rc != TSF_OK) {
        tsf_frame_free(f);
        return rc;
    }
    return tsf_value_set(ctx, out[0], f, tsf_free_frame);
}

static const tsf_stage_def boxcox_stage = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "boxcox",
    .summary = "Box-Cox transform of frame columns (example plugin)",
    .help = "Replaces each value x of the chosen columns by ((x + shift)^lambda - 1) / lambda, "
            "or log(x + shift) when lambda is 0. Every transformed value must be positive after "
            "the shift; missing values stay missing.",
    .state_size = sizeof(boxcox),
    .options = options,
    .inputs = frame_in,
    .outputs = frame_out,
    .check = check,
    .run = run,
};

TSF_PLUGIN_STAGES(&boxcox_stage)
