/* `rstream backup` and `rstream restore`: a pg_dump -Fc of the database and the media tree, each file encrypted
 * (backup_crypt.c) into a repository with content-addressed objects (a file unchanged since the last snapshot is
 * not copied again), one encrypted manifest of sha256 sums per snapshot, and retention by age. */
#define _XOPEN_SOURCE 700
#include "backup.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "backup_crypt.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "video_store.h"

#define MANIFEST_MAX (512L * 1024 * 1024)

/* ---- names, paths, retention (pure) ---------------------------------------------------------- */

time_t backup_stamp_parse(const char *s)
{
	struct tm tm = {0};
	if (!s || strlen(s) != 16) return -1;
	const char *end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
	if (!end || *end) return -1;
	return timegm(&tm);
}

static void stamp_of(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y%m%dT%H%M%SZ", &tm);
}

int backup_path_ok(const char *p)
{
	if (!p || !*p || *p == '/' || strlen(p) > 1024) return 0;
	for (const unsigned char *c = (const unsigned char *)p; *c; c++)
		if (*c < 0x20 || *c == 0x7f) return 0;
	const char *s = p;
	for (;;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return 0;
		if (!e) return 1;
		s = e + 1;
	}
}

void backup_retention_select(const time_t *t, int n, time_t now, int daily, int weekly, int monthly, int *keep)
{
	int *order = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
	char (*seen)[3][16] = calloc((size_t)(n > 0 ? n : 1), sizeof *seen);
	if (!order || !seen) {   /* keep everything rather than delete on a failed allocation */
		for (int i = 0; i < n; i++) keep[i] = 1;
		free(order); free(seen);
		return;
	}
	for (int i = 0; i < n; i++) { order[i] = i; keep[i] = 0; }
	/* newest first (insertion sort: a repository holds a few hundred snapshots at most) */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && t[order[j]] > t[order[j - 1]]; j--) { int x = order[j]; order[j] = order[j - 1]; order[j - 1] = x; }
	const char *fmt[3] = {"%Y-%m-%d", "%G-W%V", "%Y-%m"};
	int days[3] = {daily, weekly, monthly}, nseen[3] = {0, 0, 0};
	for (int k = 0; k < n; k++) {
		int i = order[k];
		if (k == 0) keep[i] = 1;
		struct tm tm;
		gmtime_r(&t[i], &tm);
		double age = difftime(now, t[i]) / 86400.0;
		for (int p = 0; p < 3; p++) {
			if (age > days[p]) continue;
			char b[16];
			strftime(b, sizeof b, fmt[p], &tm);
			int dup = 0;
			for (int s = 0; s < nseen[p] && !dup; s++) dup = !strcmp(seen[s][p], b);
			if (dup) continue;
			snprintf(seen[nseen[p]++][p], 16, "%s", b);
			keep[i] = 1;
		}
	}
	free(order);
	free(seen);
}

/* ---- repository ------------------------------------------------------------------------------ */

struct repo {
	char dir[PATH_MAX];
	unsigned char key[BACKUP_KEY_LEN];
	int lock_fd;
};

static int mkdir_p(const char *p) { return video_mkdirs(p); }

static int repo_open(struct repo *r, int create, char *err, size_t errlen)
{
	const char *dir = config_get("backup.dir", NULL), *keyf = config_get("backup.key_file", NULL);
	r->lock_fd = -1;
	if (!dir || !*dir) { snprintf(err, errlen, "no backup directory: set backup.dir in rstream.conf or RSTREAM_BACKUP_DIR"); return -1; }
	if (create && mkdir_p(dir) < 0) { snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno)); return -1; }
	if (!realpath(dir, r->dir)) { snprintf(err, errlen, "backup directory %s: %s", dir, strerror(errno)); return -1; }
	char keyreal[PATH_MAX];
	if (!keyf || !*keyf) { snprintf(err, errlen, "no key file: set backup.key_file in rstream.conf or RSTREAM_BACKUP_KEY_FILE (make one with: umask 077; openssl rand -hex 32 > FILE)"); return -1; }
	if (!realpath(keyf, keyreal)) { snprintf(err, errlen, "key file %s: %s", keyf, strerror(errno)); return -1; }
	/* whoever takes the backup disk must not find the key on it */
	size_t dl = strlen(r->dir);
	if (!strncmp(keyreal, r->dir, dl) && keyreal[dl] == '/') {
		snprintf(err, errlen, "the key file %s is inside the backup directory: keep it elsewhere", keyreal);
		return -1;
	}
	if (backup_key_load(keyreal, r->key, err, errlen) < 0) return -1;
	char p[PATH_MAX + 32];
	snprintf(p, sizeof p, "%s/snapshots", r->dir);
	if (create) mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/objects", r->dir);
	if (create) mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/lock", r->dir);
	r->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (r->lock_fd < 0) {
		if (create || errno != EACCES) { snprintf(err, errlen, "%s: %s", p, strerror(errno)); return -1; }
	} else if (flock(r->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "another backup, prune or restore holds %s; try again when it has finished", p);
		close(r->lock_fd);
		r->lock_fd = -1;
		return -1;
	}
	return 0;
}

