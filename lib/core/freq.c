/* Frequencies (tsflow/freq.h): pandas offset aliases, inference, calendar arithmetic. Calendar
 * units work on counts that are regular: months as year * 12 + month, business days as
 * week * 5 + weekday, so adding and counting periods is integer arithmetic on those counts. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tsflow/frame.h"
#include "tsflow/freq.h"
#include "core.h"

#define DAY TSF_US_PER_DAY
#define MAX_FIXED (10000 * 366 * DAY) /* the longest fixed duration: 10,000 years */

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const day_names[] = {"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t r = a % b;
        a = b;
        b = r;
    }
    return a < 0 ? -a : a;
}

/* 0 Monday .. 6 Sunday; day 0 (1970-01-01) was a Thursday. */
static int weekday(int64_t day)
{
    return (int)(((day % 7) + 7 + 3) % 7);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return md[m - 1] + (m == 2 && tsf__is_leap(y));
}

/* An instant split into its calendar parts. */
typedef struct civil {
    int64_t day, sod; /* days since the epoch, microseconds of the day */
    int64_t y;
    unsigned m, d;
} civil;

static void split(int64_t t, civil *c)
{
    c->day = floor_div(t, DAY);
    c->sod = t - c->day * DAY;
    tsf__civil_from_days(c->day, &c->y, &c->m, &c->d);
}

static int64_t month_index(const civil *c)
{
    return c->y * 12 + (int64_t)c->m - 1;
}

static int64_t bday_index(int64_t day)
{
    int64_t w = floor_div(day + 3, 7); /* weeks since Monday 1969-12-29 */
    int wd = weekday(day);
    return w * 5 + (wd < 5 ? wd : 5);
}

static int64_t day_of_bday(int64_t b)
{
    int64_t w = floor_div(b, 5);
    return w * 7 + (b - w * 5) - 3;
}

static int month_based(tsf_freq_unit u)
{
    return u >= TSF_FREQ_MONTH_START;
}

static int is_end(tsf_freq_unit u)
{
    return u == TSF_FREQ_MONTH_END || u == TSF_FREQ_QUARTER_END || u == TSF_FREQ_YEAR_END;
}

/* Months per period. */
static int64_t unit_months(tsf_freq_unit u)
{
    return u <= TSF_FREQ_MONTH_END ? 1 : u <= TSF_FREQ_QUARTER_END ? 3 : 12;
}

/* ---- aliases ------------------------------------------------------------------------------ */

typedef struct alias {
    const char *name;
    tsf_freq_unit unit;
    int64_t us; /* fixed durations, in microseconds */
    int anchor; /* default anchor; -1: takes "-XXX" */
} alias;

static const alias aliases[] = {
    {"D", TSF_FREQ_FIXED, DAY, 0},
    {"h", TSF_FREQ_FIXED, TSF_US_PER_H, 0},
    {"H", TSF_FREQ_FIXED, TSF_US_PER_H, 0},
    {"min", TSF_FREQ_FIXED, TSF_US_PER_MIN, 0},
    {"T", TSF_FREQ_FIXED, TSF_US_PER_MIN, 0},
    {"s", TSF_FREQ_FIXED, TSF_US_PER_S, 0},
    {"S", TSF_FREQ_FIXED, TSF_US_PER_S, 0},
    {"ms", TSF_FREQ_FIXED, TSF_US_PER_MS, 0},
    {"L", TSF_FREQ_FIXED, TSF_US_PER_MS, 0},
    {"us", TSF_FREQ_FIXED, 1, 0},
    {"U", TSF_FREQ_FIXED, 1, 0},
    {"W", TSF_FREQ_WEEK, 0, 6},
    {"B", TSF_FREQ_BDAY, 0, 0},
    {"MS", TSF_FREQ_MONTH_START, 0, 0},
    {"ME", TSF_FREQ_MONTH_END, 0, 0},
    {"M", TSF_FREQ_MONTH_END, 0, 0},
    {"QS", TSF_FREQ_QUARTER_START, 0, 1},
    {"QE", TSF_FREQ_QUARTER_END, 0, 12},
    {"Q", TSF_FREQ_QUARTER_END, 0, 12},
    {"YS", TSF_FREQ_YEAR_START, 0, 1},
    {"AS", TSF_FREQ_YEAR_START, 0, 1},
    {"YE", TSF_FREQ_YEAR_END, 0, 12},
    {"Y", TSF_FREQ_YEAR_END, 0, 12},
    {"A", TSF_FREQ_YEAR_END, 0, 12},
};

