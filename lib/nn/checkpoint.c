/* Model files and checkpoints in HDF5 (written atomically), format version 1:
 *
 *   /                 attrs tsflow_format = "tsflow model", tsflow_format_version = 1,
 *                     tsflow_version, tsflow_commit, real_type ("float" or "double")
 *   /model            attrs cell ("lstm", ...), n_inputs, n_future, hidden, n_layers,
 *                     bidirectional, dropout, lookback, horizon, n_outputs, n_quantiles,
 *                     head ("direct" | "recursive"), bptt_steps, segment, revin (both
 *                     optional when reading: 0), n_params,
 *                     loss ("mse" | "mae" | "huber" | "pinball"), huber_delta, quantiles (Q)
 *   /model/weights/<PyTorch name>   one dataset per tensor in the real type: weights
 *                     (rows, cols), biases (n,) — torch.from_numpy() of each gives a
 *                     state_dict for torch.nn.LSTM(...) and the head's torch.nn.Linear
 *   /meta/<name>      the caller's data: float64 (n) with an optional string attribute "text"
 *   /history          (checkpoints) per epoch: train_loss, val_loss, lr, grad_norm_mean,
 *                     grad_norm_max, seconds, n_steps, n_clipped (E), grad_flow (E, T); per
 *                     update: step_norm, step_clipped (S); attrs best_epoch, stopped_early,
 *                     restored_best
 *   /train            (checkpoints) the state of training: attrs epoch, batch, complete,
 *                     n_samples, batch_size, optim_step, rng_type, schedule and early-stopping
 *                     state, the epoch-in-progress accumulators, and the training options (for
 *                     the record); datasets order (N), rng_state (bytes of gsl_rng_state),
 *                     optim_m, optim_v (P), best_weights (P), last_weights (P: the weights
 *                     before early stopping restored the best ones), acc_grad_flow (T)
 *
 * A file whose tsflow_format_version differs from TSF_NETWORK_FORMAT_VERSION is refused: bump
 * the version whenever the meaning of a dataset or attribute changes.
 */
#include <errno.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "train_internal.h"
#include "tsflow/h5out.h"
#include "tsflow/io.h"
#include "tsflow/train.h"

#ifdef TSF_NN_DOUBLE
#define REAL_MEM H5T_NATIVE_DOUBLE
#define REAL_H5 TSF_H5_FLOAT64
#else
#define REAL_MEM H5T_NATIVE_FLOAT
#define REAL_H5 TSF_H5_FLOAT32
#endif

/* ---- writing ---------------------------------------------------------------------------- */

/* Writer state over tsflow/h5out.h: the first failure is recorded and every later call does
 * nothing, so a file is written as a flat sequence of calls with one check at the end. */
typedef struct h5w {
    tsf_h5out *o;
    const char *path;
    tsf_err *err;
    int rc;
} h5w;

static void w_int(h5w *w, const char *obj, const char *name, int64_t v)
{
    if (!w->rc)
        w->rc = tsf_h5out_attr_int(w->o, obj, name, v, w->err);
}

static void w_dbl(h5w *w, const char *obj, const char *name, double v)
{
    if (!w->rc)
        w->rc = tsf_h5out_attr_double(w->o, obj, name, v, w->err);
}

static void w_str(h5w *w, const char *obj, const char *name, const char *s)
{
    if (!w->rc)
        w->rc = tsf_h5out_attr_string(w->o, obj, name, s, w->err);
}

/* A dataset obj/name of rank 1 (d0) or 2 (d0, d1). */
static void w_dset(h5w *w, const char *obj, const char *name, tsf_h5_type type, int rank, size_t d0,
                   size_t d1, const void *data)
{
    if (w->rc)
        return;
    char path[512];
    size_t dims[2] = {d0, d1};
    snprintf(path, sizeof path, "%s/%s", obj, name);
    w->rc = tsf_h5out_dataset(w->o, path, type, rank, dims, data, w->err);
}

/* size_t arrays are stored as uint64. */
static void w_sizes(h5w *w, const char *obj, const char *name, size_t n, const size_t *v)
{
    if (w->rc)
        return;
    uint64_t *u = malloc((n ? n : 1) * sizeof *u);
    if (!u) {
        w->rc = tsf_err_set(w->err, TSF_ENOMEM, "%s: out of memory writing \"%s\"", w->path, name);
        return;
    }
    for (size_t i = 0; i < n; i++)
        u[i] = v[i];
    w_dset(w, obj, name, TSF_H5_UINT64, 1, n, 0, u);
    free(u);
}

static void w_group(h5w *w, const char *path)
{
    if (!w->rc)
        w->rc = tsf_h5out_group(w->o, path, w->err);
}

static int meta_name_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '.' || *s == '-'))
            return 0;
    return 1;
}

static void write_model(h5w *w, tsf_rnn *m, const tsf_loss *loss, const tsf_real *p)
{
    const tsf_rnn_config *c = tsf_rnn_config_of(m);
    const char *g = "model";
    w_group(w, g);
    w_str(w, g, "cell", tsf_rnn_cell_name(c->cell));
    w_int(w, g, "n_inputs", (int64_t)c->n_inputs);
    w_int(w, g, "n_future", (int64_t)c->n_future);
    w_int(w, g, "hidden", (int64_t)c->hidden);
    w_int(w, g, "n_layers", (int64_t)c->n_layers);
    w_int(w, g, "bidirectional", c->bidirectional);
    w_dbl(w, g, "dropout", c->dropout);
    w_int(w, g, "lookback", (int64_t)c->lookback);
    w_int(w, g, "horizon", (int64_t)c->horizon);
    w_int(w, g, "n_outputs", (int64_t)c->n_outputs);
    w_int(w, g, "n_quantiles", (int64_t)c->n_quantiles);
    w_str(w, g, "head", c->head == TSF_HEAD_RECURSIVE ? "recursive" : "direct");
    w_int(w, g, "bptt_steps", (int64_t)c->bptt_steps);
    w_int(w, g, "segment", (int64_t)c->segment);
    w_int(w, g, "revin", c->revin);
    w_int(w, g, "n_params", (int64_t)tsf_rnn_n_params(m));
    w_str(w, g, "loss", tsf_loss_name(loss->kind));
    w_dbl(w, g, "huber_delta", loss->delta);
    if (!w->rc)
        w->rc = tsf_h5out_attr_doubles_or_scalar(w->o, g, "quantiles", loss->quantiles,
                                                 loss->n_quantiles, w->err);
    w_group(w, "model/weights");
    for (size_t k = 0; k < tsf_rnn_n_tensors(m); k++) {
        size_t off, rows, cols;
        const char *name = tsf_rnn_tensor(m, k, &off, &rows, &cols);
        /* Biases are 1-D as in a PyTorch state_dict. */
        int bias = strstr(name, "bias") != NULL && cols == 1;
        w_dset(w, "model/weights", name, REAL_H5, bias ? 1 : 2, rows, cols, p + off);
    }
}

