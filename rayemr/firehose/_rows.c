/* Flat JSON records read straight into Arrow column buffers, for a Firehose routing round.
 *
 * flat_columns(text, n, names, kinds) -> list | None
 *     ``text``: ``n`` records in the plain layout of rayemr.firehose.ndjson (one ``{...}`` a
 *     line, blank lines allowed between them), all ASCII. ``names``: the columns' names
 *     (bytes), ``kinds``: their kinds (the K_* values below). Every record must be a flat
 *     object whose keys are all column names, each at most once, and whose values are null or
 *     of the column's kind in the one spelling this reader knows:
 *
 *       string     "..." with no backslash escape and no control character
 *       int8..64   -?(0|[1-9][0-9]*) in the type's range
 *       double     a JSON number that is finite as a double (correctly rounded;
 *                  underflow gives a subnormal or a signed zero)
 *       boolean    true | false
 *       timestamp  "YYYY-MM-DD HH:MM:SS" (or T for the space), an optional fraction of 1 to 6
 *                  digits, a valid date and time of years 1 to 9999: microseconds since 1970
 *
 *     and then the answer is one entry per column: ``(validity, values, offsets, nulls)``
 *     with Arrow's layout (validity a bitmap or None when no value is null; offsets int32,
 *     strings only, else None; booleans a bitmap). Anything else -- another key, a nested
 *     value, an escape, a number with a fraction for an integer column, a wrong count of
 *     records -- answers None and the caller reads the round with Arrow's JSON reader, whose
 *     table for these records is the same (tests/unit/firehose/test_flat_rows.py checks it
 *     against Arrow). The scan runs without the GIL.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <locale.h>
static locale_t C_LOCALE;  /* doubles read with '.' whatever the process's locale */
#endif

enum { K_STRING, K_INT64, K_INT32, K_INT16, K_INT8, K_DOUBLE, K_BOOL, K_TIMESTAMP_US };
#define MAX_COLUMNS 64

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

static int
buf_reserve(buf_t *b, size_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

typedef struct {
    const char *name;
    Py_ssize_t name_len;
    int kind;
    buf_t validity, values, offsets;
    Py_ssize_t nulls;
} column_t;

static inline const char *
skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

/* A string's body from just after its opening quote: its end (the closing quote), or NULL on
 * an escape, a control character, a byte past ASCII or the text's end. */
static inline const char *
string_end(const char *p, const char *end)
{
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p;
        if (c == '\\' || c < 0x20 || c >= 0x80)
            return NULL;
        p++;
    }
    return NULL;
}

static inline int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A JSON number's end from p, or NULL if none starts there. ``integer``: set when it has no
 * fraction or exponent. */
static const char *
number_end(const char *p, const char *end, int *integer)
{
    const char *q = p;
    *integer = 1;
    if (q < end && *q == '-')
        q++;
    if (q >= end || !is_digit(*q))
        return NULL;
    if (*q == '0')
        q++;
    else
        while (q < end && is_digit(*q))
            q++;
    if (q < end && *q == '.') {
        *integer = 0;
        q++;
        if (q >= end || !is_digit(*q))
            return NULL;
        while (q < end && is_digit(*q))
            q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        *integer = 0;
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q >= end || !is_digit(*q))
            return NULL;
        while (q < end && is_digit(*q))
            q++;
    }
    return q;
}

/* A JSON number (validated by number_end) as a double, when its digits fit in 53 bits and its
 * power of ten in 22: one exact product or quotient of two exact doubles, so correctly
 * rounded (Clinger's fast path); 0 for the others, which strtod reads. */
static int
fast_double(const char *p, const char *q, double *v)
{
    static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                                   1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
                                   1e20, 1e21, 1e22};
    int neg = *p == '-', e10 = 0;
    uint64_t w = 0;
    if (neg)
        p++;
    for (; p < q && is_digit(*p); p++) {
        if (w > (UINT64_C(1) << 53) / 10)
            return 0;
        w = w * 10 + (uint64_t)(*p - '0');
    }
    if (p < q && *p == '.')
        for (p++; p < q && is_digit(*p); p++, e10--) {
            if (w > (UINT64_C(1) << 53) / 10)
                return 0;
            w = w * 10 + (uint64_t)(*p - '0');
        }
    if (p < q) {  /* an exponent */
        int eneg = 0, e = 0;
        p++;
        if (*p == '+' || *p == '-')
            eneg = *p++ == '-';
        for (; p < q; p++) {
            if (e > 1000)
                return 0;
            e = e * 10 + (*p - '0');
        }
        e10 += eneg ? -e : e;
    }
    if (w > (UINT64_C(1) << 53) || e10 < -22 || e10 > 22)
        return 0;
    double d = (double)w;
    d = e10 >= 0 ? d * POW10[e10] : d / POW10[-e10];
    *v = neg ? -d : d;
    return 1;
}

