/* The per-put work of a Firehose delivery stream, in C: what every PutRecordBatch pays
 * before it is answered, so a producer's calls stay cheap while the stream converts.
 *
 * plain_datas(records, max_record) -> (datas, total) | None
 *     The ``Data`` of every record of a PutRecordBatch when ``records`` is a list of dicts
 *     whose ``Data`` are bytes of at most ``max_record`` bytes (the common case): a new list of
 *     those bytes and their total size. None otherwise: the caller checks record by record
 *     (conversions, AWS's errors). The Python fallback is rayemr.firehose.requests._plain_data.
 *
 * sizes(datas) -> (lens, total)
 *     The sizes of a list of bytes as little-endian uint32 values back to back (what the
 *     write-ahead log stores; numpy.frombuffer(lens, "<u4") reads them) and their sum.
 *
 * split(body, lens) -> list
 *     The records sent back to back in ``body``, whose sizes ``lens`` holds as little-endian
 *     uint32 values (a put received on a stream's put port, rayemr.firehose.direct); ValueError
 *     if the sizes do not add up to the body. The Python fallback is rayemr.firehose.direct's
 *     loop of slices.
 *
 * frame(kind, head, lens, datas) -> bytes
 *     One write-ahead log frame: ``<I length><I crc32><B kind>`` then the payload ``head``,
 *     ``lens`` and every record of ``datas`` back to back; the CRC is zlib's crc32 of the
 *     payload. The Python fallback is
 *     rayemr.firehose.wal's join and zlib.crc32.
 *
 * join_plain(records) -> (text, ascii) | None
 *     A routing round's records as one text for Arrow's JSON reader, one record a line, if
 *     every record is ``{...}`` with no newline in it, or every one ``{...}\n`` with no other
 *     newline (the "plain" layout of rayemr.firehose.ndjson): the records joined with
 *     newlines, and whether the text is all ASCII. None otherwise. The scan and the copy run
 *     without the GIL. The Python fallback is rayemr.firehose.ndjson._plain and bytes.isascii.
 *
 * write_held(fd, data, offset, start_writeback=False)
 *     ``os.pwrite`` of all of ``data`` with the GIL held: for a log frame written over a
 *     segment's preallocated zeros (a copy into the page cache), so a producer does not let go
 *     of the GIL mid-put and wait for the flusher to hand it back (rayemr.firehose.logfile).
 *     With ``start_writeback`` (Linux), the written range's writeback to the disk is started
 *     at once (``sync_file_range(SYNC_FILE_RANGE_WRITE)``, which does not wait for it), so the
 *     ``fdatasync`` that follows the put's other work finds the data on its way; a hint only:
 *     durability still comes from that ``fdatasync``, which reports any error.
 *
 * recv_request(fd, max_records, max_call, max_record) -> tuple
 *     One request of a put port's wire format (rayemr.firehose.direct) read from the blocking
 *     socket ``fd``, every receive without the GIL: the head (``b"PUT1"``, records, bytes in
 *     all, token), then -- if the head is within the limits -- the records' sizes, then -- if
 *     none is over ``max_record`` and they add up -- the body, split into its records. Returns
 *     ``(0,)`` if the peer closed before a head began; ``(1, magic, n, total, token)`` if the
 *     magic or the head's limits are wrong (nothing more read); ``(2, magic, n, total, token,
 *     sizes)`` if the sizes are (the body not read); ``(3, magic, n, total, token, sizes,
 *     records)``; ``(4, got, wanted)`` if the peer closed within a request. OSError from a
 *     receive (its timeout included). The Python fallback is rayemr.firehose.direct's reads.
 *
 * record_responses(epoch_ms, first, n) -> list
 *     PutRecordBatch's RequestResponses for ``n`` records taken with sequence numbers from
 *     ``first``: ``[{"RecordId": "%016x%024x" % (epoch_ms, seq)}, ...]``. The Python fallback
 *     is rayemr.firehose.requests.record_responses.
 */
#define _GNU_SOURCE  /* sync_file_range */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>
#include <unistd.h>
#include <errno.h>
#include <sys/socket.h>

static PyObject *DATA_KEY;   /* "Data" */
static PyObject *RECORD_ID;  /* "RecordId" */