static void repo_close(struct repo *r)
{
	memset(r->key, 0, sizeof r->key);
	if (r->lock_fd >= 0) close(r->lock_fd);
	r->lock_fd = -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* complete snapshots (names that parse; ".partial" ones are skipped), sorted oldest first; count or -1 */
static int repo_snapshots(const struct repo *r, char ***out)
{
	char p[PATH_MAX + 32];
	snprintf(p, sizeof p, "%s/snapshots", r->dir);
	DIR *d = opendir(p);
	*out = NULL;
	if (!d) return errno == ENOENT ? 0 : -1;
	int n = 0, cap = 0;
	char **v = NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (backup_stamp_parse(e->d_name) < 0) continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, sizeof *v * (size_t)cap);
			if (!nv) break;
			v = nv;
		}
		v[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n > 1) qsort(v, (size_t)n, sizeof *v, cmp_str);
	*out = v;
	return n;
}

static void free_list(char **v, int n)
{
	for (int i = 0; i < n; i++) free(v[i]);
	free(v);
}

static json_object *manifest_read(const struct repo *r, const char *snap, char *err, size_t errlen)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof p, "%s/snapshots/%s/manifest.enc", r->dir, snap);
	char *txt = backup_decrypt_small(r->key, p, MANIFEST_MAX, err, errlen);
	if (!txt) return NULL;
	json_object *m = json_tokener_parse(txt);
	free(txt);
	if (!m || !json_object_is_type(m, json_type_object) || !json_object_object_get(m, "files")) {
		snprintf(err, errlen, "%s: the manifest is not valid", p);
		json_object_put(m);
		return NULL;
	}
	return m;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static long long jll(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : -1;
}

static void object_path(const struct repo *r, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/objects/%.2s/%s", r->dir, name, name);
}

/* ---- backup ---------------------------------------------------------------------------------- */

/* nftw has no user pointer: the walk's state is file-scope, one backup per process */
static struct walk {
	struct repo *repo;
	const char *data_dir;
	size_t data_len;
	json_object *prev;       /* path -> previous manifest entry */
	json_object *files;      /* the new manifest's array */
	long long new_bytes, new_files, total_bytes;
	int tmp_seq;
	char skip_rel[PATH_MAX];   /* the repository, when it lies inside the data directory */
	char err[1024];
} W;

