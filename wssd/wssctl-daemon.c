/* wssctl installed, evict, sessions, stats, reload: questions for the running daemon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit/key.h"
#include "wssd/ctl.h"
#include "wssd/wssctl.h"

/* Prints the daemon's answer to request; errors are one line. */
static int ask_and_print(const struct wssctl_options *opts, const char *request)
{
	char *body, msg[1024];

	if (wssctl_ask(opts->socket, request, &body, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "wssctl: %s\n", msg);
		return EXIT_BAD_INPUT;
	}
	fputs(body, stdout);
	free(body);
	if (fflush(stdout) != 0) {
		perror("wssctl: stdout");
		return EXIT_BAD_INPUT;
	}
	return 0;
}

/* COMMAND [--json]: the request "COMMAND" or "COMMAND json". */
int wssctl_table(const struct wssctl_options *opts, int argc, char **argv)
{
	char request[64];
	bool json = opts->json;

	if (argc == 2 && !strcmp(argv[1], "--json")) {
		json = true;
	} else if (argc != 1) {
		fprintf(stderr, "wssctl: %s takes no arguments but --json; usage: wssctl %s [--json]\n",
			argv[0], argv[0]);
		return EXIT_USAGE;
	}
	snprintf(request, sizeof(request), "%s%s", argv[0], json ? " json" : "");
	return ask_and_print(opts, request);
}

int wssctl_evict(const struct wssctl_options *opts, int argc, char **argv)
{
	char request[CTL_LINE_MAX];
	uint8_t key[WG_KEY_LEN];

	if (argc != 2) {
		fprintf(stderr, "wssctl: evict needs exactly one key; usage: wssctl evict KEY\n");
		return EXIT_USAGE;
	}
	if (wssctl_parse_key(key, argv[1]) < 0) {
		fprintf(stderr, "wssctl: bad key \"%s\": not a WireGuard key (base64 or hex)\n",
			argv[1]);
		return EXIT_BAD_INPUT;
	}
	snprintf(request, sizeof(request), "evict %s", argv[1]);
	return ask_and_print(opts, request);
}

int wssctl_reload(const struct wssctl_options *opts, int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "wssctl: reload takes no arguments; usage: wssctl reload\n");
		return EXIT_USAGE;
	}
	return ask_and_print(opts, "reload");
}
