/* Pre-fork FastCGI master: opens (or inherits) the socket, forks N workers, respawns crashed ones,
 * recycles a worker after max_requests, drains on SIGTERM, restarts workers on SIGHUP.
 * Each worker: one PostgreSQL + one Redis connection, templates compiled once, a request arena. */
#include "server.h"
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cache.h"
#include "config.h"
#include "audit.h"
#include "auth.h"
#include "db.h"
#include "db_replica.h"
#include "i18n.h"
#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "roster_api.h"
#include "router.h"
#include "session.h"
#include "settings.h"
#include "template.h"
#include "upload_guard.h"

const char *res_status_text(int s);

#define TRIM_AFTER_BYTES (256 * 1024)

static volatile sig_atomic_t stopping, reload;
static int listen_fd, listen_tcp;

static void on_master_signal(int sig)
{
	if (sig == SIGHUP) reload = 1;
	else stopping = 1;
}

/* A worker takes SIGTERM only while it waits in epoll_pwait() for a connection (see next_request): never while it
 * serves one. libfcgi's own way, FCGX_ShutdownPending(), also fails the reads of a request just accepted, and a
 * signal in its accept path (the 2 s wait for a Unix-socket peer's first bytes) drops the connection: nginx would
 * answer 502 for a request that arrived in the instant of a restart. */
static void on_worker_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* The socket's accept queue is where requests wait while every worker is busy: an overflow makes nginx's
 * connect() fail with EAGAIN, which clients see as 503 + Retry-After (nginx.conf.in), so the queue is as deep
 * as the kernel allows (net.core.somaxconn) unless listen_backlog says otherwise. */
static int listen_backlog(void)
{
	long n = config_get_int("listen_backlog", 0);
	if (n <= 0) {
		FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
		if (!f || fscanf(f, "%ld", &n) != 1) n = 4096;
		if (f) fclose(f);
	}
	return n < 128 ? 128 : n > 65535 ? 65535 : (int)n;
}

static int listen_inherited;   /* the socket belongs to systemd (or whoever passed it): never unlinked here */

/* systemd socket activation (sd_listen_fds(3), by hand: no libsystemd): LISTEN_PID names us and LISTEN_FDS >= 1
 * means the listening socket is fd 3. It outlives this process, so a restart refuses no connection. */
static int inherited_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!pid || !fds || atol(pid) != (long)getpid() || atoi(fds) < 1) return -1;
	unsetenv("LISTEN_PID");   /* not for anything we start */
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	struct stat st;
	int type = 0;
	socklen_t len = sizeof type;
	if (fstat(3, &st) < 0 || !S_ISSOCK(st.st_mode) || getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_STREAM) {
		log_error("LISTEN_FDS: fd 3 is not a stream socket");
		return -2;
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	listen_inherited = 1;
	return 3;
}

static int open_listen(void)
{
	const char *l = cfg.listen;
	struct stat st;
	int fd = inherited_socket();
	if (fd != -1) { if (fd < 0) errno = ENOTSOCK; return fd < 0 ? -1 : fd; }
	if (!strcmp(l, "-")) {   /* inherited from spawn-fcgi / mod_fcgid on fd 0 */
		if (fstat(0, &st) < 0 || !S_ISSOCK(st.st_mode)) { errno = ENOTSOCK; return -1; }
		listen_inherited = 1;
		return 0;
	}
	if (!strncmp(l, "unix:", 5)) {
		unlink(l + 5);
		int fd = FCGX_OpenSocket(l + 5, listen_backlog());
		if (fd >= 0) chmod(l + 5, 0666);
		return fd;
	}
	/* host:port → libfcgi wants ":port" or "host:port" */
	return FCGX_OpenSocket(l, listen_backlog());
}

/* Connections come two ways. A new one is accepted here rather than by libfcgi: its accept polls every new
 * Unix-socket connection for up to 2 s before reading (a guard against a peer that connected and left, which the
 * first read notices as well), a system call per request. A kept one is a connection the web server asked to keep
 * (FCGI_KEEP_CONN: nginx's kept upstream for heartbeats and the OneRoster API, Apache's enablereuse): its next
 * request comes on it. libfcgi alone would wait on a kept connection until the web server closes it, so an idle
 * one would pin the process; here every connection has its own FCGX_Request and a worker waits on all of them
 * and on the listening socket at once, serving whichever has a request. nginx opens as many as it needs, so a
 * worker holds up to kept_connections of them; one past that is closed after its request.
 * Each FCGX_Request gets its descriptor with keepConnection set, so that FCGX_Accept_r's opening FCGX_Finish_r
 * keeps it and reads the request from it (the BEGIN_REQUEST record then sets the real flag), and no listening
 * socket (-1): a connection that turns out not to hold a request is closed by libfcgi, which then fails (EBADF)
 * instead of accepting on its own. */
static FCGX_Request fresh;   /* the request of a connection just accepted */
static FCGX_Request *kept;   /* kept_connections slots; ipcFd < 0: free */
static unsigned *kept_gen;   /* per slot: bumped at each new connection, so an event of the slot's last one is
			      * told apart (it may still be in `ready` when the slot is reused within a batch) */
static int epfd = -1;        /* epoll: the listening socket (LISTENING) and the kept connections (slot, gen) */
#define LISTENING UINT64_MAX
#define BATCH_MAX 64
static struct epoll_event ready[BATCH_MAX];   /* the last wait's answer, in the order the connections became ready */
static int nready, ready_next;
static int accepts_left;     /* new connections this batch may still take (see next_request) */