/* subtrees never backed up: work files and half-received uploads, which a restore could not use */
static int skipped_dir(const char *rel)
{
	return !strcmp(rel, "tmp") || !strcmp(rel, "uploads/parts") || (W.skip_rel[0] && !strcmp(rel, W.skip_rel));
}

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (strlen(path) <= W.data_len) return 0;
	const char *rel = path + W.data_len + 1;
	if (flag == FTW_D) return skipped_dir(rel) ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
	if (flag == FTW_DNR) { snprintf(W.err, sizeof W.err, "%s: cannot read directory", path); return FTW_STOP; }
	if (flag != FTW_F || !S_ISREG(st->st_mode)) return FTW_CONTINUE;   /* symlinks, sockets: not media */
	if (!backup_path_ok(rel)) { log_warn("backup: skipping %s (name not restorable)", path); return FTW_CONTINUE; }
	long long mtime_ns = (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	char sha[BACKUP_SHA_HEX], obj[BACKUP_SHA_HEX], op[PATH_MAX + 160];
	json_object *pe = NULL;
	long long size = st->st_size;
	/* unchanged since the last snapshot (same size and mtime) and its object still there: not read again */
	if (W.prev && json_object_object_get_ex(W.prev, rel, &pe) && jll(pe, "size") == (long long)st->st_size &&
	    jll(pe, "mtime_ns") == mtime_ns && jstr(pe, "sha256") && jstr(pe, "object") &&
	    strlen(jstr(pe, "object")) == 64) {
		snprintf(sha, sizeof sha, "%s", jstr(pe, "sha256"));
		snprintf(obj, sizeof obj, "%s", jstr(pe, "object"));
		object_path(W.repo, obj, op, sizeof op);
		if (access(op, F_OK) == 0) goto add;
	}
	char tmp[PATH_MAX + 64];
	snprintf(tmp, sizeof tmp, "%s/objects/.new-%d-%d", W.repo->dir, (int)getpid(), ++W.tmp_seq);
	if (backup_encrypt_file(W.repo->key, path, tmp, sha, &size, W.err, sizeof W.err) < 0) {
		/* a file removed while we walk (a video deleted by its teacher) is simply not in this snapshot */
		if (access(path, F_OK) < 0) { W.err[0] = 0; return FTW_CONTINUE; }
		return FTW_STOP;
	}
	backup_object_name(W.repo->key, sha, obj);
	object_path(W.repo, obj, op, sizeof op);
	char sub[PATH_MAX + 64];
	snprintf(sub, sizeof sub, "%s/objects/%.2s", W.repo->dir, obj);
	mkdir(sub, 0700);
	if (access(op, F_OK) == 0) unlink(tmp);   /* same content already stored (a copy, or an earlier snapshot) */
	else if (rename(tmp, op) < 0) { snprintf(W.err, sizeof W.err, "%s: %s", op, strerror(errno)); unlink(tmp); return FTW_STOP; }
	else { W.new_bytes += size; W.new_files++; }
add:;
	json_object *e = json_object_new_object();
	json_object_object_add(e, "path", json_object_new_string(rel));
	json_object_object_add(e, "size", json_object_new_int64(size));
	json_object_object_add(e, "mtime_ns", json_object_new_int64(mtime_ns));
	json_object_object_add(e, "mode", json_object_new_int(st->st_mode & 0777));
	json_object_object_add(e, "sha256", json_object_new_string(sha));
	json_object_object_add(e, "object", json_object_new_string(obj));
	json_object_array_add(W.files, e);
	W.total_bytes += size;
	return FTW_CONTINUE;
}

/* run argv with stdout to out_fd (or stdin from in_fd when out_fd < 0); returns the child pid */
static pid_t spawn(char *const argv[], int in_fd, int out_fd, int close_fd)
{
	pid_t pid = fork();
	if (pid != 0) return pid;
	if (close_fd >= 0) close(close_fd);
	if (in_fd >= 0) dup2(in_fd, 0);
	if (out_fd >= 0) dup2(out_fd, 1);
	execvp(argv[0], argv);
	fprintf(stderr, "rstream: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int wait_ok(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* pg_dump -Fc streamed through the cipher: no plain dump ever lands on disk */
static int dump_database(struct repo *r, const char *dst, char sha[BACKUP_SHA_HEX], long long *size, char *err, size_t errlen)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) { snprintf(err, errlen, "pipe: %s", strerror(errno)); return -1; }
	char *argv[] = {"pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--dbname", (char *)cfg.database_url, NULL};
	pid_t pid = spawn(argv, -1, pfd[1], pfd[0]);
	close(pfd[1]);
	if (pid < 0) { close(pfd[0]); snprintf(err, errlen, "fork: %s", strerror(errno)); return -1; }
	int rc = backup_encrypt_fd(r->key, pfd[0], dst, sha, size, err, errlen);
	close(pfd[0]);
	if (wait_ok(pid) < 0 && rc == 0) {
		snprintf(err, errlen, "pg_dump failed (its message is above)");
		unlink(dst);
		rc = -1;
	}
	return rc;
}