/* The size of a number's written exponent (capped at 10000), 0 if it has none. */
static int
exponent_size(const char *p, const char *q)
{
    while (p < q && *p != 'e' && *p != 'E')
        p++;
    if (p == q)
        return 0;
    p++;
    if (*p == '+' || *p == '-')
        p++;
    int e = 0;
    for (; p < q && e < 10000; p++)
        e = e * 10 + (*p - '0');
    return e;
}

static const int64_t INT_MAX_OF[] = {0, INT64_MAX, INT32_MAX, INT16_MAX, INT8_MAX};
static const int INT_SIZE[] = {0, 8, 4, 2, 1};

/* An integer's digits (validated by number_end) into v; 0 if out of the kind's range. */
static int
parse_int(const char *p, const char *q, int kind, int64_t *v)
{
    int neg = *p == '-';
    if (neg)
        p++;
    uint64_t limit = (uint64_t)INT_MAX_OF[kind] + (uint64_t)neg, acc = 0;
    if (q - p > 19)
        return 0;
    for (; p < q; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (acc > (limit - d) / 10)
            return 0;
        acc = acc * 10 + d;
    }
    *v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 1;
}

static int
digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 1;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* A timestamp's text (between the quotes) into microseconds since the epoch; 0 if it is not
 * in the one spelling read here. */
static int
parse_timestamp(const char *p, const char *q, int64_t *v)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    Py_ssize_t len = q - p;
    int y, mo, d, h, mi, s, frac = 0;
    if (len < 19 || p[4] != '-' || p[7] != '-' || (p[10] != ' ' && p[10] != 'T')
            || p[13] != ':' || p[16] != ':')
        return 0;
    if (!digits(p, 4, &y) || !digits(p + 5, 2, &mo) || !digits(p + 8, 2, &d)
            || !digits(p + 11, 2, &h) || !digits(p + 14, 2, &mi) || !digits(p + 17, 2, &s))
        return 0;
    if (len > 19) {
        Py_ssize_t nf = len - 20;
        if (p[19] != '.' || nf < 1 || nf > 6 || !digits(p + 20, (int)nf, &frac))
            return 0;
        for (Py_ssize_t i = nf; i < 6; i++)
            frac *= 10;
    }
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap))
        return 0;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *v = ((days * 86400 + h * 3600 + mi * 60 + s) * 1000000) + frac;
    return 1;
}

static inline int
set_valid(column_t *c, Py_ssize_t row, int valid)
{
    if ((row & 7) == 0) {
        if (buf_reserve(&c->validity, 1) < 0)
            return -1;
        c->validity.data[c->validity.len++] = 0;
    }
    if (valid)
        c->validity.data[row >> 3] |= (char)(1 << (row & 7));
    else
        c->nulls++;
    return 0;
}

/* The value of column c for row ``row`` from p: its end, NULL if not readable here, or
 * (char *)-1 if memory ran out. */
