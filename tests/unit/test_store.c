/* jit/store on real database files in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "jit/store.h"

struct fixture {
	char dir[64];
	char path[96];
	char err[512];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/wssd.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct store *open_ok(struct fixture *f)
{
	struct store *s;
	int ret = store_open(&s, f->path, f->err, sizeof(f->err));

	if (ret < 0)
		fprintf(stderr, "store_open: %s\n", f->err);
	assert_int_equal(ret, 0);
	return s;
}

/* Runs SQL on the file with SQLite directly, behind the store's back. */
static void raw_sql(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		fail();
	}
	sqlite3_close(db);
}

static int raw_int(const char *path, const char *sql)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	int v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void make_peer(struct jit_peer *p, uint8_t v, const char *ip1, const char *ip2)
{
	struct wg_allowedip ip;

	memset(p, 0, sizeof(*p));
	memset(p->public_key, v, WG_KEY_LEN);
	assert_int_equal(allowedip_parse(ip1, &ip), 0);
	assert_int_equal(jit_peer_add_allowedip(p, &ip), 0);
	if (ip2) {
		assert_int_equal(allowedip_parse(ip2, &ip), 0);
		assert_int_equal(jit_peer_add_allowedip(p, &ip), 0);
	}
}

static void assert_peer_equal(const struct jit_peer *a, const struct jit_peer *b)
{
	assert_memory_equal(a->public_key, b->public_key, WG_KEY_LEN);
	assert_int_equal(a->has_preshared_key, b->has_preshared_key);
	if (a->has_preshared_key)
		assert_memory_equal(a->preshared_key, b->preshared_key, WG_KEY_LEN);
	assert_int_equal(a->has_keepalive, b->has_keepalive);
	assert_int_equal(a->persistent_keepalive, b->persistent_keepalive);
	assert_int_equal(a->n_allowedips, b->n_allowedips);
	assert_memory_equal(a->allowedips, b->allowedips, a->n_allowedips * sizeof(*a->allowedips));
}

static void test_create_and_migrate(void **state)
{
	struct fixture *f = *state;
	struct store *s;
	struct stat st;
	int fd;

	s = open_ok(f);
	store_close(s);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
					  " AND name IN ('registry', 'cache', 'ratelimit',"
					  " 'installed', 'events', 'backoff')"),
			 6);
	assert_int_equal(raw_int(f->path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"),
			 1);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Opening again migrates nothing and keeps the version. */
	s = open_ok(f);
	store_close(s);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);

	/* An empty file (as touch leaves it) is a new database. */
	assert_int_equal(unlink(f->path), 0);
	fd = open(f->path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	s = open_ok(f);
	store_close(s);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
}

/* A version-1 database (before the backoff table) is brought up to date, data kept. */
static void test_migrate_from_v1(void **state)
{
	struct fixture *f = *state;
	struct jit_peer p, got;
	uint8_t key[WG_KEY_LEN];
	struct store *s;
	int64_t until;

	s = open_ok(f);
	make_peer(&p, 5, "10.5.0.0/16", NULL);
	assert_int_equal(store_registry_put(s, &p), 0);
	store_close(s);
	raw_sql(f->path, "DROP TABLE backoff; PRAGMA user_version = 1");

	s = open_ok(f);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 2);
	assert_int_equal(store_registry_get(s, p.public_key, &got), 0);
	assert_peer_equal(&p, &got);
	memset(key, 5, sizeof(key));
	assert_int_equal(store_backoff_get(s, key, &until), -ENOENT);
	assert_int_equal(store_backoff_set(s, key, 1234), 0);
	assert_int_equal(store_backoff_get(s, key, &until), 0);
	assert_int_equal(until, 1234);
	assert_int_equal(store_prune(s, 1233, 0), 0);
	assert_int_equal(store_backoff_get(s, key, &until), 0);
	assert_int_equal(store_prune(s, 1234, 0), 0);
	assert_int_equal(store_backoff_get(s, key, &until), -ENOENT);
	store_close(s);
	jit_peer_clear(&p);
	jit_peer_clear(&got);
}

static int count_peer(void *ctx, const struct jit_peer *peer, int64_t added_at)
{
	int *n = ctx;

	assert_true(added_at > 1600000000);
	assert_true(peer->n_allowedips > 0);
	(*n)++;
	return 0;
}

