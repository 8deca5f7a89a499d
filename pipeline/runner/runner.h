/* The pipeline runner's API, for the tsflow command and the tests (plugins see only stage.h).
 *
 *   registry   the stages by name: built-in ones (pipeline/stages/stages.def) and plugins
 *   pipeline   a parsed INI file (libinih) plus --set overrides: steps, keys, values, lines
 *   plan       a checked pipeline: stages resolved, options parsed into each step's state,
 *              inputs bound and type-checked, steps in run order, output shapes where known
 *   run        executes a plan, freeing every value after its last consumer and after every
 *              value that refers into it
 *
 * Nothing here prints: messages go into tsf_err and tsf_diags, and progress to hooks.
 */
#ifndef TSFLOW_RUNNER_H
#define TSFLOW_RUNNER_H

#include <signal.h>
#include <stddef.h>

#include "tsflow/error.h"
#include "tsflow/stage.h"

/* ---- Registry ------------------------------------------------------------------------------ */

typedef struct tsf_registry tsf_registry;

int tsf_registry_alloc(tsf_registry **out, tsf_err *err) TSF_WUR;
/* Frees the registry and unloads its plugins: free every plan and value first. NULL: no-op. */
void tsf_registry_free(tsf_registry *r);

/* Validate def (see tsf_stage_def_validate) and add it. origin says where it came from
 * ("built-in", a plugin's path) and is copied. A name already registered is refused, naming
 * both origins. */
int tsf_registry_add(tsf_registry *r, const tsf_stage_def *def, const char *origin,
                     tsf_err *err) TSF_WUR;

/* Add the stages listed in pipeline/stages/stages.def. */
int tsf_registry_add_builtins(tsf_registry *r, tsf_err *err) TSF_WUR;

/* Load one plugin (dlopen) and add all its stages, or none of them: errors name the file
 * (missing tsflow_plugin_stages, ABI mismatch, invalid definition, name clash). */
int tsf_registry_load_plugin(tsf_registry *r, const char *path, tsf_err *err) TSF_WUR;

/* Load every plugin of a TSFLOW_PLUGIN_PATH value: ':'-separated files and directories (all
 * "*.so" files of a directory, in name order). Empty entries are skipped; NULL is a no-op. */
int tsf_registry_load_path(tsf_registry *r, const char *pathlist, tsf_err *err) TSF_WUR;

const tsf_stage_def *tsf_registry_find(const tsf_registry *r, const char *name);
size_t tsf_registry_count(const tsf_registry *r);
/* The i-th stage in name order; *origin (may be NULL) gets "built-in" or the plugin path. */
const tsf_stage_def *tsf_registry_get(const tsf_registry *r, size_t i, const char **origin);
/* The registered name closest to name (edit distance), or NULL when none is close. */
const char *tsf_registry_suggest(const tsf_registry *r, const char *name);

/* Check a definition: ABI version, name syntax, summary, run, options table (names, types,
 * offsets within state_size, defaults that parse and lie in range, choices), ports. */
int tsf_stage_def_validate(const tsf_stage_def *def, tsf_err *err) TSF_WUR;

/* ---- Options ------------------------------------------------------------------------------- */

/* Parse text as option o and store it in state (freeing what the field held). Relative paths
 * are joined to base_dir (NULL: kept as given). Errors say what was found and expected, with
 * no location: '"abc" is not an integer (expected an integer from 1 to 1000)'. */
int tsf_opt_parse(const tsf_option *o, const char *text, const char *base_dir, void *state,
                  tsf_err *err) TSF_WUR;
/* Free what option o holds in state and zero the field. */
void tsf_opt_clear(const tsf_option *o, void *state);
/* Clear every option of a table. */
void tsf_opts_clear(const tsf_option *opts, void *state);
/* The option called name in a table, or NULL. */
const tsf_option *tsf_opt_find(const tsf_option *opts, const char *name);
/* What a value must look like: "an integer from 1 to 1000", "one of error, fill". */
void tsf_opt_expected(const tsf_option *o, char *buf, size_t n);
/* A short type label for help: "integer", "number", "list of strings", "error|fill". */
void tsf_opt_type_label(const tsf_option *o, char *buf, size_t n);
/* The value o holds in state, as text ("96", "0.001", "a, b", "(unset)"). */
void tsf_opt_format(const tsf_option *o, const void *state, char *buf, size_t n);

