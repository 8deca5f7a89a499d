/* Time zones (tsflow/tz.h): fixed offsets, and IANA zones read from the system's TZif files
 * (RFC 8536). Only the version 2+ transition table is used: each transition is an instant and
 * the offset in effect from it on; before the first one, local time type 0 applies. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsflow/frame.h"
#include "tsflow/tz.h"
#include "core.h"

#define TZIF_MAX (1 << 20) /* the largest zone file read; real ones are under 4 KiB */

struct tsf_tz {
    char *name;
    int fixed;          /* one offset at all times */
    int32_t off0;       /* the fixed offset, or the offset before the first transition */
    size_t n;           /* transitions */
    int64_t *trans;     /* (n) instants in seconds (as TZif has them), increasing */
    int32_t *off_after; /* (n) offset in effect from trans[i] */
};

char *tsf_tz_offset_format(int32_t offset, char *buf, size_t n)
{
    int32_t a = offset < 0 ? -offset : offset;
    snprintf(buf, n, "%c%02d:%02d", offset < 0 ? '-' : '+', (int)(a / 3600), (int)(a / 60 % 60));
    return buf;
}

int tsf_tz_offset_parse(const char *s, int32_t *offset)
{
    if (!strcmp(s, "Z") || !strcmp(s, "z")) {
        *offset = 0;
        return 1;
    }
    if (s[0] != '+' && s[0] != '-')
        return 0;
    const char *p = s + 1;
    int v[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        if (k == 1 && *p == ':')
            p++;
        if (k == 1 && !*p)
            break;
        if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
            return 0;
        v[k] = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
    }
    if (*p || v[0] > 23 || v[1] > 59)
        return 0;
    *offset = (s[0] == '-' ? -1 : 1) * (v[0] * 3600 + v[1] * 60);
    return 1;
}

static int32_t be32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)(uint32_t)be32(p) << 32 | (uint32_t)be32(p + 4));
}

/* An IANA name: letters, digits, '_', '-', '+' in '/'-separated parts, none "." or "..", no
 * leading '/' (a name, never a path: no '.' at all). */
