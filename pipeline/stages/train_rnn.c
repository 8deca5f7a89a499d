/* train.rnn: train a recurrent forecaster (Elman RNN, LSTM, GRU) on windows, validating on a
 * second set of windows when given, with every option of the network (tsf_rnn_config) and of
 * training (tsf_train_config: loss, optimizer, schedule, clipping, early stopping, checkpoints).
 * Outputs the model (with the scaler and the window columns, so it forecasts a raw frame later)
 * and the training history. Progress goes to the runner; its cancel flag stops training after
 * the current batch (writing a checkpoint first when `save` is set). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_stages.h"
#include "tsflow/rnn_forecaster.h"
#include "tsflow/optim.h"
#include "tsflow/rnn_model.h"
#include "tsflow/scale.h"
#include "tsflow/stage.h"
#include "tsflow/train.h"
#include "tsflow/window.h"

static const char *const cells[] = {"lstm", "gru", "rnn", "rnn_tanh", "rnn_relu", NULL};
static const char *const heads[] = {"direct", "recursive", NULL};
/* The first three are tsf_inorm values (data shifted outside the network); revin is the
 * network's own (tsf_rnn_config.revin). */
static const char *const inorms[] = {"none", "last", "mean", "revin", NULL};
enum { INORM_REVIN = 3 };
static const char *const decoders[] = {"pmf", "rmf", NULL};
static const char *const losses[] = {"mse", "mae", "huber", "pinball", NULL};
static const char *const optimizers[] = {"sgd", "adam", "adamw", NULL};
static const char *const schedules[] = {"constant", "step", "cosine", "plateau", NULL};
static const char *const clip_algorithms[] = {"norm", "value", NULL};
static const char *const resume_rules[] = {"refuse", "accept", NULL};
static const char *const calibrations[] = {"none", "conformal", NULL};
/* in tsf_deseason order */
static const char *const deseasons[] = {"none", "auto", "additive", "multiplicative", NULL};

typedef struct train_state {
    /* the network */
    int cell;
    size_t hidden;
    size_t layers;
    int bidirectional;
    double dropout;
    int head;
    size_t bptt_steps;
    size_t segment;
    int decoder;
    int instance_norm;
    const char *name;
    /* training */
    int fit;
    size_t ensemble;
    int calibrate;
    int deseason;
    size_t season;
    size_t epochs;
    size_t batch_size;
    int64_t seed;
    int shuffle;
    int loss;
    double huber_delta;
    tsf_doubles quantiles;
    int optimizer;
    double lr, momentum, dampening;
    int nesterov;
    double beta1, beta2, eps, weight_decay;
    int schedule;
    size_t step_size;
    double gamma, warmup, min_lr, factor;
    size_t plateau_patience;
    double threshold;
    size_t cooldown;
    double clip_val;
    int clip_algorithm;
    size_t patience;
    double min_delta;
    const char *save;
    size_t checkpoint_every;
    size_t shards;
    const char *resume;
    int resume_changes;
    /* built by check */
    tsf_rnn_config arch;
    tsf_loss lossv;
    tsf_train_config cfg;
} train_state;

#define OPT(field) .offset = offsetof(train_state, field)

