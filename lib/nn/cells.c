/* Per-step cell kernels (Elman RNN, LSTM, GRU): the elementwise part of a time step, fused into
 * one pass over the batch. The matrix products around them are BLAS calls in rnn.c.
 *
 * Speed: in the float build the gate nonlinearities are inline, branch-free single-precision
 * approximations (Cephes' expf and tanhf polynomials with fused multiply-adds: the sigmoid
 * within 2 ulp, tanh within 1.5; tests/lib/nn/test_rnn.c measures both), so the loops vectorize;
 * libm's expf/tanhf are scalar calls that cost more than the matrix products at these sizes.
 * GCC compiles the loops for AVX-512, AVX2 and baseline x86-64 and picks one at load time
 * (target_clones). Every lane computes exactly what the scalar code would (no reductions,
 * -std=c11 keeps floating-point contraction off, and the fused multiply-adds are explicit
 * fmaf calls), so results do not depend on the clone. The
 * double build, used only by the gradient checks, calls libm.
 */
#if defined(__GNUC__) && !defined(__clang__)
/* -O2 does not vectorize loops of unknown trip count; these are the hot loops. Without
 * no-trapping-math GCC will not if-convert the selects in exp_f and tanh_f (it moves a
 * division under them, which "could trap"); tsflow never reads the floating-point exception
 * flags, and every result stays IEEE-exact (PyTorch builds with -fno-trapping-math too). */
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math")
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(TSF_NN_DOUBLE)
#define TSF_SIMD __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TSF_SIMD
#endif
/* Row functions and the math inline into each clone, so they are compiled for its target. */
#if defined(__GNUC__)
#define TSF_INLINE static inline __attribute__((always_inline))
#else
#define TSF_INLINE static inline
#endif

#ifdef TSF_NN_DOUBLE

static inline double sigmoid(double x)
{
    return 1 / (1 + exp(-x));
}
#define TANH tanh

#else

/* e^x for x in [-87, 88] (clamped), Cephes expf: x = n ln2 + r, |r| <= ln2/2, a degree-6
 * polynomial for e^r, and 2^n built in the exponent bits. n is x log2(e) rounded to nearest
 * by adding and subtracting 1.5 * 2^23, which leaves n in the low mantissa bits of t. Written
 * with fused multiply-adds: one instruction each where the target has FMA (the AVX2 and
 * AVX-512 clones), libm's exactly rounded fmaf elsewhere, so every clone gives the same bits. */
TSF_INLINE float exp_f(float x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    float t = fmaf(x, 1.44269504088896341f, magic);
    float n = t - magic;
    float r = fmaf(n, -0.693359375f, x); /* ln2 in two parts */
    r = fmaf(n, 2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p, r * r, r) + 1.0f;
    uint32_t ti, mi; /* unsigned: wraps instead of overflowing when x is NaN */
    memcpy(&ti, &t, sizeof ti);
    memcpy(&mi, &magic, sizeof mi);
    uint32_t e = (ti - mi + 127u) << 23; /* n + 127 in the exponent field */
    float s;
    memcpy(&s, &e, sizeof s);
    return p * s;
}

/* Within 2 ulp of the exact logistic function. */
TSF_INLINE float sigmoid(float x)
{
    return 1.0f / (1.0f + exp_f(-x));
}

/* tanh: Cephes' odd polynomial below |x| = 0.625, else 1 - 2 / (e^2|x| + 1) with the sign;
 * within 1.5 ulp. (Eigen's rational approximation is twice as fast but 5 ulp off, which moves
 * small gradients of a two-layer bidirectional Elman network outside 1e-5 of PyTorch's.) */
TSF_INLINE float tanh_f(float x)
{
    float a = x < 0 ? -x : x, z = x * x;
    float p = -5.70498872745e-3f;
    p = fmaf(p, z, 2.06390887954e-2f);
    p = fmaf(p, z, -5.37397155531e-2f);
    p = fmaf(p, z, 1.33314422036e-1f);
    p = fmaf(p, z, -3.33332819422e-1f);
    float small = fmaf(p * z, x, x);
    float big = 1.0f - 2.0f / (exp_f(2.0f * a) + 1.0f);
    big = x < 0 ? -big : big;
    return a < 0.625f ? small : big;
}
#define TANH tanh_f

#endif

/* Each kernel is a loop over the batch calling a row function: restrict on the row
 * function's parameters is what tells the compiler that the gate rows (views into one
 * (B, G) array at offsets of H) do not overlap, so the row loops vectorize. */

