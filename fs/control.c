/* The control socket: how `ugitfs --sync` and `ugitfs --status` reach the daemon serving a mount point. */
#include "work.h"

#include "error.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_REQUEST (1 << 20)

/* An abstract socket named after the mount point's real path (too long for a
 * path name, and nothing to clean up if the daemon dies). */
static int socket_addr(const char *real, struct sockaddr_un *addr, socklen_t *len)
{
	char hex[UG_OID_MAXHEX + 1];
	ug_oid h;
	int n, err = ugfs_err(ug_hash_buf(&h, UG_HASH_SHA256, real, strlen(real)));

	if (err)
		return err;
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	n = snprintf(addr->sun_path + 1, sizeof(addr->sun_path) - 1, "ugitfs-control-%.40s",
		     ug_oid_tohex(hex, &h, UG_HASH_SHA256));
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	return 0;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Everything the peer sends until it shuts its side, at most max bytes. */
static char *recv_all(int fd, size_t max)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1);

	while (buf) {
		ssize_t n;

		if (len == cap) {
			char *b = cap >= max ? NULL : realloc(buf, (cap *= 2) + 1);

			if (!b) {
				free(buf);
				return NULL;
			}
			buf = b;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (buf)
		buf[len] = '\0';
	return buf;
}

static char *answer(struct fs *fs, const char *request)
{
	char *out = NULL;

	if (!strncmp(request, "sync\n", 5)) {
		const char *message = request + 5;
		char *why = NULL, hex[UG_OID_MAXHEX + 1];
		ug_oid commit;
		int err = work_sync(fs->work, *message ? message : NULL, &commit, &why);

		if (err == 0 && asprintf(&out, "committed %s\n", ug_oid_tohex(hex, &commit, fs->algo)) < 0)
			out = NULL;
		else if (err == 1)
			out = strdup("nothing\n");
		else if (err < 0 && asprintf(&out, "error %s\n", why ? why : strerror(-err)) < 0)
			out = NULL;
		free(why);
	} else if (!strcmp(request, "status\n")) {
		char *text = NULL;
		int err = work_status(fs->work, &text);

		if ((err ? asprintf(&out, "error %s\n", ug_error_last()) : asprintf(&out, "status\n%s", text)) < 0)
			out = NULL;
		free(text);
	} else {
		out = strdup("error unknown request\n");
	}
	return out;
}

static void *control_main(void *arg)
{
	struct fs *fs = arg;

	for (;;) {
		int c = accept4(fs->work->control_fd, NULL, NULL, SOCK_CLOEXEC);
		struct ucred cred;
		socklen_t len = sizeof(cred);
		char *request, *reply;

		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0)
			break; /* shut down by control_stop */
		/* only the user who mounted (or root) may commit through this mount */
		if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) || (cred.uid != fs->uid && cred.uid != 0)) {
			send_all(c, "error permission denied\n", 24);
			close(c);
			continue;
		}
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){ .tv_sec = 10 }, sizeof(struct timeval));
		request = recv_all(c, MAX_REQUEST);
		reply = request ? answer(fs, request) : NULL;
		if (reply)
			send_all(c, reply, strlen(reply));
		else
			send_all(c, "error bad request\n", 18);
		free(request);
		free(reply);
		close(c);
	}
	return NULL;
}

int control_start(struct fs *fs)
{
	struct work *w = fs->work;
	struct sockaddr_un addr;
	socklen_t len;

	if (!fs->mount_real || socket_addr(fs->mount_real, &addr, &len))
		return ugfs_err(ug_error(UG_ENOMEM, "cannot name the control socket"));
	w->control_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (w->control_fd < 0 || bind(w->control_fd, (struct sockaddr *)&addr, len) || listen(w->control_fd, 8)) {
		int err = ugfs_err(ug_error_os(UG_ERROR,
					       "%s: cannot open the control socket (ugitfs --sync/--status)",
					       fs->mount_real));

		if (w->control_fd >= 0)
			close(w->control_fd);
		w->control_fd = -1;
		return err;
	}
	if (pthread_create(&w->control, NULL, control_main, fs)) {
		close(w->control_fd);
		w->control_fd = -1;
		return ugfs_err(ug_error(UG_ERROR, "cannot start the control thread"));
	}
	w->control_running = true;
	return 0;
}

void control_stop(struct fs *fs)
{
	struct work *w = fs->work;

	if (!w->control_running)
		return;
	shutdown(w->control_fd, SHUT_RDWR); /* wakes accept() */
	pthread_join(w->control, NULL);
	close(w->control_fd);
	w->control_fd = -1;
	w->control_running = false;
}

int ugfs_client(const char *mountpoint, const char *request, const char *message)
{
	char real[PATH_MAX], *reply, *req = NULL;
	struct sockaddr_un addr;
	socklen_t len;
	int fd, status = 1;

	if (!realpath(mountpoint, real)) {
		fprintf(stderr, "ugitfs: %s: %s\n", mountpoint, strerror(errno));
		return 1;
	}
	if (socket_addr(real, &addr, &len) || asprintf(&req, "%s\n%s", request, message ? message : "") < 0) {
		fprintf(stderr, "ugitfs: out of memory\n");
		return 1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, len)) {
		fprintf(stderr, "ugitfs: %s: not a ugitfs mount with a working view\n", mountpoint);
		goto out;
	}
	if (send_all(fd, req, strlen(req)) || shutdown(fd, SHUT_WR) || !(reply = recv_all(fd, 64 << 20))) {
		fprintf(stderr, "ugitfs: %s: the daemon did not answer: %s\n", mountpoint, strerror(errno));
		goto out;
	}
	if (!strncmp(reply, "committed ", 10)) {
		fputs(reply + 10, stdout);
		status = 0;
	} else if (!strcmp(reply, "nothing\n")) {
		puts("nothing to commit");
		status = 0;
	} else if (!strncmp(reply, "status\n", 7)) {
		fputs(reply + 7, stdout);
		status = 0;
	} else {
		fprintf(stderr, "ugitfs: %s: %s", mountpoint, !strncmp(reply, "error ", 6) ? reply + 6 : reply);
		if (!*reply || reply[strlen(reply) - 1] != '\n')
			fputc('\n', stderr);
	}
	free(reply);
out:
	if (fd >= 0)
		close(fd);
	free(req);
	return status;
}
