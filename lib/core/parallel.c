/* tsflow's own parallel loops (see core.h): a fork-join over independent tasks, and the
 * OpenBLAS thread count around them.
 *
 * The workers are started on first use and kept: a recurrent network's forward pass is a few
 * hundred microseconds at the small sizes, and starting a thread costs 20-40 of them. An idle
 * worker spins for a short while (the next region of the same pass usually follows within
 * microseconds) and then sleeps on a condition variable, so it never holds a core for long
 * while the caller computes alone (OpenBLAS's own workers spin for far longer, which is why
 * BLAS is made serial around these regions). One region uses the pool at a time; a region
 * started while another runs (threads of a caller's own) starts threads of its own instead.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "core.h"

/* Under valgrind threads take turns: a spinning thread only delays the one it waits for. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* OpenBLAS's thread count (cblas.h is kept out: it clashes with GSL's declarations). */
extern void openblas_set_num_threads(int n);
extern int openblas_get_num_threads(void);

static pthread_mutex_t serial_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t serial_depth;
static int serial_saved;

size_t tsf__threads(void)
{
    int n = openblas_get_num_threads();
    return n > 1 ? (size_t)n : 1;
}

void tsf__blas_serial_begin(void)
{
    pthread_mutex_lock(&serial_lock);
    if (serial_depth++ == 0) {
        serial_saved = openblas_get_num_threads();
        if (serial_saved > 1)
            openblas_set_num_threads(1);
    }
    pthread_mutex_unlock(&serial_lock);
}

void tsf__blas_serial_end(void)
{
    pthread_mutex_lock(&serial_lock);
    if (--serial_depth == 0 && serial_saved > 1)
        openblas_set_num_threads(serial_saved);
    pthread_mutex_unlock(&serial_lock);
}

typedef struct share {
    size_t n, threads;
    void (*task)(void *ctx, size_t k);
    void *ctx;
} share;

/* Thread t of a region runs tasks t, t + threads, ... */
static void run_share(const share *sh, size_t t)
{
    for (size_t k = t; k < sh->n; k += sh->threads)
        sh->task(sh->ctx, k);
}

enum {
    MAX_THREADS = 64,
    SPINS = 2000 /* polling before sleeping: about 50 us (a pause is 25 ns here) */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static struct pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;           /* a new region (or more workers wanted) */
    pthread_cond_t done;           /* the last worker finished its share */
    atomic_flag busy;              /* a region owns the pool */
    atomic_size_t generation;      /* regions started */
    atomic_size_t pending;         /* workers still running the current region */
    const share *sh;               /* the current region */
    size_t n_workers;              /* started, numbered 1 .. n_workers */
    size_t sleeping_on_done;       /* the caller sleeps waiting for pending == 0 */
    size_t start_gen[MAX_THREADS]; /* the generation each worker was started in */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER,
          .busy = ATOMIC_FLAG_INIT};

static int spins = SPINS; /* 0 under valgrind (set once, before the first worker starts) */

static void *pool_worker(void *arg)
{
    size_t t = (size_t)(uintptr_t)arg, seen = pool.start_gen[t];
    for (;;) {
        size_t gen = seen;
        for (int i = 0; i < spins && (gen = atomic_load(&pool.generation)) == seen; i++)
            cpu_relax();
        if (gen == seen) {
            pthread_mutex_lock(&pool.lock);
            while ((gen = atomic_load(&pool.generation)) == seen)
                pthread_cond_wait(&pool.wake, &pool.lock);
            pthread_mutex_unlock(&pool.lock);
        }
        seen = gen;
        const share *sh = pool.sh;
        if (t < sh->threads)
            run_share(sh, t);
        if (atomic_fetch_sub(&pool.pending, 1) == 1) {
            pthread_mutex_lock(&pool.lock);
            if (pool.sleeping_on_done)
                pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
    }
    return NULL;
}

/* In a child after fork() the workers do not exist: start afresh. */
static void pool_after_fork(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    atomic_flag_clear(&pool.busy);
    pool.n_workers = 0;
    pool.sleeping_on_done = 0;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void pool_init(void)
{
    if (RUNNING_ON_VALGRIND)
        spins = 0;
    pthread_atfork(NULL, NULL, pool_after_fork);
}

/* Run a region on the pool, which the caller owns; returns 0 if fewer than `threads` workers
 * could be had (nothing has run then). */
static int pool_run(const share *sh)
{
    pthread_once(&init_once, pool_init);
    while (pool.n_workers + 1 < sh->threads) {
        pthread_t id;
        pthread_attr_t attr;
        int ok = pthread_attr_init(&attr) == 0;
        ok = ok && pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0;
        size_t t = pool.n_workers + 1;
        /* the new worker waits for the generation after this one, whenever it starts */
        pool.start_gen[t] = atomic_load(&pool.generation);
        ok = ok && pthread_create(&id, &attr, pool_worker, (void *)(uintptr_t)t) == 0;
        pthread_attr_destroy(&attr);
        if (!ok)
            return 0;
        pool.n_workers++;
    }
    pool.sh = sh;
    atomic_store(&pool.pending, pool.n_workers);
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add(&pool.generation, 1);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    run_share(sh, 0);
    for (int i = 0; i < spins && atomic_load(&pool.pending) != 0; i++)
        cpu_relax();
    if (atomic_load(&pool.pending) != 0) {
        pthread_mutex_lock(&pool.lock);
        pool.sleeping_on_done = 1;
        while (atomic_load(&pool.pending) != 0)
            pthread_cond_wait(&pool.done, &pool.lock);
        pool.sleeping_on_done = 0;
        pthread_mutex_unlock(&pool.lock);
    }
    return 1;
}

typedef struct spawned {
    const share *sh;
    size_t t;
    pthread_t id;
} spawned;

static void *spawned_main(void *arg)
{
    const spawned *w = arg;
    run_share(w->sh, w->t);
    return NULL;
}

/* Threads started for this region only (the pool is taken or could not grow). */
static void spawn_run(const share *sh)
{
    spawned w[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (size_t t = 1; t < sh->threads; t++) {
        w[t] = (spawned){.sh = sh, .t = t};
        started[t] = pthread_create(&w[t].id, NULL, spawned_main, &w[t]) == 0;
    }
    run_share(sh, 0);
    for (size_t t = 1; t < sh->threads; t++) {
        if (started[t])
            pthread_join(w[t].id, NULL);
        else
            run_share(sh, t); /* could not start: the caller does its share */
    }
}

void tsf__parallel(size_t n, size_t threads, void (*task)(void *ctx, size_t k), void *ctx)
{
    if (threads > n)
        threads = n;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads <= 1) {
        for (size_t k = 0; k < n; k++)
            task(ctx, k);
        return;
    }
    share sh = {.n = n, .threads = threads, .task = task, .ctx = ctx};
    tsf__blas_serial_begin();
    int pooled = 0;
    if (!atomic_flag_test_and_set(&pool.busy)) {
        pooled = pool_run(&sh);
        atomic_flag_clear(&pool.busy);
    }
    if (!pooled)
        spawn_run(&sh);
    tsf__blas_serial_end();
}
