/*
 * The command layer: one function per command, each parsing its own options,
 * printing, and returning the process exit status.  main() (src/cli/main.c)
 * only dispatches on the first argument; the commands live in the library so
 * the tests can run them in-process.
 */
#ifndef NEARMISS_CLI_H
#define NEARMISS_CLI_H

/* argv[0] is the command's own name ("scan", "checks", "report"). */
int nm_cmd_scan(int argc, char **argv);
int nm_cmd_checks(int argc, char **argv);
int nm_cmd_report(int argc, char **argv);
/* `nearmiss merge` (src/cli/merge.c). */
int nm_cmd_merge(int argc, char **argv);
/* `nearmiss ledger` (src/cli/ledger.c). */
int nm_cmd_ledger(int argc, char **argv);
int nm_cmd_tickets(int argc, char **argv);
int nm_cmd_gate(int argc, char **argv);
/* `nearmiss sudoers` (src/cli/sudoers.c). */
int nm_cmd_sudoers(int argc, char **argv);

#endif
