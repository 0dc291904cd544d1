/* main.c - the entente command; it all starts in node/cli/cli.c. */
#include "node/cli/cli.h"

int main(int argc, char **argv) {
    return ent_cli_main(argc, argv);
}