static void test_registry(void **state)
{
	struct fixture *f = *state;
	struct jit_peer p[3], got;
	struct store *s = open_ok(f);
	int n = 0;

	make_peer(&p[0], 1, "10.0.0.1/32", "fd00::1/128");
	make_peer(&p[1], 2, "10.0.0.2/32", NULL);
	p[1].has_keepalive = true;
	p[1].persistent_keepalive = 25;
	p[1].has_preshared_key = true;
	memset(p[1].preshared_key, 0xab, WG_KEY_LEN);
	make_peer(&p[2], 3, "0.0.0.0/0", "::/0");

	assert_int_equal(store_registry_get(s, p[0].public_key, &got), -ENOENT);
	assert_int_equal(store_registry_put_many(s, p, 3), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_registry_get(s, p[i].public_key, &got), 0);
		assert_peer_equal(&p[i], &got);
		jit_peer_clear(&got);
	}
	assert_int_equal(store_registry_foreach(s, count_peer, &n), 0);
	assert_int_equal(n, 3);

	/* put replaces */
	p[0].has_keepalive = true;
	p[0].persistent_keepalive = 0;
	assert_int_equal(store_registry_put(s, &p[0]), 0);
	assert_int_equal(store_registry_get(s, p[0].public_key, &got), 0);
	assert_peer_equal(&p[0], &got);
	jit_peer_clear(&got);

	assert_int_equal(store_registry_remove(s, p[1].public_key), 0);
	assert_int_equal(store_registry_remove(s, p[1].public_key), -ENOENT);
	assert_int_equal(store_registry_get(s, p[1].public_key, &got), -ENOENT);
	n = 0;
	assert_int_equal(store_registry_foreach(s, count_peer, &n), 0);
	assert_int_equal(n, 2);
	store_close(s);
	for (int i = 0; i < 3; i++)
		jit_peer_clear(&p[i]);
}

static void test_cache_survives_restart(void **state)
{
	struct fixture *f = *state;
	struct store_cache_entry e;
	uint8_t neg[WG_KEY_LEN];
	struct jit_peer p;
	struct store *s = open_ok(f);

	make_peer(&p, 7, "10.7.0.0/24", NULL);
	p.has_keepalive = true;
	p.persistent_keepalive = 15;
	memset(neg, 8, sizeof(neg));
	assert_int_equal(store_cache_get(s, p.public_key, &e), -ENOENT);
	assert_int_equal(store_cache_put(s, p.public_key, &p, 1000, 1300), 0);
	assert_int_equal(store_cache_put(s, neg, NULL, 1000, 1060), 0);
	store_close(s);

	s = open_ok(f);
	assert_int_equal(store_cache_get(s, p.public_key, &e), 0);
	assert_false(e.negative);
	assert_int_equal(e.fetched_at, 1000);
	assert_int_equal(e.expires_at, 1300);
	assert_peer_equal(&p, &e.peer);
	jit_peer_clear(&e.peer);
	assert_int_equal(store_cache_get(s, neg, &e), 0);
	assert_true(e.negative);
	assert_int_equal(e.expires_at, 1060);
	assert_int_equal(e.peer.n_allowedips, 0);

	/* A negative answer replaces a positive one. */
	assert_int_equal(store_cache_put(s, p.public_key, NULL, 2000, 2060), 0);
	assert_int_equal(store_cache_get(s, p.public_key, &e), 0);
	assert_true(e.negative);

	/* Pruning keeps what expired less than keep_stale ago. */
	assert_int_equal(store_prune(s, 1070, 10), 0);
	assert_int_equal(store_cache_get(s, neg, &e), 0);
	assert_int_equal(store_prune(s, 1071, 10), 0);
	assert_int_equal(store_cache_get(s, neg, &e), -ENOENT);
	assert_int_equal(store_cache_get(s, p.public_key, &e), 0);
	store_close(s);
	jit_peer_clear(&p);
}

