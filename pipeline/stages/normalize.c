/* normalize: z-score, min-max or robust scaling (optionally after log or Box-Cox), per column
 * and optionally per series, fitted on the train part of a split only and applied to every
 * row; outputs the scaled frame and the scaler (to map forecasts back). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "prep_stages.h"
#include "tsflow/scale.h"
#include "tsflow/stage.h"

static const char *const methods[] = {"none", "zscore", "minmax", "robust", NULL};
static const char *const transforms[] = {"none", "log", "boxcox", NULL};
static const char *const constants[] = {"error", "center", NULL};
static const char *const fits[] = {"train", "all", NULL};

typedef struct normalize_state {
    int method;
    int transform;
    tsf_doubles lambda;
    int per_series;
    int constant;
    tsf_strings columns;
    int fit;
} normalize_state;

static const tsf_option options[] = {
    {.name = "method",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(normalize_state, method),
     .def = "zscore",
     .choices = methods,
     .help = "zscore: mean and population std (ddof 0, the ETT protocol); minmax: to [0, 1]; "
             "robust: median and interquartile range; none: only the transform"},
    {.name = "transform",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(normalize_state, transform),
     .def = "none",
     .choices = transforms,
     .help = "applied before scaling: log (values must be > 0) or Box-Cox (> 0)"},
    {.name = "lambda",
     .type = TSF_OPT_DOUBLES,
     .offset = offsetof(normalize_state, lambda),
     .min = -10,
     .max = 10,
     .help = "transform = boxcox: a fixed lambda (default: maximum likelihood per column on "
             "the training rows, as scipy.stats.boxcox)"},
    {.name = "per_series",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(normalize_state, per_series),
     .def = "false",
     .help = "separate parameters for each series (default: one per column over all series)"},
    {.name = "constant",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(normalize_state, constant),
     .def = "error",
     .choices = constants,
     .help = "a column with zero spread on the training rows: error, or center (subtract the "
             "center, scale 1)"},
    {.name = "columns",
     .type = TSF_OPT_STRINGS,
     .offset = offsetof(normalize_state, columns),
     .help = "columns to scale (default: all)"},
    {.name = "fit",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(normalize_state, fit),
     .def = "train",
     .choices = fits,
     .help = "rows the parameters come from: train (the split input's train part) or all"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "the series"},
    {.name = "split",
     .types = TSF_TYPE_BIT(TSF_TYPE_SPLIT),
     .flags = TSF_PORT_OPTIONAL,
     .help = "fit on its train part"},
    TSF_PORT_END,
};

static const tsf_port outputs[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "the scaled series"},
    {.name = "scaler", .types = TSF_TYPE_BIT(TSF_TYPE_SCALER), .help = "the fitted scaler"},
    TSF_PORT_END,
};

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    normalize_state *s = state;
    int has_split = ctx->n_inputs > 1 && in[1];
    if (s->fit == 0 && !has_split)
        return tsf_stage_fail_key(ctx, err, "fit", TSF_EINVAL,
                                  "fit = train needs a split as second input (inputs = data, "
                                  "split), or set fit = all");
    if (s->lambda.n > 1)
        return tsf_stage_fail_key(ctx, err, "lambda", TSF_EINVAL,
                                  "%zu values given (expected one lambda)", s->lambda.n);
    if (s->lambda.n && s->transform != TSF_PRE_BOXCOX)
        return tsf_stage_fail_key(ctx, err, "lambda", TSF_EINVAL,
                                  "lambda is only used by transform = boxcox");
    if (s->method == TSF_SCALE_NONE && s->transform == TSF_PRE_NONE)
        return tsf_stage_fail_key(ctx, err, "method", TSF_EINVAL,
                                  "method = none and transform = none change nothing");
    int rc = tsfs_check_columns(ctx, in[0], &s->columns, "columns", err);
    if (rc == TSF_OK)
        rc = tsf_meta_copy(ctx, out[0], in[0]);
    if (rc == TSF_OK)
        out[1]->n_series = in[0]->n_series;
    return rc;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    normalize_state *s = state;
    const tsf_frame *src = in[0]->ptr;
    const tsf_split *sp = ctx->n_inputs > 1 && in[1] ? in[1]->ptr : NULL;
    if (sp && sp->n_series != src->n_series)
        TSF_FAIL(err, TSF_EINVAL, "the split has %zu series, the frame %zu", sp->n_series,
                 src->n_series);
    size_t *cols = NULL, n_cols = 0;
    int rc = tsfs_columns(ctx, src, &s->columns, "columns", 1, &cols, &n_cols, err);
    if (rc != TSF_OK)
        return rc;
    tsf_scale_spec spec;
    tsf_scale_spec_init(&spec);
    spec.kind = (tsf_scale_kind)s->method;
    spec.pre = (tsf_scale_pre)s->transform;
    spec.boxcox_lambda = s->lambda.n ? s->lambda.v[0] : NAN;
    spec.per_series = s->per_series;
    spec.on_constant = (tsf_scale_constant)s->constant;
    spec.cols = cols;
    spec.n_cols = n_cols;
    tsf_scaler *sc = NULL;
    rc = tsf_scaler_fit(&sc, src, &spec, s->fit == 0 ? sp->part[TSF_PART_TRAIN] : NULL, err);
    free(cols);
    if (rc != TSF_OK)
        return rc;
    tsf_frame *f = tsf_value_take(ctx, in[0]);
    if (!f && (rc = tsf_frame_copy_rows(&f, src, 0, src->n_rows, err)) != TSF_OK) {
        tsf_scaler_free(sc);
        return rc;
    }
    if ((rc = tsf_scaler_apply(sc, f, NULL, err)) != TSF_OK) {
        tsf_scaler_free(sc);
        tsf_frame_free(f);
        return rc;
    }
    if (f->n_series == 1 && sc->n_groups == 1) {
        char msg[900];
        size_t len = 0;
        for (size_t k = 0; k < sc->spec.n_cols && len < sizeof msg; k++)
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s %.6g/%.6g", k ? ", " : "",
                                    f->col_names[sc->spec.cols[k]], sc->center[k], sc->scale[k]);
        tsf_stage_log(ctx, TSF_LOG_INFO, "%s fitted on rows [%zu, %zu) (center/scale): %s",
                      methods[s->method], sc->fit[0].begin, sc->fit[0].end, msg);
    } else {
        tsf_stage_log(ctx, TSF_LOG_INFO, "%s fitted on %s rows of %zu series%s", methods[s->method],
                      s->fit == 0 ? "the train" : "all", f->n_series,
                      sc->n_groups > 1 ? ", per series" : "");
    }
    rc = tsf_value_set(ctx, out[0], f, tsf_free_frame);
    if (rc != TSF_OK) {
        tsf_scaler_free(sc);
        return rc;
    }
    return tsf_value_set(ctx, out[1], sc, tsfs_free_scaler);
}

const tsf_stage_def tsf_stage_normalize = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "normalize",
    .summary = "scale columns (z-score, min-max, robust; log or Box-Cox first), fitted on "
               "training rows",
    .help = "Parameters come from the train part of the split input only (fit = train) and are "
            "applied to every row; the scaler output maps forecasts back to the original "
            "scale. A column with zero spread on the training rows is an error unless "
            "constant = center. Per-window instance normalization (subtract each window's last "
            "value or mean) is an option of the model, not of this stage.",
    .state_size = sizeof(normalize_state),
    .options = options,
    .inputs = inputs,
    .outputs = outputs,
    .check = check,
    .run = run,
};
