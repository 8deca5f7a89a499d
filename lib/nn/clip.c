/* Gradient clipping by global norm (to exactly the threshold) and by value. */
#include <math.h>
#include <string.h>

#include "tsflow/optim.h"

double tsf_grad_norm(const tsf_real *g, size_t P)
{
    /* Four partial sums: independent dependency chains let the compiler pipeline the adds, and
     * the order is fixed, so the result is the same on every run. */
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= P; i += 4) {
        s0 += (double)g[i] * (double)g[i];
        s1 += (double)g[i + 1] * (double)g[i + 1];
        s2 += (double)g[i + 2] * (double)g[i + 2];
        s3 += (double)g[i + 3] * (double)g[i + 3];
    }
    for (; i < P; i++)
        s0 += (double)g[i] * (double)g[i];
    return sqrt((s0 + s1) + (s2 + s3));
}

double tsf_clip_grads(const tsf_clip *clip, tsf_real *g, size_t P, double *scale, int *clipped)
{
    double norm = tsf_grad_norm(g, P);
    int did = 0;
    if (scale)
        *scale = 1.0;
    if (clip && clip->val > 0 && isfinite(norm)) {
        if (clip->algorithm == TSF_CLIP_NORM) {
            if (norm > clip->val) {
                /* One norm, one scale: the clipped gradient has norm val (up to rounding), not
                 * 1 as KANN's kad_clip would make it. */
                double s = clip->val / norm;
                did = 1;
                if (scale) {
                    *scale = s;
                } else {
                    const tsf_real sr = (tsf_real)s;
                    for (size_t i = 0; i < P; i++)
                        g[i] *= sr;
                }
            }
        } else {
            const tsf_real hi = (tsf_real)clip->val, lo = -hi;
            for (size_t i = 0; i < P; i++) {
                if (g[i] > hi) {
                    g[i] = hi;
                    did = 1;
                } else if (g[i] < lo) {
                    g[i] = lo;
                    did = 1;
                }
            }
        }
    }
    if (clipped)
        *clipped = did;
    return norm;
}

const char *tsf_clip_name(tsf_clip_algorithm a)
{
    return a == TSF_CLIP_NORM ? "norm" : a == TSF_CLIP_VALUE ? "value" : "?";
}

int tsf_clip_parse(const char *name, tsf_clip_algorithm *a)
{
    if (strcmp(name, "norm") == 0)
        *a = TSF_CLIP_NORM;
    else if (strcmp(name, "value") == 0)
        *a = TSF_CLIP_VALUE;
    else
        return -1;
    return 0;
}
