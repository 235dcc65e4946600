/* pending.c - the record of requested removals (pending.h): its key, its
 * reader (untrusted input), its writer (atomic, bounded) and its
 * reconciliation with QEMU's topology.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "vcpuctl/cpulist.h"
#include "vcpuctl/lock.h"
#include "vcpuctl/pending.h"
#include "vcpuctl/util.h"

#define MAX_VCPU_INDEX (1 << 20)
/* Longer than a year: no timeout anyone typed (stored as such). */
#define MAX_TIMEOUT_MS (1000LL * 86400 * 365)

static void pwarn(struct pending *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void pwarn(struct pending *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vc_msgs_addv(p->warnings, &p->n_warnings, PENDING_MAX_WARNINGS, fmt, ap);
	va_end(ap);
}

int64_t pending_now(void)
{
	return (int64_t)time(NULL);
}

/* Field 22 of /proc/PID/stat: the start time in clock ticks after boot.
 * The command name (field 2) may hold spaces and parentheses, so the
 * count starts after its last ')'.  0 when it cannot be read. */
static unsigned long long proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* p + 2 is field 3 (state). */
	for (p += 2, field = 3; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field == 22 && sscanf(p, "%llu", &start) != 1)
		start = 0;
	return start;
}

/* A unix socket's identity is the lock's "<dev>-<ino>" and when the file
 * was made (its mtime, which neither connections nor chmod/chown
 * change): a socket made later at a reused inode is another socket, so
 * the record of a QEMU that is gone is not even looked at. */
static int socket_key(const char *spec, char *buf, size_t size, struct vc_err *err)
{
	size_t len;
	struct stat st;
	int rc = lock_key_for(spec, buf, size, err), n;

	if (rc <= 0 || !strncmp(spec, "tcp:", 4))
		return rc;
	if (!strncmp(spec, "unix:", 5))
		spec += 5;
	if (stat(spec, &st) < 0)
		return 0;
	len = strlen(buf);
	n = snprintf(buf + len, size - len, "-%lld.%09ld", (long long)st.st_mtim.tv_sec,
		     (long)st.st_mtim.tv_nsec);
	if (n < 0 || (size_t)n >= size - len)
		return vc_err_set(err, VC_EXIT_INTERNAL, "record file name too long");
	return 1;
}

int pending_key_make(const char *spec, pid_t pid, const char *version,
		     struct pending_key *k, struct vc_err *err)
{
	int rc;

	memset(k, 0, sizeof(*k));
	rc = socket_key(spec, k->socket, sizeof(k->socket), err);
	if (rc <= 0)
		return rc;
	if (pid > 0) {
		k->pid = pid;
		k->start = proc_start_time(pid);
	} else {
		/* tcp: no pid to go by; the version at least tells a QEMU
		 * upgraded on the same port apart. */
		snprintf(k->qemu, sizeof(k->qemu), "%s", version ? version : "");
	}
	return 1;
}

static void entries_free(struct pending *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->e[i].device_id);
		free(p->e[i].qom_path);
	}
	free(p->e);
	p->e = NULL;
	p->n = 0;
}

void pending_free(struct pending *p)
{
	size_t i;

	if (!p)
		return;
	entries_free(p);
	for (i = 0; i < p->n_warnings; i++)
		free(p->warnings[i]);
	memset(p, 0, sizeof(*p));
}

/* Printable ASCII, 1..max-1 bytes, no quote or backslash: what QEMU's ids
 * and paths are made of, so a record cannot smuggle anything into a
 * message or a terminal. */
static bool plain_text(const char *s, size_t len, size_t max)
{
	size_t i;

	if (!len || len >= max || strlen(s) != len)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

static bool int_member(json_t *o, const char *key, long long min, long long max,
		       long long *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return *out >= min && *out <= max;
}

static const char *str_member(json_t *o, const char *key, size_t max)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) ||
	    !plain_text(json_string_value(v), json_string_length(v), max))
		return NULL;
	return json_string_value(v);
}