static void write_meta(h5w *w, const tsf_network_meta *meta, size_t n_meta)
{
    if (n_meta == 0 || w->rc)
        return;
    for (size_t i = 0; i < n_meta; i++) {
        if (!meta_name_ok(meta[i].name)) {
            w->rc = tsf_err_set(w->err, TSF_EINVAL,
                                "%s: metadata name \"%s\" must be letters, digits, '_', '.' or "
                                "'-'",
                                w->path, meta[i].name ? meta[i].name : "");
            return;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(meta[i].name, meta[j].name) == 0) {
                w->rc = tsf_err_set(w->err, TSF_EINVAL, "%s: metadata \"%s\" is given twice",
                                    w->path, meta[i].name);
                return;
            }
    }
    w_group(w, "meta");
    for (size_t i = 0; i < n_meta; i++) {
        w_dset(w, "meta", meta[i].name, TSF_H5_FLOAT64, 1, meta[i].values ? meta[i].n_values : 0, 0,
               meta[i].values);
        if (meta[i].text) {
            char path[512];
            snprintf(path, sizeof path, "meta/%s", meta[i].name);
            w_str(w, path, "text", meta[i].text);
        }
    }
}

static void write_history(h5w *w, const tsf_train_history *h)
{
    if (w->rc)
        return;
    const size_t E = h->n_epochs, T = h->lookback;
    double *col = malloc((E ? E : 1) * sizeof *col);
    uint64_t *ucol = malloc((E ? E : 1) * sizeof *ucol);
    if (!col || !ucol) {
        free(col);
        free(ucol);
        w->rc = tsf_err_set(w->err, TSF_ENOMEM, "%s: out of memory writing the history", w->path);
        return;
    }
    const char *g = "history";
    w_group(w, g);
#define HIST_COL(field)                                                                            \
    do {                                                                                           \
        for (size_t e = 0; e < E; e++)                                                             \
            col[e] = h->epoch[e].field;                                                            \
        w_dset(w, g, #field, TSF_H5_FLOAT64, 1, E, 0, col);                                        \
    } while (0)
    HIST_COL(train_loss);
    HIST_COL(val_loss);
    HIST_COL(lr);
    HIST_COL(grad_norm_mean);
    HIST_COL(grad_norm_max);
    HIST_COL(seconds);
#undef HIST_COL
    for (size_t e = 0; e < E; e++)
        ucol[e] = h->epoch[e].n_steps;
    w_dset(w, g, "n_steps", TSF_H5_UINT64, 1, E, 0, ucol);
    for (size_t e = 0; e < E; e++)
        ucol[e] = h->epoch[e].n_clipped;
    w_dset(w, g, "n_clipped", TSF_H5_UINT64, 1, E, 0, ucol);
    w_dset(w, g, "grad_flow", TSF_H5_FLOAT64, 2, E, T, h->grad_flow);
    w_dset(w, g, "step_norm", TSF_H5_FLOAT64, 1, h->n_steps, 0, h->step_norm);
    w_dset(w, g, "step_clipped", TSF_H5_UINT8, 1, h->n_steps, 0, h->step_clipped);
    w_int(w, g, "lookback", (int64_t)T);
    w_int(w, g, "best_epoch", (int64_t)h->best_epoch);
    w_int(w, g, "stopped_early", h->stopped_early);
    w_int(w, g, "restored_best", h->restored_best);
    free(col);
    free(ucol);
}

static void write_train(h5w *w, tsf_rnn *m, const tsf__train_state *st, const tsf_train_config *cfg)
{
    const size_t P = tsf_rnn_n_params(m), T = tsf_rnn_config_of(m)->lookback;
    const char *g = "train";
    w_group(w, g);
    w_int(w, g, "epoch", (int64_t)st->epoch);
    w_int(w, g, "batch", (int64_t)st->batch);
    w_int(w, g, "complete", st->complete);
    w_int(w, g, "n_samples", (int64_t)st->n_samples);
    w_int(w, g, "batch_size", (int64_t)st->batch_size);
    w_sizes(w, g, "order", st->n_samples, st->order);
    w_str(w, g, "rng_type", gsl_rng_name(st->rng));
    w_dset(w, g, "rng_state", TSF_H5_UINT8, 1, gsl_rng_size(st->rng), 0, gsl_rng_state(st->rng));
    /* optimizer */
    w_str(w, g, "optimizer", tsf_optim_name(st->optim->cfg.kind));
    w_int(w, g, "optim_step", (int64_t)st->optim->step);
    if (st->optim->m)
        w_dset(w, g, "optim_m", REAL_H5, 1, P, 0, st->optim->m);
    if (st->optim->v)
        w_dset(w, g, "optim_v", REAL_H5, 1, P, 0, st->optim->v);
    /* schedule and early stopping */
    w_dbl(w, g, "sched_lr", st->sched.lr);
    w_dbl(w, g, "sched_best", st->sched.best);
    w_int(w, g, "sched_n_bad", (int64_t)st->sched.n_bad);
    w_int(w, g, "sched_cooldown_left", (int64_t)st->sched.cooldown_left);
    w_int(w, g, "sched_n_reductions", (int64_t)st->sched.n_reductions);
    w_dbl(w, g, "es_best", st->es.best);
    w_int(w, g, "es_best_epoch", (int64_t)st->es.best_epoch);
    w_int(w, g, "es_n_bad", (int64_t)st->es.n_bad);
    w_int(w, g, "es_stop", st->es.stop);
    w_int(w, g, "have_best", st->have_best);
    if (st->have_best && st->best)
        w_dset(w, g, "best_weights", REAL_H5, 1, P, 0, st->best);
    if (st->last)
        w_dset(w, g, "last_weights", REAL_H5, 1, P, 0, st->last);
    w_dbl(w, g, "last_val_loss", st->last_val);
    /* the epoch in progress */
    const tsf__epoch_acc *a = &st->acc;
    w_dbl(w, g, "acc_loss_sum", a->loss_sum);
    w_int(w, g, "acc_n_seen", (int64_t)a->n_seen);
    w_dbl(w, g, "acc_norm_sum", a->norm_sum);
    w_dbl(w, g, "acc_norm_max", a->norm_max);
    w_int(w, g, "acc_n_steps", (int64_t)a->n_steps);
    w_int(w, g, "acc_n_clipped", (int64_t)a->n_clipped);
    w_dbl(w, g, "acc_seconds", a->seconds);
    w_dbl(w, g, "acc_lr", a->lr);
    w_dset(w, g, "acc_grad_flow", TSF_H5_FLOAT64, 1, T, 0, a->flow);
    /* the options, for the record (a resume may change them: only the state above counts) */
    if (cfg) {
        w_int(w, g, "epochs", (int64_t)cfg->epochs);
        w_int(w, g, "seed", (int64_t)cfg->seed);
        w_int(w, g, "shuffle", cfg->shuffle);
        w_dbl(w, g, "lr", cfg->optim.lr);
        w_dbl(w, g, "momentum", cfg->optim.momentum);
        w_dbl(w, g, "beta1", cfg->optim.beta1);
        w_dbl(w, g, "beta2", cfg->optim.beta2);
        w_dbl(w, g, "eps", cfg->optim.eps);
        w_dbl(w, g, "weight_decay", cfg->optim.weight_decay);
        w_str(w, g, "schedule", tsf_sched_name(cfg->sched.kind));
        w_dbl(w, g, "gradient_clip_val", cfg->clip.val);
        w_str(w, g, "gradient_clip_algorithm", tsf_clip_name(cfg->clip.algorithm));
        w_int(w, g, "patience", (int64_t)cfg->patience);
        w_dbl(w, g, "min_delta", cfg->min_delta);
    }
}

int tsf__checkpoint_write(const char *path, tsf_rnn *m, const tsf_loss *loss,
                          const tsf_network_meta *meta, size_t n_meta, const tsf__train_state *st,
                          const tsf_train_history *hist, const tsf_train_config *cfg, tsf_err *err)
{
    h5w w = {NULL, path, err, TSF_OK};
    int rc = tsf_h5out_open_kind(&w.o, path, TSF_H5OUT_PLAIN, err);
    if (rc != TSF_OK)
        return rc;
    w_str(&w, "/", "tsflow_format", "tsflow model");
    w_int(&w, "/", "tsflow_format_version", TSF_NETWORK_FORMAT_VERSION);
    w_str(&w, "/", "tsflow_version", tsf_version());
    w_str(&w, "/", "tsflow_commit", tsf_git_commit());
    w_str(&w, "/", "real_type", TSF_REAL_NAME);
    write_model(&w, m, loss, tsf_rnn_params(m));
    write_meta(&w, meta, n_meta);
    if (st) {
        write_train(&w, m, st, cfg);
        if (hist)
            write_history(&w, hist);
    }
    if (w.rc) {
        tsf_h5out_abort(w.o);
        return w.rc;
    }
    /* Ctrl-C during training writes a checkpoint to resume from; a model file is an output. */
    if (st)
        tsf_h5out_commit_when_cancelled(w.o);
    return tsf_h5out_commit(w.o, err);
}

int tsf_network_save(tsf_rnn *m, const tsf_loss *loss, const tsf_network_meta *meta, size_t n_meta,
                     const char *path, tsf_err *err)
{
    tsf_loss point;
    if (!loss) {
        tsf_loss_init(&point, TSF_LOSS_MSE);
        loss = &point;
    }
    if (loss->n_quantiles != tsf_rnn_config_of(m)->n_quantiles)
        TSF_FAIL(err, TSF_EINVAL, "%s: the loss has %zu quantiles but the model forecasts %zu",
                 path, loss->n_quantiles, tsf_rnn_config_of(m)->n_quantiles);
    return tsf__checkpoint_write(path, m, loss, meta, n_meta, NULL, NULL, NULL, err);
}

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct h5r {
    const char *path;
    tsf_err *err;
    int rc;
} h5r;

static void r_missing(h5r *r, const char *obj, const char *what, const char *name)
{
    if (!r->rc)
        r->rc = tsf__h5_fail(r->err, TSF_EFORMAT,
                             "%s: %s has no readable %s \"%s\" (the file is damaged or was not "
                             "written by tsflow)",
                             r->path, obj, what, name);
}

static int r_has_attr(hid_t obj, const char *name)
{
    return H5Aexists(obj, name) > 0;
}

static int r_has_link(hid_t loc, const char *name)
{
    return H5Lexists(loc, name, H5P_DEFAULT) > 0;
}

/* Read attribute name of obj (n values of mem_type); the attribute must hold exactly n. */
static void r_attr(h5r *r, hid_t obj, const char *objname, const char *name, hid_t mem_type,
                   size_t n, void *v)
{
    if (r->rc)
        return;
    hid_t a = r_has_attr(obj, name) ? H5Aopen(obj, name, H5P_DEFAULT) : -1;
    hid_t sp = a < 0 ? -1 : H5Aget_space(a);
    hssize_t have = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
    if (a < 0 || have != (hssize_t)n || H5Aread(a, mem_type, v) < 0)
        r_missing(r, objname, "attribute", name);
    if (sp >= 0)
        H5Sclose(sp);
    if (a >= 0)
        H5Aclose(a);
}

static int64_t r_int(h5r *r, hid_t obj, const char *objname, const char *name)
{
    int64_t v = 0;
    r_attr(r, obj, objname, name, H5T_NATIVE_INT64, 1, &v);
    return v;
}

/* A count or size: must be >= 0. */
static size_t r_size(h5r *r, hid_t obj, const char *objname, const char *name)
{
    int64_t v = r_int(r, obj, objname, name);
    if (v < 0 && !r->rc)
        r->rc = tsf_err_set(r->err, TSF_EFORMAT, "%s: attribute \"%s\" of %s is negative (%lld)",
                            r->path, name, objname, (long long)v);
    return v < 0 ? 0 : (size_t)v;
}

static double r_dbl(h5r *r, hid_t obj, const char *objname, const char *name)
{
    double v = 0;
    r_attr(r, obj, objname, name, H5T_NATIVE_DOUBLE, 1, &v);
    return v;
}

/* A string attribute (variable or fixed length) into buf. */
static void r_str(h5r *r, hid_t obj, const char *objname, const char *name, char *buf, size_t n)
{
    buf[0] = '\0';
    if (r->rc)
        return;
    hid_t a = r_has_attr(obj, name) ? H5Aopen(obj, name, H5P_DEFAULT) : -1;
    hid_t ft = a < 0 ? -1 : H5Aget_type(a);
    int ok = 0;
    if (ft >= 0 && H5Tget_class(ft) == H5T_STRING) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_cset(mt, H5Tget_cset(ft)); /* HDF5 converts neither way between ASCII and UTF-8 */
        if (H5Tis_variable_str(ft) > 0) {
            char *s = NULL;
            if (H5Tset_size(mt, H5T_VARIABLE) >= 0 && H5Aread(a, mt, &s) >= 0 && s) {
                snprintf(buf, n, "%s", s);
                H5free_memory(s);
                ok = 1;
            }
        } else {
            size_t len = H5Tget_size(ft);
            char *s = calloc(len + 1, 1);
            if (s && H5Tset_size(mt, len + 1) >= 0 && H5Aread(a, mt, s) >= 0) {
                snprintf(buf, n, "%s", s);
                ok = 1;
            }
            free(s);
        }
        H5Tclose(mt);
    }
    if (!ok)
        r_missing(r, objname, "string attribute", name);
    if (ft >= 0)
        H5Tclose(ft);
    if (a >= 0)
        H5Aclose(a);
}

