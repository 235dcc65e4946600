/* util.c - monotonic time, seconds for messages and strict number
 * parsing. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vcpuctl/util.h"

int64_t vc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t vc_fmt_ll(char *buf, long long n)
{
	char tmp[VC_LL_DIGITS], *p = tmp + sizeof(tmp);
	unsigned long long u = n < 0 ? 0ull - (unsigned long long)n :
				       (unsigned long long)n;
	size_t len;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (n < 0)
		*--p = '-';
	len = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(buf, p, len);
	return len;
}

void vc_fmt_secs(char *buf, size_t n, int ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, n, "%d", ms / 1000);
	else
		snprintf(buf, n, "%g", ms / 1000.0);
}

int vc_ms_left(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - vc_now_ms();
	if (left < 0)
		return 0;
	if (left > INT_MAX)
		return INT_MAX;
	return (int)left;
}

int64_t vc_deadline(int64_t timeout_ms)
{
	if (timeout_ms <= 0)
		return -1;
	return vc_now_ms() + timeout_ms;
}

bool vc_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s || *s == ' ' || *s == '\t')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool vc_parse_seconds(const char *s, int64_t *out_ms)
{
	char *end;
	double v;

	if (!s || !*s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0 || v > 31536000.0)
		return false;
	*out_ms = (int64_t)(v * 1000.0 + 0.5);
	return true;
}

volatile sig_atomic_t vc_stop_signal;
volatile sig_atomic_t vc_stop_interruptible;

static void on_stop_signal(int signo)
{
	vc_stop_signal = signo;
}

void vc_catch_stop_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	static bool done;
	struct sigaction sa;
	size_t i;

	if (done)
		return;
	done = true;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: poll() must return EINTR */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

const char *vc_signal_name(int signo)
{
	static char buf[32];

	switch (signo) {
	case SIGINT:  return "SIGINT";
	case SIGTERM: return "SIGTERM";
	case SIGHUP:  return "SIGHUP";
	}
	snprintf(buf, sizeof(buf), "signal %d", signo);
	return buf;
}

void vc_msgs_addv(char **msgs, size_t *n, size_t max, const char *fmt, va_list ap)
{
	char *msg;

	if (*n >= max || vasprintf(&msg, fmt, ap) < 0)
		return;
	msgs[(*n)++] = msg;
}

void vc_msgs_add(char **msgs, size_t *n, size_t max, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vc_msgs_addv(msgs, n, max, fmt, ap);
	va_end(ap);
}
