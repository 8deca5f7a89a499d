/* Test-only stages: sources, transforms, views, sinks, a slow stage that writes an output
 * atomically, failures on demand, a length constraint, and one option of every type. See
 * tsft_stages.h. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tsflow/atomic.h"
#include "tsflow/stage.h"
#include "tsft_stages.h"

static char events[16384];

const char *tsft_events(void)
{
    return events;
}

void tsft_events_reset(void)
{
    events[0] = '\0';
}

static void event(const char *what, const char *who)
{
    size_t n = strlen(events);
    snprintf(events + n, sizeof events - n, "%s%s %s", n ? " " : "", what, who);
}

/* Frames made here carry their maker's step name as their first column's name. */
static void free_logged(void *p)
{
    tsf_frame *f = p;
    event("free", f->col_names[0]);
    tsf_frame_free(f);
}

static int rename_first(tsf_frame *f, const char *name, tsf_err *err)
{
    char *s = strdup(name);
    if (!s)
        return tsf_err_set(err, TSF_ENOMEM, "out of memory");
    free(f->col_names[0]);
    f->col_names[0] = s;
    return TSF_OK;
}

static const tsf_port frame_port[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "a frame"},
    TSF_PORT_END,
};

/* ---- test.source -------------------------------------------------------------------------- */

typedef struct source {
    size_t rows, cols;
} source;

static const tsf_option source_options[] = {
    {.name = "rows",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(source, rows),
     .def = "10",
     .min = 0,
     .max = 1e9,
     .help = "rows to make"},
    {.name = "cols",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(source, cols),
     .def = "1",
     .min = 1,
     .max = 16,
     .help = "columns to make"},
    TSF_OPTION_END,
};

static int source_check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in,
                        tsf_meta *const *out, tsf_err *err)
{
    (void)in;
    (void)err;
    const source *s = state;
    const char *names[16];
    char buf[16][32];
    for (size_t j = 0; j < s->cols; j++) {
        snprintf(buf[j], sizeof buf[j], "v%zu", j);
        names[j] = j ? buf[j] : ctx->step;
    }
    out[0]->rows = (int64_t)s->rows;
    out[0]->n_series = 1;
    out[0]->min_series_rows = (int64_t)s->rows;
    out[0]->time_kind = TSF_TIME_INDEX;
    out[0]->step = 1;
    return tsf_meta_set_columns(ctx, out[0], s->cols, names);
}

static int source_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
                      tsf_err *err)
{
    (void)in;
    const source *s = state;
    tsf_frame *f = NULL;
    int rc = tsf_frame_alloc(&f, s->cols, NULL, s->rows ? s->rows : 1, err);
    if (rc != TSF_OK)
        return rc;
    if ((rc = rename_first(f, ctx->step, err)) != TSF_OK) {
        tsf_frame_free(f);
        return rc;
    }
    f->n_rows = s->rows;
    f->step = 1;
    for (size_t r = 0; r < s->rows; r++) {
        f->time[r] = (int64_t)r;
        for (size_t j = 0; j < s->cols; j++)
            f->cols[j][r] = (double)r + 1000.0 * (double)j;
    }
    if ((rc = tsf_frame_set_series(f, 1, NULL, NULL, err)) != TSF_OK) {
        tsf_frame_free(f);
        return rc;
    }
    event("run", ctx->step);
    return tsf_value_set(ctx, out[0], f, free_logged);
}

static void source_fini(tsf_stage_ctx *ctx, void *state)
{
    (void)state;
    event("fini", ctx->step);
}

static const tsf_stage_def source_def = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "test.source",
    .summary = "make a frame of ROWS x COLS (test only)",
    .state_size = sizeof(source),
    .options = source_options,
    .outputs = frame_port,
    .check = source_check,
    .run = source_run,
    .fini = source_fini,
};

/* ---- test.scale ------------------------------------------------------------------------- */

typedef struct scale {
    double factor;
    int inplace;
} scale;

