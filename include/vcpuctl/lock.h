/* lock.h - one vcpuctl at a time per VM: an exclusive lock keyed by the
 * QMP socket's identity.
 *
 * QEMU serves one client per monitor socket and a second client waits,
 * greeting-less, until the first leaves; two runs that each plan from what
 * they saw would interleave their device_adds.  So a changing command takes
 * this lock BEFORE it connects, and holds it until it has finished
 * (lock_release() or process exit: the lock is an flock(2) on an open file,
 * which the kernel drops when the last descriptor closes).
 *
 * The lock file is <dir>/<dev>-<ino>.lock, from stat(2) of the socket, so
 * "qmp.sock", "./qmp.sock" and a symlink to it name one lock.  A tcp:HOST:PORT
 * socket has no inode; its lock is keyed by the text "HOST:PORT".
 *
 * <dir> is $VCPUCTL_LOCK_DIR when set, else /run/vcpuctl (created 0755),
 * else, when /run is not writable (an unprivileged user), $XDG_RUNTIME_DIR/
 * vcpuctl, else /tmp/vcpuctl-UID.  Runs by different users therefore exclude
 * each other only when they share a directory: see the man page.
 */
#ifndef VCPUCTL_LOCK_H
#define VCPUCTL_LOCK_H

#include <stddef.h>
#include <stdint.h>

#include "vcpuctl/err.h"

#define LOCK_DEFAULT_DIR "/run/vcpuctl"

/* The directory locks live in, created when missing (see above), into
 * buf.  Returns 0, or -1 with err set (VC_EXIT_INTERNAL) when no candidate
 * could be created. */
int lock_dir(char *buf, size_t size, struct vc_err *err);

/* The socket's identity as the lock's file name uses it, into buf:
 * "<dev>-<ino>", or "tcp-HOST_PORT".  Returns what lock_file_for()
 * returns.  The record of pending removals (pending.h) shares it. */
int lock_key_for(const char *spec, char *buf, size_t size, struct vc_err *err);

/* The lock file for QMP socket spec ("PATH", "unix:PATH", "tcp:HOST:PORT")
 * inside dir, into buf.  Returns 1 when a name was made, 0 when the socket
 * cannot be stat()ed (nothing to lock: connecting will report why), or -1
 * with err set (VC_EXIT_INTERNAL: name too long). */
int lock_file_for(const char *spec, const char *dir, char *buf, size_t size,
		  struct vc_err *err);

/* Take the lock for spec, waiting up to timeout_ms (0: try once; < 0: wait
 * forever).  Returns an open file descriptor that holds the lock (O_CLOEXEC),
 * -2 when there is nothing to lock (see lock_file_for), or -1 with err set:
 * VC_EXIT_BUSY "another vcpuctl is changing this VM (lock PATH): gave up
 * after N s", or VC_EXIT_INTERNAL when the lock file cannot be made. */
int lock_acquire(const char *spec, int64_t timeout_ms, struct vc_err *err);

/* Drop a lock lock_acquire() returned; fd < 0 is ignored. */
void lock_release(int fd);

#endif