static void test_ratelimit_survives_restart(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_ok(f);
	double t = 1e9;

	/* 3 per minute: a full bucket of 3, then one more every 20 s. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_ratelimit_take(s, "k", 3 / 60.0, 3, t), 1);
	assert_int_equal(store_ratelimit_take(s, "k", 3 / 60.0, 3, t), 0);
	assert_int_equal(store_ratelimit_take(s, "other", 3 / 60.0, 3, t), 1);
	store_close(s);

	s = open_ok(f);
	assert_int_equal(store_ratelimit_take(s, "k", 3 / 60.0, 3, t + 1), 0);
	assert_int_equal(store_ratelimit_take(s, "k", 3 / 60.0, 3, t + 21), 1);
	assert_int_equal(store_ratelimit_take(s, "k", 3 / 60.0, 3, t + 21), 0);
	/* Refill stops at the burst. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_ratelimit_take(s, "k", 3 / 60.0, 3, t + 10000), 1);
	assert_int_equal(store_ratelimit_take(s, "k", 3 / 60.0, 3, t + 10000), 0);
	/* A clock that goes back refills nothing. */
	assert_int_equal(store_ratelimit_take(s, "k", 3 / 60.0, 3, t), 0);
	assert_int_equal(store_ratelimit_take(s, "k", 3 / 60.0, 3, t), 0);
	assert_int_equal(store_ratelimit_take(s, "k", 1, 0.5, t), -EINVAL);
	/* All or nothing: an empty bucket takes nothing from the others. */
	{
		struct store_bucket b[2] = { { "a", 0, 2 }, { "b", 0, 1 } };
		size_t empty = 99;

		assert_int_equal(store_ratelimit_take_all(s, b, 2, t + 5000, &empty), 1);
		assert_int_equal(store_ratelimit_take_all(s, b, 2, t + 5000, &empty), 0);
		assert_int_equal(empty, 1);
		assert_int_equal(store_ratelimit_take(s, "a", 0, 2, t + 5000), 1);
		assert_int_equal(store_ratelimit_take(s, "a", 0, 2, t + 5000), 0);
		assert_int_equal(store_ratelimit_take_all(s, b, 0, t, NULL), -EINVAL);
	}
	/* Pruning forgets buckets idle for an hour ("other"), not the rest. */
	assert_int_equal(store_ratelimit_take(s, "k", 3 / 60.0, 3, t + 5000), 1);
	assert_int_equal(store_prune(s, (int64_t)t + 5100, 0), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM ratelimit WHERE bucket = 'k'"), 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM ratelimit"), 3);
	store_close(s);
}

struct events_seen {
	unsigned n;
	char first[64], last[64];
	char first_key[WG_KEY_B64_LEN];
};

struct installed_seen {
	int n;
	struct store_installed rows[4];
};

static int collect_installed(void *ctx, const struct store_installed *row)
{
	struct installed_seen *seen = ctx;

	assert_true(seen->n < 4);
	seen->rows[seen->n++] = *row;
	return 0;
}