/* One entry; why says what is wrong with it. */
static int parse_entry(json_t *o, struct pending_entry *e, char *why, size_t size)
{
	long long vcpu, count, at, tmo;
	const char *id, *path;

	if (!json_is_object(o) || json_object_size(o) != 6) {
		snprintf(why, size, "not an object of 6 members");
		return -1;
	}
	if (!int_member(o, "vcpu", 0, MAX_VCPU_INDEX - 1, &vcpu) ||
	    !int_member(o, "count", 1, MAX_VCPU_INDEX, &count) ||
	    vcpu + count > MAX_VCPU_INDEX) {
		snprintf(why, size, "'vcpu' and 'count' are not a range of vCPUs");
		return -1;
	}
	if (!int_member(o, "requested_at", 0, INT64_MAX / 2, &at) ||
	    !int_member(o, "timeout_ms", 0, MAX_TIMEOUT_MS, &tmo)) {
		snprintf(why, size, "'requested_at' or 'timeout_ms' is not a time");
		return -1;
	}
	id = str_member(o, "device_id", PENDING_MAX_ID);
	path = str_member(o, "qom_path", PENDING_MAX_PATH);
	if (!id || !path || path[0] != '/') {
		snprintf(why, size, "'device_id' or 'qom_path' is not a device");
		return -1;
	}
	e->vcpu = (int)vcpu;
	e->count = (int)count;
	e->requested_at = at;
	e->timeout_ms = tmo;
	e->device_id = strdup(id);
	e->qom_path = strdup(path);
	if (!e->device_id || !e->qom_path) {
		snprintf(why, size, "out of memory");
		return -1;
	}
	return 0;
}

/* Entries may not overlap: one entity, one entry. */
static bool overlaps(const struct pending *p, const struct pending_entry *e)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (e->vcpu < p->e[i].vcpu + p->e[i].count &&
		    p->e[i].vcpu < e->vcpu + e->count)
			return true;
	return false;
}

static int parse_entries(json_t *arr, struct pending *out, struct vc_err *why)
{
	char what[128];
	json_t *o;
	size_t i;

	if (!json_is_array(arr))
		return vc_err_set(why, VC_EXIT_OK, "not a record: no 'entries' array");
	if (json_array_size(arr) > PENDING_MAX_ENTRIES)
		return vc_err_set(why, VC_EXIT_OK, "not a record: more than %d entries",
				  PENDING_MAX_ENTRIES);
	out->e = calloc(json_array_size(arr) + 1, sizeof(*out->e));
	if (!out->e)
		return vc_err_set(why, VC_EXIT_INTERNAL, "out of memory");
	json_array_foreach(arr, i, o) {
		struct pending_entry *e = &out->e[out->n];

		if (parse_entry(o, e, what, sizeof(what)) < 0) {
			free(e->device_id);
			free(e->qom_path);
			return vc_err_set(why, VC_EXIT_OK, "not a record: entry %zu: %s",
					  i + 1, what);
		}
		if (overlaps(out, e)) {
			free(e->device_id);
			free(e->qom_path);
			return vc_err_set(why, VC_EXIT_OK,
					  "not a record: entry %zu: vCPU %d is listed twice",
					  i + 1, e->vcpu);
		}
		out->n++;
	}
	return 0;
}

/* Whose record it is, against want. */
static int check_owner(json_t *doc, const struct pending_key *want,
		       struct vc_err *why)
{
	const char *sock = json_string_value(json_object_get(doc, "socket"));
	const char *qemu = json_string_value(json_object_get(doc, "qemu_version"));
	long long pid, start;

