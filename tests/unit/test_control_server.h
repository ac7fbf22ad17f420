#ifndef TEST_CONTROL_SERVER_H
#define TEST_CONTROL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "jit/key.h"

/* tests/tools/cp-server.py, started by a test: the control-plane HTTP contract. */
struct cp_server {
	int pid;
	int stdin_fd;		/* the server exits when this closes */
	unsigned port;
	char base[64];		/* "http://127.0.0.1:PORT" */
	char dir[64];		/* a temporary directory for the fixture */
};

struct cp_stats {
	long count;		/* /peers/KEY requests seen */
	long open;		/* of those, not answered yet */
	char auth[128];		/* the last Authorization header */
	char accept[64];	/* the last Accept header */
};

/* Exits 77 (skip) when python3 is missing; fails the test on other errors. */
void cp_server_start(struct cp_server *srv, const char *fixture_json);
void cp_server_stop(struct cp_server *srv);
void cp_server_stats(struct cp_server *srv, const uint8_t key[WG_KEY_LEN], struct cp_stats *out);
/* what: "set" (body = the key's new fixture entry) or "release". */
void cp_server_post(struct cp_server *srv, const char *what, const uint8_t key[WG_KEY_LEN],
		    const char *body);
/* Polls the stats until at least n requests for key are open (10 s at most). */
void cp_server_wait_open(struct cp_server *srv, const uint8_t key[WG_KEY_LEN], long n);

/* A test key: 32 bytes of value v. */
void test_key(uint8_t key[WG_KEY_LEN], uint8_t v);

/*
 * Appends test key v's entry (a JSON object) to a fixture being written in
 * buf, which holds at least its opening '{'.
 */
void cp_fixture_add(char *buf, size_t size, uint8_t v, const char *entry);

#endif