static int write_manifest(struct repo *r, json_object *m, const char *dst, char *err, size_t errlen)
{
	const char *txt = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN);
	int mfd = memfd_create("rstream-manifest", MFD_CLOEXEC);
	if (mfd < 0) { snprintf(err, errlen, "memfd: %s", strerror(errno)); return -1; }
	size_t n = strlen(txt);
	int rc = -1;
	if (write(mfd, txt, n) != (ssize_t)n || lseek(mfd, 0, SEEK_SET) != 0) { snprintf(err, errlen, "memfd write failed"); goto out; }
	char sha[BACKUP_SHA_HEX];
	rc = backup_encrypt_fd(r->key, mfd, dst, sha, NULL, err, errlen);
out:
	close(mfd);
	return rc;
}

static double now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

static int prune(struct repo *r, int verbose);

static int backup_run(void)
{
	struct repo r;
	char err[1024] = "", snap[32], part[PATH_MAX + 64], fin[PATH_MAX + 64], p[PATH_MAX + 96];
	char **snaps = NULL;
	int nsnaps = 0, rc = 1;
	json_object *m = NULL, *prevm = NULL;
	double t0 = now_s();
	memset(&W, 0, sizeof W);
	if (repo_open(&r, 1, err, sizeof err) < 0) { fprintf(stderr, "rstream backup: %s\n", err); return 1; }
	if (!cfg.database_url) { fprintf(stderr, "rstream backup: DATABASE_URL is not set\n"); goto out; }
	stamp_of(time(NULL), snap);
	snprintf(fin, sizeof fin, "%s/snapshots/%s", r.dir, snap);
	snprintf(part, sizeof part, "%s.partial", fin);
	if (access(fin, F_OK) == 0) { fprintf(stderr, "rstream backup: snapshot %s already exists (one per second)\n", snap); goto out; }
	video_rmtree(part);   /* left by a backup that was killed */
	if (mkdir(part, 0700) < 0) { fprintf(stderr, "rstream backup: %s: %s\n", part, strerror(errno)); goto out; }

	/* 1. the database */
	char dsha[BACKUP_SHA_HEX];
	long long dsize = 0;
	snprintf(p, sizeof p, "%s/db.dump.enc", part);
	if (dump_database(&r, p, dsha, &dsize, err, sizeof err) < 0) { fprintf(stderr, "rstream backup: database: %s\n", err); goto out; }
	double t_db = now_s();

	/* 2. the media, against the last snapshot's manifest */
	nsnaps = repo_snapshots(&r, &snaps);
	if (nsnaps > 0) {
		prevm = manifest_read(&r, snaps[nsnaps - 1], err, sizeof err);
		if (!prevm) log_warn("backup: last snapshot's manifest unreadable (%s): every file is read again", err);
	}
	if (prevm) {
		W.prev = json_object_new_object();
		json_object *pf = json_object_object_get(prevm, "files");
		for (size_t i = 0; i < json_object_array_length(pf); i++) {
			json_object *e = json_object_array_get_idx(pf, i);
			if (jstr(e, "path")) json_object_object_add(W.prev, jstr(e, "path"), json_object_get(e));
		}
	}
	W.repo = &r;
	W.data_dir = cfg.data_dir;
	W.data_len = strlen(cfg.data_dir);
	while (W.data_len > 1 && cfg.data_dir[W.data_len - 1] == '/') W.data_len--;
	W.files = json_object_new_array();
	char data_real[PATH_MAX];
	size_t dl;
	/* a repository inside the data directory must not back itself up */
	if (realpath(cfg.data_dir, data_real) && (dl = strlen(data_real)) && !strncmp(r.dir, data_real, dl) && r.dir[dl] == '/')
		snprintf(W.skip_rel, sizeof W.skip_rel, "%s", r.dir + dl + 1);
	struct stat dst;
	if (stat(cfg.data_dir, &dst) < 0) { fprintf(stderr, "rstream backup: data directory %s: %s\n", cfg.data_dir, strerror(errno)); goto out; }
	if (nftw(cfg.data_dir, walk_one, 32, FTW_PHYS | FTW_ACTIONRETVAL) != 0 || W.err[0]) {
		fprintf(stderr, "rstream backup: media: %s\n", W.err[0] ? W.err : strerror(errno));
		goto out;
	}

	/* 3. the manifest, then the snapshot becomes visible in one rename */
	m = json_object_new_object();
	json_object_object_add(m, "format", json_object_new_int(1));
	json_object_object_add(m, "snapshot", json_object_new_string(snap));
	json_object_object_add(m, "data_dir", json_object_new_string(cfg.data_dir));
	json_object *db = json_object_new_object();
	json_object_object_add(db, "file", json_object_new_string("db.dump.enc"));
	json_object_object_add(db, "format", json_object_new_string("pg_dump custom"));
	json_object_object_add(db, "size", json_object_new_int64(dsize));
	json_object_object_add(db, "sha256", json_object_new_string(dsha));
	json_object_object_add(m, "database", db);
	json_object_object_add(m, "files", json_object_get(W.files));
	snprintf(p, sizeof p, "%s/manifest.enc", part);
	if (write_manifest(&r, m, p, err, sizeof err) < 0) { fprintf(stderr, "rstream backup: manifest: %s\n", err); goto out; }
	int dfd = open(part, O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) { fsync(dfd); close(dfd); }
	if (rename(part, fin) < 0) { fprintf(stderr, "rstream backup: %s: %s\n", fin, strerror(errno)); goto out; }
	double t1 = now_s();
	printf("snapshot %s: database %lld bytes (%.1f s), %zu files %lld bytes, %lld new files %lld bytes (%.1f s)\n",
	       snap, dsize, t_db - t0, json_object_array_length(W.files), W.total_bytes, W.new_files, W.new_bytes, t1 - t_db);
	json_object *ev = json_object_new_object();
	json_object_object_add(ev, "msg", json_object_new_string("backup done"));
	json_object_object_add(ev, "snapshot", json_object_new_string(snap));
	json_object_object_add(ev, "db_bytes", json_object_new_int64(dsize));
	json_object_object_add(ev, "files", json_object_new_int64((long long)json_object_array_length(W.files)));
	json_object_object_add(ev, "new_bytes", json_object_new_int64(W.new_bytes));
	json_object_object_add(ev, "seconds", json_object_new_double(t1 - t0));
	log_json(ev);
	/* 4. retention; a failed prune leaves extra snapshots, never a broken one */
	rc = prune(&r, 0) < 0 ? 1 : 0;
out:
	if (rc && access(part, F_OK) == 0) video_rmtree(part);
	json_object_put(m);
	json_object_put(prevm);
	json_object_put(W.prev);
	json_object_put(W.files);
	free_list(snaps, nsnaps);
	repo_close(&r);
	return rc;
}

