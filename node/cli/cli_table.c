/*
 * cli_table.c - the command table of the entente command line (cli.c
 * parses, dispatches and prints help from it; spec/cli.md): every command
 * with its summary, usage, description and options. A new command is one
 * entry here plus its function in the group's cli_*.c file; a group with
 * many sub-commands keeps its table in that file (ent__cli_*_cmds).
 */
#include "node/cli/cli_int.h"
#include "node/home.h"
#include "node/node.h"

#include <stddef.h>

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
    {"insecure-http", NULL, "allow plain HTTP on a non-loopback --api address"},
    {"api-rate", "N",
     "requests per second per token or session on TCP (default 50)"},
    {"api-conns-per-ip", "N",
     "concurrent TCP API connections from one client address (default "
     "32, half of the 64 in all; 0: no bound, for a reverse proxy on "
     "this host)"},
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
    {"custom", "F=V", "a shared field the template does not list (repeatable)"},
    {NULL, NULL, NULL},
};

static const cli_opt object_set_opts[] = {
    {"set", "F=V",
     "a shared field of the template (repeatable); an empty V clears it"},
    {"private", "F=V", "a private field (repeatable); an empty V clears it"},
    {"custom", "F=V", "a shared field the template does not list (repeatable)"},
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
     "the object id or the error; exits 1 if any change failed. Waits for "
     "the answer up to 30 s plus 0.1 s per change. With "
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
     "stages of a type are its template's, not a table. Prints nothing (with "
     "--json: the "
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

static const cli_opt log_opts[] = {{"since", "N", "start at entry index N"},
                                   {NULL, NULL, NULL}};

static const cli_opt events_opts[] = {
    {"follow", NULL, "stream events as they happen, until interrupted"},
    {"after", "ID",
     "start after event ID (default: the oldest kept; with "
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
     "\"time\"}],\"rewinds\":[{\"base\",\"lost\",\"time\",\"lost_time\"}],"
     "\"rewound\"} (rewinds: those of the org in the --witness file, "
     "spec/audit.md section 11.1; rewound: given heads they excuse), with "
     "--key also "
     "\"history\":[{\"op\",\"author\",\"seq\",\"time\","
     "\"kind\",\"epoch\",\"body\":{\"type\",\"fields\",\"member\","
     "\"epoch\",\"text\"}}] and \"undisclosed\"; on failure {\"ok\":false,"
     "\"error\",\"reason\",\"entry\"}.",
     verify_opts, 1, 1, NULL},
    {"heads", ent__cli_cmd_audit_heads,
     "partners' tree heads kept as a witness",
     "audit heads [--org ORG] [--json]",
     "Prints the latest signed tree head this node keeps for each partner "
     "org (spec/audit.md section 11), then one line per rewind a partner "
     "restored from a backup declared (section 11.1: its log beyond BASE "
     "entries lost, with the head of size LOST kept here). With --json: "
     "{\"heads\":[{\"org\",\"name\",\"size\",\"root\",\"time\",\"head\"}],"
     "\"rewinds\":[{\"org\",\"name\",\"base\",\"lost\",\"time\","
     "\"lost_time\",\"rewind\"}]}; give that file to `entente audit verify "
     "--witness` to check the org's export against it (a rewind excuses "
     "the lost head, and its base must be in the export).",
     heads_opts, 0, 0, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const cli_opt man_opts[] = {
    {"list", NULL, "print the page names (entente, entente-init, ...)"},
    {NULL, NULL, NULL},
};

/* The command table. Planned commands (spec/cli.md) join it as they land. */
const cli_cmd ent__cli_commands[] = {
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
     "--tls-key FILE] [--insecure-http] [--api-rate N] "
     "[--api-conns-per-ip N]] [--log-format "
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
     "\"equivocations\",\"rewinds\",\"syncs\":[{\"object\",\"peer\","
     "\"peer_name\","
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
    {"inbox", ent__cli_cmd_inbox, "what waits on this org", "inbox [--json]",
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
     "\"object\",\"op\",\"org\",\"name\",\"user\",\"user_removed\","
     "\"reason\"}]} (time: RFC 3339; org: "
     "base32; name: the org's, or null; user: the local user that made "
     "the change, null for the operator and partners; user_removed: true "
     "when that user has been removed since, even if a user of that name "
     "exists now: the text then says \"by NAME (removed)\").",
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
     "equivocation.detected, rewind.recorded, approval.requested, "
     "approval.given. With "
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
    {"report", ent__cli_cmd_report,
     "pipeline, attribution, win-rate, "
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
     "--by groups: fields, FIELD:month|quarter|year, partner (sourced_by, else "
     "influenced_by), "
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
     "fieldmap COMMAND [ARGS] [options]",
     "Field maps (spec/reports.md "
     "\"Field maps\"), kept on this node only.",
     no_opts, 0, 0, ent__cli_fieldmap_cmds},
    {"accounts", NULL, "this org's private account list",
     "accounts COMMAND [ARGS] [options]",
     "Accounts (name, domain, country, flags) compared with partners by "
     "`entente overlap`; never sent in any readable form (spec/overlap.md).",
     no_opts, 0, 0, ent__cli_accounts_cmds},
    {"partner", NULL, "partnerships without a shared object",
     "partner COMMAND [ARGS] [options]",
     "A partnership invite connects two orgs before they share anything.",
     no_opts, 0, 0, ent__cli_partner_cmds},
    {"overlap", NULL,
     "account mapping with a partner (private set "
     "intersection)",
     "overlap COMMAND [ARGS] [options]",
     "Which accounts two partners have in common, each learning only what "
     "both agreed to reveal (spec/overlap.md).",
     no_opts, 0, 0, ent__cli_overlap_cmds},
    ENT__CLI_CRM_CMDS,
    {"man", ent__cli_cmd_man, "print a manual page (roff) from this help",
     "man [COMMAND] [--list]",
     "Prints the manual page entente(1), or entente-COMMAND(1) of one "
     "command with all its sub-commands, in roff for man(1), made from the "
     "same command table as --help so the two cannot drift (`make install` "
     "installs them). --list prints the names of every page, one a line.",
     man_opts, 0, 1, NULL},
    {"help", ent__cli_cmd_help, "show help for a command", "help [COMMAND...]",
     "Prints the list of commands, or the usage, options and description of "
     "one command. `entente COMMAND --help` does the same.",
     no_opts, 0, 4, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
