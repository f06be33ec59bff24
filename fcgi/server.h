/* The FastCGI server: pre-fork master and the per-worker request loop. */
#ifndef RS_SERVER_H
#define RS_SERVER_H
int server_main(void);
#endif