/* Edit distance (optimal string alignment: insertions, deletions, substitutions, adjacent
 * transpositions) and the closest candidate when it is close enough to suggest, else NULL. */
size_t tsf_edit_distance(const char *a, const char *b);
const char *tsf_suggest(const char *word, const char *const *candidates, size_t n);

/* ---- Diagnostics ----------------------------------------------------------------------------- */

/* Every problem check finds, in file order: "pipeline.ini:12: step "win", key "lookback": ...". */
typedef struct tsf_diag {
    int code;  /* TSF_E* */
    int line;  /* line in the pipeline file, or 0 (a --set, or the file as a whole) */
    char *msg; /* the full message, location first */
} tsf_diag;

typedef struct tsf_diags {
    tsf_diag *v;
    size_t n, cap;
} tsf_diags;

void tsf_diags_clear(tsf_diags *d);
/* Append a formatted message; returns code (TSF_ENOMEM if the message could not be kept). */
int tsf_diags_add(tsf_diags *d, int code, int line, const char *fmt, ...) TSF_PRINTF(4, 5);

/* ---- Pipeline files ------------------------------------------------------------------------ */

typedef struct tsf_kv {
    char *key;
    char *value;   /* continuation lines are joined with '\n' */
    int line;      /* its line in the file, or 0 when it came from --set */
    int set_index; /* 1-based index among --set overrides when line == 0 */
    int n_lines;   /* lines it spans (continuations) */
} tsf_kv;

typedef struct tsf_step_src {
    char *name;
    int line; /* the [name] line */
    tsf_kv *kv;
    size_t n_kv, cap_kv;
} tsf_step_src;

typedef struct tsf_pipeline {
    char *name; /* as given, for messages ("pipeline.ini", "-") */
    char *dir;  /* directory relative paths in the file are resolved against */
    char *text; /* the whole file, NUL-terminated */
    size_t len;
    tsf_step_src *steps; /* in file order */
    size_t n_steps, cap_steps;
    char **sets; /* --set texts, in order */
    size_t n_sets;
    tsf_diags diags; /* syntax errors found while parsing */
} tsf_pipeline;

/* Read and parse a pipeline file ("-": standard input, relative paths against the current
 * directory). Fails only when the file cannot be read or memory runs out: syntax errors are
 * collected in (*out)->diags and reported by tsf_plan_make. */
int tsf_pipeline_load(tsf_pipeline **out, const char *path, tsf_err *err) TSF_WUR;

/* Parse pipeline text (len bytes, may hold NUL bytes). name is used in messages; dir (NULL:
 * ".") is where relative paths point. */
int tsf_pipeline_parse(tsf_pipeline **out, const char *name, const char *dir, const char *text,
                       size_t len, tsf_err *err) TSF_WUR;

/* Apply a --set override "STEP.KEY=VALUE": replaces the step's KEY (or adds it). Refuses bad
 * syntax and an unknown step (suggesting the closest); the value is checked by tsf_plan_make
 * like a value in the file. */
int tsf_pipeline_set(tsf_pipeline *p, const char *assignment, tsf_err *err) TSF_WUR;

void tsf_pipeline_free(tsf_pipeline *p);

/* A pipeline built in memory, without text to parse (front ends that build one from their
 * own arguments): an empty pipeline named name, relative paths against dir (NULL: "."); then
 * steps and their keys in order. line is the line the step or key would have in the printed
 * form (for messages; 0: none). text (may be NULL) is what exports record as the pipeline's
 * text. Values are taken verbatim, as a file's would be. */
int tsf_pipeline_new(tsf_pipeline **out, const char *name, const char *dir, tsf_err *err) TSF_WUR;
int tsf_pipeline_add_step(tsf_pipeline *p, const char *name, int line, tsf_err *err) TSF_WUR;
/* To the last step added. */
int tsf_pipeline_add_value(tsf_pipeline *p, const char *key, const char *value, int line,
                           tsf_err *err) TSF_WUR;
int tsf_pipeline_set_text(tsf_pipeline *p, const char *text, tsf_err *err) TSF_WUR;

/* ---- Plans ----------------------------------------------------------------------------------- */

typedef struct tsf_binding {
    size_t step; /* producer: index in plan->steps */
    size_t port; /* producer's output port */
} tsf_binding;

