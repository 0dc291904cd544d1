/* main.c - the entente command (placeholder until node/cli.c lands). */
#include <stdio.h>

int main(int argc, char **argv) {
    (void)argv;
    if (argc < 2) {
        fprintf(stderr, "usage: entente COMMAND [options]\n");
        return 2;
    }
    return 0;
}
