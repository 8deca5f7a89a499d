/* Building pipelines from command-line flags (see cli_build.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "cli_build.h"
#include "cli_pipeline.h"
#include "cli_read.h"
#include "runner.h"

static void append(cli_ini *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *t = realloc(b->text, cap);
        if (!t) {
            b->oom = 1;
            return;
        }
        b->text = t;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
    for (size_t i = 0; i < n; i++)
        b->lines += s[i] == '\n';
}

/* vsnprintf into a new string (NULL when out of memory). */
static char *vformat(const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    char *t = n < 0 ? NULL : malloc((size_t)n + 1);
    if (t)
        vsnprintf(t, (size_t)n + 1, fmt, ap);
    return t;
}

void cli_ini_comment(cli_ini *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *t = vformat(fmt, ap);
    va_end(ap);
    char **c = t ? realloc(b->comments, (b->n_comments + 1) * sizeof *c) : NULL;
    size_t *at = c ? realloc(b->comment_step, (b->n_comments + 1) * sizeof *at) : NULL;
    if (c)
        b->comments = c;
    if (at)
        b->comment_step = at;
    if (!t || !c || !at) {
        free(t);
        b->oom = 1;
        return;
    }
    b->comments[b->n_comments] = t;
    b->comment_step[b->n_comments++] = b->p ? b->p->n_steps : 0;
    append(b, "# ", 2);
    append(b, t, strlen(t));
    append(b, "\n", 1);
}

void cli_ini_section(cli_ini *b, const char *name, const char *stage)
{
    tsf_err err = TSF_ERR_INIT;
    if (b->oom || !b->p || tsf_pipeline_add_step(b->p, name, b->lines + 2, &err) != TSF_OK ||
        tsf_pipeline_add_value(b->p, "stage", stage, b->lines + 3, &err) != TSF_OK)
        b->oom = 1;
    append(b, "\n[", 2);
    append(b, name, strlen(name));
    append(b, "]\nstage = ", 10);
    append(b, stage, strlen(stage));
    append(b, "\n", 1);
}

static void put_value(cli_ini *b, const char *key, const char *value)
{
    tsf_err err = TSF_ERR_INIT;
    if (b->oom || !b->p || tsf_pipeline_add_value(b->p, key, value, b->lines + 1, &err) != TSF_OK)
        b->oom = 1;
    append(b, key, strlen(key));
    append(b, " = ", 3);
    append(b, value, strlen(value));
    append(b, "\n", 1);
}

void cli_ini_put(cli_ini *b, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *t = vformat(fmt, ap);
    va_end(ap);
    if (!t)
        b->oom = 1;
    else
        put_value(b, key, t);
    free(t);
}

void cli_ini_put_quoted(cli_ini *b, const char *key, const char *value)
{
    size_t n = strlen(value);
    char *t = malloc(n + 3);
    if (!t) {
        b->oom = 1;
        return;
    }
    t[0] = '"';
    memcpy(t + 1, value, n);
    memcpy(t + 1 + n, "\"", 2);
    put_value(b, key, t);
    free(t);
}

void cli_ini_free(cli_ini *b)
{
    free(b->text);
    for (size_t i = 0; i < b->n_comments; i++)
        free(b->comments[i]);
    free(b->comments);
    free(b->comment_step);
    tsf_pipeline_free(b->p);
    memset(b, 0, sizeof *b);
}

int cli_take_flag(const char *cmd, int argc, char **argv, int *i, const char *name,
                  const char **dst)
{
    size_t n = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, n) || (arg[n] && arg[n] != '='))
        return 0;
    if (arg[n] == '=') {
        *dst = arg + n + 1;
        return 1;
    }
    if (*i + 1 >= argc) {
        cli_error("%s: option %s expects a value", cmd, name);
        return -1;
    }
    *dst = argv[++*i];
    return 1;
}

void cli_model_args_init(cli_model_args *a)
{
    memset(a, 0, sizeof *a);
    a->cell = "lstm";
    a->layers = 1; /* hidden, epochs, batch_size 0: train.rnn chooses them from the data */
    a->lr = 0.003;
    a->clip = 1.0;
    a->impute = "linear";
    a->inorm = "last";
    a->val_fraction = 0.1;
    a->test_fraction = 0.2;
    a->seed = 1;
}

