/* plot: PNG pictures with gnuplot: history and forecast with a quantile band, backtest
 * forecasts per fold against the actuals, training and validation loss, the gradient norm of
 * every update with the clipped ones marked, and the gradient flow over the lookback.
 *
 * The stage writes, next to the pictures, the data (<prefix>_<plot>.dat) and one gnuplot script
 * (<prefix>.gp) that draws them all, then runs gnuplot on it: `cd DIR && gnuplot PREFIX.gp`
 * redraws the pictures by hand. Every file is written atomically; the pictures appear only when
 * gnuplot succeeded. Why gnuplot: Debian ships it without X (gnuplot-nox), its cairo terminal
 * draws antialiased PNGs, and a plain-text script is a record of exactly what was drawn. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model_stages.h"
#include "tsflow/atomic.h"
#include "tsflow/baseline.h"
#include "tsflow/export.h"
#include "tsflow/par.h"
#include "tsflow/stage.h"
#include "tsflow/tz.h"

enum { P_FORECAST, P_BACKTEST, P_LOSS, P_GRAD_NORM, P_GRAD_FLOW, N_PLOTS };
static const char *const plot_names[N_PLOTS + 1] = {"forecast",  "backtest",  "loss",
                                                    "grad_norm", "grad_flow", NULL};

/* Okabe-Ito colours: distinguishable with colour-blindness, and in print. */
#define C_ACTUAL "#000000"
#define C_HISTORY "#4d4d4d"
#define C_MODEL "#0072B2"
#define C_BAND "#9ecae1"
static const char *const model_colours[] = {"#0072B2", "#D55E00", "#009E73",
                                            "#CC79A7", "#E69F00", "#56B4E9"};
#define N_COLOURS (sizeof model_colours / sizeof *model_colours)

typedef struct plot_state {
    const char *prefix;
    tsf_enums plots;
    const char *series;
    const char *target;
    const char *model;
    const char *units;
    size_t width, height, font_size;
    size_t history;
    const char *gnuplot;
    unsigned want; /* from check: plots asked for (bits), 0 = all the inputs allow */
} plot_state;

#define OPT(field) .offset = offsetof(plot_state, field)

static const tsf_option options[] = {
    {.name = "prefix",
     .type = TSF_OPT_PATH_OUT,
     OPT(prefix),
     .flags = TSF_OPT_REQUIRED,
     .help = "start of every file name: PREFIX_forecast.png, PREFIX_forecast.dat, ..., "
             "PREFIX.gp"},
    {.name = "plots",
     .type = TSF_OPT_ENUMS,
     OPT(plots),
     .choices = plot_names,
     .help = "plots to draw (default: every plot the inputs allow)"},
    {.name = "series",
     .type = TSF_OPT_STRING,
     OPT(series),
     .help = "the series to draw, by id (default: the first)"},
    {.name = "target",
     .type = TSF_OPT_STRING,
     OPT(target),
     .help = "the target column to draw (default: the first)"},
    {.name = "model",
     .type = TSF_OPT_STRING,
     OPT(model),
     .help = "the model whose forecast and band the forecast plot shows (default: the first "
             "that is not a baseline)"},
    {.name = "units",
     .type = TSF_OPT_STRING,
     OPT(units),
     .help = "units of the target for the axis label, e.g. ppm"},
    {.name = "width",
     .type = TSF_OPT_SIZE,
     OPT(width),
     .def = "1200",
     .min = 200,
     .max = 10000,
     .help = "picture width in pixels"},
    {.name = "height",
     .type = TSF_OPT_SIZE,
     OPT(height),
     .def = "600",
     .min = 150,
     .max = 10000,
     .help = "picture height in pixels"},
    {.name = "font_size",
     .type = TSF_OPT_SIZE,
     OPT(font_size),
     .def = "12",
     .min = 6,
     .max = 72,
     .help = "font size in points"},
    {.name = "history",
     .type = TSF_OPT_SIZE,
     OPT(history),
     .def = "0",
     .min = 0,
     .max = 1e9,
     .help = "forecast plot: rows of history before the origin (0: four horizons)"},
    {.name = "gnuplot",
     .type = TSF_OPT_STRING,
     OPT(gnuplot),
     .def = "gnuplot",
     .help = "the gnuplot program (a name looked up in PATH, or a path)"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "values",
     .types = TSF_TYPE_BIT(TSF_TYPE_FRAME) | TSF_TYPE_BIT(TSF_TYPE_FORECASTS) |
              TSF_TYPE_BIT(TSF_TYPE_HISTORY) | TSF_TYPE_BIT(TSF_TYPE_BACKTEST),
     .flags = TSF_PORT_MANY,
     .help = "the series (history), forecasts, a training history, a backtest"},
    TSF_PORT_END,
};

/* Whether prog names an executable file, directly or in PATH. */
static int find_program(const char *prog)
{
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        char buf[4096];
        if (n && n + strlen(prog) + 2 < sizeof buf) {
            snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, prog);
            struct stat st;
            if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
                return 1;
        }
        path += n + (end != NULL);
    }
    return 0;
}

static int missing_gnuplot(tsf_stage_ctx *ctx, const char *prog, tsf_err *err)
{
    return tsf_stage_fail_key(ctx, err, "gnuplot", TSF_EINVAL,
                              "cannot run \"%s\": gnuplot is not installed (on Debian: apt-get "
                              "install gnuplot-nox), or set gnuplot = PATH",
                              prog);
}

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    (void)out;
    plot_state *s = state;
    s->want = tsf_enums_mask(&s->plots);
    int have_fc = 0, have_hist = 0;
    for (size_t i = 0; i < ctx->n_inputs; i++) {
        if (!in[i])
            continue;
        have_fc |= in[i]->type == TSF_TYPE_FORECASTS;
        have_hist |= in[i]->type == TSF_TYPE_HISTORY || in[i]->type == TSF_TYPE_BACKTEST;
    }
    for (int k = 0; k < N_PLOTS; k++) {
        if (!(s->want & (1u << k)))
            continue;
        int needs_fc = k <= P_BACKTEST;
        if (needs_fc ? !have_fc : !have_hist)
            return tsf_stage_fail_key(
                ctx, err, "plots", TSF_EINVAL, "plot %s needs %s input", plot_names[k],
                needs_fc ? "a forecasts" : "a training history (or backtest)");
    }
    if (!have_fc && !have_hist)
        return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL,
                                  "nothing to plot: bind forecasts or a training history");
    if (!find_program(s->gnuplot))
        return missing_gnuplot(ctx, s->gnuplot, err);
    return TSF_OK;
}

/* ---- writing the data and the script --------------------------------------------------- */