static const tsf_option options[] = {
    /* ---- the network ---- */
    {.name = "cell",
     .type = TSF_OPT_ENUM,
     OPT(cell),
     .def = "lstm",
     .choices = cells,
     .help = "recurrent cell: lstm, gru, rnn (Elman, tanh; also rnn_tanh) or rnn_relu"},
    {.name = "hidden",
     .type = TSF_OPT_SIZE,
     OPT(hidden),
     .def = "64",
     .min = 1,
     .max = 65536,
     .help = "hidden units per layer and direction (unset: the largest power of two <= "
             "sqrt(8 x training windows), from 8 to 64, the default only shapes the check; "
             "chosen again at every backtest refit)"},
    {.name = "layers",
     .type = TSF_OPT_SIZE,
     OPT(layers),
     .def = "1",
     .min = 1,
     .max = 64,
     .help = "stacked recurrent layers"},
    {.name = "bidirectional",
     .type = TSF_OPT_BOOL,
     OPT(bidirectional),
     .def = "false",
     .help = "also read the lookback backwards (direct head only)"},
    {.name = "dropout",
     .type = TSF_OPT_DOUBLE,
     OPT(dropout),
     .def = "0",
     .min = 0,
     .max = 1,
     .flags = TSF_OPT_MAX_EXCLUSIVE,
     .help = "dropout between stacked layers while training (needs layers >= 2)"},
    {.name = "head",
     .type = TSF_OPT_ENUM,
     OPT(head),
     .def = "direct",
     .choices = heads,
     .help = "direct: the whole horizon at once from the last state; recursive: one step at a "
             "time, feeding forecasts back"},
    {.name = "bptt_steps",
     .type = TSF_OPT_SIZE,
     OPT(bptt_steps),
     .def = "0",
     .min = 0,
     .max = 1e9,
     .help = "truncated backpropagation through time over the last k lookback steps (0: full "
             "BPTT)"},
    {.name = "segment",
     .type = TSF_OPT_SIZE,
     OPT(segment),
     .def = "0",
     .min = 0,
     .max = 1e6,
     .help = "W > 0: a segment-wise network (SegRNN): the lookback cut into segments of W "
             "steps, each embedded (linear + ReLU), one recurrent layer over the segments, the "
             "horizon decoded W steps at a time; every input is a forecast channel (W divides "
             "lookback and horizon). 0: one recurrent step per time step"},
    {.name = "decoder",
     .type = TSF_OPT_ENUM,
     OPT(decoder),
     .def = "pmf",
     .choices = decoders,
     .help = "segment > 0: pmf, every output segment in parallel from the last state with "
             "learned position and channel embeddings (hidden must be even); rmf, one output "
             "segment after the other, each fed back"},
    {.name = "instance_norm",
     .type = TSF_OPT_ENUM,
     OPT(instance_norm),
     .def = "none",
     .choices = inorms,
     .help = "subtract each window's last value (last) or mean (mean) from its targets before "
             "the network and add it back to the forecast, for series that drift; revin "
             "(segment > 0): divide by the window's standard deviation too, with a learned "
             "scale and shift per channel. Default none here; tsflow forecast and tsflow "
             "backtest write last (--instance-norm), as a level far from the training rows' "
             "is what short business series do"},
    {.name = "name",
     .type = TSF_OPT_STRING,
     OPT(name),
     .help = "the model's name in forecasts and metrics (default: the cell)"},
    /* ---- training ---- */
    {.name = "fit",
     .type = TSF_OPT_BOOL,
     OPT(fit),
     .def = "true",
     .help = "false: build the network and its training recipe without training it, for a "
             "backtest that refits it at every fold anyway (its forecasts would be untrained)"},
    {.name = "ensemble",
     .type = TSF_OPT_SIZE,
     OPT(ensemble),
     .def = "1",
     .min = 1,
     .max = 64,
     .help = "networks trained with consecutive seeds (seed + k; a backtest refit: seed + fold "
             "+ k), in parallel, and combined (median of the points, mean of each quantile "
             "level); the model keeps them all, so predict and model.save/model.load forecast "
             "with the same combination"},
    {.name = "calibrate",
     .type = TSF_OPT_ENUM,
     OPT(calibrate),
     .def = "conformal",
     .choices = calibrations,
     .help = "quantile models: conformal shifts every quantile level by the validation "
             "residual that makes it hold on windows the network did not train on (split "
             "conformal, per horizon step when there are enough windows, else pooled over the "
             "steps, only widening when the windows are fewer than the rank rule needs), so an "
             "80% interval covers about 80%; here on the validation windows, in a "
             "backtest refit on its held-out tail (a refit too short for one: its interval "
             "centred on the seasonal naive forecasts of its training windows, only widening). "
             "On by default: the held-out windows exist "
             "for early stopping anyway, and uncalibrated networks on short series give "
             "intervals that are too narrow. none: the network's own quantiles. Point models "
             "have nothing to calibrate"},
    {.name = "deseason",
     .type = TSF_OPT_ENUM,
     OPT(deseason),
     .def = "auto",
     .choices = deseasons,
     .help =
         "the network forecasts the seasonally adjusted series and the season is put "
         "back on its forecasts: seasonal indices of a classical decomposition fitted per "
         "series on the training rows, in the data's units (a trained model: its training "
         "windows' rows, the season option or the series' frequency, the indices kept in the model "
         "file and applied at every predict by the forecast times' phase; a backtest refit: "
         "its own training rows). auto: per series, none without a season (no frequency, "
         "fewer than two seasons of training rows, or no significant lag-season "
         "autocorrelation of the first differences: forecast::thetaf's test; or 200 "
         "windows or more, enough to learn the season), else multiplicative when the values "
         "are positive and the multiplicative decomposition fits them better, else "
         "additive; the log says what was chosen per fit"},
    {.name = "season",
     .type = TSF_OPT_SIZE,
     OPT(season),
     .def = "0",
     .help = "rows per season for deseason in a model trained here (0: from each series' "
             "frequency; set it for an integer index). Backtest refits use the backtest's "
             "season"},
    {.name = "epochs",
     .type = TSF_OPT_SIZE,
     OPT(epochs),
     .def = "10",
     .min = 1,
     .max = 1e9,
     .help = "passes over the training windows (counting those done before a resume; unset: "
             "about 1000 updates, from 30 to 300, ended by early stopping)"},
    {.name = "batch_size",
     .type = TSF_OPT_SIZE,
     OPT(batch_size),
     .def = "32",
     .min = 1,
     .max = 1e6,
     .help = "windows per update (unset: 32, at most the training windows)"},
    {.name = "seed",
     .type = TSF_OPT_INT,
     OPT(seed),
     .def = "1",
     .min = 0,
     .max = 4294967295.0,
     .help = "seeds the initial weights, the shuffles and dropout: the same seed and data give "
             "bit-identical weights"},
    {.name = "shuffle",
     .type = TSF_OPT_BOOL,
     OPT(shuffle),
     .def = "true",
     .help = "reshuffle the training windows every epoch"},
    {.name = "loss",
     .type = TSF_OPT_ENUM,
     OPT(loss),
     .def = "mse",
     .choices = losses,
     .help = "mse, mae, huber, or pinball for quantile forecasts (the default when quantiles "
             "are given)"},
    {.name = "huber_delta",
     .type = TSF_OPT_DOUBLE,
     OPT(huber_delta),
     .def = "1",
     .min = 0,
     .max = HUGE_VAL,
     .flags = TSF_OPT_MIN_EXCLUSIVE,
     .help = "loss = huber: where the loss turns from quadratic to linear"},
    {.name = "quantiles",
     .type = TSF_OPT_DOUBLES,
     OPT(quantiles),
     .min = 0,
     .max = 1,
     .flags = TSF_OPT_MIN_EXCLUSIVE | TSF_OPT_MAX_EXCLUSIVE,
     .help = "quantile levels to forecast, increasing (e.g. 0.1, 0.5, 0.9; the 0.5 quantile is "
             "the point forecast); implies loss = pinball"},
    {.name = "optimizer",
     .type = TSF_OPT_ENUM,
     OPT(optimizer),
     .def = "adam",
     .choices = optimizers,
     .help = "sgd (with optional momentum), adam, or adamw (decoupled weight decay)"},
    {.name = "lr",
     .type = TSF_OPT_DOUBLE,
     OPT(lr),
     .def = "0.001",
     .min = 0,
     .max = 10, /* beyond, Adam and SGD only diverge: a typo, not a setting */
     .flags = TSF_OPT_MIN_EXCLUSIVE,
     .help = "learning rate (default 0.001; 0.01 for sgd, as PyTorch)"},
    {.name = "momentum",
     .type = TSF_OPT_DOUBLE,
     OPT(momentum),
     .def = "0",
     .min = 0,
     .max = 1,
     .flags = TSF_OPT_MAX_EXCLUSIVE,
     .help = "optimizer = sgd: momentum"},
    {.name = "dampening",
     .type = TSF_OPT_DOUBLE,
     OPT(dampening),
     .def = "0",
     .min = 0,
     .max = 1,
     .help = "optimizer = sgd: dampening of the momentum"},
    {.name = "nesterov",
     .type = TSF_OPT_BOOL,
     OPT(nesterov),
     .def = "false",
     .help = "optimizer = sgd: Nesterov momentum (needs momentum > 0 and dampening 0)"},
    {.name = "beta1",
     .type = TSF_OPT_DOUBLE,
     OPT(beta1),
     .def = "0.9",
     .min = 0,
     .max = 1,
     .flags = TSF_OPT_MAX_EXCLUSIVE,
     .help = "adam, adamw: decay of the first moment"},
    {.name = "beta2",
     .type = TSF_OPT_DOUBLE,
     OPT(beta2),
     .def = "0.999",
     .min = 0,
     .max = 1,
     .flags = TSF_OPT_MAX_EXCLUSIVE,
     .help = "adam, adamw: decay of the second moment"},
    {.name = "eps",
     .type = TSF_OPT_DOUBLE,
     OPT(eps),
     .def = "1e-8",
     .min = 0,
     .max = 1,
     .flags = TSF_OPT_MIN_EXCLUSIVE,
     .help = "adam, adamw: added to the root of the second moment"},
    {.name = "weight_decay",
     .type = TSF_OPT_DOUBLE,
     OPT(weight_decay),
     .def = "0",
     .min = 0,
     .max = HUGE_VAL,
     .help = "L2 penalty (sgd, adam) or decoupled decay (adamw; default 0.01 there, as "
             "PyTorch)"},
    {.name = "schedule",
     .type = TSF_OPT_ENUM,
     OPT(schedule),
     .def = "constant",
     .choices = schedules,
     .help = "learning rate schedule: constant; step (times gamma every step_size epochs); "
             "cosine (linear warm-up, then cosine decay to min_lr); plateau (times factor when "
             "the monitored loss stalls)"},
    {.name = "step_size",
     .type = TSF_OPT_SIZE,
     OPT(step_size),
     .def = "10",
     .min = 1,
     .max = 1e9,
     .help = "schedule = step: epochs between decays"},
    {.name = "gamma",
     .type = TSF_OPT_DOUBLE,
     OPT(gamma),
     .def = "0.1",
     .min = 0,
     .max = 1,
     .flags = TSF_OPT_MIN_EXCLUSIVE,
     .help = "schedule = step: decay factor"},
    {.name = "warmup",
     .type = TSF_OPT_DOUBLE,
     OPT(warmup),
     .def = "0",
     .min = 0,
     .max = 1e9,
     .help = "schedule = cosine: warm-up length in epochs (may be fractional)"},
    {.name = "min_lr",
     .type = TSF_OPT_DOUBLE,
     OPT(min_lr),
     .def = "0",
     .min = 0,
     .max = HUGE_VAL,
     .help = "schedule = cosine: final learning rate; plateau: the floor"},
    {.name = "factor",
     .type = TSF_OPT_DOUBLE,
     OPT(factor),
     .def = "0.1",
     .min = 0,
     .max = 1,
     .flags = TSF_OPT_MIN_EXCLUSIVE | TSF_OPT_MAX_EXCLUSIVE,
     .help = "schedule = plateau: learning rate multiplier on a plateau"},
    {.name = "plateau_patience",
     .type = TSF_OPT_SIZE,
     OPT(plateau_patience),
     .def = "10",
     .min = 0,
     .max = 1e9,
     .help = "schedule = plateau: epochs without improvement before reducing"},
    {.name = "threshold",
     .type = TSF_OPT_DOUBLE,
     OPT(threshold),
     .def = "1e-4",
     .min = 0,
     .max = 1,
     .help = "schedule = plateau: relative improvement that counts"},
    {.name = "cooldown",
     .type = TSF_OPT_SIZE,
     OPT(cooldown),
     .def = "0",
     .min = 0,
     .max = 1e9,
     .help = "schedule = plateau: epochs to wait after a reduction"},
    {.name = "gradient_clip_val",
     .type = TSF_OPT_DOUBLE,
     OPT(clip_val),
     .def = "0",
     .min = 0,
     .max = HUGE_VAL,
     .help = "clip the gradients at this value (0: off); see gradient_clip_algorithm"},
    {.name = "gradient_clip_algorithm",
     .type = TSF_OPT_ENUM,
     OPT(clip_algorithm),
     .def = "norm",
     .choices = clip_algorithms,
     .help = "norm: scale all gradients so their global norm is at most gradient_clip_val; "
             "value: clamp each gradient to [-gradient_clip_val, gradient_clip_val]"},
    {.name = "patience",
     .type = TSF_OPT_SIZE,
     OPT(patience),
     .def = "0",
     .min = 0,
     .max = 1e9,
     .help = "early stopping: stop after this many epochs without improvement of the "
             "validation loss (the training loss without validation windows) and keep the "
             "best epoch's weights (0: off; unset: max(10, epochs / 10) with validation windows, "
             "and a backtest refit holds out the last tenth of its windows for it, then refits "
             "on all of them for the best epoch count)"},
    {.name = "min_delta",
     .type = TSF_OPT_DOUBLE,
     OPT(min_delta),
     .def = "0",
     .min = 0,
     .max = HUGE_VAL,
     .help = "early stopping: an improvement must exceed this"},
    {.name = "save",
     .type = TSF_OPT_PATH_OUT,
     OPT(save),
     .help = "write a checkpoint here (HDF5) every checkpoint_every epochs, on Ctrl-C and at "
             "the end: a model file model.load reads, and what resume continues from"},
    {.name = "checkpoint_every",
     .type = TSF_OPT_SIZE,
     OPT(checkpoint_every),
     .def = "1",
     .min = 1,
     .max = 1e9,
     .help = "save: epochs between checkpoints"},
    {.name = "shards",
     .type = TSF_OPT_SIZE,
     OPT(shards),
     .def = "0",
     .min = 0,
     .max = 1e6,
     .help = "data-parallel training: each batch in this many fixed parts whose gradients are "
             "added in part order, so that under mpirun the ranks share the parts and the "
             "weights are the same for any number of ranks (0: one pass per batch, each rank "
             "training alone on all of it; see docs/mpi.md). Part of the recipe: another value "
             "rounds the sums otherwise, so a resume keeps it"},
    {.name = "resume",
     .type = TSF_OPT_PATH_IN,
     OPT(resume),
     .help = "continue from this checkpoint (weights, optimizer, random state, position): the "
             "result is bit-identical to an uninterrupted run"},
    {.name = "resume_changes",
     .type = TSF_OPT_ENUM,
     OPT(resume_changes),
     .def = "refuse",
     .choices = resume_rules,
     .help = "resume: refuse (default) a checkpoint trained on other data or with another "
             "recipe (learning rate, optimizer, batch size, shards...), naming what differs; "
             "accept resumes anyway, with a warning"},
    TSF_OPTION_END,
};

