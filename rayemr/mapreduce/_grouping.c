/* Map-side grouping of (key, value) pairs for the combiner, in C.
 *
 * The loop that feeds an mrjob-style combiner (rayemr.mapreduce.streams.group_pairs) runs
 * once per pair the user's mapper yields; in Python it costs more than the mapper itself.
 * Groups does the same work in C and keeps each key's values run-length encoded: a value
 * that is the very object the key's first value is (the ``1`` of a word count, a constant
 * flag) only bumps a count, any other value goes into the key's list.
 *
 *   g = Groups(types)            # types: set of the types the protocols give back unchanged
 *   g.add(pairs, limit) -> (taken, last, status, item)
 *       takes up to `limit` pairs from the iterator `pairs`; `last` is the last value taken
 *       (a sample for the caller's memory estimate); status 0: `limit` pairs taken,
 *       1: iterator exhausted, 2: `item` is an item this loop does not handle (not a pair
 *       -- a 2-tuple or 2-list --, or a pair with an unhashable key) -- consumed, not counted
 *       in `taken`, for the caller to unpack and group with add_pair.
 *   g.add_pair(gk, key, value)   # one pair grouped under the given group key
 *   g.items() -> [(key, first, count, rest), ...] in first-seen order, and empties g;
 *       the key's values are `first` `count` times followed by the list `rest` (or None).
 *   g.keys, g.held (values kept in lists), g.total (values since the last items()),
 *   g.types_ok (every key and value taken had a type in `types`)
 *
 * Group keys: an exact str key is its own group key; any other key k groups under
 * (type(k), k), so 1, 1.0 and True stay apart (their encodings differ).
 * Exceptions raised by the iterator (the user's mapper) propagate unchanged.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyObject_HEAD
    PyObject *index;  /* dict: group key -> int slot */
    PyObject *types;  /* set */
    Py_ssize_t n, cap;
    PyObject **keys;   /* the user's key of each slot */
    PyObject **first;  /* the first value of each slot */
    Py_ssize_t *count; /* how many values are `first` itself */
    PyObject **rest;   /* list of the other values, or NULL */
    Py_ssize_t held, total;
    int types_ok;
    PyTypeObject *ok_key, *ok_value;
} Groups;

static void
groups_release(Groups *g)
{
    for (Py_ssize_t i = 0; i < g->n; i++) {
        Py_XDECREF(g->keys[i]);
        Py_XDECREF(g->first[i]);
        Py_XDECREF(g->rest[i]);
    }
    g->n = 0;
    g->held = 0;
    g->total = 0;
    if (g->index != NULL)
        PyDict_Clear(g->index);
}

static int
groups_grow(Groups *g)
{
    Py_ssize_t cap = g->cap ? g->cap * 2 : 1024;
    PyObject **keys = PyMem_Realloc(g->keys, cap * sizeof(PyObject *));
    if (keys == NULL)
        goto nomem;
    g->keys = keys;
    PyObject **first = PyMem_Realloc(g->first, cap * sizeof(PyObject *));
    if (first == NULL)
        goto nomem;
    g->first = first;
    Py_ssize_t *count = PyMem_Realloc(g->count, cap * sizeof(Py_ssize_t));
    if (count == NULL)
        goto nomem;
    g->count = count;
    PyObject **rest = PyMem_Realloc(g->rest, cap * sizeof(PyObject *));
    if (rest == NULL)
        goto nomem;
    g->rest = rest;
    g->cap = cap;
    return 0;
nomem:
    PyErr_NoMemory();
    return -1;
}

/* Group value v under group key gk (user key k). 1: done, 0: gk is unhashable (no error
 * set), -1: error. */