static const tsf_option scale_options[] = {
    {.name = "factor",
     .type = TSF_OPT_DOUBLE,
     .offset = offsetof(scale, factor),
     .def = "2",
     .min = 0,
     .max = 1e6,
     .flags = TSF_OPT_MIN_EXCLUSIVE,
     .help = "multiply every value by this"},
    {.name = "inplace",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(scale, inplace),
     .def = "false",
     .help = "modify the input in place when the runner allows it"},
    TSF_OPTION_END,
};

static int scale_check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in,
                       tsf_meta *const *out, tsf_err *err)
{
    (void)state;
    (void)err;
    return tsf_meta_copy(ctx, out[0], in[0]);
}

static int scale_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
                     tsf_err *err)
{
    const scale *s = state;
    tsf_frame *g = s->inplace ? tsf_value_take(ctx, in[0]) : NULL;
    int rc;
    event(g ? "take" : "copy", ctx->step);
    if (!g) {
        const tsf_frame *f = in[0]->ptr;
        if ((rc = tsf_frame_copy_rows(&g, f, 0, f->n_rows, err)) != TSF_OK)
            return rc;
    }
    for (size_t j = 0; j < g->n_cols; j++)
        for (size_t r = 0; r < g->n_rows; r++)
            g->cols[j][r] *= s->factor;
    if ((rc = rename_first(g, ctx->step, err)) != TSF_OK) {
        tsf_frame_free(g);
        return rc;
    }
    event("run", ctx->step);
    return tsf_value_set(ctx, out[0], g, free_logged);
}

static const tsf_stage_def scale_def = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "test.scale",
    .summary = "multiply a frame by a factor (test only)",
    .state_size = sizeof(scale),
    .options = scale_options,
    .inputs = frame_port,
    .outputs = frame_port,
    .check = scale_check,
    .run = scale_run,
};

/* ---- test.view: windows-like values that point into their input frame ------------------ */

typedef struct view {
    const tsf_frame *f;
    char step[64];
} view;

static void free_view(void *p)
{
    view *v = p;
    /* Reading the frame here is the point: ASan reports a use after free if the runner freed
     * the frame before this view. */
    char who[160];
    snprintf(who, sizeof who, "%s(%s:%zu)", v->step, v->f->col_names[0], v->f->n_rows);
    event("free", who);
    free(v);
}

static const tsf_port windows_port[] = {
    {.name = "windows", .types = TSF_TYPE_BIT(TSF_TYPE_WINDOWS), .help = "views of the frame"},
    TSF_PORT_END,
};

static int view_check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in,
                      tsf_meta *const *out, tsf_err *err)
{
    (void)ctx;
    (void)state;
    (void)err;
    out[0]->samples = in[0]->rows;
    return TSF_OK;
}

static int view_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
                    tsf_err *err)
{
    (void)state;
    view *v = calloc(1, sizeof *v);
    if (!v)
        return tsf_err_set(err, TSF_ENOMEM, "out of memory");
    v->f = in[0]->ptr;
    snprintf(v->step, sizeof v->step, "%s", ctx->step);
    event("run", ctx->step);
    int rc = tsf_value_set(ctx, out[0], v, free_view);
    if (rc == TSF_OK)
        rc = tsf_value_keep(ctx, out[0], in[0]);
    return rc;
}

static const tsf_stage_def view_def = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "test.view",
    .summary = "make views into a frame, like windows (test only)",
    .inputs = frame_port,
    .outputs = windows_port,
    .check = view_check,
    .run = view_run,
};

/* ---- test.sink ---------------------------------------------------------------------------- */

static const tsf_port any_many[] = {
    {.name = "values", .types = TSF_TYPE_ANY, .flags = TSF_PORT_MANY, .help = "anything"},
    TSF_PORT_END,
};

static int sink_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
                    tsf_err *err)
{
    (void)state;
    (void)out;
    for (size_t i = 0; i < ctx->n_inputs; i++)
        if (!in[i] || !in[i]->ptr)
            return tsf_err_set(err, TSF_EINVAL, "input %zu has no value", i);
    event("run", ctx->step);
    return TSF_OK;
}