static int iana_name_ok(const char *s)
{
    if (!*s || *s == '/' || strlen(s) > 128)
        return 0;
    for (const char *p = s; *p; p++)
        if (!(*p == '/' || *p == '_' || *p == '-' || *p == '+' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return 0;
    return !strstr(s, "//") && s[strlen(s) - 1] != '/';
}

/* Parse a TZif file's version 2+ block into z. Returns 0, or -1 when the data is not one. */
static int parse_tzif(tsf_tz *z, const unsigned char *b, size_t len)
{
    if (len < 44 || memcmp(b, "TZif", 4) || b[4] < '2')
        return -1;
    /* skip the version 1 block (32-bit times) */
    size_t c[6];
    for (int k = 0; k < 6; k++)
        c[k] = (uint32_t)be32(b + 20 + 4 * k);
    size_t v1 = 44 + c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
    if (v1 + 44 > len || memcmp(b + v1, "TZif", 4))
        return -1;
    const unsigned char *h = b + v1;
    for (int k = 0; k < 6; k++)
        c[k] = (uint32_t)be32(h + 20 + 4 * k);
    size_t isut = c[0], isstd = c[1], leap = c[2], timecnt = c[3], typecnt = c[4], chars = c[5];
    const unsigned char *p = h + 44;
    size_t need = timecnt * 9 + typecnt * 6 + chars + leap * 12 + isstd + isut;
    if (typecnt == 0 || need > len - (size_t)(p - b) || leap)
        return -1;
    const unsigned char *times = p, *idx = p + timecnt * 8, *types = idx + timecnt;
    z->trans = malloc((timecnt ? timecnt : 1) * sizeof *z->trans);
    z->off_after = malloc((timecnt ? timecnt : 1) * sizeof *z->off_after);
    if (!z->trans || !z->off_after)
        return -2;
    for (size_t i = 0; i < timecnt; i++) {
        if (idx[i] >= typecnt)
            return -1;
        /* clamped so that trans * TSF_US_PER_S fits (some files start at -2^59 s) */
        int64_t tr = be64(times + 8 * i), lim = INT64_MAX / TSF_US_PER_S;
        z->trans[i] = tr < -lim ? -lim : tr > lim ? lim : tr;
        z->off_after[i] = be32(types + 6 * idx[i]);
        if (i && z->trans[i] <= z->trans[i - 1])
            return -1;
    }
    z->n = timecnt;
    z->off0 = be32(types);
    z->fixed = timecnt == 0;
    return 0;
}

static int load_iana(tsf_tz *z, const char *name, tsf_err *err)
{
    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        TSF_FAIL(err, TSF_EINVAL,
                 "time zone \"%s\" is not in the system's zone database %s (%s) (expected an "
                 "IANA name such as Europe/Berlin, UTC, or an offset such as +01:00; Debian "
                 "installs the database with the tzdata package)",
                 name, dir, strerror(errno));
    unsigned char *buf = malloc(TZIF_MAX);
    size_t len = buf ? fread(buf, 1, TZIF_MAX, fp) : 0;
    fclose(fp);
    if (!buf)
        TSF_FAIL(err, TSF_ENOMEM, "time zone \"%s\": out of memory", name);
    int rc = parse_tzif(z, buf, len);
    free(buf);
    if (rc == -2)
        TSF_FAIL(err, TSF_ENOMEM, "time zone \"%s\": out of memory", name);
    if (rc < 0)
        TSF_FAIL(err, TSF_EINVAL,
                 "time zone \"%s\": %s is not a TZif file of version 2 or later without leap "
                 "seconds (expected a zone of the system's zone database)",
                 name, path);
    return TSF_OK;
}

int tsf_tz_load(tsf_tz **out, const char *name, tsf_err *err)
{
    *out = NULL;
    tsf_tz *z = calloc(1, sizeof *z);
    if (!z)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    int32_t off;
    char buf[16];
    const char *canon = name;
    int rc = TSF_OK;
    if (!strcmp(name, "UTC") || !strcmp(name, "utc") || !strcmp(name, "Etc/UTC")) {
        z->fixed = 1;
        canon = "UTC";
    } else if (tsf_tz_offset_parse(name, &off)) {
        z->fixed = 1;
        z->off0 = off;
        canon = off ? tsf_tz_offset_format(off, buf, sizeof buf) : "UTC";
    } else if (!iana_name_ok(name)) {
        rc = tsf_err_set(err, TSF_EINVAL,
                         "\"%s\" is not a time zone (expected an IANA name such as "
                         "Europe/Berlin, UTC, or an offset such as +01:00)",
                         name);
    } else {
        rc = load_iana(z, name, err);
    }
    if (rc == TSF_OK && !(z->name = strdup(canon)))
        rc = tsf_err_set(err, TSF_ENOMEM, "out of memory");
    if (rc != TSF_OK) {
        tsf_tz_free(z);
        return rc;
    }
    *out = z;
    return TSF_OK;
}

void tsf_tz_free(tsf_tz *z)
{
    if (!z)
        return;
    free(z->name);
    free(z->trans);
    free(z->off_after);
    free(z);
}

const char *tsf_tz_name(const tsf_tz *z)
{
    return z->name;
}

int tsf_tz_fixed(const tsf_tz *z, int32_t *offset)
{
    if (offset)
        *offset = z->off0;
    return z->fixed;
}

/* Index of the last transition at or before instant t (microseconds), or (size_t)-1 before
 * the first. */
static size_t find_trans(const tsf_tz *z, int64_t t_us)
{
    int64_t t = t_us / TSF_US_PER_S - (t_us % TSF_US_PER_S < 0); /* floor: whole seconds */
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

int32_t tsf_tz_offset(const tsf_tz *z, int64_t t)
{
    if (z->fixed || z->n == 0)
        return z->off0;
    size_t i = find_trans(z, t);
    return i == (size_t)-1 ? z->off0 : z->off_after[i];
}

tsf_tz_local tsf_tz_resolve(const tsf_tz *z, int64_t local, int64_t *t, int64_t *later)
{
    /* Offsets are within a day of UTC and zones change them at most once in two days: the
     * offsets a day either side are the only candidates. */
    int32_t oa = tsf_tz_offset(z, local - TSF_US_PER_DAY),
            ob = tsf_tz_offset(z, local + TSF_US_PER_DAY);
    int64_t ta = local - oa * TSF_US_PER_S, tb = local - ob * TSF_US_PER_S;
    int va = tsf_tz_offset(z, ta) == oa, vb = oa != ob && tsf_tz_offset(z, tb) == ob;
    int64_t lt = 0;
    tsf_tz_local kind;
    if (va && vb) {
        kind = TSF_TZ_FOLD;
        *t = ta < tb ? ta : tb;
        lt = ta < tb ? tb : ta;
    } else if (va || vb) {
        kind = TSF_TZ_UNIQUE;
        *t = lt = va ? ta : tb;
    } else {
        kind = TSF_TZ_GAP;
        size_t i = find_trans(z, ta > tb ? ta : tb);
        *t = lt = i == (size_t)-1 ? ta : z->trans[i] * TSF_US_PER_S;
    }
    if (later)
        *later = lt;
    return kind;
}

size_t tsf_tz_localize(const tsf_tz *z, int64_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t a, b;
        tsf_tz_local k = tsf_tz_resolve(z, t[i], &a, &b);
        if (k == TSF_TZ_GAP)
            return i;
        /* the repeated hour: its first pass, unless the row before already is (or is after) it */
        t[i] = k == TSF_TZ_FOLD && i && a <= t[i - 1] ? b : a;
    }
    return n;
}

char *tsf_tz_format_digits(const tsf_tz *z, int64_t t, int digits, char *buf, size_t n)
{
    if (!z)
        return tsf_time_format_digits(t, digits, buf, n);
    int32_t off = tsf_tz_offset(z, t);
    char o[8], local[40];
    tsf_time_format_digits(t + off * TSF_US_PER_S, digits, local, sizeof local);
    snprintf(buf, n, "%s%s", local, tsf_tz_offset_format(off, o, sizeof o));
    return buf;
}

char *tsf_tz_format(const tsf_tz *z, int64_t t, char *buf, size_t n)
{
    return tsf_tz_format_digits(z, t, tsf_time_fraction_digits(&t, 1), buf, n);
}

/* Zones loaded by tsf_tz_cached: a short list, never freed, guarded by a lock (they are shared
 * by the threads that make windows and forecasts). */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static tsf_tz *cache[16];
static size_t n_cache;

const tsf_tz *tsf_tz_cached(const char *name)
{
    tsf_tz *z = NULL;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < n_cache && !z; i++)
        if (!strcmp(cache[i]->name, name))
            z = cache[i];
    if (!z && n_cache < sizeof cache / sizeof *cache && tsf_tz_load(&z, name, NULL) == TSF_OK) {
        if (strcmp(z->name, name) != 0) { /* "+0100" loads as "+01:00": keep it under both */
            for (size_t i = 0; i < n_cache; i++)
                if (!strcmp(cache[i]->name, z->name)) {
                    tsf_tz_free(z);
                    z = cache[i];
                    break;
                }
        }
        if (z && (n_cache == 0 || z != cache[n_cache - 1]))
            cache[n_cache++] = z;
    }
    pthread_mutex_unlock(&cache_lock);
    return z;
}

int64_t tsf_tz_freq_add(const tsf_tz *z, const tsf_freq *q, int64_t t, int64_t k)
{
    int32_t off = 0;
    int fixed = z ? tsf_tz_fixed(z, &off) : 1;
    if ((fixed && off == 0) || (!fixed && q->unit == TSF_FREQ_FIXED && q->n < TSF_US_PER_DAY))
        return tsf_freq_add(q, t, k);
    int64_t wall = tsf_freq_add(q, t + tsf_tz_offset(z, t) * TSF_US_PER_S, k);
    if (fixed)
        return wall - off * TSF_US_PER_S;
    int64_t u;
    tsf_tz_resolve(z, wall, &u, NULL); /* a skipped time: the instant the clocks jump at */
    return u;
}

int tsf_tz_freq_count(const tsf_tz *z, const tsf_freq *q, int64_t a, int64_t b, int64_t *k)
{
    int32_t off = 0;
    int fixed = z ? tsf_tz_fixed(z, &off) : 1;
    if ((fixed && off == 0) || (!fixed && q->unit == TSF_FREQ_FIXED && q->n < TSF_US_PER_DAY))
        return tsf_freq_count(q, a, b, k);
    /* on the wall clock, as tsf_tz_freq_add steps; then the instant decides, since a wall time
     * the clocks skip lands on the instant they jump at */
    (void)tsf_freq_count(q, a + tsf_tz_offset(z, a) * TSF_US_PER_S,
                         b + tsf_tz_offset(z, b) * TSF_US_PER_S, k);
    while (tsf_tz_freq_add(z, q, a, *k) > b)
        --*k;
    while (tsf_tz_freq_add(z, q, a, *k + 1) <= b)
        ++*k;
    return tsf_tz_freq_add(z, q, a, *k) == b;
}

int tsf_frame_localize(tsf_frame *f, const char *tz, tsf_err *err)
{
    if (f->time_kind != TSF_TIME_EPOCH)
        TSF_FAIL(err, TSF_EINVAL,
                 "tz = %s applies to timestamps, but the time is an integer index (expected no "
                 "tz, or a time of dates and times)",
                 tz);
    tsf_tz *z = NULL;
    int rc = tsf_tz_load(&z, tz, err);
    if (rc != TSF_OK)
        return rc;
    for (size_t s = 0; !f->tz && s < f->n_series; s++) {
        size_t a = f->series_start[s], n = f->series_start[s + 1] - a;
        size_t i = tsf_tz_localize(z, f->time + a, n);
        if (i < n) {
            char row[64], lab[96];
            rc = tsf_err_set(err, TSF_EFORMAT,
                             "%s, %s: that local time does not exist in %s: the clocks skip it "
                             "(expected local times of tz = %s; is that the zone the times were "
                             "written in?)",
                             tsf_frame_series_label(f, s, lab, sizeof lab),
                             tsf_frame_row_label(f, a + i, row, sizeof row), tsf_tz_name(z),
                             tsf_tz_name(z));
            tsf_tz_free(z);
            return rc;
        }
    }
    rc = tsf_frame_set_tz(f, tsf_tz_name(z), err);
    tsf_tz_free(z);
    return rc;
}