static int
groups_put(Groups *g, PyObject *gk, PyObject *k, PyObject *v)
{
    PyObject *slot = PyDict_GetItemWithError(g->index, gk); /* borrowed */
    if (slot != NULL) {
        Py_ssize_t i = PyLong_AS_LONG(slot);
        if (g->first[i] == v) {
            g->count[i]++;
        }
        else {
            if (g->rest[i] == NULL) {
                g->rest[i] = PyList_New(0);
                if (g->rest[i] == NULL)
                    return -1;
            }
            if (PyList_Append(g->rest[i], v) < 0)
                return -1;
            g->held++;
        }
        g->total++;
        return 1;
    }
    if (PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            return 0;
        }
        return -1;
    }
    if (g->n == g->cap && groups_grow(g) < 0)
        return -1;
    Py_ssize_t i = g->n;
    slot = PyLong_FromSsize_t(i);
    if (slot == NULL)
        return -1;
    int rc = PyDict_SetItem(g->index, gk, slot);
    Py_DECREF(slot);
    if (rc < 0)
        return -1;
    Py_INCREF(k);
    g->keys[i] = k;
    Py_INCREF(v);
    g->first[i] = v;
    g->count[i] = 1;
    g->rest[i] = NULL;
    g->n++;
    g->total++;
    return 1;
}

static int
groups_check_type(Groups *g, PyTypeObject **ok, PyObject *obj)
{
    PyTypeObject *t = Py_TYPE(obj);
    if (t == *ok || !g->types_ok)
        return 0;
    int r = PySet_Contains(g->types, (PyObject *)t);
    if (r < 0)
        return -1;
    if (r)
        *ok = t;
    else
        g->types_ok = 0;
    return 0;
}

static PyObject *
groups_add(Groups *g, PyObject *args)
{
    PyObject *it;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "On", &it, &limit))
        return NULL;
    if (!PyIter_Check(it)) {
        PyErr_SetString(PyExc_TypeError, "Groups.add: pairs must be an iterator");
        return NULL;
    }
    iternextfunc next = Py_TYPE(it)->tp_iternext;
    Py_ssize_t taken = 0;
    int status = 0;
    PyObject *last = Py_NewRef(Py_None), *pending = Py_NewRef(Py_None);

    while (taken < limit) {
        PyObject *item = next(it);
        if (item == NULL) {
            if (PyErr_Occurred()) {
                if (!PyErr_ExceptionMatches(PyExc_StopIteration))
                    goto error;
                PyErr_Clear();
            }
            status = 1;
            break;
        }
        PyObject *k, *v;
        if (PyTuple_Check(item) && PyTuple_GET_SIZE(item) == 2) { /* namedtuples too */
            k = PyTuple_GET_ITEM(item, 0);
            v = PyTuple_GET_ITEM(item, 1);
        }
        else if (PyList_CheckExact(item) && PyList_GET_SIZE(item) == 2) {
            k = PyList_GET_ITEM(item, 0);
            v = PyList_GET_ITEM(item, 1);
        }
        else {
            Py_SETREF(pending, item);
            status = 2;
            break;
        }
        /* own the pair's parts: a key's __hash__/__eq__ could change a list item */
        Py_INCREF(k);
        Py_INCREF(v);
        Py_DECREF(item);
        int rc;
        if (PyUnicode_CheckExact(k)) {
            rc = groups_put(g, k, k, v);
        }
        else {
            PyObject *gk = PyTuple_Pack(2, (PyObject *)Py_TYPE(k), k);
            if (gk == NULL) {
                Py_DECREF(k);
                Py_DECREF(v);
                goto error;
            }
            rc = groups_put(g, gk, k, v);
            Py_DECREF(gk);
        }
        if (rc == 0) { /* unhashable key: the caller groups it */
            PyObject *pair = PyTuple_Pack(2, k, v);
            Py_DECREF(k);
            Py_DECREF(v);
            if (pair == NULL)
                goto error;
            Py_SETREF(pending, pair);
            status = 2;
            break;
        }
        if (rc < 0 || groups_check_type(g, &g->ok_key, k) < 0 ||
                groups_check_type(g, &g->ok_value, v) < 0) {
            Py_DECREF(k);
            Py_DECREF(v);
            goto error;
        }
        Py_SETREF(last, v); /* takes the reference */
        Py_DECREF(k);
        taken++;
    }
    PyObject *result = Py_BuildValue("(nOiO)", taken, last, status, pending);
    Py_DECREF(last);
    Py_DECREF(pending);
    return result;