static PyObject *
plain_datas(PyObject *self, PyObject *args)
{
    PyObject *records;
    Py_ssize_t max_record;
    if (!PyArg_ParseTuple(args, "On", &records, &max_record))
        return NULL;
    if (!PyList_CheckExact(records))
        Py_RETURN_NONE;
    /* a snapshot: a dict's lookup may run a key's own __eq__, which could change the list */
    PyObject *items = PyList_AsTuple(records);
    if (items == NULL)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(items);
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        Py_DECREF(items);
        return NULL;
    }
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *r = PyTuple_GET_ITEM(items, i);
        if (!PyDict_CheckExact(r))
            goto fallback;
        PyObject *data = PyDict_GetItemWithError(r, DATA_KEY);  /* borrowed */
        if (data == NULL) {
            if (PyErr_Occurred()) {
                Py_DECREF(out);
                Py_DECREF(items);
                return NULL;
            }
            goto fallback;
        }
        if (!PyBytes_CheckExact(data) || PyBytes_GET_SIZE(data) > max_record)
            goto fallback;
        total += PyBytes_GET_SIZE(data);
        Py_INCREF(data);
        PyList_SET_ITEM(out, i, data);
    }
    Py_DECREF(items);
    return Py_BuildValue("(Nn)", out, total);
fallback:
    Py_DECREF(out);
    Py_DECREF(items);
    Py_RETURN_NONE;
}

static int
store_u32(char *at, Py_ssize_t value)
{
    if (value < 0 || (uint64_t)value > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "a record is larger than 4 GiB");
        return -1;
    }
    uint32_t v = (uint32_t)value;
    at[0] = (char)(v & 0xff);
    at[1] = (char)((v >> 8) & 0xff);
    at[2] = (char)((v >> 16) & 0xff);
    at[3] = (char)((v >> 24) & 0xff);
    return 0;
}

static PyObject *
sizes(PyObject *self, PyObject *datas)
{
    if (!PyList_CheckExact(datas)) {
        PyErr_SetString(PyExc_TypeError, "sizes() takes a list of bytes");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(datas);
    PyObject *lens = PyBytes_FromStringAndSize(NULL, 4 * n);
    if (lens == NULL)
        return NULL;
    char *at = PyBytes_AS_STRING(lens);
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d = PyList_GET_ITEM(datas, i);
        if (!PyBytes_CheckExact(d)) {
            Py_DECREF(lens);
            PyErr_SetString(PyExc_TypeError, "sizes() takes a list of bytes");
            return NULL;
        }
        if (store_u32(at + 4 * i, PyBytes_GET_SIZE(d)) < 0) {
            Py_DECREF(lens);
            return NULL;
        }
        total += PyBytes_GET_SIZE(d);
    }
    return Py_BuildValue("(Nn)", lens, total);
}

static PyObject *
split(PyObject *self, PyObject *args)
{
    Py_buffer body, lens;
    if (!PyArg_ParseTuple(args, "y*y*", &body, &lens))
        return NULL;
    PyObject *out = NULL;
    if (lens.len % 4 != 0) {
        PyErr_SetString(PyExc_ValueError, "the sizes are not whole uint32 values");
        goto done;
    }
    Py_ssize_t n = lens.len / 4, pos = 0;
    const unsigned char *l = (const unsigned char *)lens.buf;
    for (Py_ssize_t i = 0; i < n; i++) {  /* first: they must add up to the body */
        uint32_t size = (uint32_t)l[4 * i] | ((uint32_t)l[4 * i + 1] << 8)
            | ((uint32_t)l[4 * i + 2] << 16) | ((uint32_t)l[4 * i + 3] << 24);
        if ((Py_ssize_t)size > body.len - pos) {
            PyErr_SetString(PyExc_ValueError, "the sizes add up to more than the body");
            goto done;
        }
        pos += size;
    }
    if (pos != body.len) {
        PyErr_SetString(PyExc_ValueError, "the sizes add up to less than the body");
        goto done;
    }
    out = PyList_New(n);
    if (out == NULL)
        goto done;
    pos = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t size = (uint32_t)l[4 * i] | ((uint32_t)l[4 * i + 1] << 8)
            | ((uint32_t)l[4 * i + 2] << 16) | ((uint32_t)l[4 * i + 3] << 24);
        PyObject *d = PyBytes_FromStringAndSize((const char *)body.buf + pos, size);
        if (d == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, i, d);
        pos += size;
    }
