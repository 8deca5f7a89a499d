/* The stage interface: the one header a stage needs, built in or in a plugin (the plugin ABI).
 *
 * A stage is a const tsf_stage_def: metadata (a dotted name, a summary), an options table, typed
 * input and output ports and three callbacks. A pipeline file names steps; each step runs one
 * stage with its options. The runner, not the stage, parses every option (from the pipeline
 * file, from --set, and for the generated `tsflow help STAGE`): a stage never parses strings.
 *
 * Life of a step (all calls come from one thread, in this order):
 *   1. The runner allocates state_size zeroed bytes and stores every option at its offset
 *      (value from the file or --set, else the default). Relative paths are already resolved.
 *   2. check(ctx, state, in_meta, out_meta, err), during `tsflow check` and before anything
 *      runs in `tsflow run`: validate the options against each other and against what is known
 *      about the inputs (types, shapes, lengths), and describe the outputs. Cheap: read a header,
 *      stat a file; never read a whole data set or train anything. check may store derived
 *      settings in state for run.
 *   3. run(ctx, state, in, out, err), once, after the steps it reads from. It produces one value
 *      per output port with tsf_value_set().
 *   4. fini(ctx, state), exactly once, whether or not check or run were called or failed (the
 *      runner calls it right after run, or when the plan is freed): free what check or run
 *      stored in state. Never free option fields: the runner owns them and frees them after fini.
 *
 * A minimal stage:
 *
 *     typedef struct { double factor; } scale_state;
 *     static const tsf_option scale_options[] = {
 *         {.name = "factor", .type = TSF_OPT_DOUBLE, .offset = offsetof(scale_state, factor),
 *          .def = "1", .min = 0, .max = 1e6, .flags = TSF_OPT_MIN_EXCLUSIVE,
 *          .help = "multiply every value by this"},
 *         TSF_OPTION_END};
 *     static const tsf_port frame_port[] = {
 *         {.name = "frame", .types = TSF_TYPE_BIT(TSF_TYPE_FRAME), .help = "the series"},
 *         TSF_PORT_END};
 *     static int scale_check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in,
 *                            tsf_meta *const *out, tsf_err *err)
 *     {
 *         (void)state;
 *         (void)err;
 *         return tsf_meta_copy(ctx, out[0], in[0]); // same rows and columns
 *     }
 *     static int scale_run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in,
 *                          tsf_value *const *out, tsf_err *err)
 *     {
 *         const scale_state *s = state;
 *         const tsf_frame *f = in[0]->ptr;
 *         tsf_frame *g = NULL;
 *         int rc = tsf_frame_copy_rows(&g, f, 0, f->n_rows, err);
 *         if (rc != TSF_OK)
 *             return rc;
 *         ... multiply g's columns by s->factor, calling tsf_stage_cancelled(ctx) now and then ...
 *         return tsf_value_set(ctx, out[0], g, tsf_free_frame);
 *     }
 *     const tsf_stage_def scale_stage = {
 *         .abi = TSF_STAGE_ABI_VERSION, .name = "scale", .summary = "multiply by a constant",
 *         .state_size = sizeof(scale_state), .options = scale_options,
 *         .inputs = frame_port, .outputs = frame_port,
 *         .check = scale_check, .run = scale_run};
 *
 * Built-in stages live in pipeline/stages/ (one file each) and are listed once in
 * pipeline/stages/stages.def. A plugin is a shared object that includes only this header (and
 * the lib headers it uses) and exports tsflow_plugin_stages(); see TSF_PLUGIN_STAGES below and
 * examples/plugins/. A plugin adds a model with a stage whose output port has type TSF_TYPE_MODEL
 * (see "Models" below): predict and backtest use it like the built-in recurrent model.
 *
 * Errors: callbacks return TSF_OK or a TSF_E* code and fill err (tsflow/error.h) with a message
 * that says what was found and what was expected. The runner prefixes where:
 *     pipeline.ini:12: step "win", key "lookback": 512 + horizon 96 is longer than the 300 rows
 *     of "load.csv" (expected lookback + horizon <= 300)
 * The key is the one named with tsf_stage_fail_key(); without one the step's line is used.
 * A stage that notices the cancel flag (tsf_stage_cancelled) returns TSF_ECANCEL, after
 * aborting the outputs it was writing (tsf_atomic_abort).
 *
 * ABI: a definition carries TSF_STAGE_ABI_VERSION; the runner refuses any other version. Structs
 * the runner allocates (tsf_stage_ctx, tsf_meta, tsf_value, tsf_host) may grow at the end
 * without a version change; structs a stage allocates (tsf_stage_def, tsf_option, tsf_port,
 * tsf_progress, tsf_model) and the meaning of existing fields never change without one. New value
 * types are appended to tsf_type without a version change.
 */
