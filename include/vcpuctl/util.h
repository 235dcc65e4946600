/* util.h - small helpers shared by every module: monotonic time,
 * seconds for messages and strict number parsing. */
#ifndef VCPUCTL_UTIL_H
#define VCPUCTL_UTIL_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t vc_now_ms(void);

/* Append a formatted message to msgs (n of at most max kept; owned by
 * the caller): the warnings a module hands back instead of printing.
 * Past max, or out of memory, the message is dropped. */
void vc_msgs_add(char **msgs, size_t *n, size_t max, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void vc_msgs_addv(char **msgs, size_t *n, size_t max, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* Milliseconds left until deadline (>= 0), or -1 when deadline < 0,
 * meaning "no deadline" (poll()'s infinite). */
int vc_ms_left(int64_t deadline);

/* Deadline for a timeout in milliseconds; timeout_ms <= 0 means none (-1). */
int64_t vc_deadline(int64_t timeout_ms);

/* Timeouts in messages as the user wrote them, in seconds: "1", "10",
 * "0.25".  buf of n bytes; 32 is plenty. */
void vc_fmt_secs(char *buf, size_t n, int ms);

/* n in decimal at buf (VC_LL_DIGITS bytes hold any), no NUL; returns
 * the number of bytes.  For hot paths where snprintf costs too much. */
#define VC_LL_DIGITS 20
size_t vc_fmt_ll(char *buf, long long n);

/* Parse a whole decimal integer in [min, max].  Returns false on any
 * junk, sign where none allowed, or overflow. */
bool vc_parse_long(const char *s, long min, long max, long *out);

/* Parse seconds as a non-negative decimal ("5", "0.25") into ms. */
bool vc_parse_seconds(const char *s, int64_t *out_ms);

/* SIGINT, SIGTERM and SIGHUP while a change or a wait runs: instead of
 * ending the process they set vc_stop_signal (the signal's number) and
 * interrupt a blocking wait marked vc_stop_interruptible, so the caller can
 * send no further steps and report what was done.  Idempotent. */
void vc_catch_stop_signals(void);
extern volatile sig_atomic_t vc_stop_signal;
/* Set around a wait that a stop signal may cut short (sock_recv then
 * returns its timeout). */
extern volatile sig_atomic_t vc_stop_interruptible;
/* "SIGTERM" for vc_stop_signal's value, "signal N" for others. */
const char *vc_signal_name(int signo);

#endif