typedef struct out_file {
    tsf_atomic a;
    int open;
    char name[512]; /* file name inside the prefix's directory */
} out_file;

typedef struct plot_run {
    tsf_stage_ctx *ctx;
    const plot_state *s;
    char dir[4096]; /* the prefix's directory */
    char base[512]; /* the prefix's file name part */
    out_file files[3 * N_PLOTS + 1];
    size_t n_files;
    out_file *png[N_PLOTS];
    FILE *gp; /* the script being written */
    size_t made;
    char made_list[1024];
} plot_run;

/* Open the file PREFIX<suffix> for writing (atomically). */
static out_file *open_out(plot_run *pr, const char *suffix, FILE **fp, tsf_err *err)
{
    out_file *f = &pr->files[pr->n_files];
    char path[4700];
    int n = snprintf(f->name, sizeof f->name, "%s%s", pr->base, suffix);
    if (n < 0 || (size_t)n >= sizeof f->name ||
        (size_t)snprintf(path, sizeof path, "%s/%s", pr->dir, f->name) >= sizeof path) {
        tsf_err_set(err, TSF_EINVAL,
                    "key \"prefix\": \"%s/%s\" makes file names too long "
                    "(expected a name under %zu bytes)",
                    pr->dir, pr->base, sizeof f->name - 16);
        return NULL;
    }
    if (tsf_atomic_begin(&f->a, path, err) != TSF_OK)
        return NULL;
    f->open = 1;
    pr->n_files++;
    if (fp && !(*fp = tsf_atomic_stream(&f->a))) {
        tsf_err_set(err, TSF_EIO, "%s: cannot open a stream on its temporary file", path);
        return NULL;
    }
    return f;
}

static void put_num(FILE *fp, double v)
{
    if (isnan(v) || isinf(v))
        fputs(" ?", fp);
    else
        fprintf(fp, " %.10g", v);
}

/* A string as a gnuplot double-quoted literal. */
static void put_str(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', fp);
        fputc(*s == '\n' ? ' ' : *s, fp);
    }
    fputc('"', fp);
}

/* Title text: gnuplot's enhanced text mode gives _ and ^ meanings; escape them. */
static void put_title(FILE *fp, const char *s)
{
    char buf[1024];
    size_t n = 0;
    for (; *s && n + 4 < sizeof buf; s++) {
        if (*s == '_' || *s == '^' || *s == '@' || *s == '&' || *s == '~' || *s == '{' || *s == '}')
            buf[n++] = '\\', buf[n++] = '\\';
        buf[n++] = *s;
    }
    buf[n] = '\0';
    put_str(fp, buf);
}

/* A forecast time as the x axis shows it: the local wall clock of the forecasts' zone, as a
 * reader of the data expects (gnuplot knows no zones, so the local clock is written as if it
 * were UTC: across a change of offset the line jumps by the hour, as the clock does). */
static long long shown(const tsf_forecasts *fc, int64_t t)
{
    const tsf_tz *z = fc->time_kind == TSF_TIME_EPOCH && fc->tz ? tsf_tz_cached(fc->tz) : NULL;
    return (long long)(z ? t + tsf_tz_offset(z, t) * TSF_US_PER_S : t);
}

/* An x value as the data files and arrows hold it: timestamps as shown (above) in seconds since
 * the epoch, gnuplot's timefmt "%s" (with a fraction for sub-second times), an integer index as
 * it is. */
static char *x_text(const tsf_forecasts *fc, int64_t t, char *buf, size_t n)
{
    if (fc->time_kind == TSF_TIME_EPOCH)
        return tsf_seconds_format(shown(fc, t), buf, n);
    snprintf(buf, n, "%lld", (long long)t);
    return buf;
}

static void put_x(FILE *fp, const tsf_forecasts *fc, int64_t t)
{
    char buf[32];
    fputs(x_text(fc, t, buf, sizeof buf), fp);
}

/* Seconds since the epoch of a UTC calendar date. */
static int64_t utc(int year, int month, int day, int hour)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month, .tm_mday = day, .tm_hour = hour};
    return (int64_t)timegm(&tm); /* normalises month and day overflow */
}

/* The x axis of time values spanning [t0, t1], with tics at whole years, months, days or hours
 * (gnuplot's own time tics are multiples of seconds from 1970 and drift off the calendar). */