/* Read dataset name of loc, which must hold exactly n values, converted to mem_type. */
static void r_dset(h5r *r, hid_t loc, const char *locname, const char *name, hid_t mem_type,
                   size_t n, void *data)
{
    if (r->rc)
        return;
    hid_t d = r_has_link(loc, name) ? H5Dopen2(loc, name, H5P_DEFAULT) : -1;
    if (d < 0) {
        r_missing(r, locname, "dataset", name);
        return;
    }
    hid_t sp = H5Dget_space(d);
    hssize_t have = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
    if (have != (hssize_t)n) {
        r->rc = tsf_err_set(r->err, TSF_EFORMAT,
                            "%s: dataset \"%s\" in %s has %lld values, expected %zu", r->path, name,
                            locname, (long long)have, n);
    } else if (n > 0 && H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
        r->rc = tsf__h5_fail(r->err, TSF_EFORMAT, "%s: cannot read dataset \"%s\" in %s", r->path,
                             name, locname);
    }
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
}

/* Number of values in dataset name of loc, or -1. */
static hssize_t r_dset_size(hid_t loc, const char *name)
{
    if (!r_has_link(loc, name))
        return -1;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t sp = H5Dget_space(d);
    hssize_t n = sp < 0 ? -1 : H5Sget_simple_extent_npoints(sp);
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
    return n;
}

