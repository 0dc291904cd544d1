/*
 * cli.h - the entente command line (spec/cli.md).
 *
 * Commands are dispatched from one table of {name, function, help} in cli.c
 * (WireGuard's wg.c); a command with sub-words ("object create") points to a
 * sub-table. Global options (--home DIR, --json, --log-level L, --help) may
 * stand anywhere after the command words, and before them (`entente --home
 * H status`, with --version too). Exit status: 0 success, 1 error
 * ("entente: <what>: <why>" on stderr), 2 usage error (usage on stderr).
 */
#ifndef ENT_CLI_H
#define ENT_CLI_H

#define ENT_VERSION "0.1.0" /* `entente --version` */

/* Runs the command line argv[0..argc); returns the process exit status. */
int ent_cli_main(int argc, char **argv);

#endif
