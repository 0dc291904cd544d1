/*
 * main.c - the entry point of the entente command; everything happens in
 * ent_cli_main (node/cli/cli.c).
 */
#include "node/cli/cli.h"

int main(int argc, char **argv) {
    return ent_cli_main(argc, argv);
}