static const char *
read_value(column_t *c, Py_ssize_t row, const char *p, const char *end)
{
    static const char *const OOM = (const char *)-1;
    int is_null = end - p >= 4 && memcmp(p, "null", 4) == 0;
    if (set_valid(c, row, !is_null) < 0)
        return OOM;
    if (c->kind == K_STRING) {
        if (buf_reserve(&c->offsets, 4) < 0)
            return OOM;
        const char *q = p + 4;
        if (!is_null) {
            if (*p != '"' || (q = string_end(p + 1, end)) == NULL)
                return NULL;
            size_t n = (size_t)(q - p - 1);
            if (c->values.len + n > INT32_MAX || buf_reserve(&c->values, n) < 0)
                return c->values.len + n > INT32_MAX ? NULL : OOM;
            memcpy(c->values.data + c->values.len, p + 1, n);
            c->values.len += n;
            q++;
        }
        int32_t off = (int32_t)c->values.len;
        memcpy(c->offsets.data + c->offsets.len, &off, 4);
        c->offsets.len += 4;
        return q;
    }
    if (c->kind == K_BOOL) {
        if ((row & 7) == 0) {
            if (buf_reserve(&c->values, 1) < 0)
                return OOM;
            c->values.data[c->values.len++] = 0;
        }
        if (is_null)
            return p + 4;
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
            c->values.data[row >> 3] |= (char)(1 << (row & 7));
            return p + 4;
        }
        if (end - p >= 5 && memcmp(p, "false", 5) == 0)
            return p + 5;
        return NULL;
    }
    int size = c->kind == K_DOUBLE || c->kind == K_TIMESTAMP_US ? 8 : INT_SIZE[c->kind];
    if (buf_reserve(&c->values, (size_t)size) < 0)
        return OOM;
    char *slot = c->values.data + c->values.len;
    c->values.len += (size_t)size;
    memset(slot, 0, (size_t)size);
    if (is_null)
        return p + 4;
    if (c->kind == K_TIMESTAMP_US) {
        const char *q;
        int64_t v;
        if (*p != '"' || (q = string_end(p + 1, end)) == NULL || !parse_timestamp(p + 1, q, &v))
            return NULL;
        memcpy(slot, &v, 8);
        return q + 1;
    }
    int integer;
    const char *q = number_end(p, end, &integer);
    if (q == NULL)
        return NULL;
    if (c->kind == K_DOUBLE) {
        double v;
        if (fast_double(p, q, &v)) {
            memcpy(slot, &v, 8);
            return q;
        }
        if (exponent_size(p, q) > 300)  /* rapidjson refuses some, whatever the digits */
            return NULL;
        /* the number is followed by a delimiter (or the bytes' trailing NUL): strtod reads
         * exactly the span number_end checked */
        char *stop;
#ifdef __GLIBC__
        v = strtod_l(p, &stop, C_LOCALE);
#else
        v = strtod(p, &stop);
#endif
        if (stop != q || !isfinite(v))  /* an overflow; an underflow is read, as Arrow does */
            return NULL;
        memcpy(slot, &v, 8);
        return q;
    }
    int64_t v;
    if (!integer || !parse_int(p, q, c->kind, &v))
        return NULL;
    switch (c->kind) {
    case K_INT64: memcpy(slot, &v, 8); break;
    case K_INT32: { int32_t w = (int32_t)v; memcpy(slot, &w, 4); break; }
    case K_INT16: { int16_t w = (int16_t)v; memcpy(slot, &w, 2); break; }
    default: { int8_t w = (int8_t)v; memcpy(slot, &w, 1); break; }
    }
    return q;
}

/* Every record into the columns: 1, 0 (not readable here) or -1 (out of memory). */
static int
scan(const char *p, const char *end, Py_ssize_t n, column_t *cols, int ncols)
{
    static const char *const OOM = (const char *)-1;
    Py_ssize_t row = 0;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
            p++;
        if (p >= end)
            break;
        if (*p != '{' || row >= n)
            return 0;
        p = skip_ws(p + 1, end);
        uint64_t seen = 0;
        if (p < end && *p == '}') {
            p++;
        } else {
            for (;;) {
                if (p >= end || *p != '"')
                    return 0;
                const char *k = p + 1, *ke = string_end(k, end);
                if (ke == NULL)
                    return 0;
                int col = -1;
                for (int i = 0; i < ncols; i++)
                    if (cols[i].name_len == ke - k && memcmp(cols[i].name, k, (size_t)(ke - k)) == 0) {
                        col = i;
                        break;
                    }
                if (col < 0 || (seen >> col) & 1)
                    return 0;
                seen |= (uint64_t)1 << col;
                p = skip_ws(ke + 1, end);
                if (p >= end || *p != ':')
                    return 0;
                p = skip_ws(p + 1, end);
                const char *q = read_value(&cols[col], row, p, end);
                if (q == OOM)
                    return -1;
                if (q == NULL)
                    return 0;
                p = skip_ws(q, end);
                if (p < end && *p == ',') {
                    p = skip_ws(p + 1, end);
                    continue;
                }
                if (p < end && *p == '}') {
                    p++;
                    break;
                }
                return 0;
            }
        }
        p = skip_ws(p, end);
        if (p < end && *p != '\n')  /* one object a line */
            return 0;
        for (int i = 0; i < ncols; i++)  /* the columns it did not name are null */
            if (!((seen >> i) & 1)) {
                const char *q = read_value(&cols[i], row, "null", "null" + 4);
                if (q == OOM)
                    return -1;
            }
        row++;
    }
    return row == n;
}

static PyObject *
bytes_of(buf_t *b)
{
    return PyBytes_FromStringAndSize(b->data ? b->data : "", (Py_ssize_t)b->len);
}