	if (!sock || !qemu || !int_member(doc, "qemu_pid", 0, INT32_MAX, &pid) ||
	    !int_member(doc, "qemu_start", 0, INT64_MAX, &start))
		return vc_err_set(why, VC_EXIT_OK,
				  "not a record: 'socket', 'qemu_pid', 'qemu_start' or "
				  "'qemu_version' missing");
	if (strcmp(sock, want->socket))
		return vc_err_set(why, VC_EXIT_OK,
				  "of another VM: socket %.64s, not %s",
				  plain_text(sock, strlen(sock), 65) ? sock : "?",
				  want->socket);
	if (pid != want->pid || (unsigned long long)start != want->start)
		return vc_err_set(why, VC_EXIT_OK,
				  "of an earlier QEMU on this socket: pid %lld started at "
				  "tick %lld, not pid %lld started at tick %llu",
				  pid, start, want->pid, want->start);
	if (strcmp(qemu, want->qemu))
		return vc_err_set(why, VC_EXIT_OK,
				  "of another QEMU on this socket: version '%.32s', not '%s'",
				  plain_text(qemu, strlen(qemu), 33) ? qemu : "?",
				  want->qemu);
	return 0;
}

int pending_parse(const char *text, size_t len, const struct pending_key *want,
		  struct pending *out, struct vc_err *why)
{
	json_error_t jerr;
	json_t *doc;
	const char *fmt;
	int rc;

	memset(out, 0, sizeof(*out));
	out->key = *want;
	if (len > PENDING_MAX_BYTES)
		return vc_err_set(why, VC_EXIT_OK, "not a record: more than %d bytes",
				  PENDING_MAX_BYTES);
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return vc_err_set(why, VC_EXIT_OK, "not a record: not JSON (byte %d)",
				  jerr.position);
	fmt = json_string_value(json_object_get(doc, "format"));
	if (!json_is_object(doc) || !fmt || strcmp(fmt, PENDING_FORMAT))
		rc = vc_err_set(why, VC_EXIT_OK, "not a record: 'format' is not '%s'",
				PENDING_FORMAT);
	else
		rc = check_owner(doc, want, why);
	if (rc == 0)
		rc = parse_entries(json_object_get(doc, "entries"), out, why);
	json_decref(doc);
	if (rc < 0) {
		entries_free(out);
		return -1;
	}
	return 0;
}

char *pending_format(const struct pending *p)
{
	json_t *doc, *arr;
	size_t i;
	char *text;

	arr = json_array();
	doc = json_pack("{s:s,s:s,s:I,s:I,s:s,s:o}", "format", PENDING_FORMAT,
			"socket", p->key.socket, "qemu_pid", (json_int_t)p->key.pid,
			"qemu_start", (json_int_t)p->key.start,
			"qemu_version", p->key.qemu, "entries", arr);
	if (!doc)
		return NULL;
	for (i = 0; i < p->n && i < PENDING_MAX_ENTRIES; i++) {
		const struct pending_entry *e = &p->e[i];

		if (json_array_append_new(arr, json_pack("{s:i,s:i,s:s,s:s,s:I,s:I}",
				"vcpu", e->vcpu, "count", e->count,
				"device_id", e->device_id, "qom_path", e->qom_path,
				"requested_at", (json_int_t)e->requested_at,
				"timeout_ms", (json_int_t)e->timeout_ms)) < 0) {
			json_decref(doc);
			return NULL;
		}
	}
	text = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(doc);
	if (text) {
		size_t n = strlen(text);
		char *grown = realloc(text, n + 2);

		if (!grown) {
			free(text);
			return NULL;
		}
		grown[n] = '\n';
		grown[n + 1] = '\0';
		text = grown;
	}
	return text;
}

