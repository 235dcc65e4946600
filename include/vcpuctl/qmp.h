/* qmp.h - a QMP client session.
 *
 * Layers, bottom up: a connected stream socket (unix or tcp), JSON framing
 * (jsonstream.h), the greeting and capabilities negotiation, commands with
 * unique ids whose replies are matched by id, and a FIFO of every event
 * that arrived, including those read while a reply was awaited (on pseries
 * DEVICE_DELETED arrives before the device_del reply).
 *
 * Every blocking step is bounded by the session timeout.  QEMU serves one
 * client per monitor socket, so a busy socket connects but never greets; the
 * timeout turns that into an error that says so.
 *
 * All errors are VC_EXIT_CONN except a QMP error reply, which is
 * VC_EXIT_QEMU with the message "<Class>: <desc>".
 */
#ifndef VCPUCTL_QMP_H
#define VCPUCTL_QMP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <jansson.h>

#include "vcpuctl/err.h"

struct qmp;

/* Connect to spec: "unix:PATH", "tcp:HOST:PORT", or a bare path.  Reads the
 * greeting and negotiates capabilities.  timeout_ms bounds connect, the
 * greeting and, later, every reply (<= 0: wait forever).  Returns a new
 * session, or NULL with err set. */
struct qmp *qmp_open(const char *spec, int timeout_ms, struct vc_err *err);

/* Close and free; NULL is fine.  Queued events are dropped. */
void qmp_close(struct qmp *q);

/* QEMU's version from the greeting, e.g. "10.0.2" (borrowed). */
const char *qmp_version(const struct qmp *q);
/* "package" from the greeting, possibly "" (borrowed). */
const char *qmp_package(const struct qmp *q);

/* The peer's pid (SO_PEERCRED on unix sockets), or 0 when unknown. */
pid_t qmp_peer_pid(const struct qmp *q);

/* Run one command and wait for its reply.  args may be NULL; it is
 * borrowed (not stolen).  On success returns a new reference to the value of
 * "return".  On a QMP error reply returns NULL with err->code VC_EXIT_QEMU
 * and msg "<Class>: <desc>"; on transport trouble NULL with VC_EXIT_CONN and
 * a message naming the command ("query-cpus-fast: QEMU closed the
 * connection"). */
json_t *qmp_call(struct qmp *q, const char *command, json_t *args,
		 struct vc_err *err);

/* qmp_call for replies too big to afford a jansson tree (thousands of
 * vCPUs): returns 0 with *text, *len the verbatim text of the "return"
 * value, valid JSON (js_valid), borrowed: valid until the next call on q.
 * Errors are qmp_call's; a reply that is not JSON is VC_EXIT_CONN
 * "<command>: malformed JSON at byte N". */
int qmp_call_text(struct qmp *q, const char *command, json_t *args,
		  const char **text, size_t *len, struct vc_err *err);

/* Class of the last QMP error reply ("GenericError", "DeviceNotFound"...),
 * or "" when the last call did not fail that way (borrowed). */
const char *qmp_last_error_class(const struct qmp *q);

/* Pop the oldest queued event: a new reference to the whole event object
 * ({"event":..., "data":..., "timestamp":...}), or NULL when none. */
json_t *qmp_event_pop(struct qmp *q);

/* The QMP events that concern CPUs, decoded in one place. */
enum qmp_event_kind {
	QMP_EV_OTHER,               /* not about CPUs */
	QMP_EV_DEVICE_DELETED,      /* data.device (may be absent), data.path */
	QMP_EV_UNPLUG_GUEST_ERROR,  /* DEVICE_UNPLUG_GUEST_ERROR: the guest
	                               refused; data.device, data.path */
	QMP_EV_ACPI_OST,            /* ACPI_DEVICE_OST: data.info.device (may
	                               be absent), .source, .status */
};

struct qmp_event {
	enum qmp_event_kind kind;
	const char *name;    /* "DEVICE_DELETED"...; NULL when not a string */
	const char *device;  /* borrowed from raw; NULL when absent */
	const char *path;
	long ost_source;     /* QMP_EV_ACPI_OST; -1 otherwise or absent */
	long ost_status;
	json_t *raw;         /* owned: the whole event as QEMU sent it */
};

/* Decode raw (the reference is taken) into ev.  Anything of the wrong
 * shape decodes as QMP_EV_OTHER, or with NULL / -1 fields. */
void qmp_event_decode(json_t *raw, struct qmp_event *ev);

/* Pop the oldest queued event decoded: 1, or 0 when none. */
int qmp_event_next(struct qmp *q, struct qmp_event *ev);

/* Drop ev's reference to raw. */
void qmp_event_clear(struct qmp_event *ev);

/* Number of queued events. */
size_t qmp_event_count(const struct qmp *q);

/* Read from the socket until at least one event is queued or timeout_ms
 * passes (< 0: no limit; 0: only what is already readable).  Returns 1 when
 * an event is queued, 0 on timeout, -1 with err set on EOF or error.
 * Replies that match no command in flight are dropped. */
int qmp_wait_event(struct qmp *q, int timeout_ms, struct vc_err *err);

/* File descriptor, for callers that poll several sources. */
int qmp_fd(const struct qmp *q);

/* Commands sent on this session after capabilities negotiation (so
 * qmp_capabilities is not counted), for --stats and the benchmark. */
unsigned qmp_round_trips(const struct qmp *q);

/* When non-NULL, every message sent and received is written to trace as
 * "> {json}\n" / "< {json}\n" (VCPUCTL_QMP_TRACE, --trace).  The session
 * takes ownership: qmp_close() closes it. */
void qmp_set_trace(struct qmp *q, FILE *trace);

#endif
