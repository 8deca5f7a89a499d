/* Names of series and rows in messages (tsflow/frame.h), so that every layer names data alike. */
#include <stdio.h>

#include "tsflow/frame.h"

char *tsf_frame_series_label(const tsf_frame *f, size_t s, char *buf, size_t n)
{
    if (f->series_ids && f->series_ids[s])
        snprintf(buf, n, "series \"%.80s\"", f->series_ids[s]);
    else if (f->n_series == 1)
        snprintf(buf, n, "the series");
    else
        snprintf(buf, n, "series #%zu", s);
    return buf;
}

size_t tsf_frame_series_of_row(const tsf_frame *f, size_t r)
{
    size_t lo = 0, hi = f->n_series; /* series_start[lo] <= r < series_start[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->series_start[mid] <= r)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

char *tsf_frame_row_label(const tsf_frame *f, size_t r, char *buf, size_t n)
{
    if (f->time_kind == TSF_TIME_EPOCH && r < f->n_rows) {
        char t[32];
        snprintf(buf, n, "row %zu (%s)", r, tsf_time_format(f->time_kind, f->time[r], t, sizeof t));
    } else {
        snprintf(buf, n, "row %zu", r);
    }
    return buf;
}
