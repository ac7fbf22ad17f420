#include "jit/store.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* "wssd" in ASCII (0x77737364): tells our databases from other SQLite files. */
#define STORE_APPLICATION_ID 2004054884
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define STORE_BUSY_TIMEOUT_MS 5000

/* migrations[i] takes a database from user_version i to i + 1. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	"CREATE TABLE registry ("
	"  public_key BLOB PRIMARY KEY NOT NULL CHECK (length(public_key) = 32),"
	"  allowed_ips TEXT NOT NULL,"
	"  preshared_key BLOB CHECK (preshared_key IS NULL OR length(preshared_key) = 32),"
	"  keepalive INTEGER CHECK (keepalive IS NULL OR keepalive BETWEEN 0 AND 65535),"
	"  added_at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE cache ("
	"  public_key BLOB PRIMARY KEY NOT NULL CHECK (length(public_key) = 32),"
	"  negative INTEGER NOT NULL,"
	"  allowed_ips TEXT,"
	"  preshared_key BLOB CHECK (preshared_key IS NULL OR length(preshared_key) = 32),"
	"  keepalive INTEGER CHECK (keepalive IS NULL OR keepalive BETWEEN 0 AND 65535),"
	"  fetched_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX cache_expires ON cache (expires_at);"
	"CREATE TABLE ratelimit ("
	"  bucket TEXT PRIMARY KEY NOT NULL,"
	"  tokens REAL NOT NULL,"
	"  updated_at REAL NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE installed ("
	"  public_key BLOB PRIMARY KEY NOT NULL CHECK (length(public_key) = 32),"
	"  endpoint TEXT NOT NULL,"
	"  via TEXT NOT NULL CHECK (via IN ('ws', 'udp')),"
	"  installed_at INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,"
	"  public_key BLOB,"
	"  event TEXT NOT NULL,"
	"  detail TEXT"
	");"
	"CREATE INDEX events_key ON events (public_key, id);",

	"CREATE TABLE backoff ("
	"  public_key BLOB PRIMARY KEY NOT NULL CHECK (length(public_key) = 32),"
	"  until INTEGER NOT NULL"
	") WITHOUT ROWID;",
};

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_REG_PUT,
	ST_REG_DEL,
	ST_REG_GET,
	ST_REG_ALL,
	ST_CACHE_PUT,
	ST_CACHE_GET,
	ST_CACHE_PRUNE,
	ST_RL_PRUNE,
	ST_BACKOFF_PRUNE,
	ST_RL_GET,
	ST_RL_PUT,
	ST_BACKOFF_PUT,
	ST_BACKOFF_GET,
	ST_INST_PUT,
	ST_INST_TOUCH,
	ST_INST_DEL,
	ST_INST_ALL,
	ST_EV_ADD,
	ST_EV_TRIM,
	ST_EV_ALL,
	ST_EV_KEY,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_REG_PUT] = "INSERT OR REPLACE INTO registry"
		       " (public_key, allowed_ips, preshared_key, keepalive, added_at)"
		       " VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_REG_DEL] = "DELETE FROM registry WHERE public_key = ?1",
	[ST_REG_GET] = "SELECT public_key, allowed_ips, preshared_key, keepalive, added_at"
		       " FROM registry WHERE public_key = ?1",
	[ST_REG_ALL] = "SELECT public_key, allowed_ips, preshared_key, keepalive, added_at"
		       " FROM registry ORDER BY public_key",
	[ST_CACHE_PUT] = "INSERT OR REPLACE INTO cache (public_key, negative, allowed_ips,"
			 " preshared_key, keepalive, fetched_at, expires_at)"
			 " VALUES (?1, ?5, ?2, ?3, ?4, ?6, ?7)",
	[ST_CACHE_GET] = "SELECT public_key, allowed_ips, preshared_key, keepalive, negative,"
			 " fetched_at, expires_at FROM cache WHERE public_key = ?1",
	[ST_CACHE_PRUNE] = "DELETE FROM cache WHERE expires_at < ?1",
	[ST_RL_PRUNE] = "DELETE FROM ratelimit WHERE updated_at < ?1",
	[ST_BACKOFF_PRUNE] = "DELETE FROM backoff WHERE until <= ?1",
	[ST_RL_GET] = "SELECT tokens, updated_at FROM ratelimit WHERE bucket = ?1",
	[ST_RL_PUT] = "INSERT OR REPLACE INTO ratelimit (bucket, tokens, updated_at)"
		      " VALUES (?1, ?2, ?3)",
	[ST_BACKOFF_PUT] = "INSERT OR REPLACE INTO backoff (public_key, until) VALUES (?1, ?2)",
	[ST_BACKOFF_GET] = "SELECT until FROM backoff WHERE public_key = ?1",
	[ST_INST_PUT] = "INSERT OR REPLACE INTO installed"
			" (public_key, endpoint, via, installed_at, last_seen)"
			" VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_INST_TOUCH] = "UPDATE installed SET last_seen = ?2 WHERE public_key = ?1",
	[ST_INST_DEL] = "DELETE FROM installed WHERE public_key = ?1",
	[ST_INST_ALL] = "SELECT public_key, endpoint, via, installed_at, last_seen"
			" FROM installed ORDER BY public_key",
	[ST_EV_ADD] = "INSERT INTO events (at, public_key, event, detail) VALUES (?1, ?2, ?3, ?4)",
	[ST_EV_TRIM] = "DELETE FROM events WHERE id <= ?1 - " STRINGIFY(STORE_EVENTS_MAX),
	[ST_EV_ALL] = "SELECT at, public_key, event, detail FROM events"
		      " ORDER BY id DESC LIMIT ?1",
	[ST_EV_KEY] = "SELECT at, public_key, event, detail FROM events WHERE public_key = ?2"
		      " ORDER BY id DESC LIMIT ?1",
};


struct store {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
};

static int db_error(struct store *s, const char *op)
{
	int rc = sqlite3_extended_errcode(s->db);
	char msg[256];

	log_error("event=store_error op=%s err=%s", op,
		  log_quote(msg, sizeof(msg), sqlite3_errmsg(s->db)));
	return (rc & 0xff) == SQLITE_BUSY ? -EBUSY : -EIO;
}

/* Called with the lock held. The statement comes back reset and unbound. */
static sqlite3_stmt *stmt_get(struct store *s, enum stmt_id id)
{
	if (!s->stmt[id] &&
	    sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id],
			       NULL) != SQLITE_OK) {
		db_error(s, "prepare");
		return NULL;
	}
	return s->stmt[id];
}

