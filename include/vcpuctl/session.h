/* session.h - one JSON session over a stream: the layer under the QMP
 * client (qmp.c) and the guest agent client (agent.c).
 *
 * A session owns the transport (a connected socket through sock.c, or a
 * caller's transport for tests and fuzzing), the framing (jsonstream.h,
 * with its bounds on size and depth), the --trace lines, sending one
 * command, and decoding a reply into its "return" or an error.  What is
 * each protocol's stays there: QMP's greeting, ids and event queue; the
 * agent's sync.
 *
 * Every wait is bounded by the session timeout.  Statuses of reads are
 * returned as such (SESS_TIMEOUT, SESS_EOF) so each protocol can say what
 * it means for its peer; the words for a peer that hung up or stalls are
 * in struct sess_peer, so both clients speak of their own peer ("QEMU
 * closed the connection", "the guest agent socket was closed").
 */
#ifndef VCPUCTL_SESSION_H
#define VCPUCTL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <jansson.h>

#include "vcpuctl/err.h"
#include "vcpuctl/jsonstream.h"

/* A transport in place of the socket, for the fuzz targets and tests that
 * feed a client from memory.  recv reads up to cap bytes, waiting until
 * deadline (util.h); send takes all len bytes.  Both return sock.h's
 * statuses: bytes read (> 0) or 0 for send, SOCK_CLOSED, SOCK_TIMEOUT. */
struct sess_transport {
	ssize_t (*recv)(void *ctx, void *buf, size_t cap, int64_t deadline);
	int (*send)(void *ctx, const void *buf, size_t len, int64_t deadline);
	void *ctx;
};

/* How a protocol's peer is spoken of, and which exit codes it gets. */
struct sess_peer {
	const char *who;         /* "QEMU": "malformed reply from QEMU" */
	const char *closed;      /* "QEMU closed the connection" */
	const char *stalled;     /* "QEMU did not take the command": a send
	                            that timed out, "... within N s" */
	const char *stalled_why; /* appended to that, or "" */
	const char *framing;     /* a framing error is prefixed "<command>:"
	                            and this, or NULL for nothing more */
	const char *tag;         /* trace lines: "<tag>> json", "<tag>< json" */
	int code;                /* transport and framing errors */
	int reply_code;          /* error replies */
	bool reply_names_command; /* error replies read "<command>: <Class>:
	                            <desc>" rather than "<Class>: <desc>" */
	bool strict_error;       /* an error reply must have string class and
	                            desc; otherwise absent ones are "Error",
	                            "(no description)" */
};

/* Results of reading one message (sess_read_frame, sess_read_msg). */
enum sess_read {
	SESS_EOF = -2,          /* the peer hung up */
	SESS_ERR = -1,          /* err set */
	SESS_TIMEOUT = 0,       /* the deadline passed */
	SESS_MSG = 1,
};

struct sess {
	int fd;                 /* -1: none, or tp in use */
	struct sess_transport tp; /* tp.recv NULL: the fd */
	const struct sess_peer *peer;
	char *name;             /* path or host:port, for messages */
	int timeout_ms;         /* bounds every step; <= 0: none */
	bool closed;            /* the peer hung up; later calls fail at once */
	struct jstream js;
	char *rbuf;             /* SOCK_READ_SIZE bytes */
	char *sbuf;             /* serialised command, reused */
	size_t scap;
	unsigned round_trips;   /* commands sent by sess_command() */
	char err_class[128];    /* class of the last error reply, or "" */
	FILE *trace;            /* owned; NULL: no trace */
};

/* Set up s for peer (borrowed; static in practice), named name (copied),
 * with no transport yet.  Returns 0, or -1 with err (out of memory). */
int sess_init(struct sess *s, const struct sess_peer *peer, const char *name,
	      int timeout_ms, struct vc_err *err);

/* Close the transport and the trace, free what s holds. */
void sess_free(struct sess *s);

/* Connect to the unix socket s->name (sock_connect_unix() with the peer's
 * code; *conn_errno as there). */
int sess_connect_unix(struct sess *s, int *conn_errno, struct vc_err *err);

/* Use tp (copied; ctx stays the caller's) in place of a socket. */
void sess_use_transport(struct sess *s, const struct sess_transport *tp);

/* Append every message to the file path ("a"), line buffered.  Returns 0,
 * or -1 with err (VC_EXIT_USAGE, "--trace PATH: ..."). */
int sess_trace_open(struct sess *s, const char *path, struct vc_err *err);

/* Log one message: "<tag><dir> text" minus insignificant whitespace. */
void sess_trace(struct sess *s, char dir, const char *text, size_t len);

/* Send buf[0, len) within the session timeout.  Returns 0, or -1 with err
 * naming what: "<what>: <peer closed>", "<what>: <peer stalled> within N
 * s<why>", or the syscall's failure.  *status (may be NULL) is sock.h's
 * status of the failure, 0 on success. */
int sess_send(struct sess *s, const char *what, const char *buf, size_t len,
	      int *status, struct vc_err *err);

/* Serialise {"execute": command, "arguments": args, "id": id} and a
 * newline (args and id may be NULL; args borrowed), trace it and send it:
 * one more round trip.  Clears err_class first.  Returns 0, or -1 with
 * err: "<command>: <peer closed>" at once when the peer had hung up,
 * "<command>: cannot encode command" (VC_EXIT_INTERNAL), or sess_send's. */
int sess_command(struct sess *s, const char *command, json_t *args,
		 const char *id, struct vc_err *err);

/* Read what the peer sends into s->rbuf, bypassing the framing, waiting
 * until deadline for the first byte.  Returns the bytes read (> 0),
 * SESS_TIMEOUT, SESS_EOF (s->closed set) or SESS_ERR with err. */
ssize_t sess_recv(struct sess *s, int64_t deadline, struct vc_err *err);

/* Read until one whole message is framed or the deadline passes; *text,
 * *len are its verbatim bytes (borrowed from s->js, valid until the next
 * read).  Traced as it arrives.  Returns a sess_read; SESS_ERR for a
 * framing error or a failed read (err without the command's name). */
int sess_read_frame(struct sess *s, int64_t deadline, const char **text,
		    size_t *len, struct vc_err *err);

/* sess_read_frame() and parse it: *out a new reference to the object. */
int sess_read_msg(struct sess *s, int64_t deadline, json_t **out,
		  struct vc_err *err);

/* Word a failed reply read r for command: "<command>: no reply within N
 * s", "<command>: <peer closed>", or err (from the read) prefixed
 * "<command>:" (and the peer's framing words), with the peer's code. */
void sess_read_error(struct sess *s, const char *command, int r,
		     struct vc_err *err);

/* The value of a reply msg to command: a new reference to its "return";
 * or NULL with err: an error reply (peer->reply_code, its class kept in
 * s->err_class), or one of the wrong shape ("<command>: malformed reply
 * from <who>: ...", peer->code). */
json_t *sess_reply_value(struct sess *s, const char *command, json_t *msg,
			 struct vc_err *err);

#endif
