/* floor.c - the protocol floor for the benchmark: a bare QMP client that
 * sends only the commands an operation needs, over a raw socket.
 *
 *   floor plug SOCKET N       one query-hotpluggable-cpus, device_adds
 *                             until N vCPUs are plugged (lowest free slots,
 *                             ids vcpu<index> as vcpuctl names them), one
 *                             query-cpus-fast
 *   floor unplug1by1 SOCKET N device_del of the highest plugged vCPU, wait
 *                             for its DEVICE_DELETED, then the next, down
 *                             to N: what a one-at-a-time client does
 *   floor unplugbulk SOCKET N every device_del down to N back to back, then
 *                             wait for all the DEVICE_DELETEDs; prints when
 *                             each reply and event came, relative to the
 *                             first device_del ("floor: +12.3 ms ..."), to
 *                             show how the guest spaces its ejects
 *   floor queries SOCKET      query-hotpluggable-cpus and query-cpus-fast,
 *                             replies read and dropped: the server's share
 *                             of "vcpuctl show"
 *
 * No ids, no framing by structure: QEMU sends one message per line, a
 * reply starts with {"return" or {"error", anything else is an event.  That
 * is all a floor needs; vcpuctl itself must be more careful.  Exits 0, or 1
 * with a message on any failure (an error reply, EOF, a bad argument).
 * Prints "floor: qmp_round_trips=N" on stderr, counted as vcpuctl does
 * (qmp_capabilities not counted).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

/* Longest message we take: big synthetic topologies reply in MiBs. */
#define FLOOR_MAX_LINE (64u * 1024 * 1024)

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
	size_t line_end;       /* bytes of the line handed out last */
	unsigned round_trips;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("floor: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* The next line, without its "\r\n", NUL-terminated in place (valid until
 * the next call). */
static char *read_line(struct conn *c)
{
	char *nl;
	ssize_t n;

	if (c->line_end) {
		memmove(c->buf, c->buf + c->line_end, c->len - c->line_end);
		c->len -= c->line_end;
		c->line_end = 0;
	}
	for (;;) {
		nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl) {
			c->line_end = (size_t)(nl - c->buf) + 1;
			*nl = '\0';
			if (nl > c->buf && nl[-1] == '\r')
				nl[-1] = '\0';
			return c->buf;
		}
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 262144;
			if (c->cap > FLOOR_MAX_LINE)
				die("message longer than %u bytes", FLOOR_MAX_LINE);
			c->buf = realloc(c->buf, c->cap);
			if (!c->buf)
				die("out of memory");
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read: %s", strerror(errno));
		if (n == 0)
			die("QEMU closed the connection");
		c->len += (size_t)n;
	}
}

static bool is_reply(const char *line)
{
	return !strncmp(line, "{\"return\"", 9) || !strncmp(line, "{\"error\"", 8);
}

static void send_text(struct conn *c, const char *text)
{
	size_t len = strlen(text), off = 0;
	ssize_t n;

	while (off < len) {
		n = send(c->fd, text + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("send: %s", strerror(errno));
		off += (size_t)n;
	}
}

/* Events that come before a reply are handed to on_event (may be NULL). */
typedef void (*event_fn)(const char *line, void *ctx);

/* Send one command and return its reply line; an error reply is fatal. */
static char *call(struct conn *c, const char *text, event_fn on_event, void *ctx)
{
	char *line;

	send_text(c, text);
	c->round_trips++;
	for (;;) {
		line = read_line(c);
		if (is_reply(line))
			break;
		if (on_event)
			on_event(line, ctx);
	}
	if (line[2] == 'e')
		die("%.*s: %s", (int)strcspn(text, "\n"), text, line);
	return line;
}

static void conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	if (strlen(path) >= sizeof(sa.sun_path))
		die("%s: path too long", path);
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("%s: %s", path, strerror(errno));
	read_line(c);   /* greeting */
	call(c, "{\"execute\":\"qmp_capabilities\"}\n", NULL, NULL);
	c->round_trips = 0;
}

/* query-hotpluggable-cpus, parsed (new reference). */
static json_t *query_hotpluggable(struct conn *c)
{
	json_error_t jerr;
	json_t *msg, *ret;
	char *line;

	line = call(c, "{\"execute\":\"query-hotpluggable-cpus\"}\n", NULL, NULL);
	msg = json_loads(line, 0, &jerr);
	ret = json_incref(json_object_get(msg, "return"));
	json_decref(msg);
	if (!json_is_array(ret))
		die("query-hotpluggable-cpus: no list in the reply");
	return ret;
}

