/*
 * cli.c - the entente command line (see cli.h and spec/cli.md): the command
 * table with every command's help and options, the help printer, option
 * parsing and dispatch, and the helpers every command shares (errors,
 * JSON output, requests to the running node, progress lines). The commands
 * themselves live in cli_node.c, cli_objects.c and cli_audit.c; a new
 * command is one entry in the table below plus its function there.
 */
#include "node/cli/cli.h"
#include "node/audit/audit.h"
#include "node/cli/cli_int.h"
#include "node/cli/client.h"
#include "node/err.h"
#include "node/home.h"
#include "node/log.h"
#include "node/node.h"
#include "node/term.h"
#include "node/timefmt.h"
#include "protocol/op.h"
#include "protocol/wire.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const cli_opt global_opts[] = {
    {"home", "DIR", "home folder (default: $ENTENTE_HOME, else ~/.entente)"},
    {"json", NULL, "print exactly one JSON document on standard output"},
    {"log-level", "L",
     "debug, info, warn or error (default: warn; serve: info)"},
    {"help", NULL, "print this help and exit"},
    {"token", "TOKEN",
     "act as the user of this API token (default: $ENTENTE_TOKEN)"},
    {NULL, NULL, NULL},
};

/* ---- helpers shared by the commands (cli_int.h) -------------------------- */

/*
 * Writes "entente: WORDS: " and the formatted message to stderr. The
 * message is escaped (node/term.h): it carries reasons, names and values
 * from the node and from partners.
 */
static void vfail(const char *words, const char *fmt, va_list ap) {
    char small[512], *big = NULL;
    const char *msg = small;
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    if (n >= (int)sizeof(small) && (big = malloc((size_t)n + 1)) != NULL) {
        vsnprintf(big, (size_t)n + 1, fmt, aq);
        msg = big;
    }
    va_end(aq);
    fprintf(stderr, "entente: %s: ", words);
    ent_term_fputs(stderr, n < 0 ? "" : msg);
    free(big);
}