const char *cli_model_args_help(void)
{
    return "data and model:\n"
           "  --target COL[,COL]     columns to forecast (default: every column)\n"
           "  --horizon N            steps to forecast (required)\n"
           "  --lookback N           input steps per window (default: a season or the horizon,\n"
           "                         fitted to the rows: see 'tsflow help window')\n"
           "  --time-column NAME     the time column (default: the first, if it holds times)\n"
           "  --time-format FMT      strptime-style time format of a CSV (e.g. %d/%m/%Y)\n"
           "  --time-unit UNIT       what integer CSV times count: s, ms, us, ns, year, index\n"
           "  --tz ZONE              zone of local times without an offset (e.g. Europe/Berlin)\n"
           "  --id-column NAME       long layout: the column naming each row's series (CSV)\n"
           "  --key NAME             HDF5 input (.h5, .hdf5, .nc): the dataset or pandas key\n"
           "                         (default data; see 'tsflow help ingest.hdf5')\n"
           "  --impute METHOD        missing values: linear (default), ffill, seasonal, refuse\n"
           "  --model CELL           lstm (default), gru, rnn, or none (baselines only)\n"
           "  --hidden N, --layers N network size (default: hidden from the number of training\n"
           "                         windows, 1 layer)\n"
           "  --epochs N             training epochs (default: about 1000 updates, ended by\n"
           "                         early stopping on validation windows)\n"
           "  --batch-size N         windows per update (default: 32, at most the windows)\n"
           "  --lr X                 Adam's learning rate (default 0.003)\n"
           "  --clip X               clip the gradient norm at X (default 1; 0: off)\n"
           "  --quantiles Q,...      forecast quantiles (e.g. 0.1,0.5,0.9; pinball loss)\n"
           "  --instance-norm MODE   subtract each window's last value or mean: last\n"
           "                         (default), mean, none\n"
           "  --val-fraction X       validation share of each series (default 0.1, at least\n"
           "                         --horizon rows)\n"
           "  --test-fraction X      test share, where forecasts are scored (default 0.2)\n"
           "  --seed N               random seed (default 1)\n"
           "  --ensemble N           train N networks (seeds + 0..N-1) in parallel and forecast\n"
           "                         their median (default 1; the saved model keeps them all)\n"
           "  --calibrate METHOD     with --quantiles: conformal (default: shift each level by\n"
           "                         validation residuals so intervals cover as labelled) or\n"
           "                         none\n"
           "  --deseason MODE        the network forecasts the seasonally adjusted series\n"
           "                         (trained models and backtest refits alike): auto\n"
           "                         (default: per series, when it has a significant season;\n"
           "                         multiplicative or additive by the better fit),\n"
           "                         additive, multiplicative, none\n";
}

static const char *value_of(const char *cmd, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg, '=');
    if (eq && arg[0] == '-' && arg[1] == '-')
        return eq + 1;
    if (*i + 1 >= argc) {
        cli_error("%s: option %s expects a value", cmd, arg);
        return NULL;
    }
    return argv[++*i];
}

static int is_flag(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return !strncmp(arg, name, n) && (arg[n] == '\0' || arg[n] == '=');
}

/* A flag that sets a stage's option is checked by that option's entry in the stage's table
 * (type and range), so the flag, the pipeline file and --set accept exactly the same values:
 * one range table, not two. 1, or -1 after a usage error, or CLI_ARGS_FAIL. */
static int check_as_option(const char *cmd, const char *flag, const char *stage, const char *option,
                           const char *v)
{
    static tsf_registry *builtins;
    tsf_err err = TSF_ERR_INIT;
    if (!builtins && (tsf_registry_alloc(&builtins, &err) != TSF_OK ||
                      tsf_registry_add_builtins(builtins, &err) != TSF_OK)) {
        tsf_registry_free(builtins);
        builtins = NULL;
        cli_error("%s: %s", cmd, err.msg);
        return CLI_ARGS_FAIL; /* as when tsflow run loads the registry */
    }
    const tsf_stage_def *def = tsf_registry_find(builtins, stage);
    const tsf_option *o = def ? tsf_opt_find(def->options, option) : NULL;
    void *state = o ? calloc(1, def->state_size) : NULL;
    if (!state) {
        cli_error("%s: %s: %s", cmd, flag,
                  o ? "out of memory" : "internal error: the option it sets is missing");
        return o ? CLI_ARGS_FAIL : -1;
    }
    int rc = tsf_opt_parse(o, v, NULL, state, &err);
    tsf_opt_clear(o, state);
    free(state);
    if (rc == TSF_ENOMEM) {
        cli_error("%s: %s: %s", cmd, flag, err.msg);
        return CLI_ARGS_FAIL;
    }
    if (rc != TSF_OK) {
        cli_error("%s: %s %s (as option %s of stage %s)", cmd, flag, err.msg, option, stage);
        return -1;
    }
    return 1;
}

