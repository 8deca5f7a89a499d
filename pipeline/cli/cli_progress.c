/* The progress display of `tsflow run`: one line redrawn in place on a terminal (stage, epoch
 * or fold, loss, a bar, time left), plain log lines otherwise. Everything goes to stderr. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli_pipeline.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_format_duration(double s, char *buf, size_t n)
{
    if (!(s >= 0))
        snprintf(buf, n, "?");
    else if (s < 10)
        snprintf(buf, n, "%.2f s", s);
    else if (s < 60)
        snprintf(buf, n, "%.0f s", s);
    else if (s < 3600)
        snprintf(buf, n, "%d:%02d", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
}

void cli_progress_init(cli_progress *p, FILE *out, int quiet, int verbose)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->quiet = quiet;
    p->verbose = verbose;
    p->tty = isatty(fileno(out));
    p->width = 80;
    struct winsize ws;
    if (p->tty && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        p->width = ws.ws_col;
    p->last_tenth = -1;
}

void cli_progress_clear(cli_progress *p)
{
    if (p->line_open) {
        fputs("\r\033[K", p->out);
        p->line_open = 0;
    }
}

/* "[2/5] train (train.rnn)" */
static int head(char *buf, size_t n, size_t index, size_t count, const char *step,
                const char *stage)
{
    return snprintf(buf, n, "[%zu/%zu] %s (%s)", index + 1, count, step, stage);
}

static void step_begin(void *user, const tsf_plan *plan, size_t i)
{
    cli_progress *p = user;
    if (p->quiet)
        return;
    char line[512];
    head(line, sizeof line, i, plan->n_steps, plan->steps[i].src->name, plan->steps[i].def->name);
    p->last_epoch = p->last_fold = 0;
    p->last_tenth = -1;
    p->last_line = now();
    if (p->tty) {
        fprintf(p->out, "\r\033[K%.*s", p->width - 1, line);
        p->line_open = 1;
        p->last_draw = now();
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
}

static void step_end(void *user, const tsf_plan *plan, size_t i, int status)
{
    cli_progress *p = user;
    if (p->quiet)
        return;
    cli_progress_clear(p);
    if (status != TSF_OK)
        return;
    char line[512], t[32];
    head(line, sizeof line, i, plan->n_steps, plan->steps[i].src->name, plan->steps[i].def->name);
    cli_format_duration(plan->steps[i].stats.seconds, t, sizeof t);
    fprintf(p->out, "%s done in %s\n", line, t);
    fflush(p->out);
}

static void progress(void *user, const tsf_progress_event *ev)
{
    cli_progress *p = user;
    if (p->quiet)
        return;
    const tsf_progress *q = &ev->p;
    int tenth = q->fraction >= 0 ? (int)floor(q->fraction * 10) : -1;
    if (p->tty) {
        double t = now();
        /* At most 10 redraws a second, except the final report of an epoch or fold. */
        if (t - p->last_draw < 0.1 && q->epoch == p->last_epoch && q->fold == p->last_fold)
            return;
        p->last_draw = t;
    } else {
        /* Plain logs (a file, a CI log) at a bounded rate: a line for every tenth of the step's
         * work, else one every CLI_LOG_INTERVAL seconds. Epochs and folds alone do not add
         * lines: folds running in parallel would alternate on every report. */
        double t = now();
        if (tenth <= p->last_tenth && t - p->last_line < CLI_LOG_INTERVAL)
            return;
        p->last_line = t;
    }
    p->last_epoch = q->epoch;
    p->last_fold = q->fold;
    if (tenth > p->last_tenth)
        p->last_tenth = tenth;
    char line[1024];
    size_t u = (size_t)head(line, sizeof line, ev->index, ev->count, ev->step, ev->stage);
#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (u < sizeof line) {                                                                     \
            int k_ = snprintf(line + u, sizeof line - u, __VA_ARGS__);                             \
            if (k_ > 0)                                                                            \
                u += (size_t)k_;                                                                   \
        }                                                                                          \
    } while (0)
    if (q->what)
        ADD(" %s", q->what);
    if (q->fold > 0)
        ADD(q->folds > 0 ? " fold %ld/%ld" : " fold %ld", q->fold, q->folds);
    if (q->epoch > 0)
        ADD(q->epochs > 0 ? " epoch %ld/%ld" : " epoch %ld", q->epoch, q->epochs);
    if (!isnan(q->loss))
        ADD(" loss %.4g", q->loss);
    if (!isnan(q->val_loss))
        ADD(" val %.4g", q->val_loss);
    if (q->fraction >= 0)
        ADD(" %3.0f%%", 100 * q->fraction);
    if (ev->eta >= 0) {
        char t[32];
        cli_format_duration(ev->eta, t, sizeof t);
        ADD(", %s left", t);
    }
    /* The bar goes last: a narrow terminal cuts it before the numbers. */
    if (q->fraction >= 0 && p->tty) {
        int filled = (int)(q->fraction * 20 + 0.5);
        char bar[21];
        for (int k = 0; k < 20; k++)
            bar[k] = k < filled ? '#' : '-';
        bar[20] = '\0';
        ADD(" [%s]", bar);
    }
#undef ADD
    if (p->tty) {
        fprintf(p->out, "\r\033[K%.*s", p->width - 1, line);
        p->line_open = 1;
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
}

static void log_msg(void *user, const tsf_plan *plan, size_t i, int level, const char *msg)
{
    cli_progress *p = user;
    if (p->quiet || (level >= TSF_LOG_DEBUG && !p->verbose))
        return;
    cli_progress_clear(p);
    fprintf(p->out, "[%zu/%zu] %s: %s%s\n", i + 1, plan->n_steps, plan->steps[i].src->name,
            level == TSF_LOG_WARN ? "warning: " : "", msg);
    fflush(p->out);
}

void cli_progress_hooks(cli_progress *p, tsf_run_hooks *h)
{
    h->user = p;
    h->step_begin = step_begin;
    h->step_end = step_end;
    h->progress = progress;
    h->log = log_msg;
}
