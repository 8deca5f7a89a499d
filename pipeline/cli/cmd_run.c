/* tsflow run and tsflow check: load a pipeline file, apply --set, check everything before
 * anything runs (printing every problem, exit 2), then print the plan (check) or run it with a
 * progress display, stopping cleanly on Ctrl-C (exit 130) or SIGTERM (exit 143). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_pipeline.h"
#include "tsflow/atomic.h"
#include "tsflow/par.h"

static const char run_usage[] =
    "usage: tsflow run [OPTIONS] PIPELINE\n\n"
    "Check the pipeline file PIPELINE (an INI file of [step] sections; '-' reads standard\n"
    "input) exactly like 'tsflow check', then run its steps in order. Outputs are written\n"
    "atomically. Ctrl-C stops cleanly (no partial outputs; press it twice to quit at once).\n\n"
    "options:\n";

static const char check_usage[] =
    "usage: tsflow check [OPTIONS] PIPELINE\n\n"
    "Check the pipeline file PIPELINE without running anything: unknown stages and options,\n"
    "values, inputs, cycles, port types, input files, output directories, and what each stage\n"
    "can tell up front (lengths of series...). Prints every problem with its line (exit 2),\n"
    "or the plan: each step, its stage, what it reads, what it gives and the known shapes.\n\n"
    "options:\n";

/* Apply --set and check. On success *plan is set; prints every problem otherwise. */
static int check_pipeline(const cli_pipeline_args *a, const tsf_registry *reg, tsf_pipeline *pipe,
                          tsf_plan **plan, int run)
{
    tsf_err err = TSF_ERR_INIT;
    *plan = NULL;
    for (size_t i = 0; i < a->n_sets; i++) {
        if (tsf_pipeline_set(pipe, a->sets[i], &err) != TSF_OK) {
            cli_error("%s", err.msg);
            return err.code == TSF_ENOMEM ? CLI_FAIL : CLI_USAGE;
        }
    }
    tsf_diags diags = {0};
    int rc = tsf_plan_make(plan, pipe, reg, &diags, &err);
    if (rc != TSF_OK) {
        for (size_t i = 0; i < diags.n; i++)
            fprintf(stderr, "%s\n", diags.v[i].msg);
        if (!diags.n)
            cli_error("%s", err.msg);
        else
            cli_error("%s: %zu problem%s found; nothing %s", pipe->name, diags.n,
                      diags.n == 1 ? "" : "s", run ? "was run" : "runs");
        tsf_diags_clear(&diags);
        return rc == TSF_ENOMEM ? CLI_FAIL : CLI_USAGE;
    }
    tsf_diags_clear(&diags);
    return CLI_OK;
}

static int print_plan(const tsf_plan *plan, FILE *out)
{
    char *text = NULL;
    tsf_err err = TSF_ERR_INIT;
    if (tsf_plan_format(plan, &text, &err) != TSF_OK) {
        cli_error("%s", err.msg);
        return CLI_FAIL;
    }
    fputs(text, out);
    free(text);
    return CLI_OK;
}

/* check and run share everything up to the last step: load the file, then check (and run). */
static int load_and_execute(int argc, char **argv, const char *command_usage, int run)
{
    cli_pipeline_args a;
    char usage[4096];
    snprintf(usage, sizeof usage, "%s%s", command_usage, cli_pipeline_options_help());
    int rc = cli_pipeline_parse(&a, argc, argv, "psqv", 1, usage);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    tsf_pipeline *pipe = NULL;
    tsf_err err = TSF_ERR_INIT;
    if (tsf_pipeline_load(&pipe, a.pipeline, &err) != TSF_OK) {
        cli_error("%s", err.msg);
        rc = err.code == TSF_ENOMEM ? CLI_FAIL : CLI_USAGE;
    } else {
        rc = cli_pipeline_execute(pipe, &a, run);
    }
    tsf_pipeline_free(pipe);
    cli_pipeline_args_free(&a);
    return rc;
}

int cmd_check(int argc, char **argv)
{
    return load_and_execute(argc, argv, check_usage, 0);
}

/* ---- Signals ------------------------------------------------------------------------------- */

static volatile sig_atomic_t cancel_flag;
static volatile sig_atomic_t quiet_signals;

/* The first SIGINT or SIGTERM sets the cancel flag to the signal: the running stage stops at
 * its next check, no output is replaced (tsf_atomic_set_cancel_flag), and the exit status is
 * 128 + the signal. */