static void r_sizes(h5r *r, hid_t loc, const char *locname, const char *name, size_t n, size_t *v)
{
    if (r->rc)
        return;
    uint64_t *u = malloc((n ? n : 1) * sizeof *u);
    if (!u) {
        r->rc = tsf_err_set(r->err, TSF_ENOMEM, "%s: out of memory", r->path);
        return;
    }
    r_dset(r, loc, locname, name, H5T_NATIVE_UINT64, n, u);
    for (size_t i = 0; i < n && !r->rc; i++)
        v[i] = (size_t)u[i];
    free(u);
}

/* Open path for reading and check that it is a tsflow model file of our format version. */
static hid_t open_model_file(const char *path, tsf_err *err)
{
    int rc = tsf_init();
    if (rc) {
        tsf_err_set(err, rc, "%s: the HDF5 library could not be initialised", path);
        return -1;
    }
    if (access(path, R_OK) != 0) {
        tsf_err_set(err, TSF_EIO, "%s: cannot open the model file: %s", path, strerror(errno));
        return -1;
    }
    htri_t is_h5 = H5Fis_hdf5(path);
    if (is_h5 <= 0) {
        H5Eclear2(H5E_DEFAULT);
        tsf_err_set(err, TSF_EFORMAT, "%s: not a tsflow model file (expected an HDF5 file)", path);
        return -1;
    }
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        tsf__h5_fail(err, TSF_EIO, "%s: cannot open the HDF5 file", path);
        return -1;
    }
    if (!r_has_attr(file, "tsflow_format_version")) {
        H5Fclose(file);
        tsf_err_set(err, TSF_EFORMAT,
                    "%s: not a tsflow model file (the root group has no \"tsflow_format_version\" "
                    "attribute)",
                    path);
        return -1;
    }
    h5r r = {path, err, TSF_OK};
    int64_t version = r_int(&r, file, "the root group", "tsflow_format_version");
    char by[64] = "";
    if (!r.rc && r_has_attr(file, "tsflow_version"))
        r_str(&r, file, "the root group", "tsflow_version", by, sizeof by);
    if (!r.rc && version != TSF_NETWORK_FORMAT_VERSION)
        r.rc = tsf_err_set(err, TSF_EFORMAT,
                           "%s: model file format version %lld is not supported: this tsflow "
                           "(%s) reads version %d; retrain the model or use the tsflow that "
                           "wrote it (%s)",
                           path, (long long)version, tsf_version(), TSF_NETWORK_FORMAT_VERSION,
                           by[0] ? by : "unknown version");
    if (r.rc) {
        H5Fclose(file);
        return -1;
    }
    return file;
}