static int to_size(const char *cmd, const char *flag, const char *v, size_t *out, size_t min)
{
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || v[0] == '-' || x < min) {
        cli_error("%s: %s expects a whole number >= %zu, got \"%s\"", cmd, flag, min, v);
        return -1;
    }
    *out = (size_t)x;
    return 1;
}

/* A whole-number flag for option `option` of `stage`. */
static int to_size_as(const char *cmd, const char *flag, const char *v, size_t *out,
                      const char *stage, const char *option)
{
    int rc = check_as_option(cmd, flag, stage, option, v);
    return rc < 0 ? rc : to_size(cmd, flag, v, out, 0);
}

static int to_double(const char *cmd, const char *flag, const char *v, double *out, double lo,
                     double hi)
{
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !(x >= lo && x <= hi)) {
        cli_error("%s: %s expects a number in [%g, %g], got \"%s\"", cmd, flag, lo, hi, v);
        return -1;
    }
    *out = x;
    return 1;
}

/* A number flag for option `option` of `stage`. */
static int to_double_as(const char *cmd, const char *flag, const char *v, double *out,
                        const char *stage, const char *option)
{
    int rc = check_as_option(cmd, flag, stage, option, v);
    return rc < 0 ? rc : to_double(cmd, flag, v, out, -HUGE_VAL, HUGE_VAL);
}

int cli_model_args_parse(cli_model_args *a, const char *cmd, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    static const char *const flags[] = {
        "--target",        "--horizon",   "--lookback",      "--time-column",
        "--id-column",     "--impute",    "--model",         "--hidden",
        "--layers",        "--epochs",    "--batch-size",    "--lr",
        "--clip",          "--quantiles", "--instance-norm", "--val-fraction",
        "--test-fraction", "--seed",      "--key",           "--time-format",
        "--time-unit",     "--tz",        "--ensemble",      "--calibrate",
        "--deseason"};
    size_t k = 0, n = sizeof flags / sizeof *flags;
    while (k < n && !is_flag(arg, flags[k]))
        k++;
    if (k == n)
        return 0;
    const char *v = value_of(cmd, argc, argv, i);
    if (!v)
        return -1;
    const char *f = flags[k];
    size_t seed;
    switch (k) {
    case 0:
        a->targets = v;
        return 1;
    case 1:
        return to_size_as(cmd, f, v, &a->horizon, "window", "horizon");
    case 2:
        return to_size_as(cmd, f, v, &a->lookback, "window", "lookback");
    case 3:
        a->time_column = v;
        return 1;
    case 4:
        a->id_column = v;
        return 1;
    case 18:
        a->key = v;
        return 1;
    case 5:
        a->impute = v;
        return 1;
    case 6:
        a->cell = v;
        return 1;
    case 7:
        return to_size_as(cmd, f, v, &a->hidden, "train.rnn", "hidden");
    case 8:
        return to_size_as(cmd, f, v, &a->layers, "train.rnn", "layers");
    case 9:
        return to_size_as(cmd, f, v, &a->epochs, "train.rnn", "epochs");
    case 10:
        return to_size_as(cmd, f, v, &a->batch_size, "train.rnn", "batch_size");
    case 11:
        return to_double_as(cmd, f, v, &a->lr, "train.rnn", "lr");
    case 12:
        return to_double_as(cmd, f, v, &a->clip, "train.rnn", "gradient_clip_val");
    case 13:
        a->quantiles = v;
        return 1;
    case 14:
        a->inorm = v;
        return 1;
    case 15:
        a->val_fraction_given = 1;
        return to_double(cmd, f, v, &a->val_fraction, 0, 0.9);
    case 16:
        return to_double(cmd, f, v, &a->test_fraction, 0.01, 0.9);
    case 19:
        a->time_format = v;
        return 1;
    case 20:
        a->time_unit = v;
        return 1;
    case 21:
        a->tz = v;
        return 1;
    case 22:
        a->ensemble = v;
        return check_as_option(cmd, f, "train.rnn", "ensemble", v);
    case 23:
        a->calibrate = v;
        return check_as_option(cmd, f, "train.rnn", "calibrate", v);
    case 24:
        a->deseason = v;
        return check_as_option(cmd, f, "train.rnn", "deseason", v);
    default: {
        int rc = to_size_as(cmd, f, v, &seed, "train.rnn", "seed");
        if (rc < 0)
            return rc;
        a->seed = (long)seed;
        return 1;
    }
    }
}

