/* For the fault tests that stop and start `rstream worker` themselves (header-only, static): the stack's pid
 * files, shell commands, and starting a worker the way scripts/stack.sh does. */
#ifndef RS_WORKER_HELPERS_H
#define RS_WORKER_HELPERS_H
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <criterion/criterion.h>
#include "harness.h"

__attribute__((unused)) static const char *stack_dir(void) { return t_env("STACK_DIR"); }

__attribute__((unused)) static long read_pid(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/run/%s.pid", stack_dir(), name);
	FILE *f = fopen(path, "r");
	long pid = 0;
	if (f) { if (fscanf(f, "%ld", &pid) != 1) pid = 0; fclose(f); }
	return pid;
}

__attribute__((unused)) static int run(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* start `rstream worker` the way scripts/stack.sh does (own session, log and pid file in the stack) */
__attribute__((unused)) static void start_worker(void)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "cd '%s' && setsid '%s' worker </dev/null >>'%s/log/worker.log' 2>&1 & echo $! > '%s/run/worker.pid'",
		 t_env("RSTREAM_ROOT"), t_env("RSTREAM_BIN"), stack_dir(), stack_dir());
	cr_assert_eq(run(cmd), 0);
}
/* SIGKILL every `rstream worker` of this binary and their job children: an earlier fault test may have left one
 * beside the supervised worker, and killing only the pid file's would leave the job running in the other */
__attribute__((unused)) static void kill_all_workers(void)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "pkill -KILL -f '^%s worker'; for i in $(seq 1 100); do pgrep -f '^%s worker' >/dev/null || exit 0; "
		 "sleep 0.05; done; exit 1", t_env("RSTREAM_BIN"), t_env("RSTREAM_BIN"));
	cr_assert_eq(run(cmd), 0, "the workers did not stop");
}
#endif