static void read_config(h5r *r, hid_t g, tsf_rnn_config *c, tsf_loss *loss)
{
    char buf[64];
    const char *obj = "/model";
    memset(c, 0, sizeof *c);
    r_str(r, g, obj, "cell", buf, sizeof buf);
    if (!r->rc) {
        tsf_err e = TSF_ERR_INIT;
        if (tsf_rnn_cell_parse(buf, &c->cell, &e))
            r->rc = tsf_err_set(r->err, TSF_EFORMAT, "%s: /model: %s", r->path, e.msg);
    }
    c->n_inputs = r_size(r, g, obj, "n_inputs");
    c->n_future = r_size(r, g, obj, "n_future");
    c->hidden = r_size(r, g, obj, "hidden");
    c->n_layers = r_size(r, g, obj, "n_layers");
    c->bidirectional = (int)r_int(r, g, obj, "bidirectional");
    c->dropout = r_dbl(r, g, obj, "dropout");
    c->lookback = r_size(r, g, obj, "lookback");
    c->horizon = r_size(r, g, obj, "horizon");
    c->n_outputs = r_size(r, g, obj, "n_outputs");
    c->n_quantiles = r_size(r, g, obj, "n_quantiles");
    r_str(r, g, obj, "head", buf, sizeof buf);
    if (!r->rc) {
        if (strcmp(buf, "direct") == 0)
            c->head = TSF_HEAD_DIRECT;
        else if (strcmp(buf, "recursive") == 0)
            c->head = TSF_HEAD_RECURSIVE;
        else
            r->rc = tsf_err_set(r->err, TSF_EFORMAT,
                                "%s: /model: unknown head \"%s\" (expected direct or recursive)",
                                r->path, buf);
    }
    c->bptt_steps = r_size(r, g, obj, "bptt_steps");
    /* files from before segment networks have neither: step-wise, no RevIN */
    c->segment = r_has_attr(g, "segment") ? r_size(r, g, obj, "segment") : 0;
    c->revin = r_has_attr(g, "revin") ? (int)r_int(r, g, obj, "revin") : 0;
    if (!loss)
        return;
    tsf_loss_init(loss, TSF_LOSS_MSE);
    r_str(r, g, obj, "loss", buf, sizeof buf);
    if (!r->rc && tsf_loss_parse(buf, &loss->kind) != 0)
        r->rc = tsf_err_set(r->err, TSF_EFORMAT, "%s: /model: unknown loss \"%s\"", r->path, buf);
    loss->delta = r_dbl(r, g, obj, "huber_delta");
    if (!r->rc && (c->n_quantiles < 1 || c->n_quantiles > TSF_MAX_QUANTILES))
        r->rc = tsf_err_set(r->err, TSF_EFORMAT, "%s: /model: %zu quantiles (at most %d)", r->path,
                            c->n_quantiles, TSF_MAX_QUANTILES);
    if (!r->rc) {
        loss->n_quantiles = c->n_quantiles;
        r_attr(r, g, obj, "quantiles", H5T_NATIVE_DOUBLE, c->n_quantiles, loss->quantiles);
    }
    if (!r->rc) {
        tsf_err e = TSF_ERR_INIT;
        if (tsf_loss_check(loss, &e))
            r->rc = tsf_err_set(r->err, TSF_EFORMAT, "%s: /model: %s", r->path, e.msg);
    }
}

/* Read every tensor of m from /model/weights into dst (P values laid out as m's params). */
static void read_weights(h5r *r, hid_t file, tsf_rnn *m, tsf_real *dst)
{
    if (r->rc)
        return;
    hid_t g = r_has_link(file, "model/weights") ? H5Gopen2(file, "model/weights", H5P_DEFAULT) : -1;
    if (g < 0) {
        r_missing(r, "/model", "group", "weights");
        return;
    }
    H5G_info_t info;
    if (H5Gget_info(g, &info) >= 0 && info.nlinks != tsf_rnn_n_tensors(m))
        r->rc = tsf_err_set(r->err, TSF_EFORMAT,
                            "%s: /model/weights holds %llu tensors, but a %s network with this "
                            "configuration has %zu",
                            r->path, (unsigned long long)info.nlinks,
                            tsf_rnn_cell_name(tsf_rnn_config_of(m)->cell), tsf_rnn_n_tensors(m));
    for (size_t k = 0; k < tsf_rnn_n_tensors(m) && !r->rc; k++) {
        size_t off, rows, cols;
        const char *name = tsf_rnn_tensor(m, k, &off, &rows, &cols);
        r_dset(r, g, "/model/weights", name, REAL_MEM, rows * cols, dst + off);
    }
    H5Gclose(g);
}

static void read_history(h5r *r, hid_t file, tsf_train_history *h)
{
    if (r->rc || !r_has_link(file, "history"))
        return;
    hid_t g = H5Gopen2(file, "history", H5P_DEFAULT);
    if (g < 0) {
        r_missing(r, "the root group", "group", "history");
        return;
    }
    const char *obj = "/history";
    hssize_t E = r_dset_size(g, "train_loss"), S = r_dset_size(g, "step_norm");
    size_t T = r_size(r, g, obj, "lookback");
    if (!r->rc && (E < 0 || S < 0))
        r_missing(r, obj, "dataset", E < 0 ? "train_loss" : "step_norm");
    tsf_train_history_clear(h);
    if (!r->rc) {
        tsf_err *err = r->err;
        int rc =
            tsf__history_reserve(h, T, (size_t)E ? (size_t)E : 1, (size_t)S ? (size_t)S : 1, err);
        if (rc)
            r->rc = rc;
    }
    double *col = r->rc ? NULL : malloc(((size_t)E ? (size_t)E : 1) * sizeof *col);
    uint64_t *ucol = r->rc ? NULL : malloc(((size_t)E ? (size_t)E : 1) * sizeof *ucol);
    if (!r->rc && (!col || !ucol))
        r->rc = tsf_err_set(r->err, TSF_ENOMEM, "%s: out of memory reading the history", r->path);
    if (!r->rc) {
        size_t ne = (size_t)E;
#define HIST_COL(field)                                                                            \
    do {                                                                                           \
        r_dset(r, g, obj, #field, H5T_NATIVE_DOUBLE, ne, col);                                     \
        for (size_t e = 0; e < ne && !r->rc; e++)                                                  \
            h->epoch[e].field = col[e];                                                            \
    } while (0)
        HIST_COL(train_loss);
        HIST_COL(val_loss);
        HIST_COL(lr);
        HIST_COL(grad_norm_mean);
        HIST_COL(grad_norm_max);
        HIST_COL(seconds);
#undef HIST_COL
        r_dset(r, g, obj, "n_steps", H5T_NATIVE_UINT64, ne, ucol);
        for (size_t e = 0; e < ne && !r->rc; e++)
            h->epoch[e].n_steps = (size_t)ucol[e];
        r_dset(r, g, obj, "n_clipped", H5T_NATIVE_UINT64, ne, ucol);
        for (size_t e = 0; e < ne && !r->rc; e++)
            h->epoch[e].n_clipped = (size_t)ucol[e];
        r_dset(r, g, obj, "grad_flow", H5T_NATIVE_DOUBLE, ne * T, h->grad_flow);
        r_dset(r, g, obj, "step_norm", H5T_NATIVE_DOUBLE, (size_t)S, h->step_norm);
        r_dset(r, g, obj, "step_clipped", H5T_NATIVE_UINT8, (size_t)S, h->step_clipped);
        h->best_epoch = r_size(r, g, obj, "best_epoch");
        h->stopped_early = (int)r_int(r, g, obj, "stopped_early");
        h->restored_best = (int)r_int(r, g, obj, "restored_best");
        if (!r->rc) {
            h->n_epochs = ne;
            h->n_steps = (size_t)S;
        }
    }
    free(col);
    free(ucol);
    H5Gclose(g);
}

static void free_meta(tsf_network_meta *meta, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)meta[i].name);
        free((double *)meta[i].values);
        free((char *)meta[i].text);
    }
    free(meta);
}

