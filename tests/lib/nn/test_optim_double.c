/* Loss gradients against central differences, in the double build of the nn code
 * (compiled with -DTSF_NN_DOUBLE, linked with tsftest_nn_double). */
#include <math.h>
#include <stdio.h>

#include "support.h"
#include "tsflow/optim.h"

_Static_assert(sizeof(tsf_real) == sizeof(double), "this test needs the double build");

/* Central difference of tsf_loss_eval with respect to every yhat element, against the analytic
 * gradient, to 1e-6 relative (1e-9 absolute for zero gradients). The data keep every residual
 * away from the kinks (|d| = 0, |d| = delta), where the loss is not differentiable. */
static void gradcheck(const tsf_loss *loss, size_t n)
{
    const size_t Q = loss->n_quantiles;
    double yhat[64 * TSF_MAX_QUANTILES], y[64], g[64 * TSF_MAX_QUANTILES],
        num[64 * TSF_MAX_QUANTILES];
    cr_assert_leq(n, 64);
    for (size_t i = 0; i < n; i++) {
        y[i] = sin(0.9 * (double)i + 0.3);
        for (size_t k = 0; k < Q; k++) {
            double d = 1.7 * cos(1.1 * (double)(i * Q + k) + 0.2);
            /* keep away from 0 and from +-delta (Huber) by at least 0.05 */
            if (fabs(d) < 0.05)
                d = d < 0 ? -0.05 - fabs(d) : 0.05 + d;
            if (fabs(fabs(d) - loss->delta) < 0.05)
                d *= 1.1;
            yhat[i * Q + k] = y[i] + d;
        }
    }
    tsf_loss_eval(loss, n, yhat, y, g);
    const double h = 1e-6;
    for (size_t j = 0; j < n * Q; j++) {
        double keep = yhat[j];
        yhat[j] = keep + h;
        double up = tsf_loss_eval(loss, n, yhat, y, NULL);
        yhat[j] = keep - h;
        double down = tsf_loss_eval(loss, n, yhat, y, NULL);
        yhat[j] = keep;
        num[j] = (up - down) / (2 * h);
    }
    char what[64];
    snprintf(what, sizeof what, "d %s / d yhat", tsf_loss_name(loss->kind));
    tsft_assert_close(g, num, n * Q, 1e-6, 1e-9, what);
}

Test(loss_gradcheck, mse_gradient_matches_central_differences)
{
    tsf_loss loss;
    tsf_loss_init(&loss, TSF_LOSS_MSE);
    gradcheck(&loss, 40);
}

Test(loss_gradcheck, mae_gradient_matches_central_differences)
{
    tsf_loss loss;
    tsf_loss_init(&loss, TSF_LOSS_MAE);
    gradcheck(&loss, 40);
}

Test(loss_gradcheck, huber_gradient_matches_central_differences_on_both_sides_of_delta)
{
    tsf_loss loss;
    tsf_loss_init(&loss, TSF_LOSS_HUBER);
    loss.delta = 0.8; /* residuals span about +-1.7: both pieces are exercised */
    gradcheck(&loss, 40);
}

Test(loss_gradcheck, pinball_gradient_matches_central_differences_for_three_quantiles)
{
    tsf_loss loss;
    cr_assert_eq(tsf_loss_init_pinball(&loss, (const double[]){0.1, 0.5, 0.9}, 3, NULL), TSF_OK);
    loss.delta = 1e9; /* unused by pinball; keeps the kink filter above inert */
    gradcheck(&loss, 30);
}

Test(loss_gradcheck, clipping_in_double_reaches_the_threshold_to_double_precision)
{
    double g[100];
    for (int i = 0; i < 100; i++)
        g[i] = 3 * sin(0.7 * i);
    tsf_clip clip = {0.5, TSF_CLIP_NORM};
    int clipped = 0;
    double before = tsf_clip_grads(&clip, g, 100, NULL, &clipped);
    cr_assert(clipped);
    cr_assert_gt(before, 0.5);
    cr_assert_float_eq(tsf_grad_norm(g, 100), 0.5, 1e-15);
}