int cli_model_args_no_model(const cli_model_args *a)
{
    return !strcmp(a->cell, "none");
}

int cli_model_args_check(const cli_model_args *a, const char *cmd)
{
    if (!a->data) {
        cli_error("%s: expected a DATA file (see 'tsflow %s --help')", cmd, cmd);
        return CLI_USAGE;
    }
    if (!a->horizon) {
        cli_error("%s: --horizon N is required (steps to forecast)", cmd);
        return CLI_USAGE;
    }
    if (a->val_fraction + a->test_fraction >= 0.95) {
        cli_error("%s: --val-fraction %g + --test-fraction %g leave almost nothing to train on",
                  cmd, a->val_fraction, a->test_fraction);
        return CLI_USAGE;
    }
    int h5 = cli_model_args_hdf5(a);
    if (h5 && a->id_column) {
        cli_error("%s: --id-column applies to CSV; %s is HDF5, whose long frames carry their "
                  "series ids in a pandas (id, time) index",
                  cmd, a->data);
        return CLI_USAGE;
    }
    if (h5 && a->time_format) {
        cli_error("%s: --time-format applies to CSV; %s is HDF5, whose times carry their type", cmd,
                  a->data);
        return CLI_USAGE;
    }
    if (!h5 && a->key) {
        cli_error("%s: --key applies to HDF5 input; %s is read as CSV", cmd, a->data);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_model_args_hdf5(const cli_model_args *a)
{
    size_t n = a->data ? strlen(a->data) : 0;
    return a->data && (tsf_is_hdf5(a->data) || cli_is_hdf5_name(a->data) ||
                       (n >= 3 && !strcasecmp(a->data + n - 3, ".nc")));
}

/* x in the fewest digits that read back as x exactly: the pipeline text must say what the
 * flags said (6-digit %g can round shares so that they add up to more than 1). */
static const char *exact(char buf[32], double x)
{
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, 32, "%.*g", digits, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return buf;
}

void cli_ini_model_steps(cli_ini *b, const cli_model_args *a)
{
    int h5 = cli_model_args_hdf5(a);
    cli_ini_section(b, "data", h5 ? "ingest.hdf5" : "ingest.csv");
    cli_ini_put_quoted(b, "path", a->data);
    if (h5 && a->key)
        cli_ini_put_quoted(b, "key", a->key);
    cli_ini_put(b, "gaps", "fill");
    if (a->time_column)
        cli_ini_put_quoted(b, "time_column", a->time_column);
    if (a->time_format)
        cli_ini_put_quoted(b, "time_format", a->time_format);
    if (a->time_unit)
        cli_ini_put(b, "time_unit", "%s", a->time_unit); /* a choice: quotes would be part of it */
    if (a->tz)
        cli_ini_put_quoted(b, "tz", a->tz);
    if (a->id_column)
        cli_ini_put_quoted(b, "id_column", a->id_column);
    cli_ini_section(b, "split", "split");
    char f0[32], f1[32], f2[32];
    cli_ini_put(b, "fractions", "%s, %s, %s", exact(f0, 1 - a->val_fraction - a->test_fraction),
                exact(f1, a->val_fraction), exact(f2, a->test_fraction));
    if (a->val_fraction > 0) /* a validation window needs a horizon of validation rows */
        cli_ini_put(b, "min_validation_rows", "%zu", a->horizon);
    cli_ini_section(b, "filled", "impute");
    cli_ini_put(b, "inputs", "data, split");
    cli_ini_put(b, "method", "%s", a->impute);
    cli_ini_section(b, "norm", "normalize");
    cli_ini_put(b, "inputs", "filled, split");
    if (a->targets)
        cli_ini_put(b, "columns", "%s", a->targets);
    const char *parts[] = {"train", "val"}, *part_names[] = {"train", "validation"};
    for (int p = 0; p < 2 && !cli_model_args_no_model(a); p++) {
        if (p == 1 && a->val_fraction <= 0)
            break;
        cli_ini_section(b, parts[p], "window");
        cli_ini_put(b, "inputs", "norm, split");
        cli_ini_put(b, "part", "%s", part_names[p]);
        if (a->lookback)
            cli_ini_put(b, "lookback", "%zu", a->lookback);
        else if (a->season)
            cli_ini_put(b, "season", "%s", a->season);
        cli_ini_put(b, "horizon", "%zu", a->horizon);
        if (a->targets)
            cli_ini_put(b, "targets", "%s", a->targets);
    }
    if (cli_model_args_no_model(a))
        return;
    cli_ini_section(b, "model", "train.rnn");
    cli_ini_put(b, "inputs",
                a->val_fraction > 0 ? "train, val, norm.scaler" : "train, norm.scaler");
    cli_ini_put(b, "cell", "%s", a->cell);
    /* hidden, epochs and batch size left unset: train.rnn chooses them from the data */
    if (a->hidden)
        cli_ini_put(b, "hidden", "%zu", a->hidden);
    cli_ini_put(b, "layers", "%zu", a->layers);
    if (a->epochs)
        cli_ini_put(b, "epochs", "%zu", a->epochs);
    if (a->batch_size)
        cli_ini_put(b, "batch_size", "%zu", a->batch_size);
    cli_ini_put(b, "lr", "%g", a->lr);
    if (a->clip > 0)
        cli_ini_put(b, "gradient_clip_val", "%g", a->clip);
    if (a->quantiles)
        cli_ini_put(b, "quantiles", "%s", a->quantiles);
    cli_ini_put(b, "instance_norm", "%s", a->inorm);
    cli_ini_put(b, "seed", "%ld", a->seed);
    if (a->ensemble)
        cli_ini_put(b, "ensemble", "%s", a->ensemble);
    if (a->calibrate)
        cli_ini_put(b, "calibrate", "%s", a->calibrate);
    if (a->deseason)
        cli_ini_put(b, "deseason", "%s", a->deseason);
    if (a->season)
        cli_ini_put(b, "season", "%s", a->season);
}

int cli_command_parse(const char *cmd, int argc, char **argv, const char *usage_head,
                      cli_model_args *ma, const cli_flag *flags, size_t n_flags,
                      cli_pipeline_args *pa)
{
    /* Our flags here; --set, --plugin, -q, -v go on to cli_pipeline_parse. */
    char **rest = malloc(((size_t)argc + 1) * sizeof *rest);
    if (!rest) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    int n_rest = 0;
    rest[n_rest++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            printf("%s%s\n%s", usage_head, cli_model_args_help(), cli_pipeline_options_help());
            free(rest);
            return -1;
        }
        int used = cli_model_args_parse(ma, cmd, argc, argv, &i);
        for (size_t k = 0; !used && k < n_flags; k++) {
            if (flags[k].value)
                used = cli_take_flag(cmd, argc, argv, &i, flags[k].name, flags[k].value);
            else if (!strcmp(arg, flags[k].name))
                used = *flags[k].on = 1;
        }
        if (used < 0) {
            free(rest);
            return used == CLI_ARGS_FAIL ? CLI_FAIL : CLI_USAGE;
        }
        if (used)
            continue;
        if (arg[0] != '-' && !ma->data) {
            ma->data = arg;
            continue;
        }
        rest[n_rest++] = argv[i];
        if ((!strcmp(arg, "--set") || !strcmp(arg, "--plugin")) && i + 1 < argc)
            rest[n_rest++] = argv[++i];
    }
    rest[n_rest] = NULL;
    int rc = cli_model_args_check(ma, cmd);
    if (rc == CLI_OK) {
        char usage[8192];
        snprintf(usage, sizeof usage, "%s%s\n%s", usage_head, cli_model_args_help(),
                 cli_pipeline_options_help());
        rc = cli_pipeline_parse(pa, n_rest, rest, "psqv", 0, usage);
    }
    free(rest);
    return rc;
}

void cli_ini_command_line(cli_ini *b, const char *cmd, int argc, char **argv)
{
    char name[64];
    snprintf(name, sizeof name, "tsflow %s", cmd);
    tsf_err err = TSF_ERR_INIT;
    if (!b->p && tsf_pipeline_new(&b->p, name, ".", &err) != TSF_OK)
        b->oom = 1;
    char line[100];
    snprintf(line, sizeof line, "generated by: tsflow %s", cmd);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--print-pipeline"))
            continue;
        if (strlen(line) + strlen(argv[i]) + 3 > 96) {
            cli_ini_comment(b, "%s \\", line);
            snprintf(line, sizeof line, "   ");
        }
        size_t used = strlen(line);
        snprintf(line + used, sizeof line - used, " %s", argv[i]);
    }
    cli_ini_comment(b, "%s", line);
    cli_ini_comment(b, "run it with: tsflow run FILE (from any directory: its paths are absolute)");
}