/* delete snapshots retention does not keep, then objects no kept manifest names */
static int prune(struct repo *r, int verbose)
{
	char **snaps = NULL, err[1024], p[PATH_MAX + 96];
	int n = repo_snapshots(r, &snaps), rc = -1;
	time_t *t = calloc((size_t)(n > 0 ? n : 1), sizeof *t);
	int *keep = calloc((size_t)(n > 0 ? n : 1), sizeof *keep);
	json_object *live = json_object_new_object();
	if (n < 0 || !t || !keep) { fprintf(stderr, "rstream backup prune: cannot list snapshots\n"); goto out; }
	for (int i = 0; i < n; i++) t[i] = backup_stamp_parse(snaps[i]);
	backup_retention_select(t, n, time(NULL), (int)config_get_int("backup.keep_daily_days", 30),
				(int)config_get_int("backup.keep_weekly_days", 90), (int)config_get_int("backup.keep_monthly_days", 180), keep);
	for (int i = 0; i < n; i++) {
		if (keep[i]) continue;
		snprintf(p, sizeof p, "%s/snapshots/%s", r->dir, snaps[i]);
		if (video_rmtree(p) < 0) { fprintf(stderr, "rstream backup prune: cannot remove %s\n", p); goto out; }
		if (verbose) printf("removed snapshot %s\n", snaps[i]);
	}
	/* an object stays while any kept manifest names it; an unreadable manifest stops the sweep */
	for (int i = 0; i < n; i++) {
		if (!keep[i]) continue;
		json_object *m = manifest_read(r, snaps[i], err, sizeof err);
		if (!m) { fprintf(stderr, "rstream backup prune: snapshot %s: %s; objects kept\n", snaps[i], err); rc = 0; goto out; }
		json_object *f = json_object_object_get(m, "files");
		for (size_t k = 0; k < json_object_array_length(f); k++) {
			const char *o = jstr(json_object_array_get_idx(f, k), "object");
			if (o) json_object_object_add(live, o, NULL);
		}
		json_object_put(m);
	}
	snprintf(p, sizeof p, "%s/objects", r->dir);
	DIR *d = opendir(p);
	long removed = 0;
	struct dirent *e, *e2;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' && e->d_name[1] != 'n') continue;
		char sub[PATH_MAX + 128];
		snprintf(sub, sizeof sub, "%s/%s", p, e->d_name);
		if (!strncmp(e->d_name, ".new-", 5)) { unlink(sub); continue; }   /* left by a killed backup */
		DIR *d2 = opendir(sub);
		while (d2 && (e2 = readdir(d2))) {
			if (e2->d_name[0] == '.' || json_object_object_get_ex(live, e2->d_name, NULL)) continue;
			char f[PATH_MAX + 256];
			snprintf(f, sizeof f, "%s/%s", sub, e2->d_name);
			if (unlink(f) == 0) removed++;
		}
		if (d2) closedir(d2);
		rmdir(sub);   /* only if empty */
	}
	if (d) closedir(d);
	if (verbose) printf("removed %ld unreferenced objects\n", removed);
	rc = 0;