/* EPOLLEXCLUSIVE: a new connection wakes one waiting worker, not every idle one (the others would wake only to find
 * the queue empty) */
static int watch_listening(int op)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.u64 = LISTENING};
	return epoll_ctl(epfd, op, listen_fd, &ev);
}

static void kept_init(void)
{
	kept = calloc((size_t)cfg.kept_connections + 1, sizeof *kept);
	kept_gen = calloc((size_t)cfg.kept_connections + 1, sizeof *kept_gen);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!kept || !kept_gen || epfd < 0 || watch_listening(EPOLL_CTL_ADD) < 0) {
		log_error("worker: cannot set up the connection wait: %s", strerror(errno));
		exit(1);
	}
	for (int i = 0; i < cfg.kept_connections; i++) FCGX_InitRequest(&kept[i], -1, 0);
	FCGX_InitRequest(&fresh, -1, 0);
}

static void hand_over(FCGX_Request *fx, int fd)
{
	fx->ipcFd = fd;
	fx->keepConnection = 1;
}

/* closing the descriptor takes it out of the epoll set as well (it is ours alone: accepted after the fork) */
static void drop_connection(FCGX_Request *fx)
{
	if (fx->ipcFd >= 0) close(fx->ipcFd);
	fx->ipcFd = -1;
}

/* Kept connections spread evenly over the workers. A new connection wakes the first worker waiting (epoll's
 * exclusive wake-up), so without this one worker ends up holding most of them (128 of 260 under a 256-connection
 * load, the other three ~45 each), and the requests on its connections wait longest: p99 81 ms against 60 ms
 * spread evenly. Each worker publishes how many it holds in a slot of a shared table. One holding more than the
 * mean over the live workers (plus a sixteenth and 1) stops waiting on the listening socket, so the next new
 * connection wakes another worker; one holding more still (an eighth and 2) closes a connection after its request
 * instead of keeping it, and nginx opens the next one where a worker takes it. The one holding fewest is never
 * above the mean, so some worker always listens; one that does not listen looks again at least every second. The
 * master clears a dead worker's slot. */
struct kept_share { pid_t pid; int count; };
static struct kept_share *shares;
static int nshares;
static struct kept_share *my_share;   /* this worker's slot; NULL: none was free (it keeps up to kept_connections) */

static int kept_shares_init(int nworkers)
{
	nshares = 2 * nworkers + 2;   /* a SIGHUP restart has a new worker beside the old one for a moment */
	void *p = mmap(NULL, (size_t)nshares * sizeof *shares, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) return -1;
	shares = p;
	return 0;
}

static void kept_share_claim(void)
{
	for (int i = 0; i < nshares && !my_share; i++) {
		pid_t free_slot = 0;
		if (__atomic_compare_exchange_n(&shares[i].pid, &free_slot, getpid(), 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			my_share = &shares[i];
	}
}

static void kept_share_release(pid_t pid)
{
	for (int i = 0; i < nshares; i++)
		if (__atomic_load_n(&shares[i].pid, __ATOMIC_ACQUIRE) == pid) {
			__atomic_store_n(&shares[i].count, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&shares[i].pid, 0, __ATOMIC_RELEASE);
		}
}

/* how many kept connections this worker holds (counted: libfcgi closes some itself), published in its slot */
static int kept_publish(void)
{
	int n = 0;
	for (int i = 0; i < cfg.kept_connections; i++) n += kept[i].ipcFd >= 0;
	/* stored only when it changed: the other workers read this line on every request */
	if (my_share && __atomic_load_n(&my_share->count, __ATOMIC_RELAXED) != n)
		__atomic_store_n(&my_share->count, n, __ATOMIC_RELAXED);
	return n;
}

/* this worker's kept connections minus the mean over the live workers (0 without a slot), and that mean */
static int above_mean(int *mean)
{
	*mean = 0;
	if (!my_share) return 0;
	int held = kept_publish(), total = 0, live = 0;
	for (int i = 0; i < nshares; i++)
		if (__atomic_load_n(&shares[i].pid, __ATOMIC_RELAXED)) {
			live++;
			total += __atomic_load_n(&shares[i].count, __ATOMIC_RELAXED);
		}
	*mean = live ? (total + live - 1) / live : total;
	return held - *mean;
}

static int over_share(void)
{
	int mean, above = above_mean(&mean);
	return above > mean / 8 + 2;
}

/* before a wait: take new connections only while not above the mean (see kept_share) */
static int listening = 1;
static void listen_or_not(void)
{
	int mean, above = above_mean(&mean), want = above <= mean / 16 + 1;
	if (want == listening) return;
	if (watch_listening(want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL) == 0) listening = want;
}

/* After a request: a connection the web server keeps goes to a free slot, unless this worker holds its share
 * already or no slot is left; a kept one is closed when this worker holds more than its share. */
static void keep_or_close(FCGX_Request *fx)
{
	if (fx->ipcFd < 0) return;
	if (fx != &fresh) {
		if (over_share()) drop_connection(fx);
		return;
	}
	if (!over_share())
		for (int i = 0; i < cfg.kept_connections; i++)
			if (kept[i].ipcFd < 0) {
				struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)++kept_gen[i] << 32 | (uint32_t)i};
				if (epoll_ctl(epfd, EPOLL_CTL_ADD, fx->ipcFd, &ev) < 0) break;
				hand_over(&kept[i], fx->ipcFd);
				fx->ipcFd = -1;
				return;
			}
	close(fx->ipcFd);
	fx->ipcFd = -1;
}

