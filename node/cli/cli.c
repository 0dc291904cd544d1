/*
 * cli.c - the entente command line (see cli.h and spec/cli.md): the help
 * printer and manual pages of the command table (cli_table.c), option
 * parsing and dispatch, and the helpers every command shares (errors, JSON
 * output, requests to the running node, progress lines). The commands
 * themselves live in the group files cli_*.c; a new command is one entry
 * in cli_table.c plus its function there.
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
#include <unistd.h>

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
    return ent__cli_call_timeout(words, home, method, path, body,
                                 ENT_CLIENT_TIMEOUT_MS, out);
}

/* The answer of a request: -1 (2xx, *out set) or the exit status. */
static int answered(const char *words, const char *home, int rc, int http,
                    json_t **out);

int ent__cli_call_text(const char *words, const char *home,
                       const char *method, const char *path, const char *body,
                       size_t blen, json_t **out) {
    int http = 0;
    *out = NULL;
    int rc = ent_client_request_text(home, method, path, body, blen,
                                     ENT_CLIENT_TIMEOUT_MS, &http, out);
    return answered(words, home, rc, http, out);
}

int ent__cli_call_timeout(const char *words, const char *home,
                          const char *method, const char *path,
                          const json_t *body, int timeout_ms, json_t **out) {
    int http = 0;
    *out = NULL;
    int rc = ent_client_request_timeout(home, method, path, body, timeout_ms,
                                        &http, out);
    return answered(words, home, rc, http, out);
}

static int answered(const char *words, const char *home, int rc, int http,
                    json_t **out) {
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
    print_cmd_list(f, ent__cli_commands, "");
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

int ent__cli_cmd_help(cli *c) {
    const cli_cmd *tab = ent__cli_commands, *k = NULL;
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

/* ---- manual pages ----------------------------------------------------------
 */

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
        up[i] =
            (char)(page[i] >= 'a' && page[i] <= 'z' ? page[i] - 32 : page[i]);
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

int ent__cli_cmd_man(cli *c) {
    if (ent__cli_opt_value(c, "list") != NULL) {
        if (c->nargs > 0)
            return ent__cli_usage_error(c, "--list takes no COMMAND");
        printf("entente\n");
        for (const cli_cmd *k = ent__cli_commands; k->name != NULL; k++)
            printf("entente-%s\n", k->name);
        return 0;
    }
    if (c->nargs == 0) {
        roff_head(stdout, "entente",
                  "the node of one company in a network "
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
        for (const cli_cmd *k = ent__cli_commands; k->name != NULL; k++) {
            fprintf(stdout, ".TP\n.BR entente\\-%s (1)\n", k->name);
            roff_text(stdout, k->summary);
        }
        fputs(".SH GLOBAL OPTIONS\n", stdout);
        roff_opts(stdout, global_opts);
        return 0;
    }
    const cli_cmd *k = find_cmd(ent__cli_commands, c->args[0]);
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
    const cli_cmd *tab = ent__cli_commands;
    for (;;) {
        const cli_cmd *k = find_cmd(tab, argv[i]);
        if (k == NULL)
            return unknown_command(tab == ent__cli_commands ? NULL : c.cmd,
                                   argv[i]);
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

/* Output files written whole or not at all (cli_int.h, node/wholefile.h). */
int ent__cli_out_open(ent__cli_outfile *o, const char *path) {
    struct stat st;
    int rc;
    o->f = NULL;
    memset(&o->w, 0, sizeof(o->w));
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return (o->f = fopen(path, "w")) != NULL ? ENT_OK : ENT_EIO;
    rc = ent_wholefile_open(&o->w, path);
    if (rc != ENT_OK)
        return rc == ENT_ENOMEM ? ENT_ENOMEM : ENT_EIO;
    o->f = o->w.f;
    return ENT_OK;
}

void ent__cli_out_abort(ent__cli_outfile *o) {
    if (o->w.tmp != NULL)
        ent_wholefile_abort(&o->w);
    else if (o->f != NULL)
        fclose(o->f);
    o->f = NULL;
}

/* Flushes, syncs and renames onto path; ENT_OK, else errno tells why (the
 * temporary file is gone either way). */
int ent__cli_out_commit(ent__cli_outfile *o, const char *path) {
    int e = 0;
    if (o->w.tmp != NULL) {
        o->f = NULL;
        return ent_wholefile_commit(&o->w, path) == ENT_OK ? ENT_OK : ENT_EIO;
    }
    errno = 0;
    if (fflush(o->f) != 0 || ferror(o->f))
        e = errno ? errno : EIO;
    if (fclose(o->f) != 0 && e == 0)
        e = errno ? errno : EIO;
    o->f = NULL;
    errno = e;
    return e == 0 ? ENT_OK : ENT_EIO;
}