done:
    PyBuffer_Release(&body);
    PyBuffer_Release(&lens);
    return out;
}

static PyObject *
frame(PyObject *self, PyObject *args)
{
    int kind;
    Py_buffer head, lens;
    PyObject *datas;
    if (!PyArg_ParseTuple(args, "iy*y*O", &kind, &head, &lens, &datas))
        return NULL;
    PyObject *result = NULL;
    if (kind < 0 || kind > 255) {
        PyErr_SetString(PyExc_ValueError, "a frame kind is one byte");
        goto done;
    }
    if (!PyList_CheckExact(datas)) {
        PyErr_SetString(PyExc_TypeError, "frame() takes a list of bytes");
        goto done;
    }
    Py_ssize_t n = PyList_GET_SIZE(datas);
    Py_ssize_t payload = head.len + lens.len;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d = PyList_GET_ITEM(datas, i);
        if (!PyBytes_CheckExact(d)) {
            PyErr_SetString(PyExc_TypeError, "frame() records must be bytes");
            goto done;
        }
        payload += PyBytes_GET_SIZE(d);
    }
    if ((uint64_t)payload > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "a frame is larger than 4 GiB");
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, 9 + payload);
    if (result == NULL)
        goto done;
    char *out = PyBytes_AS_STRING(result);
    uLong crc;
    /* with the GIL held: a put's frame is tens of microseconds of copying, and a producer
     * that let go of the GIL here could wait milliseconds for it while the flusher runs */
    char *at = out + 9;
    memcpy(at, head.buf, (size_t)head.len);
    at += head.len;
    memcpy(at, lens.buf, (size_t)lens.len);
    at += lens.len;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d = PyList_GET_ITEM(datas, i);
        Py_ssize_t size = PyBytes_GET_SIZE(d);
        memcpy(at, PyBytes_AS_STRING(d), (size_t)size);
        at += size;
    }
    /* zlib's crc32 takes an unsigned int length: a frame may be larger, so go in steps */
    crc = crc32(0L, Z_NULL, 0);
    const unsigned char *p = (const unsigned char *)out + 9;
    Py_ssize_t left = payload;
    while (left > 0) {
        uInt step = left > (1 << 30) ? (1u << 30) : (uInt)left;
        crc = crc32(crc, p, step);
        p += step;
        left -= step;
    }
    store_u32(out, payload);
    store_u32(out + 4, (Py_ssize_t)(uint32_t)crc);
    out[8] = (char)kind;
done:
    PyBuffer_Release(&head);
    PyBuffer_Release(&lens);
    return result;
}

/* 0: not plain; 1: "{...}" with no newline; 2: "{...}\n" with no other newline */
static int
plain_kind(const char *p, Py_ssize_t n)
{
    if (n < 2 || p[0] != '{')
        return 0;
    if (p[n - 1] == '}')
        return memchr(p, '\n', (size_t)n) == NULL ? 1 : 0;
    if (n >= 3 && p[n - 1] == '\n' && p[n - 2] == '}')
        return memchr(p, '\n', (size_t)(n - 1)) == NULL ? 2 : 0;
    return 0;
}

static int
all_ascii(const char *p, Py_ssize_t n)
{
    unsigned char acc = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        acc |= (unsigned char)p[i];
    return acc < 0x80;
}

