/* The ceiling for bench/http: a bare libfcgi hello-world, pre-forked like rstream fcgi, behind the same nginx.
 * Usage: hello_fcgi /abs/path.sock WORKERS. SIGTERM stops the master and its workers. */
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static void serve(int sock)
{
	FCGX_Request req;
	signal(SIGTERM, SIG_DFL);   /* a respawned worker inherits the master's handler */
	signal(SIGINT, SIG_DFL);
	FCGX_InitRequest(&req, sock, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_FPrintF(req.out, "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world\n");
		FCGX_Finish_r(&req);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s /abs/path.sock WORKERS\n", argv[0]);
		return 2;
	}
	int n = atoi(argv[2]);
	if (n < 1 || n > 256) n = 2;
	if (FCGX_Init() != 0) return 1;
	unlink(argv[1]);
	int sock = FCGX_OpenSocket(argv[1], 1024);
	if (sock < 0) {
		perror("FCGX_OpenSocket");
		return 1;
	}
	chmod(argv[1], 0777);
	pid_t *pids = calloc((size_t)n, sizeof *pids);
	for (int i = 0; i < n; i++)
		if ((pids[i] = fork()) == 0) serve(sock);
	struct sigaction sa = {.sa_handler = on_term};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop) {
		int st;
		pid_t pid = wait(&st);
		if (pid < 0) continue;
		for (int i = 0; i < n; i++)   /* respawn, like the real master */
			if (pids[i] == pid && !stop && (pids[i] = fork()) == 0) serve(sock);
	}
	for (int i = 0; i < n; i++) kill(pids[i], SIGTERM);
	while (wait(NULL) > 0) {}
	unlink(argv[1]);
	return 0;
}
