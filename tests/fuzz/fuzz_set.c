/* libFuzzer harness for the --set option parser (tsf_pipeline_set) and the values it feeds to
 * the check pass.
 *
 * The input is split at newlines into --set assignments ("STEP.KEY=VALUE"), applied in order to
 * a fixed pipeline (ingest.csv of a staged CSV, export.csv and export.hdf5 steps); then the
 * whole pipeline is checked as fuzz_pipeline does. A refused assignment must say why and name
 * itself ("--set ...: "). */
#define FUZZ_NO_PIPELINE_MAIN
#include "fuzz_pipeline.c"

static const char base_pipeline[] = "[data]\n"
                                    "stage = ingest.csv\n"
                                    "path = small.csv\n"
                                    "\n"
                                    "[out]\n"
                                    "stage = export.csv\n"
                                    "input = data\n"
                                    "path = out.csv\n"
                                    "\n"
                                    "[h5]\n"
                                    "stage = export.hdf5\n"
                                    "input = data\n"
                                    "path = out.h5\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tsf_pipeline *p = NULL;
    tsf_err err = TSF_ERR_INIT;
    FUZZ_REQUIRE(tsf_pipeline_parse(&p, "base.ini", fuzz_dir(), base_pipeline,
                                    sizeof base_pipeline - 1, &err) == TSF_OK,
                 "%s", err.msg);
    char *text = malloc(size + 1);
    FUZZ_REQUIRE(text, "out of memory");
    memcpy(text, data, size);
    text[size] = '\0';
    int n_ok = 0;
    for (char *save = NULL, *a = strtok_r(text, "\n", &save); a; a = strtok_r(NULL, "\n", &save)) {
        tsf_err e = TSF_ERR_INIT;
        int rc = tsf_pipeline_set(p, a, &e);
        if (rc == TSF_OK) {
            n_ok++;
            continue;
        }
        fuzz_check_error(rc, &e, rc == TSF_ENOMEM ? NULL : "--set ");
    }
    (void)n_ok;
    fuzz_check_pipeline(p);
    tsf_pipeline_free(p);
    free(text);
    return 0;
}