TSF_INLINE void rnn_forward_row(tsf_real *restrict h, const tsf_real *restrict a,
                                const tsf_real *restrict bias, size_t H, int relu)
{
    if (relu) {
        // h = max(0, a + bias)
        for (size_t j = 0; j < H; j++) {
            tsf_real v = a[j] + bias[j];
            h[j] = v > 0 ? v : 0;
        }
    } else {
        // h = tanh(a + bias)
        for (size_t j = 0; j < H; j++)
            h[j] = TANH(a[j] + bias[j]);
    }
}

TSF_SIMD
void tsf__rnn_cell_forward(tsf_real *h, size_t ldh, const tsf_real *a, const tsf_real *bias,
                           size_t B, size_t H, int relu)
{
    for (size_t b = 0; b < B; b++)
        rnn_forward_row(h + b * ldh, a + b * H, bias, H, relu);
}

TSF_INLINE void rnn_backward_row(tsf_real *restrict da, const tsf_real *restrict dh,
                                 const tsf_real *restrict h, size_t H, int relu)
{
    if (relu) {
        // da = dh [h > 0]
        for (size_t j = 0; j < H; j++)
            da[j] = h[j] > 0 ? dh[j] : 0;
    } else {
        // da = dh (1 - h^2)
        for (size_t j = 0; j < H; j++)
            da[j] = dh[j] * (1 - h[j] * h[j]);
    }
}

TSF_SIMD
void tsf__rnn_cell_backward(tsf_real *da, const tsf_real *dh, const tsf_real *h, size_t ldh,
                            size_t B, size_t H, int relu)
{
    for (size_t b = 0; b < B; b++)
        rnn_backward_row(da + b * H, dh + b * H, h + b * ldh, H, relu);
}

TSF_INLINE void lstm_forward_row(tsf_real *restrict h, tsf_real *restrict c, tsf_real *restrict tc,
                                 tsf_real *restrict gi, tsf_real *restrict gf,
                                 tsf_real *restrict gg, tsf_real *restrict go,
                                 const tsf_real *restrict c_prev, const tsf_real *restrict bias,
                                 size_t H)
{
    const tsf_real *bi = bias, *bf = bias + H, *bg = bias + 2 * H, *bo = bias + 3 * H;
    for (size_t j = 0; j < H; j++) {
        // i = s(.)  f = s(.)  g = tanh(.)  o = s(.)  (pre-activations plus both biases)
        tsf_real i = sigmoid(gi[j] + bi[j]), f = sigmoid(gf[j] + bf[j]);
        tsf_real g = TANH(gg[j] + bg[j]), o = sigmoid(go[j] + bo[j]);
        // c = f * c_prev + i * g;  h = o * tanh(c)
        tsf_real cv = f * c_prev[j] + i * g, t = TANH(cv);
        gi[j] = i, gf[j] = f, gg[j] = g, go[j] = o;
        c[j] = cv, tc[j] = t, h[j] = o * t;
    }
}

TSF_SIMD
void tsf__lstm_cell_forward(tsf_real *h, size_t ldh, tsf_real *c, tsf_real *tc, tsf_real *g,
                            const tsf_real *c_prev, const tsf_real *bias, size_t B, size_t H)
{
    for (size_t b = 0; b < B; b++) {
        tsf_real *gb = g + b * 4 * H;
        lstm_forward_row(h + b * ldh, c + b * H, tc + b * H, gb, gb + H, gb + 2 * H, gb + 3 * H,
                         c_prev + b * H, bias, H);
    }
}

TSF_INLINE void lstm_backward_row(tsf_real *restrict di, tsf_real *restrict df,
                                  tsf_real *restrict dg, tsf_real *restrict dO,
                                  tsf_real *restrict dc, const tsf_real *restrict dh,
                                  const tsf_real *restrict gi, const tsf_real *restrict gf,
                                  const tsf_real *restrict gg, const tsf_real *restrict go,
                                  const tsf_real *restrict c_prev, const tsf_real *restrict tc,
                                  size_t H)
{
    for (size_t j = 0; j < H; j++) {
        tsf_real d = dh[j], t = tc[j], o = go[j], i = gi[j], f = gf[j], g = gg[j];
        // h = o tanh(c):  do = dh tanh(c),  dc += dh o (1 - tanh(c)^2)
        tsf_real dcv = dc[j] + d * o * (1 - t * t);
        // c = f c_prev + i g:  di = dc g, dg = dc i, df = dc c_prev, dc_prev = dc f
        // (each times its activation's derivative: s' = s (1 - s), tanh' = 1 - tanh^2)
        di[j] = dcv * g * i * (1 - i);
        df[j] = dcv * c_prev[j] * f * (1 - f);
        dg[j] = dcv * i * (1 - g * g);
        dO[j] = d * t * o * (1 - o);
        dc[j] = dcv * f;
    }
}

