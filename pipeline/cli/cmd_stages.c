/* tsflow stages (every stage with its summary) and tsflow help STAGE (its ports and options,
 * generated from the definition: the same table the parser reads). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_pipeline.h"

static const char stages_usage[] =
    "usage: tsflow stages [--plugin FILE.so]...\n\n"
    "List every stage, built-in and from plugins, with its summary.\n\n"
    "options:\n"
    "  --plugin FILE.so      load stages from a plugin (repeatable); TSFLOW_PLUGIN_PATH\n"
    "                        lists more plugins or directories of them, ':'-separated\n";

static const char help_usage[] =
    "usage: tsflow help [--plugin FILE.so]... STAGE|COMMAND\n\n"
    "Describe a stage: what it reads and gives, and every option with its type, default,\n"
    "range and meaning. 'tsflow help COMMAND' is 'tsflow COMMAND --help'.\n\n"
    "options:\n"
    "  --plugin FILE.so      load stages from a plugin (repeatable)\n";

int cmd_stages(int argc, char **argv)
{
    cli_pipeline_args a;
    int rc = cli_pipeline_parse(&a, argc, argv, "p", 0, stages_usage);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    tsf_registry *reg = NULL;
    if ((rc = cli_registry(&reg, &a)) == CLI_OK) {
        size_t n = tsf_registry_count(reg), w = 0;
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(tsf_registry_get(reg, i, NULL)->name);
            if (len > w)
                w = len;
        }
        for (size_t i = 0; i < n; i++) {
            const char *origin;
            const tsf_stage_def *d = tsf_registry_get(reg, i, &origin);
            if (strcmp(origin, "built-in"))
                printf("  %-*s  %s  (plugin %s)\n", (int)w, d->name, d->summary, origin);
            else
                printf("  %-*s  %s\n", (int)w, d->name, d->summary);
        }
        printf("\n'tsflow help STAGE' describes a stage's inputs, outputs and options.\n");
    }
    tsf_registry_free(reg);
    cli_pipeline_args_free(&a);
    return rc;
}

/* Print text wrapped at 80 columns, each line indented. */
static void wrap(const char *text, int indent)
{
    const int width = 80;
    int col = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (!len)
            break;
        if (col && col + 1 + (int)len > width) {
            putchar('\n');
            col = 0;
        }
        if (!col) {
            printf("%*s", indent, "");
            col = indent;
        } else {
            putchar(' ');
            col++;
        }
        printf("%.*s", (int)len, p);
        col += (int)len;
        p += len;
    }
    if (col)
        putchar('\n');
}

static void print_ports(const char *title, const tsf_port *ports)
{
    printf("%s:\n", title);
    if (!ports || !ports->name) {
        printf("  (none)\n");
        return;
    }
    for (const tsf_port *p = ports; p->name; p++) {
        char types[128] = "";
        size_t used = 0;
        for (unsigned t = 1; t < TSF_TYPE_COUNT_; t++) {
            if (!(p->types & TSF_TYPE_BIT(t)))
                continue;
            int k = snprintf(types + used, sizeof types - used, "%s%s", used ? " or " : "",
                             tsf_type_name((tsf_type)t));
            if (k > 0 && (size_t)k < sizeof types - used)
                used += (size_t)k;
        }
        printf("  %-10s %-20s %s%s%s\n", p->name, types, p->help ? p->help : "",
               p->flags & TSF_PORT_OPTIONAL ? " (optional)" : "",
               p->flags & TSF_PORT_MANY ? " (one or more)" : "");
    }
}

