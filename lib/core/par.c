/* Ranks over MPI (see tsflow/par.h), or one rank of one when built without it (TSF_MPI 0).
 *
 * The exchanges are built from MPI_Allgather of the byte counts and one MPI_Bcast per rank in
 * pieces under 1 GiB: MPI counts are int, and a backtest's forecasts can pass 2 GiB. Sums add
 * the gathered terms in rank order on every rank, never through MPI_Allreduce, whose order of
 * additions is the library's choice and may differ between ranks and runs.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "tsflow/par.h"

#if TSF_MPI
#include <mpi.h>
#include <time.h>

/* For tsf_par_all_failed alone, so that it can never be matched with an exchange in progress. */
static MPI_Comm end_comm = MPI_COMM_NULL;
#endif

static size_t par_rank = 0, par_size = 1;
#if TSF_MPI
static pthread_t par_thread; /* the thread that joined the job: the only one to talk to MPI */
#endif

int tsf_par_built(void)
{
    return TSF_MPI;
}

size_t tsf_par_rank(void)
{
    return par_rank;
}

size_t tsf_par_size(void)
{
    return par_size;
}

static size_t local_depth;

void tsf_par_local_begin(void)
{
    local_depth++;
}

void tsf_par_local_end(void)
{
    local_depth--;
}

size_t tsf_par_team(void)
{
    return local_depth ? 1 : par_size;
}

size_t tsf_par_owner(size_t k)
{
    return k % par_size;
}

#if TSF_MPI

enum { PIECE = 1 << 30 };

/* MPI's own text for a failed call, for messages. */
static int mpi_fail(tsf_err *err, int code, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", code);
    TSF_FAIL(err, TSF_EIO, "rank %zu of %zu: %s failed: %s", par_rank, par_size, what, text);
}

int tsf_par_init(int *argc, char ***argv, tsf_err *err)
{
    int flag = 0, provided = 0, rc;
    if (MPI_Initialized(&flag) == MPI_SUCCESS && flag)
        return TSF_OK;
    if ((rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided)) != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Init_thread");
    /* Errors come back as codes (reported with the rank) instead of ending the job unnamed. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int r = 0, n = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    par_rank = (size_t)r;
    par_size = (size_t)n;
    par_thread = pthread_self();
    if ((rc = MPI_Comm_dup(MPI_COMM_WORLD, &end_comm)) != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Comm_dup");
    if (provided < MPI_THREAD_FUNNELED)
        TSF_FAIL(err, TSF_EIO,
                 "rank %zu: the MPI library offers no thread support (expected at least "
                 "MPI_THREAD_FUNNELED: tsflow computes on threads between exchanges)",
                 par_rank);
    return TSF_OK;
}

void tsf_par_finalize(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) {
        if (end_comm != MPI_COMM_NULL)
            MPI_Comm_free(&end_comm);
        MPI_Finalize();
    }
}

void tsf_par_barrier(void)
{
    if (par_size > 1)
        MPI_Barrier(MPI_COMM_WORLD);
}

void tsf_par_abort(int code)
{
    if (par_size > 1)
        MPI_Abort(MPI_COMM_WORLD, code);
}

int tsf_par_all_failed(int *code, double seconds)
{
    if (par_size == 1 || end_comm == MPI_COMM_NULL)
        return 0;
    int mine = *code, worst = 0, done = 0;
    MPI_Request req;
    if (MPI_Iallreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, end_comm, &req) != MPI_SUCCESS)
        return 0;
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (double waited = 0; !done && waited < seconds; waited += 0.01) {
        if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return 0;
        if (!done)
            nanosleep(&pause, NULL);
    }
    if (done)
        *code = worst;
    return done; /* else the request stays pending: the caller ends the job */
}

int tsf_par_allgather(const void *send, size_t n, void **out, size_t *counts, tsf_err *err)
{
    *out = NULL;
    uint64_t mine = n, *all = malloc(par_size * sizeof *all);
    if (!all)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory exchanging %zu bytes between ranks", n);
    int rc = par_size > 1
                 ? MPI_Allgather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD)
                 : (all[0] = mine, MPI_SUCCESS);
    if (rc != MPI_SUCCESS) {
        free(all);
        return mpi_fail(err, rc, "MPI_Allgather of the byte counts");
    }
    size_t total = 0;
    for (size_t r = 0; r < par_size; r++)
        total += (size_t)all[r];
    unsigned char *buf = malloc(total ? total : 1);
    if (!buf) {
        free(all);
        TSF_FAIL(err, TSF_ENOMEM, "out of memory receiving %zu bytes from the ranks", total);
    }
    size_t at = 0;
    for (size_t r = 0; r < par_size; r++) {
        size_t len = (size_t)all[r];
        if (r == par_rank && len)
            memcpy(buf + at, send, len);
        for (size_t done = 0; par_size > 1 && done < len && rc == MPI_SUCCESS;) {
            int piece = len - done < PIECE ? (int)(len - done) : PIECE;
            rc = MPI_Bcast(buf + at + done, piece, MPI_BYTE, (int)r, MPI_COMM_WORLD);
            done += (size_t)piece;
        }
        if (rc != MPI_SUCCESS) {
            free(all);
            free(buf);
            return mpi_fail(err, rc, "MPI_Bcast");
        }
        if (counts)
            counts[r] = len;
        at += len;
    }
    free(all);
    *out = buf;
    return TSF_OK;
}

#else /* one rank of one */

int tsf_par_init(int *argc, char ***argv, tsf_err *err)
{
    (void)argc;
    (void)argv;
    (void)err;
    return TSF_OK;
}

void tsf_par_finalize(void)
{
}

void tsf_par_barrier(void)
{
}

void tsf_par_abort(int code)
{
    (void)code;
}

int tsf_par_all_failed(int *code, double seconds)
{
    (void)code;
    (void)seconds;
    return 0;
}

int tsf_par_allgather(const void *send, size_t n, void **out, size_t *counts, tsf_err *err)
{
    unsigned char *buf = malloc(n ? n : 1);
    if (!(*out = buf))
        TSF_FAIL(err, TSF_ENOMEM, "out of memory copying %zu bytes", n);
    if (n)
        memcpy(buf, send, n);
    if (counts)
        counts[0] = n;
    return TSF_OK;
}

#endif

int tsf_par_agree(int ok, size_t *first_bad)
{
    if (first_bad)
        *first_bad = ok ? SIZE_MAX : par_rank;
#if TSF_MPI
    if (tsf_par_team() > 1 && pthread_equal(pthread_self(), par_thread)) {
        int mine = ok != 0, *all = malloc(par_size * sizeof *all);
        if (!all ||
            MPI_Allgather(&mine, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD) != MPI_SUCCESS) {
            free(all);
            return 0;
        }
        size_t r = 0;
        while (r < par_size && all[r])
            r++;
        free(all);
        if (first_bad)
            *first_bad = r < par_size ? r : SIZE_MAX;
        return r == par_size;
    }
#endif
    return ok != 0;
}

int tsf_par_sum(double *x, size_t n, tsf_err *err)
{
    if (par_size == 1)
        return TSF_OK;
    void *all;
    int rc = tsf_par_allgather(x, n * sizeof *x, &all, NULL, err);
    if (rc != TSF_OK)
        return rc;
    const double *v = all;
    for (size_t i = 0; i < n; i++) {
        double s = v[i];
        for (size_t r = 1; r < par_size; r++)
            s += v[r * n + i];
        x[i] = s;
    }
    free(all);
    return TSF_OK;
}
