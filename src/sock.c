/* sock.c - a connected stream socket with deadlines: unix and tcp
 * connect, whole-buffer send and deadline-bounded receive (sock.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vcpuctl/sock.h"
#include "vcpuctl/util.h"

static int sock_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

/* err for a failed syscall, with the caller's prefix when there is one. */
static int sock_sys_error(struct vc_err *err, int code, int e,
			  const char *what, const char *call)
{
	if (what)
		return vc_err_errno(err, code, e, "%s: %s", what, call);
	return vc_err_errno(err, code, e, "%s", call);
}

/* A unix connect() only blocks while the listener's backlog is full; then
 * SO_SNDTIMEO bounds the wait, which non-blocking connect() cannot do. */
int sock_connect_unix(const char *path, int timeout_ms, int code,
		      int *conn_errno, struct vc_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 0 };
	int64_t deadline = vc_deadline(timeout_ms);
	struct stat st;
	int left, fd, r, e;

	*conn_errno = 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return vc_err_set(err, code,
				  "%s: socket path longer than %zu bytes", path,
				  sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vc_err_errno(err, code, errno, "%s: socket", path);
	do {
		left = vc_ms_left(deadline);
		if (left >= 0) {
			/* 0 would mean "no limit" to SO_SNDTIMEO. */
			tv.tv_sec = left / 1000;
			tv.tv_usec = (left % 1000) * 1000 + (left == 0);
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		}
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		e = errno;
		close(fd);
		/* A stale socket and a file that is no socket at all both
		 * give ECONNREFUSED (or ENOENT): tell them apart. */
		if ((e == ECONNREFUSED || e == ENOENT) &&
		    stat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
			return vc_err_set(err, code, "%s: not a socket", path);
		*conn_errno = e;
		return vc_err_errno(err, code, e, "%s", path);
	}
	if (sock_set_nonblock(fd) < 0) {
		e = errno;
		close(fd);
		return vc_err_errno(err, code, e, "%s", path);
	}
	return fd;
}

/* Wait for a non-blocking connect() to finish.  Returns 0 or an errno;
 * ETIMEDOUT when the deadline passed. */
static int sock_connect_wait(int fd, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int r, e = 0;

	for (;;) {
		r = poll(&pfd, 1, vc_ms_left(deadline));
		if (r > 0)
			break;
		if (r == 0)
			return ETIMEDOUT;
		if (errno != EINTR)
			return errno;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
		return errno;
	return e;
}

int sock_connect_tcp(const char *host, const char *port, const char *name,
		     int timeout_ms, int code, struct vc_err *err)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_ADDRCONFIG,
	};
	struct addrinfo *res, *ai;
	int64_t deadline = vc_deadline(timeout_ms);
	char secs[32];
	int fd = -1, e = ECONNREFUSED, one = 1, r;

	r = getaddrinfo(host, port, &hints, &res);
	if (r)
		return vc_err_set(err, code, "%s: %s", name,
				  r == EAI_SYSTEM ? strerror(errno)
						  : gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			e = 0;
		else if (errno == EINPROGRESS || errno == EINTR)
			e = sock_connect_wait(fd, deadline);
		else
			e = errno;
		if (e == 0)
			break;
		close(fd);
		fd = -1;
		/* The deadline is for the whole connect, not per address. */
		if (e == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (e == ETIMEDOUT) {
			vc_fmt_secs(secs, sizeof(secs), timeout_ms);
			return vc_err_set(err, code,
					  "%s: no connection within %s s",
					  name, secs);
		}
		return vc_err_errno(err, code, e, "%s", name);
	}
	/* Requests are small and each waits for its reply: Nagle would
	 * only add latency. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int sock_send_all(int fd, const void *buf, size_t len, int64_t deadline,
		  const char *what, int code, struct vc_err *err)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	const char *p = buf;
	ssize_t n;
	int r;

	while (len > 0) {
		/* A peer that died must not kill us with SIGPIPE. */
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n >= 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			return SOCK_CLOSED;
		if (errno != EAGAIN)
			return sock_sys_error(err, code, errno, what, "send");
		r = poll(&pfd, 1, vc_ms_left(deadline));
		if (r < 0 && errno != EINTR)
			return sock_sys_error(err, code, errno, what, "poll");
		if (r == 0)
			return SOCK_TIMEOUT;
	}
	return 0;
}

ssize_t sock_recv(int fd, void *buf, size_t cap, int64_t deadline,
		  const char *what, int code, struct vc_err *err)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int r;

	for (;;) {
		if (vc_stop_interruptible && vc_stop_signal)
			return SOCK_TIMEOUT;
		r = poll(&pfd, 1, vc_ms_left(deadline));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return sock_sys_error(err, code, errno, what, "poll");
		}
		if (r == 0)
			return SOCK_TIMEOUT;
		n = recv(fd, buf, cap, 0);
		if (n > 0)
			return n;
		/* POLLIN can be spurious; the next poll() waits again. */
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno != ECONNRESET)
			return sock_sys_error(err, code, errno, what, "read");
		return SOCK_CLOSED;
	}
}
