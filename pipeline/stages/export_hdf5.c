/* export.hdf5: write what a pipeline made to one HDF5 file that pandas, h5py and xarray open:
 * frames, forecasts (long table and cube), metrics, training histories and a backtest's
 * record, with the run's provenance as root attributes. Layouts: tsflow/io.h (frames),
 * tsflow/export.h (forecasts, metrics, folds, scalers), tsflow/rnn_model.h (histories). */
#include <errno.h>
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "model_stages.h"
#include "tsflow/export.h"
#include "tsflow/h5out.h"
#include "tsflow/io.h"
#include "tsflow/rnn_model.h"
#include "tsflow/sha256.h"
#include "tsflow/stage.h"

/* OpenBLAS's build description ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"),
 * declared here to keep cblas.h (which clashes with GSL's) out of this file. */
extern char *openblas_get_config(void);

typedef struct export_hdf5 {
    const char *path;
    const char *key;
    int cube;
    int data;
    int normalized;
} export_hdf5;

enum { DATA_AUTO, DATA_BOTH, DATA_PANDAS, DATA_XARRAY, DATA_NONE };
static const char *const data_choices[] = {"auto", "both", "pandas", "xarray", "none", NULL};

static const tsf_option options[] = {
    {.name = "path",
     .type = TSF_OPT_PATH_OUT,
     .offset = offsetof(export_hdf5, path),
     .flags = TSF_OPT_REQUIRED,
     .help = "the HDF5 file to write (replaced atomically: temporary file, fsync, rename)"},
    {.name = "key",
     .type = TSF_OPT_STRING,
     .offset = offsetof(export_hdf5, key),
     .def = "data",
     .help = "the group of a frame input: pandas.read_hdf(path, key) opens it"},
    {.name = "cube",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(export_hdf5, cube),
     .def = "true",
     .help = "with forecasts: also write the cube forecast[model, target, series, origin, step, "
             "estimate] in group \"cube\" (xarray, h5netcdf engine)"},
    {.name = "data",
     .type = TSF_OPT_ENUM,
     .offset = offsetof(export_hdf5, data),
     .def = "auto",
     .choices = data_choices,
     .help = "a frame input: written as a pandas frame (key) and an xarray array (key_xr), both; "
             "or one of them, or none; auto writes both when the frame is all there is to write, "
             "none beside forecasts or a backtest (the input file is named, with its SHA-256, in "
             "the root attributes)"},
    {.name = "normalized",
     .type = TSF_OPT_BOOL,
     .offset = offsetof(export_hdf5, normalized),
     .def = "false",
     .help = "with a backtest: also write its forecasts on the normalized scale (group "
             "\"forecasts_normalized\")"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "values",
     .types = TSF_TYPE_BIT(TSF_TYPE_FRAME) | TSF_TYPE_BIT(TSF_TYPE_FORECASTS) |
              TSF_TYPE_BIT(TSF_TYPE_METRICS) | TSF_TYPE_BIT(TSF_TYPE_HISTORY) |
              TSF_TYPE_BIT(TSF_TYPE_BACKTEST) | TSF_TYPE_BIT(TSF_TYPE_SCALER) |
              TSF_TYPE_BIT(TSF_TYPE_MODEL),
     .flags = TSF_PORT_MANY,
     .help = "what to write: a frame, forecasts, metrics, training histories, a backtest, a "
             "scaler, a model (its seed and scaler go to the root attributes) (inputs = a, b, "
             "...)"},
    TSF_PORT_END,
};

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    (void)out;
    const export_hdf5 *s = state;
    if (!s->key || !s->key[0] || s->key[0] == '/')
        return tsf_stage_fail_key(ctx, err, "key", TSF_EINVAL,
                                  "\"%s\" is not a group name (expected a name like \"data\")",
                                  s->key ? s->key : "");
    static const char *const reserved[] = {"forecasts", "forecasts_normalized", "cube", "metrics",
                                           "folds",     "backtest_history"};
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (!strcmp(s->key, reserved[i]) || !strncmp(s->key, "history", 7))
            return tsf_stage_fail_key(ctx, err, "key", TSF_EINVAL,
                                      "\"%s\" is where other inputs go (expected another name, "
                                      "like \"data\")",
                                      s->key);
    size_t count[TSF_TYPE_COUNT_] = {0};
    for (size_t i = 0; i < ctx->n_inputs; i++)
        if (in[i])
            count[in[i]->type]++;
    const tsf_type single[] = {TSF_TYPE_FRAME,    TSF_TYPE_FORECASTS, TSF_TYPE_METRICS,
                               TSF_TYPE_BACKTEST, TSF_TYPE_SCALER,    TSF_TYPE_MODEL};
    for (size_t i = 0; i < sizeof single / sizeof *single; i++)
        if (count[single[i]] > 1)
            return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL,
                                      "%zu %s inputs (expected at most one; write others with "
                                      "another export.hdf5 step)",
                                      count[single[i]], tsf_type_name(single[i]));
    if (count[TSF_TYPE_SCALER] && count[TSF_TYPE_BACKTEST])
        return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL,
                                  "a scaler and a backtest given: the backtest carries the "
                                  "scalers of its fits (expected one of them)");
    return TSF_OK;
}