/* The next connection with a request: those the last wait found ready first, in the order they became ready
 * (epoll's ready list: nearly first come, first served, across kept connections), then a new wait.
 * SIGTERM/SIGINT are let in only inside epoll_pwait (it sets the signal mask atomically, so a signal sent while a
 * request was served is taken here, not lost), and the wait runs once per batch of ready connections, so a stop
 * waits for at most the requests already waiting. A stopping worker still serves a request a kept connection holds
 * now (nginx wrote it before our close could reach it), then closes them all. A batch takes new connections until
 * the queue is empty or it took as many as kept connections were ready, plus 8. The listening socket is
 * non-blocking, so a worker that loses the race for a connection gets EAGAIN, never a blocked accept() that no
 * signal could end. NULL: stop. */
static void finish_parked(void);

static FCGX_Request *next_request(const sigset_t *open)
{
	for (;;) {
		while (ready_next < nready) {
			struct epoll_event *e = &ready[ready_next++];
			if (e->data.u64 == LISTENING) {
				if (stopping || accepts_left <= 0) continue;
				int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
				if (fd >= 0) {
					if (listen_tcp) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
					hand_over(&fresh, fd);
					accepts_left--;
					ready_next--;   /* the queue may hold more: look again after this one */
					return &fresh;
				}
				if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
					log_error("worker: accept: %s; retrying in 100 ms", strerror(errno));
					ppoll(NULL, 0, &(struct timespec){0, 100000000}, open);
				} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED &&
					   errno != EPROTO) {
					log_error("worker: accept: %s", strerror(errno));
					stopping = 1;
				}
				continue;
			}
			/* readable: a request, or the web server's close, which FCGX_Accept_r finds (no extra system call
			 * to tell them apart); hung up or failed: closed here */
			uint32_t slot = (uint32_t)e->data.u64;
			FCGX_Request *k = &kept[slot];
			if (k->ipcFd < 0 || (unsigned)(e->data.u64 >> 32) != kept_gen[slot]) continue;   /* gone since */
			if (!(e->events & (EPOLLERR | EPOLLHUP))) return k;
			drop_connection(k);
		}
		finish_parked();   /* nothing more ready: the requests waiting on a round trip are answered first */
		if (audit_due()) audit_flush();
		static int last_look;
		if (last_look) {   /* stopping, and what the last look found is served: close the rest */
			for (int i = 0; i < cfg.kept_connections; i++) if (kept[i].ipcFd >= 0) drop_connection(&kept[i]);
			return NULL;
		}
		ready_next = 0;
		if (stopping) {   /* one last look, without waiting: a request nginx already wrote is served */
			last_look = 1;
			nready = epoll_wait(epfd, ready, BATCH_MAX, 0);
			if (nready < 0) nready = 0;
			continue;
		}
		log_flush();   /* possibly about to wait: the buffered access lines go out first */
		listen_or_not();
		/* audit rows waiting (answered under load) are written when the worker has had nothing to do for 2 ms */
		int rows = audit_pending();
		nready = epoll_pwait(epfd, ready, BATCH_MAX, rows ? 2 : listening ? -1 : 1000, open);
		if (nready == 0 && rows) audit_flush();
		if (nready < 0) {
			nready = 0;
			if (errno == EINTR) continue;
			log_error("worker: waiting for connections: %s", strerror(errno));
			stopping = 1;
			continue;
		}
		/* new connections queue in the listening socket while kept ones are served: a batch takes as many new
		 * ones as kept ones were ready, and 8 more, so neither kind waits on the other for long */
		accepts_left = 8;
		for (int i = 0; i < nready; i++) accepts_left += ready[i].data.u64 != LISTENING;
	}
}

static void sanitize_id(const char *in, char *out, size_t n)
{
	size_t o = 0;
	for (; in && *in && o + 1 < n; in++)
		if ((*in >= '0' && *in <= '9') || (*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') || *in == '-')
			out[o++] = *in;
	out[o] = 0;
}

/* W3C traceparent: keep the caller's trace id, start our own span */
static const char *make_traceparent(req *r, const char *incoming)
{
	char trace[33], span[17];
	int valid = incoming && strlen(incoming) == 55 && !strncmp(incoming, "00-", 3) && incoming[35] == '-';
	if (valid) {
		memcpy(trace, incoming + 3, 32);
		trace[32] = 0;
		for (int i = 0; i < 32; i++) if (!strchr("0123456789abcdef", trace[i])) valid = 0;
	}
	if (!valid) unique_hex(trace, 16);
	unique_hex(span, 8);
	return arena_printf(r->a, "00-%s-%s-01", trace, span);
}

/* A small body: from the FastCGI stream, or from the file nginx wrote when the path shares the upload
 * location (DELETE /api/v1/videos/uploads/:id with a body). The caller checked content_length <= body_limit. */
static int read_body(req *r, FCGX_Request *fx, const char *file)
{
	long len = r->content_length;
	if (len <= 0) return 0;
	char *b = arena_alloc(r->a, (size_t)len + 1);
	long got = 0;
	int fd = file ? open(file, O_RDONLY | O_CLOEXEC) : -1;
	if (file && fd < 0) return -1;
	while (got < len) {
		long want = len - got > 65536 ? 65536 : len - got;
		long n = fd >= 0 ? (long)read(fd, b + got, (size_t)want) : FCGX_GetStr(b + got, (int)want, fx->in);
		if (n <= 0) break;
		got += n;
	}
	if (fd >= 0) close(fd);
	b[got] = 0;
	r->body = b;
	r->body_len = (size_t)got;
	return got == len ? 0 : -1;
}

/* Behind a server that did not write the body to a file (Apache): spool it ourselves, never into memory. */
static int spool_body(req *r, FCGX_Request *fx)
{
	static const char *dir;   /* config_data_path allocates: once per worker */
	if (!dir) dir = config_data_path("tmp");
	mkdir(cfg.data_dir, 0755);
	mkdir(dir, 0700);
	char *path = arena_printf(r->a, "%s/body-XXXXXX", dir);
	int fd = mkstemp(path);
	if (fd < 0) return -1;
	char chunk[65536];
	int n;
	while ((n = FCGX_GetStr(chunk, sizeof chunk, fx->in)) > 0)
		if (write(fd, chunk, (size_t)n) != n) { close(fd); unlink(path); return -1; }
	close(fd);
	r->body_file = path;
	return 0;
}

/* writev until all is written (a short write: a full socket buffer); 0, or -1 (the peer went away) */
static int writev_all(int fd, struct iovec *v, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, v, n);
		if (w < 0) { if (errno == EINTR) continue; return -1; }
		while (n > 0 && (size_t)w >= v->iov_len) { w -= (ssize_t)v->iov_len; v++; n--; }
		if (n > 0) { v->iov_base = (char *)v->iov_base + w; v->iov_len -= (size_t)w; }
	}
	return 0;
}