static const tsf_stage_def sink_def = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "test.sink",
    .summary = "read one or more values of any type (test only)",
    .inputs = any_many,
    .run = sink_run,
};

/* ---- test.pair: two typed inputs -------------------------------------------------------- */

static const tsf_port pair_inputs[] = {
    {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "a frame"},
    {.name = "windows", .types = TSF_TYPE_BIT(TSF_TYPE_WINDOWS), .help = "views"},
    TSF_PORT_END,
};

static int pair_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
                    tsf_err *err)
{
    (void)state;
    const tsf_frame *f = in[0]->ptr;
    tsf_frame *g = NULL;
    int rc = tsf_frame_copy_rows(&g, f, 0, f->n_rows, err);
    if (rc == TSF_OK)
        rc = rename_first(g, ctx->step, err);
    if (rc != TSF_OK) {
        tsf_frame_free(g);
        return rc;
    }
    event("run", ctx->step);
    return tsf_value_set(ctx, out[0], g, free_logged);
}

static const tsf_stage_def pair_def = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "test.pair",
    .summary = "read a frame and windows, give a frame (test only)",
    .inputs = pair_inputs,
    .outputs = frame_port,
    .run = pair_run,
};

/* ---- test.multi: two outputs ------------------------------------------------------------ */

static const tsf_port multi_outputs[] = {
    {.name = "main", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "a frame"},
    {.name = "hist", .types = TSF_TYPE_BIT(TSF_TYPE_HISTORY), .help = "a history"},
    TSF_PORT_END,
};

static void free_history(void *p)
{
    event("free", (const char *)p);
    free(p);
}

static int multi_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
                     tsf_err *err)
{
    (void)state;
    (void)in;
    tsf_frame *f = NULL;
    int rc = tsf_frame_alloc(&f, 1, NULL, 4, err);
    if (rc != TSF_OK)
        return rc;
    f->n_rows = 4;
    for (size_t r = 0; r < 4; r++) {
        f->time[r] = (int64_t)r;
        f->cols[0][r] = (double)r;
    }
    if ((rc = rename_first(f, ctx->step, err)) != TSF_OK) {
        tsf_frame_free(f);
        return rc;
    }
    size_t n = strlen(ctx->step) + 6;
    char *h = malloc(n);
    if (!h) {
        tsf_frame_free(f);
        return tsf_err_set(err, TSF_ENOMEM, "out of memory");
    }
    snprintf(h, n, "%s.hist", ctx->step);
    event("run", ctx->step);
    if ((rc = tsf_value_set(ctx, out[0], f, free_logged)) != TSF_OK) {
        free(h);
        return rc;
    }
    return tsf_value_set(ctx, out[1], h, free_history);
}

static const tsf_stage_def multi_def = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "test.multi",
    .summary = "give a frame and a history (test only)",
    .outputs = multi_outputs,
    .run = multi_run,
};

/* ---- test.slow: writes an output slowly, reports progress, stops on cancel --------------- */

typedef struct slow {
    double setup, seconds;
    size_t epochs;
    const char *path;
    int stubborn;
} slow;

static const tsf_option slow_options[] = {
    {.name = "setup",
     .type = TSF_OPT_DOUBLE,
     .offset = offsetof(slow, setup),
     .def = "0",
     .min = 0,
     .max = 3600,
     .help = "how long to take before the first epoch, reporting nothing"},
    {.name = "seconds",
     .type = TSF_OPT_DOUBLE,
     .offset = offsetof(slow, seconds),
     .def = "1",
     .min = 0,
     .max = 3600,
     .help = "how long to take"},
    {.name = "epochs",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(slow, epochs),
     .def = "5",
     .min = 1,
     .max = 100000,
     .help = "progress reports (epochs) over that time"},
    {.name = "path",
     .type = TSF_OPT_PATH_OUT,
     .offset = offsetof(slow, path),
     .help = "a file to write atomically while working"},
    {.name = "stubborn",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(slow, stubborn),
     .def = "false",
     .help = "ignore the cancel flag (only a second Ctrl-C stops it)"},
    TSF_OPTION_END,
};

