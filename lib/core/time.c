/* ISO 8601 timestamps <-> int64 microseconds since the epoch, in UTC, without the C library's
 * locale- and TZ-dependent functions (timegm is not C11, mktime reads TZ). Civil-date
 * conversion after Howard Hinnant's days_from_civil / civil_from_days. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tsflow/frame.h"
#include "core.h"

int64_t tsf__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void tsf__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int tsf__is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in(int64_t y, unsigned m)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return mdays[m - 1] + (m == 2 && tsf__is_leap(y));
}

/* Read exactly n digits at *p (bounded by end) into *v. */
static int digits(const char **p, const char *end, int n, unsigned *v)
{
    unsigned x = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || **p < '0' || **p > '9')
            return 0;
        x = x * 10 + (unsigned)(**p - '0');
        (*p)++;
    }
    *v = x;
    return 1;
}

/* A fraction of a second after its separator: 1 to 9 digits into *us. Returns 1, 0 when there
 * is no digit, TSF_TIME_SUBUS when a digit past the sixth is not 0. */
static int fraction(const char **p, const char *end, int max, int64_t *us)
{
    int64_t v = 0;
    int k = 0, sub = 0;
    for (; *p < end && **p >= '0' && **p <= '9' && k < max; (*p)++, k++) {
        if (k < 6)
            v = v * 10 + (**p - '0');
        else
            sub |= **p != '0';
    }
    for (int i = k; i < 6; i++)
        v *= 10;
    *us = v;
    return k == 0 ? 0 : sub ? TSF_TIME_SUBUS : 1;
}

/* tsf_time_parse_iso, also giving the offset written (seconds east of UTC; 0 without one). */
static int parse_iso(const char *text, size_t len, int64_t *t, int *has_zone, int32_t *off)
{
    const char *p = text, *end = text + len;
    unsigned y, mo, d, hh = 0, mi = 0, ss = 0;
    int64_t us = 0;
    int frac = 1;
    if (!digits(&p, end, 4, &y) || p >= end || *p++ != '-' || !digits(&p, end, 2, &mo) ||
        p >= end || *p++ != '-' || !digits(&p, end, 2, &d))
        return 0;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in(y, mo))
        return 0;
    int zone = 0;
    int64_t offset = 0;
    if (p < end && (*p == ' ' || *p == 'T')) {
        p++;
        if (!digits(&p, end, 2, &hh) || p >= end || *p++ != ':' || !digits(&p, end, 2, &mi))
            return 0;
        if (p < end && *p == ':') {
            p++;
            if (!digits(&p, end, 2, &ss))
                return 0;
            if (p < end && (*p == '.' || *p == ',')) { /* ISO 8601 allows both */
                p++;
                if (!(frac = fraction(&p, end, 9, &us)))
                    return 0;
            }
        }
        if (hh > 23 || mi > 59 || ss > 60)
            return 0;
        if (p < end && (*p == 'Z' || *p == 'z')) {
            p++;
            zone = 1;
        } else if (p < end && (*p == '+' || *p == '-')) {
            int sign = *p++ == '-' ? -1 : 1;
            unsigned oh, om = 0;
            if (!digits(&p, end, 2, &oh))
                return 0;
            if (p < end && *p == ':')
                p++;
            if (p < end && !digits(&p, end, 2, &om))
                return 0;
            if (oh > 23 || om > 59)
                return 0;
            offset = sign * (int64_t)(oh * 3600 + om * 60);
            zone = 1;
        }
    }
    if (p != end)
        return 0;
    if (frac == TSF_TIME_SUBUS)
        return TSF_TIME_SUBUS;
    *t = (tsf__days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - offset) *
             TSF_US_PER_S +
         us;
    if (has_zone)
        *has_zone = zone;
    if (off)
        *off = (int32_t)offset;
    return 1;
}

int tsf_time_parse_iso(const char *text, size_t len, int64_t *t, int *has_zone)
{
    return parse_iso(text, len, t, has_zone, NULL);
}

/* "1949-01" (a month) or "1960Q1", "1960 Q1", "1960-Q1" (a quarter): the first day. */
static int parse_period(const char *p, const char *end, int64_t *t, tsf_time_form *form)
{
    unsigned y, m;
    if (!digits(&p, end, 4, &y) || p >= end)
        return 0;
    if (*p == '-' && end - p == 3) {
        p++;
        if (!digits(&p, end, 2, &m) || m < 1 || m > 12)
            return 0;
        *form = TSF_TIME_FORM_MONTH;
    } else {
        if (*p == ' ' || *p == '-')
            p++;
        if (end - p != 2 || (p[0] != 'Q' && p[0] != 'q') || p[1] < '1' || p[1] > '4')
            return 0;
        m = (unsigned)(p[1] - '1') * 3 + 1;
        *form = TSF_TIME_FORM_QUARTER;
    }
    *t = tsf__days_from_civil(y, m, 1) * TSF_US_PER_DAY;
    return 1;
}

int tsf_time_parse_zoned(const char *text, size_t len, int64_t *t, int *has_zone, int32_t *offset,
                         tsf_time_form *form)
{
    tsf_time_form fm = TSF_TIME_FORM_ISO;
    int zone = 0;
    int32_t off = 0;
    int rc = parse_iso(text, len, t, &zone, &off);
    if (rc == TSF_TIME_SUBUS)
        return rc;
    if (rc || parse_period(text, text + len, t, &fm)) {
        if (has_zone)
            *has_zone = zone;
        if (offset)
            *offset = off;
        if (form)
            *form = fm;
        return 1;
    }
    return 0;
}