/* Rows of query-hotpluggable-cpus in topology order (QEMU lists the highest
 * first; x86 props are socket, die, core, thread ids). */
static long row_key(json_t *row, const char *prop)
{
	json_t *v = json_object_get(json_object_get(row, "props"), prop);

	return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

static int row_cmp(const void *a, const void *b)
{
	static const char *const keys[] = {
		"drawer-id", "book-id", "socket-id", "die-id", "cluster-id",
		"module-id", "core-id", "thread-id", "node-id",
	};
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	size_t k;

	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		long p = row_key(x, keys[k]), q = row_key(y, keys[k]);

		if (p != q)
			return p < q ? -1 : 1;
	}
	return 0;
}

static json_t **sorted_rows(json_t *list, size_t *n)
{
	json_t **rows;
	size_t i;

	*n = json_array_size(list);
	rows = calloc(*n ? *n : 1, sizeof(*rows));
	if (!rows)
		die("out of memory");
	for (i = 0; i < *n; i++)
		rows[i] = json_array_get(list, i);
	qsort(rows, *n, sizeof(*rows), row_cmp);
	return rows;
}

static void do_plug(struct conn *c, long target)
{
	json_t *list = query_hotpluggable(c), **rows;
	size_t n, i;
	long online = 0;

	rows = sorted_rows(list, &n);
	for (i = 0; i < n; i++)
		online += json_object_get(rows[i], "qom-path") != NULL;
	for (i = 0; i < n && online < target; i++) {
		json_t *args;
		char *cmd, *text;

		if (json_object_get(rows[i], "qom-path"))
			continue;
		args = json_deep_copy(json_object_get(rows[i], "props"));
		json_object_set_new(args, "driver",
				    json_incref(json_object_get(rows[i], "type")));
		if (asprintf(&text, "vcpu%zu", i) < 0)
			die("out of memory");
		json_object_set_new(args, "id", json_string(text));
		free(text);
		text = json_dumps(args, JSON_COMPACT);
		if (!text || asprintf(&cmd, "{\"execute\":\"device_add\",\"arguments\":%s}\n",
				      text) < 0)
			die("out of memory");
		call(c, cmd, NULL, NULL);
		free(cmd);
		free(text);
		json_decref(args);
		online++;
	}
	call(c, "{\"execute\":\"query-cpus-fast\"}\n", NULL, NULL);
	free(rows);
	json_decref(list);
	if (online < target)
		die("only %ld vCPUs can be plugged", online);
}