int ent__cli_failw(const char *words, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(words, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int ent__cli_usagew(const char *words, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(words, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see: entente %s --help)\n", words);
    return EXIT_USAGE;
}

/* Prints "entente: WORDS: message" on stderr and returns exit status 1. */
int ent__cli_fail(const cli *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(c->words, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

void ent__cli_print_json(const json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s != NULL) {
        ent_term_fputs_json(stdout, s);
        fputc('\n', stdout);
        free(s);
    }
}

const char *ent__cli_opt_value(const cli *c, const char *name) {
    const char *v = NULL;
    for (int i = 0; i < c->nopts; i++)
        if (strcmp(c->opts[i].name, name) == 0)
            v = c->opts[i].value;
    return v;
}

int ent__cli_usage_error(const cli *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(c->words, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: entente %s\n(see: entente %s --help)\n",
            c->cmd->usage, c->words);
    return EXIT_USAGE;
}

/*
 * One line of text output: the columns escaped (node/term.h), each but the
 * last padded to its width and followed by two spaces, and no trailing
 * blanks (an empty last column leaves none either).
 */
void ent__cli_row(FILE *f, const char *indent, const char *const *cols,
                  const int *widths, size_t n) {
    char *line = NULL;
    size_t cap = 0;
    FILE *m = open_memstream(&line, &cap);
    if (m == NULL)
        return;
    fputs(indent, m);
    for (size_t i = 0; i < n; i++) {
        const char *s = cols[i] != NULL ? cols[i] : "";
        ent_term_fputs(m, s);
        if (i + 1 == n)
            break;
        for (size_t w = ent_term_width(s, strlen(s)); w < (size_t)widths[i];
             w++)
            fputc(' ', m);
        fputs("  ", m);
    }
    if (fclose(m) != 0 || line == NULL) {
        free(line);
        return;
    }
    size_t l = strlen(line);
    while (l > 0 && line[l - 1] == ' ')
        l--;
    fwrite(line, 1, l, f);
    fputc('\n', f);
    free(line);
}

void ent__cli_kv(FILE *f, const char *key, const char *value) {
    char k[32];
    snprintf(k, sizeof(k), "%s:", key);
    ent__cli_row(f, "", (const char *const[]){k, value}, (const int[]){7}, 2);
}

const char *ent__cli_time(char out[32], const json_t *v) {
    uint64_t ms;
    const char *s = json_string_value(v);
    if (s == NULL)
        return "-";
    if (ent_timefmt_parse(s, &ms) != ENT_OK ||
        ent_timefmt_local(out, ms) != ENT_OK)
        return s;
    return out;
}

const char *ent__cli_who(char out[16], const json_t *o) {
    const char *name = json_string_value(json_object_get(o, "name"));
    if (name != NULL && name[0] != '\0')
        return name;
    snprintf(out, 16, "%.12s", ent__cli_jstr(o, "org"));
    return out;
}

const char *ent__cli_jstr(const json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* n with thousands separators: 41,200. */
const char *ent__cli_fmt_count(char out[32], uint64_t n) {
    char tmp[32];
    int len = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)n);
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = tmp[i];
    }
    out[o] = '\0';
    return out;
}

uint64_t ent__cli_jint(const json_t *o, const char *k) {
    json_int_t v = json_integer_value(json_object_get(o, k));
    return v > 0 ? (uint64_t)v : 0;
}

/*
 * "41,200 / 100,000 ops (41%), 9,800 ops/s, ~6 s left" into out: done of
 * expected (known: the total is known) at rate ops/s; eta < 0: unknown.
 */
void ent__cli_fmt_progress(char *out, size_t cap, uint64_t done, bool known,
                           uint64_t expected, uint64_t rate, long long eta) {
    char a[32], b[32], r[32];
    size_t o = 0;
    if (known && expected > 0) {
        uint64_t pct = (done > expected ? expected : done) * 100 / expected;
        o = (size_t)snprintf(
            out, cap, "%s / %s ops (%llu%%)", ent__cli_fmt_count(a, done),
            ent__cli_fmt_count(b, expected), (unsigned long long)pct);
    } else {
        o = (size_t)snprintf(out, cap, "%s ops", ent__cli_fmt_count(a, done));
    }
    if (o < cap && rate > 0)
        o += (size_t)snprintf(out + o, cap - o, ", %s ops/s",
                              ent__cli_fmt_count(r, rate));
    if (o < cap && eta >= 0)
        snprintf(out + o, cap - o, ", ~%lld s left", eta);
}

int ent__cli_addr_arg(cli *c, const char *what, const char *addr) {
    char why[256];
    if (addr == NULL || ent_home_addr_check(addr, why, sizeof(why)) == ENT_OK)
        return -1;
    return ent__cli_fail(c, "invalid %s address '%.80s': %s", what, addr, why);
}

int ent__cli_not_running(const char *words, const char *home) {
    char key[PATH_MAX];
    struct stat st;
    if (stat(home, &st) != 0 && errno == ENOENT)
        return ent__cli_failw(words,
                              "%s: no such home (create one with: entente "
                              "init --name NAME)",
                              home);
    if (ent_home_path(key, sizeof(key), home, ENT_HOME_KEY) == ENT_OK &&
        stat(key, &st) != 0 && errno == ENOENT)
        return ent__cli_failw(words,
                              "%s: not an entente home (no identity.key; "
                              "create one with: entente init --name NAME)",
                              home);
    return ent__cli_failw(words,
                          "no node is running for %s (start one with: "
                          "entente serve)",
                          home);
}

int ent__cli_call(const char *words, const char *home, const char *method,
                  const char *path, const json_t *body, json_t **out) {
    int http = 0;
    *out = NULL;
    int rc = ent_client_request(home, method, path, body, &http, out);
    if (rc == ENT_ENOTRUNNING)
        return ent__cli_not_running(words, home);
    if (rc != ENT_OK)
        return ent__cli_failw(words, "%s", ent_strerror(rc));
    if (http < 200 || http > 299) {
        int st = ent__cli_failw(words, "%s", ent_client_error(*out));
        json_decref(*out);
        *out = NULL;
        return st;
    }
    return -1;
}

/*
 * One request to the running node of c->home. On a 2xx answer *out holds the
 * response JSON (caller json_decref()s) and -1 is returned; otherwise the
 * error is printed and the exit status returned.
 */
int ent__cli_call_print(cli *c, const char *method, const char *path,
                        const json_t *body, void (*print)(const json_t *)) {
    json_t *resp = NULL;
    int st = ent__cli_daemon_call(c, method, path, body, &resp);
    if (st >= 0)
        return st;
    if (c->json)
        ent__cli_print_json(resp);
    else if (print != NULL)
        print(resp);
    json_decref(resp);
    return 0;
}

int ent__cli_daemon_call(cli *c, const char *method, const char *path,
                         const json_t *body, json_t **out) {
    return ent__cli_call(c->words, c->home, method, path, body, out);
}

/* ---- the command table --------------------------------------------------- */

static int cmd_help(cli *c);
static int cmd_man(cli *c);

static const cli_opt init_opts[] = {
    {"name", "NAME", "the org's display name (1-64 bytes of UTF-8), required"},
    {"listen", "HOST:PORT",
     "peer address to listen on (default " ENT_DEFAULT_LISTEN ")"},
    {"advertise", "HOST:PORT",
     "address partners dial, put in invites (default: see config)"},
    {NULL, NULL, NULL},
};

static const cli_opt serve_opts[] = {
    {"listen", "HOST:PORT",
     "listen here, not at the init address (port 0: a free port)"},
    {"api", "HOST:PORT",
     "also serve the API on TCP (PORT alone: 127.0.0.1:PORT; port 0: a "
     "free port); a non-loopback address needs TLS"},
    {"tls-cert", "FILE", "PEM certificate chain of the TCP API"},
    {"tls-key", "FILE", "PEM private key of the TCP API (mode 0600)"},
    {"insecure-http", NULL,
     "allow plain HTTP on a non-loopback --api address"},
    {"api-rate", "N",
     "requests per second per token or session on TCP (default 50)"},
    {"log-format", "FORMAT",
     "text (default) or json: one JSON object a line, for log shippers"},
    {"log-file", "FILE",
     "append the log to FILE (mode 0600), not standard error; SIGHUP "
     "reopens it"},
    {NULL, NULL, NULL},
};

static const cli_opt status_opts[] = {
    {"wait", "[=TIMEOUT]",
     "wait until the node answers, at most TIMEOUT (default 10s)"},
    {NULL, NULL, NULL},
};

static const cli_opt no_opts[] = {{NULL, NULL, NULL}};

static const cli_opt object_create_opts[] = {
    {"type", "TYPE", "the object type (opportunity, lead, ...), required"},
    {"set", "F=V", "a shared field of the template (repeatable)"},
    {"private", "F=V", "a private field: never leaves this node (repeatable)"},
    {"custom", "F=V",
     "a shared field the template does not list (repeatable)"},
    {NULL, NULL, NULL},
};

static const cli_opt object_set_opts[] = {
    {"set", "F=V",
     "a shared field of the template (repeatable); an empty V clears it"},
    {"private", "F=V", "a private field (repeatable); an empty V clears it"},
    {"custom", "F=V",
     "a shared field the template does not list (repeatable)"},
    {"remove", "F", "remove custom field F, shared and private (repeatable)"},
    {NULL, NULL, NULL},
};

static const cli_opt object_show_opts[] = {
    {"hide-private", NULL, "leave out the private fields entirely"},
    {"own-names", NULL, "fields and values in this org's own names"},
    {NULL, NULL, NULL},
};

static const cli_opt object_list_opts[] = {
    {"type", "TYPE", "only objects of this type"},
    {"stage", "STAGE", "only objects at this stage (case ignored)"},
    {"sort", "KEY",
     "id (default), title, stage, date or type; -KEY: descending"},
    {"limit", "N", "at most N objects (after sorting)"},
    {"after", "ID", "page: only objects after id ID (id order)"},
    {NULL, NULL, NULL},
};

static const cli_cmd object_cmds[] = {
    {"create", ent__cli_cmd_object_create, "create a joint object",
     "object create --type TYPE [--set F=V]... [--private F=V]... [--json]",
     "Creates a joint object of TYPE with this org as its owner and prints "
     "its id (64 hex characters; with --json: {\"id\"}). --set F=V gives a "
     "shared field of the template (sent, encrypted, to the members), "
     "--private F=V a private one (kept on this node only), --custom F=V a "
     "shared text field the template does not list; each splits at the "
     "first '=' and may be repeated. Values are parsed by the org's template "
     "of TYPE (entente template show TYPE): money as \"1200000 EUR\", dates "
     "as YYYY-MM-DD, enums from their list. --set refuses a field the "
     "template does not list, naming the nearest one (a typo never becomes "
     "a shared field), and one it marks private; a strict template refuses "
     "--custom too. A refused value creates nothing.",
     object_create_opts, 0, 0, NULL},
    {"set", ent__cli_cmd_object_set, "change fields of an object",
     "object set OBJ [--set F=V]... [--private F=V]... [--json]",
     "Changes shared (--set) and private (--private) fields of object OBJ, "
     "as one change: if any value is refused, nothing changes. An empty "
     "value clears the field. --set takes the fields of the template only "
     "(an unknown one is refused with the nearest known name); --custom "
     "F=V sets a shared field the template does not list, and --remove F "
     "removes such a custom field (at every member, and its private value "
     "here). A viewer may change its private fields only. Prints nothing "
     "(with --json: {\"id\"}).",
     object_set_opts, 1, 1, NULL},
    {"show", ent__cli_cmd_object_show, "show an object",
     "object show OBJ [--json] [--hide-private] [--own-names]",
     "Prints the type, epoch, members, shared fields and private fields of "
     "object OBJ, and its comments with their local date. With --json: "
     "{\"id\",\"type\",\"epoch\",\"status\",\"members\":[{\"org\","
     "\"name\",\"role\",\"status\"}],\"shared\":{},\"private\":{},"
     "\"comments\":[{\"org\",\"name\",\"time\",\"text\"}]} (name: null "
     "when this node does not know the org's; time: RFC 3339). With "
     "--hide-private the private fields are left out entirely (no "
     "\"private\" key); --own-names: keys and values by this org's field "
     "map (entente fieldmap).",
     object_show_opts, 1, 1, NULL},
    {"list", ent__cli_cmd_object_list, "list the objects this node holds",
     "object list [--type TYPE] [--stage STAGE] [--sort KEY] [--limit N] "
     "[--json]",
     "Lists the objects this node holds, one per line: the id (as many "
     "characters as tell the listed ones apart; every command takes such a "
     "prefix), type, stage, date and title. The title is the first text "
     "field of the type's template (name, company...), the date its first "
     "date field (close_date for an opportunity). --type and --stage keep "
     "only those objects, --sort orders them (objects without the key last), "
     "--limit keeps the first N. With --json: [{\"id\",\"type\",\"epoch\","
     "\"status\",\"title\",\"stage\",\"date\"}] (full ids; null where a "
     "value is unset).",
     object_list_opts, 0, 0, NULL},
    {"stage", ent__cli_cmd_object_stage, "move an object to a workflow stage",
     "object stage OBJ STAGE [--json]",
     "Moves object OBJ to workflow STAGE (one of the stages of its template, "
     "matched ignoring case), as a shared change of the field \"stage\". "
     "Prints nothing (with --json: {\"id\"}).",
     no_opts, 2, 2, NULL},
    {"convert", ent__cli_cmd_object_convert, ENT_CLI_CONVERT_USAGE,
     ent__cli_convert_opts, 1, 1, NULL},
    {"comment", ent__cli_cmd_object_comment, "comment on an object",
     "object comment OBJ TEXT [--json]",
     "Adds a comment to object OBJ (at most 4096 bytes of text); comments "
     "are shared with the members. Prints nothing (with --json: "
     "{\"id\"}).",
     no_opts, 2, 2, NULL},
    {"batch", ent__cli_cmd_object_batch, "many object changes in one request",
     "object batch FILE|- [--json]",
     "Sends {\"changes\":[...]} from FILE (or standard input, at most 1 MiB) "
     "to POST /v1/objects/batch (spec/api.md \"Batches\"): at most 1,000 "
     "create, set, stage and comment changes, checked whole first (nothing "
     "applied if one is malformed), then each applied on its own and all "
     "committed together. Prints a line per change: its number, status and "
     "the object id or the error; exits 1 if any change failed. With "
     "--json: {\"results\",\"applied\",\"failed\"}.",
     no_opts, 1, 1, NULL},
    {"erase", ent__cli_cmd_object_erase, "erase a shared field or the object",
     "object erase OBJ [--field FIELD] [--json]",
     "Erases field FIELD of OBJ (default: all of it) by the owner's erase op "
     "(spec/objects.md \"Erasure\"). Prints nothing (--json: {\"id\"}).",
     ent__cli_erase_opts, 1, 1, NULL},
    {"rules", ent__cli_cmd_object_rules,
     "show or change the workflow rules an object carries",
     "object rules OBJ [--set FILE|-] [--json]",
     "Prints the workflow rules object OBJ carries (spec/workflows.md): its "
     "stage, each move with who may make it and the approvals it needs, "
     "the field owners, and every approval or rejection given (with "
     "whether it counts). With --json: {\"rules\",\"stage\","
     "\"decisions\":[{\"org\",\"name\",\"step\",\"decision\","
     "\"comment\",\"hlc\",\"counts\"}],\"waiting\":[{\"step\","
     "\"by\",\"to\",\"self\"}]} (rules: null for an object without). "
     "With --set, reads a workflow section ({\"transitions\","
     "\"field_owners\"}, as in a template) from FILE and gives it to the "
     "object: the owner only; the members judge every later move by it.",
     ent__cli_rules_opts, 1, 1, NULL},
    {"key", ent__cli_cmd_object_key, "print an object's keys for an auditor",
     "object key OBJ [--json]",
     "Prints the epoch keys of object OBJ as OBJ:KEY,KEY... (with --json: "
     "{\"object\",\"keys\":[{\"epoch\",\"key\"}]}), the form `entente "
     "audit verify --key` takes to disclose the object's history to an "
     "auditor. Owner or admin only; anyone holding them reads every shared "
     "field of the object.",
     no_opts, 1, 1, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const cli_cmd template_cmds[] = {
    {"list", ent__cli_cmd_template_list,
     "list the object types that have a template", "template list [--json]",
     "Lists every object type with a template: the built-in ones and the "
     "ones this org stored. With --json: [{\"type\",\"builtin\","
     "\"stored\"}].",
     no_opts, 0, 0, NULL},
    {"show", ent__cli_cmd_template_show, "show the template of a type",
     "template show TYPE [--json]",
     "Prints this org's template of TYPE (the stored one, else the "
     "built-in): strictness, workflow stages and one line per field: type, "
     "default visibility, label, owner-only, allowed values (a table, or "
     "the inline list) and default. With --json: the template JSON of "
     "spec/objects.md, {\"type\",\"strict\",\"fields\":[{\"name\","
     "\"type\",\"visibility\",\"owner_only\",\"or_text\",\"label\","
     "\"default\",\"table\",\"values\",\"target\",\"derived\"}],"
     "\"stages\",\"stage_probability\",\"workflow\"}, which `entente "
     "template set` accepts back.",
     no_opts, 1, 1, NULL},
    {"set", ent__cli_cmd_template_set, "store this org's template of a type",
     "template set TYPE FILE|- [--json]",
     "Reads a template as JSON from FILE (or standard input with '-', at "
     "most 1 MiB), checks it and stores it as this org's template of TYPE, "
     "replacing the previous one. Its \"type\" must be TYPE. Stored objects "
     "are not changed. With --json prints the stored template as template "
     "show does: {\"type\",\"strict\",\"fields\":[{\"name\",\"type\","
     "\"visibility\",\"owner_only\",\"or_text\",\"label\",\"default\","
     "\"table\",\"values\",\"target\",\"derived\"}],\"stages\","
     "\"stage_probability\",\"workflow\"}.",
     no_opts, 2, 2, NULL},
    {"reset", ent__cli_cmd_template_reset, "drop this org's template of a type",
     "template reset TYPE [--json]",
     "Deletes the template this org stored for TYPE, so that the built-in "
     "one applies again. Prints nothing (with --json: {\"type\"}).",
     no_opts, 1, 1, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const cli_opt invite_opts[] = {
    {"role", "ROLE", "member (default), admin or viewer"},
    {"ttl", "DURATION",
     "how long the token is valid: 90s, 15m, 2h, 7d (default 7d, at most 90d)"},
    {NULL, NULL, NULL},
};

static const cli_opt login_opts[] = {
    {"user", "USER", "the user name (required)"}, {NULL, NULL, NULL}};

static const cli_opt join_opts[] = {
    {"timeout", "DURATION", "how long to wait for the object (default 60s)"},
    {NULL, NULL, NULL},
};

static const cli_cmd invite_cmds[] = {
    {"list", ent__cli_cmd_invite_list, "list the invites this node made",
     "invite list [OBJ] [--json]",
     "Lists the invites this node made (of object OBJ only, when given): "
     "invite id, object, role, status (pending, expired or used), expiry "
     "and who used it. With --json: [{\"invite_id\",\"object\",\"role\","
     "\"created\",\"expires\",\"status\",\"used_by\",\"used_at\"}] "
     "(times RFC 3339; used_by and used_at null while unused).",
     no_opts, 0, 1, NULL},
    {"revoke", ent__cli_cmd_invite_revoke, "revoke an unused invite",
     "invite revoke INVITE_ID [--json]",
     "Revokes the unused invite INVITE_ID (32 hex characters, as `invite "
     "list` shows it and `invite --json` prints it): its token can never be "
     "used. A used invite is kept as history and cannot be revoked. Prints "
     "nothing (with --json: {\"invite_id\",\"revoked\"}).",
     no_opts, 1, 1, NULL},
    {"inspect", ent__cli_cmd_invite_inspect, "show what a token holds",
     "invite inspect TOKEN [--json]",
     "Shows what invite TOKEN holds, before `entente join TOKEN`: the "
     "object id, the object's type as the inviter states it (\"unknown "
     "(older token)\" for a token made before tokens carried it), the "
     "inviting org, the role it gives, when it expires, the addresses join "
     "dials and the invite id. The object's fields arrive with the join. "
     "Reads the token only: needs no node and tells no one. Exit status 1 "
     "when the token is damaged (the reason: a typo, truncated...) or has "
     "expired. With --json: {\"object\",\"type\",\"inviter\",\"role\","
     "\"expires\",\"expired\",\"addrs\",\"invite_id\"} (type null for an "
     "older token).",
     no_opts, 1, 1, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const cli_opt config_set_opts[] = {
    {"new", NULL, "TABLE is a new configuration table (else: a typo)"},
    {NULL, NULL, NULL},
};

static const cli_cmd config_cmds[] = {
    {"get", ent__cli_cmd_config_get, "show this node's settings",
     "config get [KEY|TABLE] [--json]",
     "Prints the node's settings, or the value of one (nothing when it is "
     "not set). Keys: advertise (HOST:PORT partners dial: the address put "
     "in invite tokens and announced to peers) and default_currency (of "
     "money typed without a code). With --json: {\"advertise\","
     "\"default_currency\"} (null when not set), or {KEY: value}. Any other "
     "name is a configuration table, printed as `config show` does "
     "({\"name\",\"values\"}). Works with or without a running node.",
     no_opts, 0, 1, NULL},
    {"set", ent__cli_cmd_config_set, "change a setting or a table",
     "config set KEY VALUE | TABLE VALUE... [--new] [--json]",
     "Stores a setting; a running node uses it at once (the next invite "
     "carries a new advertise address), and it is kept across restarts. "
     "advertise takes HOST:PORT (an IPv4 address, [IPv6] or a DNS name; "
     "\"\" goes back to the default: the listen address, or for 0.0.0.0 / "
     "[::] the address of the interface that routes outward, else "
     "loopback). $ENTENTE_ADVERTISE, when set, overrides it. "
     "default_currency takes an ISO 4217 code. Any other name is a "
     "configuration table (regions, industries, ...): its values become "
     "VALUE... (each non-empty, distinct ignoring case, at most 256 bytes; "
     "stored values that use a dropped one keep it); a table that does not "
     "exist yet needs --new, so that a mistyped name makes none. The "
     "stages of a type are its template's, not a table. Prints nothing (with --json: the "
     "settings, {\"advertise\",\"default_currency\"}, or the table, "
     "{\"name\",\"values\"}).",
     config_set_opts, 2, 1025, NULL},
    {"list", ent__cli_cmd_config_list, "list the configuration tables",
     "config list [--json]",
     "Lists the configuration tables enum fields take their values from: "
     "the built-in ones (regions, industries, forecast_categories, "
     "mdf_activity_types) and those this org stored, with where each comes "
     "from and how many values it has. With --json: [{\"name\","
     "\"values\",\"builtin\",\"stored\"}]. Works with or without a "
     "running node.",
     no_opts, 0, 0, NULL},
    {"show", ent__cli_cmd_config_show, "show the values of a table",
     "config show TABLE [--json]",
     "Prints the values of configuration table TABLE, one per line: the "
     "stored list, else the built-in one. With --json: {\"name\","
     "\"values\"}. Works with or without a running node.",
     no_opts, 1, 1, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const cli_cmd member_cmds[] = {
    {"list", ent__cli_cmd_member_list, "list the member orgs of an object",
     "member list OBJ [--json]",
     "Lists the member orgs of object OBJ, one per line: org id, role "
     "(owner, admin, member, viewer), status (active, or removed: it left "
     "or was removed) and name. With --json: [{\"org\",\"name\",\"role\","
     "\"status\"}] (name: null when this node does not know the org's).",
     no_opts, 1, 1, NULL},
    {"role", ent__cli_cmd_member_role, "change the role of a member org",
     "member role OBJ ORG ROLE [--json]",
     "Gives active member ORG of object OBJ the role ROLE (admin, member or "
     "viewer): a signed membership change sent to every member. Only an "
     "owner or admin may, an admin only for members it outranks (admins "
     "appointed after it); the owner's role never changes. A new org comes "
     "with an invite. Prints nothing (with --json: {\"id\",\"org\","
     "\"role\"}).",
     no_opts, 3, 3, NULL},
    {"leave", ent__cli_cmd_member_leave, "leave an object",
     "member leave OBJ [--json]",
     "This org leaves object OBJ on its own (any role but the owner): a "
     "signed leave sent to the members, after which the remaining owner or "
     "admin moves the object to a new key this org never receives. It "
     "keeps what it had, makes no more changes and receives nothing more "
     "of the object. Prints nothing (with --json: {\"id\",\"left\"}).",
     no_opts, 1, 1, NULL},
    {"remove", ent__cli_cmd_member_remove, "remove a member org from an object",
     "member remove OBJ ORG [--json]",
     "Removes org ORG (its org id) from object OBJ; only an owner or admin "
     "may, and never the owner. The object moves to a new epoch whose key "
     "the removed org never receives: it is told of its removal and gets "
     "nothing of the object afterwards. Prints nothing (with --json: "
     "{\"id\",\"removed\"}).",
     no_opts, 2, 2, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const cli_opt heads_opts[] = {
    {"org", "ORG", "only the head kept of org id ORG"},
    {NULL, NULL, NULL},
};

static const cli_opt log_opts[] = {
    {"since", "N", "start at entry index N"}, {NULL, NULL, NULL}};

static const cli_opt events_opts[] = {
    {"follow", NULL, "stream events as they happen, until interrupted"},
    {"after", "ID", "start after event ID (default: the oldest kept; with "
                    "--follow: the newest)"},
    {"kind", "K", "only events of kind K (repeatable, or K,K)"},
    {"object", "OBJ", "only events of object OBJ"},
    {"limit", "N", "at most N events (1-1000, default 100; not with --follow)"},
    {NULL, NULL, NULL},
};

static const cli_opt export_opts[] = {
    {"out", "FILE", "write the export to FILE (mode 0600), not stdout"},
    {"object", "OBJ", "only the entries of object OBJ, with inclusion proofs"},
    {"since", "N", "only entries from index N, with the frontier before N"},
    {NULL, NULL, NULL},
};

static const cli_opt verify_opts[] = {
    {"org", "ORG", "fail unless the export is of org id ORG"},
    {"witness", "FILE",
     "also check the signed heads in FILE (audit heads "
     "--json output, or hex heads one a line)"},
    {"key", "OBJ:HEX",
     "decrypt object OBJ's ops with its epoch key(s) HEX[,HEX]"
     " and print its history"},
    {NULL, NULL, NULL},
};

static const cli_cmd audit_cmds[] = {
    {"export", ent__cli_cmd_audit_export, "export the signed activity log",
     "audit export [--out FILE] [--object OBJ] [--since N] [--json]",
     "Has the running node sign a tree head over its activity log and "
     "write the export (spec/audit.md section 9): entries, signed heads, "
     "proofs and the ops they refer to, as one file: FILE with --out, else "
     "standard output, but never a terminal. With --json (needs --out): "
     "{\"file\",\"bytes\",\"tree_size\"}.",
     export_opts, 0, 0, NULL},
    {"verify", ent__cli_cmd_audit_verify, "verify an export offline",
     "audit verify FILE [--org ORG] [--witness FILE] [--key OBJ:HEX] "
     "[--json]",
     "Checks every byte of an export with public keys only, without a "
     "node: signatures, hash chain, Merkle root, inclusion and consistency "
     "proofs, ops. Exit status 0 only if everything checks; otherwise the "
     "first failure (and the entry at fault) is printed. With --json: "
     "{\"ok\":true,\"org\",\"name\",\"entries\",\"tree_size\",\"since\","
     "\"heads\",\"ops\",\"equivocations\",\"witnessed\",\"object\",\"first\","
     "\"erased\",\"erasures\":[{\"op\",\"object\",\"org\",\"seq\","
     "\"time\"}]}, with --key also \"history\":[{\"op\",\"author\",\"seq\",\"time\","
     "\"kind\",\"epoch\",\"body\":{\"type\",\"fields\",\"member\","
     "\"epoch\",\"text\"}}] and \"undisclosed\"; on failure {\"ok\":false,"
     "\"error\",\"reason\",\"entry\"}.",
     verify_opts, 1, 1, NULL},
    {"heads", ent__cli_cmd_audit_heads,
     "partners' tree heads kept as a witness",
     "audit heads [--org ORG] [--json]",
     "Prints the latest signed tree head this node keeps for each partner "
     "org (spec/audit.md section 11). With --json: {\"heads\":[{\"org\","
     "\"name\",\"size\",\"root\",\"time\",\"head\"}]}; give that file to "
     "`entente audit verify --witness` to check the org's export against "
     "it.",
     heads_opts, 0, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const cli_opt man_opts[] = {
    {"list", NULL, "print the page names (entente, entente-init, ...)"},
    {NULL, NULL, NULL},
};

/* The command table. Planned commands (spec/cli.md) join it as they land. */
static const cli_cmd commands[] = {
    {"init", ent__cli_cmd_init, "create the org identity and the database",
     "init --name NAME [--listen HOST:PORT] [--advertise HOST:PORT] "
     "[--home DIR] [--json]",
     "Creates a new home folder: a fresh Ed25519 org identity in "
     "identity.key (mode 0600) and the node's LMDB database, holding the org "
     "name, the peer listen address and, with --advertise, the address "
     "partners dial (in invites; see `entente config`). Prints the org id "
     "(with --json: "
     "{\"org\",\"name\",\"home\"}). Refuses to touch a home that already "
     "exists and is not empty; a failure leaves nothing behind.",
     init_opts, 0, 0, NULL},
    {"serve", ent__cli_cmd_serve, "run the node in the foreground",
     "serve [--listen HOST:PORT] [--api HOST:PORT [--tls-cert FILE "
     "--tls-key FILE] [--insecure-http] [--api-rate N]] [--log-format "
     "text|json] [--log-file FILE] [--home DIR] [--log-level L]",
     "Runs the node until SIGINT or SIGTERM: listens for partner nodes on "
     "TCP and serves the local API on the Unix socket HOME/api.sock (mode "
     "0600). Only one node may run per home; a second one exits with an "
     "error naming the running one. Once both listen it prints one line, "
     "\"ready: listening on HOST:PORT, advertising HOST:PORT, api PATH\" "
     "(with --json: {\"ready\",\"listen\",\"advertise\",\"api\"}; with "
     "--api, \", api-tcp HOST:PORT\" (\"api_tcp\") and \" (TLS)\" under "
     "TLS), and "
     "tells a service manager that set $NOTIFY_SOCKET (systemd "
     "Type=notify) READY=1. Logs go to standard error, or appended to "
     "--log-file FILE, which SIGHUP reopens (after logrotate moved it); "
     "--log-format json writes each record as one JSON object, {\"time\","
     "\"level\",\"msg\"}. A line is logged per partner session that "
     "opens or closes, and refused connections are summed up in one line "
     "per interval, never one per packet.",
     serve_opts, 0, 0, NULL},
    {"status", ent__cli_cmd_status,
     "show the running node's identity and counts",
     "status [--wait[=TIMEOUT]] [--home DIR] [--json]",
     "Asks the running node of HOME for its org id, name, actual listen "
     "address, number of partner nodes and number of objects, and prints "
     "one line per backlog sync running or finished in the last minute "
     "(a join's history, or a catch-up): \"sync  OBJ from PEER: 41,200 / "
     "100,000 ops (41%), 9,800 ops/s, ~6 s left\". With --json, prints "
     "{\"org\",\"name\",\"listen\",\"advertise\",\"peers\",\"objects\","
     "\"equivocations\",\"syncs\":[{\"object\",\"peer\",\"peer_name\","
     "\"join\",\"state\",\"expected\",\"received\",\"applied\","
     "\"ops_per_sec\",\"eta_seconds\",\"elapsed_ms\"}],\"sessions\":{"
     "\"open\",\"guests\",\"guests_closed\",\"refused\",\"bans\","
     "\"banned\"},\"received\":{\"applied\",\"held\",\"rejected\","
     "\"not_member\",\"limit\",\"held_strangers\",\"held_evicted\","
     "\"held_expired\",\"bad_value\",\"corrupt\"},\"api_tcp\","
     "\"api_tls\",\"restore\"} (api_tcp: the TCP API's address or null; "
     "restore: null or {\"state\":\"catching_up\",\"partners\","
     "\"in_sync\"}; spec/api.md). "
     "Fails when no node is running for HOME; with --wait "
     "it first waits for one to answer (a node just started in the "
     "background), at most TIMEOUT (default 10s), then fails.",
     status_opts, 0, 0, NULL},
    {"object", NULL, "create, change, show and list joint objects",
     "object COMMAND [ARGS] [options]",
     "Joint objects: shared opportunities, leads, solutions, plans... Each "
     "field is shared (sent, encrypted, to the member orgs) or private "
     "(never leaves this node). OBJ is the object id (64 hex characters) or "
     "a unique prefix of it, at least 4 characters, as `object list` shows "
     "it.",
     no_opts, 0, 0, object_cmds},
    {"attach", ent__cli_cmd_attach, "attach a file to an object",
     "attach OBJ FILE [--name NAME] [--json]",
     "Attaches FILE (at most 25 MiB) to OBJ: chunks sealed under the epoch "
     "key, a manifest op to the members (spec/objects.md \"Attachments\").",
     ent__cli_attach_opts, 2, 2, NULL},
    {"attachment", NULL, "list and fetch an object's attachments",
     "attachment COMMAND [ARGS] [options]", "Files attached to objects.",
     no_opts, 0, 0, ent__cli_attachment_cmds},
    {"template", NULL, "list, show and set this org's object templates",
     "template COMMAND [ARGS] [options]",
     "Templates define each object type for this org: fields, their types, "
     "default visibility, allowed values and workflow stages.",
     no_opts, 0, 0, template_cmds},
    {"invite", ent__cli_cmd_invite, "invite a partner org to an object",
     "invite OBJ [--role member|admin|viewer] [--ttl DURATION] [--json]",
     "Creates a one-time invite to object OBJ (owner or admin only) and "
     "prints it as a single-line token (with --json: {\"token\","
     "\"expires\",\"invite_id\"}, expires in RFC 3339). Send it to the "
     "partner out of band; "
     "it runs `entente join TOKEN`. The token carries this node's address "
     "and a secret; it works once, until it expires. `invite list`, "
     "`invite revoke` and `invite inspect` manage and preview invites.",
     invite_opts, 1, 1, invite_cmds},
    {"join", ent__cli_cmd_join, "join an object with an invite token",
     "join TOKEN [--timeout DURATION] [--json]",
     "Dials the inviting node named in TOKEN, proves the invite, and waits "
     "until the object's shared state has arrived; then prints the object "
     "id (with --json: {\"id\"}). Progress and the safety code (compare "
     "it with the inviter's `entente peers`) go to standard error: while "
     "the history arrives, \"receiving: N / TOTAL ops (P%), R ops/s, ~S s "
     "left\", rewritten in place on a terminal, else one line every 2 s or "
     "10%; then \"received N ops\".",
     join_opts, 1, 1, NULL},
    {"config", NULL, "show and change this node's settings",
     "config COMMAND [ARGS] [options]",
     "The node's settings, kept in its home: the address partners dial "
     "(advertise) and the default currency; and its configuration tables, "
     "the lists of allowed values of enum fields (regions, industries...).",
     no_opts, 0, 0, config_cmds},
    {"member", NULL, "manage the member orgs of an object",
     "member COMMAND [ARGS] [options]", "Membership of joint objects.", no_opts,
     0, 0, member_cmds},
    {"approve", ent__cli_cmd_approve, "approve a workflow step of an object",
     "approve OBJ [--step STEP] [--comment TEXT] [--expires DATE] [--json]",
     "Gives this org's approval of a step of object OBJ's workflow (an "
     "approve op every member checks against the rules the object "
     "carries). Without --step: the one step waiting on this org (see "
     "`entente inbox`). A deal registration needs --expires YYYY-MM-DD and "
     "is moved to Approved (refused while another registration of the "
     "account and solution is approved and unexpired). Who at the org may "
     "approve is set by the access policies (action approve); by default "
     "the org's admins. Prints nothing (with --json: {\"id\"}).",
     ent__cli_approve_opts, 1, 1, NULL},
    {"reject", ent__cli_cmd_reject, "reject a workflow step of an object",
     "reject OBJ [--step STEP] --reason TEXT [--json]",
     "Records this org's rejection of a step of object OBJ's workflow: a "
     "move that needs the step does not count until this org (or another "
     "party the step names) approves after seeing the rejection. Prints "
     "nothing (with --json: {\"id\"}).",
     ent__cli_reject_opts, 1, 1, NULL},
    {"inbox", ent__cli_cmd_inbox, "what waits on this org",
     "inbox [--json]",
     "Lists what waits on this org: the approval steps it may give now on "
     "the objects it is a member of, and the invites it made that are "
     "still pending. With --json: {\"approvals\":[{\"object\",\"type\","
     "\"stage\",\"step\",\"to\",\"by\",\"self\"}],\"invites\":[…],"
     "\"claims\":[{\"object\",\"name\",\"claimed\",\"approved\"}],"
     "\"registrations\":[{\"object\",\"name\",\"customer_account\","
     "\"account_domain\",\"solution\",\"amount\",\"close_date\",\"account\","
     "\"log_index\",\"holds\",\"more\",\"conflicts\":[{\"object\",\"type\","
     "\"owner\",\"account\",\"solution\",\"stage\",\"expires\",\"score\","
     "\"match\",\"same_solution\",\"log_index\",\"earlier\",\"holds\"}]}]}.",
     no_opts, 0, 0, NULL},
    {"peers", ent__cli_cmd_peers, "list known partner nodes", "peers [--json]",
     "Lists the partner nodes this node knows, whether a session is open, "
     "their addresses, the safety code of each pair of org keys, when each "
     "was last seen and, when not zero, its failures and score (protocol "
     "violations). With --json: [{\"org\",\"name\",\"addrs\","
     "\"connected\",\"safety\",\"last_seen\",\"failures\",\"score\"}] "
     "(name: null when unknown; last_seen: RFC 3339, null before the first "
     "session).",
     no_opts, 0, 0, NULL},
    {"log", ent__cli_cmd_log, "show this node's activity log",
     "log [--since N] [--json]",
     "Lists the entries of the node's activity log: index, local time, "
     "kind, object, op, org (by name), local user and reason. With --json: "
     "{\"size\",\"root\",\"entries\":[{\"index\",\"time\",\"kind\","
     "\"object\",\"op\",\"org\",\"name\",\"user\",\"reason\"}]} (time: "
     "RFC 3339; org: "
     "base32; name: the org's, or null; user: the local user that made "
     "the change, null for the operator and partners).",
     log_opts, 0, 0, NULL},
    {"events", ent__cli_cmd_events, "show or follow this node's events",
     "events [--follow] [--after ID] [--kind K]... [--object OBJ] "
     "[--limit N] [--json]",
     "Prints the events this node recorded (spec/events.md) that the caller "
     "may see (with --token, that user's view: objects and fields its "
     "policy denies are left out): one line each with id, time (RFC 3339, "
     "UTC), kind, object, org, local user and data. Without --follow, one "
     "page (at most --limit events after --after) and exit; with --follow, "
     "every new event as it happens, until SIGINT or SIGTERM (exit 0). "
     "Kinds: object.created, fields.changed, private.changed, "
     "comment.added, member.joined, member.left, member.role_changed, "
     "key.rotated, invite.created, invite.redeemed, invite.revoked, "
     "equivocation.detected, approval.requested, approval.given. With "
     "--json: {\"events\":[EVENT],\"next\",\"first\",\"last\","
     "\"reset\"} (next: the --after of the next page; reset: events after "
     "--after were deleted by retention); with --follow --json, one EVENT "
     "per line, and {\"reset\":{\"after\",\"first\"}} when the events "
     "after the cursor were deleted. EVENT is {\"id\",\"time\",\"kind\","
     "\"object\",\"org\",\"user\",\"data\"} (object: hex or null; org: "
     "base32 or null; user: the local user or null; data: by kind).",
     events_opts, 0, 0, NULL},
    {"backup", ent__cli_cmd_backup, "back up this node, also while it runs",
     "backup DIR [--home DIR] [--json]",
     "Writes a consistent copy of the node of HOME into the new folder DIR "
     "(mode 0700; DIR must not exist or be empty), whether or not the node "
     "runs: the LMDB store compacted (db/data.mdb, one read transaction's "
     "view), the org key (identity.key) and MANIFEST.json with the org, "
     "name, schema, time and each file's size and BLAKE2b-256. The store "
     "holds the settings, templates, tables, users and policies, so this "
     "is the whole node. It holds the org's private key and private data: "
     "keep it as safe as the home. Built in a temporary folder next to "
     "DIR and renamed into place: a failure leaves nothing. `backup verify "
     "DIR` checks one. With --json: the manifest {\"format\",\"entente\","
     "\"org\",\"name\",\"schema\",\"created\",\"files\":{PATH:{"
     "\"size\",\"blake2b\"}}}.",
     no_opts, 1, 1, ent__cli_backup_cmds},
    {"restore", ent__cli_cmd_restore, "make a new home from a backup",
     "restore DIR HOME [--json]",
     "Checks the backup in DIR as `backup verify` does (a failing backup "
     "is refused with its reason), then writes it into HOME, which must "
     "not exist or be an empty folder: built next to HOME and renamed "
     "into place, nothing is left behind on failure. The new home is "
     "marked as restored: when it starts, the node fetches the ops it "
     "signed after the backup back from its partners and refuses local "
     "writes (HTTP 503, ENT_ERESTORING) until every partner sharing an "
     "object with it is in sync; `entente status` shows the progress and "
     "`restore done` forces it. With --json: the report of `backup verify` "
     "with \"home\" and \"restored\".",
     no_opts, 2, 2, ent__cli_restore_cmds},
    {"audit", NULL, "export and verify the signed activity log",
     "audit COMMAND [ARGS] [options]",
     "The activity log for auditors: export it from the running node, "
     "verify an export offline.",
     no_opts, 0, 0, audit_cmds},
    {"user", NULL, "manage the people of this org",
     "user COMMAND [ARGS] [options]",
     "Users are known only to this node (never sent to partners): a role, "
     "attributes, a password for login and API tokens. Policies decide what "
     "each may see and do (entente policy).",
     no_opts, 0, 0, ent__cli_user_cmds},
    {"token", NULL, "create, list and revoke API tokens",
     "token COMMAND [ARGS] [options]",
     "API tokens let a program (or the CLI, with --token) act as a user.",
     no_opts, 0, 0, ent__cli_token_cmds},
    {"policy", NULL, "manage the access policies",
     "policy COMMAND [ARGS] [options]",
     "Access rules (spec/access.md): which users may read, create or change "
     "which object types, fields and objects, and who may invite, approve, "
     "remove members or export the audit log.",
     no_opts, 0, 0, ent__cli_policy_cmds},
    {"webhook", NULL, "send events to other programs over HTTP",
     "webhook COMMAND [ARGS] [options]",
     "Webhooks POST this node's events, signed, in order, at least once, "
     "to a URL, filtered by the policies of their owner "
     "(spec/webhooks.md).",
     no_opts, 0, 0, ent__cli_webhook_cmds},
    {"login", ent__cli_cmd_login, "log in as a user: get a 12-hour token",
     "login --user USER [--json]",
     "Reads USER's password (one line) from standard input and prints a "
     "token valid for 12 hours. Failed logins are counted: from the third "
     "on the user is locked out for 1 s, then 2 s, 4 s... up to an hour. "
     "With --json: {\"id\",\"token\",\"user\",\"scopes\","
     "\"expires\"}.",
     login_opts, 0, 0, NULL},
    {"report", ent__cli_cmd_report, "pipeline, attribution, win-rate, "
     "deal-size, cycle-time, mdf or plan report",
     "report KIND [--by F[,F]...] [--where EXPR] [--from DATE --to DATE] "
     "[--currency CUR] [--amount F|none] [--date F] [--type TYPE] "
     "[--hide-private] [--json|--csv] [--svg FILE]",
     "Adds up the objects of a type (opportunity by default) this node "
     "holds, shared fields and this org's private ones, for this caller's "
     "eyes under its policies (spec/reports.md). KIND: pipeline (count and "
     "amount per stage, open, won, lost), attribution (partner-sourced and "
     "partner-influenced pipeline and revenue per partner), win-rate (won / "
     "(won + lost)), deal-size (average and median won amount), cycle-time "
     "(days from creation to each stage and to close)" ENT_CLI_REPORT_LINKS ". "
     "--by groups: fields, FIELD:month|quarter|year, partner (sourced_by, else influenced_by), "
     "partnered (yes/no), month, quarter, year (of --date, default "
     "close_date). --where filters with an expression (stage in (\"Proposal\", "
     "\"Negotiation\") and deal_size >= 100000 USD). Amounts (--amount, "
     "default deal_size) are summed per currency, or converted to --currency "
     "with the rates table (entente config set --new rates EUR/USD=1.085). "
     "--hide-private reads shared fields only. --json prints the report "
     "document, --csv RFC 4180 CSV; --svg FILE also writes a chart.",
     ent__cli_report_opts, 1, 1, NULL},
    {"view", NULL, "save, list, run and remove report views",
     "view COMMAND [ARGS] [options]",
     "Saved report views (spec/reports.md \"Saved views\"), kept on this "
     "node only.",
     no_opts, 0, 0, ent__cli_view_cmds},
    {"fieldmap", NULL, "this org's own names for fields and values",
     "fieldmap COMMAND [ARGS] [options]", "Field maps (spec/reports.md "
     "\"Field maps\"), kept on this node only.", no_opts, 0, 0,
     ent__cli_fieldmap_cmds},
    {"accounts", NULL, "this org's private account list",
     "accounts COMMAND [ARGS] [options]",
     "Accounts (name, domain, country, flags) compared with partners by "
     "`entente overlap`; never sent in any readable form (spec/overlap.md).",
     no_opts, 0, 0, ent__cli_accounts_cmds},
    {"partner", NULL, "partnerships without a shared object",
     "partner COMMAND [ARGS] [options]",
     "A partnership invite connects two orgs before they share anything.",
     no_opts, 0, 0, ent__cli_partner_cmds},
    {"overlap", NULL, "account mapping with a partner (private set "
     "intersection)", "overlap COMMAND [ARGS] [options]",
     "Which accounts two partners have in common, each learning only what "
     "both agreed to reveal (spec/overlap.md).",
     no_opts, 0, 0, ent__cli_overlap_cmds},
    ENT__CLI_CRM_CMDS,
    {"man", cmd_man, "print a manual page (roff) from this help",
     "man [COMMAND] [--list]",
     "Prints the manual page entente(1), or entente-COMMAND(1) of one "
     "command with all its sub-commands, in roff for man(1), made from the "
     "same command table as --help so the two cannot drift (`make install` "
     "installs them). --list prints the names of every page, one a line.",
     man_opts, 0, 1, NULL},
    {"help", cmd_help, "show help for a command", "help [COMMAND...]",
     "Prints the list of commands, or the usage, options and description of "
     "one command. `entente COMMAND --help` does the same.",
     no_opts, 0, 4, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

/* ---- help ---------------------------------------------------------------- */

static void print_opts(FILE *f, const cli_opt *opts) {
    for (const cli_opt *o = opts; o->name != NULL; o++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name,
                 o->arg && o->arg[0] != '[' ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-22s %s\n", left, o->help);
    }
}

static void print_cmd_list(FILE *f, const cli_cmd *tab, const char *prefix) {
    for (const cli_cmd *k = tab; k->name != NULL; k++) {
        char left[64];
        snprintf(left, sizeof(left), "%s%s", prefix, k->name);
        fprintf(f, "  %-16s %s\n", left, k->summary);
    }
}

static void print_main_usage(FILE *f) {
    fprintf(f, "usage: entente COMMAND [options]\n\n"
               "Entente runs one company's node of a peer-to-peer network of "
               "partner nodes:\nprivate data stays here, signed and encrypted "
               "shared fields of joint objects\ngo to the partners who are "
               "members of each object.\n\ncommands:\n");
    print_cmd_list(f, commands, "");
    fprintf(f, "\nglobal options (anywhere after the command words):\n");
    print_opts(f, global_opts);
    fprintf(f, "\nRun 'entente COMMAND --help' for the options of one "
               "command.\n");
}

/* The length of p[0..n) up to the last `",` within max bytes, else 0. */
static size_t key_cut(const char *p, size_t n, size_t max) {
    size_t cut = 0;
    for (size_t k = 1; k + 1 < n && k + 1 <= max; k++)
        if (p[k] == ',' && p[k - 1] == '"')
            cut = k + 1;
    return cut;
}

/*
 * Prints text word-wrapped at 78 columns. A word too long for a line (a
 * JSON key list: {"org","name",...}) may also break after each `",`.
 */
static void print_wrapped(FILE *f, const char *text) {
    size_t col = 0;
    const char *p = text;
    while (*p != '\0') {
        bool glued = false; /* a piece of the word went before: no space */
        while (*p == ' ')
            p++;
        size_t wl = strcspn(p, " ");
        if (wl == 0)
            break;
        const char *end = p + wl;
        while (p < end) {
            size_t pl = (size_t)(end - p);
            size_t room = col + (col > 0 && !glued ? 1 : 0);
            if (col > 0 && room + pl > 78) {
                size_t cut = room < 78 ? key_cut(p, pl, 78 - room) : 0;
                if (cut == 0) { /* go on on a new line */
                    fputc('\n', f);
                    col = 0;
                    glued = true;
                    continue;
                }
                pl = cut;
            } else if (col == 0 && pl > 78) {
                size_t cut = key_cut(p, pl, 78);
                for (size_t k = 1; cut == 0 && k + 1 < pl; k++)
                    if (p[k] == ',' && p[k - 1] == '"') /* none fits */
                        cut = k + 1;
                if (cut > 0)
                    pl = cut;
            }
            if (col > 0 && !glued) {
                fputc(' ', f);
                col++;
            }
            fwrite(p, 1, pl, f);
            col += pl;
            p += pl;
            glued = true;
        }
    }
    fputc('\n', f);
}

/*
 * True if k prints JSON with --json: its usage line or its description
 * mentions --json (the help is the one source, so the help and the check
 * cannot disagree). --json on any other command is a usage error.
 */
static bool has_json(const cli_cmd *k) {
    return strstr(k->usage, "--json") != NULL ||
           strstr(k->desc, "--json") != NULL;
}

static void print_cmd_help(FILE *f, const cli_cmd *k) {
    fprintf(f, "usage: entente %s\n\n", k->usage);
    print_wrapped(f, k->desc);
    if (k->sub != NULL) {
        fprintf(f, "\ncommands:\n");
        print_cmd_list(f, k->sub, "");
    }
    if (k->opts != NULL && k->opts[0].name != NULL) {
        fprintf(f, "\noptions:\n");
        print_opts(f, k->opts);
    }
    fprintf(f, "\nglobal options:\n");
    for (const cli_opt *o = global_opts; o->name != NULL; o++)
        if (strcmp(o->name, "json") != 0 || has_json(k))
            print_opts(f, (const cli_opt[]){*o, {NULL, NULL, NULL}});
}

static const cli_cmd *find_cmd(const cli_cmd *tab, const char *name) {
    for (const cli_cmd *k = tab; k->name != NULL; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* "entente: [GROUP: ]unknown command 'WORD'" and what there is instead:
 * the group's sub-commands, else every command; returns EXIT_USAGE. */
static int unknown_command(const cli_cmd *group, const char *word) {
    fprintf(stderr, "entente: %s%sunknown command '",
            group != NULL ? group->name : "", group != NULL ? ": " : "");
    ent_term_fputs(stderr, word);
    fputs("'\n", stderr);
    if (group != NULL && group->sub != NULL)
        print_cmd_help(stderr, group);
    else
        print_main_usage(stderr);
    return EXIT_USAGE;
}

static int cmd_help(cli *c) {
    const cli_cmd *tab = commands, *k = NULL;
    if (c->nargs == 0) {
        print_main_usage(stdout);
        return 0;
    }
    for (int i = 0; i < c->nargs; i++) {
        const cli_cmd *parent = k;
        k = find_cmd(tab, c->args[i]);
        if (k == NULL)
            return unknown_command(parent, c->args[i]);
        if (k->sub == NULL || i == c->nargs - 1)
            break;
        tab = k->sub;
    }
    print_cmd_help(stdout, k);
    return 0;
}

/* ---- manual pages ---------------------------------------------------------- */

/* text for roff: a backslash as \e, a hyphen as \-, a break point (\:)
 * after each comma not followed by a space (long JSON key lists), and a
 * line never starts with a control character ('.' or '\''). */
static void roff_text(FILE *f, const char *t) {
    fputs("\\&", f);
    for (; *t != '\0'; t++) {
        if (*t == '\\')
            fputs("\\e", f);
        else if (*t == '-')
            fputs("\\-", f);
        else if (*t == '\n')
            fputs("\n\\&", f);
        else if (*t == ',' && t[1] != ' ' && t[1] != '\0')
            fputs(",\\:", f); /* a JSON key list may break here */
        else
            fputc(*t, f);
    }
    fputc('\n', f);
}

static void roff_opts(FILE *f, const cli_opt *opts) {
    for (const cli_opt *o = opts; o != NULL && o->name != NULL; o++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", o->name,
                 o->arg && o->arg[0] != '[' ? " " : "", o->arg ? o->arg : "");
        fputs(".TP\n.B ", f);
        roff_text(f, left);
        roff_text(f, o->help);
    }
}

static void roff_head(FILE *f, const char *page, const char *summary) {
    char up[64];
    size_t i = 0;
    for (; page[i] != '\0' && i + 1 < sizeof(up); i++)
        up[i] = (char)(page[i] >= 'a' && page[i] <= 'z' ? page[i] - 32
                                                        : page[i]);
    up[i] = '\0';
    fprintf(f, ".TH %s 1 \"\" \"entente %s\" \"Entente Manual\"\n.SH NAME\n",
            up, ENT_VERSION);
    fprintf(f, "%s \\- ", page);
    roff_text(f, summary);
    fputs(".ad l\n.nh\n", f); /* ragged right, no hyphenation */
}

static void roff_cmd(FILE *f, const cli_cmd *k) {
    fputs(".SH SYNOPSIS\n.B entente\n", f);
    roff_text(f, k->usage);
    fputs(".SH DESCRIPTION\n", f);
    roff_text(f, k->desc);
    if (k->opts != NULL && k->opts[0].name != NULL) {
        fputs(".SH OPTIONS\n", f);
        roff_opts(f, k->opts);
    }
    for (const cli_cmd *s = k->sub; s != NULL && s->name != NULL; s++) {
        fputs(".SH \"", f);
        for (const char *w = k->name; *w; w++)
            fputc(*w >= 'a' && *w <= 'z' ? *w - 32 : *w, f);
        fputc(' ', f);
        for (const char *w = s->name; *w; w++)
            fputc(*w >= 'a' && *w <= 'z' ? *w - 32 : *w, f);
        fputs("\"\n.B entente\n", f);
        roff_text(f, s->usage);
        fputs(".PP\n", f);
        roff_text(f, s->desc);
        if (s->opts != NULL && s->opts[0].name != NULL)
            roff_opts(f, s->opts);
    }
    fputs(".SH GLOBAL OPTIONS\n", f);
    for (const cli_opt *o = global_opts; o->name != NULL; o++)
        if (strcmp(o->name, "json") != 0 || has_json(k))
            roff_opts(f, (const cli_opt[]){*o, {NULL, NULL, NULL}});
    fputs(".SH SEE ALSO\n.BR entente (1)\n", f);
}

static int cmd_man(cli *c) {
    if (ent__cli_opt_value(c, "list") != NULL) {
        if (c->nargs > 0)
            return ent__cli_usage_error(c, "--list takes no COMMAND");
        printf("entente\n");
        for (const cli_cmd *k = commands; k->name != NULL; k++)
            printf("entente-%s\n", k->name);
        return 0;
    }
    if (c->nargs == 0) {
        roff_head(stdout, "entente", "the node of one company in a network "
                                     "of partner nodes");
        fputs(".SH SYNOPSIS\n.B entente\n\\&COMMAND [options]\n"
              ".SH DESCRIPTION\n",
              stdout);
        roff_text(stdout,
                  "Entente runs one company's node of a peer-to-peer network "
                  "of partner nodes: private data stays here, signed and "
                  "encrypted shared fields of joint objects go to the "
                  "partners who are members of each object.");
        fputs(".SH COMMANDS\n", stdout);
        for (const cli_cmd *k = commands; k->name != NULL; k++) {
            fprintf(stdout, ".TP\n.BR entente\\-%s (1)\n", k->name);
            roff_text(stdout, k->summary);
        }
        fputs(".SH GLOBAL OPTIONS\n", stdout);
        roff_opts(stdout, global_opts);
        return 0;
    }
    const cli_cmd *k = find_cmd(commands, c->args[0]);
    if (k == NULL)
        return unknown_command(NULL, c->args[0]);
    char page[64];
    snprintf(page, sizeof(page), "entente-%s", k->name);
    roff_head(stdout, page, k->summary);
    roff_cmd(stdout, k);
    return 0;
}

/* ---- dispatch ------------------------------------------------------------ */

/*
 * Parses the options of c->cmd from argv (argv[0] is the last command word)
 * with getopt_long, which permutes, so options may stand anywhere.
 * Returns -1 to go on, or an exit status.
 */
static int parse_opts(cli *c, int argc, char **argv) {
    struct option lo[CLI_MAX_OPTS + 1];
    const cli_opt *all[CLI_MAX_OPTS];
    int nlo = 0;
    bool help = false;
    const char *level = c->pre_level; /* given before the command word */
    const char *home = c->pre_home;
    const char *bare = NULL; /* last optional-value option given bare */
    for (int pass = 0; pass < 2; pass++) {
        const cli_opt *tab = pass == 0 ? global_opts : c->cmd->opts;
        for (const cli_opt *o = tab; o != NULL && o->name != NULL; o++) {
            if (nlo == CLI_MAX_OPTS)
                break;
            int has = o->arg == NULL     ? no_argument
                      : o->arg[0] == '[' ? optional_argument
                                         : required_argument;
            lo[nlo] = (struct option){o->name, has, NULL, 256 + nlo};
            all[nlo++] = o;
        }
    }
    lo[nlo] = (struct option){NULL, 0, NULL, 0};
    opterr = 0;
    optind = 0; /* full re-initialisation of GNU getopt */
    for (;;) {
        int li = -1;
        int ch = getopt_long(argc, argv, ":h", lo, &li);
        if (ch == -1)
            break;
        if (ch == 'h') {
            help = true;
        } else if (ch == '?') {
            if (optopt != 0)
                return ent__cli_usage_error(c, "unknown option -%c", optopt);
            return ent__cli_usage_error(c, "unknown option %s",
                                        argv[optind - 1]);
        } else if (ch == ':') {
            return ent__cli_usage_error(c, "option %s needs a value",
                                        argv[optind - 1]);
        } else if (ch >= 256 && ch < 256 + nlo) {
            const char *name = all[ch - 256]->name;
            if (strcmp(name, "help") == 0) {
                help = true;
            } else if (strcmp(name, "json") == 0) {
                c->json = true;
            } else if (strcmp(name, "home") == 0) {
                home = optarg;
            } else if (strcmp(name, "log-level") == 0) {
                level = optarg;
            } else if (strcmp(name, "token") == 0) {
                /* the client sends it (node/cli/client.c) */
                setenv("ENTENTE_TOKEN", optarg, 1);
            } else {
                if (c->nopts == CLI_MAX_OPTS)
                    return ent__cli_usage_error(c, "too many options");
                c->opts[c->nopts].name = name;
                c->opts[c->nopts].value = optarg ? optarg : "";
                c->nopts++;
                if (optarg == NULL && all[ch - 256]->arg != NULL)
                    bare = name; /* an optional value left out */
            }
        }
    }
    if (help) {
        print_cmd_help(stdout, c->cmd);
        return 0;
    }
    c->args = argv + optind;
    c->nargs = argc - optind;
    if (c->nargs < c->cmd->min_args)
        return ent__cli_usage_error(c, "missing argument");
    if (c->nargs > c->cmd->max_args && bare != NULL)
        return ent__cli_usage_error(c,
                                    "unexpected argument '%s' (an optional "
                                    "value takes '=': --%s=%s)",
                                    c->args[c->cmd->max_args], bare,
                                    c->args[c->cmd->max_args]);
    if (c->nargs > c->cmd->max_args)
        return ent__cli_usage_error(c, "unexpected argument '%s'",
                                    c->args[c->cmd->max_args]);
    ent_log_level lv =
        strcmp(c->cmd->name, "serve") == 0 ? ENT_LOG_INFO : ENT_LOG_WARN;
    if (level != NULL && ent_log_level_parse(level, &lv) != ENT_OK)
        return ent__cli_usage_error(c, "unknown log level '%s'", level);
    ent_log_init(&c->log, lv, NULL);
    if (home != NULL) {
        if (home[0] == '\0' || strlen(home) >= sizeof(c->home))
            return ent__cli_usage_error(c, "bad --home");
        strcpy(c->home, home);
    } else if (ent_home_default(c->home, sizeof(c->home)) != ENT_OK) {
        return ent__cli_usage_error(
            c, "no home: set $ENTENTE_HOME or use --home DIR");
    }
    return -1;
}

/*
 * Reads the global option at argv[*i] before the command word: --json,
 * --home DIR, --home=DIR, --log-level L, --log-level=L (for getopt's rules
 * after the command words, see parse_opts). Returns -1 to go on (*i moved
 * past it), 0 for --help or --version (printed), or EXIT_USAGE.
 */
static int global_before(cli *c, int argc, char **argv, int *i) {
    static const char *const valued[] = {"home", "log-level"};
    const char *a = argv[*i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        print_main_usage(stdout);
        return 0;
    }
    if (strcmp(a, "--version") == 0) {
        printf("entente %s (wire protocol %d, op records %d, audit exports "
               "%d)\n",
               ENT_VERSION, ENT_WIRE_VERSION, ENT_OP_VERSION,
               ENT_AUDIT_VERSION);
        return 0;
    }
    if (strcmp(a, "--json") == 0) {
        c->json = true;
        (*i)++;
        return -1;
    }
    for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
        size_t nl = strlen(valued[k]);
        const char *v = NULL;
        if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, valued[k], nl) != 0)
            continue;
        if (a[2 + nl] == '=') {
            v = a + 3 + nl;
        } else if (a[2 + nl] == '\0') {
            if (*i + 1 >= argc) {
                fprintf(stderr, "entente: option %s needs a value\n", a);
                print_main_usage(stderr);
                return EXIT_USAGE;
            }
            v = argv[++*i];
        } else {
            continue;
        }
        if (k == 0)
            c->pre_home = v;
        else
            c->pre_level = v;
        (*i)++;
        return -1;
    }
    fputs("entente: unknown option ", stderr);
    ent_term_fputs(stderr, a);
    fputs(" before the command (global options there: --home DIR, --json, "
          "--log-level L, --help, --version)\n",
          stderr);
    return EXIT_USAGE;
}

int ent_cli_main(int argc, char **argv) {
    cli c;
    int i = 1, st;
    memset(&c, 0, sizeof(c));
    while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0)
        if ((st = global_before(&c, argc, argv, &i)) >= 0)
            return st;
    if (i >= argc || strcmp(argv[i], "--") == 0) {
        if (argc > 1)
            fprintf(stderr, "entente: no command given\n");
        print_main_usage(stderr);
        return EXIT_USAGE;
    }
    const cli_cmd *tab = commands;
    for (;;) {
        const cli_cmd *k = find_cmd(tab, argv[i]);
        if (k == NULL)
            return unknown_command(tab == commands ? NULL : c.cmd, argv[i]);
        size_t wl = strlen(c.words);
        snprintf(c.words + wl, sizeof(c.words) - wl, "%s%s", wl ? " " : "",
                 k->name);
        c.cmd = k;
        if (k->sub == NULL || i + 1 >= argc || argv[i + 1][0] == '-')
            break;
        /* a command that runs itself too (invite OBJ) has sub-commands
         * only for the words its table lists */
        if (k->fn != NULL && find_cmd(k->sub, argv[i + 1]) == NULL)
            break;
        tab = k->sub;
        i++;
    }
    st = parse_opts(&c, argc - i, argv + i);
    if (st >= 0)
        return st;
    if (c.cmd->fn == NULL) { /* a group word without its sub-command */
        print_cmd_help(stderr, c.cmd);
        return EXIT_USAGE;
    }
    if (c.json && !has_json(c.cmd))
        return ent__cli_usage_error(
            &c, "--json: `entente %s` has no JSON output", c.words);
    return c.cmd->fn(&c);
}
