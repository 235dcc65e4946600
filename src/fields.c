/* fields.c - the one table renderer, line renderer and streaming JSON
 * writer over field tables (fields.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vcpuctl/fields.h"
#include "vcpuctl/util.h"

void fv_int(struct fv *v, long long i)
{
	v->kind = FV_INT;
	v->i = i;
}

void fv_int_or_null(struct fv *v, long long i)
{
	v->kind = i >= 0 ? FV_INT : FV_NULL;
	v->i = i;
}

void fv_bool(struct fv *v, bool b)
{
	v->kind = FV_BOOL;
	v->b = b;
}

void fv_str(struct fv *v, const char *s)
{
	v->kind = s ? FV_STR : FV_NULL;
	v->s = s;
}

static void get_value(const struct field *f, const void *ctx, size_t i,
		      struct fv *v)
{
	v->kind = FV_ABSENT;
	v->s = NULL;
	v->json = NULL;
	v->owned = false;
	if (f->get)
		f->get(ctx, i, v);
}

/* The cell's text (borrowed from v, buf or the field), or NULL for "-". */
static const char *cell_text(const struct field *f, const void *ctx, size_t i,
			     struct fv *v, char *buf, size_t size)
{
	if (f->text)
		return f->text(ctx, i, buf, size);
	get_value(f, ctx, i, v);
	switch (v->kind) {
	case FV_INT:
		snprintf(buf, size, "%lld", v->i);
		return buf;
	case FV_BOOL:
		return v->b ? "yes" : "no";
	case FV_STR:
	case FV_RAW:
		return v->s;
	default:
		return NULL;
	}
}

/* Fields in column order (by col, stable); returns how many. */
static size_t by_col(const struct field_set *set, const struct field **out,
		     size_t max)
{
	size_t n = 0, i, j;

	for (i = 0; i < set->n && n < max; i++) {
		for (j = n; j > 0 && out[j - 1]->col > set->fields[i].col; j--)
			out[j] = out[j - 1];
		out[j] = &set->fields[i];
		n++;
	}
	return n;
}

#define FIELDS_MAX 64

int fields_select(const struct field_set *set, const char *spec,
		  const void *ctx, struct field_cols *cols, struct vc_err *err)
{
	const struct field *order[FIELDS_MAX];
	const char *p, *end;
	size_t i, len, n;

	cols->n = 0;
	if (!spec) {
		n = by_col(set, order, FIELDS_MAX);
		for (i = 0; i < n && cols->n < FIELDS_MAX_COLS; i++) {
			const struct field *f = order[i];

			if (f->header && !(f->flags & FIELD_HIDDEN) &&
			    (!f->shown || f->shown(ctx, f)))
				cols->col[cols->n++] = f;
		}
		return 0;
	}
	for (p = spec; ; p = end + 1) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		for (i = 0; i < set->n; i++)
			if (set->fields[i].header &&
			    strlen(set->fields[i].header) == len &&
			    !strncasecmp(set->fields[i].header, p, len))
				break;
		if (i == set->n) {
			char names[512] = "";
			size_t k;

			for (k = 0; k < set->n; k++)
				if (set->fields[k].header) {
					if (names[0])
						strncat(names, ",", sizeof(names) - strlen(names) - 1);
					strncat(names, set->fields[k].header,
						sizeof(names) - strlen(names) - 1);
				}
			return vc_err_set(err, VC_EXIT_USAGE,
					  "--output: unknown column '%.*s'; columns: %s",
					  (int)len, p, names);
		}
		if (cols->n == FIELDS_MAX_COLS)
			return vc_err_set(err, VC_EXIT_USAGE,
					  "--output: more than %d columns", FIELDS_MAX_COLS);
		cols->col[cols->n++] = &set->fields[i];
		if (!end)
			break;
	}
	return 0;
}

#define CELL_MAX 1024

static void print_cell(const struct field_cols *cols, size_t c, const char *s,
		       const size_t *width, FILE *f)
{
	if (c > 0)
		fputs("  ", f);
	if (cols->col[c]->right)
		fprintf(f, "%*s", (int)width[c], s);
	else if (c + 1 == cols->n)
		fputs(s, f);
	else
		fprintf(f, "%-*s", (int)width[c], s);
}