static const tsf_port optional_frame[] = {
    {.name = "frame",
     .types = TSF_TYPE_BIT(TSF_TYPE_FRAME),
     .flags = TSF_PORT_OPTIONAL,
     .help = "ignored"},
    TSF_PORT_END,
};

static void nap(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

static int slow_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
                    tsf_err *err)
{
    (void)in;
    (void)out;
    const slow *s = state;
    tsf_atomic a;
    int rc;
    memset(&a, 0, sizeof a);
    a.fd = -1;
    a.slot = -1;
    if (s->path) {
        if ((rc = tsf_atomic_begin(&a, s->path, err)) != TSF_OK)
            return rc;
        FILE *f = tsf_atomic_stream(&a);
        fputs("partial\n", f);
        fflush(f);
    }
    event("run", ctx->step);
    nap(s->setup);
    double slice = s->seconds / (double)s->epochs;
    for (size_t e = 1; e <= s->epochs; e++) {
        for (double t = 0; t < slice; t += 0.01) {
            if (!s->stubborn && tsf_stage_cancelled(ctx)) {
                tsf_atomic_abort(&a);
                return tsf_err_set(err, TSF_ECANCEL, "interrupted in epoch %zu", e);
            }
            nap(slice - t < 0.01 ? slice - t : 0.01);
        }
        tsf_progress p = TSF_PROGRESS_INIT;
        p.epoch = (long)e;
        p.epochs = (long)s->epochs;
        p.loss = 1.0 / (double)e;
        p.val_loss = 2.0 / (double)e;
        p.fraction = (double)e / (double)s->epochs;
        tsf_stage_progress(ctx, &p);
    }
    if (s->path) {
        fputs("done\n", tsf_atomic_stream(&a));
        if ((rc = tsf_atomic_commit(&a, err)) != TSF_OK)
            return rc;
    }
    return TSF_OK;
}

static const tsf_stage_def slow_def = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "test.slow",
    .summary = "take a while, reporting epochs, writing a file atomically (test only)",
    .state_size = sizeof(slow),
    .options = slow_options,
    .inputs = optional_frame,
    .run = slow_run,
};

/* ---- test.fail ---------------------------------------------------------------------------- */

typedef struct fail {
    int at;
    const char *message;
} fail;

static const char *const fail_at[] = {"check", "run", NULL};

static const tsf_option fail_options[] = {
    {.name = "at",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(fail, at),
     .def = "run",
     .choices = fail_at,
     .help = "when to fail"},
    {.name = "message",
     .type = TSF_OPT_STRING,
     .offset = offsetof(fail, message),
     .def = "deliberate failure",
     .help = "what to say"},
    TSF_OPTION_END,
};

static int fail_check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in,
                      tsf_meta *const *out, tsf_err *err)
{
    (void)in;
    (void)out;
    const fail *s = state;
    if (s->at == 0)
        return tsf_stage_fail_key(ctx, err, "message", TSF_EINVAL, "%s", s->message);
    return TSF_OK;
}

static int fail_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
                    tsf_err *err)
{
    (void)in;
    (void)out;
    const fail *s = state;
    event("run", ctx->step);
    return tsf_err_set(err, TSF_EIO, "%s", s->message);
}

static const tsf_stage_def fail_def = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "test.fail",
    .summary = "fail in check or run (test only)",
    .state_size = sizeof(fail),
    .options = fail_options,
    .inputs = optional_frame,
    .check = fail_check,
    .run = fail_run,
};

/* ---- test.needs: a length constraint known up front -------------------------------------- */

typedef struct needs {
    size_t min_rows;
} needs;

static const tsf_option needs_options[] = {
    {.name = "min_rows",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(needs, min_rows),
     .def = "1",
     .min = 1,
     .max = 1e9,
     .help = "rows every series needs"},
    TSF_OPTION_END,
};