static PyObject *
flat_columns(PyObject *self, PyObject *args)
{
    PyObject *text, *names, *kinds;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "SnO!O!", &text, &n, &PyTuple_Type, &names, &PyTuple_Type,
                          &kinds))
        return NULL;
    Py_ssize_t ncols = PyTuple_GET_SIZE(names);
    if (ncols != PyTuple_GET_SIZE(kinds)) {
        PyErr_SetString(PyExc_ValueError, "names and kinds differ in length");
        return NULL;
    }
    if (ncols < 1 || ncols > MAX_COLUMNS || n < 1)
        Py_RETURN_NONE;
#ifndef __GLIBC__
    {
        const char *point = localeconv()->decimal_point;
        for (Py_ssize_t i = 0; i < ncols; i++)
            if (PyLong_AsLong(PyTuple_GET_ITEM(kinds, i)) == K_DOUBLE && strcmp(point, ".") != 0)
                Py_RETURN_NONE;  /* strtod would not read '.' */
    }
#endif
    column_t cols[MAX_COLUMNS];
    memset(cols, 0, sizeof(cols));
    for (Py_ssize_t i = 0; i < ncols; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        long kind = PyLong_AsLong(PyTuple_GET_ITEM(kinds, i));
        if (kind == -1 && PyErr_Occurred())
            return NULL;
        if (!PyBytes_Check(name) || kind < K_STRING || kind > K_TIMESTAMP_US) {
            PyErr_SetString(PyExc_ValueError, "a name is not bytes or a kind is unknown");
            return NULL;
        }
        cols[i].name = PyBytes_AS_STRING(name);
        cols[i].name_len = PyBytes_GET_SIZE(name);
        cols[i].kind = (int)kind;
    }
    const char *p = PyBytes_AS_STRING(text);
    const char *end = p + PyBytes_GET_SIZE(text);
    int ok = 1;
    for (Py_ssize_t i = 0; i < ncols && ok; i++)
        if (cols[i].kind == K_STRING) {
            ok = buf_reserve(&cols[i].offsets, (size_t)(n + 1) * 4) == 0;
            if (ok) {
                memset(cols[i].offsets.data, 0, 4);
                cols[i].offsets.len = 4;
            }
        }
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        ok = scan(p, end, n, cols, (int)ncols);
        Py_END_ALLOW_THREADS
    } else {
        ok = -1;
    }
    PyObject *out = NULL;
    if (ok == 1 && (out = PyList_New(ncols)) != NULL) {
        for (Py_ssize_t i = 0; i < ncols; i++) {
            column_t *c = &cols[i];
            PyObject *validity = c->nulls ? bytes_of(&c->validity) : Py_NewRef(Py_None);
            PyObject *values = bytes_of(&c->values);
            PyObject *offsets = c->kind == K_STRING ? bytes_of(&c->offsets) : Py_NewRef(Py_None);
            PyObject *entry = (validity && values && offsets)
                ? Py_BuildValue("(NNNn)", validity, values, offsets, c->nulls) : NULL;
            if (entry == NULL) {
                if (!(validity && values && offsets)) {
                    Py_XDECREF(validity);
                    Py_XDECREF(values);
                    Py_XDECREF(offsets);
                }
                Py_CLEAR(out);
                break;
            }
            PyList_SET_ITEM(out, i, entry);
        }
    }
    for (Py_ssize_t i = 0; i < ncols; i++) {
        free(cols[i].validity.data);
        free(cols[i].values.data);
        free(cols[i].offsets.data);
    }
    if (ok == -1)
        return PyErr_NoMemory();
    if (ok == 0)
        Py_RETURN_NONE;
    return out;
}

static PyMethodDef methods[] = {
    {"flat_columns", flat_columns, METH_VARARGS,
     "flat_columns(text, n, names, kinds) -> [(validity, values, offsets, nulls), ...] or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_rows",
    "Flat JSON records into Arrow column buffers (see rayemr/firehose/_rows.c).", -1, methods,
};

PyMODINIT_FUNC
PyInit__rows(void)
{
#ifdef __GLIBC__
    C_LOCALE = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (C_LOCALE == (locale_t)0)
        return PyErr_NoMemory();
#endif
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "K_STRING", K_STRING) < 0
            || PyModule_AddIntConstant(m, "K_INT64", K_INT64) < 0
            || PyModule_AddIntConstant(m, "K_INT32", K_INT32) < 0
            || PyModule_AddIntConstant(m, "K_INT16", K_INT16) < 0
            || PyModule_AddIntConstant(m, "K_INT8", K_INT8) < 0
            || PyModule_AddIntConstant(m, "K_DOUBLE", K_DOUBLE) < 0
            || PyModule_AddIntConstant(m, "K_BOOL", K_BOOL) < 0
            || PyModule_AddIntConstant(m, "K_TIMESTAMP_US", K_TIMESTAMP_US) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