int fields_table(const struct field_cols *cols, const void *ctx, size_t n,
		 FILE *f)
{
	size_t width[FIELDS_MAX_COLS];
	char buf[CELL_MAX];
	struct fv v;
	const char *s;
	size_t c, r, len;

	/* Two passes over the getters instead of a copy of every cell. */
	for (c = 0; c < cols->n; c++)
		width[c] = strlen(cols->col[c]->header);
	for (r = 0; r < n; r++)
		for (c = 0; c < cols->n; c++) {
			s = cell_text(cols->col[c], ctx, r, &v, buf, sizeof(buf));
			len = strlen(s ? s : "-");
			if (len > width[c])
				width[c] = len;
		}
	for (c = 0; c < cols->n; c++)
		print_cell(cols, c, cols->col[c]->header, width, f);
	fputc('\n', f);
	for (r = 0; r < n; r++) {
		for (c = 0; c < cols->n; c++) {
			s = cell_text(cols->col[c], ctx, r, &v, buf, sizeof(buf));
			print_cell(cols, c, s ? s : "-", width, f);
		}
		fputc('\n', f);
	}
	return ferror(f) ? -1 : 0;
}

void fields_line(const struct field_set *set, const void *ctx, size_t i,
		 FILE *f)
{
	const struct field *order[FIELDS_MAX];
	char buf[CELL_MAX];
	struct fv v;
	const char *s;
	size_t k, n = by_col(set, order, FIELDS_MAX);

	for (k = 0; k < n; k++) {
		if (!order[k]->line)
			continue;
		s = cell_text(order[k], ctx, i, &v, buf, sizeof(buf));
		if (s)
			fprintf(f, order[k]->line, s);
	}
	fputc('\n', f);
}