static const tsf_port inputs[] = {
    {.name = "windows", .types = TSF_TYPE_BIT(TSF_TYPE_WINDOWS), .help = "training windows"},
    {.name = "more",
     .types = TSF_TYPE_BIT(TSF_TYPE_WINDOWS) | TSF_TYPE_BIT(TSF_TYPE_SCALER),
     .flags = TSF_PORT_OPTIONAL | TSF_PORT_MANY,
     .help = "validation windows and/or the scaler of the frame, in any order"},
    TSF_PORT_END,
};

static const tsf_port outputs[] = {
    {.name = "model", .types = TSF_TYPE_BIT(TSF_TYPE_MODEL), .help = "the trained model"},
    {.name = "history",
     .types = TSF_TYPE_BIT(TSF_TYPE_HISTORY),
     .help = "losses, learning rate, gradient norms and gradient flow per epoch"},
    TSF_PORT_END,
};

/* Which of in[1..] are the validation windows and the scaler (-1: none). */
static int sort_inputs(tsf_stage_ctx *ctx, tsf_type (*type_of)(const void *, size_t),
                       const void *in, size_t *val, size_t *scaler, tsf_err *err)
{
    *val = *scaler = 0;
    for (size_t i = 1; i < ctx->n_inputs; i++) {
        tsf_type t = type_of(in, i);
        if (t == TSF_TYPE_NONE)
            continue;
        size_t *slot = t == TSF_TYPE_WINDOWS ? val : scaler;
        if (*slot)
            return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL,
                                      "two %s inputs (expected at most one set of validation "
                                      "windows and one scaler)",
                                      t == TSF_TYPE_WINDOWS ? "validation windows" : "scaler");
        *slot = i;
    }
    return TSF_OK;
}

