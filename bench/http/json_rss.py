#!/usr/bin/env python3
"""Worker memory after hostile JSON (issue 7, finding 1): sends the finding's 1 MB array of 349,000 empty
objects to POST /api/v1/auth/login (six times, as the tester did) and the largest body each JSON route admits,
then reads VmRSS of every FastCGI worker. Used by bench/http/json_rss.sh; prints one table row per worker
and exits 1 when a worker is at or above the limit.
Usage: json_rss.py BASE_URL FCGI_PID_FILE TOKEN [LIMIT_MB]"""
import http.client
import sys
import urllib.parse

base, pidfile, token = sys.argv[1], sys.argv[2], sys.argv[3]
limit_mb = float(sys.argv[4]) if len(sys.argv) > 4 else 32.0
u = urllib.parse.urlsplit(base)


def send(method, path, body, auth=False):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    h = {"Content-Type": "application/json"}
    if auth:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def workers():
    master = open(pidfile).read().split()[0]
    return [int(p) for p in open("/proc/%s/task/%s/children" % (master, master)).read().split()]


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def worst(max_values):
    # just under 1 MB and the value cap, every value a long string (json-c holds the whole megabyte)
    keys = (max_values - 1) // 2
    per = (1000 * 1000 - 64) // keys - 12
    return ("{" + ",".join('"k%04d":"%s"' % (k, "x" * per) for k in range(keys)) + "}").encode()


for _ in range(8):
    send("POST", "/api/v1/auth/login", b"{}")
before = {p: rss_kib(p) for p in workers()}
bomb = ("[" + ",".join(["{}"] * 349000) + "]").encode()
codes = [send("POST", "/api/v1/auth/login", bomb) for _ in range(6)]
big, small = worst(2000), worst(32)
# anonymous JSON surfaces and an authenticated one, each several times so every worker gets some
for _ in range(4):
    codes.append(send("POST", "/api/v1/auth/login", small))
    codes.append(send("PUT", "/ims/oneroster/rostering/v1p2/users/none", big))
    codes.append(send("POST", "/lang", big))
    codes.append(send("PUT", "/api/v1/videos/0000000000000000", big, auth=True))
    codes.append(send("POST", "/api/v1/videos/0000000000000000/position", big, auth=True))
after = {p: rss_kib(p) for p in workers()}
bad = 0
for p in sorted(after):
    mb = after[p] / 1024.0
    print("| %d | %.1f | %.1f | %s |" % (p, before.get(p, -1) / 1024.0, mb, "ok" if mb < limit_mb else "OVER"))
    bad += mb >= limit_mb
print("status codes:", " ".join(sorted(set(map(str, codes)))), file=sys.stderr)
sys.exit(1 if bad or any(c >= 500 for c in codes) else 0)