#define EXPECTED                                                                                   \
    "expected a pandas offset alias with an optional multiple: D, h, min, s, ms (or L), us (or "   \
    "U) (15min, 2h, 500ms), W-MON..W-SUN, B, MS, ME (or M), QS-JAN.., QE-DEC.. (or Q-DEC), "       \
    "YS-JAN.. (or AS-JAN), YE-DEC.. (or A-DEC)"

static int parse(const char *text, tsf_freq *out, tsf_err *err)
{
    const char *p = text;
    int64_t mult = 1;
    if (*p >= '0' && *p <= '9') {
        mult = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (mult > INT64_C(1000000000))
                TSF_FAIL(err, TSF_EINVAL, "frequency \"%s\": the multiple is too large (%s)", text,
                         EXPECTED);
            mult = mult * 10 + (*p - '0');
        }
        if (mult == 0)
            TSF_FAIL(err, TSF_EINVAL, "frequency \"%s\": the multiple is 0 (%s)", text, EXPECTED);
    }
    const char *dash = strchr(p, '-');
    size_t len = dash ? (size_t)(dash - p) : strlen(p);
    if ((len == 2 && !strncmp(p, "ns", 2)) || (len == 1 && *p == 'N')) {
        /* nanoseconds: a step of whole microseconds is that step, any other is too fine */
        if (mult % 1000 != 0 || dash)
            TSF_FAIL(err, TSF_EINVAL,
                     "frequency \"%s\" is not a whole number of microseconds, tsflow's "
                     "resolution (%s)",
                     text, EXPECTED);
        *out = (tsf_freq){TSF_FREQ_FIXED, mult / 1000, 0};
        return TSF_OK;
    }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        const alias *a = &aliases[i];
        if (strlen(a->name) != len || strncmp(a->name, p, len) != 0)
            continue;
        if ((a->unit == TSF_FREQ_FIXED && mult > MAX_FIXED / a->us) ||
            (a->unit == TSF_FREQ_WEEK && mult > MAX_FIXED / (7 * DAY)))
            TSF_FAIL(err, TSF_EINVAL, "frequency \"%s\": the multiple is too large (%s)", text,
                     EXPECTED);
        out->unit = a->unit;
        out->n = a->unit == TSF_FREQ_FIXED ? mult * a->us : mult;
        out->anchor = a->anchor;
        if (dash) {
            const char *an = dash + 1;
            int found = -1;
            if (a->unit == TSF_FREQ_WEEK) {
                for (int k = 0; k < 7; k++)
                    if (!strcmp(an, day_names[k]))
                        found = k;
            } else if (month_based(a->unit) && a->unit > TSF_FREQ_MONTH_END) {
                for (int k = 0; k < 12; k++)
                    if (!strcmp(an, month_names[k]))
                        found = k + 1;
            } else {
                TSF_FAIL(err, TSF_EINVAL, "frequency \"%s\": \"%.*s\" takes no anchor (%s)", text,
                         (int)len, p, EXPECTED);
            }
            if (found < 0)
                TSF_FAIL(err, TSF_EINVAL, "frequency \"%s\": \"%s\" is not %s (%s)", text, an,
                         a->unit == TSF_FREQ_WEEK ? "a weekday MON..SUN" : "a month JAN..DEC",
                         EXPECTED);
            out->anchor = found;
        }
        return TSF_OK;
    }
    TSF_FAIL(err, TSF_EINVAL, "frequency \"%s\" is not understood (%s)", text, EXPECTED);
}

int tsf_freq_parse(const char *text, tsf_freq *out, tsf_err *err)
{
    tsf_freq f = {TSF_FREQ_NONE, 0, 0};
    int rc = parse(text, &f, err);
    *out = rc == TSF_OK ? f : (tsf_freq){TSF_FREQ_NONE, 0, 0};
    return rc;
}

