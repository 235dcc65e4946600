/* peer.h - a scripted QMP peer for unit tests.
 *
 * A forked child listens on a unix socket (or 127.0.0.1), accepts one
 * client and plays a script: send bytes, expect a command, sleep, hang up.
 * Sent text may contain "%ID%", replaced by the id of the command last
 * expected, so replies match whatever ids the client chose.  The child's
 * exit status says whether the client behaved as the script expected.
 */
#ifndef VCPUCTL_TEST_PEER_H
#define VCPUCTL_TEST_PEER_H

#include <sys/types.h>

enum peer_op {
	PEER_END = 0,   /* end of script: wait for the client to hang up */
	PEER_SEND,      /* write text ("%ID%" substituted) */
	PEER_EXPECT,    /* read one message; its "execute" must equal text */
	PEER_SLEEP,     /* pause ms milliseconds */
	PEER_CLOSE,     /* hang up at once */
	PEER_CALL,      /* fn(fd, id) writes whatever it likes */
};

struct peer_step {
	enum peer_op op;
	const char *text;
	int ms;
	void (*fn)(int fd, const char *id);
};

struct peer {
	pid_t pid;
	int port;             /* tcp: the listening port */
	char dir[64];         /* private directory holding the socket */
	char path[100];       /* unix socket path (fits sun_path) */
};

/* Start a peer on a fresh unix socket or on 127.0.0.1:<ephemeral>.
 * Returns 0, or -1 with errno set. */
int peer_start_unix(struct peer *p, const struct peer_step *script);
int peer_start_tcp(struct peer *p, const struct peer_step *script);

/* Wait for the peer to exit and remove its files.  Returns its exit
 * status: 0 when the script ran as written, 2 when a command differed
 * from the script, 3 on early EOF, 4 on other trouble. */
int peer_finish(struct peer *p);

/* Write all of buf to fd; the child's helper, also for PEER_CALL. */
void peer_write_all(int fd, const void *buf, size_t len);

/* A fresh private directory for socket files (mkdtemp); 0 or -1. */
int peer_mkdir(char *dir, size_t size);

#endif