static void time_axis(FILE *gp, const tsf_forecasts *fc, int64_t t0, int64_t t1, const char *label)
{
    tsf_time_kind kind = fc->time_kind;
    if (kind != TSF_TIME_EPOCH) {
        fprintf(gp, "unset xdata\nset format x \"%%g\"\nset xlabel ");
        put_str(gp, label ? label : "row");
        fputc('\n', gp);
        return;
    }
    /* gnuplot's time axis counts seconds: the shown span in whole seconds around [t0, t1] */
    t0 = shown(fc, t0), t1 = shown(fc, t1);
    t0 = t0 / TSF_US_PER_S - (t0 % TSF_US_PER_S < 0);
    t1 = t1 / TSF_US_PER_S + (t1 % TSF_US_PER_S > 0);
    fprintf(gp, "set xdata time\nset timefmt \"%%s\"\nset xlabel ");
    char xl[96];
    snprintf(xl, sizeof xl, "time (%s)", fc->tz ? fc->tz : "UTC");
    put_str(gp, xl);
    fprintf(gp, "\nset xrange [%lld:%lld]\nset xtics (", (long long)t0, (long long)t1);
    double days = (double)(t1 - t0) / 86400;
    time_t a = (time_t)t0;
    struct tm tm0;
    gmtime_r(&a, &tm0);
    int y0 = tm0.tm_year + 1900, n = 0;
    char lab[32];
    if (days > 2 * 365.25) { /* years: every 1, 2, 5, 10, ... so that at most 12 tics show */
        static const int steps[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
        int k = 0;
        while (k < 9 && days / 365.25 / steps[k] > 12)
            k++;
        for (int y = y0 / steps[k] * steps[k]; utc(y, 0, 1, 0) <= t1; y += steps[k]) {
            int64_t t = utc(y, 0, 1, 0);
            if (t < t0)
                continue;
            fprintf(gp, "%s\"%d\" %lld", n++ ? ", " : "", y, (long long)t);
        }
    } else if (days > 60) { /* months: every 1, 2, 3 or 6 */
        static const int steps[] = {1, 2, 3, 6, 12};
        int k = 0;
        while (k < 4 && days / 30.44 / steps[k] > 12)
            k++;
        for (int m = 0;; m += steps[k]) {
            int64_t t = utc(y0, m, 1, 0);
            if (t > t1)
                break;
            if (t < t0)
                continue;
            time_t tt = (time_t)t;
            struct tm tm;
            gmtime_r(&tt, &tm);
            strftime(lab, sizeof lab, "%b %Y", &tm);
            fprintf(gp, "%s\"%s\" %lld", n++ ? ", " : "", lab, (long long)t);
        }
    } else if (days > 2) { /* days: every 1, 2, 7 or 14 */
        static const int steps[] = {1, 2, 7, 14, 28};
        int k = 0;
        while (k < 4 && days / steps[k] > 12)
            k++;
        for (int d = 0;; d += steps[k]) {
            int64_t t = utc(y0, tm0.tm_mon, tm0.tm_mday + d, 0);
            if (t > t1)
                break;
            if (t < t0)
                continue;
            time_t tt = (time_t)t;
            struct tm tm;
            gmtime_r(&tt, &tm);
            strftime(lab, sizeof lab, "%b %d", &tm);
            fprintf(gp, "%s\"%s\" %lld", n++ ? ", " : "", lab, (long long)t);
        }
    } else { /* hours: every 1, 2, 3, 6 or 12 */
        static const int steps[] = {1, 2, 3, 6, 12, 24};
        int k = 0;
        while (k < 5 && days * 24 / steps[k] > 12)
            k++;
        for (int h = 0;; h += steps[k]) {
            int64_t t = utc(y0, tm0.tm_mon, tm0.tm_mday, h);
            if (t > t1)
                break;
            if (t < t0)
                continue;
            time_t tt = (time_t)t;
            struct tm tm;
            gmtime_r(&tt, &tm);
            strftime(lab, sizeof lab, "%m-%d %H:%M", &tm);
            fprintf(gp, "%s\"%s\" %lld", n++ ? ", " : "", lab, (long long)t);
        }
    }
    fprintf(gp, ")\n");
}

static int is_baseline(const char *name)
{
    return tsf_baseline_parse(name) >= 0;
}

static void ylabel(FILE *gp, const plot_state *s, const char *target)
{
    char buf[512];
    if (s->units && s->units[0])
        snprintf(buf, sizeof buf, "%s (%s)", target, s->units);
    else
        snprintf(buf, sizeof buf, "%s", target);
    fprintf(gp, "set ylabel ");
    put_title(gp, buf);
    fputc('\n', gp);
}

/* The choices every forecast plot shares. */
typedef struct fc_pick {
    const tsf_forecasts *fc;
    size_t series, target, model;
} fc_pick;

static int pick(plot_run *pr, const tsf_forecasts *fc, fc_pick *p, tsf_err *err)
{
    const plot_state *s = pr->s;
    p->fc = fc;
    p->series = 0;
    p->target = 0;
    p->model = 0;
    if (s->series) {
        size_t k = 0;
        if (fc->series_ids)
            while (k < fc->n_series && strcmp(fc->series_ids[k], s->series) != 0)
                k++;
        else
            k = strcmp(s->series, "0") == 0 ? 0 : fc->n_series;
        if (k == fc->n_series)
            return tsf_stage_fail_key(pr->ctx, err, "series", TSF_EINVAL,
                                      "the forecasts have no series \"%s\"", s->series);
        p->series = k;
    }
    if (s->target) {
        size_t k = 0;
        while (k < fc->n_targets && strcmp(fc->targets[k], s->target) != 0)
            k++;
        if (k == fc->n_targets)
            return tsf_stage_fail_key(pr->ctx, err, "target", TSF_EINVAL,
                                      "the forecasts have no target \"%s\" (they forecast %s%s)",
                                      s->target, fc->targets[0], fc->n_targets > 1 ? ", ..." : "");
        p->target = k;
    }
    if (s->model) {
        size_t k = tsf_forecasts_model_index(fc, s->model);
        if (k == SIZE_MAX)
            return tsf_stage_fail_key(pr->ctx, err, "model", TSF_EINVAL,
                                      "the forecasts have no model \"%s\" (they hold %s%s)",
                                      s->model, fc->models[0], fc->n_models > 1 ? ", ..." : "");
        p->model = k;
    } else {
        for (size_t k = fc->n_models; k-- > 0;)
            if (!is_baseline(fc->models[k]))
                p->model = k;
    }
    return TSF_OK;
}

/* forecast: history, actuals, the forecast of the last origin of the series with its band. */
/* The forecast plot's history block: the n_hist rows of the frame before entry e_last's origin,
 * or without a frame the actuals of earlier entries; returns the first time written. */
static int64_t write_history(FILE *fp, const fc_pick *p, const tsf_frame *frame, size_t e_last,
                             size_t n_hist)
{
    const tsf_forecasts *fc = p->fc;
    const tsf_fc_entry *en = &fc->entry[e_last];
    const size_t K = fc->n_steps;
    fprintf(fp, "# history: time value\n");
    int64_t t_first = fc->time[e_last * K];
    size_t written = 0;
    if (frame && p->series < frame->n_series) {
        size_t a = frame->series_start[p->series], b = frame->series_start[p->series + 1];
        size_t col = fc->target_cols[p->target];
        size_t end = en->origin_row < b ? en->origin_row : b;
        size_t from = end > a + n_hist ? end - n_hist : a;
        for (size_t r = from; r < end && col < frame->n_cols; r++, written++) {
            put_x(fp, fc, frame->time[r]);
            put_num(fp, frame->cols[col][r]);
            fputc('\n', fp);
            if (written == 0)
                t_first = frame->time[r];
        }
    } else { /* no frame: earlier forecast entries' actuals stand in for the history */
        for (size_t e = 0; e < fc->n_entries; e++) {
            const tsf_fc_entry *x = &fc->entry[e];
            if (x->series != p->series || x->origin_time >= en->origin_time)
                continue;
            for (size_t k = 0; k < K; k++) {
                int64_t t = fc->time[e * K + k];
                if (t >= en->origin_time)
                    continue;
                put_x(fp, fc, t);
                put_num(fp, fc->actual[(e * K + k) * fc->n_targets + p->target]);
                fputc('\n', fp);
                if (!written++ || t < t_first)
                    t_first = t;
            }
        }
    }
    if (!written)
        fputs("? ?\n", fp);
    return t_first;
}

static int plot_forecast(plot_run *pr, const fc_pick *p, const tsf_frame *frame, tsf_err *err)
{
    const tsf_forecasts *fc = p->fc;
    const plot_state *s = pr->s;
    size_t e_last = SIZE_MAX;
    for (size_t e = 0; e < fc->n_entries; e++)
        if (fc->entry[e].series == p->series &&
            (e_last == SIZE_MAX || fc->entry[e].origin_time >= fc->entry[e_last].origin_time))
            e_last = e;
    if (e_last == SIZE_MAX)
        return tsf_err_set(err, TSF_EINVAL, "plot forecast: the series has no forecast");
    const tsf_fc_entry *en = &fc->entry[e_last];
    const size_t K = fc->n_steps, Q = fc->n_quantiles;
    size_t n_hist = s->history ? s->history : 4 * fc->horizon;
    FILE *fp;
    if (!open_out(pr, "_forecast.dat", &fp, err))
        return err->code;
    int64_t t_first = write_history(fp, p, frame, e_last, n_hist);
    fprintf(fp, "\n\n# forecast: time actual point lo hi\n");
    int any_actual = 0;
    for (size_t k = 0; k < K; k++) {
        const double *v = tsf_forecasts_at(fc, e_last, k, p->target, p->model);
        double y = fc->actual[(e_last * K + k) * fc->n_targets + p->target];
        any_actual |= !isnan(y);
        put_x(fp, fc, fc->time[e_last * K + k]);
        put_num(fp, y);
        put_num(fp, v[0]);
        put_num(fp, Q >= 2 ? v[1] : NAN);
        put_num(fp, Q >= 2 ? v[Q] : NAN);
        fputc('\n', fp);
    }
    /* the script */
    FILE *gp = pr->gp;
    char origin[40], title[1024];
    tsf_time_format(fc->time_kind, (int64_t)shown(fc, en->origin_time), origin, sizeof origin);
    if (fc->time_kind == TSF_TIME_EPOCH && strlen(origin) > 10 && !strcmp(origin + 10, " 00:00:00"))
        origin[10] = '\0';
    const char *sid = fc->series_ids ? fc->series_ids[p->series] : NULL;
    snprintf(title, sizeof title, "%s%s%s: %s forecast of %zu step%s from %s",
             fc->targets[p->target], sid ? ", series " : "", sid ? sid : "", fc->models[p->model],
             fc->horizon, fc->horizon == 1 ? "" : "s", origin);
    fprintf(gp, "\n# ---- %s\n", plot_names[P_FORECAST]);
    fprintf(gp, "set output out_forecast\nset title ");
    put_title(gp, title);
    fputc('\n', gp);
    time_axis(gp, fc, t_first, fc->time[e_last * K + K - 1], NULL);
    ylabel(gp, s, fc->targets[p->target]);
    fprintf(gp, "set key top left opaque box lc rgb '#cccccc'\n");
    char xc[32];
    x_text(fc, en->cutoff_time, xc, sizeof xc);
    fprintf(gp, "set arrow 1 from %s, graph 0 to %s, graph 1 nohead dt 3 lc rgb '#888888'\n", xc,
            xc);
    fprintf(gp, "plot \\\n");
    if (Q >= 2) {
        char band[128];
        snprintf(band, sizeof band, "%g%% interval (q%g to q%g)",
                 100 * (fc->quantiles[Q - 1] - fc->quantiles[0]), fc->quantiles[0],
                 fc->quantiles[Q - 1]);
        fprintf(gp,
                "  '%s' index 1 using 1:4:5 with filledcurves lc rgb '%s' fs solid 0.6 "
                "title ",
                pr->files[pr->n_files - 1].name, C_BAND);
        put_title(gp, band);
        fprintf(gp, ", \\\n");
    }
    fprintf(gp, "  '%s' index 0 using 1:2 with lines lw 1.5 lc rgb '%s' title 'history', \\\n",
            pr->files[pr->n_files - 1].name, C_HISTORY);
    if (any_actual)
        fprintf(gp,
                "  '%s' index 1 using 1:2 with linespoints lw 1.5 pt 7 ps 0.5 lc rgb '%s' "
                "title 'actual', \\\n",
                pr->files[pr->n_files - 1].name, C_ACTUAL);
    fprintf(gp, "  '%s' index 1 using 1:3 with lines lw 2.5 lc rgb '%s' title ",
            pr->files[pr->n_files - 1].name, C_MODEL);
    char mt[300];
    snprintf(mt, sizeof mt, "%s forecast%s", fc->models[p->model], Q >= 2 ? " (median)" : "");
    put_title(gp, mt);
    fputc('\n', gp);
    return TSF_OK;
}

/* backtest: every fold's forecast of every model against the actuals. */
static int plot_backtest(plot_run *pr, const fc_pick *p, const tsf_frame *frame, tsf_err *err)
{
    const tsf_forecasts *fc = p->fc;
    const size_t K = fc->n_steps, O = fc->n_targets;
    FILE *fp;
    if (!open_out(pr, "_backtest.dat", &fp, err))
        return err->code;
    const char *dat = pr->files[pr->n_files - 1].name;
    int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    size_t folds = 0, n_entries = 0;
    for (size_t e = 0; e < fc->n_entries; e++) {
        if (fc->entry[e].series != p->series)
            continue;
        n_entries++;
        t0 = fc->time[e * K] < t0 ? fc->time[e * K] : t0;
        t1 = fc->time[e * K + K - 1] > t1 ? fc->time[e * K + K - 1] : t1;
        folds = fc->entry[e].fold + 1 > folds ? fc->entry[e].fold + 1 : folds;
    }
    if (!n_entries)
        return tsf_err_set(err, TSF_EINVAL, "plot backtest: the series has no forecast");
    /* block 0: the actuals over the forecast span (and a little before), from the frame when
     * given, else from the entries */
    fprintf(fp, "# actual: time value\n");
    int64_t step = fc->time_step > 0 ? fc->time_step : 1;
    int64_t lead = (int64_t)fc->horizon * step;
    if (frame && p->series < frame->n_series) {
        size_t a = frame->series_start[p->series], b = frame->series_start[p->series + 1];
        size_t col = fc->target_cols[p->target];
        for (size_t r = a; r < b && col < frame->n_cols; r++)
            if (frame->time[r] >= t0 - lead && frame->time[r] <= t1) {
                put_x(fp, fc, frame->time[r]);
                put_num(fp, frame->cols[col][r]);
                fputc('\n', fp);
            }
        t0 -= lead;
    } else {
        for (size_t e = 0; e < fc->n_entries; e++)
            if (fc->entry[e].series == p->series)
                for (size_t k = 0; k < K; k++) {
                    put_x(fp, fc, fc->time[e * K + k]);
                    put_num(fp, fc->actual[(e * K + k) * O + p->target]);
                    fputc('\n', fp);
                }
    }
    /* blocks 1..M: each model's forecasts, one line piece per fold */
    for (size_t m = 0; m < fc->n_models; m++) {
        fprintf(fp, "\n\n# %s: time forecast\n", fc->models[m]);
        for (size_t e = 0; e < fc->n_entries; e++) {
            if (fc->entry[e].series != p->series)
                continue;
            for (size_t k = 0; k < K; k++) {
                put_x(fp, fc, fc->time[e * K + k]);
                put_num(fp, tsf_forecasts_at(fc, e, k, p->target, m)[0]);
                fputc('\n', fp);
            }
            fputc('\n', fp); /* a gap between folds */
        }
    }
    FILE *gp = pr->gp;
    char title[1024];
    const char *sid = fc->series_ids ? fc->series_ids[p->series] : NULL;
    snprintf(title, sizeof title, "%s%s%s: backtest, %zu fold%s of %zu-step forecasts%s",
             fc->targets[p->target], sid ? ", series " : "", sid ? sid : "", folds,
             folds == 1 ? "" : "s", fc->horizon, fc->step0 > 1 ? " (last step only)" : "");
    fprintf(gp, "\n# ---- %s\n", plot_names[P_BACKTEST]);
    fprintf(gp, "set output out_backtest\nset title ");
    put_title(gp, title);
    fputc('\n', gp);
    time_axis(gp, fc, t0, t1, NULL);
    ylabel(gp, pr->s, fc->targets[p->target]);
    fprintf(gp, "set key top left opaque box lc rgb '#cccccc'\n");
    /* fold boundaries: a dotted line at every origin */
    size_t arrow = 10;
    char xo[32];
    for (size_t e = 0; e < fc->n_entries && arrow < 10 + 400; e++)
        if (fc->entry[e].series == p->series)
            fprintf(gp,
                    "set arrow %zu from %s, graph 0 to %s, graph 1 nohead dt 3 lc rgb "
                    "'#bbbbbb'\n",
                    arrow++, x_text(fc, fc->entry[e].origin_time, xo, sizeof xo), xo);
    fprintf(gp, "plot \\\n  '%s' index 0 using 1:2 with lines lw 2 lc rgb '%s' title 'actual'", dat,
            C_ACTUAL);
    /* the chosen model first and boldest, then the others thinner */
    for (size_t i = 0; i < fc->n_models; i++) {
        size_t m = i == 0 ? p->model : (i <= p->model ? i - 1 : i);
        int main_model = m == p->model;
        fprintf(gp, ", \\\n  '%s' index %zu using 1:2 with lines lw %s %s lc rgb '%s' title ", dat,
                m + 1, main_model ? "2.5" : "1.5", main_model ? "" : "dt (6,3)",
                model_colours[i % N_COLOURS]);
        put_title(gp, fc->models[m]);
    }
    fputc('\n', gp);
    return TSF_OK;
}

/* loss: training and validation loss per epoch. */
static int plot_loss(plot_run *pr, const tsf_train_history *h, const char *what, tsf_err *err)
{
    FILE *fp;
    if (!open_out(pr, "_loss.dat", &fp, err))
        return err->code;
    const char *dat = pr->files[pr->n_files - 1].name;
    fprintf(fp, "# epoch train_loss val_loss lr\n");
    double lo = INFINITY, hi = 0;
    int has_val = 0;
    for (size_t e = 0; e < h->n_epochs; e++) {
        const tsf_epoch_record *r = &h->epoch[e];
        fprintf(fp, "%zu", e + 1);
        put_num(fp, r->train_loss);
        put_num(fp, r->val_loss);
        put_num(fp, r->lr);
        fputc('\n', fp);
        has_val |= !isnan(r->val_loss);
        const double v[2] = {r->train_loss, r->val_loss};
        for (int i = 0; i < 2; i++)
            if (v[i] > 0 && isfinite(v[i])) {
                lo = v[i] < lo ? v[i] : lo;
                hi = v[i] > hi ? v[i] : hi;
            }
    }
    FILE *gp = pr->gp;
    char title[512];
    snprintf(title, sizeof title, "Training%s loss per epoch%s%s", has_val ? " and validation" : "",
             what ? " - " : "", what ? what : "");
    fprintf(gp, "\n# ---- %s\n", plot_names[P_LOSS]);
    fprintf(gp, "set output out_loss\nset title ");
    put_title(gp, title);
    fprintf(gp, "\nset xlabel 'epoch'\nset ylabel 'loss (normalized units)'\n");
    if (hi > 0 && lo < INFINITY && hi / lo > 3) /* the first epochs would flatten the rest */
    {
        double y0 = lo / 1.25, y1 = hi * 1.25;
        fprintf(gp, "set logscale y\nset format y '%%g'\nset yrange [%g:%g]\nset ytics (", y0, y1);
        /* tics at 1, 2, 3 and 5 times the powers of ten in range: several labels however
         * narrow the range */
        int n = 0;
        for (double d = pow(10, floor(log10(y0))); d <= y1; d *= 10)
            for (int k = 0; k < 4; k++) {
                double t = d * (const double[]){1, 2, 3, 5}[k];
                if (t >= y0 && t <= y1)
                    fprintf(gp, "%s%g", n++ ? ", " : "", t);
            }
        fprintf(gp, ")\n");
    }
    fprintf(gp, "set key top right opaque box lc rgb '#cccccc'\nset xrange [0.5:%zu.5]\n",
            h->n_epochs);
    if (h->n_epochs <= 30)
        fprintf(gp, "set xtics 1\n");
    if (has_val && h->best_epoch < h->n_epochs) {
        int right = 2 * (h->best_epoch + 1) > h->n_epochs; /* label on the roomier side */
        fprintf(gp,
                "set arrow 1 from %zu, graph 0 to %zu, graph 1 nohead dt 3 lc rgb '#888888'\n"
                "set label 1 'best epoch (validation)' at %zu, graph 0.04 %s offset %s0.5, 0 "
                "tc rgb '#666666'\n",
                h->best_epoch + 1, h->best_epoch + 1, h->best_epoch + 1, right ? "right" : "left",
                right ? "-" : "");
    }
    fprintf(gp,
            "plot '%s' using 1:2 with linespoints lw 2 pt 7 ps 0.7 lc rgb '%s' title 'training "
            "(mean over the epoch)'",
            dat, model_colours[0]);
    if (has_val)
        fprintf(gp,
                ", \\\n  '%s' using 1:3 with linespoints lw 2 pt 5 ps 0.7 lc rgb '%s' title "
                "'validation (after the epoch)'",
                dat, model_colours[1]);
    fputc('\n', gp);
    return TSF_OK;
}

/* grad_norm: the pre-clip gradient norm of every update, clipped updates marked. */
static int plot_grad_norm(plot_run *pr, const tsf_train_history *h, const char *what, tsf_err *err)
{
    FILE *fp;
    if (!open_out(pr, "_grad_norm.dat", &fp, err))
        return err->code;
    const char *dat = pr->files[pr->n_files - 1].name;
    fprintf(fp, "# update grad_norm clipped epoch_start\n");
    size_t clipped = 0, per_epoch = h->n_epochs ? h->epoch[0].n_steps : 0;
    for (size_t k = 0; k < h->n_steps; k++) {
        fprintf(fp, "%zu", k + 1);
        put_num(fp, h->step_norm[k]);
        fprintf(fp, " %d\n", h->step_clipped[k]);
        clipped += h->step_clipped[k];
    }
    FILE *gp = pr->gp;
    char title[512], ctitle[128];
    snprintf(title, sizeof title, "Gradient norm per update, before clipping%s%s",
             what ? " - " : "", what ? what : "");
    snprintf(ctitle, sizeof ctitle, "clipped (%zu of %zu updates)", clipped, h->n_steps);
    fprintf(gp, "\n# ---- %s\n", plot_names[P_GRAD_NORM]);
    fprintf(gp, "set output out_grad_norm\nset title ");
    put_title(gp, title);
    fprintf(gp,
            "\nset xlabel 'update (optimizer step)%s'\nset ylabel 'global L2 norm of the "
            "gradient'\nset logscale y\nset format y '%%g'\n",
            per_epoch && h->n_epochs > 1 && h->n_epochs <= 60 ? "; grey lines: epoch boundaries"
                                                              : "");
    fprintf(gp, "set key top right opaque box lc rgb '#cccccc'\n");
    /* epoch boundaries, when there are few enough to read */
    if (per_epoch && h->n_epochs <= 60) {
        size_t at = 0;
        for (size_t e = 0; e + 1 < h->n_epochs; e++) {
            at += h->epoch[e].n_steps;
            fprintf(gp,
                    "set arrow %zu from %zu.5, graph 0 to %zu.5, graph 1 nohead lc rgb '#e0e0e0'\n",
                    e + 1, at, at);
        }
    }
    fprintf(gp,
            "plot '%s' using 1:2 with lines lw 1 lc rgb '%s' title 'gradient norm', \\\n"
            "  '%s' using 1:($3 > 0 ? $2 : 1/0) with points pt 7 ps 1.1 lc rgb '%s' title ",
            dat, model_colours[0], dat, model_colours[1]);
    put_title(gp, ctitle);
    fputc('\n', gp);
    return TSF_OK;
}

/* grad_flow: ||dLoss/dh_t|| over the lookback (x) and epochs (y), on a log colour scale. */
static int plot_grad_flow(plot_run *pr, const tsf_train_history *h, const char *what, tsf_err *err)
{
    FILE *fp;
    if (!open_out(pr, "_grad_flow.dat", &fp, err))
        return err->code;
    const char *dat = pr->files[pr->n_files - 1].name;
    const size_t T = h->lookback, E = h->n_epochs;
    double lo = INFINITY, hi = 0;
    fprintf(fp, "# steps_before_origin epoch norm (blocks per epoch)\n");
    for (size_t e = 0; e < E; e++) {
        for (size_t t = 0; t < T; t++) {
            double v = h->grad_flow[e * T + t];
            fprintf(fp, "%lld %zu", (long long)t - (long long)T, e + 1);
            put_num(fp, v > 0 ? log10(v) : NAN);
            fputc('\n', fp);
            if (v > 0 && isfinite(v)) {
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        }
        fputc('\n', fp);
    }
    /* the last epoch alone, for the profile line */
    fprintf(fp, "\n# last epoch: steps_before_origin norm\n");
    for (size_t t = 0; E && t < T; t++) {
        fprintf(fp, "%lld", (long long)t - (long long)T);
        put_num(fp, h->grad_flow[(E - 1) * T + t]);
        fputc('\n', fp);
    }
    FILE *gp = pr->gp;
    char title[512];
    snprintf(title, sizeof title, "Gradient flow over the lookback%s%s", what ? " - " : "",
             what ? what : "");
    fprintf(gp, "\n# ---- %s\n", plot_names[P_GRAD_FLOW]);
    fprintf(gp, "set output out_grad_flow\nset multiplot layout 2,1 title ");
    put_title(gp, title);
    fprintf(gp, " font ',%zu'\n", pr->s->font_size + 2);
    /* top: heat map over epochs */
    fprintf(gp,
            "set title 'mean ||dLoss/dh_t|| per epoch: dark = vanishing, bright = large'\n"
            "set xlabel 'lookback step (steps before the forecast origin)'\n"
            "set ylabel 'epoch'\nset cblabel 'log10 ||dLoss/dh_t||'\n"
            "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', "
            "4 '#fde725')\n"
            "set xrange [%lld.5:-0.5]\nset yrange [0.5:%zu.5]\n",
            -(long long)T - 1, E);
    if (hi > 0 && lo < INFINITY)
        fprintf(gp, "set cbrange [%g:%g]\n", floor(log10(lo) * 2) / 2, ceil(log10(hi) * 2) / 2);
    fprintf(gp, "plot '%s' index 0 using 1:2:3 with image notitle\n", dat);
    /* bottom: the last epoch's profile on a log axis */
    fprintf(gp,
            "unset cblabel\nset title 'last epoch (%zu)'\nset ylabel '||dLoss/dh_t||'\n"
            "set logscale y\nset format y '%%g'\nset autoscale y\nset key top left\n"
            "set xrange [%lld.5:-0.5]\n"
            "plot '%s' index 1 using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb '%s' "
            "title 'gradient reaching the hidden state'\nunset multiplot\n",
            E, -(long long)T - 1, dat, model_colours[0]);
    return TSF_OK;
}

/* Run gnuplot on the script in the prefix's directory, the pictures' temporaries as outputs.
 * On failure err holds gnuplot's own message. */
/* Whether path holds a whole PNG: the signature, and the IEND chunk as its last 12 bytes.
 * gnuplot can exit 0 having written only part of a picture when the disk fills. */
static int png_complete(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    unsigned char head[8], tail[12];
    FILE *f = fopen(path, "rb");
    int ok = f && fread(head, 1, 8, f) == 8 && !memcmp(head, sig, 8) &&
             fseek(f, -12, SEEK_END) == 0 && fread(tail, 1, 12, f) == 12 && !memcmp(tail, iend, 12);
    if (f)
        fclose(f);
    return ok;
}

static int run_gnuplot(plot_run *pr, const char *script, tsf_err *err)
{
    char *argv[2 * N_PLOTS + 4];
    char defs[N_PLOTS][4700];
    size_t n = 0;
    char cwd[4096] = "";
    if (!getcwd(cwd, sizeof cwd))
        TSF_FAIL(err, TSF_EIO, "cannot run gnuplot: the current directory is unknown: %s",
                 strerror(errno));
    argv[n++] = (char *)pr->s->gnuplot;
    for (int k = 0; k < N_PLOTS; k++) {
        if (!pr->png[k])
            continue;
        /* gnuplot runs in the prefix's directory: give it absolute output names */
        const char *tmp = pr->png[k]->a.tmp_path;
        snprintf(defs[k], sizeof defs[k], "out_%s = '%s%s%s'", plot_names[k],
                 tmp[0] == '/' ? "" : cwd, tmp[0] == '/' ? "" : "/", tmp);
        argv[n++] = "-e";
        argv[n++] = defs[k];
    }
    argv[n++] = (char *)script;
    argv[n] = NULL;
    int pipefd[2];
    if (pipe(pipefd) != 0)
        TSF_FAIL(err, TSF_EIO, "cannot run gnuplot: pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        TSF_FAIL(err, TSF_EIO, "cannot run gnuplot: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(pipefd[1], STDERR_FILENO);
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        if (chdir(pr->dir) != 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(pipefd[1]);
    char out[2048];
    size_t len = 0;
    ssize_t r;
    char sink[512];
    while ((r = read(pipefd[0], len < sizeof out - 1 ? out + len : sink,
                     len < sizeof out - 1 ? sizeof out - 1 - len : sizeof sink)) > 0 ||
           (r < 0 && errno == EINTR))
        if (r > 0 && len < sizeof out - 1)
            len += (size_t)r;
    out[len] = '\0';
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        TSF_FAIL(err, TSF_EIO,
                 "cannot run \"%s\": gnuplot is not installed (on Debian: apt-get install "
                 "gnuplot-nox), or set gnuplot = PATH",
                 pr->s->gnuplot);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strstr(out, "error") ||
        strstr(out, "rror:")) {
        while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
            out[--len] = '\0';
        const char *msg = out;
        while (*msg == '\n' || *msg == ' ')
            msg++;
        TSF_FAIL(err, TSF_EIO, "gnuplot failed on %s/%s%s%s", pr->dir, script, *msg ? ": " : "",
                 msg);
    }
    for (int k = 0; k < N_PLOTS; k++)
        if (pr->png[k] && !png_complete(pr->png[k]->a.tmp_path))
            TSF_FAIL(err, TSF_EIO,
                     "gnuplot exited 0 but %s/%s is not a complete PNG (a full disk?); the "
                     "previous file is kept",
                     pr->dir, pr->png[k]->name);
    return TSF_OK;
}

/* The directory and the file-name start of the outputs, from prefix. */
static void split_prefix(plot_run *pr, const char *prefix)
{
    const char *slash = strrchr(prefix, '/');
    if (slash) {
        snprintf(pr->dir, sizeof pr->dir, "%.*s", (int)(slash - prefix), prefix);
        if (!pr->dir[0])
            snprintf(pr->dir, sizeof pr->dir, "/");
        snprintf(pr->base, sizeof pr->base, "%s", slash + 1);
    } else {
        snprintf(pr->dir, sizeof pr->dir, ".");
        snprintf(pr->base, sizeof pr->base, "%s", prefix);
    }
}

/* What the inputs hold: the first of each type. */
typedef struct plot_inputs {
    const tsf_frame *frame;
    const tsf_forecasts *fc;
    const tsf_train_history *hist;
    const tsf_bt_record *rec;
    char hist_what[64]; /* where hist comes from when not a history input, or "" */
} plot_inputs;

static void gather_inputs(tsf_stage_ctx *ctx, tsf_value *const *in, plot_inputs *pi)
{
    memset(pi, 0, sizeof *pi);
    for (size_t i = 0; i < ctx->n_inputs; i++) {
        if (!in[i])
            continue;
        if (in[i]->type == TSF_TYPE_FRAME && !pi->frame)
            pi->frame = in[i]->ptr;
        else if (in[i]->type == TSF_TYPE_FORECASTS && !pi->fc)
            pi->fc = in[i]->ptr;
        else if (in[i]->type == TSF_TYPE_HISTORY && !pi->hist)
            pi->hist = in[i]->ptr;
        else if (in[i]->type == TSF_TYPE_BACKTEST && !pi->rec)
            pi->rec = in[i]->ptr;
    }
    if (!pi->hist && pi->rec) /* the last fit of the backtest's first model */
        for (size_t k = pi->rec->n_histories; k-- > 0 && !pi->hist;)
            if (pi->rec->histories[k].n_epochs) {
                pi->hist = &pi->rec->histories[k];
                snprintf(pi->hist_what, sizeof pi->hist_what, "backtest fit at fold %zu", k);
            }
}

/* The plots asked for, or (none asked) every plot the inputs allow; as bits. */
static unsigned plots_wanted(const plot_state *s, const plot_inputs *pi)
{
    if (s->want)
        return s->want;
    unsigned want = 0;
    const tsf_forecasts *fc = pi->fc;
    const tsf_train_history *hist = pi->hist;
    if (fc) {
        want |= 1u << P_FORECAST;
        size_t folds = 0;
        for (size_t e = 0; e < fc->n_entries; e++)
            folds = fc->entry[e].fold + 1 > folds ? fc->entry[e].fold + 1 : folds;
        if (folds > 1)
            want |= 1u << P_BACKTEST;
    }
    if (hist && hist->n_epochs)
        want |= 1u << P_LOSS | 1u << P_GRAD_NORM;
    if (hist && hist->n_epochs && hist->lookback && hist->grad_flow)
        want |= 1u << P_GRAD_FLOW;
    return want;
}

/* The script's start: output names, terminal and the settings every plot starts from. */
static void write_preamble(plot_run *pr, unsigned want)
{
    const plot_state *s = pr->s;
    FILE *gp = pr->gp;
    fprintf(gp,
            "# Drawn by tsflow's plot stage; redraw with: gnuplot %s.gp (in this directory).\n"
            "# Outputs default to the PNG names below; tsflow passes temporary names with -e.\n",
            pr->base);
    for (int k = 0; k < N_PLOTS; k++)
        if (want & (1u << k))
            fprintf(gp, "if (!exists('out_%s')) out_%s = '%s_%s.png'\n", plot_names[k],
                    plot_names[k], pr->base, plot_names[k]);
    fprintf(gp,
            "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
            "    set terminal pngcairo size %zu,%zu enhanced font 'DejaVu Sans,%zu' linewidth 1 "
            "background '#ffffff'\n"
            "} else {\n"
            "    set terminal png size %zu,%zu enhanced font 'DejaVuSans,%zu' background "
            "'#ffffff'\n"
            "}\n"
            "set datafile missing '?'\n"
            "set grid lc rgb '#e5e5e5' lt 1\n"
            "set border lc rgb '#555555'\n"
            "set tics nomirror\n"
            "set title font ',%zu'\n",
            s->width, s->height, s->font_size, s->width, s->height, s->font_size, s->font_size + 2);
    /* every plot starts from these settings */
    fprintf(gp,
            "common = \"set datafile missing '?'; set grid lc rgb '#e5e5e5' lt 1; set "
            "border 3 lc rgb '#555555'; set tics nomirror; set title font ',%zu'\"\n",
            s->font_size + 2);
}

/* Each wanted plot: its data and script lines, and its picture's (temporary) file. */
static int draw_plots(plot_run *pr, unsigned want, const plot_inputs *pi, tsf_err *err)
{
    fc_pick p = {0};
    int rc = TSF_OK;
    if (pi->fc && (want & (1u << P_FORECAST | 1u << P_BACKTEST)) &&
        (rc = pick(pr, pi->fc, &p, err)))
        return rc;
    const char *what = pi->hist_what[0] ? pi->hist_what : NULL;
    for (int k = 0; k < N_PLOTS; k++) {
        if (!(want & (1u << k)))
            continue;
        fprintf(pr->gp, "\nreset\n@common\n");
        switch (k) {
        case P_FORECAST:
            rc = plot_forecast(pr, &p, pi->frame, err);
            break;
        case P_BACKTEST:
            rc = plot_backtest(pr, &p, pi->frame, err);
            break;
        case P_LOSS:
            rc = plot_loss(pr, pi->hist, what, err);
            break;
        case P_GRAD_NORM:
            rc = plot_grad_norm(pr, pi->hist, what, err);
            break;
        default:
            rc = plot_grad_flow(pr, pi->hist, what, err);
            break;
        }
        if (rc != TSF_OK)
            return rc;
        char suffix[64];
        snprintf(suffix, sizeof suffix, "_%s.png", plot_names[k]);
        if (!(pr->png[k] = open_out(pr, suffix, NULL, err)))
            return err->code;
        size_t used = strlen(pr->made_list);
        snprintf(pr->made_list + used, sizeof pr->made_list - used, "%s%s", used ? ", " : "",
                 pr->png[k]->name);
        pr->made++;
    }
    fprintf(pr->gp, "\nunset output\n");
    return TSF_OK;
}

/* The data and the script first (gnuplot reads them by their final names), then the pictures
 * once gnuplot has drawn them all. */
static int commit_outputs(plot_run *pr, const out_file *script, tsf_err *err)
{
    int rc = TSF_OK;
    for (size_t i = 0; i < pr->n_files && rc == TSF_OK; i++) {
        out_file *f = &pr->files[i];
        if (strstr(f->name, ".png"))
            continue;
        if (f->a.fp && ferror(f->a.fp))
            rc = tsf_err_set(err, TSF_EIO, "%s/%s: write error", pr->dir, f->name);
        else
            rc = tsf_atomic_commit(&f->a, err);
        f->open = 0;
    }
    if (rc == TSF_OK && tsf_stage_cancelled(pr->ctx))
        rc = tsf_err_set(err, TSF_ECANCEL, "cancelled");
    /* Only rank 0 of an MPI run writes files (tsflow/par.h): the script was another rank's to
     * discard, and the pictures are rank 0's to draw. */
    if (rc == TSF_OK && tsf_par_rank() == 0)
        rc = run_gnuplot(pr, script->name, err);
    for (size_t i = 0; i < pr->n_files && rc == TSF_OK; i++) {
        out_file *f = &pr->files[i];
        if (!f->open)
            continue;
        rc = tsf_atomic_commit(&f->a, err);
        f->open = 0;
    }
    return rc;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    (void)out;
    plot_state *s = state;
    plot_run *pr = calloc(1, sizeof *pr);
    if (!pr)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    pr->ctx = ctx;
    pr->s = s;
    split_prefix(pr, s->prefix);
    plot_inputs pi;
    gather_inputs(ctx, in, &pi);
    unsigned want = plots_wanted(s, &pi);
    int rc = TSF_OK;
    const out_file *script = NULL;
    if (!want)
        rc = tsf_err_set(err, TSF_EINVAL,
                         "nothing to plot: the forecasts are empty and no training history has "
                         "epochs");
    else if ((want & (1u << P_LOSS | 1u << P_GRAD_NORM | 1u << P_GRAD_FLOW)) &&
             (!pi.hist || !pi.hist->n_epochs))
        rc = tsf_err_set(err, TSF_EINVAL, "the training history is empty (no epoch ran)");
    else if (!(script = open_out(pr, ".gp", &pr->gp, err)))
        rc = err->code;
    if (rc == TSF_OK) {
        write_preamble(pr, want);
        rc = draw_plots(pr, want, &pi, err);
    }
    if (rc == TSF_OK)
        rc = commit_outputs(pr, script, err);
    if (rc == TSF_OK)
        tsf_stage_log(ctx, TSF_LOG_INFO, "drew %zu plot%s in %s: %s (data and script: %s.gp)",
                      pr->made, pr->made == 1 ? "" : "s", pr->dir, pr->made_list, pr->base);
    for (size_t i = 0; i < pr->n_files; i++)
        if (pr->files[i].open)
            tsf_atomic_abort(&pr->files[i].a);
    free(pr);
    return rc;
}

const tsf_stage_def tsf_stage_plot = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "plot",
    .summary = "draw PNG plots with gnuplot: forecast, backtest, loss, gradient norm and flow",
    .help = "forecast: the history, the actuals and the last forecast of a series with the band "
            "between its lowest and highest quantile; backtest: every fold's forecast of every "
            "model against the actuals, origins dotted; loss: training and validation loss per "
            "epoch; grad_norm: the gradient norm of every update before clipping, clipped "
            "updates marked; grad_flow: ||dLoss/dh_t|| over the lookback and the epochs (a "
            "vanishing gradient shows as a dark left side). Writes PREFIX_<plot>.png, the data "
            "PREFIX_<plot>.dat and the script PREFIX.gp, which redraws them (gnuplot PREFIX.gp). "
            "Needs gnuplot (Debian: gnuplot-nox); without a training history input, the last fit "
            "of a backtest input gives the training plots.",
    .state_size = sizeof(plot_state),
    .options = options,
    .inputs = inputs,
    .check = check,
    .run = run,
};