static PyObject *
join_plain(PyObject *self, PyObject *records)
{
    PyObject *items = PySequence_Tuple(records);  /* keeps every record alive without the GIL */
    if (items == NULL)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(items);
    Py_ssize_t size = n > 0 ? n - 1 : 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d = PyTuple_GET_ITEM(items, i);
        if (!PyBytes_CheckExact(d)) {
            Py_DECREF(items);
            Py_RETURN_NONE;
        }
        size += PyBytes_GET_SIZE(d);
    }
    if (n == 0) {
        Py_DECREF(items);
        Py_RETURN_NONE;
    }
    PyObject *text = PyBytes_FromStringAndSize(NULL, size);
    if (text == NULL) {
        Py_DECREF(items);
        return NULL;
    }
    int ok = 1, ascii = 1, kind = -1;
    Py_BEGIN_ALLOW_THREADS
    char *at = PyBytes_AS_STRING(text);
    for (Py_ssize_t i = 0; i < n && ok; i++) {
        PyObject *d = PyTuple_GET_ITEM(items, i);
        const char *p = PyBytes_AS_STRING(d);
        Py_ssize_t len = PyBytes_GET_SIZE(d);
        int k = plain_kind(p, len);
        if (k == 0 || (kind != -1 && k != kind)) {
            ok = 0;
            break;
        }
        kind = k;
        if (ascii)
            ascii = all_ascii(p, len);
        if (i)
            *at++ = '\n';
        memcpy(at, p, (size_t)len);
        at += len;
    }
    Py_END_ALLOW_THREADS
    Py_DECREF(items);
    if (!ok) {
        Py_DECREF(text);
        Py_RETURN_NONE;
    }
    return Py_BuildValue("(NO)", text, ascii ? Py_True : Py_False);
}

static PyObject *
write_held(PyObject *self, PyObject *args)
{
    int fd, start_writeback = 0;
    Py_buffer data;
    long long offset;
    if (!PyArg_ParseTuple(args, "iy*L|p", &fd, &data, &offset, &start_writeback))
        return NULL;
    /* the GIL stays held: see the module comment */
    const long long first = offset;
    const char *p = data.buf;
    Py_ssize_t left = data.len;
    while (left > 0) {
        ssize_t n = pwrite(fd, p, (size_t)left, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            PyBuffer_Release(&data);
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        p += n;
        left -= n;
        offset += n;
    }
#ifdef SYNC_FILE_RANGE_WRITE
    if (start_writeback && data.len > 0)  /* a hint: the fdatasync after it reports errors */
        (void)sync_file_range(fd, (off64_t)first, (off64_t)data.len, SYNC_FILE_RANGE_WRITE);
#else
    (void)first;
#endif
    PyBuffer_Release(&data);
    Py_RETURN_NONE;
}

static const char HEX[] = "0123456789abcdef";

static void
hex_into(char *at, uint64_t value, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        at[i] = HEX[value & 0xf];
        value >>= 4;
    }
}

static PyObject *
record_responses(PyObject *self, PyObject *args)
{
    unsigned long long epoch_ms, first;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "KKn", &epoch_ms, &first, &n))
        return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "n must not be negative");
        return NULL;
    }
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    char id[40];
    hex_into(id, epoch_ms, 16);
    /* the sequence number is 24 hex digits: 96 bits; its top 32 are zero below 2**64 */
    memset(id + 16, '0', 8);
    for (Py_ssize_t i = 0; i < n; i++) {
        hex_into(id + 24, (uint64_t)(first + (unsigned long long)i), 16);
        PyObject *s = PyUnicode_FromStringAndSize(id, 40);
        if (s == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyObject *d = PyDict_New();
        if (d == NULL || PyDict_SetItem(d, RECORD_ID, s) < 0) {
            Py_XDECREF(d);
            Py_DECREF(s);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(s);
        PyList_SET_ITEM(out, i, d);
    }
    return out;
}

/* Read exactly n bytes without the GIL: 0, or 1 if the peer closed first (*got: how many came),
 * or -1 with errno set. */
static int
recv_exact(int fd, char *buf, Py_ssize_t n, Py_ssize_t *got)
{
    Py_ssize_t at = 0;
    int rc = 0, err = 0;
    Py_BEGIN_ALLOW_THREADS
    while (at < n) {
        ssize_t k = recv(fd, buf + at, (size_t)(n - at), 0);
        if (k > 0) {
            at += k;
        } else if (k == 0) {
            rc = 1;
            break;
        } else if (errno != EINTR) {
            rc = -1;
            err = errno;
            break;
        }
    }
    Py_END_ALLOW_THREADS
    *got = at;
    if (rc < 0)
        errno = err;
    return rc;
}

static inline uint32_t
load_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16)
        | ((uint32_t)p[3] << 24);
}

