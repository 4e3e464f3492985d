/* The command line: parses arguments, runs a command, returns the exit status. */
#ifndef NEARMISS_CLI_H
#define NEARMISS_CLI_H

int nm_cli_main(int argc, char **argv);

#endif