/* The time to record as the file's creation: now, or SOURCE_DATE_EPOCH when set. */
static int creation_time(time_t *t, tsf_err *err)
{
    int64_t sde;
    int rc = tsf_source_date_epoch(&sde, err);
    *t = sde >= 0 ? (time_t)sde : time(NULL);
    return rc;
}

/* Root attributes of a trained recurrent model: its ensemble members (ensemble_members) and,
 * when calibrated, the calibration as text (calibration) and numbers (calibration_levels (Q),
 * calibration_shift (L x O x Q, step-major, on the model's scale), calibration_per_step,
 * calibration_widen_only). */
static int model_attributes(tsf_h5out *o, const tsf_model *model, tsf_err *err)
{
    if (!model || strcmp(model->kind, "rnn"))
        return TSF_OK;
    const tsf_rnn_model *r = model->impl;
    int rc = tsf_h5out_attr_int(o, "/", "ensemble_members",
                                (int64_t)(r->n_members > 1 ? r->n_members : 1), err);
    const tsf_calibration *c = r->calib;
    if (rc != TSF_OK || !c)
        return rc;
    char d[320];
    if ((rc = tsf_h5out_attr_string(o, "/", "calibration", tsf_calibration_describe(c, d, sizeof d),
                                    err)) ||
        (rc = tsf_h5out_attr_doubles(o, "/", "calibration_levels", c->levels, c->n_quantiles,
                                     err)) ||
        (rc = tsf_h5out_attr_doubles(o, "/", "calibration_shift", c->shift,
                                     c->horizon * c->n_targets * c->n_quantiles, err)))
        return rc;
    rc = tsf_h5out_attr_int(o, "/", "calibration_per_step", c->per_step, err);
    return rc == TSF_OK ? tsf_h5out_attr_int(o, "/", "calibration_widen_only", c->widen_only, err)
                        : rc;
}