static void print_stage(const tsf_stage_def *d, const char *origin)
{
    printf("%s: %s\n", d->name, d->summary);
    if (strcmp(origin, "built-in"))
        printf("(from plugin %s)\n", origin);
    if (d->help) {
        putchar('\n');
        wrap(d->help, 0);
    }
    putchar('\n');
    print_ports("inputs", d->inputs);
    print_ports("outputs", d->outputs);
    printf("\noptions:\n");
    if (!d->options || !d->options->name)
        printf("  (none)\n");
    for (const tsf_option *o = d->options; o && o->name; o++) {
        char label[256], exp[512], def[300];
        tsf_opt_type_label(o, label, sizeof label);
        tsf_opt_expected(o, exp, sizeof exp);
        if (o->flags & TSF_OPT_REQUIRED)
            snprintf(def, sizeof def, "required");
        else if (o->def)
            snprintf(def, sizeof def, "default %s", o->def[0] ? o->def : "\"\"");
        else
            snprintf(def, sizeof def, "optional");
        printf("  %s = %s  (%s)\n", o->name, label, def);
        wrap(o->help, 6);
        int ranged = !(o->min == 0 && o->max == 0) &&
                     (o->type == TSF_OPT_INT || o->type == TSF_OPT_SIZE ||
                      o->type == TSF_OPT_DOUBLE || o->type == TSF_OPT_DOUBLES);
        if (ranged || o->type == TSF_OPT_STRINGS || o->type == TSF_OPT_DOUBLES) {
            char line[600];
            snprintf(line, sizeof line, "expects %s", exp);
            wrap(line, 6);
        }
    }
    printf("\nexample:\n  [%s]\n  stage = %s\n", "step", d->name);
    int n_in = 0;
    for (const tsf_port *p = d->inputs; p && p->name; p++)
        n_in += !(p->flags & TSF_PORT_OPTIONAL);
    if (n_in > 1)
        printf("  inputs = STEP, STEP\n");
    for (const tsf_option *o = d->options; o && o->name; o++) {
        if (!(o->flags & TSF_OPT_REQUIRED))
            continue;
        char label[256];
        tsf_opt_type_label(o, label, sizeof label);
        printf("  %s = %s\n", o->name,
               o->type == TSF_OPT_PATH_IN || o->type == TSF_OPT_PATH_OUT ? "FILE" : label);
    }
}

typedef struct command_entry {
    const char *name;
    int (*fn)(int, char **);
} command_entry;

int cmd_help(int argc, char **argv)
{
    cli_pipeline_args a;
    int rc = cli_pipeline_parse(&a, argc, argv, "p", 1, help_usage);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    const char *name = a.pipeline;
    static const command_entry commands[] = {
#define CLI_COMMAND(n, f, s) {n, f},
#include "commands.def"
#undef CLI_COMMAND
    };
    int command = 0;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0] && !command; i++) {
        if (!strcmp(name, commands[i].name) && strcmp(name, "help")) {
            char *args[] = {(char *)commands[i].name, "--help", NULL};
            rc = commands[i].fn(2, args);
            command = 1;
        }
    }
    tsf_registry *reg = NULL;
    if (command) { /* a stage of the same name (backtest) follows the command's help */
        const tsf_stage_def *d = NULL;
        if (rc == CLI_OK && cli_registry(&reg, &a) == CLI_OK &&
            (d = tsf_registry_find(reg, name)) != NULL) {
            printf("\nThe stage \"%s\" (in pipeline files):\n\n", name);
            print_stage(d, "built-in");
        }
        tsf_registry_free(reg);
        cli_pipeline_args_free(&a);
        return rc;
    }
    if ((rc = cli_registry(&reg, &a)) == CLI_OK) {
        const tsf_stage_def *d = tsf_registry_find(reg, name);
        if (d) {
            const char *origin = "built-in";
            for (size_t i = 0; i < tsf_registry_count(reg); i++)
                if (tsf_registry_get(reg, i, &origin) == d)
                    break;
            print_stage(d, origin);
        } else {
            const char *near = tsf_registry_suggest(reg, name);
            if (near)
                cli_error("help: no stage or command \"%s\" (did you mean \"%s\"?)", name, near);
            else
                cli_error("help: no stage or command \"%s\" ('tsflow stages' lists the stages, "
                          "'tsflow --help' the commands)",
                          name);
            rc = CLI_USAGE;
        }
    }
    tsf_registry_free(reg);
    cli_pipeline_args_free(&a);
    return rc;
}
