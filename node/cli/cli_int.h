/*
 * cli_int.h - internals shared by the files of the command line: the
 * command and option types, one invocation (struct cli), the helpers every
 * command uses, and the commands the table in cli.c points to. Not a
 * public API: symbols are ent__cli_*. cli.c owns the table, the help, the
 * option parsing and the dispatch; cli_node.c the commands that run or ask
 * the node itself (init, serve, status, peers, config); cli_objects.c the commands
 * on joint objects (object, template, invite, join, member); cli_audit.c
 * the log and audit commands (cli_audit.h).
 */
#ifndef ENT_CLI_INT_H
#define ENT_CLI_INT_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/log.h"

#define EXIT_USAGE 2
#define CLI_MAX_OPTS 256 /* options of one invocation (--set repeats) */
#define ENT_CLI_WAIT_DEFAULT_S 10 /* status --wait without a value */
#define ENT_CLI_WAIT_POLL_MS 50   /* status --wait: between two attempts */

/*
 * An option of one command (global options are listed in global_opts). An
 * arg in brackets ("[=TIMEOUT]") makes the value optional: --wait or
 * --wait=5s, never --wait 5s; without one the option's value is "".
 */
typedef struct cli_opt {
    const char *name; /* long name without "--" */
    const char *arg;  /* argument name for help ("HOST:PORT"), NULL: flag */
    const char *help;
} cli_opt;

typedef struct cli cli;

typedef struct cli_cmd {
    const char *name;
    int (*fn)(cli *c);
    const char *summary; /* one line for `entente help` */
    const char *usage;   /* after "entente " */
    const char *desc;    /* one paragraph */
    const cli_opt *opts; /* terminated by {NULL} */
    int min_args, max_args;
    const struct cli_cmd *sub; /* sub-words, terminated by {NULL} */
} cli_cmd;

/* One invocation: parsed options and positional arguments. */
struct cli {
    const cli_cmd *cmd;
    char words[64]; /* "status", "object create" */
    char home[PATH_MAX];
    bool json;
    ent_log log;
    struct {
        const char *name;
        const char *value;
    } opts[CLI_MAX_OPTS];
    int nopts;
    char **args;
    int nargs;
};

/* ------------------------------------------------------- helpers (cli.c) */

/* Prints "entente: WORDS: message" on stderr and returns exit status 1. */
int ent__cli_fail(const cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "entente: WORDS: message", the usage of the command and where to
 * find more on stderr, and returns exit status 2 (EXIT_USAGE). */
int ent__cli_usage_error(const cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints v as one line of compact JSON on standard output. */
void ent__cli_print_json(const json_t *v);

/* The value of the last --name option given, or NULL; borrowed from argv. */
const char *ent__cli_opt_value(const cli *c, const char *name);

/* The string member k of o, or "" (borrowed from o). */
const char *ent__cli_jstr(const json_t *o, const char *k);

/* The integer member k of o, or 0 when absent or negative. */
uint64_t ent__cli_jint(const json_t *o, const char *k);

/* n with thousands separators ("41,200") into out; returns out. */
const char *ent__cli_fmt_count(char out[32], uint64_t n);

/*
 * "41,200 / 100,000 ops (41%), 9,800 ops/s, ~6 s left" into out: done of
 * expected (known: the total is known) at rate ops/s; eta < 0: unknown.
 */
void ent__cli_fmt_progress(char *out, size_t cap, uint64_t done, bool known,
                           uint64_t expected, uint64_t rate, long long eta);

/*
 * One request to the running node of c->home. On a 2xx answer *out holds the
 * response JSON (caller json_decref()s) and -1 is returned; otherwise the
 * error is printed and the exit status returned.
 */
int ent__cli_daemon_call(cli *c, const char *method, const char *path,
                         const json_t *body, json_t **out);

/* ------------------------------------------------------------- commands */

/* Each runs one command of the table in cli.c on its parsed invocation and
 * returns the process exit status (0, 1, or 2 for a usage error). */

/* cli_node.c */
int ent__cli_cmd_init(cli *c);
int ent__cli_cmd_serve(cli *c);
int ent__cli_cmd_status(cli *c);
int ent__cli_cmd_peers(cli *c);
int ent__cli_cmd_config_get(cli *c);
int ent__cli_cmd_config_set(cli *c);

/* Warns on stderr ("entente: WORDS: warning: ...") when every address that
 * the invite token carries is a loopback one, which a partner on another
 * machine cannot dial. Prints nothing for a token it cannot parse. */
void ent__cli_warn_loopback_token(const cli *c, const char *token);

/* cli_objects.c */
int ent__cli_cmd_object_create(cli *c);
int ent__cli_cmd_object_set(cli *c);
int ent__cli_cmd_object_show(cli *c);
int ent__cli_cmd_object_list(cli *c);
int ent__cli_cmd_object_stage(cli *c);
int ent__cli_cmd_object_comment(cli *c);
int ent__cli_cmd_template_list(cli *c);
int ent__cli_cmd_template_show(cli *c);
int ent__cli_cmd_template_set(cli *c);
int ent__cli_cmd_template_reset(cli *c);
int ent__cli_cmd_invite(cli *c);
int ent__cli_cmd_join(cli *c);
int ent__cli_cmd_member_remove(cli *c);

#endif