#ifndef TSFLOW_STAGE_H
#define TSFLOW_STAGE_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tsflow/backtest.h"
#include "tsflow/error.h"
#include "tsflow/forecast.h"
#include "tsflow/frame.h"
#include "tsflow/scale.h"
#include "tsflow/train.h"
#include "tsflow/window.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the layouts and rules in this header. */
#define TSF_STAGE_ABI_VERSION 2u

/* ---- Value types --------------------------------------------------------------------------- */

/* What flows between steps. A value is an opaque object of one of these types, owned by the
 * runner once produced. Only the types' own headers define their C structs. Append only. */
typedef enum tsf_type {
    TSF_TYPE_NONE = 0,
    TSF_TYPE_FRAME = 1,     /* tsf_frame (tsflow/frame.h) */
    TSF_TYPE_WINDOWS = 2,   /* tsf_windows (tsflow/window.h): views into a frame */
    TSF_TYPE_SCALER = 3,    /* a fitted normalization (tsflow/scale.h) */
    TSF_TYPE_MODEL = 4,     /* tsf_model (below): a forecaster, built in or from a plugin */
    TSF_TYPE_FORECASTS = 5, /* forecasts by series, origin, step and quantile */
    TSF_TYPE_METRICS = 6,   /* a table of error metrics */
    TSF_TYPE_HISTORY = 7,   /* a training history (losses, gradient norms per epoch) */
    TSF_TYPE_SPLIT = 8,     /* tsf_split (tsflow/prep.h): train/validation/test row ranges */
    TSF_TYPE_BACKTEST = 9,  /* tsf_bt_record (tsflow/export.h): a backtest's folds, fits,
                               scalers, seed and fit histories, for export and plots */
    TSF_TYPE_COUNT_         /* number of types; not a type */
} tsf_type;

/* Port type masks: TSF_TYPE_BIT(TSF_TYPE_FRAME) | TSF_TYPE_BIT(TSF_TYPE_FORECASTS). */
#define TSF_TYPE_BIT(t) (1u << (unsigned)(t))
#define TSF_TYPE_ANY (((1u << (unsigned)TSF_TYPE_COUNT_) - 1u) & ~1u)

