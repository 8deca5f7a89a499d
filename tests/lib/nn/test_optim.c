/* Losses, gradient clipping, optimizers, schedules and early stopping (float build): values
 * computed by hand and by PyTorch, errors with their messages. The central-difference checks
 * of the loss gradients are in test_optim_double.c (double build). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "tsflow/optim.h"

/* ---- losses ---------------------------------------------------------------------------- */

static void check_loss(tsf_loss_kind kind, const float *yhat, const float *y, size_t n, double want,
                       const float *want_grad)
{
    tsf_loss loss;
    tsf_loss_init(&loss, kind);
    float g[16];
    double v = tsf_loss_eval(&loss, n, yhat, y, g);
    cr_assert_float_eq(v, want, 1e-12, "%s: loss %.17g, expected %.17g", tsf_loss_name(kind), v,
                       want);
    tsft_assert_close_f(g, want_grad, n, 1e-7, 0, tsf_loss_name(kind));
}

Test(loss, mse_mae_and_huber_match_hand_computed_values_and_gradients)
{
    /* d = yhat - y = (1, 0, -2). */
    const float yhat[] = {1, 2, 3}, y[] = {0, 2, 5};
    /* MSE: (1 + 0 + 4) / 3; gradient 2 d / 3. */
    check_loss(TSF_LOSS_MSE, yhat, y, 3, 5.0 / 3, (const float[]){2.0f / 3, 0, -4.0f / 3});
    /* MAE: (1 + 0 + 2) / 3; gradient sign(d) / 3, 0 where d = 0 (as torch.nn.L1Loss). */
    check_loss(TSF_LOSS_MAE, yhat, y, 3, 1.0, (const float[]){1.0f / 3, 0, -1.0f / 3});
    /* Huber, delta 1: |1| is on the boundary: 1 (1 - 0.5) = 0.5; 0; 1 (2 - 0.5) = 1.5. */
    check_loss(TSF_LOSS_HUBER, yhat, y, 3, 2.0 / 3, (const float[]){1.0f / 3, 0, -1.0f / 3});
}

Test(loss, huber_is_quadratic_inside_delta_and_linear_outside)
{
    tsf_loss loss;
    tsf_loss_init(&loss, TSF_LOSS_HUBER);
    loss.delta = 2;
    const float yhat[] = {0.5f, -3}, y[] = {0, 0};
    float g[2];
    /* 0.5 * 0.25 = 0.125 and 2 (3 - 1) = 4: mean 2.0625; gradients 0.5 / 2 and -2 / 2. */
    double v = tsf_loss_eval(&loss, 2, yhat, y, g);
    cr_assert_float_eq(v, 2.0625, 1e-12);
    cr_assert_float_eq(g[0], 0.25f, 1e-7);
    cr_assert_float_eq(g[1], -1.0f, 1e-7);
}

Test(loss, pinball_sums_quantiles_and_averages_targets)
{
    tsf_loss loss;
    tsf_err err = TSF_ERR_INIT;
    const double q[] = {0.1, 0.5, 0.9};
    cr_assert_eq(tsf_loss_init_pinball(&loss, q, 3, &err), TSF_OK, "%s", err.msg);
    /* Two targets, three quantiles each (quantile innermost). Target 0: y = 1, forecasts
     * (0, 1, 3): e = y - yhat = (1, 0, -2) costs 0.1 * 1, 0, (0.9 - 1) * -2 = 0.3. Target 1:
     * y = 0, forecasts (-1, 0.5, 0.5): e = (1, -0.5, -0.5) costs 0.1, 0.25, 0.05 = 0.4. */
    const float yhat[] = {0, 1, 3, -1, 0.5f, 0.5f}, y[] = {1, 0};
    float g[6];
    double v = tsf_loss_eval(&loss, 2, yhat, y, g);
    cr_assert_float_eq(v, (0.3 + 0.4) / 2, 1e-12, "pinball %.17g", v);
    /* Gradient per element: -q when under (e > 0), 1 - q when over, 0.5 - q at e == 0; / n. */
    const float want[] = {-0.05f, 0.0f, 0.05f, -0.05f, 0.25f, 0.05f};
    tsft_assert_close_f(g, want, 6, 1e-6, 1e-9, "pinball gradient");
}