out:
	json_object_put(live);
	free(t);
	free(keep);
	free_list(snaps, n);
	return rc;
}

/* ---- verify and restore ---------------------------------------------------------------------- */

static const char *resolve_snapshot(struct repo *r, const char *want, char out[32], char *err, size_t errlen)
{
	char **snaps = NULL;
	int n = repo_snapshots(r, &snaps);
	const char *res = NULL;
	if (n <= 0) { snprintf(err, errlen, "no snapshot in %s/snapshots", r->dir); goto out; }
	if (!want || !strcmp(want, "latest")) { snprintf(out, 32, "%s", snaps[n - 1]); res = out; goto out; }
	for (int i = 0; i < n; i++)
		if (!strcmp(snaps[i], want)) { snprintf(out, 32, "%s", want); res = out; goto out; }
	snprintf(err, errlen, "no snapshot %s in %s/snapshots (rstream backup list)", want, r->dir);
out:
	free_list(snaps, n);
	return res;
}

/* Decrypt the snapshot into stage/ (NULL: check only). Every file's tag, size and sha256 is checked; the first
 * failure is reported in err and -1 returned. */
static int snapshot_check(struct repo *r, const char *snap, json_object *m, const char *stage, long long *bytes,
			  char *err, size_t errlen)
{
	char p[PATH_MAX + 96], op[PATH_MAX + 160], dst[PATH_MAX + 1200], sha[BACKUP_SHA_HEX];
	long long size;
	json_object *db = json_object_object_get(m, "database");
	*bytes = 0;
	if (!db || !jstr(db, "sha256")) { snprintf(err, errlen, "the manifest names no database dump"); return -1; }
	snprintf(p, sizeof p, "%s/snapshots/%s/db.dump.enc", r->dir, snap);
	int fd = -1;
	if (stage) {
		snprintf(dst, sizeof dst, "%s/db.dump", stage);
		fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) { snprintf(err, errlen, "%s: %s", dst, strerror(errno)); return -1; }
	}
	int rc = backup_decrypt_fd(r->key, p, fd, sha, &size, err, errlen);
	if (fd >= 0) close(fd);
	if (rc < 0) return -1;
	if (strcmp(sha, jstr(db, "sha256")) || size != jll(db, "size")) {
		snprintf(err, errlen, "database dump: sha256 %s does not match the manifest's %s", sha, jstr(db, "sha256"));
		return -1;
	}
	*bytes += size;
	json_object *files = json_object_object_get(m, "files");
	for (size_t i = 0; i < json_object_array_length(files); i++) {
		json_object *e = json_object_array_get_idx(files, i);
		const char *path = jstr(e, "path"), *want = jstr(e, "sha256"), *obj = jstr(e, "object");
		if (!backup_path_ok(path) || !want || !obj || strlen(obj) != 64 || strspn(obj, "0123456789abcdef") != 64) {
			snprintf(err, errlen, "manifest entry %zu is not valid", i);
			return -1;
		}
		object_path(r, obj, op, sizeof op);
		fd = -1;
		if (stage) {
			snprintf(dst, sizeof dst, "%s/files/%s", stage, path);
			char *slash = strrchr(dst, '/');
			*slash = 0;
			if (mkdir_p(dst) < 0) { snprintf(err, errlen, "%s: %s", dst, strerror(errno)); return -1; }
			*slash = '/';
			json_object *mo;
			int mode = json_object_object_get_ex(e, "mode", &mo) ? (json_object_get_int(mo) & 0777) : 0644;
			fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode ? mode : 0644);
			if (fd < 0) { snprintf(err, errlen, "%s: %s", dst, strerror(errno)); return -1; }
		}
		rc = backup_decrypt_fd(r->key, op, fd, sha, &size, err, errlen);
		if (fd >= 0) close(fd);
		if (rc < 0) {
			size_t l = strlen(err);
			snprintf(err + l, errlen - l, " (media file %s)", path);
			return -1;
		}
		if (strcmp(sha, want) || size != jll(e, "size")) {
			snprintf(err, errlen, "media file %s: sha256 %s does not match the manifest's %s", path, sha, want);
			return -1;
		}
		*bytes += size;
	}
	return 0;
}

