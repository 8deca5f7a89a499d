/* libFuzzer harness for pipeline files: the INI parser (tsf_pipeline_parse) together with the
 * whole check pass (tsf_plan_make against the built-in stages) and the plan's text.
 *
 * The input is the file's text. Relative paths in it point into a scratch directory holding
 * small.csv and small.h5, so that stages' check callbacks get real files to look at. Nothing runs:
 * check never writes. Every problem must be reported as a diagnostic that names the file (and
 * usually a line); a failure with no diagnostic, a plan despite diagnostics or a message without a
 * location breaks an invariant. */
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "fuzz_common.h"
#include "runner.h"
#include "tsflow/io.h"

static tsf_registry *reg;

/* Write the files relative paths point to: small.csv (200 hourly rows of two columns, long
 * enough for windows, splits and backtests to pass their length checks) and small.h5 (the same
 * frame written by tsflow). */
static void stage_fixtures(void)
{
    char csv_path[512], h5_path[512];
    snprintf(csv_path, sizeof csv_path, "%s/small.csv", fuzz_dir());
    snprintf(h5_path, sizeof h5_path, "%s/small.h5", fuzz_dir());
    FILE *fp = fopen(csv_path, "w");
    if (!fp)
        abort();
    fprintf(fp, "time,load,temp\n");
    for (int i = 0; i < 200; i++)
        fprintf(fp, "2020-01-%02d %02d:00,%d.5,%d\n", 1 + i / 24, i % 24, (i * 7) % 23, i % 11);
    fclose(fp);
    tsf_frame *f = NULL;
    tsf_err err = TSF_ERR_INIT;
    if (tsf_csv_read(&f, csv_path, NULL, NULL, &err) != TSF_OK ||
        tsf_hdf5_write(f, h5_path, NULL, &err) != TSF_OK) {
        fprintf(stderr, "fuzz_pipeline: cannot stage fixtures: %s\n", err.msg);
        abort();
    }
    tsf_frame_free(f);
}

static void free_registry(void)
{
    tsf_registry_free(reg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tsf_err err = TSF_ERR_INIT;
    if (tsf_init() != TSF_OK || tsf_registry_alloc(&reg, &err) != TSF_OK ||
        tsf_registry_add_builtins(reg, &err) != TSF_OK) {
        fprintf(stderr, "fuzz_pipeline: %s\n", err.msg);
        abort();
    }
    atexit(free_registry);
    /* Checking an HDF5 input opens it: let libhdf5 keep its freed blocks for the next input
     * instead of returning them (its cache structures are large enough that the sanitizer's
     * allocator maps and unmaps them each time, a tenth of this harness's time). */
    H5set_free_list_limits(-1, -1, -1, -1, -1, -1);
    stage_fixtures();
    return 0;
}

/* Check a whole pipeline (already parsed, with any --set applied): the shared invariants of
 * this harness and fuzz_set. */
void fuzz_check_pipeline(const tsf_pipeline *p);
void fuzz_check_pipeline(const tsf_pipeline *p)
{
    tsf_plan *plan = NULL;
    tsf_diags diags = {0};
    tsf_err err = TSF_ERR_INIT;
    int rc = tsf_plan_make(&plan, p, reg, &diags, &err);
    if (rc == TSF_OK) {
        FUZZ_REQUIRE(plan, "check passed without a plan");
        FUZZ_REQUIRE(diags.n == 0, "check passed with %zu problems", diags.n);
        char *text = NULL;
        FUZZ_REQUIRE(tsf_plan_format(plan, &text, &err) == TSF_OK, "plan text: %s", err.msg);
        FUZZ_REQUIRE(text && *text, "empty plan text");
        free(text);
        tsf_plan_free(plan);
    } else {
        FUZZ_REQUIRE(!plan, "failed check left a plan");
        fuzz_check_error(rc, &err, NULL);
        FUZZ_REQUIRE(diags.n > 0 || rc == TSF_ENOMEM, "check failed with no problem listed: %s",
                     err.msg);
        size_t nlen = strlen(p->name);
        for (size_t i = 0; i < diags.n; i++) {
            const char *m = diags.v[i].msg;
            FUZZ_REQUIRE(m && *m, "problem %zu has no message", i);
            FUZZ_REQUIRE(!strncmp(m, p->name, nlen) || !strncmp(m, "--set ", 6),
                         "problem %zu does not say where: \"%s\"", i, m);
            FUZZ_REQUIRE(diags.v[i].code > TSF_OK && diags.v[i].code <= TSF_ECANCEL,
                         "problem %zu has status %d", i, diags.v[i].code);
        }
    }
    tsf_diags_clear(&diags);
}

#ifndef FUZZ_NO_PIPELINE_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tsf_pipeline *p = NULL;
    tsf_err err = TSF_ERR_INIT;
    int rc = tsf_pipeline_parse(&p, "fuzz.ini", fuzz_dir(), (const char *)data, size, &err);
    if (rc != TSF_OK) {
        FUZZ_REQUIRE(!p, "failed parse left a pipeline");
        fuzz_check_error(rc, &err, NULL);
        return 0;
    }
    fuzz_check_pipeline(p);
    tsf_pipeline_free(p);
    return 0;
}
#endif
