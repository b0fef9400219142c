/* purposetag._speedups: the optional C accelerator.
 *
 * One type, `Fast`: a callable that looks at its arguments and, when every one
 * is plain (an exact str/bytes/int/float/complex/bool/None, or a small exact
 * list/tuple/dict of those), calls the original C or Python function directly;
 * otherwise it calls the pure-Python implementation (`slow`), which is the
 * reference and handles every case.  Nothing here ever decides about tags: a
 * value this file does not know is "not plain" and goes to Python.
 *
 * A `Fast` binds like a function when it is a class attribute (and is flagged
 * as a method descriptor, so `obj.m(x)` calls it without a bound method).
 * Options:
 *   check_from  positional arguments before this index are not checked
 *               (the instance of a method);
 *   fast_from   positional arguments before this index are not passed to `fast`
 *               (a guard's own `self`);
 *   inner/name  instead of `fast`: call ``getattr(args[0], inner).name(...)``
 *               (a wrapper forwarding to the object it wraps);
 *   when_plain  the fast path only while ``getattr(args[0], when_plain)`` is plain
 *               (None in a wrapper that has not seen tagged data yet; a Template's
 *               ``template`` string);
 *   wrap_type/wrap_attr  the fast result is stored as attribute `wrap_attr` of a
 *               new, uninitialised `wrap_type` instance, which is returned.
 *
 * purposetag works the same without this module (PURPOSETAG_PURE_PYTHON=1 or
 * no compiler): `slow` alone gives the same results, more slowly.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <structmember.h>

/* Containers are walked in C up to this many items in all; more goes to Python. */
#define ITEM_LIMIT 256
#define MAX_STACK 8

static Py_ssize_t max_items = 100000;
static int max_depth = 32;

static int
is_plain(PyObject *o, int depth, Py_ssize_t *budget)
{
    PyTypeObject *t = Py_TYPE(o);
    if (t == &PyUnicode_Type || t == &PyLong_Type || o == Py_None || t == &PyFloat_Type ||
        t == &PyBool_Type || t == &PyBytes_Type || t == &PyComplex_Type) {
        return 1;
    }
    if (depth <= 0) {
        return 0;
    }
    if (t == &PyList_Type || t == &PyTuple_Type) {
        Py_ssize_t n = Py_SIZE(o);
        *budget -= n;
        if (*budget < 0) {
            return 0;
        }
        PyObject **items = (t == &PyList_Type) ? ((PyListObject *)o)->ob_item
                                                : ((PyTupleObject *)o)->ob_item;
        /* no Python code runs here, so the container cannot change under us */
        for (Py_ssize_t i = 0; i < n; i++) {
            if (!is_plain(items[i], depth - 1, budget)) {
                return 0;
            }
        }
        return 1;
    }
    if (t == &PyDict_Type) {
        *budget -= PyDict_GET_SIZE(o);
        if (*budget < 0) {
            return 0;
        }
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (PyDict_Next(o, &pos, &k, &v)) {
            if (!is_plain(k, depth - 1, budget) || !is_plain(v, depth - 1, budget)) {
                return 0;
            }
        }
        return 1;
    }
    return 0;
}

static Py_ssize_t
start_budget(void)
{
    return max_items < ITEM_LIMIT ? max_items : ITEM_LIMIT;
}

typedef struct {
    PyObject_HEAD
    PyObject *fast;
    PyObject *slow;
    PyObject *inner;
    PyObject *name;
    PyObject *when_plain;
    PyObject *wrap_type;
    PyObject *wrap_attr;
    PyObject *dict;
    Py_ssize_t check_from;
    Py_ssize_t fast_from;
    int depth;
    vectorcallfunc vectorcall;
} FastObject;

static PyObject *
fast_call_fast(FastObject *self, PyObject *const *args, Py_ssize_t n, PyObject *kwnames)
{
    Py_ssize_t m = n - self->fast_from;
    if (self->inner == NULL) {
        return PyObject_Vectorcall(self->fast, args + self->fast_from, m, kwnames);
    }
    PyObject *obj = PyObject_GetAttr(args[0], self->inner);
    if (obj == NULL) {
        return NULL;
    }
    PyObject *res;
    if (self->name == NULL) {
        res = PyObject_Vectorcall(obj, args + self->fast_from, m, kwnames);
    }
    else {
        Py_ssize_t nk = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
        PyObject *stack[MAX_STACK];
        /* the caller checked that 1 + m + nk fits */
        stack[0] = obj;
        for (Py_ssize_t i = 0; i < m + nk; i++) {
            stack[i + 1] = args[self->fast_from + i];
        }
        res = PyObject_VectorcallMethod(self->name, stack, (size_t)(m + 1), kwnames);
    }
    Py_DECREF(obj);
    return res;
}

