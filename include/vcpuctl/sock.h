/* sock.h - a connected stream socket with deadlines: the transport of the
 * session layer (session.c) under the QMP and guest agent clients.
 *
 * The socket is non-blocking once connected and every wait is a poll()
 * against a deadline (util.h: -1 is none), so a peer that hangs or dies
 * turns into a status within the caller's timeout.  A hang-up and a
 * timeout come back as statuses, not messages, because each session
 * words them for its own peer ("QEMU closed the connection", "the guest
 * agent socket was closed"); plain syscall failures fill err with the
 * caller's exit code.
 */
#ifndef VCPUCTL_SOCK_H
#define VCPUCTL_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vcpuctl/err.h"

/* One read's worth: large replies (query-qmp-schema, big topologies) come
 * in few syscalls, small ones cost nothing extra. */
#define SOCK_READ_SIZE (64u * 1024)

/* Failures of sock_send_all() and sock_recv(); err is set only for
 * SOCK_ERR. */
enum sock_status {
	SOCK_ERR = -1,          /* a syscall failed: err set with code */
	SOCK_CLOSED = -2,       /* the peer hung up (EOF, EPIPE, ECONNRESET) */
	SOCK_TIMEOUT = -3,      /* the deadline passed */
};

/* Connect to the unix socket path within timeout_ms (<= 0: no limit) and
 * make it non-blocking.  Returns the fd, or -1 with err set (code,
 * "<path>: ...", "<path>: not a socket" for a file that is none).  When
 * connect() itself failed for another reason, *conn_errno is its errno so
 * the caller can reword what it knows better (ENOENT, ECONNREFUSED,
 * EAGAIN: a full backlog); otherwise *conn_errno is 0. */
int sock_connect_unix(const char *path, int timeout_ms, int code,
		      int *conn_errno, struct vc_err *err);

/* Connect to host:port (any address getaddrinfo gives, in turn) within
 * timeout_ms, non-blocking, with TCP_NODELAY.  Returns the fd, or -1 with
 * err set (code, "<name>: ..."; name is what the user wrote). */
int sock_connect_tcp(const char *host, const char *port, const char *name,
		     int timeout_ms, int code, struct vc_err *err);

/* Send all of buf[0, len) before deadline, never raising SIGPIPE.
 * Returns 0 or a sock_status; SOCK_ERR messages are "<what>: send: ..."
 * and "<what>: poll: ...". */
int sock_send_all(int fd, const void *buf, size_t len, int64_t deadline,
		  const char *what, int code, struct vc_err *err);

/* Read what is there into buf (cap bytes), waiting until deadline for the
 * first byte.  Returns the bytes read (> 0) or a sock_status; SOCK_ERR
 * messages are "<what>: poll: ..." and "<what>: read: ...", or without
 * the prefix when what is NULL. */
ssize_t sock_recv(int fd, void *buf, size_t cap, int64_t deadline,
		  const char *what, int code, struct vc_err *err);

#endif