Test(loss, pinball_at_the_median_is_half_the_absolute_error)
{
    tsf_loss pin, mae;
    cr_assert_eq(tsf_loss_init_pinball(&pin, (const double[]){0.5}, 1, NULL), TSF_OK);
    tsf_loss_init(&mae, TSF_LOSS_MAE);
    const float yhat[] = {0.3f, -2, 5, 1}, y[] = {1, 1, 1, 1};
    float gp[4], gm[4];
    double vp = tsf_loss_eval(&pin, 4, yhat, y, gp), vm = tsf_loss_eval(&mae, 4, yhat, y, gm);
    cr_assert_float_eq(vp, 0.5 * vm, 1e-12);
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(gp[i], 0.5f * gm[i], 1e-8, "element %d", i);
}

Test(loss, nan_in_the_forecast_gives_a_nan_loss_and_gradient)
{
    for (int k = 0; k <= TSF_LOSS_PINBALL; k++) {
        tsf_loss loss;
        tsf_loss_init(&loss, (tsf_loss_kind)k);
        const float yhat[] = {1, NAN}, y[] = {0, 0};
        float g[2];
        cr_assert(isnan(tsf_loss_eval(&loss, 2, yhat, y, g)), "%s", tsf_loss_name(loss.kind));
        cr_assert(isnan(g[1]), "%s gradient", tsf_loss_name(loss.kind));
        cr_assert(isfinite(g[0]));
    }
}

Test(loss, point_losses_match_pytorch)
{
    tsft_need_python_modules("torch");
    /* Deterministic data: yhat_i = sin(1.3 i) * 2, y_i = cos(0.7 i). */
    enum { N = 37 };
    float yhat[N], y[N];
    for (int i = 0; i < N; i++) {
        yhat[i] = (float)(sin(1.3 * i) * 2);
        y[i] = (float)cos(0.7 * i);
    }
    const char *code =
        "import math, torch\n"
        "N = 37\n"
        "yh = torch.tensor([math.sin(1.3 * i) * 2 for i in range(N)], dtype=torch.float32,"
        " requires_grad=True)\n"
        "y = torch.tensor([math.cos(0.7 * i) for i in range(N)], dtype=torch.float32)\n"
        "for f in (torch.nn.MSELoss(), torch.nn.L1Loss(), torch.nn.HuberLoss(delta=0.75)):\n"
        "    yh.grad = None\n"
        "    l = f(yh, y); l.backward()\n"
        "    print(repr(l.item()), *[repr(v) for v in yh.grad.tolist()])\n";
    char *out = NULL, *errs = NULL;
    cr_assert_eq(tsft_python(code, &out, &errs, NULL), 0, "python: %s", errs);
    const tsf_loss_kind kinds[] = {TSF_LOSS_MSE, TSF_LOSS_MAE, TSF_LOSS_HUBER};
    char *p = out;
    for (int k = 0; k < 3; k++) {
        tsf_loss loss;
        tsf_loss_init(&loss, kinds[k]);
        loss.delta = 0.75;
        float g[N], want_g[N];
        double v = tsf_loss_eval(&loss, N, yhat, y, g);
        double want = strtod(p, &p);
        for (int i = 0; i < N; i++)
            want_g[i] = (float)strtod(p, &p);
        cr_assert_float_eq(v, want, 1e-6 * fabs(want), "%s: %.9g vs torch %.9g",
                           tsf_loss_name(kinds[k]), v, want);
        tsft_assert_close_f(g, want_g, N, 1e-6, 1e-9, tsf_loss_name(kinds[k]));
    }
    free(out);
    free(errs);
}

