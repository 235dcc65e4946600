/* cpulist.c - parsing and printing "0-3,^2"-style CPU lists. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcpuctl/cpulist.h"

/* Upper bound on any list, so a typo cannot ask for a huge bitmap. */
#define CPULIST_MAX_BITS ((size_t)1 << 20)

int cpulist_init(struct cpulist *l, size_t nbits)
{
	l->nbits = nbits;
	l->bits = calloc(nbits / 8 + 1, 1);
	return l->bits ? 0 : -1;
}

void cpulist_free(struct cpulist *l)
{
	if (!l)
		return;
	free(l->bits);
	l->bits = NULL;
	l->nbits = 0;
}

bool cpulist_has(const struct cpulist *l, size_t i)
{
	if (i >= l->nbits)
		return false;
	return l->bits[i / 8] & (1u << (i % 8));
}

void cpulist_set(struct cpulist *l, size_t i)
{
	if (i < l->nbits)
		l->bits[i / 8] |= (unsigned char)(1u << (i % 8));
}

static void cpulist_clear_bit(struct cpulist *l, size_t i)
{
	if (i < l->nbits)
		l->bits[i / 8] &= (unsigned char)~(1u << (i % 8));
}

size_t cpulist_count(const struct cpulist *l)
{
	size_t i, n = 0;

	for (i = 0; i < l->nbits; i++)
		n += cpulist_has(l, i);
	return n;
}

long cpulist_next(const struct cpulist *l, size_t from)
{
	size_t i;

	for (i = from; i < l->nbits; i++)
		if (cpulist_has(l, i))
			return (long)i;
	return -1;
}

/* Digits only: no sign, no space, no hex.  Returns the number of digits
 * read (0 when none), or -1 when the value does not fit. */
static int parse_number(const char *s, size_t len, size_t *out)
{
	size_t i, v = 0;

	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (SIZE_MAX - 9) / 10)
			return -1;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	*out = v;
	return (int)i;
}

/* One item (without its '^'): "N" or "N-M", every number below limit. */
static int parse_item(const char *whole, const char *item, size_t len,
		      size_t limit, size_t *lo, size_t *hi, struct vc_err *err)
{
	size_t used;
	int d;

	*lo = *hi = 0;
	d = parse_number(item, len, lo);
	used = d > 0 ? (size_t)d : 0;
	*hi = *lo;
	if (d > 0 && used < len && item[used] == '-') {
		d = parse_number(item + used + 1, len - used - 1, hi);
		used += 1 + (d > 0 ? (size_t)d : 0);
	}
	if (d < 0)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "cpulist '%s': '%.*s' is too large", whole,
				  (int)len, item);
	if (d == 0 || used != len)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "cpulist '%s': '%.*s' is not N or N-M", whole,
				  (int)len, item);
	if (*lo >= limit || *hi >= limit)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "cpulist '%s': %zu is too large (the highest is %zu)",
				  whole, *lo >= limit ? *lo : *hi, limit - 1);
	if (*hi < *lo)
		return vc_err_set(err, VC_EXIT_USAGE,
				  "cpulist '%s': '%.*s' runs backwards", whole,
				  (int)len, item);
	return 0;
}

int cpulist_parse(const char *s, size_t limit, struct cpulist *out,
		  struct vc_err *err)
{
	const char *item = s, *end;
	size_t len, lo, hi, i;
	bool exclude;

	memset(out, 0, sizeof(*out));
	if (limit == 0 || limit > CPULIST_MAX_BITS)
		return vc_err_set(err, VC_EXIT_INTERNAL,
				  "cpulist '%s': limit %zu out of range", s, limit);
	if (!*s)
		return vc_err_set(err, VC_EXIT_USAGE, "cpulist is empty");
	if (cpulist_init(out, limit))
		return vc_err_set(err, VC_EXIT_INTERNAL, "out of memory");
	for (;;) {
		end = strchr(item, ',');
		len = end ? (size_t)(end - item) : strlen(item);
		exclude = len > 0 && item[0] == '^';
		if (len == 0) {
			vc_err_set(err, VC_EXIT_USAGE,
				   "cpulist '%s': empty item", s);
			goto fail;
		}
		if (parse_item(s, item + exclude, len - exclude, limit,
			       &lo, &hi, err))
			goto fail;
		for (i = lo; i <= hi; i++) {
			if (exclude)
				cpulist_clear_bit(out, i);
			else
				cpulist_set(out, i);
		}
		if (!end)
			break;
		item = end + 1;
	}
	if (cpulist_next(out, 0) < 0) {
		vc_err_set(err, VC_EXIT_USAGE, "cpulist '%s' selects nothing", s);
		goto fail;
	}
	return 0;
fail:
	cpulist_free(out);
	return -1;
}

char *cpulist_format(const struct cpulist *l)
{
	/* Worst case "0,2,4,...": each member needs its digits and a comma. */
	size_t cap = 64, len = 0;
	char *buf = malloc(cap), *nbuf;
	long lo, hi;
	int n;

	if (!buf)
		return NULL;
	buf[0] = '\0';
	for (lo = cpulist_next(l, 0); lo >= 0; lo = cpulist_next(l, (size_t)hi + 1)) {
		hi = lo;
		while ((size_t)hi + 1 < l->nbits && cpulist_has(l, (size_t)hi + 1))
			hi++;
		if (cap - len < 48) {
			cap *= 2;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				free(buf);
				return NULL;
			}
			buf = nbuf;
		}
		if (hi == lo)
			n = snprintf(buf + len, cap - len, "%s%ld",
				     len ? "," : "", lo);
		else
			n = snprintf(buf + len, cap - len, "%s%ld-%ld",
				     len ? "," : "", lo, hi);
		len += (size_t)n;
	}
	return buf;
}