typedef struct meta_walk {
    h5r *r;
    hid_t g;
    tsf_network_meta *meta;
    size_t n, cap;
} meta_walk;

static herr_t read_one_meta(hid_t g, const char *name, const H5L_info_t *li, void *data)
{
    (void)li;
    meta_walk *mw = data;
    h5r *r = mw->r;
    if (mw->n == mw->cap) {
        size_t cap = mw->cap ? 2 * mw->cap : 8;
        tsf_network_meta *nm = realloc(mw->meta, cap * sizeof *nm);
        if (!nm) {
            r->rc = tsf_err_set(r->err, TSF_ENOMEM, "%s: out of memory reading /meta", r->path);
            return -1;
        }
        mw->meta = nm;
        mw->cap = cap;
    }
    tsf_network_meta *e = &mw->meta[mw->n];
    memset(e, 0, sizeof *e);
    hssize_t n = r_dset_size(g, name);
    if (n < 0) {
        r_missing(r, "/meta", "dataset", name);
        return -1;
    }
    e->name = tsf__strdup(name, r->err);
    double *v = malloc(((size_t)n ? (size_t)n : 1) * sizeof *v);
    if (!e->name || !v) {
        free((char *)e->name);
        free(v);
        r->rc = tsf_err_set(r->err, TSF_ENOMEM, "%s: out of memory reading /meta", r->path);
        return -1;
    }
    mw->n++;
    e->values = v;
    e->n_values = (size_t)n;
    r_dset(r, g, "/meta", name, H5T_NATIVE_DOUBLE, (size_t)n, v);
    if (n == 0) {
        free(v);
        e->values = NULL;
    }
    hid_t d = r->rc ? -1 : H5Dopen2(g, name, H5P_DEFAULT);
    if (d >= 0 && r_has_attr(d, "text")) {
        hid_t a = H5Aopen(d, "text", H5P_DEFAULT);
        hid_t ft = a < 0 ? -1 : H5Aget_type(a);
        if (ft >= 0 && H5Tis_variable_str(ft) > 0) {
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_cset(mt, H5Tget_cset(ft));
            char *s = NULL;
            if (H5Tset_size(mt, H5T_VARIABLE) >= 0 && H5Aread(a, mt, &s) >= 0 && s) {
                e->text = tsf__strdup(s, r->err);
                H5free_memory(s);
                if (!e->text)
                    r->rc = TSF_ENOMEM;
            } else {
                r_missing(r, name, "string attribute", "text");
            }
            H5Tclose(mt);
        } else {
            r_missing(r, name, "string attribute", "text");
        }
        if (ft >= 0)
            H5Tclose(ft);
        if (a >= 0)
            H5Aclose(a);
    }
    if (d >= 0)
        H5Dclose(d);
    return r->rc ? -1 : 0;
}

static void read_meta(h5r *r, hid_t file, tsf_network_info *info)
{
    if (r->rc || !r_has_link(file, "meta"))
        return;
    hid_t g = H5Gopen2(file, "meta", H5P_DEFAULT);
    if (g < 0) {
        r_missing(r, "the root group", "group", "meta");
        return;
    }
    meta_walk mw = {r, g, NULL, 0, 0};
    hsize_t idx = 0;
    if (H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, read_one_meta, &mw) < 0 && !r->rc)
        r->rc = tsf__h5_fail(r->err, TSF_EFORMAT, "%s: cannot list /meta", r->path);
    H5Gclose(g);
    if (r->rc) {
        free_meta(mw.meta, mw.n);
        return;
    }
    info->meta = mw.meta;
    info->n_meta = mw.n;
}

static int model_load(tsf_rnn **out, const char *path, size_t max_batch, tsf_network_info *info,
                      tsf_err *err)
{
    *out = NULL;
    if (info)
        memset(info, 0, sizeof *info);
    hid_t file = open_model_file(path, err);
    if (file < 0)
        return err ? err->code : TSF_EFORMAT;
    h5r r = {path, err, TSF_OK};
    tsf_rnn_config c;
    tsf_loss loss;
    tsf_rnn *m = NULL;
    hid_t g = r_has_link(file, "model") ? H5Gopen2(file, "model", H5P_DEFAULT) : -1;
    if (g < 0)
        r_missing(&r, "the root group", "group", "model");
    read_config(&r, g, &c, &loss);
    if (g >= 0)
        H5Gclose(g);
    if (!r.rc) {
        tsf_err e = TSF_ERR_INIT;
        if (tsf_rnn_alloc(&m, &c, max_batch, &e))
            r.rc = tsf_err_set(err, e.code == TSF_ENOMEM ? TSF_ENOMEM : TSF_EFORMAT,
                               "%s: the stored model configuration is not valid: %s", path, e.msg);
    }
    read_weights(&r, file, m, m ? tsf_rnn_params(m) : NULL);
    if (info && !r.rc) {
        info->config = c;
        info->loss = loss;
        info->format_version = TSF_NETWORK_FORMAT_VERSION;
        r_str(&r, file, "the root group", "tsflow_version", info->tsflow_version,
              sizeof info->tsflow_version);
        read_meta(&r, file, info);
        if (!r.rc && r_has_link(file, "train")) {
            hid_t t = H5Gopen2(file, "train", H5P_DEFAULT);
            info->has_train_state = 1;
            info->epochs_done = r_size(&r, t, "/train", "epoch");
            info->batches_done = r_size(&r, t, "/train", "batch");
            info->complete = (int)r_int(&r, t, "/train", "complete");
            if (t >= 0)
                H5Gclose(t);
        }
        read_history(&r, file, &info->history);
    }
    H5Fclose(file);
    if (r.rc) {
        tsf_rnn_free(m);
        tsf_network_info_clear(info);
        return r.rc;
    }
    *out = m;
    return TSF_OK;
}

