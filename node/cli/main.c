/* main.c - the entente command; everything is in node/cli.c. */
#include "node/cli/cli.h"

int main(int argc, char **argv) {
    return ent_cli_main(argc, argv);
}
