/* Internals shared by the runner's files (tsf__ prefix): not part of runner.h's API. */
#ifndef TSFLOW_RUNNER_INTERNAL_H
#define TSFLOW_RUNNER_INTERNAL_H

#include <stddef.h>

#include "runner.h"

/* Size and alignment of the C field an option type stores; 0 for an unknown type. */
size_t tsf__opt_field_size(tsf_opt_type t);
size_t tsf__opt_field_align(tsf_opt_type t);

/* Option, port and step names: [a-z0-9_]+ (options, ports); stage names: such words joined by
 * '.'; step names: [A-Za-z0-9_-]+. */
int tsf__is_ident(const char *s);
int tsf__is_stage_name(const char *s);
int tsf__is_step_name(const char *s);

/* Quote a user-supplied text for a message: at most ~60 characters, control characters
 * escaped, with surrounding double quotes. Returns buf. */
const char *tsf__quote(const char *text, char *buf, size_t n);

/* The reserved keys of a step. */
int tsf__is_reserved_key(const char *key);

/* Append to a growable string; returns 0 on success, -1 when out of memory. */
typedef struct tsf__buf {
    char *s;
    size_t len, cap;
    int failed;
} tsf__buf;
void tsf__buf_printf(tsf__buf *b, const char *fmt, ...) TSF_PRINTF(2, 3);

/* The context a stage's callbacks receive: the public part first, then the runner's. */
enum { TSF__PHASE_CHECK = 0, TSF__PHASE_RUN = 1, TSF__PHASE_FINI = 2 };
typedef struct tsf__run tsf__run;
typedef struct tsf__ctx {
    tsf_stage_ctx pub;
    tsf_plan *plan;
    tsf_plan_step *step;
    int phase;      /* TSF__PHASE_* */
    char blame[64]; /* the key a check error is about (tsf_stage_fail_key), or "" */
    tsf__run *run;  /* run.c's state, during run only */
    size_t index;   /* the step's index in plan->steps, during run only */
} tsf__ctx;

void tsf__ctx_init(tsf__ctx *ctx, tsf_plan *plan, tsf_plan_step *step, int phase);

/* The services every context points to (run.c). */
extern const tsf_host tsf__host;

/* Metas: every number TSF_UNKNOWN, no strings, the given type; clear frees the strings. */
void tsf__meta_init(tsf_meta *m, tsf_type t);
void tsf__meta_clear(tsf_meta *m);

/* Call the stage's fini, free the options and the state (once; later calls do nothing). */
void tsf__step_fini(tsf_plan *plan, tsf_plan_step *step);

/* Registry internals for plugin.c: keep a dlopen handle (closed by tsf_registry_free), remove
 * the stages registered from origin (undoing a partly loaded plugin), close a handle. */
int tsf__registry_keep_handle(tsf_registry *r, void *handle, tsf_err *err) TSF_WUR;
void tsf__registry_remove_origin(tsf_registry *r, const char *origin);
void tsf__plugin_close(void *handle);
int tsf__registry_has_handle(const tsf_registry *r, const void *handle);

#endif