void tsf_network_info_clear(tsf_network_info *info)
{
    if (!info)
        return;
    free_meta(info->meta, info->n_meta);
    tsf_train_history_clear(&info->history);
    memset(info, 0, sizeof *info);
}

const tsf_network_meta *tsf_network_info_meta(const tsf_network_info *info, const char *name)
{
    for (size_t i = 0; info && i < info->n_meta; i++)
        if (strcmp(info->meta[i].name, name) == 0)
            return &info->meta[i];
    return NULL;
}

/* ---- resuming --------------------------------------------------------------------------- */

/* The first field in which two configurations differ, as "hidden 32 in the file, 64 here". */
static int config_diff(const tsf_rnn_config *a, const tsf_rnn_config *b, char *buf, size_t n)
{
    if (a->cell != b->cell) {
        snprintf(buf, n, "cell %s in the file, %s here", tsf_rnn_cell_name(a->cell),
                 tsf_rnn_cell_name(b->cell));
        return 1;
    }
    const struct {
        const char *name;
        size_t fa, fb;
    } f[] = {
        {"n_inputs", a->n_inputs, b->n_inputs},
        {"n_future", a->n_future, b->n_future},
        {"hidden", a->hidden, b->hidden},
        {"n_layers", a->n_layers, b->n_layers},
        {"bidirectional", (size_t)a->bidirectional, (size_t)b->bidirectional},
        {"lookback", a->lookback, b->lookback},
        {"horizon", a->horizon, b->horizon},
        {"n_outputs", a->n_outputs, b->n_outputs},
        {"n_quantiles", a->n_quantiles, b->n_quantiles},
        {"head", (size_t)a->head, (size_t)b->head},
        {"bptt_steps", a->bptt_steps, b->bptt_steps},
        {"segment", a->segment, b->segment},
        {"revin", (size_t)a->revin, (size_t)b->revin},
    };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if (f[i].fa != f[i].fb) {
            snprintf(buf, n, "%s %zu in the file, %zu here", f[i].name, f[i].fa, f[i].fb);
            return 1;
        }
    if (a->dropout != b->dropout) {
        snprintf(buf, n, "dropout %g in the file, %g here", a->dropout, b->dropout);
        return 1;
    }
    return 0;
}

/* The checkpoint must hold the network m is: the same configuration. */
static void check_same_network(h5r *r, hid_t file, tsf_rnn *m)
{
    char buf[256];
    tsf_rnn_config c;
    hid_t g = r_has_link(file, "model") ? H5Gopen2(file, "model", H5P_DEFAULT) : -1;
    if (g < 0)
        r_missing(r, "the root group", "group", "model");
    read_config(r, g, &c, NULL);
    if (!r->rc && config_diff(&c, tsf_rnn_config_of(m), buf, sizeof buf))
        r->rc =
            tsf_err_set(r->err, TSF_EINVAL,
                        "%s: cannot resume: the checkpoint is of another model (%s)", r->path, buf);
    if (g >= 0)
        H5Gclose(g);
}

/* Open /train, which a model saved for forecasting only does not have. */
static hid_t open_train_state(h5r *r, hid_t file)
{
    if (!r->rc && !r_has_link(file, "train"))
        r->rc = tsf_err_set(r->err, TSF_EINVAL,
                            "%s: cannot resume: this model file holds no training state (it was "
                            "saved for forecasting only); train afresh or resume from a "
                            "checkpoint",
                            r->path);
    hid_t t = r->rc ? -1 : H5Gopen2(file, "train", H5P_DEFAULT);
    if (!r->rc && t < 0)
        r_missing(r, "the root group", "group", "train");
    return t;
}

/* The checkpoint's run must be this one: the same samples, batch size, optimizer and kind of
 * random number generator. */
static void check_same_run(h5r *r, hid_t t, const tsf__train_state *st)
{
    const char *obj = "/train";
    char buf[256];
    size_t n_samples = r_size(r, t, obj, "n_samples"), bs = r_size(r, t, obj, "batch_size");
    if (!r->rc && n_samples != st->n_samples)
        r->rc = tsf_err_set(r->err, TSF_EINVAL,
                            "%s: cannot resume: the checkpoint was trained on %zu samples, this "
                            "run has %zu (the data or the windows differ)",
                            r->path, n_samples, st->n_samples);
    if (!r->rc && bs != st->batch_size)
        r->rc = tsf_err_set(r->err, TSF_EINVAL,
                            "%s: cannot resume: the checkpoint used batch_size %zu, this run %zu",
                            r->path, bs, st->batch_size);
    r_str(r, t, obj, "optimizer", buf, sizeof buf);
    if (!r->rc && strcmp(buf, tsf_optim_name(st->optim->cfg.kind)) != 0)
        r->rc = tsf_err_set(r->err, TSF_EINVAL,
                            "%s: cannot resume: the checkpoint's optimizer is %s, this run's %s",
                            r->path, buf, tsf_optim_name(st->optim->cfg.kind));
    r_str(r, t, obj, "rng_type", buf, sizeof buf);
    if (!r->rc && (strcmp(buf, gsl_rng_name(st->rng)) != 0 ||
                   r_dset_size(t, "rng_state") != (hssize_t)gsl_rng_size(st->rng)))
        r->rc = tsf_err_set(r->err, TSF_EFORMAT,
                            "%s: cannot resume: the random number generator state is of another "
                            "kind (%s) or size",
                            r->path, buf);
}

/* The optimizer's moments, the epoch's sample order, the RNG state and the cursor (epoch,
 * batch, complete); returns the optimizer's step count, set only once everything is read. */