static void on_signal(int sig)
{
    /* Under mpirun a rank may wait in an exchange for a rank that is gone (MPI_Abort, or
     * mpirun passing on Ctrl-C, send SIGTERM): it could never stop cleanly, so it goes now. */
    if (cancel_flag || (sig == SIGTERM && tsf_par_size() > 1)) {
        /* Second signal: the stage did not stop in time. Remove temporaries and go. */
        static const char msg[] = "\ntsflow: stopped at once; temporary files removed\n";
        tsf_atomic_remove_all_signal_safe();
        if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
        }
        _exit(CLI_INTERRUPTED + sig);
    }
    cancel_flag = sig;
    if (!quiet_signals) {
        static const char msg[] = "\ntsflow: interrupted: stopping cleanly (press Ctrl-C again "
                                  "to quit at once)\n";
        if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
        }
    }
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    tsf_atomic_set_cancel_flag(&cancel_flag);
}

static void print_stats(const tsf_plan *plan, FILE *out, double total)
{
    size_t w = 4, ws = 5;
    for (size_t i = 0; i < plan->n_steps; i++) {
        if (strlen(plan->steps[i].src->name) > w)
            w = strlen(plan->steps[i].src->name);
        if (strlen(plan->steps[i].def->name) > ws)
            ws = strlen(plan->steps[i].def->name);
    }
    fprintf(out, "%-*s  %-*s  %10s  %14s\n", (int)w, "step", (int)ws, "stage", "time",
            "peak memory");
    for (size_t i = 0; i < plan->n_steps; i++) {
        const tsf_plan_step *s = &plan->steps[i];
        char t[32], m[32];
        if (!s->stats.ran)
            continue;
        cli_format_duration(s->stats.seconds, t, sizeof t);
        if (s->stats.peak_rss_kb >= 0)
            snprintf(m, sizeof m, "%.1f MiB", s->stats.peak_rss_kb / 1024.0);
        else
            snprintf(m, sizeof m, "?");
        fprintf(out, "%-*s  %-*s  %10s  %14s\n", (int)w, s->src->name, (int)ws, s->def->name, t, m);
    }
    char t[32], m[32] = "";
    long peak = -1;
    for (size_t i = 0; i < plan->n_steps; i++)
        if (plan->steps[i].stats.ran && plan->steps[i].stats.peak_rss_kb > peak)
            peak = plan->steps[i].stats.peak_rss_kb;
    if (peak >= 0)
        snprintf(m, sizeof m, "%.1f MiB", peak / 1024.0);
    cli_format_duration(total, t, sizeof t);
    if (m[0])
        fprintf(out, "%-*s  %-*s  %10s  %14s\n", (int)w, "total", (int)ws, "", t, m);
    else
        fprintf(out, "%-*s  %-*s  %10s\n", (int)w, "total", (int)ws, "", t);
    fprintf(out, "(peak memory: the process's peak resident set size during each step)\n");
}

int cli_pipeline_execute(tsf_pipeline *pipe, const cli_pipeline_args *a, int run)
{
    tsf_registry *reg = NULL;
    tsf_plan *plan = NULL;
    int rc;
    if ((rc = cli_registry(&reg, a)) != CLI_OK || (rc = check_pipeline(a, reg, pipe, &plan, run)))
        goto done;
    if (!run) {
        if (!a->quiet)
            rc = print_plan(plan, stdout);
        goto done;
    }
    if (a->verbose && (rc = print_plan(plan, stderr)) != CLI_OK)
        goto done;

    quiet_signals = a->quiet;
    catch_signals();
    cli_progress prog;
    cli_progress_init(&prog, stderr, a->quiet, a->verbose);
    tsf_run_hooks hooks = {0};
    cli_progress_hooks(&prog, &hooks);
    hooks.cancel = &cancel_flag;
    hooks.measure_memory = a->verbose; /* only when the table below shows it */
    tsf_err err = TSF_ERR_INIT;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status = tsf_plan_run(plan, &hooks, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double total = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    cli_progress_clear(&prog);
    if (status == TSF_ECANCEL) {
        cli_error("%s; outputs in progress were removed, previous outputs kept", err.msg);
        rc = CLI_INTERRUPTED + (cancel_flag ? (int)cancel_flag : SIGINT);
    } else if (status != TSF_OK) {
        cli_error("%s", err.msg);
        rc = CLI_FAIL;
    } else if (!a->quiet) {
        char t[32];
        cli_format_duration(total, t, sizeof t);
        fprintf(stderr, "%s: %zu step%s done in %s\n", pipe->name, plan->n_steps,
                plan->n_steps == 1 ? "" : "s", t);
    }
    if (a->verbose)
        print_stats(plan, stderr, total);
done:
    tsf_plan_free(plan);
    tsf_registry_free(reg);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    return load_and_execute(argc, argv, run_usage, 1);
}