static void test_installed(void **state)
{
	struct fixture *f = *state;
	struct store_installed a = { .via = STORE_VIA_WS, .installed_at = 100, .last_seen = 100 };
	struct store_installed b = { .via = STORE_VIA_UDP, .installed_at = 200, .last_seen = 250 };
	struct installed_seen seen = { 0 };
	struct store *s = open_ok(f);

	memset(a.public_key, 1, WG_KEY_LEN);
	memset(b.public_key, 2, WG_KEY_LEN);
	snprintf(b.endpoint, sizeof(b.endpoint), "[2001:db8::1]:51820");
	assert_int_equal(store_installed_put(s, &a), 0);
	assert_int_equal(store_installed_put(s, &b), 0);
	assert_int_equal(store_installed_touch(s, a.public_key, 500), 0);
	store_close(s);

	s = open_ok(f);
	assert_int_equal(store_installed_foreach(s, collect_installed, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.rows[0].via, STORE_VIA_WS);
	assert_int_equal(seen.rows[0].last_seen, 500);
	assert_string_equal(seen.rows[0].endpoint, "");
	assert_int_equal(seen.rows[1].via, STORE_VIA_UDP);
	assert_string_equal(seen.rows[1].endpoint, "[2001:db8::1]:51820");
	assert_int_equal(seen.rows[1].installed_at, 200);
	assert_int_equal(store_installed_remove(s, a.public_key), 0);
	assert_int_equal(store_installed_remove(s, a.public_key), -ENOENT);
	assert_int_equal(store_installed_touch(s, a.public_key, 600), -ENOENT);
	seen.n = 0;
	assert_int_equal(store_installed_foreach(s, collect_installed, &seen), 0);
	assert_int_equal(seen.n, 1);
	store_close(s);
}


static int collect_event(void *ctx, const struct store_event *ev)
{
	struct events_seen *seen = ctx;

	if (seen->n == 0) {
		snprintf(seen->first, sizeof(seen->first), "%s %s", ev->event, ev->detail);
		snprintf(seen->first_key, sizeof(seen->first_key), "%s", ev->public_key);
	}
	snprintf(seen->last, sizeof(seen->last), "%s %s", ev->event, ev->detail);
	assert_true(ev->at > 1600000000);
	seen->n++;
	return 0;
}

/* Rows and their events in one go; a row already gone is no error. */
static void test_installed_remove_many(void **state)
{
	struct fixture *f = *state;
	struct store_installed row = { .via = STORE_VIA_UDP, .installed_at = 100, .last_seen = 100 };
	uint8_t keys[3][WG_KEY_LEN];
	const char *events[3] = { "evicted", "gone", "evicted" };
	const char *details[3] = { "reason=idle", "no longer on the device", "reason=operator" };
	struct installed_seen seen = { 0 };
	struct events_seen ev = { 0 };
	struct store *s = open_ok(f);

	for (int i = 0; i < 3; i++) {
		memset(keys[i], 0x30 + i, WG_KEY_LEN);
		memcpy(row.public_key, keys[i], WG_KEY_LEN);
		if (i < 2)
			assert_int_equal(store_installed_put(s, &row), 0);
	}
	memset(row.public_key, 0x40, WG_KEY_LEN);
	assert_int_equal(store_installed_put(s, &row), 0);
	assert_int_equal(store_installed_remove_many(s, (const uint8_t (*)[WG_KEY_LEN])keys, events,
						     details, 3), 0);
	assert_int_equal(store_installed_foreach(s, collect_installed, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_memory_equal(seen.rows[0].public_key, row.public_key, WG_KEY_LEN);
	assert_int_equal(store_event_foreach(s, NULL, 0, collect_event, &ev), 0);
	assert_int_equal(ev.n, 3);
	assert_string_equal(ev.first, "evicted reason=operator");
	assert_string_equal(ev.last, "evicted reason=idle");
	store_close(s);
}

static void test_events_bounded(void **state)
{
	struct fixture *f = *state;
	struct events_seen seen = { 0 };
	uint8_t key[WG_KEY_LEN];
	char detail[32];
	struct store *s = open_ok(f);
	const unsigned extra = 25;

	memset(key, 9, sizeof(key));
	for (unsigned i = 0; i < STORE_EVENTS_MAX + extra; i++) {
		snprintf(detail, sizeof(detail), "n=%u", i);
		assert_int_equal(store_event_add(s, i % 2 ? key : NULL, "test", detail), 0);
	}
	assert_int_equal(store_event_foreach(s, NULL, 0, collect_event, &seen), 0);
	assert_int_equal(seen.n, STORE_EVENTS_MAX);
	snprintf(detail, sizeof(detail), "test n=%u", STORE_EVENTS_MAX + extra - 1);
	assert_string_equal(seen.first, detail);
	snprintf(detail, sizeof(detail), "test n=%u", extra);
	assert_string_equal(seen.last, detail);

	/* By key, newest first, limited. */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_event_foreach(s, key, 3, collect_event, &seen), 0);
	assert_int_equal(seen.n, 3);
	/* Odd events carry the key. */
	snprintf(detail, sizeof(detail), "test n=%u", (STORE_EVENTS_MAX + extra - 2) | 1);
	assert_string_equal(seen.first, detail);
	assert_string_equal(seen.first_key, "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=");
	store_close(s);
}

static void expect_open_error(struct fixture *f, const char *path, const char *words)
{
	struct store *s = (struct store *)1;

	assert_true(store_open(&s, path, f->err, sizeof(f->err)) < 0);
	assert_null(s);
	if (!strstr(f->err, words) || !strstr(f->err, path)) {
		fprintf(stderr, "error \"%s\" does not name %s and say \"%s\"\n", f->err, path,
			words);
		fail();
	}
}

static void test_garbage_file(void **state)
{
	struct fixture *f = *state;
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	for (int i = 0; i < 2000; i++)
		fprintf(fp, "this is not a database, line %d\n", i);
	assert_int_equal(fclose(fp), 0);
	expect_open_error(f, f->path, "not a database");
}

static void test_corrupt_file(void **state)
{
	struct fixture *f = *state;
	char junk[4096];
	struct jit_peer p;
	struct store *s = open_ok(f);
	int fd;

	/* Enough rows for several pages; closing checkpoints them into the file. */
	make_peer(&p, 1, "10.0.0.0/8", NULL);
	for (int i = 0; i < 300; i++) {
		memset(p.public_key, 0, WG_KEY_LEN);
		p.public_key[0] = (uint8_t)i;
		p.public_key[1] = (uint8_t)(i >> 8);
		assert_int_equal(store_registry_put(s, &p), 0);
		assert_int_equal(store_event_add(s, p.public_key, "filler", "some detail text"), 0);
	}
	store_close(s);
	jit_peer_clear(&p);

	memset(junk, 0xA5, sizeof(junk));
	fd = open(f->path, O_WRONLY);
	assert_true(fd >= 0);
	for (off_t page = 1; page < 6; page++)
		assert_int_equal(pwrite(fd, junk, sizeof(junk), page * 4096), (ssize_t)sizeof(junk));
	close(fd);
	expect_open_error(f, f->path, "corrupt database");
}

static void test_foreign_database(void **state)
{
	struct fixture *f = *state;

	raw_sql(f->path, "CREATE TABLE photos (id INTEGER PRIMARY KEY, data BLOB)");
	expect_open_error(f, f->path, "not wssd's");
}

static void test_newer_schema(void **state)
{
	struct fixture *f = *state;
	struct store *s = open_ok(f);

	store_close(s);
	raw_sql(f->path, "PRAGMA user_version = 99");
	expect_open_error(f, f->path, "newer");
	/* Refused without touching it. */
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 99);
}

static void test_unwritable_path(void **state)
{
	struct fixture *f = *state;
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/missing-dir/wssd.db", f->dir);
	expect_open_error(f, path, "No such file or directory");
	/* A parent that is a file. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/file/wssd.db", f->dir);
	expect_open_error(f, path, "Not a directory");
	/* The path is a directory. */
	expect_open_error(f, f->dir, "Is a directory");
	/* Permissions (root ignores them). */
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/ro", f->dir);
		assert_int_equal(mkdir(path, 0500), 0);
		snprintf(path, sizeof(path), "%s/ro/wssd.db", f->dir);
		expect_open_error(f, path, "Permission denied");
	}
}