static PyObject *
fast_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    FastObject *self = (FastObject *)op;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nk = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (n < self->check_from || n < self->fast_from) {
        goto slow;
    }
    if (self->inner != NULL || self->when_plain != NULL) {
        if (n < 1) {
            goto slow;
        }
        if (self->name != NULL && 1 + (n - self->fast_from) + nk > MAX_STACK) {
            goto slow;
        }
    }
    Py_ssize_t budget = start_budget();
    int depth = self->depth < max_depth ? self->depth : max_depth;
    for (Py_ssize_t i = self->check_from; i < n; i++) {
        if (!is_plain(args[i], depth, &budget)) {
            goto slow;
        }
    }
    for (Py_ssize_t j = 0; j < nk; j++) {
        if (Py_TYPE(PyTuple_GET_ITEM(kwnames, j)) != &PyUnicode_Type ||
            !is_plain(args[n + j], depth, &budget)) {
            goto slow;
        }
    }
    if (self->when_plain != NULL) {
        PyObject *v = PyObject_GetAttr(args[0], self->when_plain);
        if (v == NULL) {
            PyErr_Clear();
            goto slow;
        }
        int ok = is_plain(v, depth, &budget);
        Py_DECREF(v);
        if (!ok) {
            goto slow;
        }
    }
    PyObject *res = fast_call_fast(self, args, n, kwnames);
    if (res == NULL || self->wrap_type == NULL) {
        return res;
    }
    PyTypeObject *tp = (PyTypeObject *)self->wrap_type;
    PyObject *o = tp->tp_alloc(tp, 0);
    if (o == NULL) {
        Py_DECREF(res);
        return NULL;
    }
    int rc = PyObject_SetAttr(o, self->wrap_attr, res);
    Py_DECREF(res);
    if (rc < 0) {
        Py_DECREF(o);
        return NULL;
    }
    return o;

slow:
    return PyObject_Vectorcall(self->slow, args, nargsf, kwnames);
}

static int
check_name(PyObject *v, const char *what)
{
    if (v != NULL && v != Py_None && !PyUnicode_CheckExact(v)) {
        PyErr_Format(PyExc_TypeError, "Fast(): %s must be a str, got %.100s", what,
                     Py_TYPE(v)->tp_name);
        return -1;
    }
    return 0;
}

static PyObject *
none_to_null(PyObject *v)
{
    return (v == NULL || v == Py_None) ? NULL : Py_NewRef(v);
}

static PyObject *
fast_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"slow",      "fast",      "inner",      "name",
                             "when_plain", "wrap_type", "wrap_attr",  "check_from",
                             "fast_from", "depth",     NULL};
    PyObject *slow, *fast = NULL, *inner = NULL, *name = NULL, *when_plain = NULL;
    PyObject *wrap_type = NULL, *wrap_attr = NULL;
    Py_ssize_t check_from = 0, fast_from = 0;
    int depth = 3;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$OOOOOOnni", kwlist, &slow, &fast, &inner,
                                     &name, &when_plain, &wrap_type, &wrap_attr, &check_from,
                                     &fast_from, &depth)) {
        return NULL;
    }
    if (!PyCallable_Check(slow)) {
        PyErr_SetString(PyExc_TypeError, "Fast(): slow must be callable");
        return NULL;
    }
    if (check_name(inner, "inner") < 0 || check_name(name, "name") < 0 ||
        check_name(when_plain, "when_plain") < 0 || check_name(wrap_attr, "wrap_attr") < 0) {
        return NULL;
    }
    int has_inner = inner != NULL && inner != Py_None;
    if (!has_inner && (fast == NULL || !PyCallable_Check(fast))) {
        PyErr_SetString(PyExc_TypeError, "Fast(): give a callable fast, or inner");
        return NULL;
    }
    if (!has_inner && name != NULL && name != Py_None) {
        PyErr_SetString(PyExc_TypeError, "Fast(): name needs inner");
        return NULL;
    }
    int has_wrap = wrap_type != NULL && wrap_type != Py_None;
    if (has_wrap && (!PyType_Check(wrap_type) || wrap_attr == NULL || wrap_attr == Py_None)) {
        PyErr_SetString(PyExc_TypeError, "Fast(): wrap_type must be a type, with wrap_attr");
        return NULL;
    }
    if (check_from < 0 || fast_from < 0 || depth < 0) {
        PyErr_SetString(PyExc_ValueError, "Fast(): check_from, fast_from, depth must be >= 0");
        return NULL;
    }
    FastObject *self = (FastObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->slow = Py_NewRef(slow);
    self->fast = has_inner ? NULL : Py_NewRef(fast);
    self->inner = none_to_null(inner);
    self->name = none_to_null(name);
    self->when_plain = none_to_null(when_plain);
    self->wrap_type = has_wrap ? Py_NewRef(wrap_type) : NULL;
    self->wrap_attr = has_wrap ? Py_NewRef(wrap_attr) : NULL;
    self->dict = NULL;
    self->check_from = check_from;
    self->fast_from = fast_from;
    self->depth = depth;
    self->vectorcall = fast_vectorcall;
    return (PyObject *)self;
}

