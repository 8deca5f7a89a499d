/* CSV on the real ETT files (../shared/datasets/ett): values bit-identical to pandas. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "tsflow/io.h"

/* pandas reads the file with float_precision="round_trip" and dumps the value columns as raw
 * little-endian float64, column after column; it also counts the values where its default
 * (faster, "high") precision gives another double. */
static const char *dump_py =
    "import sys, numpy as np, pandas as pd\n"
    "rt = pd.read_csv(sys.argv[1], float_precision='round_trip')\n"
    "hi = pd.read_csv(sys.argv[1])\n"
    "v = rt.iloc[:, 1:].to_numpy(dtype='<f8')\n"
    "v.T.copy().tofile(sys.argv[2])\n"
    "print(len(rt), v.shape[1], int((v != hi.iloc[:, 1:].to_numpy(dtype='<f8')).sum()))\n";

static void compare_with_pandas(const char *rel, size_t rows)
{
    TSFT_NEED_SHARED(path, rel);
    tsft_need_python_modules("pandas, numpy");
    const char *bin = tsft_path(tsft_tmpdir(), "values.f64");
    char *out = NULL, *err = NULL;
    cr_assert_eq(tsft_python(dump_py, &out, &err, path, bin, NULL), 0, "%s", err);
    size_t n_rows, n_cols, differ;
    cr_assert_eq(sscanf(out, "%zu %zu %zu", &n_rows, &n_cols, &differ), 3, "%s", out);
    tsf_frame *f = NULL;
    tsf_err e = TSF_ERR_INIT;
    tsf_csv_info info;
    cr_assert_eq(tsf_csv_read(&f, path, NULL, &info, &e), TSF_OK, "%s", e.msg);
    cr_assert_eq(f->n_rows, rows);
    cr_assert_eq(n_rows, rows);
    cr_assert_eq(f->n_cols, n_cols);
    cr_assert_eq(info.n_missing, 0);
    size_t len;
    char *raw = tsft_read_file(bin, &len);
    cr_assert_eq(len, rows * n_cols * sizeof(double));
    for (size_t j = 0; j < n_cols; j++) {
        double *want = malloc(rows * sizeof *want);
        memcpy(want, raw + j * rows * sizeof(double), rows * sizeof(double));
        tsft_assert_identical(f->cols[j], want, rows, f->col_names[j]);
        free(want);
    }
    cr_log_info("%s: %zu values bit-identical to pandas round_trip; pandas' default precision "
                "gives another double for %zu of them",
                rel, rows * n_cols, differ);
    free(raw);
    tsf_frame_free(f);
}

Test(ett, ettm1_values_are_bit_identical_to_pandas_round_trip)
{
    compare_with_pandas("ett/ETTm1.csv", 69680);
}

Test(ett, etth1_values_are_bit_identical_to_pandas_round_trip)
{
    compare_with_pandas("ett/ETTh1.csv", 17420);
}

Test(ett, ettm2_values_are_bit_identical_to_pandas_round_trip)
{
    compare_with_pandas("ett/ETTm2.csv", 69680);
}

Test(ett, etth2_values_are_bit_identical_to_pandas_round_trip)
{
    compare_with_pandas("ett/ETTh2.csv", 17420);
}

Test(ett, ettm1_round_trips_through_the_writer_to_the_same_text_values)
{
    TSFT_NEED_SHARED(path, "ett/ETTm1.csv");
    tsf_frame *f = NULL, *g = NULL;
    tsf_err e = TSF_ERR_INIT;
    cr_assert_eq(tsf_csv_read(&f, path, NULL, NULL, &e), TSF_OK, "%s", e.msg);
    cr_assert_eq(f->step, 900 * TSF_US_PER_S);
    const char *out = tsft_path(tsft_tmpdir(), "ettm1.csv");
    cr_assert_eq(tsf_csv_write(f, out, &e), TSF_OK, "%s", e.msg);
    cr_assert_eq(tsf_csv_read(&g, out, NULL, NULL, &e), TSF_OK, "%s", e.msg);
    cr_assert_eq(g->n_rows, f->n_rows);
    for (size_t r = 0; r < f->n_rows; r++)
        cr_assert_eq(g->time[r], f->time[r]);
    for (size_t j = 0; j < f->n_cols; j++)
        tsft_assert_identical(g->cols[j], f->cols[j], f->n_rows, f->col_names[j]);
    tsf_frame_free(f);
    tsf_frame_free(g);
}
