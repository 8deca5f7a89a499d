/* Settings a fit chooses from its own data: see tsf_rnn_fit_choose in tsflow/rnn_forecaster.h
 * for the rules and why. */
#include <math.h>
#include <stdio.h>

#include "tsflow/rnn_forecaster.h"

void tsf_rnn_fit_choose(unsigned choose, size_t n_windows, size_t n_val, tsf_rnn_fit_choice *c)
{
    size_t n = n_windows ? n_windows : 1;
    size_t len = 0;
    if (choose & TSF_CHOOSE_HIDDEN) {
        double cap = sqrt(8.0 * (double)n);
        size_t h = 8;
        while (h * 2 <= cap && h < 64)
            h *= 2;
        c->hidden = h;
        len += (size_t)snprintf(c->why + len, sizeof c->why - len,
                                "hidden %zu (sqrt rule on %zu windows), ", h, n);
    }
    if (choose & TSF_CHOOSE_BATCH) {
        c->batch_size = n < 32 ? n : 32;
        len += (size_t)snprintf(c->why + len, sizeof c->why - len, "batch %zu, ", c->batch_size);
    }
    if (c->batch_size > n)
        c->batch_size = n;
    if (choose & TSF_CHOOSE_EPOCHS) {
        size_t per_epoch = (n + c->batch_size - 1) / c->batch_size;
        size_t e = (1000 + per_epoch - 1) / per_epoch;
        c->epochs = e < 30 ? 30 : e > 300 ? 300 : e;
        len += (size_t)snprintf(c->why + len, sizeof c->why - len, "epochs %zu (~1000 updates), ",
                                c->epochs);
    }
    if ((choose & TSF_CHOOSE_STOP) && n_val) {
        c->patience = c->epochs / 10 > 10 ? c->epochs / 10 : 10;
        len += (size_t)snprintf(c->why + len, sizeof c->why - len,
                                "early stopping after %zu epochs without progress on %zu "
                                "validation windows, ",
                                c->patience, n_val);
    } else if (choose & TSF_CHOOSE_STOP) {
        c->patience = 0;
        len += (size_t)snprintf(c->why + len, sizeof c->why - len,
                                "no early stopping (no validation windows), ");
    }
    if (len >= 2 && len < sizeof c->why)
        c->why[len - 2] = '\0';
}