TSF_SIMD
void tsf__lstm_cell_backward(tsf_real *dg, tsf_real *dc, int dc_in_valid, const tsf_real *dh,
                             const tsf_real *g, const tsf_real *c_prev, const tsf_real *tc,
                             size_t B, size_t H)
{
    if (!dc_in_valid)
        memset(dc, 0, B * H * sizeof *dc);
    for (size_t b = 0; b < B; b++) {
        tsf_real *db = dg + b * 4 * H;
        const tsf_real *gb = g + b * 4 * H;
        lstm_backward_row(db, db + H, db + 2 * H, db + 3 * H, dc + b * H, dh + b * H, gb, gb + H,
                          gb + 2 * H, gb + 3 * H, c_prev + b * H, tc + b * H, H);
    }
}

TSF_INLINE void gru_forward_row(tsf_real *restrict h, tsf_real *restrict gr, tsf_real *restrict gz,
                                tsf_real *restrict gn, tsf_real *restrict hn,
                                const tsf_real *restrict hr, const tsf_real *restrict hz,
                                const tsf_real *restrict hnn, const tsf_real *restrict h_prev,
                                const tsf_real *restrict b_ih, const tsf_real *restrict b_hh,
                                size_t H)
{
    for (size_t j = 0; j < H; j++) {
        // r = s(x W_ir + b_ir + h W_hr + b_hr),  z likewise
        tsf_real r = sigmoid(gr[j] + b_ih[j] + (hr[j] + b_hh[j]));
        tsf_real z = sigmoid(gz[j] + b_ih[H + j] + (hz[j] + b_hh[H + j]));
        // n = tanh(x W_in + b_in + r (h W_hn + b_hn))
        tsf_real hv = hnn[j] + b_hh[2 * H + j];
        tsf_real n = TANH(gn[j] + b_ih[2 * H + j] + r * hv);
        // h = (1 - z) n + z h_prev
        h[j] = (1 - z) * n + z * h_prev[j];
        gr[j] = r, gz[j] = z, gn[j] = n, hn[j] = hv;
    }
}

TSF_SIMD
void tsf__gru_cell_forward(tsf_real *h, size_t ldh, tsf_real *g, tsf_real *hn, const tsf_real *hh,
                           const tsf_real *h_prev, size_t ldp, const tsf_real *b_ih,
                           const tsf_real *b_hh, size_t B, size_t H)
{
    for (size_t b = 0; b < B; b++) {
        tsf_real *gb = g + b * 3 * H;
        const tsf_real *hb = hh + b * 3 * H;
        gru_forward_row(h + b * ldh, gb, gb + H, gb + 2 * H, hn + b * H, hb, hb + H, hb + 2 * H,
                        h_prev + b * ldp, b_ih, b_hh, H);
    }
}

TSF_INLINE void gru_backward_row(tsf_real *restrict dr, tsf_real *restrict dz,
                                 tsf_real *restrict dn, tsf_real *restrict hr,
                                 tsf_real *restrict hz, tsf_real *restrict hnd,
                                 tsf_real *restrict dh, const tsf_real *restrict gr,
                                 const tsf_real *restrict gz, const tsf_real *restrict gn,
                                 const tsf_real *restrict hn, const tsf_real *restrict h_prev,
                                 size_t H)
{
    for (size_t j = 0; j < H; j++) {
        tsf_real d = dh[j], r = gr[j], z = gz[j], n = gn[j];
        // h = (1 - z) n + z h_prev:  dn = dh (1 - z),  dz = dh (h_prev - n)
        tsf_real dan = d * (1 - z) * (1 - n * n);
        tsf_real daz = d * (h_prev[j] - n) * z * (1 - z);
        // n = tanh(a_n), a_n = xn + r hn:  dr = da_n hn,  dhn = da_n r
        tsf_real dar = dan * hn[j] * r * (1 - r);
        dr[j] = dar, dz[j] = daz, dn[j] = dan;
        hr[j] = dar, hz[j] = daz, hnd[j] = dan * r;
        dh[j] = d * z; /* dh_prev, direct part */
    }
}

TSF_SIMD
void tsf__gru_cell_backward(tsf_real *dgi, tsf_real *dgh, tsf_real *dh, const tsf_real *g,
                            const tsf_real *hn, const tsf_real *h_prev, size_t ldp, size_t B,
                            size_t H)
{
    for (size_t b = 0; b < B; b++) {
        tsf_real *ib = dgi + b * 3 * H, *hb = dgh + b * 3 * H;
        const tsf_real *gb = g + b * 3 * H;
        gru_backward_row(ib, ib + H, ib + 2 * H, hb, hb + H, hb + 2 * H, dh + b * H, gb, gb + H,
                         gb + 2 * H, hn + b * H, h_prev + b * ldp, H);
    }
}