static int
fast_traverse(PyObject *op, visitproc visit, void *arg)
{
    FastObject *self = (FastObject *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->fast);
    Py_VISIT(self->slow);
    Py_VISIT(self->inner);
    Py_VISIT(self->name);
    Py_VISIT(self->when_plain);
    Py_VISIT(self->wrap_type);
    Py_VISIT(self->wrap_attr);
    Py_VISIT(self->dict);
    return 0;
}

static int
fast_clear(PyObject *op)
{
    FastObject *self = (FastObject *)op;
    Py_CLEAR(self->fast);
    Py_CLEAR(self->slow);
    Py_CLEAR(self->inner);
    Py_CLEAR(self->name);
    Py_CLEAR(self->when_plain);
    Py_CLEAR(self->wrap_type);
    Py_CLEAR(self->wrap_attr);
    Py_CLEAR(self->dict);
    return 0;
}

static void
fast_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    fast_clear(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyObject *
fast_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, obj);
}

static PyObject *
fast_reduce(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    /* pickled by reference, like the function it stands for */
    FastObject *self = (FastObject *)op;
    PyObject *qualname = self->dict ? PyDict_GetItemString(self->dict, "__qualname__") : NULL;
    if (qualname == NULL || !PyUnicode_Check(qualname)) {
        PyErr_SetString(PyExc_TypeError, "cannot pickle a purposetag Fast without __qualname__");
        return NULL;
    }
    return Py_NewRef(qualname);
}

static PyObject *
fast_repr(PyObject *op)
{
    FastObject *self = (FastObject *)op;
    PyObject *name = self->dict ? PyDict_GetItemString(self->dict, "__qualname__") : NULL;
    if (name != NULL) {
        return PyUnicode_FromFormat("<purposetag wrapper of %S>", name);
    }
    return PyUnicode_FromFormat("<purposetag wrapper at %p>", op);
}

static PyObject *
get_slow(PyObject *op, void *Py_UNUSED(closure))
{
    return Py_NewRef(((FastObject *)op)->slow);
}

static PyMethodDef fast_methods[] = {
    {"__reduce__", fast_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef fast_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {"_pt_slow", get_slow, NULL, "the pure-Python implementation", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef fast_members[] = {
    {"__dictoffset__", T_PYSSIZET, offsetof(FastObject, dict), READONLY, NULL},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(FastObject, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot fast_slots[] = {
    {Py_tp_new, fast_new},
    {Py_tp_dealloc, fast_dealloc},
    {Py_tp_traverse, fast_traverse},
    {Py_tp_clear, fast_clear},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_descr_get, fast_descr_get},
    {Py_tp_repr, fast_repr},
    {Py_tp_methods, fast_methods},
    {Py_tp_getset, fast_getset},
    {Py_tp_members, fast_members},
    {Py_tp_doc, "A call that skips to the original function when no argument can carry tags."},
    {0, NULL},
};

static PyType_Spec fast_spec = {
    .name = "purposetag._speedups.Fast",
    .basicsize = sizeof(FastObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
             Py_TPFLAGS_METHOD_DESCRIPTOR | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = fast_slots,
};

static PyObject *
sp_is_plain(PyObject *Py_UNUSED(module), PyObject *arg)
{
    Py_ssize_t budget = start_budget();
    return PyBool_FromLong(is_plain(arg, max_depth < 3 ? max_depth : 3, &budget));
}

static PyObject *
sp_set_limits(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_ssize_t items;
    int depth;
    if (!PyArg_ParseTuple(args, "ni:set_limits", &items, &depth)) {
        return NULL;
    }
    if (items < 0 || depth < 0) {
        PyErr_SetString(PyExc_ValueError, "set_limits: max_items and max_depth must be >= 0");
        return NULL;
    }
    max_items = items;
    max_depth = depth;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"is_plain", sp_is_plain, METH_O,
     "True when `value` is, or is a small exact container of, plain builtin values."},
    {"set_limits", sp_set_limits, METH_VARARGS,
     "set_limits(max_items, max_depth): the scanner's limits; beyond them C leaves a call "
     "to Python (which reports the truncation)."},
    {NULL, NULL, 0, NULL},
};

static int
module_exec(PyObject *m)
{
    PyObject *fast_type = PyType_FromModuleAndSpec(m, &fast_spec, NULL);
    if (fast_type == NULL) {
        return -1;
    }
    int rc = PyModule_AddObjectRef(m, "Fast", fast_type);
    Py_DECREF(fast_type);
    return rc;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "purposetag._speedups",
    .m_doc = "Optional C fast paths for purposetag (see _speedups.c).",
    .m_size = 0,
    .m_methods = module_methods,
    .m_slots = module_slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&module_def);
}