int tsf_time_parse_text(const char *text, size_t len, int64_t *t, int *has_zone,
                        tsf_time_form *form)
{
    return tsf_time_parse_zoned(text, len, t, has_zone, NULL, form);
}

/* Read 1 to `max` digits (at least `min`). */
static int some_digits(const char **p, const char *end, int min, int max, unsigned *v)
{
    unsigned x = 0;
    int k = 0;
    for (; k < max && *p < end && **p >= '0' && **p <= '9'; k++, (*p)++)
        x = x * 10 + (unsigned)(**p - '0');
    *v = x;
    return k >= min;
}

int tsf_time_parse_format(const char *fmt, const char *text, size_t len, int64_t *t)
{
    static const char *const mon[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                      "jul", "aug", "sep", "oct", "nov", "dec"};
    const char *p = text, *end = text + len;
    unsigned y = 1970, m = 1, d = 1, hh = 0, mi = 0, ss = 0, v;
    int64_t us = 0;
    int frac = 1;
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            if (p >= end || *p != *f)
                return 0;
            p++;
            continue;
        }
        switch (*++f) {
        case 'Y':
            if (!some_digits(&p, end, 4, 4, &y))
                return 0;
            break;
        case 'y': /* POSIX: 69-99 are 1969-1999, 00-68 are 2000-2068 */
            if (!some_digits(&p, end, 2, 2, &v))
                return 0;
            y = v < 69 ? 2000 + v : 1900 + v;
            break;
        case 'm':
            if (!some_digits(&p, end, 1, 2, &m))
                return 0;
            break;
        case 'd':
            if (!some_digits(&p, end, 1, 2, &d))
                return 0;
            break;
        case 'H':
            if (!some_digits(&p, end, 1, 2, &hh))
                return 0;
            break;
        case 'M':
            if (!some_digits(&p, end, 1, 2, &mi))
                return 0;
            break;
        case 'S':
            if (!some_digits(&p, end, 1, 2, &ss))
                return 0;
            break;
        case 'f':
            if (!(frac = fraction(&p, end, 9, &us)))
                return 0;
            break;
        case 'b':
        case 'B': {
            int found = 0;
            for (unsigned k = 0; k < 12 && !found; k++)
                if (end - p >= 3 && (p[0] | 0x20) == mon[k][0] && (p[1] | 0x20) == mon[k][1] &&
                    (p[2] | 0x20) == mon[k][2]) {
                    m = k + 1;
                    p += 3;
                    found = 1;
                }
            if (!found)
                return 0;
            while (*f == 'B' && p < end && ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
                p++;
            break;
        }
        case '%':
            if (p >= end || *p++ != '%')
                return 0;
            break;
        default:
            return 0;
        }
    }
    if (p != end || m < 1 || m > 12 || d < 1 || d > days_in(y, m) || hh > 23 || mi > 59 || ss > 60)
        return 0;
    if (frac == TSF_TIME_SUBUS)
        return TSF_TIME_SUBUS;
    *t = (tsf__days_from_civil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss) * TSF_US_PER_S + us;
    return 1;
}

int tsf_time_format_valid(const char *fmt)
{
    /* a lone '%' at the end must not match strchr's terminator and step past the string */
    for (const char *f = fmt; *f; f++)
        if (*f == '%' && (!*++f || !strchr("YymdHMSfbB%", *f)))
            return 0;
    return 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Fraction digits t needs: 0, 3 or 6. */
static int digits_of(int64_t t)
{
    int64_t us = t - floor_div(t, TSF_US_PER_S) * TSF_US_PER_S;
    return us == 0 ? 0 : us % 1000 == 0 ? 3 : 6;
}

int tsf_time_fraction_digits(const int64_t *t, size_t n)
{
    int d = 0;
    for (size_t i = 0; i < n && d < 6; i++) {
        int k = digits_of(t[i]);
        d = k > d ? k : d;
    }
    return d;
}

char *tsf_time_format_digits(int64_t t, int digits, char *buf, size_t n)
{
    int64_t days = floor_div(t, TSF_US_PER_DAY);
    int64_t us = t - days * TSF_US_PER_DAY, secs = us / TSF_US_PER_S;
    us -= secs * TSF_US_PER_S;
    int64_t y;
    unsigned m, d;
    tsf__civil_from_days(days, &y, &m, &d);
    char frac[8] = "";
    if (digits == 3)
        snprintf(frac, sizeof frac, ".%03u", (unsigned)(us / 1000));
    else if (digits == 6)
        snprintf(frac, sizeof frac, ".%06u", (unsigned)us);
    snprintf(buf, n, "%04" PRId64 "-%02u-%02u %02u:%02u:%02u%s", y, m, d, (unsigned)(secs / 3600),
             (unsigned)(secs / 60 % 60), (unsigned)(secs % 60), frac);
    return buf;
}

char *tsf_time_format(tsf_time_kind kind, int64_t t, char *buf, size_t n)
{
    if (kind != TSF_TIME_EPOCH) {
        snprintf(buf, n, "%" PRId64, t);
        return buf;
    }
    return tsf_time_format_digits(t, digits_of(t), buf, n);
}

char *tsf_seconds_format(int64_t us, char *buf, size_t n)
{
    uint64_t a = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    char frac[8] = "";
    unsigned f = (unsigned)(a % 1000000);
    if (f) {
        snprintf(frac, sizeof frac, ".%06u", f);
        /* f > 0, so a digit other than 0 stops this before the point; the bound says so */
        for (size_t k = strlen(frac); k > 2 && frac[k - 1] == '0'; k--)
            frac[k - 1] = '\0';
    }
    snprintf(buf, n, "%s%" PRIu64 "%s", us < 0 ? "-" : "", a / 1000000, frac);
    return buf;
}