/* Root attributes: where the file came from. */
static int provenance(tsf_stage_ctx *ctx, tsf_h5out *o, tsf_value *const *in, size_t n,
                      const tsf_bt_record *rec, const tsf_model *model, tsf_err *err)
{
    const tsf_run_info *info = ctx->info;
    char buf[256];
    int rc = tsf_h5out_attr_string(o, "/", "tsflow_version", info->version, err);
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, "/", "git_commit", info->git_commit, err);
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, "/", "pipeline", info->pipeline_text, err);
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, "/", "pipeline_file", info->pipeline_name, err);
    if (rc == TSF_OK) { /* --set overrides, one per line */
        size_t len = 1;
        for (size_t i = 0; i < info->n_overrides; i++)
            len += strlen(info->overrides[i]) + 1;
        char *text = malloc(len);
        if (!text)
            return tsf_err_set(err, TSF_ENOMEM, "out of memory");
        text[0] = '\0';
        for (size_t i = 0, p = 0; i < info->n_overrides; i++)
            p += (size_t)sprintf(text + p, "%s%s", i ? "\n" : "", info->overrides[i]);
        rc = tsf_h5out_attr_string(o, "/", "overrides", text, err);
        free(text);
    }
    /* the input files: the sources the values came from, each once, with their SHA-256 */
    const char *paths[16];
    size_t n_paths = 0;
    for (size_t i = 0; i < n; i++) {
        const char *src = in[i] && in[i]->meta ? in[i]->meta->source : NULL;
        int seen = !src;
        for (size_t k = 0; k < n_paths && !seen; k++)
            seen = !strcmp(paths[k], src);
        if (!seen && n_paths < 16)
            paths[n_paths++] = src;
    }
    char all_paths[4096] = "", all_sums[16 * 65 + 1] = "";
    for (size_t k = 0, lp = 0, ls = 0; k < n_paths && rc == TSF_OK; k++) {
        char hex[65];
        struct stat st;
        if (stat(paths[k], &st) == 0 && !S_ISREG(st.st_mode))
            snprintf(hex, sizeof hex, "not hashed: read from a pipe"); /* gone, and would block */
        else if ((rc = tsf_sha256_file(paths[k], hex, err)) != TSF_OK)
            break;
        lp += (size_t)snprintf(all_paths + lp, sizeof all_paths - lp, "%s%s", k ? "\n" : "",
                               paths[k]);
        ls += (size_t)snprintf(all_sums + ls, sizeof all_sums - ls, "%s%s", k ? "\n" : "", hex);
        if (lp >= sizeof all_paths)
            lp = sizeof all_paths - 1;
    }
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, "/", "input_path", all_paths, err);
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, "/", "input_sha256", all_sums, err);
    if (rc == TSF_OK && rec)
        rc = tsf_h5out_attr_int(o, "/", "seed", (int64_t)rec->seed, err);
    else if (rc == TSF_OK && model && !strcmp(model->kind, "rnn")) /* the recipe's seed */
        rc = tsf_h5out_attr_int(o, "/", "seed",
                                (int64_t)((const tsf_rnn_model *)model->impl)->train.seed, err);
    if (rc == TSF_OK && !rec)
        rc = model_attributes(o, model, err);
    if (rc == TSF_OK && rec)
        rc = tsf_h5out_attr_string(o, "/", "backtest", rec->description, err);
    if (rc == TSF_OK) {
        time_t now;
        struct tm tm;
        if ((rc = creation_time(&now, err)) == TSF_OK) {
            gmtime_r(&now, &tm);
            strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
            rc = tsf_h5out_attr_string(o, "/", "created_utc", buf, err);
        }
    }
    if (rc == TSF_OK) {
        unsigned maj = 0, min = 0, rel = 0;
        H5get_libversion(&maj, &min, &rel);
        snprintf(buf, sizeof buf, "%u.%u.%u", maj, min, rel);
        rc = tsf_h5out_attr_string(o, "/", "hdf5_version", buf, err);
    }
    if (rc == TSF_OK)
        rc = tsf_h5out_attr_string(o, "/", "blas_version", openblas_get_config(), err);
    return rc;
}

/* Whether the inputs hold nothing but frames and scalers (then a frame is what is exported). */
static int only_frame(const tsf_stage_ctx *ctx, tsf_value *const *in)
{
    for (size_t i = 0; i < ctx->n_inputs; i++)
        if (in[i] && in[i]->type != TSF_TYPE_FRAME && in[i]->type != TSF_TYPE_SCALER)
            return 0;
    return 1;
}

/* Which layouts a frame input is written in (the data option). */
static unsigned frame_layouts(const export_hdf5 *s, const tsf_stage_ctx *ctx, tsf_value *const *in)
{
    static const unsigned layouts[] = {0, TSF_HDF5_PANDAS | TSF_HDF5_XARRAY, TSF_HDF5_PANDAS,
                                       TSF_HDF5_XARRAY, 0};
    if (s->data == DATA_AUTO)
        return only_frame(ctx, in) ? layouts[DATA_BOTH] : 0;
    return layouts[s->data];
}

/* What the inputs written so far hold, for the folds, scalers and provenance written last. */
typedef struct export_seen {
    const tsf_forecasts *fc;
    const tsf_bt_record *rec;
    const tsf_scaler *scaler;
    const tsf_frame *frame;
    const tsf_model *model;
    size_t n_hist;
} export_seen;

