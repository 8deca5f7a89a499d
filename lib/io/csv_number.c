/* Exact and fast decimal <-> double conversion for the CSV reader and writer.
 *
 * Parsing must give the correctly rounded double (bit-identical to glibc's strtod, Python's
 * float() and so pandas.read_csv(..., float_precision="round_trip")) at a cost far below
 * strtod's, because a CSV file is mostly numbers. Three tiers:
 *   1. Clinger's fast path: w <= 2^53 and |q| <= 22, value = w * 10^q: both factors are exact
 *      doubles, so one IEEE multiplication or division rounds correctly.
 *   2. Eisel-Lemire (Lemire, "Number Parsing at a Gigabyte per Second", Software: Practice
 *      and Experience 51(8), 2021): w (up to 19 digits) times a 128-bit approximation of 5^q
 *      decides the rounding exactly except in cases the algorithm detects.
 *   3. strtod_l in the C locale (never the user's locale) for those cases and for inputs with
 *      more than 19 significant digits.
 */
#define _GNU_SOURCE
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_internal.h"
#include "tsflow/io.h"
#include "csv_pow5.h"

__extension__ typedef unsigned __int128 u128;

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Tier 3: the validated text through strtod_l. */
static int slow_parse(const char *s, size_t n, double *out)
{
    char small[128];
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    pthread_once(&c_locale_once, make_c_locale);
    char *end;
    *out = c_locale ? strtod_l(buf, &end, c_locale) : strtod(buf, &end);
    int ok = end == buf + n;
    if (buf != small)
        free(buf);
    return ok;
}

/* Tier 2: w * 10^q for w != 0 with at most 19 digits. Returns 1 and the double's bits in
 * *bits (without sign), or 0 when the product is too close to a rounding boundary to decide
 * cheaply (then the caller falls back to strtod). Follows the paper's algorithm for binary64:
 * 52 explicit mantissa bits, minimum exponent -1023, round-to-even window q in [-4, 23]. */
static int eisel_lemire(uint64_t w, int64_t q, uint64_t *bits)
{
    if (q < TSF_POW5_Q_MIN) {
        *bits = 0; /* w * 10^q < 1e-324: rounds to zero */
        return 1;
    }
    if (q > TSF_POW5_Q_MAX) {
        *bits = (uint64_t)0x7FF << 52; /* >= 1e309: infinity */
        return 1;
    }
    int lz = __builtin_clzll(w);
    w <<= lz;
    size_t idx = 2 * (size_t)(q - TSF_POW5_Q_MIN);
    u128 first = (u128)w * tsf_pow5_128[idx];
    uint64_t hi = (uint64_t)(first >> 64), lo = (uint64_t)first;
    /* 55 bits of precision are needed (52 + 3): refine with the low half of 5^q only when
     * the 9 bits below them are all ones. */
    const uint64_t precision_mask = UINT64_C(0xFFFFFFFFFFFFFFFF) >> 55;
    if ((hi & precision_mask) == precision_mask) {
        u128 second = (u128)w * tsf_pow5_128[idx + 1];
        uint64_t shi = (uint64_t)(second >> 64);
        lo += shi;
        if (shi > lo)
            hi++;
    }
    if (lo == UINT64_C(0xFFFFFFFFFFFFFFFF) && (q < -27 || q > 55))
        return 0; /* the truncated product may be off by one unit: let strtod decide */
    int upperbit = (int)(hi >> 63);
    int shift = upperbit + 64 - 52 - 3;
    uint64_t mantissa = hi >> shift;
    /* power(q) = floor(q * log2(10)) + 63, as the paper computes it in fixed point. */
    int64_t power2 = (((152170 + 65536) * q) >> 16) + 63 + upperbit - lz + 1023;
    if (power2 <= 0) { /* subnormal, or zero */
        if (-power2 + 1 >= 64) {
            *bits = 0;
            return 1;
        }
        mantissa >>= -power2 + 1;
        mantissa += mantissa & 1;
        mantissa >>= 1;
        /* Rounding up may carry into the smallest normal exponent. */
        power2 = mantissa < (UINT64_C(1) << 52) ? 0 : 1;
        *bits = (mantissa & ~(UINT64_C(1) << 52)) | ((uint64_t)power2 << 52);
        return 1;
    }
    /* An exact halfway case can only happen for small |q|; there, round to even. */
    if (lo <= 1 && q >= -4 && q <= 23 && (mantissa & 3) == 1 && (mantissa << shift) == hi)
        mantissa &= ~UINT64_C(1);
    mantissa += mantissa & 1;
    mantissa >>= 1;
    if (mantissa >= (UINT64_C(2) << 52)) {
        mantissa = UINT64_C(1) << 52;
        power2++;
    }
    mantissa &= ~(UINT64_C(1) << 52);
    if (power2 >= 0x7FF) {
        *bits = (uint64_t)0x7FF << 52;
        return 1;
    }
    *bits = mantissa | ((uint64_t)power2 << 52);
    return 1;
}

