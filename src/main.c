/* SPDX-License-Identifier: MIT */
/* main: the modeld binary; everything lives in the modules, see cli.h. */
#include "cli.h"
#include "banned.h" /* last: bans unsafe libc calls */

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