/* The file's text, after the checks that come before its content. */
static char *read_record(struct pending *p, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT)
			pwarn(p, "record of pending removals %s ignored: %s", p->path,
			      strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pwarn(p, "record of pending removals %s ignored: not a regular file",
		      p->path);
		goto fail;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		pwarn(p, "record of pending removals %s ignored: owned by uid %u, "
		      "neither this user nor root", p->path, (unsigned)st.st_uid);
		goto fail;
	}
	if (st.st_size > PENDING_MAX_BYTES) {
		pwarn(p, "record of pending removals %s ignored: %lld bytes, more than %d",
		      p->path, (long long)st.st_size, PENDING_MAX_BYTES);
		goto fail;
	}
	buf = malloc(PENDING_MAX_BYTES + 1);
	if (!buf)
		goto fail;
	/* The size is read again as it is: a file that grew is cut short
	 * at the bound and then fails to parse. */
	while (got <= PENDING_MAX_BYTES &&
	       (n = read(fd, buf + got, PENDING_MAX_BYTES + 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	*len = got;
	return buf;
fail:
	close(fd);
	return NULL;
}

int pending_load(const char *spec, pid_t pid, const char *version,
		 struct pending *p, struct vc_err *err)
{
	struct pending_key key;
	struct pending got;
	struct vc_err why = { 0 };
	char dir[512], *text;
	size_t len = 0;
	int rc, n;

	memset(p, 0, sizeof(*p));
	rc = pending_key_make(spec, pid, version, &key, err);
	if (rc <= 0)
		return rc;
	p->key = key;
	if (lock_dir(dir, sizeof(dir), err) < 0)
		return -1;
	n = snprintf(p->path, sizeof(p->path), "%s/%s.pending", dir, key.socket);
	if (n < 0 || (size_t)n >= sizeof(p->path))
		return vc_err_set(err, VC_EXIT_INTERNAL, "record file name too long");
	text = read_record(p, &len);
	if (!text)
		return 0;
	rc = pending_parse(text, len, &key, &got, &why);
	free(text);
	if (rc == 0) {
		p->e = got.e;
		p->n = got.n;
	} else if (why.code == VC_EXIT_INTERNAL) {
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	} else {
		pwarn(p, "record of pending removals %s ignored: %s", p->path, why.msg);
	}
	return 0;
}

static void drop_entry(struct pending *p, size_t i)
{
	free(p->e[i].device_id);
	free(p->e[i].qom_path);
	memmove(&p->e[i], &p->e[i + 1], (p->n - i - 1) * sizeof(p->e[0]));
	p->n--;
}

/* Why QEMU's topology contradicts entry e, or NULL when it agrees (the
 * entity may then be online, or gone: *gone says which). */
static const char *contradiction(const struct topology *t,
				 const struct pending_entry *e, bool *gone)
{
	const struct topo_entity *ent;

	*gone = false;
	if ((size_t)e->vcpu >= t->n_vcpus)
		return "this VM has no such vCPU";
	ent = &t->ents[t->vcpus[e->vcpu].entity];
	if (ent->first != e->vcpu || ent->vcpus_count != e->count)
		return "QEMU's entity there holds other vCPUs";
	if (!ent->online) {
		*gone = !topo_leaving(t, e->qom_path);
		return NULL;
	}
	if (strcmp(ent->qom_path, e->qom_path) ||
	    strcmp(topo_entity_device_id(ent), e->device_id))
		return "QEMU has another device there";
	if (!ent->removable)
		return "QEMU says it cannot be unplugged";
	return NULL;
}

void pending_reconcile(struct pending *p, const struct topology *t,
		       size_t *n_done)
{
	size_t i = 0;
	bool gone;

	if (n_done)
		*n_done = 0;
	while (i < p->n) {
		const struct pending_entry *e = &p->e[i];
		const char *why = contradiction(t, e, &gone);

		if (why) {
			pwarn(p, "record of pending removals: vCPU %d (%s) dropped: %s",
			      e->vcpu, e->device_id, why);
		} else if (gone) {
			if (n_done)
				*n_done += (size_t)e->count;
		} else {
			i++;
			continue;
		}
		drop_entry(p, i);
	}
}

const struct pending_entry *pending_find(const struct pending *p, int k)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (k >= p->e[i].vcpu && k < p->e[i].vcpu + p->e[i].count)
			return &p->e[i];
	return NULL;
}

static ssize_t find_entry(const struct pending *p, int first)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->e[i].vcpu == first)
			return (ssize_t)i;
	return -1;
}