/* The whole answer written by us in one writev: its STDOUT records, the end of the stream and the end of the
 * request. libfcgi's stream would cut a 60 KB page into 8 KB writes, each waking nginx, and FCGX_Finish_r would
 * write the two closing records on their own. Nothing went through the stream before (a streamed answer never
 * comes here), so the request is then only freed (finish_written). */
static void write_answer(FCGX_Request *fx, const char *head, size_t hlen, const char *body, size_t blen)
{
	enum { PART = 65528, MAXREC = 64 };
	struct iovec iov[2 * MAXREC + 1];
	unsigned char hdr[MAXREC][8];
	unsigned char id1 = (unsigned char)(fx->requestId >> 8), id0 = (unsigned char)fx->requestId;
	const char *src[2] = {head, body};
	size_t len[2] = {hlen, blen};
	int n = 0, k = 0;
	for (int s = 0; s < 2; s++)
		for (size_t off = 0; off < len[s];) {
			if (k == MAXREC) {   /* a huge answer: what is gathered goes out first */
				if (writev_all(fx->ipcFd, iov, n) < 0) return;
				n = k = 0;
			}
			size_t c = len[s] - off < PART ? len[s] - off : PART;
			unsigned char *h = hdr[k++];
			h[0] = 1; h[1] = 6;   /* FCGI_VERSION_1, FCGI_STDOUT */
			h[2] = id1; h[3] = id0;
			h[4] = (unsigned char)(c >> 8); h[5] = (unsigned char)c; h[6] = h[7] = 0;
			iov[n++] = (struct iovec){h, 8};
			iov[n++] = (struct iovec){(void *)(src[s] + off), c};
			off += c;
		}
	/* an empty FCGI_STDOUT record, then FCGI_END_REQUEST (type 3, 8 bytes: app status 0, FCGI_REQUEST_COMPLETE) */
	unsigned char end[24] = {1, 6, id1, id0, 0, 0, 0, 0, 1, 3, id1, id0, 0, 8, 0, 0};
	iov[n++] = (struct iovec){end, sizeof end};
	writev_all(fx->ipcFd, iov, n);
}

/* after write_answer: the request's streams are freed, the connection closed unless the web server keeps it */
static void finish_written(FCGX_Request *fx)
{
	FCGX_Free(fx, !fx->keepConnection || FCGX_GetError(fx->in));
}

/* the same for every answer (a streamed one sends its own, res_stream_begin) */
static const char security_headers[] =
	"Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
	"media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
	"frame-ancestors 'none'; base-uri 'self'; form-action 'self'\r\n"
	"X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\nReferrer-Policy: same-origin\r\n";

static void send_response(req *r, FCGX_Request *fx)
{
	/* one buffer for every answer's head, kept between requests; the fixed text is copied, not formatted (glibc
	 * formats a long literal a few bytes at a time: the head was 5 % of a roster read's CPU) */
	static buf h;
	int head = !strcmp(r->method, "HEAD");
	buf_reset(&h);
	buf_printf(&h, "Status: %d %s\r\n", r->status, res_status_text(r->status));
	if (r->headers.p) buf_append(&h, r->headers.p, r->headers.len);
	buf_append(&h, security_headers, sizeof security_headers - 1);
	const char *const parts[] = {"X-Request-Id: ", r->request_id, "\r\ntraceparent: ", r->traceparent, "\r\n"};
	for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) buf_puts(&h, parts[i] ? parts[i] : "");
	if (cfg.secure_cookies) buf_puts(&h, "Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n");
	const char *body = r->body_shared ? r->body_shared : r->body_out.p;
	size_t len = r->body_shared ? r->body_shared_len : r->body_out.len;
	buf_printf(&h, "Content-Length: %zu\r\n\r\n", len);
	write_answer(fx, h.p, h.len, head ? NULL : body, head ? 0 : len);
}

