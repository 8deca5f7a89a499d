/* The built-in recurrent model on the model port: a tsf_rnn_model (tsflow/rnn_model.h) behind
 * the tsf_model interface of tsflow/stage.h. train.rnn and model.load produce it; predict and
 * backtest see only the interface, as they see a plugin's model. Binding builds the recurrent
 * forecaster of tsflow/rnn_forecaster.h with the model's recipe (architecture, loss, instance
 * normalization, window columns by name, training settings), so a backtest refits it fold by
 * fold as train.rnn trained it; predict uses the model's batched forward pass. */
#include <stdlib.h>
#include <string.h>

#include "model_stages.h"
#include "tsflow/rnn_forecaster.h"
#include "tsflow/rnn_model.h"

typedef struct rnn_value {
    tsf_model pub;
    char description[256];
    tsf_scale_spec scaling;
} rnn_value;

typedef struct rnn_binding {
    tsf_rnn_forecaster_config cfg;
    size_t *past; /* the columns cfg.past_cols points into */
} rnn_binding;

static tsf_rnn_model *rnn_of(const tsf_model *m)
{
    return m->impl;
}

static int bind(const tsf_model *m, tsf_model_binding *b, tsf_err *err)
{
    const tsf_rnn_model *r = rnn_of(m);
    rnn_binding *rb = calloc(1, sizeof *rb);
    if (!rb)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    tsf_rnn_forecaster_config *c = &rb->cfg;
    tsf_rnn_forecaster_config_init(c);
    int rc = tsf_rnn_forecaster_config_from_model(c, r, b->frame, &rb->past, err);
    if (rc != TSF_OK) {
        free(rb);
        return rc;
    }
    /* Every fold trains as train.rnn trained the model; what train.rnn left to the data each
     * fold chooses from its own windows (early stopping on a held-out tail included). */
    c->train = r->train;
    c->train.loss = r->loss;
    c->train.checkpoint = c->train.resume = NULL;
    c->train.meta = NULL;
    c->train.n_meta = 0;
    c->chosen = r->chosen;
    c->ensemble = r->ensemble;
    c->calibrate = r->calibrate;
    c->deseason = r->deseason;
    c->season = b->season;
    c->progress = b->fit_progress;
    c->progress_user = b->progress_user;
    c->histories = b->histories;
    c->n_histories = b->n_histories;
    if ((rc = tsf_rnn_forecaster_check(c, err)) != TSF_OK) {
        free(rb->past);
        free(rb);
        return rc;
    }
    tsf_rnn_forecaster(&b->forecaster, c);
    b->read_cols = c->past_cols;
    b->n_read_cols = c->n_past;
    b->priv = rb;
    return TSF_OK;
}

static void unbind(const tsf_model *m, tsf_model_binding *b)
{
    (void)m;
    rnn_binding *rb = b->priv;
    if (rb)
        free(rb->past);
    free(rb);
    b->priv = NULL;
}

/* A recipe saved untrained (train.rnn fit = false) has random weights: refuse to forecast. */
static int refuse_untrained(const tsf_model *m, tsf_err *err)
{
    if (!rnn_of(m)->untrained)
        return TSF_OK;
    TSF_FAIL(err, TSF_EINVAL,
             "model \"%s\" was never trained (train.rnn fit = false saves only the recipe a "
             "backtest refits at every fold): predict needs trained weights (expected a model "
             "trained with fit = true, e.g. by tsflow forecast --save-model)",
             m->name);
}

static int predict_windows(const tsf_model *m, const tsf_windows *w, size_t batch_size,
                           tsf_forecasts *fc, size_t first, tsf_err *err)
{
    int rc = refuse_untrained(m, err);
    if (rc != TSF_OK)
        return rc;
    return tsf_rnn_model_predict_windows(rnn_of(m), w, batch_size, fc, 0, first, err);
}

static int predict_frame(const tsf_model *m, const tsf_frame *f, size_t batch_size,
                         tsf_forecasts **out, tsf_err *err)
{
    int rc = refuse_untrained(m, err);
    if (rc != TSF_OK)
        return rc;
    return tsf_rnn_model_forecast(rnn_of(m), f, batch_size, out, err);
}

static int scaler_for(const tsf_model *m, const tsf_frame *f, tsf_scaler **out, tsf_err *err)
{
    return tsf_rnn_model_scaler_for(rnn_of(m), f, out, err);
}

static int save(const tsf_model *m, const char *path, tsf_err *err)
{
    return tsf_rnn_model_save(rnn_of(m), path, err);
}

static void destroy(tsf_model *m)
{
    tsf_rnn_model_free(rnn_of(m));
    free(m);
}

int tsfs_model_seed(const tsf_model *m, uint64_t *seed)
{
    if (m->destroy != destroy) /* not this file's model (a plugin may call itself "rnn") */
        return 0;
    *seed = rnn_of(m)->train.seed;
    return 1;
}

int tsfs_rnn_model_value(tsf_model **out, tsf_rnn_model *r, tsf_err *err)
{
    *out = NULL;
    rnn_value *v = calloc(1, sizeof *v);
    if (!v) {
        tsf_rnn_model_free(r);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    }
    const tsf_rnn_config *c = tsf_rnn_config_of(r->rnn);
    tsf_model *m = &v->pub;
    tsf_rnn_model_describe(r, v->description, sizeof v->description);
    m->name = r->name;
    m->kind = "rnn";
    m->description = v->description;
    m->lookback = c->lookback;
    m->horizon = c->horizon;
    m->n_inputs = c->n_inputs;
    m->n_outputs = c->n_outputs;
    m->targets = (const char *const *)r->targets;
    m->n_targets = r->n_targets;
    if (r->loss.kind == TSF_LOSS_PINBALL && r->loss.n_quantiles > 1) {
        m->quantiles = r->loss.quantiles;
        m->n_quantiles = r->loss.n_quantiles;
    }
    if (r->scaler) {
        tsf_scale_spec_init(&v->scaling);
        v->scaling.kind = r->scaler->kind;
        v->scaling.pre = r->scaler->pre;
        v->scaling.per_series = r->scaler->per_series;
        m->scaling = &v->scaling;
    }
    m->bind = bind;
    m->unbind = unbind;
    m->predict_windows = predict_windows;
    m->predict_frame = predict_frame;
    m->scaler_for = scaler_for;
    m->save = save;
    m->impl = r;
    m->destroy = destroy;
    *out = m;
    return TSF_OK;
}
