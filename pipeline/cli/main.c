/* tsflow: the command-line front end. Dispatches to the subcommands listed in commands.def. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "cli.h"
#include "tsflow/atomic.h"
#include "tsflow/error.h"
#include "tsflow/io.h"

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
#define CLI_COMMAND(name, fn, summary) {name, fn, summary},
#include "commands.def"
#undef CLI_COMMAND
};

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tsflow: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: tsflow [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'tsflow COMMAND --help' describes a command.\n"
                 "exit status: 0 ok, 1 failure, 2 usage or pipeline error, 130 interrupted\n"
                 "(Ctrl-C), 143 terminated (SIGTERM)\n");
}

/* Commands without a cancel flag of their own (inspect, convert) stop at once on Ctrl-C or
 * SIGTERM: remove the temporaries of outputs in flight, then exit 130 (SIGINT) or 143
 * (SIGTERM). `tsflow run` and the pipeline commands install their own handler, which lets
 * stages stop between batches, folds and datasets. */
static void on_signal(int sig)
{
    tsf_atomic_remove_all_signal_safe();
    _exit(CLI_INTERRUPTED + sig);
}

static void put(const char *s)
{
    ssize_t n = write(STDERR_FILENO, s, strlen(s));
    (void)n;
}

/* Fail on a damaged HDF5 file that broke libhdf5 (async-signal-safe): name it, say what the
 * library did, remove the temporaries of outputs in flight, exit 1 like any other bad input. */
static void fail_damaged_hdf5(const char *path, const char *what, const char *why)
{
    tsf_atomic_remove_all_signal_safe();
    put("tsflow: ");
    put(path);
    put(": the HDF5 library ");
    put(what);
    put(why);
    put("): its structure is damaged (expected an intact HDF5 file; 'h5dump -H' on it shows where "
        "it breaks); nothing was written\n");
    _exit(CLI_FAIL);
}

/* A fatal signal. libhdf5 1.10 crashes inside the library on some damaged files
 * (tests/fuzz/README.md): when it was reading one, name the file and fail like any other bad
 * input. Otherwise it is a bug of ours: the handler that was there before (the default action
 * and its core dump, or a sanitizer's report) gets the fault when it recurs. Temporaries of
 * outputs in flight are removed either way. */
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static struct sigaction fatal_previous[sizeof fatal_signals / sizeof fatal_signals[0]];

static void on_fatal(int sig)
{
    tsf_atomic_remove_all_signal_safe();
    const char *path = tsf_hdf5_parsing();
    if (!path) {
        for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
            if (fatal_signals[i] == sig)
                sigaction(sig, &fatal_previous[i], NULL);
        raise(sig); /* delivered on return; a fault would also recur */
        return;
    }
    fail_damaged_hdf5(path, "crashed reading this file (",
                      sig == SIGSEGV  ? "segmentation fault"
                      : sig == SIGBUS ? "bus error"
                      : sig == SIGFPE ? "arithmetic fault"
                      : sig == SIGILL ? "illegal instruction"
                                      : "abort");
}

/* libhdf5 1.10 also loops for ever on some damaged files: the readers set a deadline around
 * the reads where it does (tsf_hdf5_deadline), and this thread ends the process when one
 * passes, naming the file, like a crash. */
static void *hdf5_watchdog(void *unused)
{
    (void)unused;
    for (;;) {
        struct timespec pause = {0, 200 * 1000 * 1000}, now;
        nanosleep(&pause, NULL);
        double deadline = tsf_hdf5_deadline();
        clock_gettime(CLOCK_MONOTONIC, &now);
        const char *path = tsf_hdf5_parsing();
        if (deadline <= 0 || (double)now.tv_sec + 1e-9 * (double)now.tv_nsec < deadline || !path)
            continue;
        fail_damaged_hdf5(path, "stopped making progress reading this file (",
                          "it loops on a damaged heap of variable-length data");
    }
    return NULL;
}

static void watch_hdf5_reads(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, hdf5_watchdog, NULL) == 0) /* else only that safety is lost */
        pthread_detach(t);
}

static void catch_fatal_signals(void)
{
    static char alt_stack[1 << 16]; /* the handler still runs after a stack overflow */
    stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack};
    sigaltstack(&ss, NULL);
    struct sigaction sa = {.sa_handler = on_fatal, .sa_flags = SA_ONSTACK};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
        sigaction(fatal_signals[i], &sa, &fatal_previous[i]);
}

static int run_command(int argc, char **argv)
{
    if (tsf_init() != TSF_OK) {
        cli_error("could not initialise the HDF5 library");
        return CLI_FAIL;
    }
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("tsflow %s (git %s)\n", tsf_version(), tsf_git_commit());
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        (!strcmp(argv[1], "help") && argc == 2)) {
        usage(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    cli_error("unknown command \"%s\" (expected one of the commands 'tsflow --help' lists)",
              argv[1]);
    return CLI_USAGE;
}

int main(int argc, char **argv)
{
    /* A file-size limit (ulimit -f) must give a write error we can report, not a kill. */
    signal(SIGXFSZ, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    catch_fatal_signals();
    /* Before any thread of ours: MPI is told only this thread will talk to it. */
    if (cli_ranks_start(&argc, &argv) != CLI_OK)
        return CLI_FAIL;
    watch_hdf5_reads();
    return cli_ranks_end(run_command(argc, argv));
}