static tsf_type meta_type(const void *in, size_t i)
{
    const tsf_meta *const *m = in;
    return m[i] ? m[i]->type : TSF_TYPE_NONE;
}

static tsf_type value_type(const void *in, size_t i)
{
    tsf_value *const *v = in;
    return v[i] ? v[i]->type : TSF_TYPE_NONE;
}

/* An option that only applies to some setting: refuse it when set otherwise. */
static int only_for(tsf_stage_ctx *ctx, const char *key, int applies, const char *setting,
                    tsf_err *err)
{
    if (!applies && tsf_stage_option_set(ctx, key))
        return tsf_stage_fail_key(ctx, err, key, TSF_EINVAL, "%s is only used with %s", key,
                                  setting);
    return TSF_OK;
}

/* The option a failed library check is about: the field it names (tsf_err.field), under this
 * stage's name for it; fallback when the check names no field or one that is not an option
 * (the windows' dimensions come from the inputs). */
static const char *option_of_field(const tsf_err *e, const char *fallback)
{
    static const struct {
        const char *field, *key;
    } renamed[] = {{"n_layers", "layers"},    {"n_quantiles", "quantiles"}, {"lookback", "inputs"},
                   {"horizon", "inputs"},     {"n_inputs", "inputs"},       {"n_outputs", "inputs"},
                   {"revin", "instance_norm"}};
    if (!e->field || !strcmp(e->field, "kind"))
        return fallback;
    for (size_t i = 0; i < sizeof renamed / sizeof *renamed; i++)
        if (!strcmp(e->field, renamed[i].field))
            return renamed[i].key;
    for (const tsf_option *o = options; o->name; o++)
        if (!strcmp(o->name, e->field))
            return o->name;
    return fallback;
}

/* The batch training runs with: batch_size, at most the training windows (a larger batch only
 * takes memory: every batch would hold all the windows anyway). */
static size_t effective_batch(const train_state *s, int64_t samples)
{
    return samples > 0 && (int64_t)s->batch_size > samples ? (size_t)samples : s->batch_size;
}

/* Refuse before any step runs a network whose workspaces cannot fit in this machine's memory
 * (tsf_rnn_bytes: parameters, gradients, and the activations BPTT keeps for a batch). */
static int check_memory(tsf_stage_ctx *ctx, const train_state *s, const tsf_rnn_config *full,
                        int64_t samples, tsf_err *err)
{
    size_t B = effective_batch(s, samples);
    if (full->lookback == 1 && samples < 0)
        B = 1; /* the windows are chosen at run: a lower bound (lookback 1, batch 1) */
    else if (B < s->batch_size)
        tsf_stage_log(ctx, TSF_LOG_INFO,
                      "batch_size %zu is more than the %lld training windows: batches of %zu",
                      s->batch_size, (long long)samples, B);
    double need = tsf_rnn_bytes(full, B);
    if (need < 0)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory estimating the network's size");
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double have = pages > 0 && page > 0 ? (double)pages * (double)page : HUGE_VAL;
    if (need >= 0 && need <= have)
        return TSF_OK;
    const double gib = 1024.0 * 1024 * 1024;
    return tsf_stage_fail_key(
        ctx, err, B == 1 || !(tsf_rnn_bytes(full, 1) <= have) ? "hidden" : "batch_size", TSF_EINVAL,
        "training needs %s %.1f GiB for the network (batch %zu x lookback %zu x hidden %zu x "
        "%zu layer%s: parameters, gradients and what backpropagation keeps), more than this "
        "machine's %.1f GiB of memory (expected a smaller batch_size, hidden or layers)",
        samples < 0 && full->lookback == 1 ? "at least" : "about", need / gib, B, full->lookback,
        full->hidden, full->n_layers, full->n_layers == 1 ? "" : "s", have / gib);
}

