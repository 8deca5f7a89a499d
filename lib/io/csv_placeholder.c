/* TEMPORARY: placeholder until the CSV reader lands. Delete when lib/io/csv_*.c exist. */
#include "tsflow/io.h"

void tsf_csv_options_init(tsf_csv_options *opt)
{
    (void)opt;
}

int tsf_csv_read(tsf_frame **out, const char *path, const tsf_csv_options *opt, tsf_csv_info *info,
                 tsf_err *err)
{
    (void)opt;
    (void)info;
    *out = NULL;
    TSF_FAIL(err, TSF_EIO, "%s: CSV reader not built yet", path);
}

int tsf_csv_write(const tsf_frame *f, const char *path, tsf_err *err)
{
    (void)f;
    TSF_FAIL(err, TSF_EIO, "%s: CSV writer not built yet", path);
}