static const double exact_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Eight ASCII digits at once (SWAR, as in Lemire's fast_float): whether the 8 bytes at p are
 * all digits, and their value. Little-endian loads; elsewhere the digit loop does the work. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HAVE_SWAR 1
static inline uint64_t load8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline int all_digits8(uint64_t v)
{
    return ((v & UINT64_C(0xF0F0F0F0F0F0F0F0)) |
            (((v + UINT64_C(0x0606060606060606)) & UINT64_C(0xF0F0F0F0F0F0F0F0)) >> 4)) ==
           UINT64_C(0x3333333333333333);
}

static inline uint64_t digits8(uint64_t v)
{
    const uint64_t mask = UINT64_C(0x000000FF000000FF);
    const uint64_t mul1 = UINT64_C(0x000F424000000064); /* 100 + (1000000 << 32) */
    const uint64_t mul2 = UINT64_C(0x0000271000000001); /* 1 + (10000 << 32) */
    v -= UINT64_C(0x3030303030303030);
    v = v * 10 + (v >> 8); /* pairs of digits */
    return (((v & mask) * mul1) + (((v >> 16) & mask) * mul2)) >> 32;
}
#else
#define HAVE_SWAR 0
#endif

static int lower_eq(const char *p, const char *word, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] | 0x20) != word[i])
            return 0;
    return 1;
}

int tsf__parse_double(const char *s, size_t n, double *out)
{
    const char *p = s, *end = s + n;
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    uint64_t w = 0;
    int n_sig = 0, any = 0, many = 0; /* significant digits kept; digits seen; > 19 of them */
    int64_t q = 0;
    for (; p < end && (unsigned)(*p - '0') < 10; p++) {
        unsigned d = (unsigned)(*p - '0');
        any = 1;
        if (n_sig == 0 && d == 0)
            continue; /* leading zero */
        if (n_sig < 19) {
            w = w * 10 + d;
            n_sig++;
        } else {
            many = 1;
            q++;
        }
    }
    if (p < end && *p == '.') {
        p++;
#if HAVE_SWAR
        /* after the first significant digit, take the fraction eight digits at a time */
        if (n_sig > 0 || (p < end && *p != '0'))
            while (end - p >= 8 && n_sig <= 11 && all_digits8(load8(p))) {
                w = w * 100000000 + digits8(load8(p));
                n_sig += 8;
                q -= 8;
                p += 8;
                any = 1;
            }
#endif
        for (; p < end && (unsigned)(*p - '0') < 10; p++) {
            unsigned d = (unsigned)(*p - '0');
            any = 1;
            if (n_sig == 0 && d == 0) {
                q--;
                continue;
            }
            if (n_sig < 19) {
                w = w * 10 + d;
                n_sig++;
                q--;
            } else {
                many = 1;
            }
        }
    }
    if (!any) {
        size_t left = (size_t)(end - p);
        if ((left == 3 && lower_eq(p, "inf", 3)) || (left == 8 && lower_eq(p, "infinity", 8))) {
            *out = neg ? -INFINITY : INFINITY;
            return 1;
        }
        return 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= end || (unsigned)(*p - '0') >= 10)
            return 0;
        int64_t e = 0;
        for (; p < end && (unsigned)(*p - '0') < 10; p++)
            if (e < 100000000) /* far beyond any double: clamp */
                e = e * 10 + (*p - '0');
        q += eneg ? -e : e;
    }
    if (p != end)
        return 0;
    if (many)
        return slow_parse(s, n, out);
    double v;
    if (w == 0) {
        v = 0.0;
    } else if (w <= (UINT64_C(1) << 53) && q >= -22 && q <= 22) {
        v = (double)w;
        v = q < 0 ? v / exact_pow10[-q] : v * exact_pow10[q];
    } else {
        uint64_t bits;
        if (!eisel_lemire(w, q, &bits))
            return slow_parse(s, n, out);
        memcpy(&v, &bits, sizeof v);
    }
    *out = neg ? -v : v;
    return 1;
}

size_t tsf_format_double(char *buf, size_t n, double v)
{
    if (isnan(v)) {
        if (n)
            buf[0] = '\0';
        return 0;
    }
    if (isinf(v))
        return (size_t)snprintf(buf, n, "%s", v < 0 ? "-inf" : "inf");
    int len = 0;
    for (int prec = 15; prec <= 17; prec++) {
        len = snprintf(buf, n, "%.*g", prec, v);
        double back;
        if (prec == 17 ||
            (tsf__parse_double(buf, (size_t)len, &back) && memcmp(&back, &v, sizeof v) == 0))
            break;
    }
    return (size_t)len;
}