/* value with a relative path made absolute against the current directory (one pair of
 * quotes kept), or NULL when it is not a relative path or memory runs out. */
static char *absolute_path(const char *value)
{
    size_t n = strlen(value);
    int quoted = n >= 2 && value[0] == '"' && value[n - 1] == '"';
    const char *v = quoted ? value + 1 : value;
    size_t vn = quoted ? n - 2 : n;
    char cwd[4096];
    if (!vn || v[0] == '/' || !getcwd(cwd, sizeof cwd))
        return NULL;
    size_t len = strlen(cwd) + vn + 4;
    char *t = malloc(len);
    if (t)
        snprintf(t, len, "\"%s/%.*s\"", cwd, (int)vn, v);
    return t;
}

/* Print the pipeline as a file that runs from any directory: --set overrides applied (each
 * marked with a comment), relative paths made absolute (the options' types come from reg). */
static int print_pipeline(const cli_ini *b, const tsf_registry *reg, FILE *out)
{
    const tsf_pipeline *p = b->p;
    size_t c = 0;
    for (size_t i = 0; i <= p->n_steps; i++) {
        for (; c < b->n_comments && b->comment_step[c] <= i; c++)
            fprintf(out, "# %s\n", b->comments[c]);
        if (i == p->n_steps)
            break;
        const tsf_step_src *st = &p->steps[i];
        const tsf_stage_def *def = NULL;
        for (size_t k = 0; k < st->n_kv; k++)
            if (!strcmp(st->kv[k].key, "stage"))
                def = tsf_registry_find(reg, st->kv[k].value);
        fprintf(out, "\n[%s]\n", st->name);
        for (size_t k = 0; k < st->n_kv; k++) {
            const tsf_kv *kv = &st->kv[k];
            const tsf_option *o = def ? tsf_opt_find(def->options, kv->key) : NULL;
            char *abs = o && (o->type == TSF_OPT_PATH_IN || o->type == TSF_OPT_PATH_OUT)
                            ? absolute_path(kv->value)
                            : NULL;
            if (kv->set_index)
                fprintf(out, "# from --set %s\n", p->sets[kv->set_index - 1]);
            fprintf(out, "%s = %s\n", kv->key, abs ? abs : kv->value);
            free(abs);
        }
    }
    return fflush(out) == 0 && !ferror(out) ? CLI_OK : CLI_FAIL;
}

