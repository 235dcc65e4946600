/* lock.c - the per-VM lock: a flock(2) on a file named after the QMP
 * socket's device and inode.
 *
 * flock rather than fcntl locks: an flock belongs to the open file, so it
 * is dropped exactly when the process exits or closes it, and it is not
 * lost when some library closes another descriptor of the same file.  The
 * wait polls LOCK_NB with short sleeps instead of a SIGALRM-interrupted
 * blocking flock, so no signal handler is involved.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vcpuctl/lock.h"
#include "vcpuctl/util.h"

#define LOCK_SLEEP_FIRST_MS 5
#define LOCK_SLEEP_MAX_MS 50

/* A directory we may create lock files in: ours or root's, not a symlink. */
static int dir_usable(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return 0;
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return 0;
	return access(path, W_OK | X_OK) == 0;
}

int lock_dir(char *buf, size_t size, struct vc_err *err)
{
	const char *env = getenv("VCPUCTL_LOCK_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env) {
		/* Asked for by name: create it, but do not second-guess it. */
		if (mkdir(env, 0755) < 0 && errno != EEXIST)
			return vc_err_errno(err, VC_EXIT_INTERNAL, errno,
					    "lock directory %s", env);
		n = snprintf(buf, size, "%s", env);
		goto done;
	}
	if (dir_usable(LOCK_DEFAULT_DIR, 0755)) {
		n = snprintf(buf, size, "%s", LOCK_DEFAULT_DIR);
		goto done;
	}
	if (xdg && *xdg) {
		n = snprintf(buf, size, "%s/vcpuctl", xdg);
		if (n > 0 && (size_t)n < size && dir_usable(buf, 0700))
			goto done;
	}
	n = snprintf(buf, size, "/tmp/vcpuctl-%u", (unsigned)geteuid());
	if (n > 0 && (size_t)n < size && dir_usable(buf, 0700))
		goto done;
	return vc_err_set(err, VC_EXIT_INTERNAL,
			  "no usable lock directory: %s, $XDG_RUNTIME_DIR/vcpuctl and %s "
			  "are missing or not writable", LOCK_DEFAULT_DIR, buf);
done:
	if (n < 0 || (size_t)n >= size)
		return vc_err_set(err, VC_EXIT_INTERNAL, "lock directory name too long");
	return 0;
}

int lock_key_for(const char *spec, char *buf, size_t size, struct vc_err *err)
{
	struct stat st;
	int n;

	if (!strncmp(spec, "tcp:", 4)) {
		char key[256];
		size_t i;

		/* No inode to go by: the text is the identity, made safe for a
		 * file name ("tcp-127.0.0.1_4444"). */
		snprintf(key, sizeof(key), "%s", spec + 4);
		for (i = 0; key[i]; i++)
			if (!((key[i] >= 'a' && key[i] <= 'z') ||
			      (key[i] >= 'A' && key[i] <= 'Z') ||
			      (key[i] >= '0' && key[i] <= '9') ||
			      key[i] == '.' || key[i] == '-'))
				key[i] = '_';
		n = snprintf(buf, size, "tcp-%s", key);
	} else {
		if (!strncmp(spec, "unix:", 5))
			spec += 5;
		if (stat(spec, &st) < 0)
			return 0;
		n = snprintf(buf, size, "%llu-%llu", (unsigned long long)st.st_dev,
			     (unsigned long long)st.st_ino);
	}
	if (n < 0 || (size_t)n >= size)
		return vc_err_set(err, VC_EXIT_INTERNAL, "lock file name too long");
	return 1;
}

int lock_file_for(const char *spec, const char *dir, char *buf, size_t size,
		  struct vc_err *err)
{
	char key[300];
	int n, rc = lock_key_for(spec, key, sizeof(key), err);

	if (rc <= 0)
		return rc;
	n = snprintf(buf, size, "%s/%s.lock", dir, key);
	if (n < 0 || (size_t)n >= size)
		return vc_err_set(err, VC_EXIT_INTERNAL, "lock file name too long");
	return 1;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int lock_acquire(const char *spec, int64_t timeout_ms, struct vc_err *err)
{
	char dir[512], path[1024];
	int64_t deadline = timeout_ms < 0 ? -1 : vc_now_ms() + timeout_ms;
	int delay = LOCK_SLEEP_FIRST_MS;
	int fd, rc;

	if (lock_dir(dir, sizeof(dir), err) < 0)
		return -1;
	rc = lock_file_for(spec, dir, path, sizeof(path), err);
	if (rc <= 0)
		return rc < 0 ? -1 : -2;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno == EACCES)
		/* Another user's lock file: reading is enough for flock. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return vc_err_errno(err, VC_EXIT_INTERNAL, errno, "lock %s", path);
	for (;;) {
		int64_t now;

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			vc_err_errno(err, VC_EXIT_INTERNAL, errno, "lock %s", path);
			close(fd);
			return -1;
		}
		now = vc_now_ms();
		if (deadline >= 0 && now >= deadline)
			break;
		if (deadline >= 0 && deadline - now < delay)
			delay = (int)(deadline - now);
		sleep_ms(delay);
		delay = delay * 2 > LOCK_SLEEP_MAX_MS ? LOCK_SLEEP_MAX_MS : delay * 2;
	}
	close(fd);
	if (timeout_ms % 1000)
		return vc_err_set(err, VC_EXIT_BUSY,
				  "another vcpuctl is changing this VM (lock %s): gave up after %.3f s",
				  path, (double)timeout_ms / 1000.0);
	return vc_err_set(err, VC_EXIT_BUSY,
			  "another vcpuctl is changing this VM (lock %s): gave up after %lld s",
			  path, (long long)(timeout_ms / 1000));
}

void lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