/* Options that apply only to some settings, and options that contradict each other. */
static int check_settings(tsf_stage_ctx *ctx, const train_state *s, int pinball, tsf_err *err)
{
    int rc, sgd = s->optimizer == TSF_OPTIM_SGD;
    const struct {
        const char *key;
        int applies;
        const char *setting;
    } rules[] = {
        {"huber_delta", s->loss == TSF_LOSS_HUBER, "loss = huber"},
        {"quantiles", pinball, "loss = pinball"},
        {"momentum", sgd, "optimizer = sgd"},
        {"dampening", sgd, "optimizer = sgd"},
        {"nesterov", sgd, "optimizer = sgd"},
        {"beta1", !sgd, "optimizer = adam or adamw"},
        {"beta2", !sgd, "optimizer = adam or adamw"},
        {"eps", !sgd, "optimizer = adam or adamw"},
        {"step_size", s->schedule == TSF_SCHED_STEP, "schedule = step"},
        {"gamma", s->schedule == TSF_SCHED_STEP, "schedule = step"},
        {"warmup", s->schedule == TSF_SCHED_COSINE, "schedule = cosine"},
        {"min_lr", s->schedule == TSF_SCHED_COSINE || s->schedule == TSF_SCHED_PLATEAU,
         "schedule = cosine or plateau"},
        {"factor", s->schedule == TSF_SCHED_PLATEAU, "schedule = plateau"},
        {"plateau_patience", s->schedule == TSF_SCHED_PLATEAU, "schedule = plateau"},
        {"threshold", s->schedule == TSF_SCHED_PLATEAU, "schedule = plateau"},
        {"cooldown", s->schedule == TSF_SCHED_PLATEAU, "schedule = plateau"},
        {"min_delta", s->patience > 0, "early stopping (patience > 0)"},
        {"checkpoint_every", s->save != NULL, "save = PATH"},
        {"decoder", s->segment > 0, "segment > 0"},
        {"calibrate", pinball, "quantiles (loss = pinball)"},
        {"head", s->segment == 0, "segment = 0 (segments choose their decoder)"},
    };
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
        if ((rc = only_for(ctx, rules[i].key, rules[i].applies, rules[i].setting, err)))
            return rc;
    if (s->loss == TSF_LOSS_PINBALL && s->quantiles.n == 0)
        return tsf_stage_fail_key(
            ctx, err, "loss", TSF_EINVAL,
            "loss = pinball needs quantiles (e.g. quantiles = 0.1, 0.5, 0.9)");
    if (s->dropout > 0 && s->layers < 2 && s->segment == 0)
        return tsf_stage_fail_key(ctx, err, "dropout", TSF_EINVAL,
                                  "dropout acts between stacked layers: it needs layers >= 2 "
                                  "(layers is %zu)",
                                  s->layers);
    if (s->ensemble > 1 && (s->save || s->resume))
        return tsf_stage_fail_key(ctx, err, s->save ? "save" : "resume", TSF_EINVAL,
                                  "a checkpoint holds one network: %s does not apply to an "
                                  "ensemble of %zu (expected ensemble = 1, or model.save for "
                                  "the trained ensemble)",
                                  s->save ? "save" : "resume", s->ensemble);
    if (s->name && (!s->name[0] || strchr(s->name, '\n')))
        return tsf_stage_fail_key(ctx, err, "name", TSF_EINVAL,
                                  "expected a non-empty name on one line");
    return TSF_OK;
}

/* The loss (pinball when quantiles are given without a loss). */
static int make_loss(tsf_stage_ctx *ctx, train_state *s, int pinball, tsf_err *err)
{
    tsf_err e = TSF_ERR_INIT;
    if (pinball) {
        if (tsf_loss_init_pinball(&s->lossv, s->quantiles.v, s->quantiles.n, &e))
            return tsf_stage_fail_key(ctx, err, "quantiles", TSF_EINVAL, "%s", e.msg);
    } else {
        tsf_loss_init(&s->lossv, (tsf_loss_kind)s->loss);
        s->lossv.delta = s->huber_delta;
    }
    return TSF_OK;
}

/* The training settings: the library's defaults (PyTorch's, per optimizer and schedule) with
 * the options the step sets, checked by the library, which names the failing field. */
static int make_train_config(tsf_stage_ctx *ctx, train_state *s, tsf_err *err)
{
    tsf_err e = TSF_ERR_INIT;
    tsf_train_config *c = &s->cfg;
    tsf_train_config_init(c);
    c->epochs = s->epochs;
    c->batch_size = s->batch_size;
    c->seed = (unsigned long)s->seed;
    c->shuffle = s->shuffle;
    c->loss = s->lossv;
    tsf_optim_config_init(&c->optim, (tsf_optim_kind)s->optimizer);
#define TAKE(key, dst, src)                                                                        \
    do {                                                                                           \
        if (tsf_stage_option_set(ctx, key))                                                        \
            dst = src;                                                                             \
    } while (0)
    TAKE("lr", c->optim.lr, s->lr);
    TAKE("momentum", c->optim.momentum, s->momentum);
    TAKE("dampening", c->optim.dampening, s->dampening);
    TAKE("nesterov", c->optim.nesterov, s->nesterov);
    TAKE("beta1", c->optim.beta1, s->beta1);
    TAKE("beta2", c->optim.beta2, s->beta2);
    TAKE("eps", c->optim.eps, s->eps);
    TAKE("weight_decay", c->optim.weight_decay, s->weight_decay);
    tsf_sched_config_init(&c->sched, (tsf_sched_kind)s->schedule);
    TAKE("step_size", c->sched.step_size, s->step_size);
    TAKE("gamma", c->sched.gamma, s->gamma);
    TAKE("warmup", c->sched.warmup, s->warmup);
    TAKE("min_lr", c->sched.min_lr, s->min_lr);
    TAKE("factor", c->sched.factor, s->factor);
    TAKE("plateau_patience", c->sched.patience, s->plateau_patience);
    TAKE("threshold", c->sched.threshold, s->threshold);
    TAKE("cooldown", c->sched.cooldown, s->cooldown);
#undef TAKE
    if (tsf_optim_config_check(&c->optim, &e))
        return tsf_stage_fail_key(ctx, err, option_of_field(&e, "optimizer"), TSF_EINVAL, "%s",
                                  e.msg);
    if (tsf_sched_config_check(&c->sched, &e))
        return tsf_stage_fail_key(ctx, err, option_of_field(&e, "schedule"), TSF_EINVAL, "%s",
                                  e.msg);
    c->clip.val = s->clip_val;
    c->clip.algorithm = (tsf_clip_algorithm)s->clip_algorithm;
    c->patience = s->patience;
    c->min_delta = s->min_delta;
    c->checkpoint = s->save;
    c->checkpoint_every = s->checkpoint_every;
    c->shards = s->shards;
    c->resume = s->resume;
    return TSF_OK;
}