int cli_command_finish(const char *cmd, cli_ini *ini, cli_pipeline_args *pa, int print)
{
    int rc = CLI_OK;
    tsf_err err = TSF_ERR_INIT;
    if (ini->oom || !ini->p || tsf_pipeline_set_text(ini->p, ini->text, &err) != TSF_OK) {
        cli_error("out of memory");
        rc = CLI_FAIL;
    } else if (print) {
        tsf_registry *reg = NULL;
        for (size_t i = 0; i < pa->n_sets && rc == CLI_OK; i++)
            if (tsf_pipeline_set(ini->p, pa->sets[i], &err) != TSF_OK) {
                cli_error("%s", err.msg);
                rc = err.code == TSF_ENOMEM ? CLI_FAIL : CLI_USAGE;
            }
        if (rc == CLI_OK && (rc = cli_registry(&reg, pa)) == CLI_OK)
            rc = print_pipeline(ini, reg, stdout);
        tsf_registry_free(reg);
    } else {
        rc = cli_pipeline_execute(ini->p, pa, 1);
        if (rc == CLI_USAGE)
            cli_error("%s: line numbers refer to the pipeline that 'tsflow %s ... "
                      "--print-pipeline' prints",
                      cmd, cmd);
    }
    cli_ini_free(ini);
    cli_pipeline_args_free(pa);
    return rc;
}
