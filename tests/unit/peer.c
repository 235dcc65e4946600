/* peer.c - the scripted QMP peer used by unit tests (see peer.h). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"
#include "vcpuctl/jsonstream.h"

/* The child gives up on a silent client after this long, so a broken test
 * cannot hang the run. */
#define PEER_IDLE_MS 10000

void peer_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(4);
		p += n;
		len -= (size_t)n;
	}
}

int peer_mkdir(char *dir, size_t size)
{
	if (snprintf(dir, size, "/tmp/vcpuctl-unit-XXXXXX") >= (int)size)
		return -1;
	return mkdtemp(dir) ? 0 : -1;
}

static void peer_send(int fd, const char *text, const char *id)
{
	const char *mark;

	while ((mark = strstr(text, "%ID%"))) {
		peer_write_all(fd, text, (size_t)(mark - text));
		peer_write_all(fd, id, strlen(id));
		text = mark + 4;
	}
	peer_write_all(fd, text, strlen(text));
}

/* Read one message; 1, or 0 on EOF/timeout. */
static int peer_read(int fd, struct jstream *js, json_t **msg)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct vc_err err;
	char buf[4096];
	ssize_t n;
	int r;

	for (;;) {
		r = js_next(js, msg, &err);
		if (r < 0)
			_exit(4);
		if (r > 0)
			return 1;
		if (poll(&pfd, 1, PEER_IDLE_MS) <= 0)
			return 0;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return 0;
		if (js_feed(js, buf, (size_t)n, &err) < 0)
			_exit(4);
	}
}

static void peer_sleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void __attribute__((noreturn))
peer_run(int lfd, const struct peer_step *s)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	struct jstream js;
	char id[128] = "";
	json_t *msg, *v;
	char drain[4096];
	int fd;

	if (poll(&pfd, 1, PEER_IDLE_MS) <= 0)
		_exit(4);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		_exit(4);
	close(lfd);
	js_init(&js);
	for (; s->op != PEER_END; s++) {
		switch (s->op) {
		case PEER_SEND:
			peer_send(fd, s->text, id);
			break;
		case PEER_EXPECT:
			if (!peer_read(fd, &js, &msg))
				_exit(3);
			v = json_object_get(msg, "execute");
			if (!json_is_string(v) ||
			    strcmp(json_string_value(v), s->text) != 0)
				_exit(2);
			v = json_object_get(msg, "id");
			snprintf(id, sizeof(id), "%s",
				 json_is_string(v) ? json_string_value(v) : "");
			json_decref(msg);
			break;
		case PEER_SLEEP:
			peer_sleep(s->ms);
			break;
		case PEER_CLOSE:
			close(fd);
			_exit(0);
		case PEER_CALL:
			s->fn(fd, id);
			break;
		case PEER_END:
			break;
		}
	}
	/* Hold the connection until the client is done with it. */
	pfd.fd = fd;
	while (poll(&pfd, 1, PEER_IDLE_MS) > 0 &&
	       read(fd, drain, sizeof(drain)) > 0)
		;
	_exit(0);
}

/* The child listens, not the parent: a unix socket's peer credentials
 * are those of the process that called listen(), and the tests check that
 * qmp_peer_pid() names the server.  Takes lfd. */
static int peer_fork(struct peer *p, int lfd, const struct peer_step *script)
{
	int sync[2];
	char c;
	ssize_t n;

	if (pipe2(sync, O_CLOEXEC) < 0) {
		close(lfd);
		return -1;
	}
	fflush(NULL);
	p->pid = fork();
	if (p->pid < 0) {
		close(sync[0]);
		close(sync[1]);
		close(lfd);
		return -1;
	}
	if (p->pid == 0) {
		close(sync[0]);
		if (listen(lfd, 4) < 0)
			_exit(4);
		if (write(sync[1], "", 1) != 1)
			_exit(4);
		close(sync[1]);
		peer_run(lfd, script);
	}
	close(sync[1]);
	do
		n = read(sync[0], &c, 1);
	while (n < 0 && errno == EINTR);
	close(sync[0]);
	close(lfd);
	return n == 1 ? 0 : -1;
}

int peer_start_unix(struct peer *p, const struct peer_step *script)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd, e;

	memset(p, 0, sizeof(*p));
	if (peer_mkdir(p->dir, sizeof(p->dir)) < 0)
		return -1;
	snprintf(p->path, sizeof(p->path), "%s/qmp.sock", p->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p->path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -1;
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(lfd);
		errno = e;
		return -1;
	}
	return peer_fork(p, lfd, script);
}

int peer_start_tcp(struct peer *p, const struct peer_step *script)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sa);
	int lfd, e;

	memset(p, 0, sizeof(*p));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -1;
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
		e = errno;
		close(lfd);
		errno = e;
		return -1;
	}
	p->port = ntohs(sa.sin_port);
	return peer_fork(p, lfd, script);
}

int peer_finish(struct peer *p)
{
	int status = 0;

	if (p->pid > 0) {
		while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
			;
		p->pid = 0;
	}
	if (p->path[0])
		unlink(p->path);
	if (p->dir[0])
		rmdir(p->dir);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 4;
}
