/* Ranks: tsflow across processes and machines with MPI (`mpirun -n N tsflow ...`).
 *
 * Every rank runs the same command on the same inputs. Work that can be spread (a backtest's
 * fits, the shards of a training batch) is split by a fixed assignment, and the results are
 * exchanged so that every rank then holds what a single process would have computed, bit for
 * bit; only rank 0 writes files (tsf_atomic_commit discards the others' outputs) and the
 * command line lets only rank 0 speak unless another fails.
 *
 * Built without MPI (meson -Dmpi=disabled, the default) these functions describe one rank of
 * one: rank 0, size 1, exchanges are copies. Built with MPI but run without mpirun (or before
 * tsf_par_init), also one rank. Only the thread that called tsf_par_init may call the
 * exchanges; tsf_par_rank and tsf_par_size may be called from any thread.
 */
#ifndef TSFLOW_PAR_H
#define TSFLOW_PAR_H

#include <stddef.h>

#include "tsflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when libtsflow was built with MPI, else 0. */
int tsf_par_built(void);

/* Join the MPI job (MPI_Init_thread, funneled: only this thread talks to MPI). A no-op in a
 * serial build. TSF_EIO when MPI cannot start. Call once, before any other thread starts. */
int tsf_par_init(int *argc, char ***argv, tsf_err *err) TSF_WUR;

/* Leave the job (MPI_Finalize, which waits for every rank). A no-op in a serial build. */
void tsf_par_finalize(void);

/* This process's rank in [0, size) and the number of ranks. */
size_t tsf_par_rank(void);
size_t tsf_par_size(void);

/* A region where each rank works alone on its own share (a backtest's fits): exchanges by code
 * inside it would pair different work on different ranks. Between tsf_par_local_begin and
 * tsf_par_local_end (nested; called by the thread of tsf_par_init, before any worker thread of
 * the region starts), tsf_par_team() is 1 and tsf_par_agree answers for this rank alone;
 * elsewhere tsf_par_team() is tsf_par_size(). Data-parallel training asks tsf_par_team() how
 * many ranks share its batches. */
void tsf_par_local_begin(void);
void tsf_par_local_end(void);
size_t tsf_par_team(void);

/* Wait for every rank. */
void tsf_par_barrier(void);

/* Every rank contributes n bytes at send (n may differ by rank and be 0); every rank receives
 * their concatenation in rank order in a new buffer *out (free()), and, when counts is not NULL,
 * the bytes of each rank in counts (size entries). TSF_ENOMEM or TSF_EIO (an MPI failure, or
 * another rank's failure notice: see tsf_par_notify_failure). */
int tsf_par_allgather(const void *send, size_t n, void **out, size_t *counts, tsf_err *err) TSF_WUR;

/* x (n) := the sum over ranks of each rank's x, added in rank order (0 + 1 + 2 ...), so every
 * rank gets the same bits. The result depends on how the terms were split among ranks: for sums
 * that must not depend on the number of ranks, exchange fixed parts with tsf_par_allgather and
 * add those in their own order. */
int tsf_par_sum(double *x, size_t n, tsf_err *err) TSF_WUR;

/* Whether every rank is ok: each gives ok (nonzero: fine), all receive 1 when all gave nonzero,
 * else 0 and in *first_bad (when not NULL) the lowest rank that did not. Called by every rank at
 * the same point (tsf_atomic_commit uses it so that rank 0 renames an output only when every
 * rank has made its copy). Called from a thread other than tsf_par_init's, it answers for this
 * rank alone. */
int tsf_par_agree(int ok, size_t *first_bad);

/* The rank that runs task k of a fixed list of n tasks spread over the ranks: round robin
 * (k mod size), which balances tasks that grow with k (expanding training windows). */
size_t tsf_par_owner(size_t k);

/* For a rank that failed, first: tell every other rank, without waiting. Each stops at its next
 * exchange (tsf_par_allgather, tsf_par_sum, tsf_par_agree, tsf_par_barrier: they wait for the
 * notice as well as for the exchange) with TSF_EIO naming this rank, so that it unwinds as on
 * any error (removing the temporaries of its outputs in flight) and fails in turn, and the job
 * can end without MPI_Abort. */
void tsf_par_notify_failure(void);

/* The rank whose failure notice this rank received first, SIZE_MAX when none (always with one
 * rank). */
size_t tsf_par_failed_peer(void);

/* For a rank that failed, then: whether every rank failed (each calls this with its exit code),
 * found within `seconds`; then *code becomes the largest code and the ranks may leave the job as
 * usual (tsf_par_finalize), without MPI_Abort, and *zero_told is 1 when rank 0 failed only
 * because another rank's notice stopped it (the ranks that failed on their own then say why),
 * 0 when it failed on its own (it has said why). 0 when another rank did not fail, or not in
 * time (one still computing): the caller then ends the job with tsf_par_abort. Always 0 with one
 * rank. */
int tsf_par_all_failed(int *code, int *zero_told, double seconds);

/* End every rank of the job with exit status code (MPI_Abort: the others receive SIGTERM). For
 * the command line, after it has reported the failure: the library itself never calls it. In a
 * serial build, or with one rank, it returns and the caller exits as usual. */
void tsf_par_abort(int code);

#ifdef __cplusplus
}
#endif

#endif