/* Write input i; *done names what was written (NULL: nothing), name is room for it. */
static int write_input(tsf_h5out *o, const export_hdf5 *s, tsf_stage_ctx *ctx, tsf_value *const *in,
                       size_t i, export_seen *seen, const char **done, char *name, size_t n_name,
                       tsf_err *err)
{
    int rc = TSF_OK;
    *done = NULL;
    switch (in[i]->type) {
    case TSF_TYPE_FRAME: {
        seen->frame = in[i]->ptr;
        unsigned l = frame_layouts(s, ctx, in);
        if (l)
            rc = tsf_hdf5_write_frame_as(o, seen->frame, s->key, l, err);
        *done = l ? s->key : NULL;
        break;
    }
    case TSF_TYPE_FORECASTS:
        seen->fc = in[i]->ptr;
        rc = tsf_forecasts_write_h5(o, seen->fc, "forecasts", s->cube ? "cube" : NULL, err);
        *done = s->cube ? "forecasts, cube" : "forecasts";
        break;
    case TSF_TYPE_METRICS:
        rc = tsf_metrics_write_h5(o, in[i]->ptr, NULL, 0, "metrics", err);
        *done = "metrics";
        break;
    case TSF_TYPE_HISTORY:
        if (seen->n_hist++)
            snprintf(name, n_name, "history_%zu", seen->n_hist);
        else
            snprintf(name, n_name, "history");
        rc = tsfs_write_history(o, name, in[i]->ptr, err);
        *done = name;
        break;
    case TSF_TYPE_BACKTEST: {
        const tsf_bt_record *rec = seen->rec = in[i]->ptr;
        if (rec->bt->fc_norm && s->normalized)
            rc = tsf_forecasts_write_h5(o, rec->bt->fc_norm, "forecasts_normalized", NULL, err);
        int64_t sde = -1;
        if (rc == TSF_OK)
            rc = tsf_source_date_epoch(&sde, err);
        if (rc == TSF_OK)
            rc = tsf_train_histories_write_h5(o, "backtest_history", rec->histories,
                                              rec->n_histories, sde >= 0, err);
        size_t fits = 0;
        for (size_t k = 0; k < rec->n_histories; k++)
            fits += rec->histories[k].n_epochs > 0;
        if (rc == TSF_OK && sde >= 0 && fits)
            rc = tsf_h5out_attr_string(o, "backtest_history", "seconds",
                                       "NaN: SOURCE_DATE_EPOCH is set, and wall-clock times "
                                       "would make the file differ from run to run",
                                       err);
        *done = "backtest record";
        break;
    }
    case TSF_TYPE_SCALER:
        seen->scaler = in[i]->ptr;
        *done = "scaler";
        break;
    case TSF_TYPE_MODEL:
        seen->model = in[i]->ptr;
        *done = "model's seed and scaler";
        break;
    default:
        break;
    }
    return rc;
}

/* The folds (from the forecasts' entries) and the scalers, as tables and root attributes. */
static int write_folds_and_scalers(tsf_h5out *o, tsf_stage_ctx *ctx, const export_seen *seen,
                                   tsf_err *err)
{
    const tsf_forecasts *fc = seen->fc;
    const tsf_bt_record *rec = seen->rec;
    const tsf_scaler *scaler = seen->scaler;
    const tsf_model *model = seen->model;
    tsf_scaler *model_scaler = NULL;
    int rc = TSF_OK;
    if (fc) {
        int fitted = 0;
        for (size_t e = 0; e < fc->n_entries && !fitted; e++)
            fitted = fc->entry[e].fit_end > 0;
        if (fitted)
            rc = tsf_folds_write_h5(o, fc, "folds", "/", err);
    }
    if (rc == TSF_OK && rec && rec->bt->scalers)
        rc = tsf_scalers_write_h5(o, "/", (const tsf_scaler *const *)rec->bt->scalers,
                                  rec->bt->n_fits, (const char *const *)rec->col_names, err);
    /* a model's scaler (the one it was trained with), laid out for the frame's columns */
    if (rc == TSF_OK && model && !scaler && !rec && seen->frame && model->scaler_for) {
        rc = model->scaler_for(model, seen->frame, &model_scaler, err);
        scaler = model_scaler;
    }
    if (rc == TSF_OK && scaler) {
        const char *const *names = seen->frame ? (const char *const *)seen->frame->col_names : NULL;
        if (!names && fc && fc->n_targets == scaler->n_frame_cols)
            names = (const char *const *)fc->targets;
        if (names)
            rc = tsf_scalers_write_h5(o, "/", &scaler, 1, names, err);
        else
            tsf_stage_log(ctx, TSF_LOG_WARN,
                          "scaler parameters not written: bind the frame too, to name its "
                          "columns");
    }
    tsf_scaler_free(model_scaler);
    return rc;
}

/* Forecasts far outside the data (tsf_forecasts_implausible) are counted in the root attribute
 * implausible_forecasts (0 when none: a reader can rely on it being there), described in
 * implausible_forecasts_note, and logged. */