Test(loss, rejects_bad_quantiles_and_huber_delta_with_a_message)
{
    tsf_loss loss;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_loss_init_pinball(&loss, (const double[]){0.1, 1.5}, 2, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "loss pinball: quantile 1.5 is outside (0, 1) (expected levels such "
                              "as 0.1, 0.5, 0.9)");
    cr_assert_eq(tsf_loss_init_pinball(&loss, (const double[]){0.5, 0.1}, 2, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg,
                     "loss pinball: quantiles must be strictly increasing, but 0.1 follows 0.5");
    cr_assert_eq(tsf_loss_init_pinball(&loss, NULL, 0, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "loss pinball: 0 quantiles given, expected 1 to 16");
    tsf_loss_init(&loss, TSF_LOSS_HUBER);
    loss.delta = 0;
    cr_assert_eq(tsf_loss_check(&loss, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "loss huber: delta 0 must be a positive number");
}

Test(loss, names_round_trip_and_aliases_parse)
{
    tsf_loss_kind k;
    for (int i = 0; i <= TSF_LOSS_PINBALL; i++) {
        cr_assert_eq(tsf_loss_parse(tsf_loss_name((tsf_loss_kind)i), &k), 0);
        cr_assert_eq((int)k, i);
    }
    cr_assert_eq(tsf_loss_parse("quantile", &k), 0);
    cr_assert_eq(k, TSF_LOSS_PINBALL);
    cr_assert_eq(tsf_loss_parse("l1", &k), 0);
    cr_assert_eq(k, TSF_LOSS_MAE);
    cr_assert_eq(tsf_loss_parse("rmse", &k), -1);
}

/* ---- clipping -------------------------------------------------------------------------- */

Test(clip, norm_clipping_scales_to_exactly_the_threshold)
{
    /* ||(3, 4)|| = 5 > 2.5: scale 0.5, giving (1.5, 2) of norm 2.5 (KANN's kad_clip would give
     * norm 1). */
    float g[] = {3, 4};
    tsf_clip clip = {2.5, TSF_CLIP_NORM};
    int clipped = 0;
    double norm = tsf_clip_grads(&clip, g, 2, NULL, &clipped);
    cr_assert_eq(norm, 5.0);
    cr_assert_eq(clipped, 1);
    cr_assert_eq(g[0], 1.5f);
    cr_assert_eq(g[1], 2.0f);
    cr_assert_eq(tsf_grad_norm(g, 2), 2.5);
}

Test(clip, norm_clipping_of_many_gradients_gives_the_threshold_to_float_precision)
{
    enum { P = 1001 };
    float g[P];
    for (int i = 0; i < P; i++)
        g[i] = (float)(sin(0.37 * i) * 10);
    tsf_clip clip = {1.0, TSF_CLIP_NORM};
    double before = tsf_grad_norm(g, P);
    double norm = tsf_clip_grads(&clip, g, P, NULL, NULL);
    cr_assert_eq(norm, before);
    cr_assert_gt(norm, 100);
    cr_assert_float_eq(tsf_grad_norm(g, P), 1.0, 1e-6);
}

Test(clip, norm_clipping_below_the_threshold_changes_nothing)
{
    float g[] = {0.3f, 0.4f};
    tsf_clip clip = {1, TSF_CLIP_NORM};
    int clipped = 1;
    double scale = 0;
    double norm = tsf_clip_grads(&clip, g, 2, &scale, &clipped);
    cr_assert_float_eq(norm, 0.5, 1e-7);
    cr_assert_eq(clipped, 0);
    cr_assert_eq(scale, 1.0);
    cr_assert_eq(g[0], 0.3f);
    cr_assert_eq(g[1], 0.4f);
}

Test(clip, norm_clipping_with_a_scale_pointer_leaves_gradients_for_the_update)
{
    float g[] = {3, 4};
    tsf_clip clip = {1, TSF_CLIP_NORM};
    double scale = 0;
    int clipped = 0;
    cr_assert_eq(tsf_clip_grads(&clip, g, 2, &scale, &clipped), 5.0);
    cr_assert_eq(clipped, 1);
    cr_assert_eq(scale, 0.2);
    cr_assert_eq(g[0], 3.0f);
    cr_assert_eq(g[1], 4.0f);
}

Test(clip, value_clipping_clamps_each_element_and_returns_the_norm_before)
{
    float g[] = {3, -4, 0.5f, -1};
    tsf_clip clip = {1, TSF_CLIP_VALUE};
    int clipped = 0;
    double scale = 0;
    double norm = tsf_clip_grads(&clip, g, 4, &scale, &clipped);
    cr_assert_float_eq(norm, sqrt(9 + 16 + 0.25 + 1), 1e-12);
    cr_assert_eq(clipped, 1);
    cr_assert_eq(scale, 1.0);
    const float want[] = {1, -1, 0.5f, -1};
    cr_assert_arr_eq(g, want, sizeof want);
    /* Already inside the bounds (the -1 is on it): nothing changes. */
    cr_assert_float_eq(tsf_clip_grads(&clip, g, 4, NULL, &clipped), sqrt(3.25), 1e-7);
    cr_assert_eq(clipped, 0);
}

Test(clip, non_finite_gradients_return_a_non_finite_norm_and_are_not_touched)
{
    float g[] = {1e30f, NAN, 2};
    tsf_clip clip = {1, TSF_CLIP_VALUE};
    int clipped = 1;
    double norm = tsf_clip_grads(&clip, g, 3, NULL, &clipped);
    cr_assert(isnan(norm));
    cr_assert_eq(clipped, 0);
    cr_assert_eq(g[0], 1e30f);
    float h[] = {3e38f, 3e38f}; /* finite floats whose squares overflow float, not double */
    clip.algorithm = TSF_CLIP_NORM;
    norm = tsf_clip_grads(&clip, h, 2, NULL, &clipped);
    cr_assert(isfinite(norm));
    cr_assert_eq(clipped, 1);
    cr_assert_float_eq(tsf_grad_norm(h, 2), 1.0, 1e-6);
    float inf[] = {INFINITY, 0};
    cr_assert(isinf(tsf_clip_grads(&clip, inf, 2, NULL, &clipped)));
    cr_assert_eq(clipped, 0);
}

Test(clip, a_zero_threshold_turns_clipping_off)
{
    float g[] = {30, 40};
    tsf_clip clip = {0, TSF_CLIP_NORM};
    int clipped = 1;
    cr_assert_eq(tsf_clip_grads(&clip, g, 2, NULL, &clipped), 50.0);
    cr_assert_eq(clipped, 0);
    cr_assert_eq(g[1], 40.0f);
    cr_assert_eq(tsf_clip_grads(NULL, g, 2, NULL, &clipped), 50.0);
}

Test(clip, algorithm_names_parse)
{
    tsf_clip_algorithm a;
    cr_assert_eq(tsf_clip_parse("value", &a), 0);
    cr_assert_eq(a, TSF_CLIP_VALUE);
    cr_assert_eq(tsf_clip_parse("norm", &a), 0);
    cr_assert_eq(a, TSF_CLIP_NORM);
    cr_assert_eq(tsf_clip_parse("global", &a), -1);
    cr_assert_str_eq(tsf_clip_name(TSF_CLIP_VALUE), "value");
}

/* ---- optimizers ------------------------------------------------------------------------ */

static tsf_optim *make_optim(tsf_optim_kind kind, double lr, size_t P)
{
    tsf_optim_config c;
    tsf_optim_config_init(&c, kind);
    c.lr = lr;
    c.weight_decay = 0;
    tsf_optim *o = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_optim_alloc(&o, &c, P, &err), TSF_OK, "%s", err.msg);
    return o;
}

Test(optim, sgd_without_momentum_steps_against_the_gradient)
{
    tsf_optim *o = make_optim(TSF_OPTIM_SGD, 0.1, 2);
    float p[] = {1, -1}, g[] = {0.5f, -2};
    tsf_optim_step(o, p, g, 0.1, 1.0);
    cr_assert_float_eq(p[0], 0.95f, 1e-7);
    cr_assert_float_eq(p[1], -0.8f, 1e-7);
    cr_assert_null(o->m);
    cr_assert_eq(o->step, 1);
    tsf_optim_free(o);
}

Test(optim, sgd_momentum_and_nesterov_follow_pytorch_by_hand)
{
    tsf_optim_config c;
    tsf_optim_config_init(&c, TSF_OPTIM_SGD);
    c.momentum = 0.9;
    tsf_optim *o = NULL, *n = NULL;
    cr_assert_eq(tsf_optim_alloc(&o, &c, 1, NULL), TSF_OK);
    c.nesterov = 1;
    cr_assert_eq(tsf_optim_alloc(&n, &c, 1, NULL), TSF_OK);
    float p = 0, pn = 0, g = 1;
    /* Plain: b1 = g = 1, p = -0.1; b2 = 0.9 + 1 = 1.9, p = -0.29.
     * Nesterov: d = g + 0.9 b: 1.9 then 1 + 0.9 * 1.9 = 2.71: p = -0.19, -0.461. */
    tsf_optim_step(o, &p, &g, 0.1, 1);
    tsf_optim_step(n, &pn, &g, 0.1, 1);
    cr_assert_float_eq(p, -0.1f, 1e-7);
    cr_assert_float_eq(pn, -0.19f, 1e-7);
    tsf_optim_step(o, &p, &g, 0.1, 1);
    tsf_optim_step(n, &pn, &g, 0.1, 1);
    cr_assert_float_eq(p, -0.29f, 1e-7);
    cr_assert_float_eq(pn, -0.461f, 1e-7);
    tsf_optim_free(o);
    tsf_optim_free(n);
}

Test(optim, adam_first_step_moves_each_parameter_by_the_learning_rate)
{
    /* After one step m_hat = g and v_hat = g^2, so the update is lr g / (|g| + eps). */
    tsf_optim *o = make_optim(TSF_OPTIM_ADAM, 0.1, 3);
    float p[] = {1, 1, 1}, g[] = {2, -0.001f, 0};
    tsf_optim_step(o, p, g, 0.1, 1.0);
    cr_assert_float_eq(p[0], 0.9f, 1e-7);
    cr_assert_float_eq(p[1], 1.1f, 2e-6);
    cr_assert_eq(p[2], 1.0f);
    tsf_optim_free(o);
}

Test(optim, adamw_decays_weights_without_touching_the_moments)
{
    tsf_optim_config c;
    tsf_optim_config_init(&c, TSF_OPTIM_ADAMW);
    cr_assert_eq(c.weight_decay, 0.01); /* PyTorch's default */
    c.lr = 0.1;
    c.weight_decay = 0.5;
    tsf_optim *w = NULL, *a = NULL;
    cr_assert_eq(tsf_optim_alloc(&w, &c, 1, NULL), TSF_OK);
    c.kind = TSF_OPTIM_ADAM;
    cr_assert_eq(tsf_optim_alloc(&a, &c, 1, NULL), TSF_OK);
    float pw = 1, pa = 1, g = 0;
    /* AdamW: p *= 1 - 0.1 * 0.5 and the zero gradient moves nothing. Adam: the L2 term makes
     * g = 0.5 p, and its first step moves p by lr. */
    tsf_optim_step(w, &pw, &g, 0.1, 1);
    tsf_optim_step(a, &pa, &g, 0.1, 1);
    cr_assert_float_eq(pw, 0.95f, 1e-7);
    cr_assert_eq(w->m[0], 0.0f);
    cr_assert_float_eq(pa, 0.9f, 1e-7);
    tsf_optim_free(w);
    tsf_optim_free(a);
}

Test(optim, a_folded_clip_scale_gives_the_same_bits_as_clipping_in_place)
{
    enum { P = 257 };
    float g[P], p1[P], p2[P];
    for (int i = 0; i < P; i++) {
        g[i] = (float)(cos(0.11 * i) * 3);
        p1[i] = p2[i] = (float)sin(0.05 * i);
    }
    tsf_optim *o1 = make_optim(TSF_OPTIM_ADAM, 0.01, P), *o2 = make_optim(TSF_OPTIM_ADAM, 0.01, P);
    tsf_clip clip = {1, TSF_CLIP_NORM};
    for (int step = 0; step < 3; step++) {
        double scale;
        float gc[P];
        memcpy(gc, g, sizeof g);
        tsf_clip_grads(&clip, g, P, &scale, NULL);
        tsf_optim_step(o1, p1, g, 0.01, scale);
        tsf_clip_grads(&clip, gc, P, NULL, NULL);
        tsf_optim_step(o2, p2, gc, 0.01, 1.0);
    }
    cr_assert_arr_eq(p1, p2, sizeof p1);
    tsf_optim_free(o1);
    tsf_optim_free(o2);
}

/* The same gradient sequence through tsflow and torch.optim: g_t[i] = sin(0.3 (t + 1) (i + 1))
 * + 0.1 (i - 2), parameters start at p[i] = 0.5 - 0.2 i. */
enum { OP = 5, OSTEPS = 7 };

static void run_optim(const tsf_optim_config *c, float *p)
{
    tsf_optim *o = NULL;
    tsf_err err = TSF_ERR_INIT;
    cr_assert_eq(tsf_optim_alloc(&o, c, OP, &err), TSF_OK, "%s", err.msg);
    for (int i = 0; i < OP; i++)
        p[i] = (float)(0.5 - 0.2 * i);
    for (int t = 0; t < OSTEPS; t++) {
        float g[OP];
        for (int i = 0; i < OP; i++)
            g[i] = (float)(sin(0.3 * (t + 1) * (i + 1)) + 0.1 * (i - 2));
        tsf_optim_step(o, p, g, c->lr, 1.0);
    }
    cr_assert_eq(o->step, OSTEPS);
    tsf_optim_free(o);
}

Test(optim, sgd_adam_and_adamw_match_torch_optim_over_seven_steps)
{
    tsft_need_python_modules("torch");
    const char *code =
        "import math, torch\n"
        "P, S = 5, 7\n"
        "cases = [(torch.optim.SGD, dict(lr=0.05)),\n"
        "         (torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1, "
        "weight_decay=0.01)),\n"
        "         (torch.optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True)),\n"
        "         (torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, "
        "weight_decay=0.1)),\n"
        "         (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.2))]\n"
        "for cls, kw in cases:\n"
        "    p = torch.nn.Parameter(torch.tensor([0.5 - 0.2 * i for i in range(P)],"
        " dtype=torch.float32))\n"
        "    opt = cls([p], foreach=False, **kw)\n"
        "    for t in range(S):\n"
        "        p.grad = torch.tensor([math.sin(0.3 * (t + 1) * (i + 1)) + 0.1 * (i - 2)"
        " for i in range(P)], dtype=torch.float32)\n"
        "        opt.step()\n"
        "    print(*[repr(v) for v in p.tolist()])\n";
    char *out = NULL, *errs = NULL;
    cr_assert_eq(tsft_python(code, &out, &errs, NULL), 0, "python: %s", errs);
    tsf_optim_config c[5];
    tsf_optim_config_init(&c[0], TSF_OPTIM_SGD);
    c[0].lr = 0.05;
    tsf_optim_config_init(&c[1], TSF_OPTIM_SGD);
    c[1].lr = 0.05;
    c[1].momentum = 0.9;
    c[1].dampening = 0.1;
    c[1].weight_decay = 0.01;
    tsf_optim_config_init(&c[2], TSF_OPTIM_SGD);
    c[2].lr = 0.05;
    c[2].momentum = 0.8;
    c[2].nesterov = 1;
    tsf_optim_config_init(&c[3], TSF_OPTIM_ADAM);
    c[3].lr = 0.01;
    c[3].beta1 = 0.8;
    c[3].beta2 = 0.99;
    c[3].eps = 1e-6;
    c[3].weight_decay = 0.1;
    tsf_optim_config_init(&c[4], TSF_OPTIM_ADAMW);
    c[4].lr = 0.01;
    c[4].weight_decay = 0.2;
    char *s = out;
    for (int k = 0; k < 5; k++) {
        float p[OP], want[OP];
        run_optim(&c[k], p);
        for (int i = 0; i < OP; i++)
            want[i] = (float)strtod(s, &s);
        char what[64];
        snprintf(what, sizeof what, "case %d (%s)", k, tsf_optim_name(c[k].kind));
        tsft_assert_close_f(p, want, OP, 1e-6, 1e-7, what);
    }
    free(out);
    free(errs);
}

Test(optim, reset_zeroes_moments_and_step)
{
    tsf_optim *o = make_optim(TSF_OPTIM_ADAM, 0.1, 2);
    float p[] = {1, 2}, g[] = {1, 1};
    tsf_optim_step(o, p, g, 0.1, 1);
    cr_assert_neq(o->m[0], 0.0f);
    tsf_optim_reset(o);
    cr_assert_eq(o->step, 0);
    cr_assert_eq(o->m[0], 0.0f);
    cr_assert_eq(o->v[1], 0.0f);
    tsf_optim_free(o);
    tsf_optim_free(NULL);
}

Test(optim, rejects_out_of_range_settings_naming_the_field)
{
    tsf_optim_config c;
    tsf_optim *o = (tsf_optim *)&c;
    tsf_err err = TSF_ERR_INIT;
    tsf_optim_config_init(&c, TSF_OPTIM_ADAM);
    c.beta2 = 1.5;
    cr_assert_eq(tsf_optim_alloc(&o, &c, 4, &err), TSF_EINVAL);
    cr_assert_null(o);
    cr_assert_str_eq(err.msg, "optimizer adam: beta2 1.5 is outside [0, 1)");
    cr_assert_str_eq(err.field, "beta2");
    tsf_optim_config_init(&c, TSF_OPTIM_SGD);
    c.lr = -1;
    cr_assert_eq(tsf_optim_config_check(&c, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "optimizer sgd: lr -1 must be a positive number");
    c.lr = 0.1;
    c.nesterov = 1;
    cr_assert_eq(tsf_optim_config_check(&c, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "optimizer sgd: nesterov needs momentum > 0 and dampening 0 (got "
                              "momentum 0, dampening 0)");
    cr_assert_str_eq(err.field, "nesterov", "the failing field is known without the message");
    tsf_optim_kind k;
    cr_assert_eq(tsf_optim_parse("adamw", &k), 0);
    cr_assert_eq(k, TSF_OPTIM_ADAMW);
    cr_assert_eq(tsf_optim_parse("rmsprop", &k), -1);
}

/* ---- schedules ------------------------------------------------------------------------- */

Test(sched, constant_and_step_schedules_follow_the_epoch)
{
    tsf_sched_config c;
    tsf_sched s;
    tsf_sched_config_init(&c, TSF_SCHED_CONSTANT);
    tsf_sched_init(&s, &c, 0.3);
    cr_assert_eq(tsf_sched_lr(&s, 7, 70, 10, 20), 0.3);
    tsf_sched_config_init(&c, TSF_SCHED_STEP);
    c.step_size = 2;
    c.gamma = 0.5;
    tsf_sched_init(&s, &c, 1.0);
    const double want[] = {1, 1, 0.5, 0.5, 0.25, 0.25};
    for (size_t e = 0; e < 6; e++)
        cr_assert_eq(tsf_sched_lr(&s, e, e * 3 + 1, 3, 6), want[e], "epoch %zu", e);
}

Test(sched, cosine_warms_up_linearly_then_decays_to_min_lr)
{
    tsf_sched_config c;
    tsf_sched s;
    tsf_sched_config_init(&c, TSF_SCHED_COSINE);
    c.warmup = 1; /* one epoch of 4 updates, then 8 updates of cosine */
    c.min_lr = 0.1;
    tsf_sched_init(&s, &c, 1.1);
    const double eps = 1e-15;
    cr_assert_float_eq(tsf_sched_lr(&s, 0, 0, 4, 3), 1.1 * 0.25, eps);
    cr_assert_float_eq(tsf_sched_lr(&s, 0, 3, 4, 3), 1.1, eps);
    cr_assert_float_eq(tsf_sched_lr(&s, 1, 4, 4, 3), 1.1, eps);
    cr_assert_float_eq(tsf_sched_lr(&s, 2, 8, 4, 3), 0.1 + 0.5, eps);
    cr_assert_float_eq(tsf_sched_lr(&s, 2, 11, 4, 3), 0.1 + 0.5 * (1 + cos(M_PI * 7 / 8)), eps);
    cr_assert_float_eq(tsf_sched_lr(&s, 3, 12, 4, 3), 0.1, eps);
    cr_assert_float_eq(tsf_sched_lr(&s, 5, 20, 4, 3), 0.1, eps); /* past the end: min_lr */
}

Test(sched, plateau_matches_torch_reduce_lr_on_plateau)
{
    /* Sequence printed by torch.optim.lr_scheduler.ReduceLROnPlateau(factor=0.5, patience=2,
     * cooldown=1, min_lr=0.1) on SGD(lr=1) for these metrics (PyTorch 1.13). */
    const double metric[] = {1,   0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8,
                             0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8};
    const double want[] = {1.0, 1.0, 1.0,  1.0,  0.5,  0.5,  0.5,   0.5,  0.5,
                           0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125, 0.125};
    tsf_sched_config c;
    tsf_sched s;
    tsf_sched_config_init(&c, TSF_SCHED_PLATEAU);
    c.factor = 0.5;
    c.patience = 2;
    c.cooldown = 1;
    c.min_lr = 0.1;
    tsf_sched_init(&s, &c, 1.0);
    for (size_t e = 0; e < sizeof metric / sizeof *metric; e++) {
        tsf_sched_epoch_end(&s, metric[e]);
        cr_assert_eq(tsf_sched_lr(&s, e + 1, 0, 1, 20), want[e], "after epoch %zu: %g", e, s.lr);
    }
    /* The floor: two more reductions stop at min_lr 0.1. */
    for (int e = 0; e < 20; e++)
        tsf_sched_epoch_end(&s, 0.8);
    cr_assert_eq(s.lr, 0.1);
    cr_assert_eq(s.n_reductions, 4);
}

Test(sched, rejects_bad_settings_naming_the_schedule)
{
    tsf_sched_config c;
    tsf_err err = TSF_ERR_INIT;
    tsf_sched_config_init(&c, TSF_SCHED_PLATEAU);
    c.factor = 1;
    cr_assert_eq(tsf_sched_config_check(&c, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "schedule plateau: factor 1 is outside (0, 1)");
    tsf_sched_config_init(&c, TSF_SCHED_STEP);
    c.step_size = 0;
    cr_assert_eq(tsf_sched_config_check(&c, &err), TSF_EINVAL);
    cr_assert_str_eq(err.msg, "schedule step: step_size must be at least 1 epoch");
    tsf_sched_kind k;
    cr_assert_eq(tsf_sched_parse("cosine", &k), 0);
    cr_assert_eq(k, TSF_SCHED_COSINE);
    cr_assert_eq(tsf_sched_parse("linear", &k), -1);
}

/* ---- early stopping -------------------------------------------------------------------- */

Test(early_stop, stops_after_patience_epochs_without_improvement_and_keeps_the_best)
{
    const double val[] = {3, 2, 2.5, 2.1, 1.9, 2, 1.95, 2};
    const int new_best[] = {1, 1, 0, 0, 1, 0, 0, 0};
    tsf_early_stop es;
    tsf_early_stop_init(&es, 3, 0);
    for (size_t e = 0; e < 8; e++) {
        cr_assert_eq(es.stop, 0, "stopped before epoch %zu", e);
        cr_assert_eq(tsf_early_stop_update(&es, e, val[e]), new_best[e], "epoch %zu", e);
    }
    cr_assert_eq(es.stop, 1);
    cr_assert_eq(es.best_epoch, 4);
    cr_assert_eq(es.best, 1.9);
}

Test(early_stop, min_delta_and_nan_are_not_improvements)
{
    tsf_early_stop es;
    tsf_early_stop_init(&es, 2, 0.1);
    cr_assert_eq(tsf_early_stop_update(&es, 0, 1.0), 1);
    cr_assert_eq(tsf_early_stop_update(&es, 1, 0.95), 0);
    cr_assert_eq(tsf_early_stop_update(&es, 2, NAN), 0);
    cr_assert_eq(es.stop, 1);
    cr_assert_eq(es.best_epoch, 0);
}
