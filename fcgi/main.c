/* rstream: one binary, many subcommands (fcgi, worker, migrate, seed, user, import, export, …). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "auth.h"
#include "backup.h"
#include "cache.h"
#include "config.h"
#include "i18n.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "server.h"
#include "signin_cards.h"
#include "users.h"
#include "video_hls_check.h"

/* entry points of the area modules */
int roster_cli_import(int argc, char **argv);   /* roster_cli.c */
int roster_cli_export(int argc, char **argv);
int video_seed_demo(void);                       /* video_seed.c */
int learn_seed_demo(void);                       /* learn_seed.c */
int doctor_main(int argc, char **argv);          /* doctor.c */

static void usage(void)
{
	fputs("usage: rstream <command> [options]\n"
	      "  fcgi                       run the FastCGI master and pre-forked workers\n"
	      "  worker [--once]            run background jobs\n"
	      "  migrate                    apply sql/NNN_*.sql migrations\n"
	      "  seed                       load demo data (idempotent)\n"
	      "  user add --email E --name N --role R [--password P]\n"
	      "  user passwd --email E [--password P]\n"
	      "  user list\n"
	      "  user exists --email E       exit 0 if the account exists, 1 if not, 2 on error\n"
	      "  user code (--email E | --username U) [--days N]   print a new login-card code\n"
	      "  import FILE [--dry-run]    import a OneRoster CSV bundle (zip) or a single CSV\n"
	      "  export [--since T] OUT.zip export a OneRoster bundle\n"
	      "  enqueue KIND [JSON]        queue a job\n"
	      "  hls-check [--secret-file F] verdicts on signed HLS links, one per stdin line (Apache RewriteMap)\n"
	      "  backup [run|list|verify [S]|prune]   encrypted database + media snapshot (backup.dir, backup.key_file)\n"
	      "  restore [SNAPSHOT|latest] [--force]   verify every checksum, then restore database and media\n"
	      "  doctor [--cert FILE]       check this host (config, database, Redis, ffmpeg, disk, clock, TLS, backups)\n", stderr);
}

static int need_db(void)
{
	if (db_connect(cfg.database_url) < 0) {
		fprintf(stderr, "rstream: cannot connect to the database (DATABASE_URL): %s\n", db_error());
		return -1;
	}
	return 0;
}

static int cmd_user(int argc, char **argv)
{
	if (argc < 2) { usage(); return 2; }
	const char *sub = argv[1], *email = NULL, *name = NULL, *role = "viewer", *password = NULL;
	static struct option opts[] = {{"email", 1, 0, 'e'}, {"name", 1, 0, 'n'}, {"role", 1, 0, 'r'},
				       {"password", 1, 0, 'p'}, {"username", 1, 0, 'u'}, {"days", 1, 0, 'd'}, {0, 0, 0, 0}};
	const char *username = NULL;
	int days = 30;
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'e') email = optarg;
		else if (c == 'n') name = optarg;
		else if (c == 'r') role = optarg;
		else if (c == 'p') password = optarg;
		else if (c == 'u') username = optarg;
		else if (c == 'd') days = atoi(optarg);
		else { usage(); return 2; }
	}
	int exists = !strcmp(sub, "exists");
	if (need_db() < 0) return exists ? 2 : 1;
	i18n_load(config_path("conf/i18n"));   /* error messages are catalog keys */
	if (!strcmp(sub, "list")) return users_cli_list();
	if (!strcmp(sub, "code")) {
		if ((!email == !username) || days < 1 || days > 366) { usage(); return 2; }
		return signin_cards_cli(email, username, days);
	}
	if (!email) { fputs("rstream user: --email is required\n", stderr); return 2; }
	/* one indexed query: scripts ask this instead of scanning `user list` (SIGPIPE under pipefail) */
	if (exists) {
		int e = users_exists(email);
		if (e < 0) fprintf(stderr, "rstream user exists: %s\n", db_error());
		return e < 0 ? 2 : e ? 0 : 1;
	}
	char generated[33];
	if (!password) { random_hex(generated, 8); password = generated; }
	char err[256];
	if (!strcmp(sub, "add")) {
		long id = users_create(email, name ? name : email, role, password, err, sizeof err);
		if (id < 0) { fprintf(stderr, "rstream user add: %s\n", i18n_get("en", err)); return 1; }
	} else if (!strcmp(sub, "passwd")) {
		if (users_set_password_by_email(email, password, err, sizeof err) < 0) {
			fprintf(stderr, "rstream user passwd: %s\n", i18n_get("en", err));
			return 1;
		}
	} else { usage(); return 2; }
	if (password == generated) printf("%s\n", generated);
	return 0;
}

static int cmd_seed(void)
{
	if (need_db() < 0) return 1;
	cache_connect(cfg.redis_url);
	int rc = users_seed_demo();
	if (rc == 0) rc = video_seed_demo();
	if (rc == 0) rc = learn_seed_demo();
	if (rc) fputs("rstream seed: failed (see log)\n", stderr);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) { usage(); return argc < 2 ? 2 : 0; }
	const char *cmd = argv[1];
	log_init(cmd);
	/* Apache starts this helper with its own environment: a secret file is all it needs */
	if (!strcmp(cmd, "hls-check") && argc > 2) return video_hls_check_main(argc - 1, argv + 1);
	char err[512];
	if (config_load(NULL, err, sizeof err) < 0) {
		fprintf(stderr, "rstream: configuration error: %s\n", err);
		return 2;
	}
	/* the long-running processes write the log streams; a one-off command keeps talking to its terminal */
	if (!strcmp(cmd, "fcgi") || !strcmp(cmd, "worker")) {
		if (log_open(config_get("log.dir", NULL), err, sizeof err) < 0) {
			fprintf(stderr, "rstream: configuration error: %s\n", err);
			return 2;
		}
	}
	if (!strcmp(cmd, "fcgi")) return server_main();
	if (!strcmp(cmd, "migrate")) {
		if (need_db() < 0) return 1;
		return db_migrate(config_path("sql"), 1) < 0 ? 1 : 0;
	}
	if (!strcmp(cmd, "worker")) {
		if (need_db() < 0) return 1;
		cache_connect(cfg.redis_url);
		if (argc > 2 && !strcmp(argv[2], "--once")) return jobs_run_one() < 0 ? 1 : 0;
		return jobs_worker_main();
	}
	if (!strcmp(cmd, "seed")) return cmd_seed();
	if (!strcmp(cmd, "backup")) return backup_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "restore")) return restore_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "doctor")) return doctor_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "hls-check")) return video_hls_check_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "user")) return cmd_user(argc - 1, argv + 1);
	if (!strcmp(cmd, "enqueue")) {
		if (argc < 3) { usage(); return 2; }
		if (need_db() < 0) return 1;
		json_object *p = argc > 3 ? json_tokener_parse(argv[3]) : json_object_new_object();
		if (!p) { fputs("rstream enqueue: payload is not JSON\n", stderr); return 2; }
		long id = job_enqueue(argv[2], p, 0);
		json_object_put(p);
		if (id < 0) return 1;
		printf("%ld\n", id);
		return 0;
	}
	if (!strcmp(cmd, "import") || !strcmp(cmd, "export")) {
		int (*fn)(int, char **) = !strcmp(cmd, "import") ? roster_cli_import : roster_cli_export;
		if (need_db() < 0) return 1;
		cache_connect(cfg.redis_url);
		return fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "rstream: unknown command '%s'\n", cmd);
	usage();
	return 2;
}