static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows. */
static int exec_stmt(struct store *s, enum stmt_id id, const char *op)
{
	sqlite3_stmt *st = stmt_get(s, id);
	int ret = 0;

	if (!st)
		return -EIO;
	if (sqlite3_step(st) != SQLITE_DONE)
		ret = db_error(s, op);
	stmt_done(st);
	return ret;
}

static int txn_begin(struct store *s)
{
	return exec_stmt(s, ST_BEGIN, "begin");
}

/* Commits on success, rolls back on failure (a failed COMMIT included). */
static int txn_end(struct store *s, int ret)
{
	if (ret >= 0) {
		int rc = exec_stmt(s, ST_COMMIT, "commit");

		if (rc < 0)
			ret = rc;
	}
	if (ret < 0 && !sqlite3_get_autocommit(s->db))
		exec_stmt(s, ST_ROLLBACK, "rollback");
	return ret;
}

static int bind_key(sqlite3_stmt *st, int col, const uint8_t key[WG_KEY_LEN])
{
	return sqlite3_bind_blob(st, col, key, WG_KEY_LEN, SQLITE_TRANSIENT);
}

/* The text form of allowed IPs in the database: "10.0.0.1/32,fd00::/64". */
static char *allowedips_join(const struct jit_peer *peer)
{
	char *text = malloc(peer->n_allowedips * ALLOWEDIP_STRLEN + 1);
	size_t o = 0;

	if (!text)
		return NULL;
	text[0] = '\0';
	for (size_t i = 0; i < peer->n_allowedips; i++) {
		if (i)
			text[o++] = ',';
		allowedip_format(&peer->allowedips[i], text + o, ALLOWEDIP_STRLEN);
		o += strlen(text + o);
	}
	return text;
}