/* The name a type has in messages, the plan and help: "frame", "windows", ... */
static inline const char *tsf_type_name(tsf_type t)
{
    static const char *const names[] = {"none",      "frame",   "windows", "scaler", "model",
                                        "forecasts", "metrics", "history", "split",  "backtest"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

/* ---- Options ------------------------------------------------------------------------------- */

/* Option types and the C type stored at the option's offset in the stage's state. */
typedef enum tsf_opt_type {
    TSF_OPT_BOOL = 1,      /* int: 0 or 1; text true/false, yes/no, on/off, 1/0 */
    TSF_OPT_INT = 2,       /* int64_t */
    TSF_OPT_SIZE = 3,      /* size_t: a non-negative integer (counts, lengths) */
    TSF_OPT_DOUBLE = 4,    /* double: finite */
    TSF_OPT_STRING = 5,    /* const char *: NULL when unset */
    TSF_OPT_ENUM = 6,      /* int: index of the value in choices[] */
    TSF_OPT_DOUBLES = 7,   /* tsf_doubles: a comma-separated list of numbers */
    TSF_OPT_STRINGS = 8,   /* tsf_strings: a comma-separated list of strings */
    TSF_OPT_PATH_IN = 9,   /* const char *: a file that must exist and be readable */
    TSF_OPT_PATH_OUT = 10, /* const char *: a file to write; its directory must be writable */
    TSF_OPT_ENUMS = 11     /* tsf_enums: a list of choices[] indices, in the order given */
} tsf_opt_type;

typedef struct tsf_doubles {
    const double *v; /* (n) values; NULL when n == 0 */
    size_t n;
} tsf_doubles;

typedef struct tsf_strings {
    const char *const *v; /* (n) NUL-terminated strings; NULL when n == 0 */
    size_t n;
} tsf_strings;

typedef struct tsf_enums {
    const int *v; /* (n) indices into the option's choices[], each at most once; NULL when n == 0 */
    size_t n;
} tsf_enums;

/* The set an enum list names, as bits: bit i is set when choices[i] is listed. */
static inline unsigned tsf_enums_mask(const tsf_enums *e)
{
    unsigned mask = 0;
    for (size_t i = 0; i < e->n; i++)
        mask |= 1u << (unsigned)e->v[i];
    return mask;
}

/* Option flags. */
#define TSF_OPT_REQUIRED 1u      /* the step must set it (then def is NULL) */
#define TSF_OPT_MIN_EXCLUSIVE 2u /* value > min instead of >= min */
#define TSF_OPT_MAX_EXCLUSIVE 4u /* value < max instead of <= max */
/* TSF_OPT_PATH_IN that may also be a pipe (a FIFO, or bash's <(command) as /dev/fd/N): the stage
 * reads it once, front to back, in run. Its check must then not open the path (opening a FIFO
 * blocks until a writer comes, and reading would consume the data run needs): test with stat()
 * and S_ISREG first. Without this flag, check refuses an input path that is not a regular file,
 * so a stage that seeks (HDF5) never sees a pipe. */
#define TSF_OPT_STREAM 8u

/* One entry of a stage's options table (terminated by TSF_OPTION_END).
 *
 * Value text, as in the pipeline file or --set:
 *   - bool: true/false, yes/no, on/off, 1/0 (any case);
 *   - int, size: a decimal integer; double: a finite decimal number (1e-3 is fine);
 *   - enum: one of choices (any case); the state gets its index;
 *   - enum list: choices (any case) separated like the items of a list, each at most once;
 *     the state gets their indices in the order given; "" (or nothing) is the empty list;
 *   - string, path: the text; one pair of surrounding double quotes is removed;
 *   - lists: items separated by commas or by indented continuation lines; an item may be
 *     double-quoted to hold commas or to be empty ("").
 * Range: when min and max are not both 0, numbers (each item of a list of numbers) must lie in
 * [min, max] (bounds made strict by the EXCLUSIVE flags); use -HUGE_VAL or HUGE_VAL for an open
 * side. Paths: a relative path in a pipeline file is taken relative to the file's directory; one
 * from --set or a default, relative to the current directory. The state receives the resolved
 * path. check verifies that an input path is a readable regular file (or a pipe, with
 * TSF_OPT_STREAM) and that an output path's directory exists and is writable, before any stage
 * runs.
 * Strings and lists in the state are owned by the runner and live until after fini.
 * Names: lower case letters, digits and '_'; "stage", "input" and "inputs" are reserved. */
typedef struct tsf_option {
    const char *name;
    tsf_opt_type type;
    size_t offset;              /* offsetof(your_state, field); the field's C type is above */
    const char *def;            /* default as value text (parsed like the file); NULL: unset */
    double min, max;            /* range of numbers (see above); both 0: any */
    const char *const *choices; /* enum, enum list: the allowed names, NULL-terminated */
    unsigned flags;             /* TSF_OPT_REQUIRED, TSF_OPT_*_EXCLUSIVE, TSF_OPT_STREAM */
    const char *help;           /* one sentence for `tsflow help STAGE` */
} tsf_option;

/* An option without a default must be TSF_OPT_REQUIRED unless it is a string, path or list
 * (which are then NULL or empty when unset). An enum or enum list needs choices; the runner
 * refuses a value that is not one of them, naming the option and listing the choices, and
 * `tsflow help` lists them: a stage never compares option text with names itself. The registry
 * refuses a table that breaks this, a default that does not parse or lies outside the range, an
 * unknown type, a duplicate name, or an offset outside state_size. */
#define TSF_OPTION_END                                                                             \
    {                                                                                              \
        NULL, (tsf_opt_type)0, 0, NULL, 0, 0, NULL, 0, NULL                                        \
    }

/* ---- Ports --------------------------------------------------------------------------------- */

#define TSF_PORT_OPTIONAL 1u /* input may be left unbound (trailing input ports only) */
#define TSF_PORT_MANY 2u     /* the last input port: binds one or more values (zero if OPTIONAL) */

/* An input or output port (arrays terminated by TSF_PORT_END).
 *
 * A step's `input = A` or `inputs = A, B.model, C` binds values to its input ports in order.
 * `STEP.PORT` names an output port of STEP; `STEP` alone means STEP's first output whose type
 * the receiving port accepts. Without input/inputs a stage with one required input reads the
 * previous step in the file. The types of an output port: a single bit, or several when the
 * stage decides in check (it must then set out[i]->type to one of them). */
typedef struct tsf_port {
    const char *name; /* lower case letters, digits and '_' */
    unsigned types;   /* mask of TSF_TYPE_BIT(...) accepted (input) or produced (output) */
    unsigned flags;   /* TSF_PORT_OPTIONAL, TSF_PORT_MANY (inputs only) */
    const char *help; /* a few words for `tsflow help STAGE` */
} tsf_port;

#define TSF_PORT_END                                                                               \
    {                                                                                              \
        NULL, 0, 0, NULL                                                                           \
    }

/* ---- What check knows about a value -------------------------------------------------------- */

#define TSF_UNKNOWN ((int64_t)-1)

/* Shapes and lengths known before running. The runner allocates metas; outputs start with every
 * number TSF_UNKNOWN, every pointer NULL and type set when the port has a single type. A field
 * that does not apply to a type stays TSF_UNKNOWN. Strings are set through the host functions
 * below (the runner copies and owns them). */
typedef struct tsf_meta {
    tsf_type type;
    int64_t rows;            /* frame: rows over all series; forecasts: rows of the long table */
    int64_t cols;            /* frame: value columns; model: targets */
    int64_t n_series;        /* frame, windows, forecasts: series */
    int64_t min_series_rows; /* frame: rows of the shortest series (= rows for one series) */
    int64_t step;            /* frame: time step (microseconds with epoch time) */
    int64_t time_kind;       /* frame: TSF_TIME_INDEX or TSF_TIME_EPOCH */
    int64_t samples;         /* windows: samples (tsf_windows.n_samples) */
    int64_t lookback;        /* windows, model: T */
    int64_t horizon;         /* windows, model, forecasts: L */
    int64_t n_inputs;        /* windows, model: I features per step */
    int64_t n_outputs;       /* windows, model: O targets */
    int64_t folds;           /* forecasts, metrics of a backtest: folds */
    const char *const *col_names; /* frame: (cols) value column names; model: (cols) the
                                     targets it forecasts; or NULL */
    const char *source;           /* the file the data came from, or NULL */
    const char *note;             /* a short free text the plan shows, or NULL */
} tsf_meta;

/* ---- Values -------------------------------------------------------------------------------- */

/* A value on a port. Stages read type, ptr and meta of inputs; they never write these fields
 * (use tsf_value_set, tsf_value_keep, tsf_value_take). Input objects are shared with other
 * consumers: treat them as const unless tsf_value_take() gave you ownership. */
typedef struct tsf_value {
    tsf_type type;        /* concrete type */
    void *ptr;            /* the object (see tsf_type); NULL before it is produced */
    const tsf_meta *meta; /* what check knew about it */
} tsf_value;

/* ---- Progress -------------------------------------------------------------------------------- */

/* A progress report. Start from TSF_PROGRESS_INIT and fill what applies: */
typedef struct tsf_progress {
    double fraction;    /* of this step's work done, in [0, 1]; < 0 when unknown */
    long epoch, epochs; /* current epoch (1-based) and total; 0 when not applicable */
    long fold, folds;   /* current fold (1-based) and total; 0 when not applicable */
    double loss;        /* training loss; NaN when not applicable */
    double val_loss;    /* validation loss; NaN when not applicable */
    const char *what;   /* a few words ("fitting scaler"), or NULL */
} tsf_progress;

#define TSF_PROGRESS_INIT                                                                          \
    {                                                                                              \
        -1.0, 0, 0, 0, 0, NAN, NAN, NULL                                                           \
    }

/* Log levels for tsf_stage_log: INFO is shown unless --quiet, DEBUG only with --verbose. */
enum { TSF_LOG_WARN = 0, TSF_LOG_INFO = 1, TSF_LOG_DEBUG = 2 };

/* ---- Models ---------------------------------------------------------------------------------- */

/* A TSF_TYPE_MODEL value: a forecaster behind the tsf_forecaster interface (tsflow/backtest.h),
 * with what its consumers need to know. The producing stage (train.rnn, model.load, a plugin's)
 * allocates it and passes its destroy function to tsf_value_set (tsf_free_model below).
 *
 * How the built-in consumers use it:
 *   - backtest binds the model to its frame (bind), hands the bound forecaster to the backtest
 *     engine, which fits it fold by fold on the rows before each origin and forecasts, then
 *     unbinds it. Each fold's data is imputed as the step says and scaled as `scaling` says
 *     (backtest's normalize = model); the forecaster never sees a row at or after an origin.
 *   - predict binds it to its input frame and forecasts the horizon after the end of each series
 *     (or after the origin of each window) with forecaster.forecast, using the state fitted by the
 *     producer (fitted), or, when fitted is NULL, a state fitted first on the input's rows
 *     before the earliest origin.
 *     A model may offer a faster predict (a batched forward pass); predict then uses that.
 * Consumers read the metadata to check inputs before anything runs (horizon, targets).
 * Every pointer below is owned by the model and lives until destroy. */
typedef struct tsf_model tsf_model;

/* What a consumer gives bind, and what bind fills. */
typedef struct tsf_model_binding {
    /* in */
    const tsf_frame *frame; /* the data the forecaster will see: its columns (found by name) */
    /* Called after every update of a fit that trains iteratively, from the fitting thread (may be
     * NULL); nonzero stops the fit (TSF_ECANCEL). fold is the fitting fold. */
    int (*fit_progress)(void *user, size_t fold, const tsf_train_progress *p);
    void *progress_user;
    /* When not NULL: the training history of the fit made at fold g goes to histories[g] (each
     * initialised by the consumer with tsf_train_history_init; g >= n_histories: none). */
    tsf_train_history *histories;
    size_t n_histories;
    /* out */
    tsf_forecaster forecaster; /* name, fit, forecast, free_state for this frame */
    const size_t *read_cols;   /* (n_read_cols) columns of frame it reads beside the targets (past
                                  covariates): backtest scales them with the targets */
    size_t n_read_cols;
    void *priv; /* the model's, for unbind */
    /* in (after the out fields so that their offsets stay those older plugins know): rows per
     * season of the data (from its frequency or the consumer's season option), 0 when unknown */
    size_t season;
} tsf_model_binding;

struct tsf_model {
    const char *name;        /* model name in forecasts and metrics */
    const char *kind;        /* "rnn" for the built-in recurrent model; a plugin's own word */
    const char *description; /* a short text for the plan and logs ("lstm 32x1, 1.2k params") */
    size_t lookback;         /* rows before an origin a forecast reads (>= 1) */
    size_t horizon;          /* steps forecast from an origin (>= 1) */
    size_t n_inputs;  /* features per step of the windows it was fitted on (I); 0: not windowed */
    size_t n_outputs; /* values per step of those windows (O); 0: not windowed */
    const char *const *targets; /* (n_targets) names of the columns it forecasts */
    size_t n_targets;
    const double *quantiles; /* (n_quantiles) levels of value slots 1..Q; NULL: point forecasts */
    size_t n_quantiles;
    /* How the data it was fitted on was scaled (kind, pre, per_series; cols unused), or NULL:
     * the data's own units. backtest with normalize = model fits such a scaler on each fit's rows.
     */
    const tsf_scale_spec *scaling;

    /* Prepare a forecaster for b->frame (required). Fails, naming the column, when the frame
     * lacks a column the model reads. */
    int (*bind)(const tsf_model *m, tsf_model_binding *b, tsf_err *err);
    /* Free what bind allocated (may be NULL). */
    void (*unbind)(const tsf_model *m, tsf_model_binding *b);
    /* A state of the producer's fit for the bound forecaster's forecast (predict reads it, never
     * frees it), or NULL: predict fits on its input first. */
    void *fitted;

    /* Optional fast paths for predict (NULL: predict uses forecaster.forecast). Forecast every
     * window of w into fc from entry first on (fc laid out by predict for w's frame, targets and
     * this model's quantiles), or the horizon after the end of every series of f into *out, in
     * the data's own units; batch_size 0: the model's own. */
    int (*predict_windows)(const tsf_model *m, const tsf_windows *w, size_t batch_size,
                           tsf_forecasts *fc, size_t first, tsf_err *err);
    int (*predict_frame)(const tsf_model *m, const tsf_frame *f, size_t batch_size,
                         tsf_forecasts **out, tsf_err *err);
    /* Optional: the scaler the producer fitted, laid out for frame f's columns (found by name),
     * or *out NULL; predict uses it to map forecasts between scales (NULL: no scaler). */
    int (*scaler_for)(const tsf_model *m, const tsf_frame *f, tsf_scaler **out, tsf_err *err);
    /* Optional: write the model to a file model.load reads (model.save refuses a model without). */
    int (*save)(const tsf_model *m, const char *path, tsf_err *err);

    void *impl;                    /* the producer's own object behind the model */
    void (*destroy)(tsf_model *m); /* free everything, m included (required) */
};

/* Destructor for model values: tsf_value_set(ctx, out[0], m, tsf_free_model). */
static inline void tsf_free_model(void *p)
{
    tsf_model *m = (tsf_model *)p;
    if (m)
        m->destroy(m);
}

/* ---- The context: who is running, and the runner's services -------------------------------- */

typedef struct tsf_stage_ctx tsf_stage_ctx;

/* Provenance a stage may record in its outputs. */
typedef struct tsf_run_info {
    const char *pipeline_name;    /* the pipeline file as given ("-" for stdin) */
    const char *pipeline_text;    /* its full text (NUL-terminated) */
    const char *const *overrides; /* (n_overrides) --set STEP.KEY=VALUE texts, in order */
    size_t n_overrides;
    const char *version;    /* tsflow version, e.g. "0.1.0" */
    const char *git_commit; /* short commit hash of the build, or "unknown" */
} tsf_run_info;

/* Services the runner provides. Call them through the inline wrappers below. All are for the
 * thread that called check or run, except cancelled, progress and log, which any thread the
 * stage starts inside run may call. value_set, value_keep and value_take work during run only
 * (elsewhere they fail: TSF_EINVAL, NULL); progress and log during check are ignored. */
typedef struct tsf_host {
    unsigned abi;
    int (*cancelled)(tsf_stage_ctx *ctx);
    void (*progress)(tsf_stage_ctx *ctx, const tsf_progress *p);
    void (*log)(tsf_stage_ctx *ctx, int level, const char *msg);
    void (*blame)(tsf_stage_ctx *ctx, const char *key);
    int (*is_set)(tsf_stage_ctx *ctx, const char *key);
    int (*meta_copy)(tsf_stage_ctx *ctx, tsf_meta *dst, const tsf_meta *src);
    int (*meta_set_columns)(tsf_stage_ctx *ctx, tsf_meta *m, size_t n, const char *const *names);
    int (*meta_set_text)(tsf_stage_ctx *ctx, tsf_meta *m, int which, const char *text);
    int (*value_set)(tsf_stage_ctx *ctx, tsf_value *out, void *obj, void (*free_fn)(void *));
    int (*value_keep)(tsf_stage_ctx *ctx, tsf_value *out, const tsf_value *in);
    void *(*value_take)(tsf_stage_ctx *ctx, tsf_value *in);
    const char *(*suggest)(tsf_stage_ctx *ctx, const char *word, const char *const *candidates,
                           size_t n);
} tsf_host;

struct tsf_stage_ctx {
    unsigned abi;
    const tsf_host *host;
    const tsf_run_info *info;
    const char *step; /* the step's name (the pipeline file's section) */
    const struct tsf_stage_def *def;
    size_t n_inputs;  /* entries of in[]: one per input port, an unbound OPTIONAL port giving
                       * NULL, except that a TSF_PORT_MANY last port P contributes in[P],
                       * in[P + 1], ... (one per value bound to it, possibly none) */
    size_t n_outputs; /* entries of out[]: one per output port */
    void *priv;       /* the runner's */
};

/* ---- The stage definition ------------------------------------------------------------------ */

typedef struct tsf_stage_def {
    unsigned abi;        /* TSF_STAGE_ABI_VERSION */
    const char *name;    /* dotted lower-case name: "ingest.csv", "train.rnn" */
    const char *summary; /* one line, no final period: "read a CSV file into a frame" */
    const char *help;    /* a paragraph for `tsflow help STAGE`, or NULL */
    size_t state_size;   /* bytes of the private state (options and anything check/run keep) */
    const tsf_option *options; /* table ending with TSF_OPTION_END, or NULL */
    const tsf_port *inputs;    /* ending with TSF_PORT_END, or NULL for a source */
    const tsf_port *outputs;   /* ending with TSF_PORT_END, or NULL for a sink */

    /* Validate and describe outputs. in[i] is NULL for an unbound optional port. in metas are
     * what the producers' checks said (numbers may be TSF_UNKNOWN: then skip that constraint;
     * run must still validate). NULL: outputs keep the runner's defaults. */
    int (*check)(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err);
    /* Do the work. Every output must be set with tsf_value_set() before returning TSF_OK; on
     * failure the runner frees outputs already set. Outputs must not point into state. */
    int (*run)(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err);
    /* Free what check/run stored in state (not the options). NULL when there is nothing. */
    void (*fini)(tsf_stage_ctx *ctx, void *state);
} tsf_stage_def;

/* ---- Inline wrappers over the host ----------------------------------------------------------- */

/* Nonzero once the user asked to stop (Ctrl-C, SIGTERM): return TSF_ECANCEL soon. */
static inline int tsf_stage_cancelled(tsf_stage_ctx *ctx)
{
    return ctx->host->cancelled(ctx);
}

/* Report progress (cheap; the display rate-limits itself). */
static inline void tsf_stage_progress(tsf_stage_ctx *ctx, const tsf_progress *p)
{
    ctx->host->progress(ctx, p);
}

/* A message for the user (printed by the command: stages never print). */
static inline void tsf_stage_log(tsf_stage_ctx *ctx, int level, const char *fmt, ...)
    TSF_PRINTF(3, 4);
static inline void tsf_stage_log(tsf_stage_ctx *ctx, int level, const char *fmt, ...)
{
    char msg[TSF_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctx->host->log(ctx, level, msg);
}

/* Fail about one option: records the message and points the error at key's line. */
static inline int tsf_stage_fail_key(tsf_stage_ctx *ctx, tsf_err *err, const char *key, int code,
                                     const char *fmt, ...) TSF_PRINTF(5, 6);
static inline int tsf_stage_fail_key(tsf_stage_ctx *ctx, tsf_err *err, const char *key, int code,
                                     const char *fmt, ...)
{
    ctx->host->blame(ctx, key);
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Whether the step set key (in the file or with --set) rather than taking the default. */
static inline int tsf_stage_option_set(tsf_stage_ctx *ctx, const char *key)
{
    return ctx->host->is_set(ctx, key);
}

/* Copy everything src says (numbers and strings) into dst, keeping dst's type when src's type
 * differs. Returns TSF_ENOMEM on failure. */
static inline int tsf_meta_copy(tsf_stage_ctx *ctx, tsf_meta *dst, const tsf_meta *src)
{
    return ctx->host->meta_copy(ctx, dst, src);
}

/* Set a frame meta's column names (copied; n becomes cols). */
static inline int tsf_meta_set_columns(tsf_stage_ctx *ctx, tsf_meta *m, size_t n,
                                       const char *const *names)
{
    return ctx->host->meta_set_columns(ctx, m, n, names);
}

enum { TSF_META_SOURCE = 0, TSF_META_NOTE = 1 };

/* Set m->source (the file the data came from; copied). */
static inline int tsf_meta_set_source(tsf_stage_ctx *ctx, tsf_meta *m, const char *path)
{
    return ctx->host->meta_set_text(ctx, m, TSF_META_SOURCE, path);
}

/* Set m->note, a short text the plan prints after the value (copied). */
static inline int tsf_meta_set_note(tsf_stage_ctx *ctx, tsf_meta *m, const char *fmt, ...)
    TSF_PRINTF(3, 4);
static inline int tsf_meta_set_note(tsf_stage_ctx *ctx, tsf_meta *m, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return ctx->host->meta_set_text(ctx, m, TSF_META_NOTE, text);
}

/* Produce an output: obj becomes the runner's, freed with free_fn(obj) after its last consumer
 * and after every value that keeps it (free_fn NULL: not freed). out must be one of this run's
 * out[] and not set yet; obj must not be NULL. On failure (misuse) obj is freed. */
static inline int tsf_value_set(tsf_stage_ctx *ctx, tsf_value *out, void *obj,
                                void (*free_fn)(void *))
{
    return ctx->host->value_set(ctx, out, obj, free_fn);
}

/* Declare that out refers into in (windows are views of a frame): the runner keeps in alive
 * until out is freed. Call it for every input an output points into. */
static inline int tsf_value_keep(tsf_stage_ctx *ctx, tsf_value *out, const tsf_value *in)
{
    return ctx->host->value_keep(ctx, out, in);
}

/* Take ownership of an input's object when this step is its only remaining consumer and no
 * other value refers into it (nor it into another): the caller may then modify it in place and
 * must free it or hand it on with tsf_value_set. Returns NULL when that is not possible (then
 * copy); in->ptr is NULL afterwards when it succeeds. */
static inline void *tsf_value_take(tsf_stage_ctx *ctx, tsf_value *in)
{
    return ctx->host->value_take(ctx, in);
}

/* The candidate closest to word (edit distance, or an abbreviation), or NULL when none is close
 * enough to suggest: for "did you mean" in messages about column names and the like. */
static inline const char *tsf_stage_suggest(tsf_stage_ctx *ctx, const char *word,
                                            const char *const *candidates, size_t n)
{
    return ctx->host->suggest(ctx, word, candidates, n);
}

/* Destructor for frame values: tsf_value_set(ctx, out[0], f, tsf_free_frame). */
static inline void tsf_free_frame(void *p)
{
    tsf_frame_free((tsf_frame *)p);
}

/* ---- Plugins ------------------------------------------------------------------------------- */

/* The one symbol a plugin exports: stores TSF_STAGE_ABI_VERSION in *abi and returns a
 * NULL-terminated array of the plugin's stage definitions. Loaded with `--plugin FILE.so` or
 * from TSFLOW_PLUGIN_PATH (files or directories of *.so, separated by ':'). The runner refuses
 * a plugin without this symbol, with another ABI version, with an invalid definition, or with a
 * stage name that is already registered, naming the file. */
#define TSF_PLUGIN_SYMBOL "tsflow_plugin_stages"
typedef const tsf_stage_def *const *(*tsf_plugin_stages_fn)(unsigned *abi);

#if defined(__GNUC__) || defined(__clang__)
#define TSF_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define TSF_PLUGIN_EXPORT
#endif

/* Define the export in one line: TSF_PLUGIN_STAGES(&boxcox_stage, &other_stage) */
#define TSF_PLUGIN_STAGES(...)                                                                     \
    TSF_PLUGIN_EXPORT const tsf_stage_def *const *tsflow_plugin_stages(unsigned *abi);             \
    TSF_PLUGIN_EXPORT const tsf_stage_def *const *tsflow_plugin_stages(unsigned *abi)              \
    {                                                                                              \
        static const tsf_stage_def *const stages[] = {__VA_ARGS__, NULL};                          \
        *abi = TSF_STAGE_ABI_VERSION;                                                              \
        return stages;                                                                             \
    }

#ifdef __cplusplus
}
#endif

#endif
