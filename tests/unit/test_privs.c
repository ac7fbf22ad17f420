/*
 * privs_drop and privs_give, each drop in a child process of its own (root
 * needed: skipped without it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "wssd/privs.h"

static void need_root(void)
{
	if (geteuid() != 0)
		skip();
}

static uid_t nobody(void)
{
	struct passwd *pw = getpwnam("nobody");

	assert_non_null(pw);
	return pw->pw_uid;
}

/* 0 when cap is in the set flag of this thread. */
static int has(cap_value_t cap, cap_flag_t flag)
{
	cap_t c = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	cap_get_flag(c, cap, flag, &v);
	cap_free(c);
	return v == CAP_SET;
}

/* What the child checks after a drop; its exit status is the line that failed. */
static int child_checks(void)
{
	if (getuid() != nobody() || geteuid() != nobody() || getgid() == 0)
		return __LINE__;
	if (!has(CAP_NET_ADMIN, CAP_PERMITTED) || !has(CAP_NET_ADMIN, CAP_EFFECTIVE))
		return __LINE__;
	if (has(CAP_NET_RAW, CAP_PERMITTED) || has(CAP_SETUID, CAP_PERMITTED) ||
	    has(CAP_NET_BIND_SERVICE, CAP_EFFECTIVE) || has(CAP_SYS_ADMIN, CAP_PERMITTED))
		return __LINE__;
	for (cap_value_t c = 0; c < cap_max_bits(); c++)
		if (cap_get_bound(c) == 1 && c != CAP_NET_ADMIN)
			return __LINE__;
	if (cap_get_bound(CAP_NET_ADMIN) != 1)
		return __LINE__;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return __LINE__;
	if (setuid(0) == 0 || seteuid(0) == 0)
		return __LINE__;
	return 0;
}

static int run_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int drop_and_check(void *arg)
{
	char err[256];

	(void)arg;
	if (privs_drop("nobody", err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	return child_checks();
}

static void test_drop(void **state)
{
	(void)state;
	need_root();
	assert_int_equal(run_child(drop_and_check, NULL), 0);
}

static int drop_unknown(void *arg)
{
	char err[256];

	(void)arg;
	return privs_drop("wssd-no-such-user", err, sizeof(err)) < 0 &&
	       strstr(err, "no such user") && getuid() == 0 ? 0 : 1;
}

static void test_unknown_user(void **state)
{
	(void)state;
	need_root();
	assert_int_equal(run_child(drop_unknown, NULL), 0);
}

static void *sleeper(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

/* Capabilities are per thread: with a second one, nothing is dropped. */
static int drop_with_thread(void *arg)
{
	pthread_t th;
	char err[256];

	(void)arg;
	if (pthread_create(&th, NULL, sleeper, NULL))
		return 2;
	return privs_drop("nobody", err, sizeof(err)) == -EBUSY && getuid() == 0 &&
	       has(CAP_SETUID, CAP_EFFECTIVE) ? 0 : 1;
}

static void test_refused_with_threads(void **state)
{
	(void)state;
	need_root();
	assert_int_equal(run_child(drop_with_thread, NULL), 0);
}

static void test_give(void **state)
{
	char dir[] = "/tmp/wssd-privs.XXXXXX", other[] = "/tmp/wssd-privs-other.XXXXXX";
	char path[128], link[128];
	struct stat st;
	char err[256];
	FILE *f;
	int fd;

	(void)state;
	need_root();
	assert_non_null(mkdtemp(dir));
	fd = mkstemp(other);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/tls-key.pem", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(link, sizeof(link), "%s/elsewhere", dir);
	assert_int_equal(symlink(other, link), 0);
	assert_int_equal(privs_give("nobody", dir, true, err, sizeof(err)), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_uid, nobody());
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, nobody());
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_not_equal(privs_give("wssd-no-such-user", dir, false, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "no such user"));
	unlink(link);
	unlink(other);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_unknown_user),
		cmocka_unit_test(test_refused_with_threads),
		cmocka_unit_test(test_give),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