static int allowedips_split(struct jit_peer *peer, const char *text)
{
	char item[ALLOWEDIP_STRLEN];
	struct wg_allowedip ip;
	int ret;

	while (text && *text) {
		size_t n = strcspn(text, ",");

		if (n == 0 || n >= sizeof(item))
			return -EINVAL;
		memcpy(item, text, n);
		item[n] = '\0';
		if ((ret = allowedip_parse(item, &ip)) < 0 ||
		    (ret = jit_peer_add_allowedip(peer, &ip)) < 0)
			return ret;
		text += n;
		if (*text == ',')
			text++;
	}
	return 0;
}

/* Binds ?2 allowed_ips, ?3 preshared_key, ?4 keepalive from a peer. */
static int bind_peer(sqlite3_stmt *st, const struct jit_peer *peer, char **ips_text)
{
	*ips_text = allowedips_join(peer);
	if (!*ips_text)
		return -ENOMEM;
	sqlite3_bind_text(st, 2, *ips_text, -1, SQLITE_STATIC);
	if (peer->has_preshared_key)
		sqlite3_bind_blob(st, 3, peer->preshared_key, WG_KEY_LEN, SQLITE_STATIC);
	if (peer->has_keepalive)
		sqlite3_bind_int(st, 4, peer->persistent_keepalive);
	return 0;
}

/* Columns 0 public_key, 1 allowed_ips, 2 preshared_key, 3 keepalive. */
static int column_peer(sqlite3_stmt *st, struct jit_peer *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (sqlite3_column_bytes(st, 0) != WG_KEY_LEN)
		return -EIO;
	memcpy(out->public_key, sqlite3_column_blob(st, 0), WG_KEY_LEN);
	if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
		if (sqlite3_column_bytes(st, 2) != WG_KEY_LEN)
			return -EIO;
		memcpy(out->preshared_key, sqlite3_column_blob(st, 2), WG_KEY_LEN);
		out->has_preshared_key = true;
	}
	if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
		out->has_keepalive = true;
		out->persistent_keepalive = (uint16_t)sqlite3_column_int(st, 3);
	}
	ret = allowedips_split(out, (const char *)sqlite3_column_text(st, 1));
	if (ret < 0) {
		jit_peer_clear(out);
		return ret == -ENOMEM ? ret : -EIO;
	}
	return 0;
}

static int migrate(struct store *s, int from, char *err, size_t errlen)
{
	char sql[64];

	for (int v = from; v < STORE_SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "migrating the schema from version %d to %d: %s", v,
				 v + 1, sqlite3_errmsg(s->db));
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return -EIO;
		}
		log_info("event=store_migrated version=%d", v + 1);
	}
	return 0;
}

static int pragma_int(struct store *s, const char *sql, int *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

/* Checks what is in the file before anything is written to it. */
static int check_database(struct store *s, int *version, char *err, size_t errlen)
{
	char *problem = NULL;
	sqlite3_stmt *st;
	int app_id, objects, rc;

	if (pragma_int(s, "PRAGMA user_version", version) < 0 ||
	    pragma_int(s, "PRAGMA application_id", &app_id) < 0 ||
	    pragma_int(s, "SELECT count(*) FROM sqlite_schema", &objects) < 0) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
		return -EIO;
	}
	if (*version > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "schema version %d is newer than this build supports (%d); "
			 "refusing to touch it",
			 *version, STORE_SCHEMA_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (app_id != STORE_APPLICATION_ID && (app_id != 0 || objects != 0)) {
		snprintf(err, errlen, "an SQLite database that is not wssd's");
		return -EINVAL;
	}
	if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
		return -EIO;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);

		if (!problem && line && strcmp(line, "ok"))
			problem = sqlite3_mprintf("%s", line);
	}
	if (rc != SQLITE_DONE && !problem)
		problem = sqlite3_mprintf("%s", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	if (problem) {
		for (char *p = problem; *p; p++) {
			if (*p == '\n')
				*p = ' ';
		}
		snprintf(err, errlen, "corrupt database (quick_check: %s)", problem);
		sqlite3_free(problem);
		return -EIO;
	}
	return 0;
}