/* The network, against what is known of the training windows w. */
static int make_arch(tsf_stage_ctx *ctx, train_state *s, const tsf_meta *w, tsf_err *err)
{
    tsf_rnn_config *a = &s->arch;
    memset(a, 0, sizeof *a);
    tsf_err ce = TSF_ERR_INIT;
    if (tsf_rnn_cell_parse(cells[s->cell], &a->cell, &ce))
        return tsf_stage_fail_key(ctx, err, "cell", TSF_EINVAL, "%s", ce.msg);
    a->hidden = s->hidden;
    a->n_layers = s->layers;
    a->bidirectional = s->bidirectional;
    a->dropout = s->dropout;
    a->head = (tsf_head)s->head;
    a->bptt_steps = s->bptt_steps;
    a->segment = s->segment;
    if (s->segment > 0)
        a->head = s->decoder ? TSF_HEAD_RECURSIVE : TSF_HEAD_DIRECT;
    a->revin = s->instance_norm == INORM_REVIN;
    if (a->head == TSF_HEAD_RECURSIVE && a->bidirectional)
        return tsf_stage_fail_key(ctx, err, "bidirectional", TSF_EINVAL,
                                  "a recursive head cannot follow a bidirectional encoder (the "
                                  "reverse direction would need the unknown future): use head = "
                                  "direct");
    if (w->horizon != TSF_UNKNOWN && w->n_inputs != TSF_UNKNOWN && w->n_outputs != TSF_UNKNOWN) {
        tsf_rnn_config full = *a;
        /* a lookback the window step chooses at run is at least 1: the memory estimate is
         * then a lower bound, still enough to refuse what cannot fit at any lookback */
        int known = w->lookback != TSF_UNKNOWN;
        full.lookback = known ? (size_t)w->lookback : 1;
        full.horizon = (size_t)w->horizon;
        full.n_inputs = (size_t)w->n_inputs;
        full.n_outputs = (size_t)w->n_outputs;
        full.n_quantiles = s->lossv.n_quantiles;
        /* n_future is not in the meta: a recursive head's input-layout check needs it, so run
         * the cheap check with F = 0 and leave the rest to run */
        full.n_future = 0;
        if (known && tsf_rnn_config_check(&full, &ce))
            return tsf_stage_fail_key(ctx, err, option_of_field(&ce, "cell"), TSF_EINVAL, "%s",
                                      ce.msg);
        int rc = check_memory(ctx, s, &full, known ? w->samples : -1, err);
        if (rc)
            return rc;
    }
    if (s->bptt_steps && w->lookback != TSF_UNKNOWN && (int64_t)s->bptt_steps >= w->lookback)
        tsf_stage_log(ctx, TSF_LOG_WARN, "bptt_steps %zu >= lookback %lld: full BPTT",
                      s->bptt_steps, (long long)w->lookback);
    return TSF_OK;
}

/* Validation windows v must be cut like the training windows w. */
static int check_validation(tsf_stage_ctx *ctx, const tsf_meta *w, const tsf_meta *v, tsf_err *err)
{
    const struct {
        const char *what;
        int64_t a, b;
    } dims[] = {{"lookback", w->lookback, v->lookback},
                {"horizon", w->horizon, v->horizon},
                {"inputs per step", w->n_inputs, v->n_inputs},
                {"outputs", w->n_outputs, v->n_outputs}};
    for (size_t i = 0; i < sizeof dims / sizeof *dims; i++)
        if (dims[i].a != TSF_UNKNOWN && dims[i].b != TSF_UNKNOWN && dims[i].a != dims[i].b)
            return tsf_stage_fail_key(ctx, err, "inputs", TSF_EINVAL,
                                      "the validation windows have %s %lld, the training "
                                      "windows %lld (expected windows cut alike)",
                                      dims[i].what, (long long)dims[i].b, (long long)dims[i].a);
    return TSF_OK;
}

static int check(tsf_stage_ctx *ctx, void *state, const tsf_meta *const *in, tsf_meta *const *out,
                 tsf_err *err)
{
    train_state *s = state;
    size_t vi, si;
    int rc = sort_inputs(ctx, meta_type, in, &vi, &si, err);
    if (rc)
        return rc;
    int pinball =
        s->loss == TSF_LOSS_PINBALL || (!tsf_stage_option_set(ctx, "loss") && s->quantiles.n > 0);
    const tsf_meta *w = in[0];
    if ((rc = check_settings(ctx, s, pinball, err)) || (rc = make_loss(ctx, s, pinball, err)) ||
        (rc = make_train_config(ctx, s, err)) || (rc = make_arch(ctx, s, w, err)) ||
        (vi && (rc = check_validation(ctx, w, in[vi], err))))
        return rc;
    tsf_meta *m = out[0];
    m->lookback = w->lookback;
    m->horizon = w->horizon;
    m->n_inputs = w->n_inputs;
    m->n_outputs = w->n_outputs;
    m->n_series = w->n_series;
    if ((rc = tsf_meta_set_note(ctx, m, "%s, %zu layer%s x %zu hidden, %zu epochs%s%s",
                                cells[s->cell], s->layers, s->layers == 1 ? "" : "s", s->hidden,
                                s->epochs, vi ? ", validated" : "", si ? ", with scaler" : "")))
        return rc;
    out[1]->lookback = w->lookback;
    return TSF_OK;
}

/* ---- run ------------------------------------------------------------------------------- */

typedef struct progress_user {
    tsf_stage_ctx *ctx;
    size_t n_epochs;
} progress_user;

static int on_progress(void *user, const tsf_train_progress *p)
{
    progress_user *u = user;
    tsf_progress q = TSF_PROGRESS_INIT;
    q.fraction = p->fraction;
    q.epoch = (long)p->epoch + 1;
    q.epochs = (long)p->n_epochs;
    q.loss = p->loss;
    q.val_loss = p->val_loss;
    q.what = "training";
    tsf_stage_progress(u->ctx, &q);
    if (p->epoch_end) {
        char val[64] = "";
        if (!isnan(p->val_loss))
            snprintf(val, sizeof val, ", validation loss %.6g", p->val_loss);
        tsf_stage_log(u->ctx, TSF_LOG_DEBUG,
                      "epoch %zu/%zu: training loss %.6g%s, lr %.3g, mean gradient norm %.4g",
                      p->epoch + 1, p->n_epochs, p->loss, val, p->lr, p->grad_norm);
    }
    /* The runner's cancel flag: stop before the next batch (tsf_train writes the checkpoint). */
    return tsf_stage_cancelled(u->ctx);
}

/* The outputs: the model (m taken) and its history (hist taken). */
static int publish(tsf_stage_ctx *ctx, tsf_rnn_model *m, tsf_train_history *hist,
                   tsf_value *const *out, tsf_err *err)
{
    tsf_model *mv;
    int rc = tsfs_rnn_model_value(&mv, m, err);
    if (rc == TSF_OK)
        rc = tsf_value_set(ctx, out[0], mv, tsf_free_model);
    if (rc) {
        tsfs_free_history(hist);
        return rc;
    }
    return tsf_value_set(ctx, out[1], hist, tsfs_free_history);
}

