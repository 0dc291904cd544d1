/*
 * cli_int.h - internals shared by the files of the command line: the
 * command and option types, one invocation (struct cli), the helpers every
 * command uses, and the commands the table in cli.c points to. Not a
 * public API: symbols are ent__cli_*. cli.c owns the table, the help, the
 * option parsing and the dispatch; cli_node.c the commands that run or ask
 * the node itself (init, serve, status, peers, config); cli_objects.c the
 * commands on joint objects (object, template, invite, join, member);
 * cli_audit.c the log and audit commands (log, audit, object key);
 * cli_events.c the event stream (events).
 */
#ifndef ENT_CLI_INT_H
#define ENT_CLI_INT_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "node/log.h"
#include "node/wholefile.h"

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
    const char *pre_home, *pre_level; /* given before the command word */
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

/*
 * Prints "entente: WORDS: message" on stderr and returns exit status 1. The
 * message is escaped for the terminal (node/term.h). _failw takes the
 * command words instead of the invocation.
 */
int ent__cli_fail(const cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int ent__cli_failw(const char *words, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Like ent__cli_failw, then "(see: entente WORDS --help)"; returns 2. */
int ent__cli_usagew(const char *words, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "entente: WORDS: message", the usage of the command and where to
 * find more on stderr, and returns exit status 2 (EXIT_USAGE). */
int ent__cli_usage_error(const cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints v as one line of compact JSON on standard output; characters a
 * terminal would act on are written as JSON escapes (node/term.h). */
void ent__cli_print_json(const json_t *v);

/* The value of the last --name option given, or NULL; borrowed from argv. */
const char *ent__cli_opt_value(const cli *c, const char *name);

/*
 * An output file (export --out, import --rejects, report --svg) is written
 * whole or not at all: into a temporary file next to it (mode 0600, it
 * may hold private values), renamed onto it by ent__cli_out_commit once
 * everything is written (a symbolic link to a
 * regular file is replaced, not followed); ent__cli_out_abort removes it, so a
 * command that fails leaves the user's file as it was. A path that names
 * something else than a regular file (a FIFO, /dev/stdout) is written
 * directly. _open returns ENT_OK or an error (errno tells why); _commit
 * flushes, syncs, renames and syncs the folder (ent_wholefile_commit),
 * ENT_OK or ENT_EIO (errno tells why; the temporary file is gone either
 * way); _abort accepts a file never opened or already committed.
 */
typedef struct ent__cli_outfile {
    FILE *f;
    ent_wholefile w; /* w.tmp NULL: written directly (node/wholefile.h) */
} ent__cli_outfile;
int ent__cli_out_open(ent__cli_outfile *o, const char *path);
int ent__cli_out_commit(ent__cli_outfile *o, const char *path);
void ent__cli_out_abort(ent__cli_outfile *o);

/*
 * Text output. Everything a printer shows that came from outside (names,
 * comments, field names and values, reasons, addresses) goes through these,
 * which escape control characters (node/term.h); no line ends in a blank.
 *
 * ent__cli_row: one line of n columns after indent; column i is padded to
 *   widths[i] terminal columns and followed by two spaces, except the last.
 * ent__cli_kv: "key:" padded to 7 columns, two spaces, the value.
 * ent__cli_time: a JSON RFC 3339 time as local time "2026-12-05 05:52:58"
 *   in out; "-" for null or absent; the text itself if it does not parse.
 * ent__cli_who: a JSON object's "name", else the first 12 characters of its
 *   "org" (in out). Both return pointers borrowed from out or from v/o.
 */
void ent__cli_row(FILE *f, const char *indent, const char *const *cols,
                  const int *widths, size_t n);
void ent__cli_kv(FILE *f, const char *key, const char *value);
const char *ent__cli_time(char out[32], const json_t *v);
const char *ent__cli_who(char out[16], const json_t *o);

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
 * error is printed and the exit status returned. ent__cli_call takes the
 * command words and the home instead of the invocation.
 */
int ent__cli_daemon_call(cli *c, const char *method, const char *path,
                         const json_t *body, json_t **out);
int ent__cli_call(const char *words, const char *home, const char *method,
                  const char *path, const json_t *body, json_t **out);
/* ent__cli_call with the body as JSON text (blen bytes, sent as it is). */
int ent__cli_call_text(const char *words, const char *home,
                       const char *method, const char *path, const char *body,
                       size_t blen, json_t **out);
/* ent__cli_call, waiting timeout_ms (0: for ever) for the answer instead of
 * ENT_CLIENT_TIMEOUT_MS. */
int ent__cli_call_timeout(const char *words, const char *home,
                          const char *method, const char *path,
                          const json_t *body, int timeout_ms, json_t **out);
/* ent__cli_daemon_call, then the answer printed as JSON with --json, else
 * with print (may be NULL); returns the exit status. */
int ent__cli_call_print(cli *c, const char *method, const char *path,
                        const json_t *body, void (*print)(const json_t *));

/*
 * Checks a HOST:PORT argument (what: "listen"); NULL passes. Returns -1 if
 * ent_home_parse_addr() takes it, else prints "invalid WHAT address 'X':
 * why" (ent_home_addr_check: no port, names are not resolved...) and
 * returns exit status 1.
 */
int ent__cli_addr_arg(cli *c, const char *what, const char *addr);

/*
 * The error for a home whose API socket does not answer, saying which it
 * is: the home does not exist, it is not a home (no identity.key), or no
 * node runs for it. Returns exit status 1.
 */
int ent__cli_not_running(const char *words, const char *home);

/*
 * An object id argument as its 64 lowercase hex characters in hex: the full
 * id in either case, or an unambiguous prefix of at least
 * ENT_CLI_ID_PREFIX_MIN hex characters, resolved by the node of home (as
 * git resolves short ids). An unknown or ambiguous prefix is an error
 * naming up to ENT_CLI_ID_CANDIDATES candidates. Returns -1 on success,
 * else the exit status (the error is printed).
 */
#define ENT_CLI_ID_PREFIX_MIN 4
#define ENT_CLI_ID_CANDIDATES 5
int ent__cli_object_id(const char *words, const char *home, const char *arg,
                       char hex[65]);
/*
 * The choice ent__cli_object_id makes from the node's answer rows (GET
 * /v1/objects?prefix=P&limit=N: [{"id","type","title",...}]): exactly one
 * row gives its id in hex; none or several write why (naming up to
 * ENT_CLI_ID_CANDIDATES candidates, then "...") into why (cap bytes).
 * @return ENT_OK, ENT_ENOENT (none), ENT_EEXIST (ambiguous), ENT_EPROTO.
 */
int ent__cli_pick_object(const json_t *rows, const char *prefix, char hex[65],
                         char *why, size_t cap);

/*
 * Runs fn in a read (or, with write, a write) transaction of c->home's
 * store with no node running, under the home's lock so that no node starts
 * meanwhile. Returns -1 on success; an exit status after printing the
 * error for a running node or a missing home; or -2 with *err set to the
 * error of the store or of fn, for the caller to word.
 */
struct ent_txn;
int ent__cli_offline(cli *c, bool write, int (*fn)(struct ent_txn *, void *),
                     void *data, int *err);

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

/* cli_config.c: the configuration tables (config list, show, and get/set
 * of a name that is not a setting) */
int ent__cli_cmd_config_list(cli *c);
int ent__cli_cmd_config_show(cli *c);
int ent__cli_config_table_show(cli *c, const char *name);
int ent__cli_config_table_set(cli *c, const char *name);

/* Warns on stderr ("entente: WORDS: warning: ...") when every address that
 * the invite token carries is a loopback one, which a partner on another
 * machine cannot dial. Prints nothing for a token it cannot parse. */
void ent__cli_warn_loopback_token(const cli *c, const char *token);
/* The text form of `peers` (the API's peers JSON array) to f. */
void ent__cli_print_peers(FILE *f, const json_t *peers);

/* cli_backup.c */
int ent__cli_cmd_backup(cli *c);
int ent__cli_cmd_backup_verify(cli *c);
int ent__cli_cmd_restore(cli *c);
int ent__cli_cmd_restore_done(cli *c);

/* cli_audit.c */
/* The text form of `log` (the API's log JSON) to f. */
void ent__cli_print_log(FILE *f, const json_t *log);
int ent__cli_cmd_log(cli *c);
/* cli_events.c */
int ent__cli_cmd_events(cli *c);
int ent__cli_cmd_audit_export(cli *c);
int ent__cli_cmd_audit_verify(cli *c);
int ent__cli_cmd_audit_heads(cli *c);
int ent__cli_cmd_object_key(cli *c);

/* cli_objects.c */
/* The text forms of `object show` (the API's object JSON o) and `template
 * show` (the template JSON t), written to f; o and t are borrowed. */
void ent__cli_print_object(FILE *f, const json_t *o, bool hide_private);
void ent__cli_print_template(FILE *f, const json_t *t);
/* The text form of `object list` (the API's list JSON) to f: a header and
 * one row per object, ids cut to the length that tells them apart. */
void ent__cli_print_object_list(FILE *f, const json_t *rows);
int ent__cli_cmd_object_create(cli *c);
int ent__cli_cmd_object_set(cli *c);
int ent__cli_cmd_object_show(cli *c);
int ent__cli_cmd_object_list(cli *c);
int ent__cli_cmd_report(cli *c); /* cli_reports.c */
int ent__cli_cmd_view_save(cli *c);
int ent__cli_cmd_view_list(cli *c);
int ent__cli_cmd_view_show(cli *c);
int ent__cli_cmd_view_run(cli *c);
int ent__cli_cmd_view_remove(cli *c);
int ent__cli_cmd_object_stage(cli *c);
int ent__cli_cmd_object_convert(cli *c);
/* the report help's part on mdf and plan (cli.c is full) */
#define ENT_CLI_REPORT_LINKS                                                   \
    ", mdf (MDF budget use per program and partner: budget, requested, "      \
    "approved, claimed, paid, left, computed from the fund requests this "    \
    "node holds; --by program,budget,partner) and plan (each sales plan's "   \
    "target against the opportunities that link it: won, pipeline, "         \
    "progress; --amount F)"
/* object convert's options and help (cli_objects.c; cli.c is full) */
extern const cli_opt ent__cli_convert_opts[];
#define ENT_CLI_CONVERT_USAGE                                                  \
    "make an opportunity of a lead",                                           \
        "object convert LEAD --to opportunity [--json]",                       \
    "Creates an opportunity owned by this org from lead LEAD, carrying the "  \
    "lead's company (as name and customer_account), region, industry, "       \
    "need (as next_step), referred_by (as sourced_by) and this org's "        \
    "estimated_value (as its private deal_size), with the link field lead "   \
    "naming the lead; then sets the lead's link field converted_to and "      \
    "moves it to Converted (spec/objects.md \"Converting a lead\"). The "     \
    "opportunity has this org as its only member: add the others with "       \
    "invite. Prints the new object's id (with --json: {\"id\",\"from\"})."

int ent__cli_cmd_object_comment(cli *c);
int ent__cli_cmd_object_batch(cli *c);
int ent__cli_cmd_object_erase(cli *c);
extern const cli_opt ent__cli_erase_opts[]; /* cli_work.c */
extern const cli_opt ent__cli_approve_opts[];
extern const cli_opt ent__cli_reject_opts[];
extern const cli_opt ent__cli_rules_opts[];
/* cli_attach.c: attach, attachment list|get */
int ent__cli_cmd_attach(cli *c);
extern const cli_opt ent__cli_attach_opts[];
extern const cli_cmd ent__cli_attachment_cmds[];
/* cli_work.c: workflows (spec/workflows.md §5) */
int ent__cli_cmd_approve(cli *c);
int ent__cli_cmd_reject(cli *c);
int ent__cli_cmd_inbox(cli *c);
/* Prints the conflicts of a deal registration's block (object show's
 * "registration", an inbox row), one line each (spec/workflows.md §9.6). */
void ent__cli_print_conflicts(FILE *f, const json_t *reg);
int ent__cli_cmd_object_rules(cli *c);
int ent__cli_cmd_template_list(cli *c);
int ent__cli_cmd_template_show(cli *c);
int ent__cli_cmd_template_set(cli *c);
int ent__cli_cmd_template_reset(cli *c);
int ent__cli_cmd_invite(cli *c);
int ent__cli_cmd_join(cli *c);
int ent__cli_cmd_member_remove(cli *c);

/* cli_access.c: users, tokens, policies, login */
extern const cli_cmd ent__cli_user_cmds[];
extern const cli_cmd ent__cli_token_cmds[];
extern const cli_cmd ent__cli_policy_cmds[];
/* cli_reports.c: the options of `report`, the sub-commands of `view` */
extern const cli_opt ent__cli_report_opts[];
extern const cli_cmd ent__cli_view_cmds[];
/* cli_fieldmap.c: this org's own field and value names */
extern const cli_cmd ent__cli_fieldmap_cmds[];
/* cli_overlap.c: account mapping (spec/overlap.md) */
extern const cli_cmd ent__cli_accounts_cmds[];
extern const cli_cmd ent__cli_partner_cmds[];
extern const cli_cmd ent__cli_overlap_cmds[];
/* cli_backup.c: backup verify, restore done */
extern const cli_cmd ent__cli_backup_cmds[];
extern const cli_cmd ent__cli_restore_cmds[];
int ent__cli_cmd_user_add(cli *c);
int ent__cli_cmd_user_list(cli *c);
int ent__cli_cmd_user_show(cli *c);
int ent__cli_cmd_user_set(cli *c);
int ent__cli_cmd_user_disable(cli *c);
int ent__cli_cmd_user_remove(cli *c);
int ent__cli_cmd_token_create(cli *c);
int ent__cli_cmd_token_list(cli *c);
int ent__cli_cmd_token_revoke(cli *c);
int ent__cli_cmd_login(cli *c);
int ent__cli_cmd_policy_add(cli *c);
int ent__cli_cmd_policy_list(cli *c);
int ent__cli_cmd_policy_show(cli *c);
int ent__cli_cmd_policy_remove(cli *c);
int ent__cli_cmd_policy_test(cli *c);

/* cli_webhooks.c: webhooks */
extern const cli_cmd ent__cli_webhook_cmds[];

/* The whole command table (cli_table.c) and the two commands cli.c runs
 * itself from it: help and man. */
extern const cli_cmd ent__cli_commands[];
int ent__cli_cmd_help(cli *c);
int ent__cli_cmd_man(cli *c);
int ent__cli_cmd_webhook_add(cli *c);
int ent__cli_cmd_webhook_list(cli *c);
int ent__cli_cmd_webhook_show(cli *c);
int ent__cli_cmd_webhook_remove(cli *c);
int ent__cli_cmd_webhook_state(cli *c);
int ent__cli_cmd_webhook_deliveries(cli *c);
int ent__cli_cmd_webhook_replay(cli *c);
int ent__cli_cmd_webhook_test(cli *c);

/* cli_members.c */
int ent__cli_cmd_member_list(cli *c);
int ent__cli_cmd_member_role(cli *c);
int ent__cli_cmd_member_leave(cli *c);
int ent__cli_cmd_invite_list(cli *c);
int ent__cli_cmd_invite_revoke(cli *c);
int ent__cli_cmd_invite_inspect(cli *c);

/* cli_crm.c: CSV import and export of CRM records (spec/crm.md). Their
 * two lines of the command table, kept here so that cli.c stays short. */
extern const cli_opt ent__cli_import_opts[];
extern const cli_opt ent__cli_export_opts[];
int ent__cli_cmd_import(cli *c);
int ent__cli_cmd_export(cli *c);
#define ENT__CLI_CRM_CMDS                                                    \
    {"import", ent__cli_cmd_import,                                          \
     "import a CRM's CSV export (upsert by external id)",                    \
     "import FILE.csv --type TYPE --map MAP [--dry-run] [--rejects FILE] "    \
     "[--separator SEP] [--batch N] [--json]",                               \
     "Reads FILE.csv (RFC 4180 and what CRMs write: BOM, CRLF, quoted "      \
     "newlines, ';' separators) with the mapping file MAP (spec/crm.md: "    \
     "which column fills which field, shared or private, picklist, date, "   \
     "amount and org transforms, the external id column) and upserts each " \
     "row into the running node by its external id: a known id changes "     \
     "only the fields that differ (no op when none does), a new one "        \
     "creates an object. The whole file is read first: a broken file (an "  \
     "open quote, invalid UTF-8, a NUL byte, a cell, line or row too long) " \
     "imports nothing; a bad row (a value of the wrong type, an unknown "    \
     "picklist value, an external id twice in the file) is rejected whole, " \
     "written to --rejects FILE with its line and reason, and the others "   \
     "are imported. Rows commit in batches of --batch rows (default 500), "  \
     "one durable commit each; their ops go to the members after each "      \
     "commit. Run it again after a failure: it continues, by external id. "  \
     "--dry-run reports what would be created, updated and rejected and "    \
     "changes nothing. Progress on a terminal; then a summary line, or "     \
     "with --json {\"created\",\"updated\",\"unchanged\","                 \
     "\"rejected\",\"ops\",\"dry_run\"}. Exit status 1 when a row was "     \
     "rejected.",                                                            \
     ent__cli_import_opts, 1, 1, NULL},                                      \
    {"export", ent__cli_cmd_export,                                          \
     "export objects as CSV for a CRM (the map in reverse)",                 \
     "export --type TYPE --map MAP [--where EXPR] [--hide-private] "         \
     "[--since CURSOR] [--out FILE]",                                        \
     "Writes the objects of TYPE this node holds as CSV (RFC 4180, CRLF) "  \
     "on standard output (or --out FILE), one row each, with the columns "  \
     "of MAP: the same mapping file an import reads, in reverse, so that a " \
     "CRM import of the file updates its records by external id and an "     \
     "`entente import` of it changes nothing. --where keeps the objects an " \
     "expression of spec/reports.md keeps; --hide-private leaves every "     \
     "private column empty; --since CURSOR only the objects changed after "  \
     "that event id. Standard error ends with \"next --since N\": the "     \
     "cursor of the next run.",                                              \
     ent__cli_export_opts, 0, 0, NULL}

#endif