char *fields_help(const struct field_set *set)
{
	const struct field *order[FIELDS_MAX];
	char *text = NULL;
	size_t len = 0, k, n = by_col(set, order, FIELDS_MAX);
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	for (k = 0; k < n; k++)
		if (order[k]->header && order[k]->help)
			fprintf(f, "  %-10s %s\n", order[k]->header, order[k]->help);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- JSON ------------------------------------------------------------ */

#define JW_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII)
#define JW_SIZE (64u * 1024)
#define JW_DEPTH 32

struct jw {
	FILE *f;
	size_t len;
	int depth;
	bool first[JW_DEPTH];  /* no member yet at this level */
	bool after_key;        /* a key was written; its value comes next */
	bool failed;
	char buf[JW_SIZE];
};

struct jw *jw_new(FILE *f)
{
	struct jw *w = malloc(sizeof(*w));

	if (!w)
		return NULL;
	w->f = f;
	w->len = 0;
	w->depth = 0;
	w->first[0] = true;
	w->after_key = false;
	w->failed = false;
	return w;
}

static void jw_flush(struct jw *w)
{
	if (w->len && fwrite(w->buf, 1, w->len, w->f) != w->len)
		w->failed = true;
	w->len = 0;
}

int jw_end(struct jw *w)
{
	int rc;

	if (!w)
		return -1;
	jw_flush(w);
	if (fflush(w->f))
		w->failed = true;
	rc = w->failed ? -1 : 0;
	free(w);
	return rc;
}

static void jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->len + n > JW_SIZE) {
		jw_flush(w);
		if (n > JW_SIZE) {
			if (fwrite(s, 1, n, w->f) != n)
				w->failed = true;
			return;
		}
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void jw_puts(struct jw *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

/* Before a value: the comma between siblings, unless a key led to it. */
static void jw_sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		jw_put(w, ",", 1);
	w->first[w->depth] = false;
}

void jw_key(struct jw *w, const char *key)
{
	jw_sep(w);
	jw_put(w, "\"", 1);
	jw_puts(w, key);
	jw_put(w, "\":", 2);
	w->after_key = true;
}

static void jw_push(struct jw *w, char c)
{
	jw_sep(w);
	jw_put(w, &c, 1);
	if (w->depth + 1 < JW_DEPTH)
		w->depth++;
	else
		w->failed = true;
	w->first[w->depth] = true;
}

static void jw_pop(struct jw *w, char c)
{
	jw_put(w, &c, 1);
	if (w->depth > 0)
		w->depth--;
}

void jw_begin_object(struct jw *w) { jw_push(w, '{'); }
void jw_end_object(struct jw *w) { jw_pop(w, '}'); }
void jw_begin_array(struct jw *w) { jw_push(w, '['); }
void jw_end_array(struct jw *w) { jw_pop(w, ']'); }

void jw_newline(struct jw *w)
{
	jw_put(w, "\n", 1);
}

/* Printable ASCII without '"' or '\\': jansson writes it unescaped. */
static bool jw_plain(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			return false;
	return true;
}

static void jw_dump(struct jw *w, json_t *v)
{
	size_t n;
	char *s;

	n = json_dumpb(v, NULL, 0, JW_FLAGS | JSON_ENCODE_ANY);
	s = n ? malloc(n) : NULL;
	if (s && json_dumpb(v, s, n, JW_FLAGS | JSON_ENCODE_ANY) == n)
		jw_put(w, s, n);
	else
		w->failed = true;
	free(s);
}

static void jw_int_text(struct jw *w, long long n)
{
	char tmp[VC_LL_DIGITS];

	jw_put(w, tmp, vc_fmt_ll(tmp, n));
}

static void jw_value(struct jw *w, const char *key, const struct fv *v)
{
	json_t *j;

	if (v->kind == FV_ABSENT)
		return;
	/* Text jansson refuses (not UTF-8) leaves the member out, as
	 * json_object_set_new() of a NULL value does. */
	if (v->kind == FV_STR && !jw_plain(v->s)) {
		j = json_string(v->s);
		if (!j)
			return;
		if (key)
			jw_key(w, key);
		jw_sep(w);
		jw_dump(w, j);
		json_decref(j);
		return;
	}
	if (key)
		jw_key(w, key);
	jw_sep(w);
	switch (v->kind) {
	case FV_NULL:
		jw_put(w, "null", 4);
		break;
	case FV_INT:
		jw_int_text(w, v->i);
		break;
	case FV_BOOL:
		jw_puts(w, v->b ? "true" : "false");
		break;
	case FV_STR:
		jw_put(w, "\"", 1);
		jw_puts(w, v->s);
		jw_put(w, "\"", 1);
		break;
	case FV_RAW:
		jw_puts(w, v->s);
		break;
	case FV_JSON:
		if (v->json)
			jw_dump(w, v->json);
		else
			jw_put(w, "null", 4);
		break;
	case FV_ABSENT:
		break;
	}
}

void jw_int(struct jw *w, const char *key, long long n)
{
	struct fv v;

	fv_int(&v, n);
	jw_value(w, key, &v);
}

void jw_bool(struct jw *w, const char *key, bool b)
{
	struct fv v;

	fv_bool(&v, b);
	jw_value(w, key, &v);
}

void jw_string(struct jw *w, const char *key, const char *s)
{
	struct fv v;

	fv_str(&v, s);
	jw_value(w, key, &v);
}

static void jw_row(struct jw *w, const struct field_set *set, const void *ctx,
		   size_t i)
{
	struct fv v;
	size_t k;

	jw_begin_object(w);
	for (k = 0; k < set->n; k++) {
		if (!set->fields[k].key)
			continue;
		get_value(&set->fields[k], ctx, i, &v);
		if (v.kind == FV_JSON && v.owned && !v.json)
			w->failed = true;
		jw_value(w, set->fields[k].key, &v);
		if (v.owned)
			json_decref(v.json);
	}
	jw_end_object(w);
}

void jw_rows(struct jw *w, const char *key, const struct field_set *set,
	     const void *ctx, size_t n)
{
	size_t i;

	jw_key(w, key);
	jw_begin_array(w);
	for (i = 0; i < n; i++)
		jw_row(w, set, ctx, i);
	jw_end_array(w);
}