/* Calibrate m's quantiles on the validation windows (the log and the history's note say how). */
static int calibrate(tsf_stage_ctx *ctx, const train_state *s, tsf_rnn_model *m,
                     const tsf_windows *val, tsf_train_history *hist, tsf_err *err)
{
    char why[320];
    if (!val || !val->n_samples) {
        snprintf(why, sizeof why,
                 "not calibrated: no validation windows (inputs = train, val, ...; or "
                 "calibrate = none)");
    } else {
        int rc = tsf_rnn_model_calibrate(m, val, why, sizeof why, err);
        if (rc != TSF_OK)
            return rc;
    }
    tsf_stage_log(ctx, TSF_LOG_INFO, "%s: %s", m->name, why);
    if (m->calib && s->save)
        tsf_stage_log(ctx, TSF_LOG_WARN,
                      "%s: the checkpoint %s holds the network as training left it, without the "
                      "calibration that follows training (model.save writes the calibrated "
                      "model; calibrate = none forecasts as the checkpoint does)",
                      m->name, s->save);
    size_t len = strlen(hist->note);
    snprintf(hist->note + len, sizeof hist->note - len, "%s%s", len ? "; " : "", why);
    return TSF_OK;
}

/* A resume continues the checkpoint's training only on the same data with the same recipe,
 * unless resume_changes = accept; the log says where it continues. */
static int check_resume(tsf_stage_ctx *ctx, const train_state *s, const tsf_rnn_model *m,
                        const tsf_windows *train, const tsf_train_config *cfg, tsf_err *err)
{
    char diff[1024];
    size_t epoch, batch;
    int rc = tsf_rnn_model_resume_compare(m, train, cfg, diff, sizeof diff, &epoch, &batch, err);
    if (rc != TSF_OK)
        return rc;
    if (diff[0] && !s->resume_changes)
        return tsf_stage_fail_key(
            ctx, err, "resume", TSF_EINVAL,
            "cannot resume from %s: this run differs from the checkpoint's training in %s "
            "(expected the same data and recipe; set resume_changes = accept to resume "
            "anyway)",
            s->resume, diff);
    if (diff[0])
        tsf_stage_log(ctx, TSF_LOG_WARN, "resuming from %s although this run differs in %s",
                      s->resume, diff);
    tsf_stage_log(ctx, TSF_LOG_INFO, "resumed from epoch %zu, batch %zu (%s)", epoch + 1, batch + 1,
                  s->resume);
    return TSF_OK;
}

/* What the pipeline left unset (hidden, epochs, batch_size, patience) is chosen from the
 * windows, and again at every backtest refit from that fit's windows. Updates arch and cfg;
 * returns the TSF_CHOOSE_* bits of what was chosen, ch->why says why. */
static unsigned choose_from_windows(tsf_stage_ctx *ctx, const tsf_windows *train,
                                    const tsf_windows *val, tsf_rnn_config *arch,
                                    tsf_train_config *cfg, tsf_rnn_fit_choice *ch)
{
    static const struct {
        const char *key;
        unsigned bit;
    } left[] = {{"hidden", TSF_CHOOSE_HIDDEN},
                {"epochs", TSF_CHOOSE_EPOCHS},
                {"batch_size", TSF_CHOOSE_BATCH},
                {"patience", TSF_CHOOSE_STOP}};
    unsigned choose = 0;
    for (size_t k = 0; k < sizeof left / sizeof *left; k++)
        if (!tsf_stage_option_set(ctx, left[k].key))
            choose |= left[k].bit;
    *ch = (tsf_rnn_fit_choice){.hidden = arch->hidden,
                               .epochs = cfg->epochs,
                               .batch_size = cfg->batch_size,
                               .patience = cfg->patience};
    if (!(choose & TSF_CHOOSE_BATCH) && cfg->batch_size > train->n_samples)
        tsf_stage_log(ctx, TSF_LOG_INFO,
                      "batch_size %zu is more than the %zu training windows: batches of %zu",
                      cfg->batch_size, train->n_samples, train->n_samples);
    tsf_rnn_fit_choose(choose, train->n_samples, val ? val->n_samples : 0, ch);
    arch->hidden = ch->hidden;
    cfg->epochs = ch->epochs;
    cfg->batch_size = ch->batch_size;
    cfg->patience = ch->patience;
    return choose;
}

/* Train m (resuming when asked), reporting progress to the runner. */
static int train_model(tsf_stage_ctx *ctx, const train_state *s, tsf_rnn_model *m,
                       const tsf_windows *train, const tsf_windows *val, tsf_train_config *cfg,
                       tsf_train_history *hist, tsf_err *err)
{
    int rc = s->resume ? check_resume(ctx, s, m, train, cfg, err) : TSF_OK;
    if (rc)
        return rc;
    progress_user pu = {ctx, cfg->epochs};
    cfg->progress = on_progress;
    cfg->progress_user = &pu;
    if (s->ensemble > 1)
        tsf_stage_log(ctx, TSF_LOG_INFO,
                      "%s: an ensemble of %zu networks (seeds %lu to %lu), on their own threads",
                      m->name, s->ensemble, cfg->seed, cfg->seed + s->ensemble - 1);
    rc = tsf_rnn_model_train_ensemble(m, s->ensemble, train, val && val->n_samples ? val : NULL,
                                      cfg, hist, err);
    if (rc == TSF_ECANCEL && err)
        tsf_stage_log(ctx, TSF_LOG_WARN, "%s", err->msg); /* where the checkpoint went */
    return rc;
}

/* One line on the training: epochs, time, the last losses, the best, clipped updates. */
static void log_training(tsf_stage_ctx *ctx, const train_state *s, const tsf_rnn_model *m,
                         const tsf_train_history *hist)
{
    if (!hist->n_epochs)
        return;
    double secs = 0;
    for (size_t e = 0; e < hist->n_epochs; e++)
        secs += hist->epoch[e].seconds;
    const tsf_epoch_record *last = &hist->epoch[hist->n_epochs - 1];
    const tsf_epoch_record *best = &hist->epoch[hist->best_epoch];
    char v[96] = "";
    if (!isnan(last->val_loss))
        snprintf(v, sizeof v, ", validation loss %.6g (best %.6g in epoch %zu)", last->val_loss,
                 best->val_loss, hist->best_epoch + 1);
    size_t clipped = 0;
    for (size_t k = 0; k < hist->n_steps; k++)
        clipped += hist->step_clipped[k];
    char c[64] = "";
    if (s->clip_val > 0)
        snprintf(c, sizeof c, ", %zu of %zu updates clipped", clipped, hist->n_steps);
    tsf_stage_log(ctx, TSF_LOG_INFO, "%s: %zu epochs%s in %.1f s: training loss %.6g%s%s%s",
                  m->name, hist->n_epochs, hist->stopped_early ? " (stopped early)" : "", secs,
                  last->train_loss, v, c, hist->restored_best ? "; best weights restored" : "");
}