error:
    Py_DECREF(last);
    Py_DECREF(pending);
    return NULL;
}

static PyObject *
groups_add_pair(Groups *g, PyObject *args)
{
    PyObject *gk, *k, *v;
    if (!PyArg_ParseTuple(args, "OOO", &gk, &k, &v))
        return NULL;
    int rc = groups_put(g, gk, k, v);
    if (rc < 0)
        return NULL;
    if (rc == 0) {
        PyErr_SetString(PyExc_TypeError, "Groups.add_pair: unhashable group key");
        return NULL;
    }
    if (groups_check_type(g, &g->ok_key, k) < 0 || groups_check_type(g, &g->ok_value, v) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
groups_items(Groups *g, PyObject *Py_UNUSED(ignored))
{
    PyObject *out = PyList_New(g->n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < g->n; i++) {
        PyObject *t = Py_BuildValue("(OOnO)", g->keys[i], g->first[i], g->count[i],
                                    g->rest[i] ? g->rest[i] : Py_None);
        if (t == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, t);
    }
    groups_release(g);
    return out;
}

static int
groups_init(Groups *g, PyObject *args, PyObject *kwds)
{
    PyObject *types;
    static char *kwlist[] = {"types", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O", kwlist, &types))
        return -1;
    if (!PyAnySet_Check(types)) {
        PyErr_SetString(PyExc_TypeError, "Groups: types must be a set");
        return -1;
    }
    groups_release(g);
    Py_XSETREF(g->types, Py_NewRef(types));
    if (g->index == NULL && (g->index = PyDict_New()) == NULL)
        return -1;
    g->types_ok = 1;
    g->ok_key = g->ok_value = NULL;
    return 0;
}

static void
groups_dealloc(Groups *g)
{
    groups_release(g);
    Py_XDECREF(g->index);
    Py_XDECREF(g->types);
    PyMem_Free(g->keys);
    PyMem_Free(g->first);
    PyMem_Free(g->count);
    PyMem_Free(g->rest);
    Py_TYPE(g)->tp_free((PyObject *)g);
}

static PyObject *
groups_get_keys(Groups *g, void *closure)
{
    return PyLong_FromSsize_t(g->n);
}

static PyObject *
groups_get_held(Groups *g, void *closure)
{
    return PyLong_FromSsize_t(g->held);
}

static PyObject *
groups_get_total(Groups *g, void *closure)
{
    return PyLong_FromSsize_t(g->total);
}

static PyObject *
groups_get_types_ok(Groups *g, void *closure)
{
    return PyBool_FromLong(g->types_ok);
}

static PyMethodDef groups_methods[] = {
    {"add", (PyCFunction)groups_add, METH_VARARGS,
     "add(pairs, limit) -> (taken, last, status, item)"},
    {"add_pair", (PyCFunction)groups_add_pair, METH_VARARGS, "add_pair(gk, key, value)"},
    {"items", (PyCFunction)groups_items, METH_NOARGS,
     "items() -> [(key, first, count, rest)], emptying the groups"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef groups_getset[] = {
    {"keys", (getter)groups_get_keys, NULL, "number of groups", NULL},
    {"held", (getter)groups_get_held, NULL, "values kept in lists", NULL},
    {"total", (getter)groups_get_total, NULL, "values grouped since the last items()", NULL},
    {"types_ok", (getter)groups_get_types_ok, NULL,
     "whether every key and value had a type in `types`", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject GroupsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "rayemr.mapreduce._grouping.Groups",
    .tp_basicsize = sizeof(Groups),
    .tp_dealloc = (destructor)groups_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Map-side groups of (key, value) pairs, values run-length encoded.",
    .tp_methods = groups_methods,
    .tp_getset = groups_getset,
    .tp_init = (initproc)groups_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "rayemr.mapreduce._grouping",
    "Map-side grouping of pairs for the combiner (see streams.group_pairs).", -1, NULL,
};

PyMODINIT_FUNC
PyInit__grouping(void)
{
    if (PyType_Ready(&GroupsType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Groups", (PyObject *)&GroupsType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