typedef struct tsf_step_stats {
    double seconds;   /* wall time of run */
    long peak_rss_kb; /* peak resident memory of the process while the step ran, or -1 (not
                         measured: see tsf_run_hooks.measure_memory) */
    int ran;          /* 1 when run returned TSF_OK */
} tsf_step_stats;

typedef struct tsf_plan_step {
    const tsf_step_src *src;  /* borrowed from the pipeline */
    const tsf_stage_def *def; /* borrowed from the registry */
    const char *origin;       /* "built-in" or the plugin's path */
    void *state;              /* options and whatever check/run keep; NULL after fini */
    int stage_line;           /* line of "stage = ..." (or the step's line) */
    tsf_binding *in;          /* (n_in) values bound to in[], see tsf_stage_ctx.n_inputs */
    int *in_bound;            /* (n_in) 0 for an unbound optional port */
    size_t n_in;
    tsf_meta *out; /* (n_out) what check said about each output */
    size_t n_out;
    size_t n_consumers; /* bindings to this step's outputs, over all steps */
    int checked;        /* 1 when check succeeded */
    tsf_step_stats stats;
    void *blamed; /* runner-private */
} tsf_plan_step;

typedef struct tsf_plan {
    const tsf_pipeline *src; /* borrowed: must outlive the plan */
    tsf_plan_step *steps;    /* in run order */
    size_t n_steps;
    tsf_run_info info;
} tsf_plan;

/* Check a pipeline against a registry and build its plan. Every problem goes to diags (syntax
 * errors of the file first); then the call fails with the first problem's code, err saying how
 * many there are, and *out NULL. Checked: unknown stage or option (with suggestions), values
 * (type, range, choices), missing, dangling, duplicate and cyclic inputs, port types, input files
 * that do not exist, output directories that are not writable, two steps writing one file, and
 * whatever each stage's check callback knows (lengths of series against lookback + horizon...). */
int tsf_plan_make(tsf_plan **out, const tsf_pipeline *p, const tsf_registry *r, tsf_diags *diags,
                  tsf_err *err) TSF_WUR;

/* The plan as text (each step, its stage, what it reads, its outputs' types and known shapes,
 * the files it reads and writes). *text is malloc'd. */
int tsf_plan_format(const tsf_plan *plan, char **text, tsf_err *err) TSF_WUR;

/* Describe a meta in a few words: "frame: 1000 rows x 3 columns (a, b, c)". */
void tsf_meta_describe(const tsf_meta *m, char *buf, size_t n);

void tsf_plan_free(tsf_plan *plan);

/* ---- Running ----------------------------------------------------------------------------- */

typedef struct tsf_progress_event {
    size_t index, count; /* the step's position in run order (0-based) and the number of steps */
    const char *step;    /* step name */
    const char *stage;   /* stage name */
    tsf_progress p;      /* what the stage said */
    double elapsed;      /* seconds since the step began */
    double eta;          /* estimated seconds left in this step from the rate since its first
                            report, or < 0 when unknown (at that first report) */
} tsf_progress_event;

typedef struct tsf_run_hooks {
    void *user;
    volatile sig_atomic_t *cancel; /* set nonzero (by a signal handler) to stop; may be NULL */
    void (*step_begin)(void *user, const tsf_plan *plan, size_t index);
    void (*step_end)(void *user, const tsf_plan *plan, size_t index, int status);
    void (*progress)(void *user, const tsf_progress_event *ev);
    void (*log)(void *user, const tsf_plan *plan, size_t index, int level, const char *msg);
    /* Nonzero: measure each step's peak resident memory (stats.peak_rss_kb). On Linux this
     * resets the kernel's peak-RSS mark before each step (/proc/self/clear_refs), so the
     * process's own peak, as getrusage() and /usr/bin/time -v report it, is afterwards only
     * the last step's: leave it 0 unless the per-step figures are shown. */
    int measure_memory;
} tsf_run_hooks;

/* Run every step in order. A failure names the step: 'step "data" (ingest.csv): ...'. When the
 * cancel flag is set the current stage is asked to stop, no further step starts, and the call
 * returns TSF_ECANCEL. Values are freed after their last consumer (and after every value
 * that keeps them); on any failure all remaining values are freed. A plan runs once. hooks may
 * be NULL. */
int tsf_plan_run(tsf_plan *plan, const tsf_run_hooks *hooks, tsf_err *err) TSF_WUR;

#endif
