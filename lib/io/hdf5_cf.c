/* CF time units: "<unit> since <reference time>", the reference time as UDUNITS writes it and
 * xarray (through pandas) reads it, UTC offsets included. */
#include <string.h>
#include <strings.h>

#include "tsflow/frame.h"
#include "core.h"
#include "hdf5_cf.h"

#define NS_PER_S INT64_C(1000000000)

/* Up to max digits at *p (at least one): their value; advances *p. -1 when there is none. */
static long digits(const char **p, const char *end, int max)
{
    long v = 0;
    int n = 0;
    while (*p < end && n < max && **p >= '0' && **p <= '9') {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n ? v : -1;
}

/* A zone at p..end: "Z", "UTC", "GMT", "+hh:mm", "+hhmm", "+hh", "+h" (or "-"). Its offset east
 * of UTC in seconds into *off; 0 when the text is none of these. */
static int zone(const char *p, const char *end, int64_t *off)
{
    size_t n = (size_t)(end - p);
    *off = 0;
    if ((n == 1 && (*p == 'Z' || *p == 'z')) ||
        (n == 3 && (!strncasecmp(p, "UTC", 3) || !strncasecmp(p, "GMT", 3))))
        return 1;
    if (n < 2 || (*p != '+' && *p != '-'))
        return 0;
    int sign = *p++ == '-' ? -1 : 1;
    long h = digits(&p, end, 2), m = 0;
    if (h < 0)
        return 0;
    if (p < end && *p == ':')
        p++;
    if (p < end && (m = digits(&p, end, 2)) < 0)
        return 0;
    if (p != end || h > 14 || m > 59)
        return 0;
    *off = sign * (h * 3600 + m * 60);
    return 1;
}

int tsf__cf_parse_time(const char *text, size_t len, int64_t *t)
{
    const char *p = text, *end = text + len;
    while (end > p && end[-1] == ' ')
        end--;
    long y = digits(&p, end, 4), mo = -1, d = -1, h = 0, mi = 0, s = 0, us = 0;
    if (y >= 0 && p < end && *p == '-' && (p++, (mo = digits(&p, end, 2)) >= 0) && p < end &&
        *p == '-')
        p++, d = digits(&p, end, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1)
        return 0;
    int64_t day = tsf__days_from_civil(y, (unsigned)mo, 1) + d - 1;
    int64_t next =
        mo == 12 ? tsf__days_from_civil(y + 1, 1, 1) : tsf__days_from_civil(y, (unsigned)mo + 1, 1);
    if (day >= next)
        return 0;
    if (p < end && (*p == ' ' || *p == 'T') && p + 1 < end && p[1] >= '0' && p[1] <= '9') {
        p++;
        h = digits(&p, end, 2);
        if (p < end && *p == ':') {
            p++;
            if ((mi = digits(&p, end, 2)) < 0)
                return 0;
            if (p < end && *p == ':') {
                p++;
                if ((s = digits(&p, end, 2)) < 0)
                    return 0;
                if (p < end && *p == '.') /* a fraction: tsflow's resolution is 1 us */
                    for (int k = 0, q = 100000; ++p < end && *p >= '0' && *p <= '9'; k++, q /= 10) {
                        if (k >= 6 && *p != '0')
                            return 0;
                        us += k < 6 ? (*p - '0') * q : 0;
                    }
            }
        }
        if (h > 24 || mi > 59 || s > 60)
            return 0;
    }
    while (p < end && *p == ' ')
        p++;
    int64_t off = 0;
    if (p < end && !zone(p, end, &off))
        return 0;
    *t = (day * 86400 + h * 3600 + mi * 60 + s - off) * TSF_US_PER_S + us;
    return 1;
}

int tsf__cf_parse_units(const char *u, int64_t *num, int64_t *den, int64_t *base)
{
    static const struct {
        const char *names;
        int64_t num, den;
    } units[] = {
        {"seconds second secs sec s ", TSF_US_PER_S, 1},
        {"minutes minute mins min ", TSF_US_PER_MIN, 1},
        {"hours hour hrs hr h ", TSF_US_PER_H, 1},
        {"days day d ", TSF_US_PER_DAY, 1},
        {"milliseconds millisecond msecs msec ms ", TSF_US_PER_MS, 1},
        {"microseconds microsecond usecs usec us ", 1, 1},
        {"nanoseconds nanosecond nsecs nsec ns ", 1, 1000},
    };
    const char *since = strstr(u, " since ");
    if (!since)
        return 0;
    const char *w = u;
    while (*w == ' ')
        w++;
    size_t wl = (size_t)(since - w);
    while (wl > 0 && w[wl - 1] == ' ')
        wl--;
    char word[32];
    if (wl == 0 || wl + 2 > sizeof word)
        return -1;
    for (size_t i = 0; i < wl; i++)
        word[i] = (char)(w[i] >= 'A' && w[i] <= 'Z' ? w[i] + 32 : w[i]);
    word[wl] = ' ';
    word[wl + 1] = '\0';
    int found = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0] && !found; i++) {
        const char *p = units[i].names;
        for (const char *q; !found && (q = strstr(p, word)); p = q + 1)
            if (q == units[i].names || q[-1] == ' ') {
                *num = units[i].num;
                *den = units[i].den;
                found = 1;
            }
    }
    if (!found)
        return -1;
    const char *d = since + 7;
    while (*d == ' ')
        d++;
    return tsf__cf_parse_time(d, strlen(d), base) ? 1 : -1;
}