static int cmd_verify(const char *want)
{
	struct repo r;
	char err[2048], snap[32];
	int rc = 1;
	json_object *m = NULL;
	long long bytes = 0;
	if (repo_open(&r, 0, err, sizeof err) < 0) { fprintf(stderr, "rstream backup verify: %s\n", err); return 1; }
	if (!resolve_snapshot(&r, want, snap, err, sizeof err)) { fprintf(stderr, "rstream backup verify: %s\n", err); goto out; }
	if (!(m = manifest_read(&r, snap, err, sizeof err)) || snapshot_check(&r, snap, m, NULL, &bytes, err, sizeof err) < 0) {
		fprintf(stderr, "rstream backup verify: snapshot %s is CORRUPTED: %s\n", snap, err);
		goto out;
	}
	printf("snapshot %s: database and %zu media files verified (%lld bytes)\n", snap,
	       json_object_array_length(json_object_object_get(m, "files")), bytes);
	rc = 0;
out:
	json_object_put(m);
	repo_close(&r);
	return rc;
}

static int cmd_list(void)
{
	struct repo r;
	char err[1024], **snaps = NULL;
	if (repo_open(&r, 0, err, sizeof err) < 0) { fprintf(stderr, "rstream backup list: %s\n", err); return 1; }
	int n = repo_snapshots(&r, &snaps);
	for (int i = 0; i < n; i++) {
		json_object *m = manifest_read(&r, snaps[i], err, sizeof err);
		if (!m) { printf("%s  unreadable: %s\n", snaps[i], err); continue; }
		json_object *f = json_object_object_get(m, "files");
		long long bytes = 0;
		for (size_t k = 0; k < json_object_array_length(f); k++) bytes += jll(json_object_array_get_idx(f, k), "size");
		printf("%s  database %lld bytes  %zu files %lld bytes\n", snaps[i], jll(json_object_object_get(m, "database"), "size"),
		       json_object_array_length(f), bytes);
		json_object_put(m);
	}
	free_list(snaps, n);
	repo_close(&r);
	return n < 0 ? 1 : 0;
}

static int db_table_count(void)
{
	PGresult *res = db_exec("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", 0, NULL);
	int n = res && PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : -1;
	PQclear(res);
	return n;
}

