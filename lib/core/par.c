/* Ranks over MPI (see tsflow/par.h), or one rank of one when built without it (TSF_MPI 0).
 *
 * The exchanges are built from MPI_Allgather of the byte counts and one MPI_Bcast per rank in
 * pieces under 1 GiB: MPI counts are int, and a backtest's forecasts can pass 2 GiB. Sums add
 * the gathered terms in rank order on every rank, never through MPI_Allreduce, whose order of
 * additions is the library's choice and may differ between ranks and runs. Every exchange is
 * started nonblocking and waited for together with a failure notice from another rank, so that
 * a rank that failed alone (and will never join) stops the others at their next exchange rather
 * than leaving them blocked until MPI_Abort.
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

/* For tsf_par_all_failed and the failure notices alone, so that they can never be matched with
 * an exchange in progress. */
static MPI_Comm end_comm = MPI_COMM_NULL;
/* A failure notice from another rank (tsf_par_notify_failure): the receive is posted at init, and
 * every exchange waits for it as well as for its own completion. */
enum { TAG_FAILED = 1 };
static MPI_Request notice_req = MPI_REQUEST_NULL;
static int notice_buf;
#endif
static size_t failed_peer = SIZE_MAX; /* the rank whose notice came first */

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

size_t tsf_par_failed_peer(void)
{
    return failed_peer;
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
    if (par_size > 1 && (rc = MPI_Irecv(&notice_buf, 1, MPI_INT, MPI_ANY_SOURCE, TAG_FAILED,
                                        end_comm, &notice_req)) != MPI_SUCCESS)
        return mpi_fail(err, rc, "MPI_Irecv");
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
        if (notice_req != MPI_REQUEST_NULL) {
            MPI_Cancel(&notice_req);
            MPI_Wait(&notice_req, MPI_STATUS_IGNORE);
        }
        if (end_comm != MPI_COMM_NULL)
            MPI_Comm_free(&end_comm);
        MPI_Finalize();
    }
}

/* Whether another rank's failure notice has arrived (without waiting). */
static int notice_arrived(void)
{
    int done = 0;
    MPI_Status st;
    if (failed_peer == SIZE_MAX && notice_req != MPI_REQUEST_NULL &&
        MPI_Test(&notice_req, &done, &st) == MPI_SUCCESS && done)
        failed_peer = (size_t)st.MPI_SOURCE;
    return failed_peer != SIZE_MAX;
}

static int peer_failed(tsf_err *err)
{
    TSF_FAIL(err, TSF_EIO, "rank %zu of %zu failed, which stops the run (its message says why)",
             failed_peer, par_size);
}

/* Complete *req (an exchange started by this rank), or stop waiting when another rank's failure
 * notice arrives first: that rank never joins the exchange, which is left pending (the job is
 * ending). TSF_EIO then, naming the rank. */
static int wait_exchange(MPI_Request *req, const char *what, tsf_err *err)
{
    MPI_Request both[2] = {*req, notice_req};
    MPI_Status st;
    int idx = MPI_UNDEFINED, rc = MPI_Waitany(2, both, &idx, &st);
    *req = both[0];
    notice_req = both[1];
    if (rc != MPI_SUCCESS)
        return mpi_fail(err, rc, what);
    if (idx == 1) {
        failed_peer = (size_t)st.MPI_SOURCE;
        return peer_failed(err);
    }
    return TSF_OK;
}

void tsf_par_notify_failure(void)
{
    for (size_t r = 0; r < par_size && end_comm != MPI_COMM_NULL; r++) {
        static const int one = 1;
        MPI_Request req;
        if (r != par_rank &&
            MPI_Isend(&one, 1, MPI_INT, (int)r, TAG_FAILED, end_comm, &req) == MPI_SUCCESS)
            MPI_Request_free(&req); /* a small message: it goes out on its own */
    }
}

void tsf_par_barrier(void)
{
    MPI_Request req;
    if (par_size > 1 && !notice_arrived() && MPI_Ibarrier(MPI_COMM_WORLD, &req) == MPI_SUCCESS)
        (void)wait_exchange(&req, "MPI_Ibarrier", NULL);
}