static int flag_implausible(tsf_stage_ctx *ctx, tsf_h5out *o, const tsf_forecasts *fc,
                            const tsf_frame *frame, tsf_err *err)
{
    tsf_fc_implausible bad;
    tsf_forecasts_implausible(fc, frame, &bad);
    int rc = tsf_h5out_attr_int(o, "/", "implausible_forecasts", (int64_t)bad.n, err);
    if (rc != TSF_OK || !bad.n)
        return rc;
    char note[512];
    snprintf(note, sizeof note,
             "%zu of %zu forecast values lie far outside the data, e.g. %g for \"%.80s\", whose "
             "data spans %g to %g (plausible: %g to %g)",
             bad.n, bad.n_judged, bad.worst, bad.target, bad.data_min, bad.data_max, bad.lo,
             bad.hi);
    tsf_stage_log(ctx, TSF_LOG_WARN, "%s: %s", tsf_h5out_path(o), note);
    return tsf_h5out_attr_string(o, "/", "implausible_forecasts_note", note, err);
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    (void)out;
    const export_hdf5 *s = state;
    const size_t n = ctx->n_inputs;
    export_seen seen = {0};
    char what[1024] = "";
    size_t lw = 0;
    tsf_h5out *o = NULL;
    int rc = tsf_h5out_open(&o, s->path, err);
    if (rc != TSF_OK)
        return rc;
    static const char *const writing[TSF_TYPE_COUNT_] = {
        [TSF_TYPE_FRAME] = "writing the frame",
        [TSF_TYPE_FORECASTS] = "writing forecasts and cube",
        [TSF_TYPE_METRICS] = "writing metrics",
        [TSF_TYPE_HISTORY] = "writing a training history",
        [TSF_TYPE_BACKTEST] = "writing the backtest's histories",
    };
    for (size_t i = 0; i < n && rc == TSF_OK; i++) {
        if (!in[i])
            continue;
        if (tsf_stage_cancelled(ctx)) { /* between datasets: a large export stops promptly */
            rc = tsf_err_set(err, TSF_ECANCEL, "cancelled");
            break;
        }
        tsf_progress p = TSF_PROGRESS_INIT;
        p.fraction = (double)i / (double)(n + 1);
        p.what = writing[in[i]->type];
        if (in[i]->type == TSF_TYPE_FRAME && frame_layouts(s, ctx, in) == 0)
            p.what = NULL; /* not written */
        if (p.what)
            tsf_stage_progress(ctx, &p);
        const char *done;
        char name[64];
        rc = write_input(o, s, ctx, in, i, &seen, &done, name, sizeof name, err);
        if (done && lw < sizeof what)
            lw += (size_t)snprintf(what + lw, sizeof what - lw, "%s%s", lw ? ", " : "", done);
    }
    tsf_progress fp = TSF_PROGRESS_INIT;
    fp.fraction = (double)n / (double)(n + 1);
    fp.what = "writing folds, scalers and provenance";
    tsf_stage_progress(ctx, &fp);
    if (rc == TSF_OK)
        rc = write_folds_and_scalers(o, ctx, &seen, err);
    if (rc == TSF_OK && seen.fc && seen.frame)
        rc = flag_implausible(ctx, o, seen.fc, seen.frame, err);
    if (rc == TSF_OK)
        rc = provenance(ctx, o, in, n, seen.rec, seen.model, err);
    if (rc != TSF_OK) {
        tsf_h5out_abort(o);
        return rc;
    }
    if ((rc = tsf_h5out_commit(o, err)) != TSF_OK)
        return rc;
    tsf_stage_log(ctx, TSF_LOG_INFO, "wrote %s: %s", s->path, what);
    return TSF_OK;
}

const tsf_stage_def tsf_stage_export_hdf5 = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "export.hdf5",
    .summary = "write frames, forecasts, metrics, histories and backtests to one HDF5 file",
    .help = "pandas.read_hdf(path, NAME) opens \"forecasts\" (the long table: index series, "
            "origin, step, target; columns timestamp, cutoff, fold, actual and one per model and "
            "quantile; .reset_index() flattens it), \"metrics\" (index model, target, scale, by, "
            "key; columns count, mae ... coverage, skill_*), \"folds\", \"history/epochs\" and "
            "\"history/steps\"; \"forecasts_flat\" holds the forecasts as one table R reads "
            "(rhdf5::h5read). xarray.open_dataset(path, engine=\"h5netcdf\", group=\"cube\") "
            "opens forecast[model, target, series, origin, step, estimate] and actual[...] with "
            "time coordinates and valid_time[origin, step]; group=\"history\" the gradient flow. "
            "A frame input goes to KEY (pandas) and KEY_xr (xarray) when it is all there is, or "
            "as the data option says; normalized forecasts only with normalized = true. Root "
            "attributes record the tsflow version and git commit, the pipeline text, the seed, "
            "the input files and their SHA-256, every fold's fit window, scaler parameters, the "
            "creation time (UTC; SOURCE_DATE_EPOCH when set, so that runs repeat byte for byte), "
            "HDF5 and BLAS versions.",
    .state_size = sizeof(export_hdf5),
    .options = options,
    .inputs = inputs,
    .check = check,
    .run = run,
};