char *tsf_freq_format(const tsf_freq *f, int pandas1, char *buf, size_t n)
{
    char mult[24] = "";
    const char *name = "", *anchor = NULL;
    int64_t k = f->n;
    switch (f->unit) {
    case TSF_FREQ_NONE:
        break;
    case TSF_FREQ_FIXED:
        if (k % DAY == 0)
            k /= DAY, name = "D";
        else if (k % TSF_US_PER_H == 0)
            k /= TSF_US_PER_H, name = pandas1 ? "H" : "h";
        else if (k % TSF_US_PER_MIN == 0)
            k /= TSF_US_PER_MIN, name = pandas1 ? "T" : "min";
        else if (k % TSF_US_PER_S == 0)
            k /= TSF_US_PER_S, name = pandas1 ? "S" : "s";
        else if (k % TSF_US_PER_MS == 0)
            k /= TSF_US_PER_MS, name = pandas1 ? "L" : "ms";
        else
            name = pandas1 ? "U" : "us";
        break;
    case TSF_FREQ_WEEK:
        name = "W";
        anchor = day_names[f->anchor];
        break;
    case TSF_FREQ_BDAY:
        name = "B";
        break;
    case TSF_FREQ_MONTH_START:
        name = "MS";
        break;
    case TSF_FREQ_MONTH_END:
        name = pandas1 ? "M" : "ME";
        break;
    case TSF_FREQ_QUARTER_START:
        name = "QS";
        anchor = month_names[f->anchor - 1];
        break;
    case TSF_FREQ_QUARTER_END:
        name = pandas1 ? "Q" : "QE";
        anchor = month_names[f->anchor - 1];
        break;
    case TSF_FREQ_YEAR_START:
        name = pandas1 ? "AS" : "YS";
        anchor = month_names[f->anchor - 1];
        break;
    case TSF_FREQ_YEAR_END:
        name = pandas1 ? "A" : "YE";
        anchor = month_names[f->anchor - 1];
        break;
    }
    if (f->unit != TSF_FREQ_NONE && k != 1)
        snprintf(mult, sizeof mult, "%" PRId64, k);
    snprintf(buf, n, "%s%s%s%s", mult, name, anchor ? "-" : "", anchor ? anchor : "");
    return buf;
}

int tsf_freq_equal(const tsf_freq *a, const tsf_freq *b)
{
    if (a->unit != b->unit || a->n != b->n)
        return 0;
    if (a->unit == TSF_FREQ_QUARTER_START || a->unit == TSF_FREQ_QUARTER_END)
        return a->anchor % 3 == b->anchor % 3;
    return a->anchor == b->anchor;
}

/* ---- arithmetic --------------------------------------------------------------------------- */

int tsf_freq_on_offset(const tsf_freq *f, int64_t t)
{
    civil c;
    split(t, &c);
    switch (f->unit) {
    case TSF_FREQ_NONE:
    case TSF_FREQ_FIXED:
        return 1;
    case TSF_FREQ_WEEK:
        return weekday(c.day) == f->anchor;
    case TSF_FREQ_BDAY:
        return weekday(c.day) < 5;
    default:
        break;
    }
    if (is_end(f->unit) ? c.d != days_in_month(c.y, c.m) : c.d != 1)
        return 0;
    if (f->unit == TSF_FREQ_QUARTER_START || f->unit == TSF_FREQ_QUARTER_END)
        return (int)c.m % 3 == f->anchor % 3;
    if (f->unit == TSF_FREQ_YEAR_START || f->unit == TSF_FREQ_YEAR_END)
        return (int)c.m == f->anchor;
    return 1;
}

int64_t tsf_freq_add(const tsf_freq *f, int64_t t, int64_t k)
{
    civil c;
    switch (f->unit) {
    case TSF_FREQ_NONE:
        return t;
    case TSF_FREQ_FIXED:
        return t + k * f->n;
    case TSF_FREQ_WEEK:
        return t + k * f->n * 7 * DAY;
    case TSF_FREQ_BDAY:
        split(t, &c);
        return day_of_bday(bday_index(c.day) + k * f->n) * DAY + c.sod;
    default:
        break;
    }
    split(t, &c);
    int64_t mi = month_index(&c) + k * f->n * unit_months(f->unit);
    int64_t y = floor_div(mi, 12);
    unsigned m = (unsigned)(mi - y * 12) + 1;
    unsigned d = is_end(f->unit) ? days_in_month(y, m) : 1;
    return tsf__days_from_civil(y, m, d) * DAY + c.sod;
}

int tsf_freq_count(const tsf_freq *f, int64_t a, int64_t b, int64_t *k)
{
    civil ca, cb;
    int64_t q;
    switch (f->unit) {
    case TSF_FREQ_NONE:
        *k = 0;
        return a == b;
    case TSF_FREQ_FIXED:
        q = floor_div(b - a, f->n);
        break;
    case TSF_FREQ_WEEK:
        q = floor_div(b - a, f->n * 7 * DAY);
        break;
    case TSF_FREQ_BDAY:
        split(a, &ca);
        split(b, &cb);
        q = floor_div(bday_index(cb.day) - bday_index(ca.day), f->n);
        break;
    default:
        split(a, &ca);
        split(b, &cb);
        q = floor_div(month_index(&cb) - month_index(&ca), f->n * unit_months(f->unit));
        break;
    }
    /* The unit counts above ignore the time of day and the day within a period: step back
     * until a + q periods is not past b. */
    while (tsf_freq_add(f, a, q) > b)
        q--;
    *k = q;
    return tsf_freq_add(f, a, q) == b;
}