void tsf_par_abort(int code)
{
    if (par_size > 1)
        MPI_Abort(MPI_COMM_WORLD, code);
}

int tsf_par_all_failed(int *code, int *zero_told, double seconds)
{
    *zero_told = 0;
    if (par_size == 1 || end_comm == MPI_COMM_NULL)
        return 0;
    /* each rank's code and whether an exchange stopped it (it failed only because told) */
    static int mine[2], *all; /* left to the exchange when the answer does not come in time */
    int done = 0;
    mine[0] = *code;
    mine[1] = failed_peer != SIZE_MAX;
    if (!(all = malloc(2 * par_size * sizeof *all)))
        return 0;
    MPI_Request req;
    if (MPI_Iallgather(mine, 2, MPI_INT, all, 2, MPI_INT, end_comm, &req) != MPI_SUCCESS) {
        free(all);
        return 0;
    }
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (double waited = 0; !done && waited < seconds; waited += 0.01) {
        if (MPI_Test(&req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return 0;
        if (!done)
            nanosleep(&pause, NULL);
    }
    if (!done)
        return 0; /* the request stays pending: the caller ends the job */
    for (size_t r = 0; r < par_size; r++)
        if (all[2 * r] > *code)
            *code = all[2 * r];
    *zero_told = all[1];
    free(all);
    return 1;
}

int tsf_par_allgather(const void *send, size_t n, void **out, size_t *counts, tsf_err *err)
{
    *out = NULL;
    static uint64_t mine; /* static: a pending exchange may still read it (wait_exchange) */
    mine = n;
    uint64_t *all = malloc(par_size * sizeof *all);
    if (!all)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory exchanging %zu bytes between ranks", n);
    all[0] = mine;
    MPI_Request req = MPI_REQUEST_NULL;
    int rc = TSF_OK;
    if (par_size > 1) {
        if (notice_arrived())
            rc = peer_failed(err);
        else if ((rc = MPI_Iallgather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, MPI_COMM_WORLD,
                                      &req)) != MPI_SUCCESS)
            rc = mpi_fail(err, rc, "MPI_Iallgather of the byte counts");
        else
            rc = wait_exchange(&req, "MPI_Iallgather of the byte counts", err);
    }
    if (rc != TSF_OK) {
        if (req == MPI_REQUEST_NULL)
            free(all); /* else the pending exchange still owns it */
        return rc;
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
        for (size_t done = 0; par_size > 1 && done < len && rc == TSF_OK;) {
            int piece = len - done < PIECE ? (int)(len - done) : PIECE;
            rc = MPI_Ibcast(buf + at + done, piece, MPI_BYTE, (int)r, MPI_COMM_WORLD, &req);
            rc = rc == MPI_SUCCESS ? wait_exchange(&req, "MPI_Ibcast", err)
                                   : mpi_fail(err, rc, "MPI_Ibcast");
            done += (size_t)piece;
        }
        if (rc != TSF_OK) {
            free(all);
            if (req == MPI_REQUEST_NULL)
                free(buf); /* else the pending exchange still owns it */
            return rc;
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

void tsf_par_notify_failure(void)
{
}

int tsf_par_all_failed(int *code, int *zero_told, double seconds)
{
    (void)code;
    (void)seconds;
    *zero_told = 0;
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
        static int mine;
        int *all = malloc(par_size * sizeof *all);
        MPI_Request req = MPI_REQUEST_NULL;
        mine = ok != 0;
        if (!all || notice_arrived() ||
            MPI_Iallgather(&mine, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD, &req) !=
                MPI_SUCCESS ||
            wait_exchange(&req, "MPI_Iallgather", NULL) != TSF_OK) {
            if (req == MPI_REQUEST_NULL)
                free(all); /* else the pending exchange still owns it */
            if (first_bad && failed_peer != SIZE_MAX)
                *first_bad = failed_peer;
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
