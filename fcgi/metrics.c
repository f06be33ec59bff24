/* Prometheus metrics shared by all pre-forked workers: a fixed table in an anonymous shared mapping
 * made before fork. Inserts take a spinlock; increments are lock-free atomics. */
#include "metrics.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_SERIES 1024
#define NBUCKETS 11
static const double bucket_le[NBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};

enum kind { K_COUNTER = 1, K_HIST = 2 };
struct series {
	int kind;
	char name[64];
	char labels[160];
	uint64_t value_micro;              /* counters: value × 1e6, histograms: sum of seconds × 1e6 */
	uint64_t count;
	uint64_t buckets[NBUCKETS];
};
struct shm { volatile int lock; int n; struct series s[MAX_SERIES]; };
static struct shm *shm;

int metrics_init(void)
{
	if (shm) return 0;
	void *p = mmap(NULL, sizeof *shm, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) return -1;
	shm = p;
	return 0;
}

static struct series *find(int kind, const char *name, const char *labels)
{
	if (!shm && metrics_init() < 0) return NULL;
	int n = __atomic_load_n(&shm->n, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++)
		if (shm->s[i].kind == kind && !strcmp(shm->s[i].name, name) && !strcmp(shm->s[i].labels, labels))
			return &shm->s[i];
	while (__atomic_test_and_set(&shm->lock, __ATOMIC_ACQUIRE)) ;
	struct series *s = NULL;
	for (int i = n; i < shm->n; i++)     /* someone may have added it meanwhile */
		if (shm->s[i].kind == kind && !strcmp(shm->s[i].name, name) && !strcmp(shm->s[i].labels, labels))
			s = &shm->s[i];
	if (!s && shm->n < MAX_SERIES) {
		s = &shm->s[shm->n];
		s->kind = kind;
		snprintf(s->name, sizeof s->name, "%s", name);
		snprintf(s->labels, sizeof s->labels, "%s", labels);
		__atomic_store_n(&shm->n, shm->n + 1, __ATOMIC_RELEASE);
	}
	__atomic_clear(&shm->lock, __ATOMIC_RELEASE);
	return s;
}

/* label values come from our route table and status codes, but escape anyway */
static void label_value(char *out, size_t n, const char *v)
{
	size_t o = 0;
	for (; *v && o + 2 < n; v++) {
		if (*v == '"' || *v == '\\') out[o++] = '\\';
		out[o++] = *v == '\n' ? ' ' : *v;
	}
	out[o] = 0;
}

void metrics_request(const char *method, const char *route, int status, double seconds)
{
	char m[16], r[100], labels[160];
	/* the method comes from the client: an unknown one must not add a series (the table is fixed and shared) */
	static const char *known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
	const char *mv = "OTHER";
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (method && !strcmp(method, known[i])) mv = known[i];
	label_value(m, sizeof m, mv);
	label_value(r, sizeof r, route);
	snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\",status=\"%d\"", m, r, status);
	struct series *s = find(K_COUNTER, "http_requests_total", labels);
	if (s) __atomic_fetch_add(&s->value_micro, 1000000, __ATOMIC_RELAXED);
	snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\"", m, r);
	s = find(K_HIST, "http_request_duration_seconds", labels);
	if (!s) return;
	__atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->value_micro, (uint64_t)(seconds * 1e6), __ATOMIC_RELAXED);
	for (int i = 0; i < NBUCKETS; i++)
		if (seconds <= bucket_le[i]) __atomic_fetch_add(&s->buckets[i], 1, __ATOMIC_RELAXED);
}

void metrics_inc(const char *name, const char *labels, double by)
{
	struct series *s = find(K_COUNTER, name, labels ? labels : "");
	if (s) __atomic_fetch_add(&s->value_micro, (uint64_t)(by * 1e6), __ATOMIC_RELAXED);
}

void metrics_render(buf *out)
{
	if (!shm) return;
	int n = __atomic_load_n(&shm->n, __ATOMIC_ACQUIRE);
	/* Prometheus wants each family's samples together, after one TYPE line */
	for (int f = 0; f < n; f++) {
		int first = 1;
		for (int k = 0; k < f && first; k++) first = strcmp(shm->s[k].name, shm->s[f].name) != 0;
		if (!first) continue;
		buf_printf(out, "# TYPE %s %s\n", shm->s[f].name, shm->s[f].kind == K_HIST ? "histogram" : "counter");
		for (int i = f; i < n; i++) {
			struct series *s = &shm->s[i];
			if (strcmp(s->name, shm->s[f].name)) continue;
			if (s->kind == K_COUNTER) {
				buf_printf(out, "%s%s%s%s %.6g\n", s->name, *s->labels ? "{" : "", s->labels, *s->labels ? "}" : "",
					   (double)__atomic_load_n(&s->value_micro, __ATOMIC_RELAXED) / 1e6);
				continue;
			}
			for (int b = 0; b < NBUCKETS; b++)
				buf_printf(out, "%s_bucket{%s,le=\"%g\"} %llu\n", s->name, s->labels, bucket_le[b],
					   (unsigned long long)__atomic_load_n(&s->buckets[b], __ATOMIC_RELAXED));
			unsigned long long cnt = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
			buf_printf(out, "%s_bucket{%s,le=\"+Inf\"} %llu\n", s->name, s->labels, cnt);
			buf_printf(out, "%s_sum{%s} %.6f\n", s->name, s->labels,
				   (double)__atomic_load_n(&s->value_micro, __ATOMIC_RELAXED) / 1e6);
			buf_printf(out, "%s_count{%s} %llu\n", s->name, s->labels, cnt);
		}
	}
}
