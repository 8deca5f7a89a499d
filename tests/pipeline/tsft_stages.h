/* Test-only stages ("test.*"), built into the runner tests and as the plugin tsft_stages.so that
 * the CLI tests load with --plugin. They record what they do in an event log:
 *   "run STEP", "free STEP", "take STEP", "copy STEP", "fini STEP" (space-separated, in order).
 * Frames they make name their first column after the step that made them, so a destructor can
 * say whose value it frees. Never shipped: `tsflow stages` does not list them. */
#ifndef TSFT_STAGES_H
#define TSFT_STAGES_H

#include "tsflow/stage.h"

/* The NULL-terminated list (the plugin exports it as tsflow_plugin_stages). */
const tsf_stage_def *const *tsflow_plugin_stages(unsigned *abi);

/* The event log since the last reset. */
const char *tsft_events(void);
void tsft_events_reset(void);

#endif