#define THREADS 4
#define THREAD_OPS 300
#define BURST 50

struct worker {
	struct store *s;
	int id;
	int taken;
	int errors;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct store_cache_entry e;
	struct jit_peer p, got;
	struct wg_allowedip ip;

	memset(&p, 0, sizeof(p));
	/* No cmocka assertions here: they may only fail on the main thread. */
	if (allowedip_parse("10.0.0.0/8", &ip) < 0 || jit_peer_add_allowedip(&p, &ip) < 0)
		w->errors++;
	for (int i = 0; i < THREAD_OPS; i++) {
		int r;

		p.public_key[0] = (uint8_t)w->id;
		p.public_key[1] = (uint8_t)i;
		p.public_key[2] = (uint8_t)(i >> 8);
		if (store_registry_put(w->s, &p) < 0 || store_registry_get(w->s, p.public_key, &got))
			w->errors++;
		else
			jit_peer_clear(&got);
		if (store_cache_put(w->s, p.public_key, i % 2 ? &p : NULL, i, i + 10) < 0 ||
		    store_cache_get(w->s, p.public_key, &e) < 0 || e.negative != !(i % 2))
			w->errors++;
		else
			jit_peer_clear(&e.peer);
		if (store_event_add(w->s, p.public_key, "thread", NULL) < 0)
			w->errors++;
		r = store_ratelimit_take(w->s, "shared", 0, BURST, 1000 + i);
		if (r < 0)
			w->errors++;
		else
			w->taken += r;
	}
	jit_peer_clear(&p);
	return NULL;
}

/* Two handles on one file (as wssd and wssctl would be), two threads on each. */
static void test_threads(void **state)
{
	struct fixture *f = *state;
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct store *s[2] = { open_ok(f), open_ok(f) };
	int taken = 0, n = 0;

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .s = s[i % 2], .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].errors, 0);
		taken += w[i].taken;
	}
	/* rate 0: exactly the burst was handed out, however the takes interleaved. */
	assert_int_equal(taken, BURST);
	assert_int_equal(store_registry_foreach(s[0], count_peer, &n), 0);
	assert_int_equal(n, THREADS * THREAD_OPS);
	store_close(s[0]);
	store_close(s[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_migrate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_survives_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ratelimit_survives_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_installed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_installed_remove_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