static int add_entry(struct pending *p, const struct apply_item *it,
		     int64_t now, int64_t timeout_ms)
{
	struct pending_entry *grown, *e;

	if (p->n == PENDING_MAX_ENTRIES) {
		pwarn(p, "record of pending removals full (%d entries): vCPU %d not "
		      "recorded", PENDING_MAX_ENTRIES, it->first);
		return 0;
	}
	if (strlen(it->device_id) >= PENDING_MAX_ID ||
	    strlen(it->qom_path) >= PENDING_MAX_PATH) {
		pwarn(p, "record of pending removals: vCPU %d not recorded: its device "
		      "id or QOM path is longer than a record holds", it->first);
		return 0;
	}
	grown = realloc(p->e, (p->n + 1) * sizeof(*p->e));
	if (!grown)
		return -1;
	p->e = grown;
	e = &p->e[p->n];
	memset(e, 0, sizeof(*e));
	e->vcpu = it->first;
	e->count = it->count;
	e->requested_at = now;
	e->timeout_ms = timeout_ms <= 0 ? 0 : timeout_ms > MAX_TIMEOUT_MS ?
			MAX_TIMEOUT_MS : timeout_ms;
	e->device_id = strdup(it->device_id);
	e->qom_path = strdup(it->qom_path);
	if (!e->device_id || !e->qom_path) {
		free(e->device_id);
		free(e->qom_path);
		return -1;
	}
	p->n++;
	return 0;
}

int pending_update(struct pending *p, const struct apply_result *r,
		   int64_t now, int64_t timeout_ms, bool resent)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct apply_item *it = &r->items[i];
		ssize_t k;

		if (it->op != PLAN_OP_DEL || !it->device_id || !it->qom_path)
			continue;
		k = find_entry(p, it->first);
		switch (it->state) {
		case APPLY_PENDING:
			if (k >= 0 && resent) {
				p->e[k].requested_at = now;
				p->e[k].timeout_ms = timeout_ms <= 0 ? 0 :
					timeout_ms > MAX_TIMEOUT_MS ? MAX_TIMEOUT_MS : timeout_ms;
			} else if (k < 0 && add_entry(p, it, now, timeout_ms) < 0) {
				return -1;
			}
			break;
		case APPLY_REMOVED:
		case APPLY_REJECTED:
			if (k >= 0)
				drop_entry(p, (size_t)k);
			break;
		default:
			break;
		}
	}
	return 0;
}

static bool path_is_under(const char *path, const char *dev)
{
	size_t n = strlen(dev);

	return !strncmp(path, dev, n) && (path[n] == '\0' || path[n] == '/');
}

bool pending_close(struct pending *p, const char *dev, const char *path)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct pending_entry *e = &p->e[i];

		if ((dev && (!strcmp(dev, e->device_id) || !strcmp(dev, e->qom_path))) ||
		    (path && path_is_under(path, e->qom_path))) {
			drop_entry(p, i);
			return true;
		}
	}
	return false;
}

/* Write all of text to a new file beside p->path, then rename it over. */
static int write_atomic(const char *path, const char *text, struct vc_err *err)
{
	char tmp[1100], dir[1024], *slash;
	size_t len = strlen(text), done = 0;
	int fd, dfd;

	snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return vc_err_errno(err, VC_EXIT_INTERNAL, errno, "record %s", tmp);
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			vc_err_errno(err, VC_EXIT_INTERNAL, n < 0 ? errno : ENOSPC,
				     "record %s", tmp);
			goto fail;
		}
		done += (size_t)n;
	}
	if (fsync(fd) < 0) {
		vc_err_errno(err, VC_EXIT_INTERNAL, errno, "record %s: fsync", tmp);
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		vc_err_errno(err, VC_EXIT_INTERNAL, errno, "record %s", path);
		unlink(tmp);
		return -1;
	}
	/* The rename itself is durable once the directory is. */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return -1;
}