struct del_wait {
	const char *qom_path;
	bool done;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The bulk wait: which of the n removals are done, and when we started. */
struct bulk_wait {
	struct del_wait *w;
	size_t n, left;
	double t0;
};

/* Log every event with its time; mark the removal it finishes. */
static void on_bulk_event(const char *line, void *ctx)
{
	struct bulk_wait *b = ctx;
	json_t *ev = json_loads(line, 0, NULL);
	const char *name = json_string_value(json_object_get(ev, "event"));
	json_t *data = json_object_get(ev, "data");
	json_t *info = json_object_get(data, "info");
	const char *path = json_string_value(json_object_get(data, "path"));
	size_t i, n;

	if (info)
		fprintf(stderr, "floor: +%.1f ms %s %s source %lld status %lld\n",
			now_ms() - b->t0, name,
			json_string_value(json_object_get(info, "device")) ?: "-",
			(long long)json_integer_value(json_object_get(info, "source")),
			(long long)json_integer_value(json_object_get(info, "status")));
	else
		fprintf(stderr, "floor: +%.1f ms %s %s\n", now_ms() - b->t0,
			name ? name : "?", path ? path : "");
	for (i = 0; name && path && !strcmp(name, "DEVICE_DELETED") && i < b->n; i++) {
		n = strlen(b->w[i].qom_path);
		if (!b->w[i].done && !strncmp(path, b->w[i].qom_path, n) &&
		    (path[n] == '\0' || path[n] == '/')) {
			b->w[i].done = true;
			b->left--;
		}
	}
	json_decref(ev);
}

/* DEVICE_DELETED for the device or a path under it (x86 QEMU names only
 * ".../lapic"). */
static void on_deleted(const char *line, void *ctx)
{
	struct del_wait *w = ctx;
	json_t *ev = json_loads(line, 0, NULL);
	const char *name = json_string_value(json_object_get(ev, "event"));
	const char *path = json_string_value(json_object_get(
		json_object_get(ev, "data"), "path"));
	size_t n = strlen(w->qom_path);

	if (name && !strcmp(name, "DEVICE_DELETED") && path &&
	    !strncmp(path, w->qom_path, n) && (path[n] == '\0' || path[n] == '/'))
		w->done = true;
	json_decref(ev);
}

static void do_unplug_1by1(struct conn *c, long target)
{
	json_t *list = query_hotpluggable(c), **rows;
	size_t n, i;
	long online = 0;

	rows = sorted_rows(list, &n);
	for (i = 0; i < n; i++)
		online += json_object_get(rows[i], "qom-path") != NULL;
	for (i = n; i-- > 0 && online > target;) {
		const char *path = json_string_value(json_object_get(rows[i], "qom-path"));
		struct del_wait w = { path, false };
		char *cmd;

		if (!path || strncmp(path, "/machine/peripheral/", 20))
			continue;
		if (asprintf(&cmd, "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"%s\"}}\n",
			     path + 20) < 0)
			die("out of memory");
		call(c, cmd, on_deleted, &w);
		free(cmd);
		while (!w.done)
			on_deleted(read_line(c), &w);
		online--;
	}
	call(c, "{\"execute\":\"query-cpus-fast\"}\n", NULL, NULL);
	free(rows);
	json_decref(list);
	if (online > target)
		die("only down to %ld vCPUs", online);
}

static void do_unplug_bulk(struct conn *c, long target)
{
	json_t *list = query_hotpluggable(c), **rows;
	struct bulk_wait b = { 0 };
	size_t n, i;
	long online = 0;

	rows = sorted_rows(list, &n);
	b.w = calloc(n ? n : 1, sizeof(*b.w));
	if (!b.w)
		die("out of memory");
	for (i = 0; i < n; i++)
		online += json_object_get(rows[i], "qom-path") != NULL;
	b.t0 = now_ms();
	for (i = n; i-- > 0 && online > target;) {
		const char *path = json_string_value(json_object_get(rows[i], "qom-path"));
		char *cmd;

		if (!path || strncmp(path, "/machine/peripheral/", 20))
			continue;
		b.w[b.n].qom_path = path;
		b.n++;
		b.left++;
		if (asprintf(&cmd, "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"%s\"}}\n",
			     path + 20) < 0)
			die("out of memory");
		call(c, cmd, on_bulk_event, &b);
		fprintf(stderr, "floor: +%.1f ms device_del %s replied\n",
			now_ms() - b.t0, path + 20);
		free(cmd);
		online--;
	}
	while (b.left)
		on_bulk_event(read_line(c), &b);
	call(c, "{\"execute\":\"query-cpus-fast\"}\n", NULL, NULL);
	free(b.w);
	free(rows);
	json_decref(list);
	if (online > target)
		die("only down to %ld vCPUs", online);
}

int main(int argc, char **argv)
{
	struct conn c;
	long n = 0;

	if (argc < 3 || (strcmp(argv[1], "queries") && argc < 4)) {
		fprintf(stderr, "usage: floor plug|unplug1by1|unplugbulk SOCKET N | floor queries SOCKET\n");
		return 2;
	}
	if (argc >= 4)
		n = strtol(argv[3], NULL, 10);
	conn_open(&c, argv[2]);
	if (!strcmp(argv[1], "plug")) {
		do_plug(&c, n);
	} else if (!strcmp(argv[1], "unplug1by1")) {
		do_unplug_1by1(&c, n);
	} else if (!strcmp(argv[1], "unplugbulk")) {
		do_unplug_bulk(&c, n);
	} else if (!strcmp(argv[1], "queries")) {
		call(&c, "{\"execute\":\"query-hotpluggable-cpus\"}\n", NULL, NULL);
		call(&c, "{\"execute\":\"query-cpus-fast\"}\n", NULL, NULL);
	} else {
		die("unknown mode '%s'", argv[1]);
	}
	fprintf(stderr, "floor: qmp_round_trips=%u\n", c.round_trips);
	close(c.fd);
	free(c.buf);
	return 0;
}
