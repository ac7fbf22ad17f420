#ifndef WSSD_WSSCTL_H
#define WSSD_WSSCTL_H

#include <stdbool.h>

/* Options every wssctl command sees, parsed before the command name. */
struct wssctl_options {
	const char *db_path;	/* --db, default the config's store.path */
	const char *socket;	/* --socket, default the config's admin.socket */
	const char *config;	/* -c */
	bool json;		/* --json */
};

/* Each command gets argv from its own name on (argv[0] = "peer") and returns the exit status. */
int wssctl_peer(const struct wssctl_options *opts, int argc, char **argv);
int wssctl_decode_initiation(const struct wssctl_options *opts, int argc, char **argv);

#endif