/* Records of earlier sockets at this socket's inode ("<dev>-<ino>-*"
 * beside ours) belong to QEMUs that are gone: under the lock, they go. */
static void remove_earlier(const struct pending *p)
{
	const char *name = strrchr(p->path, '/');
	const char *dash = strrchr(p->key.socket, '-');
	char dir[1024];
	struct dirent *d;
	size_t n;
	DIR *dh;

	if (!name || !dash || !strncmp(p->key.socket, "tcp-", 4))
		return;
	name++;
	n = (size_t)(dash - p->key.socket) + 1;   /* "<dev>-<ino>-" */
	snprintf(dir, sizeof(dir), "%.*s", (int)(name - p->path), p->path);
	dh = opendir(dir);
	if (!dh)
		return;
	while ((d = readdir(dh))) {
		size_t len = strlen(d->d_name);

		if (strncmp(d->d_name, p->key.socket, n) || !strcmp(d->d_name, name) ||
		    len < 8 || strcmp(d->d_name + len - 8, ".pending"))
			continue;
		unlinkat(dirfd(dh), d->d_name, 0);
	}
	closedir(dh);
}

int pending_store(const struct pending *p, struct vc_err *err)
{
	char *text;
	int rc;

	if (!p->path[0])
		return 0;
	remove_earlier(p);
	if (!p->n) {
		if (unlink(p->path) < 0 && errno != ENOENT)
			return vc_err_errno(err, VC_EXIT_INTERNAL, errno, "record %s",
					    p->path);
		return 0;
	}
	text = pending_format(p);
	if (!text)
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	if (strlen(text) > PENDING_MAX_BYTES)
		rc = vc_err_set(err, VC_EXIT_INTERNAL, "record %s: more than %d bytes",
				p->path, PENDING_MAX_BYTES);
	else
		rc = write_atomic(p->path, text, err);
	free(text);
	return rc;
}

int pending_vcpus(const struct pending *p, size_t nbits, struct cpulist *out)
{
	size_t i;
	int k;

	if (cpulist_init(out, nbits ? nbits : 1) < 0)
		return -1;
	for (i = 0; i < p->n; i++)
		for (k = 0; k < p->e[i].count; k++)
			if ((size_t)(p->e[i].vcpu + k) < nbits)
				cpulist_set(out, (size_t)(p->e[i].vcpu + k));
	return 0;
}

int pending_settle(const char *spec, pid_t pid, const char *version,
		   const struct topology *t, const struct apply_result *r,
		   int64_t lock_ms, struct pending *out, struct vc_err *err)
{
	size_t i;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	fd = lock_acquire(spec, lock_ms, err);
	if (fd == -2)
		return 0;     /* no socket, no record */
	if (fd < 0)
		return -1;
	rc = pending_load(spec, pid, version, out, err);
	if (rc == 0) {
		pending_reconcile(out, t, NULL);
		for (i = 0; r && i < r->n; i++)
			if (r->items[i].state == APPLY_REMOVED ||
			    r->items[i].state == APPLY_REJECTED)
				pending_close(out, r->items[i].device_id, NULL);
		rc = pending_store(out, err);
	}
	lock_release(fd);
	return rc;
}

char *pending_vcpus_text(const struct pending *p)
{
	struct cpulist l;
	size_t i, top = 0;
	char *text;

	for (i = 0; i < p->n; i++)
		if ((size_t)(p->e[i].vcpu + p->e[i].count) > top)
			top = (size_t)(p->e[i].vcpu + p->e[i].count);
	if (!top || pending_vcpus(p, top, &l) < 0)
		return NULL;
	text = cpulist_format(&l);
	cpulist_free(&l);
	return text;
}

int64_t pending_age_s(const struct pending_entry *e, int64_t now)
{
	return now > e->requested_at ? now - e->requested_at : 0;
}

bool pending_overdue(const struct pending_entry *e, int64_t now)
{
	return e->timeout_ms > 0 && pending_age_s(e, now) * 1000 > e->timeout_ms;
}
