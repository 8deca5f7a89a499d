/* Helpers shared by the preparation and evaluation stages (split, impute, normalize, window,
 * baseline, metrics): column names to indices, split parts, baseline names. */
#ifndef TSFLOW_PREP_STAGES_H
#define TSFLOW_PREP_STAGES_H

#include <stdlib.h>
#include <string.h>

#include "tsflow/frame.h"
#include "tsflow/prep.h"
#include "tsflow/stage.h"
#include "values.h"

/* Resolve column names (an option `key`) to column indices of f; an empty list gives every
 * column when all_by_default, else none. *cols is malloc'd (never NULL on success). */
static inline int tsfs_columns(tsf_stage_ctx *ctx, const tsf_frame *f, const tsf_strings *names,
                               const char *key, int all_by_default, size_t **cols, size_t *n,
                               tsf_err *err)
{
    size_t k = names->n ? names->n : (all_by_default ? f->n_cols : 0);
    size_t *c = malloc((k ? k : 1) * sizeof *c);
    if (!c)
        TSF_FAIL(err, TSF_ENOMEM, "out of memory");
    for (size_t i = 0; i < k; i++) {
        if (!names->n) {
            c[i] = i;
            continue;
        }
        c[i] = tsf_frame_col_index(f, names->v[i]);
        if (c[i] == (size_t)-1) {
            char list[512];
            size_t len = 0;
            list[0] = '\0';
            for (size_t j = 0; j < f->n_cols && len < sizeof list - 1; j++)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "",
                                        f->col_names[j]);
            free(c);
            return tsf_stage_fail_key(ctx, err, key, TSF_EINVAL,
                                      "column \"%s\" is not in the frame (its columns: %s)",
                                      names->v[i], list);
        }
    }
    *cols = c;
    *n = k;
    return TSF_OK;
}

/* At check time: refuse names that the input meta's column list lacks (when it is known). */
static inline int tsfs_check_columns(tsf_stage_ctx *ctx, const tsf_meta *m,
                                     const tsf_strings *names, const char *key, tsf_err *err)
{
    if (!m || !m->col_names || m->cols < 0)
        return TSF_OK;
    for (size_t i = 0; i < names->n; i++) {
        int found = 0;
        for (int64_t j = 0; j < m->cols && !found; j++)
            found = strcmp(m->col_names[j], names->v[i]) == 0;
        if (!found)
            return tsf_stage_fail_key(ctx, err, key, TSF_EINVAL,
                                      "column \"%s\" is not in the input%s%s", names->v[i],
                                      m->source ? " " : "", m->source ? m->source : "");
    }
    return TSF_OK;
}

/* Parts as option choices: "all" then the split's parts. */
enum { TSFS_PART_ALL = 0, TSFS_PART_TRAIN, TSFS_PART_VALIDATION, TSFS_PART_TEST };
static const char *const tsfs_parts[] = {"all", "train", "validation", "test", NULL};

/* Baselines as option choices, in tsf_baseline order (TSF_BASE_NAIVE first). */
static const char *const tsfs_baselines[] = {"naive", "snaive", "drift", "mean",
                                             "ets",   "theta",  NULL};

#endif