static int needs_check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in,
                       tsf_meta *const *out, tsf_err *err)
{
    (void)out;
    const needs *s = state;
    int64_t have = in[0]->min_series_rows;
    if (have >= 0 && (size_t)have < s->min_rows)
        return tsf_stage_fail_key(ctx, err, "min_rows", TSF_EINVAL,
                                  "the shortest series has %lld rows, fewer than min_rows %zu "
                                  "(expected at least %zu rows)",
                                  (long long)have, s->min_rows, s->min_rows);
    return TSF_OK;
}

static int needs_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
                     tsf_err *err)
{
    (void)state;
    (void)in;
    (void)out;
    (void)err;
    event("run", ctx->step);
    return TSF_OK;
}

static const tsf_stage_def needs_def = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "test.needs",
    .summary = "need a number of rows per series, checked up front (test only)",
    .state_size = sizeof(needs),
    .options = needs_options,
    .inputs = frame_port,
    .check = needs_check,
    .run = needs_run,
};

/* ---- test.options: one option of every type ---------------------------------------------- */

typedef struct all_options {
    int flag;
    int64_t count;
    size_t size;
    double rate;
    const char *name;
    int mode;
    tsf_doubles quantiles;
    tsf_strings cols;
    const char *src;
    const char *dst;
} all_options;

static const char *const modes[] = {"fast", "slow", "exact", NULL};

static const tsf_option all_options_table[] = {
    {.name = "flag",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(all_options, flag),
     .def = "false",
     .help = "a boolean"},
    {.name = "count",
     .type = TSF_OPT_INT,
     .offset = offsetof(all_options, count),
     .def = "3",
     .min = -5,
     .max = 5,
     .help = "an integer"},
    {.name = "size",
     .type = TSF_OPT_SIZE,
     .offset = offsetof(all_options, size),
     .def = "4",
     .min = 1,
     .max = 100,
     .help = "a size"},
    {.name = "rate",
     .type = TSF_OPT_DOUBLE,
     .offset = offsetof(all_options, rate),
     .def = "0.5",
     .min = 0,
     .max = 1,
     .flags = TSF_OPT_MIN_EXCLUSIVE,
     .help = "a number"},
    {.name = "name",
     .type = TSF_OPT_STRING,
     .offset = offsetof(all_options, name),
     .help = "a string"},
    {.name = "mode",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(all_options, mode),
     .def = "fast",
     .choices = modes,
     .help = "a choice"},
    {.name = "quantiles",
     .type = TSF_OPT_DOUBLES,
     .offset = offsetof(all_options, quantiles),
     .def = "0.1, 0.5, 0.9",
     .min = 0,
     .max = 1,
     .help = "numbers"},
    {.name = "cols",
     .type = TSF_OPT_STRINGS,
     .offset = offsetof(all_options, cols),
     .help = "strings"},
    {.name = "src",
     .type = TSF_OPT_PATH_IN,
     .offset = offsetof(all_options, src),
     .help = "a file to read"},
    {.name = "dst",
     .type = TSF_OPT_PATH_OUT,
     .offset = offsetof(all_options, dst),
     .help = "a file to write"},
    TSF_OPTION_END,
};

static int options_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
                       tsf_err *err)
{
    (void)in;
    (void)out;
    (void)err;
    const all_options *s = state;
    tsf_stage_log(ctx, TSF_LOG_INFO,
                  "flag=%d count=%lld size=%zu rate=%g name=%s mode=%d quantiles=%zu cols=%zu",
                  s->flag, (long long)s->count, s->size, s->rate, s->name ? s->name : "(null)",
                  s->mode, s->quantiles.n, s->cols.n);
    event("run", ctx->step);
    return TSF_OK;
}

static const tsf_stage_def options_def = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "test.options",
    .summary = "take one option of every type (test only)",
    .help = "Logs the values it received.",
    .state_size = sizeof(all_options),
    .options = all_options_table,
    .run = options_run,
};

TSF_PLUGIN_STAGES(&source_def, &scale_def, &view_def, &sink_def, &pair_def, &multi_def, &slow_def,
                  &fail_def, &needs_def, &options_def)