int store_open(struct store **out, const char *path, char *err, size_t errlen)
{
	char inner[512] = "";
	struct store *s;
	int fd, version, ret;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	/* Created here rather than by SQLite to get mode 0600 (-wal and -shm follow it). */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(inner, sizeof(inner), "cannot open or create it: %s", strerror(errno));
		goto out;
	}
	close(fd);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		ret = -EIO;
		snprintf(inner, sizeof(inner), "%s",
			 s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	ret = check_database(s, &version, inner, sizeof(inner));
	if (ret < 0)
		goto out;
	if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
		ret = -EIO;
		snprintf(inner, sizeof(inner), "%s", sqlite3_errmsg(s->db));
		goto out;
	}
	if (version == 0 &&
	    sqlite3_exec(s->db, "PRAGMA application_id = " STRINGIFY(STORE_APPLICATION_ID), NULL,
			 NULL, NULL) != SQLITE_OK) {
		ret = -EIO;
		snprintf(inner, sizeof(inner), "%s", sqlite3_errmsg(s->db));
		goto out;
	}
	ret = migrate(s, version, inner, sizeof(inner));
out:
	if (ret < 0) {
		snprintf(err, errlen, "store %s: %s", path, inner);
		store_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int registry_put_locked(struct store *s, const struct jit_peer *peer, int64_t now)
{
	sqlite3_stmt *st = stmt_get(s, ST_REG_PUT);
	char *ips = NULL;
	int ret;

	if (!st)
		return -EIO;
	bind_key(st, 1, peer->public_key);
	ret = bind_peer(st, peer, &ips);
	if (ret == 0) {
		sqlite3_bind_int64(st, 5, now);
		if (sqlite3_step(st) != SQLITE_DONE)
			ret = db_error(s, "registry_put");
	}
	stmt_done(st);
	free(ips);
	return ret;
}

int store_registry_put(struct store *s, const struct jit_peer *peer)
{
	return store_registry_put_many(s, peer, 1);
}

int store_registry_put_many(struct store *s, const struct jit_peer *peers, size_t n)
{
	int64_t now = time(NULL);
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = txn_begin(s);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = registry_put_locked(s, &peers[i], now);
	ret = txn_end(s, ret);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Deletes by key with one of the DELETE statements; -ENOENT when nothing matched. */
static int delete_key(struct store *s, enum stmt_id id, const uint8_t key[WG_KEY_LEN],
		      const char *op)
{
	sqlite3_stmt *st;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	st = stmt_get(s, id);
	if (!st) {
		ret = -EIO;
		goto out;
	}
	bind_key(st, 1, key);
	if (sqlite3_step(st) != SQLITE_DONE)
		ret = db_error(s, op);
	else if (sqlite3_changes(s->db) == 0)
		ret = -ENOENT;
	stmt_done(st);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_registry_remove(struct store *s, const uint8_t key[WG_KEY_LEN])
{
	return delete_key(s, ST_REG_DEL, key, "registry_remove");
}

int store_registry_get(struct store *s, const uint8_t key[WG_KEY_LEN], struct jit_peer *out)
{
	sqlite3_stmt *st;
	int rc, ret;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	st = stmt_get(s, ST_REG_GET);
	if (!st) {
		ret = -EIO;
		goto out;
	}
	bind_key(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = column_peer(st, out);
	else if (rc == SQLITE_DONE)
		ret = -ENOENT;
	else
		ret = db_error(s, "registry_get");
	stmt_done(st);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_registry_foreach(struct store *s,
			   int (*fn)(void *ctx, const struct jit_peer *peer, int64_t added_at),
			   void *ctx)
{
	struct jit_peer peer;
	sqlite3_stmt *st;
	int rc, ret = 0;

	pthread_mutex_lock(&s->lock);
	st = stmt_get(s, ST_REG_ALL);
	if (!st) {
		ret = -EIO;
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = column_peer(st, &peer);
		if (ret < 0)
			break;
		ret = fn(ctx, &peer, sqlite3_column_int64(st, 4));
		jit_peer_clear(&peer);
		if (ret)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error(s, "registry_foreach");
	stmt_done(st);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_cache_put(struct store *s, const uint8_t key[WG_KEY_LEN], const struct jit_peer *peer,
		    int64_t now, int64_t expires_at)
{
	sqlite3_stmt *st;
	char *ips = NULL;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	st = stmt_get(s, ST_CACHE_PUT);
	if (!st) {
		ret = -EIO;
		goto out;
	}
	bind_key(st, 1, key);
	sqlite3_bind_int(st, 5, !peer);
	if (peer)
		ret = bind_peer(st, peer, &ips);
	if (ret == 0) {
		sqlite3_bind_int64(st, 6, now);
		sqlite3_bind_int64(st, 7, expires_at);
		if (sqlite3_step(st) != SQLITE_DONE)
			ret = db_error(s, "cache_put");
	}
	stmt_done(st);
	free(ips);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_cache_get(struct store *s, const uint8_t key[WG_KEY_LEN], struct store_cache_entry *out)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	st = stmt_get(s, ST_CACHE_GET);
	if (!st) {
		ret = -EIO;
		goto out;
	}
	bind_key(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->negative = sqlite3_column_int(st, 4);
		out->fetched_at = sqlite3_column_int64(st, 5);
		out->expires_at = sqlite3_column_int64(st, 6);
		if (!out->negative)
			ret = column_peer(st, &out->peer);
	} else if (rc == SQLITE_DONE) {
		ret = -ENOENT;
	} else {
		ret = db_error(s, "cache_get");
	}
	stmt_done(st);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Runs a DELETE bound to one integer. Called with the lock held. */
static int delete_before(struct store *s, enum stmt_id id, int64_t bound, const char *op)
{
	sqlite3_stmt *st = stmt_get(s, id);
	int ret;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, bound);
	ret = sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(s, op);
	stmt_done(st);
	return ret;
}

int store_prune(struct store *s, int64_t now, unsigned keep_stale)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = txn_begin(s);
	if (ret == 0)
		ret = delete_before(s, ST_CACHE_PRUNE, now - (int64_t)keep_stale, "cache_prune");
	if (ret == 0)
		ret = delete_before(s, ST_BACKOFF_PRUNE, now, "backoff_prune");
	if (ret == 0)
		ret = delete_before(s, ST_RL_PRUNE, now - 3600, "ratelimit_prune");
	ret = txn_end(s, ret);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* The bucket's tokens now: refilled since it was last written, at most burst. */
static int ratelimit_read(struct store *s, const struct store_bucket *b, double now,
			  double *tokens)
{
	sqlite3_stmt *st = stmt_get(s, ST_RL_GET);
	double elapsed;
	int rc;

	if (!st)
		return -EIO;
	*tokens = b->burst;
	sqlite3_bind_text(st, 1, b->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*tokens = sqlite3_column_double(st, 0);
		elapsed = now - sqlite3_column_double(st, 1);
		/* A clock that went back refills nothing. */
		if (elapsed > 0)
			*tokens += elapsed * b->rate;
		if (*tokens > b->burst)
			*tokens = b->burst;
	}
	stmt_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(s, "ratelimit_get");
	return 0;
}

static int ratelimit_write(struct store *s, const struct store_bucket *b, double tokens,
			   double now)
{
	sqlite3_stmt *st = stmt_get(s, ST_RL_PUT);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, b->name, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, tokens);
	sqlite3_bind_double(st, 3, now);
	rc = sqlite3_step(st);
	stmt_done(st);
	return rc == SQLITE_DONE ? 0 : db_error(s, "ratelimit_put");
}

static int ratelimit_take_locked(struct store *s, const struct store_bucket *b, size_t n,
				 double now, size_t *empty)
{
	double tokens[STORE_BUCKETS_MAX];
	int ret, taken = 1;

	for (size_t i = 0; i < n; i++) {
		ret = ratelimit_read(s, &b[i], now, &tokens[i]);
		if (ret < 0)
			return ret;
		if (taken && tokens[i] < 1.0) {
			taken = 0;
			if (empty)
				*empty = i;
		}
	}
	for (size_t i = 0; i < n; i++) {
		ret = ratelimit_write(s, &b[i], taken ? tokens[i] - 1.0 : tokens[i], now);
		if (ret < 0)
			return ret;
	}
	return taken;
}

int store_ratelimit_take_all(struct store *s, const struct store_bucket *buckets, size_t n,
			     double now, size_t *empty)
{
	int ret;

	if (n == 0 || n > STORE_BUCKETS_MAX || !isfinite(now))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!(buckets[i].rate >= 0) || !(buckets[i].burst >= 1))
			return -EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	ret = txn_begin(s);
	if (ret == 0)
		ret = txn_end(s, ratelimit_take_locked(s, buckets, n, now, empty));
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_ratelimit_take(struct store *s, const char *bucket, double rate, double burst,
			 double now)
{
	struct store_bucket b = { .name = bucket, .rate = rate, .burst = burst };

	return store_ratelimit_take_all(s, &b, 1, now, NULL);
}

int store_backoff_set(struct store *s, const uint8_t key[WG_KEY_LEN], int64_t until)
{
	sqlite3_stmt *st;
	int ret = -EIO;

	pthread_mutex_lock(&s->lock);
	st = stmt_get(s, ST_BACKOFF_PUT);
	if (st) {
		bind_key(st, 1, key);
		sqlite3_bind_int64(st, 2, until);
		ret = sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(s, "backoff_set");
		stmt_done(st);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_backoff_get(struct store *s, const uint8_t key[WG_KEY_LEN], int64_t *until)
{
	sqlite3_stmt *st;
	int rc, ret = -EIO;

	pthread_mutex_lock(&s->lock);
	st = stmt_get(s, ST_BACKOFF_GET);
	if (st) {
		bind_key(st, 1, key);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*until = sqlite3_column_int64(st, 0);
			ret = 0;
		} else {
			ret = rc == SQLITE_DONE ? -ENOENT : db_error(s, "backoff_get");
		}
		stmt_done(st);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* In a transaction the caller holds. */
static int event_add_locked(struct store *s, const uint8_t key[WG_KEY_LEN], const char *event,
			    const char *detail)
{
	sqlite3_stmt *st = stmt_get(s, ST_EV_ADD);
	int ret = 0;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, time(NULL));
	if (key)
		bind_key(st, 2, key);
	sqlite3_bind_text(st, 3, event, -1, SQLITE_STATIC);
	if (detail)
		sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		ret = db_error(s, "event_add");
	stmt_done(st);
	if (ret < 0)
		return ret;
	/* ids only grow (AUTOINCREMENT): everything STORE_EVENTS_MAX behind the new one goes. */
	st = stmt_get(s, ST_EV_TRIM);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, sqlite3_last_insert_rowid(s->db));
	if (sqlite3_step(st) != SQLITE_DONE)
		ret = db_error(s, "event_trim");
	stmt_done(st);
	return ret;
}

static int installed_put_locked(struct store *s, const struct store_installed *row)
{
	sqlite3_stmt *st = stmt_get(s, ST_INST_PUT);
	int ret;

	if (!st)
		return -EIO;
	bind_key(st, 1, row->public_key);
	sqlite3_bind_text(st, 2, row->endpoint, strnlen(row->endpoint, sizeof(row->endpoint)),
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 3, row->via == STORE_VIA_UDP ? "udp" : "ws", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, row->installed_at);
	sqlite3_bind_int64(st, 5, row->last_seen);
	ret = sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(s, "installed_put");
	stmt_done(st);
	return ret;
}

int store_installed_put(struct store *s, const struct store_installed *row)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = installed_put_locked(s, row);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_installed_put_many(struct store *s, const struct store_installed *rows,
			     const char *const *details, size_t n)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = txn_begin(s);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		ret = installed_put_locked(s, &rows[i]);
		if (ret == 0)
			ret = event_add_locked(s, rows[i].public_key, "installed", details[i]);
	}
	ret = txn_end(s, ret);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_installed_touch(struct store *s, const uint8_t key[WG_KEY_LEN], int64_t last_seen)
{
	sqlite3_stmt *st;
	int ret = -EIO;

	pthread_mutex_lock(&s->lock);
	st = stmt_get(s, ST_INST_TOUCH);
	if (st) {
		bind_key(st, 1, key);
		sqlite3_bind_int64(st, 2, last_seen);
		if (sqlite3_step(st) != SQLITE_DONE)
			ret = db_error(s, "installed_touch");
		else
			ret = sqlite3_changes(s->db) ? 0 : -ENOENT;
		stmt_done(st);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_installed_remove(struct store *s, const uint8_t key[WG_KEY_LEN])
{
	return delete_key(s, ST_INST_DEL, key, "installed_remove");
}

int store_installed_remove_many(struct store *s, const uint8_t (*keys)[WG_KEY_LEN],
				const char *const *events, const char *const *details, size_t n)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = txn_begin(s);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		sqlite3_stmt *st = stmt_get(s, ST_INST_DEL);

		if (!st) {
			ret = -EIO;
			break;
		}
		bind_key(st, 1, keys[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			ret = db_error(s, "installed_remove");
		stmt_done(st);
		if (ret == 0)
			ret = event_add_locked(s, keys[i], events[i], details[i]);
	}
	ret = txn_end(s, ret);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_installed_foreach(struct store *s,
			    int (*fn)(void *ctx, const struct store_installed *row), void *ctx)
{
	struct store_installed row;
	sqlite3_stmt *st;
	int rc, ret = 0;

	pthread_mutex_lock(&s->lock);
	st = stmt_get(s, ST_INST_ALL);
	if (!st) {
		ret = -EIO;
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *endpoint = (const char *)sqlite3_column_text(st, 1);
		const char *via = (const char *)sqlite3_column_text(st, 2);

		memset(&row, 0, sizeof(row));
		if (sqlite3_column_bytes(st, 0) != WG_KEY_LEN) {
			ret = -EIO;
			break;
		}
		memcpy(row.public_key, sqlite3_column_blob(st, 0), WG_KEY_LEN);
		snprintf(row.endpoint, sizeof(row.endpoint), "%s", endpoint ? endpoint : "");
		row.via = via && !strcmp(via, "udp") ? STORE_VIA_UDP : STORE_VIA_WS;
		row.installed_at = sqlite3_column_int64(st, 3);
		row.last_seen = sqlite3_column_int64(st, 4);
		ret = fn(ctx, &row);
		if (ret)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error(s, "installed_foreach");
	stmt_done(st);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_event_add(struct store *s, const uint8_t key[WG_KEY_LEN], const char *event,
		    const char *detail)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = txn_begin(s);
	if (ret == 0)
		ret = txn_end(s, event_add_locked(s, key, event, detail));
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int store_event_foreach(struct store *s, const uint8_t key[WG_KEY_LEN], unsigned limit,
			int (*fn)(void *ctx, const struct store_event *ev), void *ctx)
{
	struct store_event ev;
	sqlite3_stmt *st;
	int rc, ret = 0;

	pthread_mutex_lock(&s->lock);
	st = stmt_get(s, key ? ST_EV_KEY : ST_EV_ALL);
	if (!st) {
		ret = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, limit ? (int64_t)limit : -1);
	if (key)
		bind_key(st, 2, key);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&ev, 0, sizeof(ev));
		ev.at = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == WG_KEY_LEN)
			key_to_base64(ev.public_key, sqlite3_column_blob(st, 1));
		ev.event = (const char *)sqlite3_column_text(st, 2);
		ev.detail = (const char *)sqlite3_column_text(st, 3);
		if (!ev.event)
			ev.event = "";
		if (!ev.detail)
			ev.detail = "";
		ret = fn(ctx, &ev);
		if (ret)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error(s, "event_foreach");
	stmt_done(st);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}