int restore_main(int argc, char **argv)
{
	static struct option opts[] = {{"force", 0, 0, 'f'}, {0, 0, 0, 0}};
	int force = 0, c, rc = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f') force = 1;
		else { fputs("usage: rstream restore [SNAPSHOT|latest] [--force]\n", stderr); return 2; }
	}
	const char *want = optind < argc ? argv[optind] : NULL;
	struct repo r;
	char err[2048], snap[32], stage[PATH_MAX + 64] = "";
	json_object *m = NULL;
	double t0 = now_s();
	if (repo_open(&r, 0, err, sizeof err) < 0) { fprintf(stderr, "rstream restore: %s\n", err); return 1; }
	if (!resolve_snapshot(&r, want, snap, err, sizeof err)) { fprintf(stderr, "rstream restore: %s\n", err); goto out; }
	if (db_connect(cfg.database_url) < 0) { fprintf(stderr, "rstream restore: cannot connect to the database (DATABASE_URL): %s\n", db_error()); goto out; }
	int tables = db_table_count();
	if (tables < 0) { fprintf(stderr, "rstream restore: %s\n", db_error()); goto out; }
	if (tables > 0 && !force) {
		fprintf(stderr, "rstream restore: the database already has %d tables; restore onto an empty database, "
			"or pass --force to replace its contents\n", tables);
		goto out;
	}
	db_close();
	/* staging inside the data directory: the final moves are renames on one file system */
	char tmpdir[PATH_MAX + 16];
	snprintf(tmpdir, sizeof tmpdir, "%s/tmp", cfg.data_dir);
	if (mkdir_p(tmpdir) < 0) { fprintf(stderr, "rstream restore: %s: %s\n", tmpdir, strerror(errno)); goto out; }
	snprintf(stage, sizeof stage, "%s/restore-XXXXXX", tmpdir);
	if (!mkdtemp(stage)) { fprintf(stderr, "rstream restore: %s: %s\n", stage, strerror(errno)); stage[0] = 0; goto out; }

	/* 1. everything decrypted and checked before the database or the media are touched */
	long long bytes = 0;
	if (!(m = manifest_read(&r, snap, err, sizeof err)) || snapshot_check(&r, snap, m, stage, &bytes, err, sizeof err) < 0) {
		fprintf(stderr, "rstream restore: backup %s is CORRUPTED, nothing was restored: %s\n", snap, err);
		goto out;
	}
	double t_check = now_s();

	/* 2. the database, in one transaction: a failure leaves it as it was */
	char dump[PATH_MAX + 80];
	snprintf(dump, sizeof dump, "%s/db.dump", stage);
	char *pargv[16];
	int k = 0;
	pargv[k++] = "pg_restore"; pargv[k++] = "--single-transaction"; pargv[k++] = "--exit-on-error";
	pargv[k++] = "--no-owner"; pargv[k++] = "--no-privileges";
	if (force) { pargv[k++] = "--clean"; pargv[k++] = "--if-exists"; }
	pargv[k++] = "--dbname"; pargv[k++] = (char *)cfg.database_url; pargv[k++] = dump; pargv[k] = NULL;
	pid_t pid = spawn(pargv, -1, -1, -1);
	if (pid < 0 || wait_ok(pid) < 0) {
		fprintf(stderr, "rstream restore: pg_restore failed (its message is above); the database was left as it was, the media untouched\n");
		goto out;
	}
	double t_db = now_s();

	/* 3. the media: renames from the staging tree */
	json_object *files = json_object_object_get(m, "files");
	char src[PATH_MAX + 1200], dst[PATH_MAX + 1200];
	for (size_t i = 0; i < json_object_array_length(files); i++) {
		const char *path = jstr(json_object_array_get_idx(files, i), "path");
		snprintf(src, sizeof src, "%s/files/%s", stage, path);
		snprintf(dst, sizeof dst, "%s/%s", cfg.data_dir, path);
		char *slash = strrchr(dst, '/');
		*slash = 0;
		int ok = mkdir_p(dst) == 0;
		*slash = '/';
		if (!ok || rename(src, dst) < 0) {
			fprintf(stderr, "rstream restore: %s: %s (database restored; run the restore again with --force)\n", dst, strerror(errno));
			goto out;
		}
	}
	double t1 = now_s();
	printf("restored snapshot %s: %lld bytes verified (%.1f s), database (%.1f s), %zu media files (%.1f s); total %.1f s\n",
	       snap, bytes, t_check - t0, t_db - t_check, json_object_array_length(files), t1 - t_db, t1 - t0);
	rc = 0;
out:
	if (stage[0]) video_rmtree(stage);
	json_object_put(m);
	repo_close(&r);
	return rc;
}

int backup_main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "run";
	if (!strcmp(sub, "run")) return backup_run();
	if (!strcmp(sub, "list")) return cmd_list();
	if (!strcmp(sub, "verify")) return cmd_verify(argc > 2 ? argv[2] : NULL);
	if (!strcmp(sub, "prune")) {
		struct repo r;
		char err[1024];
		if (repo_open(&r, 0, err, sizeof err) < 0) { fprintf(stderr, "rstream backup prune: %s\n", err); return 1; }
		int rc = prune(&r, 1) < 0 ? 1 : 0;
		repo_close(&r);
		return rc;
	}
	fputs("usage: rstream backup [run|list|verify [SNAPSHOT]|prune]\n", stderr);
	return 2;
}
