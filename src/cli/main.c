#include "nearmiss/cli.h"

int main(int argc, char **argv)
{
    return nm_cli_main(argc, argv);
}