static void log_access(req *r, double secs)
{
	/* the query only with credentials cut out: OAuth codes, sign-in tokens and HLS signatures ride in it */
	char q[1024], status[16], ms[32];
	const char *query = NULL;
	if (r->query_string && *r->query_string) {
		log_redact_query(r->query_string, q, sizeof q);
		query = q;
	}
	snprintf(status, sizeof status, "%d", r->status);
	snprintf(ms, sizeof ms, "%.2f", secs * 1000);
	const struct log_kv kv[] = {
		{"msg", "request", 0}, {"request_id", r->request_id, 0}, {"traceparent", r->traceparent, 0},
		{"method", r->method, 0},
		{"route", r->route ? (r->route->name ? r->route->name : r->route->pattern) : "-", 0},
		{"path", r->path, 0}, {"query", query, 0}, {"status", status, 1}, {"duration_ms", ms, 1},
		{"ip", r->client_ip ? r->client_ip : "", 0}, {"user", r->log_user, 0},
	};
	log_access_kv(kv, (int)(sizeof kv / sizeof *kv));
}

/* what a security line about the matched route says besides the request's own fields */
static json_object *route_fields(req *r)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "route", json_object_new_string(r->route->name ? r->route->name : r->route->pattern));
	if (r->user) json_object_object_add(o, "role", json_object_new_string(r->user->role));
	return o;
}

/* who a request is for read-your-writes on every host: the user, else a hash of the bearer credential (OneRoster
 * clients); NULL for anonymous requests */
static const char *ryw_identity(req *r)
{
	if (!db_replica_configured()) return NULL;   /* nothing to decide: no hash of the credential per request */
	if (r->user) return arena_printf(r->a, "u%ld", r->user->id);
	const char *auth = req_header(r, "Authorization");
	if (!auth || !*auth) return NULL;
	char h[65];
	sha256_hex(auth, strlen(auth), h);
	return arena_printf(r->a, "a%.32s", h);
}