/* The seasonal adjustment of a model about to be trained (deseason): the indices fitted on the
 * training windows' rows (tsf_rnn_model_deseason, the rule of backtest refits), logged, and the
 * training and validation windows cut again from adjusted copies of their frames (all NULL when
 * no series is adjusted). */
static int deseason(tsf_stage_ctx *ctx, const train_state *s, tsf_rnn_model *m,
                    const tsf_windows *train, const tsf_windows *val, tsf_frame **atf,
                    tsf_windows **atw, tsf_frame **avf, tsf_windows **avw, tsf_err *err)
{
    char note[160];
    tsf_err e = TSF_ERR_INIT;
    int rc = tsf_rnn_model_deseason(m, train, (tsf_deseason)s->deseason, s->season, note,
                                    sizeof note, &e);
    if (rc != TSF_OK)
        return tsf_stage_fail_key(ctx, err, "deseason", rc, "%s", e.msg);
    if (note[0])
        tsf_stage_log(ctx, TSF_LOG_INFO, "%s: %s", m->name, note);
    rc = tsf_rnn_model_adjust_windows(m, train, atf, atw, err);
    if (rc == TSF_OK && val)
        rc = tsf_rnn_model_adjust_windows(m, val, avf, avw, err);
    return rc;
}

static int run(tsf_stage_ctx *ctx, void *state, tsf_value *const *in, tsf_value *const *out,
               tsf_err *err)
{
    train_state *s = state;
    size_t vi, si;
    int rc = sort_inputs(ctx, value_type, in, &vi, &si, err);
    if (rc)
        return rc;
    const tsf_windows *train = in[0]->ptr;
    const tsf_windows *val = vi ? in[vi]->ptr : NULL;
    const tsf_scaler *scaler = si ? in[si]->ptr : NULL;
    if (train->n_samples == 0)
        TSF_FAIL(err, TSF_EINVAL,
                 "no training windows (the series are too short for lookback "
                 "+ horizon, or the train part is empty)");
    tsf_rnn_config arch = s->arch;
    tsf_train_config cfg = s->cfg;
    tsf_rnn_fit_choice ch;
    unsigned choose = choose_from_windows(ctx, train, val, &arch, &cfg, &ch);
    tsf_rnn_model *m = NULL;
    tsf_inorm inorm =
        s->instance_norm == INORM_REVIN ? TSF_INORM_NONE : (tsf_inorm)s->instance_norm;
    rc = tsf_rnn_model_create(&m, s->name, &arch, train, scaler, inorm, &s->lossv, cfg.batch_size,
                              err);
    if (rc)
        return rc;
    m->chosen = choose;
    m->ensemble = s->ensemble;
    m->calibrate = s->calibrate && s->lossv.kind == TSF_LOSS_PINBALL && s->lossv.n_quantiles > 1;
    m->deseason = (tsf_deseason)s->deseason;
    if (choose)
        tsf_stage_log(ctx, TSF_LOG_INFO, "%s: chosen from the data: %s", m->name, ch.why);
    tsf_train_history *hist = malloc(sizeof *hist);
    if (!hist) {
        tsf_rnn_model_free(m);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    }
    tsf_train_history_init(hist);
    char desc[256];
    char nval[64] = "";
    if (val)
        snprintf(nval, sizeof nval, ", %zu validation windows", val->n_samples);
    tsf_stage_log(ctx, TSF_LOG_INFO, "%s: %s; %zu training windows%s", m->name,
                  tsf_rnn_model_describe(m, desc, sizeof desc), train->n_samples, nval);
    if (!s->fit) {
        m->untrained = 1;
        tsf_rnn_model_set_recipe(m, &cfg);
        tsf_stage_log(ctx, TSF_LOG_INFO,
                      "%s: not trained (fit = false): a recipe for the backtest's refits", m->name);
        return publish(ctx, m, hist, out, err);
    }
    tsf_frame *atf = NULL, *avf = NULL;
    tsf_windows *atw = NULL, *avw = NULL;
    rc = deseason(ctx, s, m, train, val, &atf, &atw, &avf, &avw, err);
    if (rc == TSF_OK)
        rc = train_model(ctx, s, m, atw ? atw : train, avw ? avw : val, &cfg, hist, err);
    if (rc == TSF_OK && choose)
        snprintf(hist->note, sizeof hist->note, "%s", ch.why);
    if (rc == TSF_OK && m->calibrate)
        rc = calibrate(ctx, s, m, val, hist, err);
    tsf_windows_free(atw);
    tsf_windows_free(avw);
    tsf_frame_free(atf);
    tsf_frame_free(avf);
    if (rc) {
        tsfs_free_history(hist);
        tsf_rnn_model_free(m);
        return rc;
    }
    log_training(ctx, s, m, hist);
    if (s->save)
        tsf_stage_log(ctx, TSF_LOG_INFO, "checkpoint written to %s", s->save);
    return publish(ctx, m, hist, out, err);
}

const tsf_stage_def tsf_stage_train_rnn = {
    .abi = TSF_STAGE_ABI_VERSION,
    .name = "train.rnn",
    .summary = "train an Elman RNN, LSTM or GRU forecaster on windows",
    .help = "Inputs: the training windows, then optionally validation windows (a window step "
            "with part = validation) and the scaler of a normalize step, in any order: inputs = "
            "train, val, norm.scaler. The model keeps the scaler and the window columns, so "
            "predict can forecast a frame in its own units. A NaN or infinite loss or gradient "
            "stops training with an error naming the epoch, the batch and the first offending "
            "window; clip the gradients (gradient_clip_val) or lower lr. The history output "
            "holds the losses, learning rate, gradient norms, clipped updates and gradient flow "
            "(||dLoss/dh_t|| per lookback step) of every epoch: export it with export.history. "
            "Defaults: hidden, epochs, batch_size and patience left unset are chosen from the "
            "training windows by fixed rules (see each option; the log says what was chosen and "
            "why, one line per fit), not tuned to any data set; a backtest chooses them again at "
            "every refit from that fold's windows, holding out the last tenth to find the epoch "
            "count. The window step chooses the lookback (a season, or the horizon if longer). "
            "instance_norm is none unless set (the tsflow forecast and backtest commands set "
            "last).",
    .state_size = sizeof(train_state),
    .options = options,
    .inputs = inputs,
    .outputs = outputs,
    .check = check,
    .run = run,
};
