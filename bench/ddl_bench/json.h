/*
 * bench/ddl_bench/json.h — the JSON reader of ddl_bench's JSON lines
 * (json.c), shared by ddl_bench --report and ddl_bench_check.
 */
#ifndef BENCH_DDL_BENCH_JSON_H
#define BENCH_DDL_BENCH_JSON_H

#include <stdbool.h>
#include <stddef.h>

typedef enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
    jtype t;
    double num;
    bool b;
    char *str;           /* J_STR */
    struct jval *items;  /* J_ARR, J_OBJ: values */
    char **keys;         /* J_OBJ: keys[i] names items[i] */
    size_t n;
} jval;

/*
 * Parses line (one JSON object, optional surrounding white space) into *out.
 * Returns NULL, or why it is not one object (then *out is empty).
 */
const char *ddlb_json_parse_line(const char *line, jval *out);
void jfree(jval *v);
/* The member key of object o, or NULL. */
const jval *jget(const jval *o, const char *key);
/* The string / number member key of o: NULL / false when absent or of another type. */
const char *jstr(const jval *o, const char *key);
bool jnum(const jval *o, const char *key, double *out);

#endif