/* a read on a route that may be served by a replica (RF_REPLICA): the handler and its deferred step read there */
static int reads_replica(req *r)
{
	return (r->route->flags & RF_REPLICA) && (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"));
}

static void handle(req *r, FCGX_Request *fx)
{
	char **env = fx->envp;
	/* copied: the FastCGI environment is freed by FCGX_Finish_r, before the access log line */
	const char *m = FCGX_GetParam("REQUEST_METHOD", env);
	r->method = arena_strdup(r->a, m ? m : "GET");
	const char *uri = FCGX_GetParam("REQUEST_URI", env);
	if (!uri) uri = FCGX_GetParam("DOCUMENT_URI", env);
	if (!uri) uri = "/";
	size_t plen = strcspn(uri, "?");
	r->path = arena_strndup(r->a, uri, plen);
	const char *qs = FCGX_GetParam("QUERY_STRING", env);
	r->query_string = arena_strdup(r->a, qs ? qs : uri[plen] == '?' ? uri + plen + 1 : "");
	r->content_type = FCGX_GetParam("CONTENT_TYPE", env);
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", env);
	r->content_length = cl && *cl ? strtol(cl, NULL, 10) : 0;
	r->remote_addr = FCGX_GetParam("REMOTE_ADDR", env);

	char rid[40];
	sanitize_id(req_header(r, "X-Request-Id"), rid, sizeof rid);
	if (strlen(rid) < 8) unique_hex(rid, 16);
	r->request_id = arena_strdup(r->a, rid);
	r->traceparent = make_traceparent(r, req_header(r, "traceparent"));
	char ip[64];
	client_ip_resolve(r->remote_addr, req_header(r, "X-Forwarded-For"), cfg.trusted_proxies, ip, sizeof ip);
	r->client_ip = arena_strdup(r->a, ip);
	r->lang = "ja";

	int qrc = parse_urlencoded(r->a, r->query_string, strlen(r->query_string), &r->query, &r->nquery);
	if (qrc < 0) {
		res_error(r, 400, "bad_query", qrc == -1 ? "too many query parameters"
			  : "a query parameter holds a NUL byte or is not UTF-8", NULL);
		return;
	}
	parse_cookies(r->a, FCGX_GetParam("HTTP_COOKIE", env), &r->cookies, &r->ncookies);

	int mismatch;
	r->route = route_match(routes, nroutes, r, r->method, r->path, &mismatch);
	/* an admin's change reaches every worker: generation compared, at most once a second (not on the
	 * PostgreSQL-free hot path, which reads no setting) */
	if (!r->route || !(r->route->flags & RF_TOKEN_AUTH)) settings_refresh();
	session_load(r);
	/* the session could not be checked because PostgreSQL is unreachable: that is not a logout, so no 401 and
	 * no redirect to /login (the browser keeps its cookie); routes open to anyone go on as anonymous */
	if (db_outage() && r->route && r->route->perm != PERM_NONE) { res_unavailable(r); return; }
	if (!r->route) {
		if (mismatch) res_error(r, 405, "method_not_allowed", tr(r, "error_method"), NULL);
		else res_error(r, 404, "not_found", tr(r, "error_not_found"), NULL);
		return;
	}
	/* who may call the route is known before any body is read: nobody spools gigabytes just to hear 401 */
	if (!perm_allows(r->route->perm, r->user)) {
		if (r->user) {
			log_security(r, "permission_denied", route_fields(r));
			res_error(r, 403, "forbidden", tr(r, "error_forbidden"), NULL);
			return;
		}
		if (req_wants_json(r)) { res_error(r, 401, "unauthorized", tr(r, "error_unauthorized"), NULL); return; }
		res_redirect(r, arena_printf(r->a, "/login?next=%s", url_encode(r->a, r->path)));
		return;
	}
	int flags = r->route->flags;
	if (flags & RF_BODYFILE) {
		const char *bf = FCGX_GetParam("RSTREAM_BODY_FILE", env);
		if (bf && *bf) r->body_file = arena_strdup(r->a, bf);
		/* no front end stored it (Apache, direct FastCGI): the disk floor and quota nginx asks for via
		 * auth_request are checked here, before the app stores a byte */
		else if (r->content_length > 0 &&
			 upload_guard_check(r, r->content_length, !strncmp(r->route->pattern, "/api/v1/videos", 14)) != UG_OK)
			return;
		else if (r->content_length > 0 && spool_body(r, fx) < 0) {
			res_error(r, 500, "spool_failed", "could not store the request body", NULL);
			return;
		}
	} else if (r->content_length > cfg.body_limit) {
		res_error(r, 413, "body_too_large", tr(r, "error_too_large"), NULL);
		return;
	} else if (r->content_length > 0) {
		const char *bf = FCGX_GetParam("RSTREAM_BODY_FILE", env);
		if (read_body(r, fx, bf && *bf ? bf : NULL) < 0) { res_error(r, 400, "short_body", "request body ended early", NULL); return; }
		const char *ct = r->content_type ? r->content_type : "";
		if (!(flags & RF_RAWBODY)) {
			if (!strncmp(ct, "application/x-www-form-urlencoded", 33)) {
				int frc = parse_urlencoded(r->a, r->body, r->body_len, &r->form, &r->nform);
				if (frc == -1) { res_error(r, 400, "bad_form", "too many form fields", NULL); return; }
				if (frc < 0) {
					res_error(r, 422, "bad_text", "a form field holds a NUL byte or is not UTF-8", NULL);
					return;
				}
			} else if (!strncmp(ct, "application/json", 16)) {
				char err[200];
				int why, max = flags & RF_SMALLJSON ? JSON_SMALL_VALUES : JSON_MAX_VALUES;
				r->json = json_parse_bounded(r->body, r->body_len, max, JSON_MAX_DEPTH, &why, err, sizeof err);
				if (!r->json) {
					if (why == JSON_NUL) res_error(r, 422, "nul_byte", err, NULL);
					else if (why == JSON_TOO_BIG) res_error(r, 413, "json_too_complex", err, NULL);
					else res_error(r, 400, "malformed_json", err, NULL);
					return;
				}
			}
		}
	}
	int safe = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
	if (!safe && !(flags & RF_NOCSRF) && !(r->user && r->user->via_bearer) && !session_csrf_ok(r)) {
		log_security(r, "csrf_rejected", route_fields(r));
		res_error(r, 403, "csrf", tr(r, "error_csrf"), NULL);
		return;
	}
	int replica = reads_replica(r);
	if (replica) db_replica_begin(ryw_identity(r));
	r->route->fn(r);
	db_replica_end();
	if (!safe) db_replica_wrote(ryw_identity(r));
	/* a handler that left its answer to a deferred step (req_defer_redis) answers there */
	if (!r->status && !r->deferred_done) res_error(r, 500, "no_response", "the handler produced no response", NULL);
}

/* A request that failed while PostgreSQL was unreachable answers 503 + Retry-After, whatever the handler made
 * of the missing rows (a 401, 404 or 500 would be a lie the client acts on). Successful answers stay: /metrics
 * and /readyz report the outage themselves. */
static void outage_answer(req *r)
{
	if (!db_outage() || r->streamed || r->status < 400) return;
	if (r->status != 503) res_unavailable(r);
	else if (!r->headers.p || !strstr(r->headers.p, "Retry-After:")) res_header(r, "Retry-After", RETRY_AFTER_OUTAGE);
}

/* Before FCGX_Finish_r. A kept connection must have its request's input read to the end (the empty STDIN record
 * included): the next request's records follow it, and libfcgi takes a stray STDIN record for a protocol error.
 * An input too long to be worth reading is not kept: the connection is closed instead.
 * A closing connection: libfcgi ends it with shutdown() and then reads until nginx closes its side (up to 2 s), so
 * that a peer still sending a body gets no reset. When the input has been read to its end (the empty STDIN record
 * nginx always sends last is usually in the first read) nothing is left to drain: it is closed at once, three
 * system calls and a wait on nginx fewer per request. An unread body keeps libfcgi's way. */
#define KEPT_DRAIN_MAX (1 << 20)
static void end_input(FCGX_Request *fx)
{
	if (fx->keepConnection) {
		char chunk[8192];
		long left = KEPT_DRAIN_MAX;
		while (!FCGX_HasSeenEOF(fx->in) && left > 0) {
			int n = FCGX_GetStr(chunk, sizeof chunk, fx->in);
			if (n <= 0) break;
			left -= n;
		}
		if (FCGX_HasSeenEOF(fx->in) && !FCGX_GetError(fx->in)) return;
		fx->keepConnection = 0;
	}
	if (!FCGX_HasSeenEOF(fx->in) && FCGX_GetChar(fx->in) != EOF) return;
	if (FCGX_HasSeenEOF(fx->in)) FCGX_Detach(fx);
}

/* A request served: its connection, its start, and the request itself (its own arena). */
struct served {
	FCGX_Request *fx;
	struct timeval t0;
	req r;
};

static int served_count;
/* max_requests plus up to half as many again, drawn per worker: workers started together and given even shares of
 * the load reached the same count within a second, and all four recycling at once (their kept connections closed,
 * their caches cold) held requests for up to 800 ms */
static int recycle_after;

/* Everything after the handler: the answer, the end of the connection's request, the access line, the arena. */
static void finish(struct served *s)
{
	req *r = &s->r;
	FCGX_Request *fx = s->fx;
	outage_answer(r);
	end_input(fx);   /* first: the answer ends the request, and the web server may send the next one at once */
	if (r->streamed) FCGX_Finish_r(fx);
	else {
		send_response(r, fx);
		finish_written(fx);
	}
	keep_or_close(fx);
	struct timeval t1;
	gettimeofday(&t1, NULL);
	double secs = (double)(t1.tv_sec - s->t0.tv_sec) + (t1.tv_usec - s->t0.tv_usec) / 1e6;
	log_access(r, secs);
	metrics_request(r->method, r->route ? (r->route->name ? r->route->name : r->route->pattern) : "unmatched",
			r->status, secs);
	if (r->json) json_object_put(r->json);
	if (r->body_file && strstr(r->body_file, "/tmp/body-")) unlink(r->body_file);
	/* a big request (a 1 MB body, a long export page) must not leave its peak as the worker's size:
	 * glibc keeps freed heap pages mapped unless asked to give them back */
	int big = arena_used(r->a) > TRIM_AFTER_BYTES || r->body_out.cap > TRIM_AFTER_BYTES;
	res_body_reset(r);
	buf_free(&r->headers);
	buf_free(&r->body_out);
	arena_reset(r->a);
	if (big) malloc_trim(0);
	if (++served_count >= recycle_after) stopping = 1;
}

/* Requests that left their last step to the server (req_defer_redis: heartbeats, OneRoster delta polls) wait here
 * while the worker handles the other requests that were ready at the same time; then one pipeline carries all
 * their Redis commands, and each is answered. Under load that is one round trip for a batch instead of one per
 * request. Only requests on kept connections wait: a new connection's FCGX_Request is needed for the next one.
 * The audit rows of requests on kept connections (OneRoster reads) wait in audit.c, after their answers, and go
 * in one INSERT once 128 are waiting or the oldest is 50 ms old, or when the worker has had nothing to do for
 * 2 ms (next_request): an INSERT per batch of answers had been 17 rows, 680 transactions a second at 11,000
 * reads/s. */
#define PARK_MAX 64   /* as many as one wait returns (BATCH_MAX); 8, 16 and 32 each measured a higher p99 */
static struct served parked[PARK_MAX];
static int nparked;
static arena *arena_pool[PARK_MAX + 1];
static int narenas_free, narenas_made;

/* an arena for the next request while the current one waits; NULL when the pool is spent */
static arena *arena_take(void)
{
	if (narenas_free) return arena_pool[--narenas_free];
	if (narenas_made == PARK_MAX) return NULL;
	narenas_made++;
	return arena_new(64 * 1024);
}

/* a GET in the batch that an earlier one already asks: its index, else -1 */
static int same_get(int argc, const char **argv, int n, const int *uargc, const char **const *uargv)
{
	if (argc != 2 || strcmp(argv[0], "GET")) return -1;
	for (int u = 0; u < n; u++)
		if (uargc[u] == 2 && !strcmp(uargv[u][0], "GET") && !strcmp(uargv[u][1], argv[1])) return u;
	return -1;
}

/* The deferred commands of n requests in one pipeline, then each request's answer. Identical GETs (every delta
 * poll's roster:gen) go once: all were sent after every request of the batch had arrived, so one answer is as fresh
 * for each of them. */
static void run_deferred(struct served *s, int n)
{
	int total = 0, nuniq = 0, uargc[PARK_MAX * REQ_DEFER_MAX] = {0}, slot[PARK_MAX * REQ_DEFER_MAX];
	const char **uargv[PARK_MAX * REQ_DEFER_MAX] = {0};
	redisReply *urep[PARK_MAX * REQ_DEFER_MAX], *rep[PARK_MAX * REQ_DEFER_MAX];
	for (int i = 0; i < n; i++)
		for (int k = 0; k < s[i].r.ndeferred; k++) {
			int argc = s[i].r.deferred_argc[k];
			const char **argv = s[i].r.deferred_argv[k];
			int u = same_get(argc, argv, nuniq, uargc, (const char **const *)uargv);
			if (u < 0) {
				u = nuniq++;
				uargc[u] = argc;
				uargv[u] = argv;
			}
			slot[total++] = u;
		}
	if (!total) return;   /* only audit rows wait */
	cache_pipeline_argv(nuniq, uargc, (const char **const *)uargv, urep);
	for (int c = 0; c < total; c++) rep[c] = urep[slot[c]];
	for (int i = 0, at = 0; i < n; i++) {
		req *r = &s[i].r;
		at += r->ndeferred;
		if (!r->deferred_done) continue;
		/* the step reads as its handler did: from a replica on a replica route (see handle) */
		int replica = reads_replica(r);
		if (replica) db_replica_begin(ryw_identity(r));
		r->deferred_done(r, rep + at - r->ndeferred);
		if (replica) db_replica_end();
	}
	for (int u = 0; u < nuniq; u++) if (urep[u]) freeReplyObject(urep[u]);
}

static void finish_parked(void)
{
	if (!nparked) return;
	run_deferred(parked, nparked);
	for (int i = 0; i < nparked; i++) {
		arena *pa = parked[i].r.a;
		finish(&parked[i]);
		arena_pool[narenas_free++] = pa;
	}
	nparked = 0;
}

static void worker_loop(void)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_worker_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigset_t term, open;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigprocmask(SIG_BLOCK, &term, &open);   /* from here on they arrive only inside next_request */
	sigdelset(&open, SIGTERM);
	sigdelset(&open, SIGINT);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGTERM);   /* no orphan workers if the master is killed */
	char err[512];
	if (tmpl_load_dir(config_path("templates"), err, sizeof err) < 0) log_error("templates: %s", err);
	i18n_load(config_path("conf/i18n"));
	db_connect(cfg.database_url);
	cache_connect(cfg.redis_url);
	log_buffer_access(1);
	FCGX_Init();
	kept_init();
	kept_share_claim();
	arena *a = arena_new(64 * 1024);
	recycle_after = cfg.max_requests + (int)arc4random_uniform((uint32_t)cfg.max_requests / 2 + 1);
	FCGX_Request *fx;
	/* after max_requests the worker stops as on SIGTERM: the kept connections' waiting requests first */
	for (;;) {
		if (nparked == PARK_MAX) finish_parked();
		if (!(fx = next_request(&open))) break;
		/* not a request after all (the peer left, or a protocol error): libfcgi closed the connection */
		if (FCGX_Accept_r(fx) < 0) {
			fx->ipcFd = -1;
			continue;
		}
		struct served s = {.fx = fx, .r = {.a = a, .fcgx = fx, .may_defer = fx != &fresh}};
		gettimeofday(&s.t0, NULL);
		db_outage_clear();
		handle(&s.r, fx);
		if (s.r.deferred_done && fx != &fresh && (a = arena_take())) {
			parked[nparked++] = s;   /* answered with the others ready now, after one round trip for all */
			continue;
		}
		if (!a) a = s.r.a;
		if (s.r.deferred_done) run_deferred(&s, 1);
		finish(&s);
	}
	finish_parked();
	audit_flush();
	audit_collect();
	/* exit() frees the arenas and flushes the gathered access lines (log_buffer_access) */
	db_close();
	cache_close();
	exit(0);
}