static PyObject *
recv_request(PyObject *self, PyObject *args)
{
    int fd;
    Py_ssize_t max_records, max_call, max_record, got;
    if (!PyArg_ParseTuple(args, "innn", &fd, &max_records, &max_call, &max_record))
        return NULL;
    unsigned char head[28];  /* magic 4, n 4, total 4, token 16 */
    int rc = recv_exact(fd, (char *)head, sizeof(head), &got);
    if (rc < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    if (rc > 0)  /* closed between requests, or within a head: the client is done */
        return Py_BuildValue("(i)", 0);
    uint32_t n = load_u32(head + 4), total = load_u32(head + 8);
    PyObject *magic = PyBytes_FromStringAndSize((const char *)head, 4);
    PyObject *token = PyBytes_FromStringAndSize((const char *)head + 12, 16);
    PyObject *sizes = NULL, *body = NULL, *out = NULL;
    if (magic == NULL || token == NULL)
        goto done;
    if (memcmp(head, "PUT1", 4) != 0 || n < 1 || (Py_ssize_t)n > max_records
            || (Py_ssize_t)total > max_call) {
        out = Py_BuildValue("(iOIIO)", 1, magic, n, total, token);
        goto done;
    }
    sizes = PyBytes_FromStringAndSize(NULL, 4 * (Py_ssize_t)n);
    if (sizes == NULL)
        goto done;
    rc = recv_exact(fd, PyBytes_AS_STRING(sizes), 4 * (Py_ssize_t)n, &got);
    if (rc < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        goto done;
    }
    if (rc > 0) {
        out = Py_BuildValue("(inn)", 4, got, 4 * (Py_ssize_t)n);
        goto done;
    }
    const unsigned char *l = (const unsigned char *)PyBytes_AS_STRING(sizes);
    uint64_t sum = 0;
    int over = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t size = load_u32(l + 4 * i);
        if ((Py_ssize_t)size > max_record)
            over = 1;
        sum += size;
    }
    if (over || sum != total) {
        out = Py_BuildValue("(iOIIOO)", 2, magic, n, total, token, sizes);
        goto done;
    }
    body = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
    if (body == NULL)
        goto done;
    rc = recv_exact(fd, PyBytes_AS_STRING(body), (Py_ssize_t)total, &got);
    if (rc < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        goto done;
    }
    if (rc > 0) {
        out = Py_BuildValue("(inn)", 4, got, (Py_ssize_t)total);
        goto done;
    }
    PyObject *records = PyList_New(n);
    if (records == NULL)
        goto done;
    const char *at = PyBytes_AS_STRING(body);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t size = load_u32(l + 4 * i);
        PyObject *d = PyBytes_FromStringAndSize(at, size);
        if (d == NULL) {
            Py_DECREF(records);
            goto done;
        }
        PyList_SET_ITEM(records, i, d);
        at += size;
    }
    out = Py_BuildValue("(iOIIOON)", 3, magic, n, total, token, sizes, records);
done:
    Py_XDECREF(magic);
    Py_XDECREF(token);
    Py_XDECREF(sizes);
    Py_XDECREF(body);
    return out;
}

static PyMethodDef methods[] = {
    {"plain_datas", plain_datas, METH_VARARGS,
     "plain_datas(records, max_record) -> (datas, total) or None"},
    {"sizes", sizes, METH_O, "sizes(datas) -> (little-endian uint32 sizes, total)"},
    {"frame", frame, METH_VARARGS, "frame(kind, head, lens, datas) -> one log frame"},
    {"split", split, METH_VARARGS,
     "split(body, lens) -> the records of body, their sizes little-endian uint32 values"},
    {"write_held", write_held, METH_VARARGS,
     "write_held(fd, data, offset, start_writeback=False): pwrite all of data, the GIL held"},
    {"join_plain", join_plain, METH_O,
     "join_plain(records) -> (newline-joined text, ascii) or None"},
    {"recv_request", recv_request, METH_VARARGS,
     "recv_request(fd, max_records, max_call, max_record) -> a put port's request"},
    {"record_responses", record_responses, METH_VARARGS,
     "record_responses(epoch_ms, first, n) -> [{'RecordId': ...}, ...]"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_puts",
    "A Firehose put's per-record work in C (see rayemr/firehose/_puts.c).", -1, methods,
};

PyMODINIT_FUNC
PyInit__puts(void)
{
    DATA_KEY = PyUnicode_InternFromString("Data");
    RECORD_ID = PyUnicode_InternFromString("RecordId");
    if (DATA_KEY == NULL || RECORD_ID == NULL)
        return NULL;
    return PyModule_Create(&module);
}