static int64_t read_progress(h5r *r, hid_t t, tsf__train_state *st, size_t P)
{
    const char *obj = "/train";
    int64_t step = r_int(r, t, obj, "optim_step");
    if (st->optim->m)
        r_dset(r, t, obj, "optim_m", REAL_MEM, P, st->optim->m);
    if (st->optim->v)
        r_dset(r, t, obj, "optim_v", REAL_MEM, P, st->optim->v);
    r_sizes(r, t, obj, "order", st->n_samples, st->order);
    for (size_t k = 0; k < st->n_samples && !r->rc; k++)
        if (st->order[k] >= st->n_samples)
            r->rc = tsf_err_set(r->err, TSF_EFORMAT, "%s: /train/order holds sample %zu of %zu",
                                r->path, st->order[k], st->n_samples);
    if (!r->rc)
        r_dset(r, t, obj, "rng_state", H5T_NATIVE_UINT8, gsl_rng_size(st->rng),
               gsl_rng_state(st->rng));
    st->epoch = r_size(r, t, obj, "epoch");
    st->batch = r_size(r, t, obj, "batch");
    st->complete = (int)r_int(r, t, obj, "complete");
    return step;
}

/* The learning-rate schedule, early stopping (with the best weights) and the last validation
 * loss. */
static void read_schedule(h5r *r, hid_t t, tsf__train_state *st, size_t P)
{
    const char *obj = "/train";
    st->sched.lr = r_dbl(r, t, obj, "sched_lr");
    st->sched.best = r_dbl(r, t, obj, "sched_best");
    st->sched.n_bad = r_size(r, t, obj, "sched_n_bad");
    st->sched.cooldown_left = r_size(r, t, obj, "sched_cooldown_left");
    st->sched.n_reductions = r_size(r, t, obj, "sched_n_reductions");
    st->es.best = r_dbl(r, t, obj, "es_best");
    st->es.best_epoch = r_size(r, t, obj, "es_best_epoch");
    st->es.n_bad = r_size(r, t, obj, "es_n_bad");
    st->es.stop = (int)r_int(r, t, obj, "es_stop");
    st->have_best = (int)r_int(r, t, obj, "have_best");
    if (st->have_best && st->best && !r->rc)
        r_dset(r, t, obj, "best_weights", REAL_MEM, P, st->best);
    else
        st->have_best = 0;
    st->last_val = r_dbl(r, t, obj, "last_val_loss");
}

/* What the epoch in progress has accumulated (T gradient-flow values). */
static void read_epoch_acc(h5r *r, hid_t t, tsf__epoch_acc *a, size_t T)
{
    const char *obj = "/train";
    a->loss_sum = r_dbl(r, t, obj, "acc_loss_sum");
    a->n_seen = r_size(r, t, obj, "acc_n_seen");
    a->norm_sum = r_dbl(r, t, obj, "acc_norm_sum");
    a->norm_max = r_dbl(r, t, obj, "acc_norm_max");
    a->n_steps = r_size(r, t, obj, "acc_n_steps");
    a->n_clipped = r_size(r, t, obj, "acc_n_clipped");
    a->seconds = r_dbl(r, t, obj, "acc_seconds");
    a->lr = r_dbl(r, t, obj, "acc_lr");
    r_dset(r, t, obj, "acc_grad_flow", H5T_NATIVE_DOUBLE, T, a->flow);
}

/* The weights and the optimizer's step count are set only once everything was read; the rest
 * of st is read in place. */
static int checkpoint_resume(const char *path, tsf_rnn *m, tsf__train_state *st,
                             tsf_train_history *hist, tsf_err *err)
{
    hid_t file = open_model_file(path, err);
    if (file < 0)
        return err ? err->code : TSF_EFORMAT;
    h5r r = {path, err, TSF_OK};
    const size_t P = tsf_rnn_n_params(m), T = tsf_rnn_config_of(m)->lookback;
    check_same_network(&r, file, m);
    hid_t t = open_train_state(&r, file);
    check_same_run(&r, t, st);
    /* weights: the last ones when early stopping had restored the best */
    tsf_real *tmp = r.rc ? NULL : malloc((P ? P : 1) * sizeof *tmp);
    if (!r.rc && !tmp)
        r.rc = tsf_err_set(err, TSF_ENOMEM, "%s: out of memory", path);
    int has_last = !r.rc && r_has_link(t, "last_weights");
    if (has_last)
        r_dset(&r, t, "/train", "last_weights", REAL_MEM, P, tmp);
    else
        read_weights(&r, file, m, tmp);
    int64_t step = read_progress(&r, t, st, P);
    read_schedule(&r, t, st, P);
    read_epoch_acc(&r, t, &st->acc, T);
    if (!r.rc && st->batch > 0 && st->batch * st->batch_size >= st->n_samples)
        r.rc = tsf_err_set(err, TSF_EFORMAT, "%s: /train: batch cursor %zu is past the epoch's end",
                           path, st->batch);
    if (!r.rc) {
        tsf_train_history_clear(hist);
        read_history(&r, file, hist);
        if (!r.rc && !r_has_link(file, "history"))
            r_missing(&r, "the root group", "group", "history");
    }
    if (!r.rc) {
        st->optim->step = (uint64_t)step;
        memcpy(tsf_rnn_params(m), tmp, P * sizeof *tmp);
        if (has_last)
            hist->restored_best = 0; /* the model holds the last weights again */
    }
    free(tmp);
    if (t >= 0)
        H5Gclose(t);
    H5Fclose(file);
    return r.rc;
}

/* The two readers of model files, with the file recorded for a crash inside libhdf5. */
int tsf_network_load(tsf_rnn **out, const char *path, size_t max_batch, tsf_network_info *info,
                     tsf_err *err)
{
    const char *parsing = tsf_hdf5_parsing_set(path);
    int rc = model_load(out, path, max_batch, info, err);
    tsf_hdf5_parsing_set(parsing);
    return rc;
}

int tsf__checkpoint_resume(const char *path, tsf_rnn *m, tsf__train_state *st,
                           tsf_train_history *hist, tsf_err *err)
{
    const char *parsing = tsf_hdf5_parsing_set(path);
    int rc = checkpoint_resume(path, m, st, hist, err);
    tsf_hdf5_parsing_set(parsing);
    return rc;
}