static pid_t spawn_worker(void)
{
	pid_t pid = fork();
	if (pid == 0) worker_loop();
	return pid;
}

static char *listen_addr;   /* our copy: a reload frees the strings cfg points at */

/* SIGHUP (systemctl reload, logrotate): reopen the log files, then read rstream.conf again. A file that does not
 * parse or validate is refused and the running configuration kept; the workers started next inherit the result.
 * The socket and the number of workers are the master's own: they take a restart. */
static void reload_config(int nworkers)
{
	const char *before = log_dir();
	char *old_dir = before ? strdup(before) : NULL, err[512];
	log_reopen();
	if (config_reload(err, sizeof err) < 0) {
		log_error("SIGHUP: configuration refused, the running one stays: %s", err);
		free(old_dir);
		return;
	}
	if (strcmp(cfg.listen, listen_addr) || cfg.workers != nworkers)
		log_warn("SIGHUP: listen and workers keep their running values (%s, %d) until a restart", listen_addr, nworkers);
	cfg.listen = listen_addr;
	cfg.workers = nworkers;
	const char *dir = config_get("log.dir", NULL);
	if (dir && *dir && (!old_dir || strcmp(dir, old_dir)) && log_open(dir, err, sizeof err) < 0)
		log_error("SIGHUP: %s; logging where it did", err);
	free(old_dir);
	log_info("SIGHUP: configuration reloaded");
}