size_t tsf_freq_season(const tsf_freq *f)
{
    int64_t n = f->n;
    switch (f->unit) {
    case TSF_FREQ_NONE:
        return 0;
    case TSF_FREQ_FIXED:
        if (n == DAY)
            return 7;
        /* below a second there is no natural cycle: a day of 10 ms steps is 8.6 million */
        if (n < TSF_US_PER_S)
            return 0;
        return n < DAY && DAY % n == 0 ? (size_t)(DAY / n) : 0;
    case TSF_FREQ_WEEK:
        return 52 % n == 0 ? (size_t)(52 / n) : 0;
    case TSF_FREQ_BDAY:
        return n == 1 ? 5 : 0;
    case TSF_FREQ_MONTH_START:
    case TSF_FREQ_MONTH_END:
        return 12 % n == 0 ? (size_t)(12 / n) : 0;
    case TSF_FREQ_QUARTER_START:
    case TSF_FREQ_QUARTER_END:
        return 4 % n == 0 ? (size_t)(4 / n) : 0;
    case TSF_FREQ_YEAR_START:
    case TSF_FREQ_YEAR_END:
        return 1;
    }
    return 0;
}

/* ---- inference ---------------------------------------------------------------------------- */

int tsf_freq_infer(const int64_t *t, size_t n, tsf_freq *out)
{
    memset(out, 0, sizeof *out);
    if (n < 2)
        return 0;
    int64_t g = 0; /* gcd of the differences in microseconds */
    for (size_t i = 1; i < n; i++) {
        if (t[i] <= t[i - 1])
            return 0;
        g = gcd64(g, t[i] - t[i - 1]);
    }
    if (g % DAY != 0) {
        *out = (tsf_freq){TSF_FREQ_FIXED, g, 0};
        return 1;
    }
    /* Every instant has the same time of day: try calendar units, as pandas.infer_freq does
     * (years, quarters, months, then days and weeks, then business days). */
    civil c0, c;
    split(t[0], &c0);
    int all_start = 1, all_end = 1, weekend = 0, spans_weekend = 0;
    int64_t gm = 0, gb = 0, prev_mi = month_index(&c0), prev_day = c0.day;
    for (size_t i = 0; i < n; i++) {
        split(t[i], &c);
        all_start &= c.d == 1;
        all_end &= c.d == days_in_month(c.y, c.m);
        int wd = weekday(c.day);
        weekend |= wd >= 5;
        if (i > 0) {
            gm = gcd64(gm, month_index(&c) - prev_mi);
            gb = gcd64(gb, bday_index(c.day) - bday_index(prev_day));
            /* a Saturday lies strictly between the previous day and this one */
            spans_weekend |= c.day - prev_day >= 7 || weekday(prev_day) > wd;
        }
        prev_mi = month_index(&c);
        prev_day = c.day;
    }
    if ((all_start || all_end) && gm > 0) {
        if (gm % 12 == 0)
            *out =
                (tsf_freq){all_end ? TSF_FREQ_YEAR_END : TSF_FREQ_YEAR_START, gm / 12, (int)c0.m};
        else if (gm % 3 == 0) {
            static const int anchor_of[] = {12, 10, 11}; /* by month % 3, as pandas names it */
            *out = (tsf_freq){all_end ? TSF_FREQ_QUARTER_END : TSF_FREQ_QUARTER_START, gm / 3,
                              anchor_of[c0.m % 3]};
        } else
            *out = (tsf_freq){all_end ? TSF_FREQ_MONTH_END : TSF_FREQ_MONTH_START, gm, 0};
        return 1;
    }
    int64_t gd = g / DAY;
    if (gd % 7 == 0)
        *out = (tsf_freq){TSF_FREQ_WEEK, gd / 7, weekday(c0.day)};
    else if (!weekend && spans_weekend && gb > 0)
        *out = (tsf_freq){TSF_FREQ_BDAY, gb, 0};
    else
        *out = (tsf_freq){TSF_FREQ_FIXED, g, 0};
    return 1;
}
