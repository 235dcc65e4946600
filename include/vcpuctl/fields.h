/* fields.h - the column model: one table of fields per kind of row (a
 * vCPU of show, a guest CPU, a result entry, a plan step, a tuned vCPU),
 * read by one table renderer, one line renderer and one streaming JSON
 * writer, as util-linux's lscpu describes its columns once and prints them
 * as text or JSON.
 *
 * A field has a JSON key (NULL: text only), a column header (NULL: JSON
 * only), a JSON type and an alignment, and a getter that reads row i of a
 * kind-specific context.  The text of a cell comes from the same value
 * unless the field has a text getter of its own (e.g. "online"/"offline"
 * for the bool "online").  Adding a per-row field is one entry in a table.
 *
 * The JSON writer's bytes are jansson's json_dumpf(JSON_COMPACT |
 * JSON_ENSURE_ASCII) of the same document: plain strings and integers are
 * written directly, anything else through jansson.  It writes as it goes,
 * so a show of thousands of vCPUs needs no tree of the whole document.
 */
#ifndef VCPUCTL_FIELDS_H
#define VCPUCTL_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

#include "vcpuctl/err.h"

enum fv_kind {
	FV_ABSENT,   /* the member is left out (JSON), the cell is "-" */
	FV_NULL,     /* null / "-" */
	FV_INT,
	FV_BOOL,
	FV_STR,      /* s: text (borrowed) */
	FV_RAW,      /* s: compact JSON text written as it is (borrowed) */
	FV_JSON,     /* json: a value (borrowed) */
};

#define FV_BUF 256

struct fv {
	enum fv_kind kind;
	long long i;
	bool b;
	const char *s;
	json_t *json;
	bool owned;        /* json is a new reference the writer drops */
	char buf[FV_BUF];  /* scratch a getter may point s at */
};

/* Value setters for getters. */
void fv_int(struct fv *v, long long i);
void fv_int_or_null(struct fv *v, long long i); /* null when i < 0 */
void fv_bool(struct fv *v, bool b);
void fv_str(struct fv *v, const char *s);       /* null when s is NULL */

enum field_type { FT_INT, FT_BOOL, FT_STRING, FT_OBJECT };

enum {
	FIELD_HIDDEN = 1 << 0,  /* not a default table column; -o can name it */
};

struct field {
	const char *key;        /* JSON member, or NULL */
	const char *header;     /* table column, or NULL */
	enum field_type type;   /* JSON type of the member */
	bool right;             /* right-aligned column (numbers) */
	unsigned flags;
	void (*get)(const void *ctx, size_t i, struct fv *v);
	/* Optional: the cell's text when it is not the value's (NULL: "-"). */
	const char *(*text)(const void *ctx, size_t i, char *buf, size_t size);
	/* Optional: whether the column is shown by default for this context
	 * (topology keys that some entity has, ...); NULL: always. */
	bool (*shown)(const void *ctx, const struct field *f);
	const char *help;       /* one line for --help and the man page */
	const char *line;       /* line renderer: printf format with one %s,
	                           used when the cell is not "-"; NULL: none */
	int arg;                /* free for the getter (a topology key, ...) */
	int col;                /* place among the table's columns and the
	                           line's parts (ascending; ties keep table
	                           order), when it differs from the JSON order */
};

struct field_set {
	const struct field *fields;
	size_t n;
};

#define FIELDS_MAX_COLS 32

/* The columns of a table, in order. */
struct field_cols {
	const struct field *col[FIELDS_MAX_COLS];
	size_t n;
};

/* spec NULL: the default columns for ctx.  Else a comma-separated list of
 * headers (case-insensitive), as lscpu -e takes; an unknown name fails
 * with VC_EXIT_USAGE naming it and the known names. */
int fields_select(const struct field_set *set, const char *spec,
		  const void *ctx, struct field_cols *cols, struct vc_err *err);

/* Header and n rows, columns as wide as their widest cell, two spaces
 * apart, no trailing blanks.  Returns 0 or -1 on out of memory. */
int fields_table(const struct field_cols *cols, const void *ctx, size_t n,
		 FILE *f);

/* Row i as one line: each field's "line" format with its cell, for the
 * fields that have one and whose cell is not "-"; then a newline. */
void fields_line(const struct field_set *set, const void *ctx, size_t i,
		 FILE *f);

/* "  NAME  help" lines of the fields that have a header, for --help. */
char *fields_help(const struct field_set *set);

/* ---- streaming JSON writer -------------------------------------------- */

struct jw;

/* A writer on f (borrowed).  NULL on out of memory. */
struct jw *jw_new(FILE *f);
/* Flush, free; returns 0, or -1 when anything failed (out of memory, a
 * write error: the output may then be cut short). */
int jw_end(struct jw *w);

void jw_begin_object(struct jw *w);          /* "{" */
void jw_end_object(struct jw *w);            /* "}" */
void jw_begin_array(struct jw *w);           /* "[" */
void jw_end_array(struct jw *w);             /* "]" */
void jw_key(struct jw *w, const char *key);  /* key: plain ASCII */
/* A member (key NULL inside an array). */
void jw_int(struct jw *w, const char *key, long long n);
void jw_bool(struct jw *w, const char *key, bool b);
void jw_string(struct jw *w, const char *key, const char *s); /* NULL: null */
void jw_newline(struct jw *w);

/* key: [rows 0..n-1], each row an object of every field with a key, in
 * table order (FV_ABSENT leaves the member out). */
void jw_rows(struct jw *w, const char *key, const struct field_set *set,
	     const void *ctx, size_t n);

#endif