int server_main(void)
{
	listen_addr = strdup(cfg.listen);
	listen_fd = open_listen();
	if (listen_fd < 0) { log_error("cannot listen on %s: %s", cfg.listen, strerror(errno)); return 1; }
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);   /* see next_request */
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	listen_tcp = getsockname(listen_fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family != AF_UNIX;
	if (metrics_init() < 0 || session_cache_init() < 0 || settings_shared_init() < 0 ||
	    roster_cache_shared_init() < 0 || kept_shares_init(cfg.workers) < 0) {
		log_error("cannot map shared memory");
		return 1;
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_master_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int n = cfg.workers;
	pid_t *pids = calloc((size_t)n, sizeof *pids);
	for (int i = 0; i < n; i++) pids[i] = spawn_worker();
	log_info("fcgi master %d listening on %s with %d workers (backlog %d)", getpid(),
		 listen_fd == 3 && listen_inherited ? "the socket systemd passed (LISTEN_FDS)" : cfg.listen, n, listen_backlog());
	while (!stopping) {
		if (reload) {
			reload = 0;
			reload_config(n);
			log_info("SIGHUP: restarting workers one by one");
			for (int i = 0; i < n; i++) {
				pid_t old = pids[i];
				pids[i] = spawn_worker();   /* new one first, so capacity never drops */
				kill(old, SIGTERM);
				waitpid(old, NULL, 0);
				kept_share_release(old);
			}
			continue;
		}
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0) { if (errno == EINTR) continue; sleep(1); continue; }
		kept_share_release(pid);
		for (int i = 0; i < n; i++) {
			if (pids[i] != pid) continue;
			if (stopping) { pids[i] = 0; break; }
			int crashed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			if (crashed) {
				log_warn("worker %d died (%s %d); respawning", pid, WIFSIGNALED(status) ? "signal" : "exit",
					 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
				metrics_inc("rstream_worker_respawns_total", "reason=\"crash\"", 1);
			} else {
				metrics_inc("rstream_worker_respawns_total", "reason=\"recycle\"", 1);
			}
			pids[i] = spawn_worker();
			break;
		}
	}
	log_info("fcgi master draining: waiting for workers to finish in-flight requests");
	for (int i = 0; i < n; i++) if (pids[i] > 0) kill(pids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR) ;
	if (!listen_inherited && !strncmp(listen_addr, "unix:", 5)) unlink(listen_addr + 5);
	free(pids);
	return 0;
}
