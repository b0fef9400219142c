/* purposetag._speedups: the optional C accelerator.
 *
 * The pure-Python code is the reference and handles every case; this file only
 * short-cuts what it fully understands, giving the same results (differential
 * tests hold the two together), and sends everything else to Python.  Its parts:
 *   Fast          a callable in front of a guard, a stdlib patch or an aspect:
 *                 plain arguments go straight to the original (below);
 *   Site          one rewritten f-string / join / format / `%` (see _rewrite.py);
 *   ranges        the placer: the ranges of tagged f-string, join and simple
 *                 `%`/format results, as _ranges.place/normalize build them;
 *   TaggedHash    the hash wrapper; memory files (the patched StringIO/BytesIO's
 *                 C methods); CsvWriter; tag_deep (the tagged json.loads copy);
 *   guards        `allowed`: tag sets a guard's cache allows under the policy in
 *                 force pass without Python.
 * Only the first interpreter that loads it gets it (module_exec).
 *
 * `Fast`: a callable that looks at its arguments and, when every one is plain (an
 * exact str/bytes/int/float/complex/bool/None, or a small exact list/tuple/dict of
 * those), calls the original C or Python function directly; otherwise it calls the
 * pure-Python implementation (`slow`).  A value this file does not know is "not
 * plain" and goes to Python.
 *
 * A `Fast` binds like a function when it is a class attribute (and is flagged
 * as a method descriptor, so `obj.m(x)` calls it without a bound method).
 * Options:
 *   check_from  positional arguments before this index are not checked
 *               (the instance of a method);
 *   fast_from   positional arguments before this index are not passed to `fast`
 *               (a guard's own `self`);
 *   inner/name  instead of `fast`: call ``getattr(args[0], inner).name(...)``
 *               (a wrapper forwarding to the object it wraps); with `fast` instead
 *               of `name`: ``fast(getattr(args[0], inner), ...)``, an unbound method
 *               (no look-up by name); `name` alone calls that method of the first
 *               argument passed on;
 *   call_first  instead of `fast`: call the first argument passed on with the rest
 *               (an aspect handed an already bound method);
 *   only_types  a tuple of types: when the first argument's exact type is none of
 *               them, the fast path is taken without looking at the arguments (the
 *               `%` aspect: only a str/bytes template ever needs Python);
 *   when_plain  the fast path only while ``getattr(args[0], when_plain)`` is plain
 *               (None in a wrapper that has not seen tagged data yet; a Template's
 *               ``template`` string);
 *   held_plain  the fast path only while everything args[0] holds is plain: its
 *               attribute values, read through its type's tp_traverse as
 *               gc.get_referents reads them (its type aside).  Asking for
 *               ``__dict__`` instead would make CPython turn the instance's inline
 *               values into a dict for good, slowing every later attribute read of
 *               it (a TextWrapper's wrap() by 15 %);
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

#if defined(__GNUC__) || defined(__clang__)
#define PT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define PT_NOINLINE __attribute__((noinline))
#else
#define PT_UNLIKELY(x) (x)
#define PT_NOINLINE
#endif

/* Containers are walked in C up to this many items in all; more goes to Python. */
#define ITEM_LIMIT 256
#define MAX_STACK 8

static Py_ssize_t max_items = 100000;
/* TaggedHash (below): Fast's `wrap_type` may name it.  Recognised by its dealloc, not
 * by a global pointer: each instance of this (multi-phase) module has its own type. */
static PyObject *hash_wrap(PyTypeObject *tp, PyObject *h, PyObject *tags);
static void hash_dealloc(PyObject *op);
#define IS_HASH_TYPE(t) (((PyTypeObject *)(t))->tp_dealloc == hash_dealloc)
/* CsvWriter (below): Fast's `make` names it, recognised the same way. */
static PyObject *csv_wrap(PyTypeObject *tp, PyObject *w, PyObject *orig, PyObject *const *args,
                          Py_ssize_t n, PyObject *kwnames);
static void csv_dealloc(PyObject *op);
#define IS_CSV_TYPE(t) (((PyTypeObject *)(t))->tp_dealloc == csv_dealloc)
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

/* an exact builtin scalar: plain without looking further */
static inline int
plain_scalar(PyObject *o)
{
    PyTypeObject *t = Py_TYPE(o);
    return t == &PyUnicode_Type || t == &PyLong_Type || o == Py_None || t == &PyFloat_Type ||
           t == &PyBool_Type || t == &PyBytes_Type || t == &PyComplex_Type;
}

/* a vectorcall's arguments all plain scalars, its keyword names exact str */
static inline int
plain_call(PyObject *const *args, Py_ssize_t n, PyObject *kwnames)
{
    Py_ssize_t nk = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < n + nk; i++) {
        if (!plain_scalar(args[i])) {
            return 0;
        }
    }
    for (Py_ssize_t j = 0; j < nk; j++) {
        if (Py_TYPE(PyTuple_GET_ITEM(kwnames, j)) != &PyUnicode_Type) {
            return 0;
        }
    }
    return 1;
}

/* The offset of `tp`'s `_pt_ranges` slot: `tp` must be a direct Python subclass of
 * str whose own `_pt_ranges` is a writable object slot (T_OBJECT_EX, as __slots__
 * makes) inside the instance, after str's part.  -1 with a TypeError otherwise. */
static Py_ssize_t
carrier_slot(PyObject *tp, const char *who)
{
    if (!PyType_Check(tp) || !PyType_HasFeature((PyTypeObject *)tp, Py_TPFLAGS_HEAPTYPE) ||
        ((PyTypeObject *)tp)->tp_base != &PyUnicode_Type ||
        ((PyTypeObject *)tp)->tp_itemsize != 0) {
        PyErr_Format(PyExc_TypeError, "%s: a Python subclass of str with a _pt_ranges slot", who);
        return -1;
    }
    PyTypeObject *t = (PyTypeObject *)tp;
    PyObject *d = t->tp_dict == NULL ? NULL : PyDict_GetItemString(t->tp_dict, "_pt_ranges");
    if (d == NULL || Py_TYPE(d) != &PyMemberDescr_Type) {
        PyErr_Format(PyExc_TypeError, "%s: _pt_ranges is not a slot of the type", who);
        return -1;
    }
    PyMemberDescrObject *md = (PyMemberDescrObject *)d;
    PyMemberDef *m = md->d_member;
    Py_ssize_t off = m == NULL ? -1 : m->offset;
    if (md->d_common.d_type != t || m == NULL || m->type != T_OBJECT_EX ||
        (m->flags & READONLY) || m->name == NULL || strcmp(m->name, "_pt_ranges") != 0 ||
        off < PyUnicode_Type.tp_basicsize || off % (Py_ssize_t)sizeof(PyObject *) != 0 ||
        off + (Py_ssize_t)sizeof(PyObject *) > t->tp_basicsize) {
        PyErr_Format(PyExc_TypeError, "%s: _pt_ranges is not the expected slot", who);
        return -1;
    }
    return off;
}

/* ---------------------------------------------------------------------------
 * One-block tagged strings.  CPython makes a str subclass instance in two memory
 * blocks, the object and then its characters (unicode_subtype_new, reached through
 * str.__new__ with an argument tuple), and frees it through the generic subclass
 * dealloc: about 55 ns for a short string, most of the cost of a tagged json.loads.
 * `one_block` makes the TaintedStr for an exact str in one block, the characters
 * right after the object; the object is a legacy (non-compact) str as CPython's own
 * subclass instances are, its `data` pointing into the same block.
 *
 * `install_one_block(TaintedStr)` gives the type `one_block_dealloc`, which frees
 * both kinds (one block, or CPython's two) and also runs as the base dealloc of
 * TaintedStr's subclasses.  It does what the generic dealloc would do for a type
 * like TaintedStr, checked at install: no finalizer, no __dict__, no weak
 * references, the one `_pt_ranges` slot.  A one-block string is recognised by its
 * data pointer: `basicsize` bytes after the object.  CPython's two-block strings
 * cannot have theirs there: the object's own block (GC header + basicsize) is not a
 * multiple of pymalloc's 16-byte alignment, so another block cannot start at that
 * address (checked at install too; with system malloc, a chunk header is between).
 * Without install (another layout, another CPython), nothing changes: strings are
 * made as CPython makes them.
 */
static PyTypeObject *ob_type = NULL; /* TaintedStr, once installed */
static Py_ssize_t ob_off = 0;        /* its _pt_ranges slot */
static Py_ssize_t ob_size = 0;       /* its basicsize: where the characters start */

static int
ob_helper_traverse(PyObject *Py_UNUSED(o), visitproc Py_UNUSED(visit), void *Py_UNUSED(arg))
{
    return 0;
}

/* Only its sizes and flags are used, to allocate a GC object of basicsize + n bytes
 * with CPython's own allocator (the object then gets TaintedStr as its type). */
static PyTypeObject ob_helper = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "purposetag._speedups._OneBlockSize",
    .tp_itemsize = 1,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = ob_helper_traverse,
};

/* Freed one-block strings of up to OB_SMALL bytes of characters (terminating NUL
 * included) are kept for reuse, OB_KEEP per 16-byte size class, as CPython keeps
 * freed tuples: a tagged json document or f-string makes and drops many short ones.
 * Every small one is allocated at the full size of its class, so any block of a
 * class fits any string of it.  A kept block's characters are zeroed: no personal
 * data waits in it. */
#define OB_SMALL 64
#define OB_CLASSES (OB_SMALL / 16)
#define OB_KEEP 32
static PyObject *ob_kept[OB_CLASSES][OB_KEEP];
static int ob_nkept[OB_CLASSES];

/* ``o = str.__new__(TaintedStr, plain); o._pt_ranges = ranges`` for an exact str
 * `plain`, in one block (a new reference) */
static PyObject *
one_block(PyObject *plain, PyObject *ranges)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(plain) < 0) {
        return NULL;
    }
#endif
    Py_ssize_t len = PyUnicode_GET_LENGTH(plain);
    int kind = PyUnicode_KIND(plain);
    if (len > (PY_SSIZE_T_MAX - ob_size) / kind - 1) {
        return PyErr_NoMemory();
    }
    Py_ssize_t nbytes = (len + 1) * kind; /* with the terminating NUL */
    int cls = nbytes <= OB_SMALL ? (int)((nbytes - 1) >> 4) : -1;
    PyObject *o;
    if (cls >= 0 && ob_nkept[cls] > 0) {
        o = ob_kept[cls][--ob_nkept[cls]];
    }
    else {
        o = (PyObject *)_PyObject_GC_NewVar(&ob_helper, cls >= 0 ? (cls + 1) * 16 : nbytes);
        if (o == NULL) {
            return NULL;
        }
    }
    memset((char *)o + sizeof(PyObject), 0, (size_t)ob_size - sizeof(PyObject));
    PyObject_Init(o, ob_type); /* its type (a heap type: held), one reference */
    char *data = (char *)o + ob_size;
    memcpy(data, PyUnicode_DATA(plain), (size_t)nbytes);
    PyASCIIObject *a = (PyASCIIObject *)o;
    a->length = len;
    a->hash = ((PyASCIIObject *)plain)->hash;
    a->state.kind = (unsigned int)kind;
    a->state.ascii = PyUnicode_IS_ASCII(plain) ? 1 : 0;
#if PY_VERSION_HEX < 0x030C0000
    a->state.ready = 1;
#endif
    if (a->state.ascii) { /* as CPython's: an ASCII string is its own UTF-8 */
        ((PyCompactUnicodeObject *)o)->utf8 = data;
        ((PyCompactUnicodeObject *)o)->utf8_length = len;
    }
#if PY_VERSION_HEX < 0x030C0000
    /* as CPython's too: on 3.11 a legacy string whose characters are wchar_t wide
     * is its own wchar_t text, which PyUnicode_AsWideChar and friends (array 'u',
     * ctypes, locale, time.strftime) then read; NULL there, they read it as 2-byte */
    if ((size_t)kind == sizeof(wchar_t)) {
        a->wstr = (wchar_t *)data;
        ((PyCompactUnicodeObject *)o)->wstr_length = len;
    }
#endif
    ((PyUnicodeObject *)o)->data.any = data;
    *(PyObject **)((char *)o + ob_off) = Py_NewRef(ranges);
    /* Not tracked by the collector, as CPython leaves a tuple of atoms: all it holds
     * is its ranges (tuples of ints and interned frozensets of tags), and a tag was
     * made before any string that carries it, immutable, so no cycle can pass
     * through the string.  Tracking cost each string a link and an unlink, and every
     * young-generation collection a visit. */
    return o;
}

static void
one_block_dealloc(PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);
    /* first call (a TaintedStr), or base dealloc of a subclass's, which tracked it again */
    PyObject_GC_UnTrack(o);
    Py_CLEAR(*(PyObject **)((char *)o + ob_off));
    char *inl = (char *)o + ob_size;
    if (((PyUnicodeObject *)o)->data.any == inl) { /* nothing for str's dealloc to free */
        PyCompactUnicodeObject *c = (PyCompactUnicodeObject *)o;
        Py_ssize_t nbytes = (PyUnicode_GET_LENGTH(o) + 1) * PyUnicode_KIND(o);
        int cls = nbytes <= OB_SMALL ? (int)((nbytes - 1) >> 4) : -1;
        /* only a TaintedStr's: a subclass's may have been finalized (its __del__),
         * and the collector's header of the block remembers it */
        if (cls >= 0 && ob_nkept[cls] < OB_KEEP && tp == ob_type &&
            (c->utf8 == NULL || c->utf8 == inl)
#if PY_VERSION_HEX < 0x030C0000
            && (((PyASCIIObject *)o)->wstr == NULL || (char *)((PyASCIIObject *)o)->wstr == inl)
#endif
        ) { /* kept: nothing else was allocated for it */
            memset(inl, 0, (size_t)nbytes);
            ob_kept[cls][ob_nkept[cls]++] = o;
            Py_DECREF(tp);
            return;
        }
        if (c->utf8 == inl) {
            c->utf8 = NULL;
            c->utf8_length = 0;
        }
#if PY_VERSION_HEX < 0x030C0000
        if ((char *)((PyASCIIObject *)o)->wstr == inl) {
            ((PyASCIIObject *)o)->wstr = NULL;
            c->wstr_length = 0;
        }
#endif
        ((PyUnicodeObject *)o)->data.any = NULL;
    }
    PyUnicode_Type.tp_dealloc(o); /* what else str allocated; then tp_free */
    Py_DECREF(tp);                /* the generic dealloc leaves a heap base's type to it */
}

static PyObject *
sp_install_one_block(PyObject *Py_UNUSED(module), PyObject *cls)
{
    Py_ssize_t off = carrier_slot(cls, "install_one_block");
    if (off < 0) {
        return NULL;
    }
    PyTypeObject *t = (PyTypeObject *)cls;
    if (ob_type != NULL) {
        if (ob_type == t) {
            Py_RETURN_TRUE;
        }
        PyErr_SetString(PyExc_RuntimeError, "install_one_block: already installed on another type");
        return NULL;
    }
    const size_t gc_head = 2 * sizeof(void *); /* PyGC_Head, 3.11 to 3.13 */
    if (t->tp_basicsize != PyUnicode_Type.tp_basicsize + (Py_ssize_t)sizeof(PyObject *) ||
        t->tp_finalize != NULL || t->tp_del != NULL || t->tp_weaklistoffset != 0 ||
        t->tp_dictoffset != 0 || !PyType_HasFeature(t, Py_TPFLAGS_HAVE_GC) ||
        (t->tp_flags & Py_TPFLAGS_MANAGED_DICT) != 0 ||
#ifdef Py_TPFLAGS_MANAGED_WEAKREF
        (t->tp_flags & Py_TPFLAGS_MANAGED_WEAKREF) != 0 ||
#endif
        t->tp_free != PyObject_GC_Del || (gc_head + (size_t)t->tp_basicsize) % 16 == 0 ||
        PY_VERSION_HEX >= 0x030E0000) {
        Py_RETURN_FALSE; /* not a layout this knows: strings stay as CPython makes them */
    }
    ob_helper.tp_basicsize = t->tp_basicsize;
    if (PyType_Ready(&ob_helper) < 0) {
        return NULL;
    }
    ob_off = off;
    ob_size = t->tp_basicsize;
    ob_type = (PyTypeObject *)Py_NewRef(cls);
    t->tp_dealloc = one_block_dealloc;
    Py_RETURN_TRUE;
}

/* Tagged strings a guard may pass on (Fast's `allowed`).  `carrier` is TaintedStr,
 * `carrier_off` the offset of its `_pt_ranges` slot (set_carrier); `cur_policy` the
 * policy in force (set_policy, called by _settings on every change). */
static PyTypeObject *carrier = NULL;
static Py_ssize_t carrier_off = 0;
static PyTypeObject *format_type = NULL; /* TaintedStr once its C __format__ is installed */
static PyObject *cur_policy = NULL;
#define MAX_SEEN 16

/* is_plain, but a TaintedStr counts too: its tag sets are added to seen[] (borrowed,
 * distinct, at most MAX_SEEN) for the caller to judge.  Runs no Python code. */
static int
is_plain_or_tagged(PyObject *o, int depth, Py_ssize_t *budget, PyObject **seen, int *nseen)
{
    PyTypeObject *t = Py_TYPE(o);
    if (t == &PyUnicode_Type || t == &PyLong_Type || o == Py_None || t == &PyFloat_Type ||
        t == &PyBool_Type || t == &PyBytes_Type || t == &PyComplex_Type) {
        return 1;
    }
    if (t == carrier && carrier != NULL) {
        PyObject *r = *(PyObject **)((char *)o + carrier_off);
        PyObject *one[1] = {r};
        PyObject **sets = one;
        Py_ssize_t k = 1;
        if (r == NULL) {
            return 0;
        }
        if (PyTuple_CheckExact(r)) { /* (start, stop, tag set) triples */
            k = PyTuple_GET_SIZE(r);
            sets = ((PyTupleObject *)r)->ob_item;
        }
        for (Py_ssize_t i = 0; i < k; i++) {
            PyObject *ts = sets[i];
            if (sets != one) {
                if (!PyTuple_CheckExact(ts) || PyTuple_GET_SIZE(ts) != 3) {
                    return 0;
                }
                ts = PyTuple_GET_ITEM(ts, 2);
            }
            if (!PyFrozenSet_CheckExact(ts)) {
                return 0;
            }
            int j = 0;
            while (j < *nseen && seen[j] != ts) {
                j++;
            }
            if (j == *nseen) {
                if (*nseen == MAX_SEEN) {
                    return 0;
                }
                seen[(*nseen)++] = ts;
            }
        }
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
        for (Py_ssize_t i = 0; i < n; i++) {
            if (!is_plain_or_tagged(items[i], depth - 1, budget, seen, nseen)) {
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
            if (!is_plain_or_tagged(k, depth - 1, budget, seen, nseen) ||
                !is_plain_or_tagged(v, depth - 1, budget, seen, nseen)) {
                return 0;
            }
        }
        return 1;
    }
    return 0;
}


/* ---------------------------------------------------------------------------
 * Ranges in C, for the tagged results of f-string and str.join sites: the same
 * triples _ranges.place and _ranges.normalize build in Python, for pieces that are
 * exact str or TaintedStr.  Anything unusual (another str subclass, a malformed
 * ranges object, touching pieces whose distinct tag sets might compare equal, too
 * many triples) is left to Python: the functions return NULL with no error set.
 */
#define MAX_TRIPS 32
typedef struct {
    Py_ssize_t a, b;
    PyObject *ts; /* a strong reference: building the result allocates, and a GC run
                   * may let a finalizer replace a piece's ranges (placer_free) */
} Trip;
typedef struct {
    Trip t[MAX_TRIPS];
    int n;
} Placer;

static int
placer_push(Placer *pl, Py_ssize_t a, Py_ssize_t b, PyObject *ts)
{
    if (pl->n) {
        Trip *last = &pl->t[pl->n - 1];
        if (last->b == a) {
            if (last->ts == ts) {
                last->b = b;
                return 1;
            }
            /* Python merges equal sets too; distinct objects of one size might be */
            if (PySet_GET_SIZE(last->ts) == PySet_GET_SIZE(ts)) {
                return 0;
            }
        }
    }
    if (pl->n == MAX_TRIPS) {
        return 0;
    }
    pl->t[pl->n].a = a;
    pl->t[pl->n].b = b;
    pl->t[pl->n].ts = Py_NewRef(ts);
    pl->n++;
    return 1;
}

static void
placer_free(Placer *pl)
{
    for (int i = 0; i < pl->n; i++) {
        Py_DECREF(pl->t[i].ts);
    }
    pl->n = 0;
}

/* _ranges.place(out, r, pos, k) for the ranges `r` of a k-long piece at `pos` */
static int
placer_place(Placer *pl, PyObject *r, Py_ssize_t pos, Py_ssize_t k)
{
    if (PyFrozenSet_CheckExact(r)) {
        return k == 0 || placer_push(pl, pos, pos + k, r);
    }
    if (!PyTuple_CheckExact(r)) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(r); i++) {
        PyObject *tr = PyTuple_GET_ITEM(r, i);
        if (!PyTuple_CheckExact(tr) || PyTuple_GET_SIZE(tr) != 3 ||
            !PyLong_CheckExact(PyTuple_GET_ITEM(tr, 0)) ||
            !PyLong_CheckExact(PyTuple_GET_ITEM(tr, 1)) ||
            !PyFrozenSet_CheckExact(PyTuple_GET_ITEM(tr, 2))) {
            return 0;
        }
        Py_ssize_t a = PyLong_AsSsize_t(PyTuple_GET_ITEM(tr, 0));
        Py_ssize_t b = PyLong_AsSsize_t(PyTuple_GET_ITEM(tr, 1));
        if ((a == -1 || b == -1) && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        if (a < 0 || b < a || b > k || !placer_push(pl, a + pos, b + pos, PyTuple_GET_ITEM(tr, 2))) {
            return 0;
        }
    }
    return 1;
}

/* _ranges.normalize: a new reference to the ranges of a `total`-long string, or to
 * Py_None when nothing is tagged; NULL on error */
static PyObject *
placer_ranges(Placer *pl, Py_ssize_t total)
{
    if (pl->n == 0) {
        return Py_NewRef(Py_None);
    }
    if (pl->n == 1 && pl->t[0].a == 0 && pl->t[0].b == total) {
        return Py_NewRef(pl->t[0].ts);
    }
    PyObject *out = PyTuple_New(pl->n);
    if (out == NULL) {
        return NULL;
    }
    for (int i = 0; i < pl->n; i++) {
        /* (a, b, tags), built directly: Py_BuildValue parses its format each time */
        PyObject *tr = PyTuple_New(3);
        PyObject *a = tr ? PyLong_FromSsize_t(pl->t[i].a) : NULL;
        PyObject *b = a ? PyLong_FromSsize_t(pl->t[i].b) : NULL;
        if (b == NULL) {
            Py_XDECREF(a);
            Py_XDECREF(tr);
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(tr, 0, a);
        PyTuple_SET_ITEM(tr, 1, b);
        PyTuple_SET_ITEM(tr, 2, Py_NewRef(pl->t[i].ts));
        PyTuple_SET_ITEM(out, i, tr);
    }
    return out;
}

/* str.__new__(TaintedStr, plain) with its `_pt_ranges` set (a new reference) */
static PyObject *
carrier_new(PyObject *plain, PyObject *ranges)
{
    if (ob_type != NULL && carrier == ob_type && PyUnicode_CheckExact(plain)) {
        return one_block(plain, ranges);
    }
    PyObject *args = PyTuple_Pack(1, plain);
    if (args == NULL) {
        return NULL;
    }
    PyObject *o = PyUnicode_Type.tp_new(carrier, args, NULL);
    Py_DECREF(args);
    if (o == NULL) {
        return NULL;
    }
    if (!Py_IS_TYPE(o, carrier)) { /* cannot happen: tp_new of a str subtype */
        Py_DECREF(o);
        PyErr_SetString(PyExc_SystemError, "purposetag: str.__new__ gave another type");
        return NULL;
    }
    PyObject **slot = (PyObject **)((char *)o + carrier_off);
    Py_XSETREF(*slot, Py_NewRef(ranges));
    return o;
}

/* `res` (made of `n` pieces, piece i at offset pos[i]) with the pieces' ranges: a
 * new reference; NULL with no error set when Python should do it */
static PyObject *
tag_pieces(PyObject *res, PyObject *const *pieces, const Py_ssize_t *pos, Py_ssize_t n)
{
    if (carrier == NULL) {
        return NULL;
    }
    Placer pl;
    pl.n = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p = pieces[i];
        if (Py_IS_TYPE(p, carrier)) {
            PyObject *r = *(PyObject **)((char *)p + carrier_off);
            if (r == NULL || !placer_place(&pl, r, pos[i], PyUnicode_GET_LENGTH(p))) {
                placer_free(&pl);
                return NULL;
            }
        }
        else if (!PyUnicode_CheckExact(p)) {
            placer_free(&pl);
            return NULL;
        }
    }
    PyObject *r = placer_ranges(&pl, PyUnicode_GET_LENGTH(res));
    placer_free(&pl);
    if (r == NULL) {
        return NULL; /* an error is set */
    }
    PyObject *out = r == Py_None ? Py_NewRef(res) : carrier_new(res, r);
    Py_DECREF(r);
    return out;
}

/* `res` = sep.join(items) (n <= ITEM_LIMIT str items) with the items' ranges: as
 * tag_pieces, item i starting after the earlier items and separators */
static PyObject *
tag_joined(PyObject *res, PyObject *sep, PyObject *const *items, Py_ssize_t n)
{
    Py_ssize_t at[ITEM_LIMIT], p = 0, ls = PyUnicode_GET_LENGTH(sep);
    if (n > ITEM_LIMIT) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        at[i] = p;
        p += PyUnicode_GET_LENGTH(items[i]) + ls;
    }
    return tag_pieces(res, items, at, n);
}

/* fn(*args) as CPython's specialised CALL of a builtin does it: the C function itself
 * (no vectorcall indirection and no recursion check, both of which cost as much as
 * a hash constructor's whole wrapper), for the common calling conventions;
 * PyObject_Vectorcall for everything else. */
static inline PyObject *
call_c(PyCFunction meth, int flags, PyObject *self, PyObject *const *args, Py_ssize_t n,
       PyObject *kwnames, int *done)
{
    *done = 1;
    if (flags == (METH_FASTCALL | METH_KEYWORDS)) {
        return ((_PyCFunctionFastWithKeywords)(void (*)(void))meth)(self, args, n, kwnames);
    }
    if (kwnames == NULL || PyTuple_GET_SIZE(kwnames) == 0) {
        if (flags == METH_FASTCALL) {
            return ((_PyCFunctionFast)(void (*)(void))meth)(self, args, n);
        }
        if (flags == METH_O && n == 1) {
            return meth(self, args[0]);
        }
        if (flags == METH_NOARGS && n == 0) {
            return meth(self, NULL);
        }
    }
    *done = 0;
    return NULL;
}

static inline PyObject *
call_direct(PyObject *fn, PyObject *const *args, Py_ssize_t n, PyObject *kwnames)
{
    if (PyCFunction_CheckExact(fn)) {
        int done;
        PyObject *res = call_c(PyCFunction_GET_FUNCTION(fn), PyCFunction_GET_FLAGS(fn),
                               PyCFunction_GET_SELF(fn), args, n, kwnames, &done);
        if (done) {
            return res;
        }
    }
    return PyObject_Vectorcall(fn, args, (size_t)n, kwnames);
}

/* descr(obj, *args) for a method descriptor of a builtin type (obj's type checked by
 * the caller), the same way; *done is 0 when the convention is not one of these */
static inline PyObject *
call_descr_direct(PyObject *d, PyObject *obj, PyObject *const *args, Py_ssize_t n,
                  PyObject *kwnames, int *done)
{
    *done = 0;
    if (!Py_IS_TYPE(d, &PyMethodDescr_Type)) {
        return NULL;
    }
    PyMethodDef *ml = ((PyMethodDescrObject *)d)->d_method;
    return call_c(ml->ml_meth, ml->ml_flags, obj, args, n, kwnames, done);
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
    int call_first;
    int join; /* name is "join", nothing else set: try join_direct first */
    int hash_ctor; /* wrap_type is TaggedHash, fast alone: a hash constructor */
    int held_plain;
    int deep; /* json.loads: a lone tagged str argument is parsed by fast and tag_deep'd */
    PyObject *only_types;
    PyObject *make; /* the CsvWriter type: always call fast, wrap what it returns */
    PyTypeObject *inner_type; /* fast_inner's cache: the type whose slot `inner` is, */
    unsigned int inner_version; /* its version tag then, */
    Py_ssize_t inner_off;       /* and the slot's offset */
    PyObject *allowed; /* a guard's cache {tag set: policy that allows its use}, or NULL */
    /* tag sets found allowed under a policy, compared by identity only (see
     * fast_sets_known): strong references, round robin */
#define MAX_KNOWN 8
    PyObject *known_ts[MAX_KNOWN];
    PyObject *known_pol[MAX_KNOWN];
    int known_next;
    vectorcallfunc vectorcall;
} FastObject;

/* str.join / bytes.join (METH_O C functions), set by module_exec; NULL if CPython
 * ever defines them otherwise (then join_direct is never taken) */
static PyCFunction str_join_o = NULL, bytes_join_o = NULL;

/* ``sep.join(items)`` straight to the C method for an exact str (bytes) separator and
 * an exact list or tuple of exact str (bytes): nothing there can carry a tag, and no
 * Python code runs between this check and the join.  *taken is 0 when it does not
 * apply (the result is then NULL, with no error set). */
static PyObject *
join_direct(PyObject *sep, PyObject *items, int *taken)
{
    PyTypeObject *st = Py_TYPE(sep);
    PyCFunction fn = st == &PyUnicode_Type ? str_join_o : st == &PyBytes_Type ? bytes_join_o : NULL;
    *taken = 0;
    if (fn == NULL || !(PyList_CheckExact(items) || PyTuple_CheckExact(items))) {
        return NULL;
    }
    Py_ssize_t len = PySequence_Fast_GET_SIZE(items);
    PyObject **it = PySequence_Fast_ITEMS(items);
    int tagged = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        if (Py_TYPE(it[i]) != st) {
            if (st != &PyUnicode_Type || carrier == NULL || Py_TYPE(it[i]) != carrier ||
                len > ITEM_LIMIT) {
                return NULL;
            }
            tagged = 1;
        }
    }
    if (!tagged) {
        *taken = 1;
        return fn(sep, items);
    }
    /* TaintedStr items: join, then their ranges in C (str.join of str runs no
     * Python code, and the list is ours until we return) */
    PyObject *res = fn(sep, items);
    if (res == NULL || !PyUnicode_CheckExact(res)) {
        *taken = 1;
        return res;
    }
    PyObject *out = tag_joined(res, sep, it, len);
    Py_DECREF(res);
    *taken = out != NULL || PyErr_Occurred();
    return out;
}

/* `obj`: getattr(args[0], inner), fetched by the caller before it judged the arguments */
static PyObject *
fast_call_fast(FastObject *self, PyObject *obj, PyObject *const *args, Py_ssize_t n,
               PyObject *kwnames)
{
    Py_ssize_t m = n - self->fast_from;
    if (self->inner == NULL) {
        if (self->call_first) {
            return PyObject_Vectorcall(args[self->fast_from], args + self->fast_from + 1, m - 1,
                                       kwnames);
        }
        if (self->name != NULL) {
            return PyObject_VectorcallMethod(self->name, args + self->fast_from, (size_t)m,
                                             kwnames);
        }
        return call_direct(self->fast, args + self->fast_from, m, kwnames);
    }
    PyObject *res;
    if (self->name == NULL && self->fast == NULL) {
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
        if (self->fast != NULL) { /* an unbound method of the inner object's type */
            res = PyObject_Vectorcall(self->fast, stack, (size_t)(m + 1), kwnames);
        }
        else {
            res = PyObject_VectorcallMethod(self->name, stack, (size_t)(m + 1), kwnames);
        }
    }
    return res;
}

/* Are all of seen[] known allowed under the current policy?  Pointer comparisons
 * only: no Python code runs, so the arguments judged before cannot change before
 * the call.  On the first unknown set, the guard's cache (a dict, whose look-up may
 * compare keys) is asked; an allowed set is remembered for the next call, and this
 * call goes to Python either way. */
static int
fast_sets_known(FastObject *self, PyObject **seen, int nseen)
{
    if (cur_policy == NULL) {
        return 0;
    }
    for (int i = 0; i < nseen; i++) {
        int j = 0;
        while (j < MAX_KNOWN && !(self->known_ts[j] == seen[i] && self->known_pol[j] == cur_policy)) {
            j++;
        }
        if (j < MAX_KNOWN) {
            continue;
        }
        PyObject *ts = Py_NewRef(seen[i]);
        PyObject *pol = Py_NewRef(cur_policy);
        PyObject *v = PyDict_GetItemWithError(self->allowed, ts); /* borrowed */
        if (v == NULL) {
            PyErr_Clear();
        }
        else if (v == pol) {
            int at = self->known_next;
            self->known_next = (at + 1) % MAX_KNOWN;
            PyObject *old_ts = self->known_ts[at], *old_pol = self->known_pol[at];
            self->known_ts[at] = Py_NewRef(ts);
            self->known_pol[at] = Py_NewRef(pol);
            Py_XDECREF(old_ts);
            Py_XDECREF(old_pol);
        }
        Py_DECREF(ts);
        Py_DECREF(pol);
        return 0;
    }
    return 1;
}

/* getattr(o, inner).  When `inner` is a slot of o's type (a member descriptor, which
 * an instance dict cannot shadow), its offset is remembered with the type's version
 * tag, and later reads of the same, unchanged type take the slot directly. */
static PyObject *
fast_inner(FastObject *self, PyObject *o)
{
    PyTypeObject *t = Py_TYPE(o);
    if (t == self->inner_type && PyType_HasFeature(t, Py_TPFLAGS_VALID_VERSION_TAG) &&
        t->tp_version_tag == self->inner_version) {
        PyObject *v = *(PyObject **)((char *)o + self->inner_off);
        if (v != NULL) {
            return Py_NewRef(v);
        }
    }
    PyObject *res = PyObject_GetAttr(o, self->inner);
    if (res == NULL || t == self->inner_type) {
        return res;
    }
    PyObject *d = _PyType_Lookup(t, self->inner); /* borrowed */
    if (d != NULL && Py_IS_TYPE(d, &PyMemberDescr_Type) &&
        PyType_HasFeature(t, Py_TPFLAGS_VALID_VERSION_TAG) &&
        ((PyMemberDescrObject *)d)->d_member->type == T_OBJECT_EX &&
        ((PyMemberDescrObject *)d)->d_member->offset > 0 &&
        PyType_IsSubtype(t, ((PyMemberDescrObject *)d)->d_common.d_type)) {
        self->inner_type = t; /* borrowed, compared only: a type freed and another made
                               * at its address gets a new version tag */
        self->inner_version = t->tp_version_tag;
        self->inner_off = ((PyMemberDescrObject *)d)->d_member->offset;
    }
    return res;
}

typedef struct {
    PyObject *type;
    int depth;
    Py_ssize_t *budget;
    int plain;
} Held;

static int
held_visit(PyObject *o, void *arg)
{
    Held *h = (Held *)arg;
    if (o == h->type) {
        return 0;
    }
    if (!is_plain(o, h->depth, h->budget)) {
        h->plain = 0;
        return 1; /* stops the traversal */
    }
    return 0;
}

/* Is everything `o` holds plain (the `held_plain` option)?  tp_traverse runs no
 * Python code.  A type without one is not known to hold nothing: not plain. */
static int
held_plain(PyObject *o, int depth, Py_ssize_t *budget)
{
    PyTypeObject *t = Py_TYPE(o);
    if (!PyType_IS_GC(t) || t->tp_traverse == NULL) {
        return 0;
    }
    Held h = {(PyObject *)t, depth, budget, 1};
    (void)t->tp_traverse(o, held_visit, &h);
    return h.plain;
}

static PyObject *tag_deep_lone(PyObject *doc, PyObject *tags); /* with tag_deep, below */

/* json.loads's Fast (`deep`): ``json.loads(tagged)`` with every character tagged
 * alike (its ranges one tag set): the document parsed by `fast`, then each string in
 * it tagged with that set in C, as the Python wrapper does (which takes every other
 * case).  NULL with no error set: not this case, or a failure of ours (a document
 * too deep), left to the Python wrapper, which parses again and falls back and
 * reports as it does.  Out of line: the other Fasts' path stays as short. */
static PyObject *
PT_NOINLINE fast_deep(FastObject *self, PyObject *arg)
{
    if (carrier == NULL || !Py_IS_TYPE(arg, carrier)) {
        return NULL;
    }
    PyObject *r = *(PyObject **)((char *)arg + carrier_off);
    if (r == NULL || !PyFrozenSet_CheckExact(r) || PySet_GET_SIZE(r) == 0) {
        return NULL;
    }
    Py_INCREF(r); /* the parse runs no code of the caller's, but hold it anyway */
    PyObject *res = call_direct(self->fast, &arg, 1, NULL);
    PyObject *out = res == NULL ? NULL : tag_deep_lone(res, r);
    Py_DECREF(r);
    if (out != NULL || res == NULL) {
        Py_XDECREF(res);
        return out; /* tagged, or the parser's own error */
    }
    Py_DECREF(res);
    if (PyErr_Occurred() && PyErr_ExceptionMatches(PyExc_Exception)) {
        PyErr_Clear(); /* ours: Python's wrapper decides; KeyboardInterrupt stays */
    }
    return NULL;
}

static PyObject *
fast_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    FastObject *self = (FastObject *)op;
    if (self->slow == NULL) { /* emptied by the GC's tp_clear (fast_clear drops slow first) */
        PyErr_SetString(PyExc_ReferenceError, "purposetag Fast called after it was cleared");
        return NULL;
    }
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nk = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (self->make != NULL) {
        PyObject *w = PyObject_Vectorcall(self->fast, args, nargsf, kwnames);
        if (w == NULL || n < 1) { /* (csv.writer takes its file positionally) */
            return w;
        }
        PyObject *res = csv_wrap((PyTypeObject *)self->make, w, self->fast, args, n, kwnames);
        Py_DECREF(w);
        return res;
    }
    if (PT_UNLIKELY(self->deep) && n == 1 && nk == 0) {
        PyObject *res = fast_deep(self, args[0]);
        if (res != NULL || PyErr_Occurred()) {
            return res;
        }
    }
    if (self->join && n == 2 && nk == 0) {
        int taken;
        PyObject *res = join_direct(args[0], args[1], &taken);
        if (taken) {
            return res;
        }
    }
    if (n < self->check_from || n < self->fast_from) {
        goto slow;
    }
    if ((self->call_first || (self->inner == NULL && self->name != NULL)) &&
        n <= self->fast_from) {
        goto slow; /* nothing to call */
    }
    if (self->inner != NULL || self->when_plain != NULL || self->held_plain) {
        if (n < 1) {
            goto slow;
        }
        if ((self->name != NULL || self->fast != NULL) && self->inner != NULL &&
            1 + (n - self->fast_from) + nk > MAX_STACK) {
            goto slow;
        }
    }
    /* These getattrs can run Python code (a property, __getattr__, another thread
     * getting the GIL), which could put a non-plain value into a list or dict
     * argument.  So they come first; the arguments are judged after them, and no
     * Python code runs between the judging and the call.  A getattr that fails
     * leaves the call to Python. */
    PyObject *v = NULL, *obj = NULL;
    if (self->only_types != NULL && n >= 1) {
        PyTypeObject *t0 = Py_TYPE(args[0]);
        int listed = 0;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(self->only_types); i++) {
            if ((PyObject *)t0 == PyTuple_GET_ITEM(self->only_types, i)) {
                listed = 1;
                break;
            }
        }
        if (!listed && self->when_plain == NULL && self->inner == NULL && !self->held_plain) {
            return fast_call_fast(self, NULL, args, n, kwnames);
        }
    }
    if (self->when_plain != NULL) {
        v = PyObject_GetAttr(args[0], self->when_plain);
        if (v == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_Exception)) {
                return NULL; /* KeyboardInterrupt and the like propagate */
            }
            PyErr_Clear();
            goto slow;
        }
    }
    if (self->inner != NULL) {
        obj = fast_inner(self, args[0]);
        if (obj == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_Exception)) {
                Py_XDECREF(v);
                return NULL;
            }
            PyErr_Clear();
            goto slow_release;
        }
    }
    Py_ssize_t budget = start_budget();
    int depth = self->depth < max_depth ? self->depth : max_depth;
    if (self->allowed != NULL) { /* a guard: allowed tagged strings may pass too */
        PyObject *seen[MAX_SEEN];
        int nseen = 0;
        for (Py_ssize_t i = self->check_from; i < n + nk; i++) {
            if ((i >= n && Py_TYPE(PyTuple_GET_ITEM(kwnames, i - n)) != &PyUnicode_Type) ||
                !is_plain_or_tagged(args[i], depth, &budget, seen, &nseen)) {
                goto slow_release;
            }
        }
        if (nseen && !fast_sets_known(self, seen, nseen)) {
            goto slow_release;
        }
    }
    else {
        for (Py_ssize_t i = self->check_from; i < n; i++) {
            if (!is_plain(args[i], depth, &budget)) {
                goto slow_release;
            }
        }
        for (Py_ssize_t j = 0; j < nk; j++) {
            if (Py_TYPE(PyTuple_GET_ITEM(kwnames, j)) != &PyUnicode_Type ||
                !is_plain(args[n + j], depth, &budget)) {
                goto slow_release;
            }
        }
    }
    if (v != NULL && !is_plain(v, depth, &budget)) {
        goto slow_release;
    }
    if (self->held_plain && !held_plain(args[0], depth, &budget)) {
        goto slow_release;
    }
    Py_CLEAR(v);
    PyObject *res = fast_call_fast(self, obj, args, n, kwnames);
    Py_XDECREF(obj);
    if (res == NULL || self->wrap_type == NULL) {
        return res;
    }
    PyTypeObject *tp = (PyTypeObject *)self->wrap_type;
    if (IS_HASH_TYPE(tp)) {
        PyObject *w = hash_wrap(tp, res, NULL);
        Py_DECREF(res);
        return w;
    }
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

slow_release:
    Py_XDECREF(v);
    Py_XDECREF(obj);
slow:
    return PyObject_Vectorcall(self->slow, args, nargsf, kwnames);
}

/* A Fast with `fast` alone over a C function (the patched binascii functions): plain
 * scalar arguments, the common call, go straight to it; anything
 * else takes fast_vectorcall, which decides as always (such values are plain there
 * too, so both give the same).  The general path's option tests cost a 90 ns call
 * such as b2a_base64 about 8 ns. */
static PyObject *
fast_vectorcall_simple(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    FastObject *self = (FastObject *)op;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    if (self->slow == NULL || !plain_call(args, n, kwnames)) {
        return fast_vectorcall(op, args, nargsf, kwnames); /* (raises for the first) */
    }
    return call_direct(self->fast, args, n, kwnames);
}

/* A hash constructor's Fast (`hash_ctor`): the usual ``sha256()`` /
 * ``sha256(b"...")`` wrapped straight away, in its own small function (in the general
 * one, code added elsewhere moved it by 10 %); anything else takes fast_vectorcall,
 * the general path, which wraps what it returns too (wrap_type). */
static PyObject *
fast_vectorcall_hash(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    FastObject *self = (FastObject *)op;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL || n > 1 || (n == 1 && !PyBytes_CheckExact(args[0])) ||
        self->slow == NULL) {
        return fast_vectorcall(op, args, nargsf, kwnames);
    }
    PyObject *res = call_direct(self->fast, args, n, NULL);
    if (res == NULL) {
        return NULL;
    }
    PyObject *w = hash_wrap((PyTypeObject *)self->wrap_type, res, NULL);
    Py_DECREF(res);
    return w;
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
    static char *kwlist[] = {"slow",       "fast",      "inner",      "name",
                             "when_plain", "wrap_type", "wrap_attr",  "check_from",
                             "fast_from",  "depth",     "call_first", "only_types",
                             "make",       "allowed",   "held_plain", "deep",
                             NULL};
    PyObject *slow, *fast = NULL, *inner = NULL, *name = NULL, *when_plain = NULL;
    PyObject *wrap_type = NULL, *wrap_attr = NULL;
    Py_ssize_t check_from = 0, fast_from = 0;
    int depth = 3, call_first = 0, held = 0, deep = 0;
    PyObject *only_types = NULL, *make = NULL, *allowed = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$OOOOOOnnipOOOpp", kwlist, &slow, &fast,
                                     &inner, &name, &when_plain, &wrap_type, &wrap_attr,
                                     &check_from, &fast_from, &depth, &call_first, &only_types,
                                     &make, &allowed, &held, &deep)) {
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
    int has_name = name != NULL && name != Py_None;
    int has_fast = fast != NULL && fast != Py_None;
    if (has_fast + has_inner + (has_name && !has_inner) + call_first != 1 &&
        !(has_fast && has_inner && !has_name && !call_first)) {
        PyErr_SetString(PyExc_TypeError,
                        "Fast(): give exactly one of fast, inner (with or without name), "
                        "inner with fast, name, call_first");
        return NULL;
    }
    if (has_fast && !PyCallable_Check(fast)) {
        PyErr_SetString(PyExc_TypeError, "Fast(): fast must be callable");
        return NULL;
    }
    int has_wrap = wrap_type != NULL && wrap_type != Py_None;
    if (has_wrap && (!PyType_Check(wrap_type) || wrap_attr == NULL || wrap_attr == Py_None)) {
        PyErr_SetString(PyExc_TypeError, "Fast(): wrap_type must be a type, with wrap_attr");
        return NULL;
    }
    /* tp_alloc without tp_new is only a valid object for Python classes over `object`
     * (a zeroed dict subclass, type or NoneType instance crashes the interpreter) */
    for (PyTypeObject *t = has_wrap && !IS_HASH_TYPE(wrap_type)
                               ? (PyTypeObject *)wrap_type
                               : &PyBaseObject_Type;
         t != &PyBaseObject_Type; t = t->tp_base) {
        if (t == NULL || !PyType_HasFeature(t, Py_TPFLAGS_HEAPTYPE)) {
            PyErr_SetString(PyExc_TypeError,
                            "Fast(): wrap_type must be a Python class with no builtin base "
                            "but object");
            return NULL;
        }
    }
    if (only_types == Py_None) {
        only_types = NULL;
    }
    if (only_types != NULL) {
        if (!PyTuple_CheckExact(only_types) || !has_fast || has_wrap) {
            PyErr_SetString(PyExc_TypeError, "Fast(): only_types is a tuple of types, with fast");
            return NULL;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(only_types); i++) {
            if (!PyType_Check(PyTuple_GET_ITEM(only_types, i))) {
                PyErr_SetString(PyExc_TypeError, "Fast(): only_types is a tuple of types");
                return NULL;
            }
        }
    }
    if (make == Py_None) {
        make = NULL;
    }
    if (make != NULL &&
        (!PyType_Check(make) || !IS_CSV_TYPE(make) || !has_fast || has_inner || has_name ||
         has_wrap || call_first || only_types != NULL ||
         (when_plain != NULL && when_plain != Py_None) || check_from || fast_from || held)) {
        PyErr_SetString(PyExc_TypeError, "Fast(): make is the CsvWriter type, with fast alone");
        return NULL;
    }
    if (allowed == Py_None) {
        allowed = NULL;
    }
    if (allowed != NULL && (!PyDict_CheckExact(allowed) || !has_fast || has_inner || has_name ||
                            has_wrap || call_first || make != NULL)) {
        PyErr_SetString(PyExc_TypeError, "Fast(): allowed is a dict, with fast alone");
        return NULL;
    }
    if (deep && (!has_fast || has_inner || has_name || has_wrap || call_first ||
                 only_types != NULL || make != NULL || allowed != NULL || held ||
                 (when_plain != NULL && when_plain != Py_None) || check_from || fast_from)) {
        PyErr_SetString(PyExc_TypeError, "Fast(): deep is for a parser, with fast alone");
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
    self->fast = has_fast ? Py_NewRef(fast) : NULL;
    self->call_first = call_first;
    self->only_types = only_types == NULL ? NULL : Py_NewRef(only_types);
    self->make = make == NULL ? NULL : Py_NewRef(make);
    self->inner_type = NULL;
    self->inner_version = 0;
    self->inner_off = 0;
    self->allowed = allowed == NULL ? NULL : Py_NewRef(allowed);
    for (int i = 0; i < MAX_KNOWN; i++) {
        self->known_ts[i] = self->known_pol[i] = NULL;
    }
    self->known_next = 0;
    self->inner = none_to_null(inner);
    self->name = none_to_null(name);
    self->when_plain = none_to_null(when_plain);
    self->wrap_type = has_wrap ? Py_NewRef(wrap_type) : NULL;
    self->wrap_attr = has_wrap ? Py_NewRef(wrap_attr) : NULL;
    self->dict = NULL;
    self->check_from = check_from;
    self->fast_from = fast_from;
    self->depth = depth;
    self->join = has_name && !has_inner && !has_wrap && !call_first && check_from == 0 &&
                 fast_from == 0 && self->when_plain == NULL && only_types == NULL &&
                 PyUnicode_CompareWithASCIIString(name, "join") == 0;
    self->hash_ctor = has_wrap && IS_HASH_TYPE(wrap_type) && has_fast && !has_inner &&
                      !has_name && !call_first && check_from == 0 && fast_from == 0 &&
                      self->when_plain == NULL && only_types == NULL && make == NULL;
    self->held_plain = held;
    self->deep = deep;
    self->join = self->join && !held;
    self->hash_ctor = self->hash_ctor && !held;
    int simple = has_fast && PyCFunction_CheckExact(fast) && !has_inner && !has_name &&
                 !has_wrap && !call_first && only_types == NULL && make == NULL &&
                 allowed == NULL && !held && !deep && self->when_plain == NULL &&
                 check_from == 0 && fast_from == 0;
    self->vectorcall = simple           ? fast_vectorcall_simple
                       : self->hash_ctor ? fast_vectorcall_hash
                                         : fast_vectorcall;
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
    Py_VISIT(self->only_types);
    Py_VISIT(self->make);
    Py_VISIT(self->allowed);
    for (int i = 0; i < MAX_KNOWN; i++) {
        Py_VISIT(self->known_ts[i]);
        Py_VISIT(self->known_pol[i]);
    }
    return 0;
}

static int
fast_clear(PyObject *op)
{
    FastObject *self = (FastObject *)op;
    Py_CLEAR(self->slow); /* first: fast_vectorcall refuses to run once it is NULL */
    Py_CLEAR(self->fast);
    Py_CLEAR(self->inner);
    Py_CLEAR(self->name);
    Py_CLEAR(self->when_plain);
    Py_CLEAR(self->wrap_type);
    Py_CLEAR(self->wrap_attr);
    Py_CLEAR(self->dict);
    Py_CLEAR(self->only_types);
    Py_CLEAR(self->make);
    Py_CLEAR(self->allowed);
    for (int i = 0; i < MAX_KNOWN; i++) {
        Py_CLEAR(self->known_ts[i]);
        Py_CLEAR(self->known_pol[i]);
    }
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
        /* %S runs name's __str__, which may delete it from the dict: hold it */
        Py_INCREF(name);
        PyObject *r = PyUnicode_FromFormat("<purposetag wrapper of %S>", name);
        Py_DECREF(name);
        return r;
    }
    return PyUnicode_FromFormat("<purposetag wrapper at %p>", op);
}

static PyObject *
get_slow(PyObject *op, void *Py_UNUSED(closure))
{
    PyObject *slow = ((FastObject *)op)->slow;
    return Py_NewRef(slow != NULL ? slow : Py_None);
}

/* `f.call`: the same call as a bound builtin method, which CPython's call sites
 * specialise (a direct C call); for module-level use, where nothing binds. */
static PyObject *
fast_fastcall(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return fast_vectorcall(self, args, (size_t)nargs, kwnames);
}

static PyMethodDef fast_methods[] = {
    {"__reduce__", fast_reduce, METH_NOARGS, NULL},
    {"call", (PyCFunction)(void (*)(void))fast_fastcall, METH_FASTCALL | METH_KEYWORDS,
     "call(*args, **kwargs): the object itself, as a builtin method."},
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

/* FastFunction: a Fast that, like the builtin it replaces (``hashlib.sha256``,
 * ``binascii.hexlify``), is not bound as a method when stored on a class
 * (``digest = hashlib.sha256`` in a class body, as Django's hashers do).  The same
 * object layout and functions, without __get__ and the method-descriptor flag
 * (with which CPython's LOAD_METHOD would pass the instance without asking). */
static PyType_Slot fast_function_slots[] = {
    {Py_tp_new, fast_new},
    {Py_tp_dealloc, fast_dealloc},
    {Py_tp_traverse, fast_traverse},
    {Py_tp_clear, fast_clear},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_repr, fast_repr},
    {Py_tp_methods, fast_methods},
    {Py_tp_getset, fast_getset},
    {Py_tp_members, fast_members},
    {Py_tp_doc, "A Fast that is not bound as a method on a class, as a builtin is not."},
    {0, NULL},
};
static PyType_Spec fast_function_spec = {
    .name = "purposetag._speedups.FastFunction",
    .basicsize = sizeof(FastObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = fast_function_slots,
};
/* the FastFunction type of the (last) module instance, for unbind() */
static PyTypeObject *fast_function_type = NULL;

/* unbind(fast): the same object, now a FastFunction (not bound as a method) */
static PyObject *
sp_unbind(PyObject *Py_UNUSED(module), PyObject *obj)
{
    PyTypeObject *t = Py_TYPE(obj);
    if (t->tp_dealloc != fast_dealloc || fast_function_type == NULL) {
        PyErr_SetString(PyExc_TypeError, "unbind(): a purposetag Fast is expected");
        return NULL;
    }
    if (t->tp_descr_get == fast_descr_get) {
        /* the same layout and deallocator: only the type (a new reference) changes */
        Py_SET_TYPE(obj, (PyTypeObject *)Py_NewRef(fast_function_type));
        Py_DECREF(t);
    }
    return Py_NewRef(obj);
}

/* ---------------------------------------------------------------------------
 * front(fast, name, doc, module, original): a builtin function standing for a
 * patched builtin (``hashlib.sha256``, ``binascii.b2a_base64``).  CPython's call
 * sites specialise a call of a builtin function into a direct C call; a call of any
 * other object (a Fast) takes the generic path, ≈ 9 ns more per call (a tenth of
 * ``b64encode`` and ``sha256(b)``).  Its ``__self__`` is a small module object whose
 * state holds the Fast, the original and the method definition (which must live as
 * long as the function), so it is what a builtin function of a module is: not bound
 * on a class, its repr ``<built-in function name>``, pickled by reference as
 * ``module.name``, its signature read from `doc`.  A Fast of the simple lane (plain
 * scalars straight to a C function: binascii's) is returned as it is.
 */
typedef struct {
    PyObject *fast;     /* the FastFunction called */
    PyObject *original; /* the builtin it stands for */
    PyObject *name;     /* bytes: ml_name's storage */
    PyObject *doc;      /* bytes or NULL: ml_doc's storage */
    PyMethodDef def;
} FrontState;

static int
front_traverse(PyObject *m, visitproc visit, void *arg)
{
    FrontState *st = (FrontState *)PyModule_GetState(m);
    if (st != NULL) {
        Py_VISIT(st->fast);
        Py_VISIT(st->original);
    }
    return 0;
}

static int
front_clear(PyObject *m)
{
    FrontState *st = (FrontState *)PyModule_GetState(m);
    if (st != NULL) {
        Py_CLEAR(st->fast);
        Py_CLEAR(st->original);
    }
    return 0;
}

static void
front_free(void *m)
{
    FrontState *st = (FrontState *)PyModule_GetState((PyObject *)m);
    if (st != NULL) {
        Py_CLEAR(st->fast);
        Py_CLEAR(st->original);
        Py_CLEAR(st->name);
        Py_CLEAR(st->doc);
    }
}

static struct PyModuleDef front_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "purposetag._front",
    .m_doc = "Holds one patched builtin's state (see _speedups.front).",
    .m_size = sizeof(FrontState),
    .m_traverse = front_traverse,
    .m_clear = front_clear,
    .m_free = front_free,
};

/* the Fast a front calls, or NULL with an error */
static inline PyObject *
front_fast(PyObject *m)
{
    FrontState *st = (FrontState *)PyModule_GetState(m);
    if (st == NULL || st->fast == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "purposetag: a patched builtin used after its state was cleared");
        return NULL;
    }
    return st->fast;
}

/* One per Fast lane fronted, each calling its lane directly (one indirect call
 * fewer). */
static PyObject *
front_call(PyObject *m, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *f = front_fast(m);
    return f == NULL ? NULL : fast_vectorcall(f, args, (size_t)nargs, kwnames);
}

static PyObject *
front_call_hash(PyObject *m, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *f = front_fast(m);
    return f == NULL ? NULL : fast_vectorcall_hash(f, args, (size_t)nargs, kwnames);
}

static PyCFunction
front_function(PyObject *fast)
{
    if (((FastObject *)fast)->vectorcall == fast_vectorcall_hash) {
        return (PyCFunction)(void (*)(void))front_call_hash;
    }
    return (PyCFunction)(void (*)(void))front_call;
}

static PyObject *
sp_front(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *fast, *name, *doc, *modname, *original;
    if (!PyArg_ParseTuple(args, "OUOUO:front", &fast, &name, &doc, &modname, &original)) {
        return NULL;
    }
    if (Py_TYPE(fast)->tp_dealloc != fast_dealloc) {
        PyErr_SetString(PyExc_TypeError, "front(): a purposetag Fast is expected");
        return NULL;
    }
    if (doc != Py_None && !PyUnicode_Check(doc)) {
        PyErr_SetString(PyExc_TypeError, "front(): doc is a str or None");
        return NULL;
    }
    if (((FastObject *)fast)->vectorcall == fast_vectorcall_simple) {
        /* measured slower behind a front (b64encode's keyword call of b2a_base64:
         * +6 ns), though it runs fewer instructions */
        return Py_NewRef(fast);
    }
    PyObject *name_b = PyUnicode_AsUTF8String(name);
    if (name_b == NULL) {
        return NULL;
    }
    PyObject *doc_b = doc == Py_None ? NULL : PyUnicode_AsUTF8String(doc);
    if (doc != Py_None && doc_b == NULL) {
        Py_DECREF(name_b);
        return NULL;
    }
    PyObject *m = PyModule_Create(&front_def);
    if (m == NULL) {
        Py_DECREF(name_b);
        Py_XDECREF(doc_b);
        return NULL;
    }
    FrontState *st = (FrontState *)PyModule_GetState(m);
    st->fast = Py_NewRef(fast);
    st->original = Py_NewRef(original);
    st->name = name_b;
    st->doc = doc_b;
    st->def.ml_name = PyBytes_AS_STRING(name_b);
    st->def.ml_meth = front_function(fast);
    st->def.ml_flags = METH_FASTCALL | METH_KEYWORDS;
    st->def.ml_doc = doc_b == NULL ? NULL : PyBytes_AS_STRING(doc_b);
    PyObject *f = PyCFunction_NewEx(&st->def, m, modname);
    Py_DECREF(m); /* the function holds it */
    return f;
}

/* front_parts(obj): (fast, original) when obj was made by front(), else None */
static PyObject *
sp_front_parts(PyObject *Py_UNUSED(module), PyObject *obj)
{
    if (!PyCFunction_Check(obj)) {
        Py_RETURN_NONE;
    }
    PyCFunction fn = PyCFunction_GET_FUNCTION(obj);
    if (fn != (PyCFunction)(void (*)(void))front_call &&
        fn != (PyCFunction)(void (*)(void))front_call_hash) {
        Py_RETURN_NONE;
    }
    PyObject *m = PyCFunction_GET_SELF(obj);
    FrontState *st = m == NULL || !PyModule_Check(m) ? NULL : (FrontState *)PyModule_GetState(m);
    if (st == NULL || st->fast == NULL) {
        Py_RETURN_NONE;
    }
    return PyTuple_Pack(2, st->fast, st->original);
}

/* ---------------------------------------------------------------------------
 * Site: one rewritten f-string / join / format / % of a given shape (see
 * _rewrite.py).  Called with the site's already evaluated operands, in order.
 * When every operand is plain it computes the original operation in C and
 * returns it; otherwise it calls `slow`, the Python aspect, with what it needs.
 */
enum { SITE_FSTRING = 0, SITE_JOIN = 1, SITE_FORMAT = 2, SITE_MOD = 3 };
#define SITE_STACK 16

typedef struct {
    PyObject_HEAD
    int kind;
    PyObject *items;     /* FSTRING: the literals; else constants, with `mark` for operands */
    PyObject *mark;
    PyObject *call;      /* FSTRING: offsets; JOIN: sep.join; FORMAT: tmpl.format; MOD: tmpl */
    PyObject *kwnames;   /* FORMAT: names of the last items, or NULL */
    PyObject *slow;
    PyObject *slow_head; /* first argument of `slow` (JOIN, FORMAT, MOD) */
    PyTypeObject *want;  /* JOIN: the separator's type */
    PyObject *prog;      /* MOD: (lead, ((code, spec, literal after), ...)) or NULL */
    Py_ssize_t nvar;
    Py_ssize_t lit_len;  /* FSTRING: total length of the literals */
    Py_UCS4 lit_max;     /* FSTRING: their widest character class */
    int as_list;
    int dyn;             /* call is None: the first operand is the call (and slow's head) */
    int raw_last;        /* FSTRING: the last piece comes unformatted (see site_fstring) */
    vectorcallfunc vectorcall;
} SiteObject;

/* the C functions of str.join and bytes.join (set by module_exec; the same in every
 * module instance) */
static PyCFunction str_join_fn = NULL, bytes_join_fn = NULL;

/* `call` is `sep.join` for an exact str or bytes `sep`: no Python code runs in it */
static int
is_builtin_join(PyObject *call)
{
    if (!PyCFunction_Check(call)) {
        return 0;
    }
    PyObject *sep = PyCFunction_GET_SELF(call);
    PyCFunction fn = PyCFunction_GET_FUNCTION(call);
    return sep != NULL && ((Py_TYPE(sep) == &PyUnicode_Type && fn == str_join_fn) ||
                           (Py_TYPE(sep) == &PyBytes_Type && fn == bytes_join_fn));
}

/* copy `s` into `res` (of `kind`, data `data`) at *pos: memcpy when the kinds agree */
/* `len` and `maxc` of a string to be made grown by the (ready) string `p`'s; -1
 * with MemoryError past PY_SSIZE_T_MAX */
static inline int
add_piece(PyObject *p, Py_ssize_t *len, Py_UCS4 *maxc)
{
    Py_ssize_t k = PyUnicode_GET_LENGTH(p);
    if (k > PY_SSIZE_T_MAX - *len) {
        PyErr_NoMemory();
        return -1;
    }
    *len += k;
    if (PyUnicode_MAX_CHAR_VALUE(p) > *maxc) {
        *maxc = PyUnicode_MAX_CHAR_VALUE(p);
    }
    return 0;
}

static inline int
site_put(PyObject *res, int kind, char *data, Py_ssize_t *pos, PyObject *s)
{
    Py_ssize_t k = PyUnicode_GET_LENGTH(s);
    if (k == 0) {
        return 0;
    }
    if ((int)PyUnicode_KIND(s) == kind) {
        memcpy(data + *pos * kind, PyUnicode_DATA(s), (size_t)k * (size_t)kind);
    }
    else if (PyUnicode_CopyCharacters(res, *pos, s, 0, k) < 0) {
        return -1;
    }
    *pos += k;
    return 0;
}

static PyObject *site_fstring_pieces(SiteObject *self, PyObject *const *args, Py_ssize_t n);

/* An f-string's pieces come formatted (``f"{x}"``: CPython's FORMAT_VALUE), but for
 * `raw_last` the last one, which has no conversion and no spec, comes as its value:
 * it is formatted here as FORMAT_VALUE would, after every piece is evaluated, as
 * there.  A TaintedStr's __format__ of the empty spec is the string itself (C's
 * carrier_format): asking for it cost a method look-up and a bound method. */
static PyObject *
site_fstring(SiteObject *self, PyObject *const *args, Py_ssize_t n)
{
    if (!self->raw_last || n < 1) {
        return site_fstring_pieces(self, args, n);
    }
    PyObject *last = args[n - 1];
    if (PyUnicode_CheckExact(last) || (format_type != NULL && Py_IS_TYPE(last, format_type))) {
        return site_fstring_pieces(self, args, n);
    }
    PyObject *small[SITE_STACK];
    PyObject **pieces = small;
    if (n > SITE_STACK) {
        pieces = PyMem_Malloc((size_t)n * sizeof(PyObject *));
        if (pieces == NULL) {
            return PyErr_NoMemory();
        }
    }
    PyObject *res = NULL;
    PyObject *f = PyObject_Format(last, NULL);
    if (f != NULL) {
        for (Py_ssize_t i = 0; i < n - 1; i++) {
            pieces[i] = args[i];
        }
        pieces[n - 1] = f;
        res = site_fstring_pieces(self, pieces, n);
        Py_DECREF(f);
    }
    if (pieces != small) {
        PyMem_Free(pieces);
    }
    return res;
}

static PyObject *
site_fstring_pieces(SiteObject *self, PyObject *const *args, Py_ssize_t n)
{
    PyObject *lits = self->items;
    Py_ssize_t len = self->lit_len;
    Py_UCS4 maxc = self->lit_max;
    int exact = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p = args[i];
        if (!PyUnicode_CheckExact(p)) {
            if (!PyUnicode_Check(p)) {
                PyErr_SetString(PyExc_TypeError, "purposetag: f-string piece is not a str");
                return NULL;
            }
            exact = 0;
        }
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(p) < 0) {
            return NULL;
        }
#endif
        if (add_piece(p, &len, &maxc) < 0) {
            return NULL;
        }
    }
    PyObject *res = PyUnicode_New(len, maxc);
    if (res == NULL) {
        return NULL;
    }
    int kind = (int)PyUnicode_KIND(res);
    char *data = (char *)PyUnicode_DATA(res);
    Py_ssize_t pos = 0;
    Py_ssize_t at[SITE_STACK]; /* where each piece starts (the first SITE_STACK) */
    for (Py_ssize_t i = 0; i <= n; i++) {
        if (site_put(res, kind, data, &pos, PyTuple_GET_ITEM(lits, i)) < 0) {
            Py_DECREF(res);
            return NULL;
        }
        if (i < n && i < SITE_STACK) {
            at[i] = pos;
        }
        if (i < n && site_put(res, kind, data, &pos, args[i]) < 0) {
            Py_DECREF(res);
            return NULL;
        }
    }
    if (!exact && n <= SITE_STACK) { /* tagged pieces: their ranges, in C if it can */
        PyObject *out = tag_pieces(res, args, at, n);
        if (out != NULL || PyErr_Occurred()) {
            Py_DECREF(res);
            return out;
        }
    }
    if (exact) {
        return res;
    }
    /* slow(res, offsets, *pieces) */
    PyObject *small[SITE_STACK];
    PyObject **stack = small;
    if (n + 2 > SITE_STACK) {
        stack = PyMem_Malloc((size_t)(n + 2) * sizeof(PyObject *));
        if (stack == NULL) {
            Py_DECREF(res);
            return PyErr_NoMemory();
        }
    }
    stack[0] = res;
    stack[1] = self->call;
    for (Py_ssize_t i = 0; i < n; i++) {
        stack[i + 2] = args[i];
    }
    PyObject *out = PyObject_Vectorcall(self->slow, stack, (size_t)(n + 2), NULL);
    if (stack != small) {
        PyMem_Free(stack);
    }
    Py_DECREF(res);
    return out;
}

/* The site's items with the operands put in place of `mark`; *plain tells whether
 * every operand passed the kind's check. */
static void
site_fill(SiteObject *self, PyObject *const *args, PyObject **out, int *plain)
{
    Py_ssize_t m = PyTuple_GET_SIZE(self->items);
    Py_ssize_t k = 0;
    *plain = 1;
    for (Py_ssize_t i = 0; i < m; i++) {
        PyObject *it = PyTuple_GET_ITEM(self->items, i);
        if (it == self->mark) {
            it = args[k++];
            if (*plain) {
                if (self->kind == SITE_JOIN ? Py_TYPE(it) != self->want : !plain_scalar(it)) {
                    *plain = 0;
                }
            }
        }
        out[i] = it; /* borrowed */
    }
}

static PyObject *
site_seq(SiteObject *self, PyObject **items, Py_ssize_t m, int as_list)
{
    PyObject *seq = as_list ? PyList_New(m) : PyTuple_New(m);
    if (seq == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        if (as_list) {
            PyList_SET_ITEM(seq, i, Py_NewRef(items[i]));
        }
        else {
            PyTuple_SET_ITEM(seq, i, Py_NewRef(items[i]));
        }
    }
    return seq;
}

/* prog as _formatting.percent_program / brace_program make it: (lead, ops), each op
 * (code, operand index, spec, literal after); m operands */
static int
site_prog_ok(PyObject *prog, Py_ssize_t m)
{
    if (!PyTuple_CheckExact(prog) || PyTuple_GET_SIZE(prog) != 2 ||
        !PyUnicode_CheckExact(PyTuple_GET_ITEM(prog, 0)) ||
        !PyTuple_CheckExact(PyTuple_GET_ITEM(prog, 1))) {
        return 0;
    }
    PyObject *ops = PyTuple_GET_ITEM(prog, 1);
    Py_ssize_t nops = PyTuple_GET_SIZE(ops);
    if (nops < 1 || nops > SITE_STACK || m > SITE_STACK) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < nops; i++) {
        PyObject *op = PyTuple_GET_ITEM(ops, i);
        if (!PyTuple_CheckExact(op) || PyTuple_GET_SIZE(op) != 4 ||
            !PyLong_CheckExact(PyTuple_GET_ITEM(op, 0)) ||
            !PyLong_CheckExact(PyTuple_GET_ITEM(op, 1)) ||
            !PyUnicode_CheckExact(PyTuple_GET_ITEM(op, 2)) ||
            !PyUnicode_CheckExact(PyTuple_GET_ITEM(op, 3))) {
            return 0;
        }
        long code = PyLong_AsLong(PyTuple_GET_ITEM(op, 0));
        Py_ssize_t at = PyLong_AsSsize_t(PyTuple_GET_ITEM(op, 1));
        if (PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        if (code != 0 && code != 2 && code != 3 && code != 4 && code != 5) {
            return 0;
        }
        if (at < 0 || at >= m || (code <= 3 && (nops != m || at != i))) {
            return 0; /* `%`: one field per operand, in order */
        }
    }
    return 1;
}

/* One field of a prog: a new reference to its text, or NULL (no error set) when
 * Python should do it.  What each code accepts runs no Python code:
 *   0  bare %s:        an exact str or a TaintedStr (its text)
 *   2  %<spec>:        an exact int or float, `spec % (v,)`
 *   3  bare %d:        an exact int, str(v)
 *   4  {:<spec>}:      an exact str, int or float, format(v, spec)
 *   5  bare {}:        as 0, or an exact int or float, format(v, "") */
static PyObject *
prog_piece(long code, PyObject *spec, PyObject *v)
{
    int text = PyUnicode_CheckExact(v) || Py_IS_TYPE(v, carrier);
    int number = PyLong_CheckExact(v) || PyFloat_CheckExact(v);
    PyObject *piece = NULL;
    if ((code == 0 || code == 5) && text) {
        return Py_NewRef(v);
    }
    if (code == 3 && PyLong_CheckExact(v)) {
        piece = PyObject_Str(v);
    }
    else if (code == 2 && number) {
        PyObject *one = PyTuple_Pack(1, v);
        piece = one ? PyUnicode_Format(spec, one) : NULL;
        Py_XDECREF(one);
    }
    else if ((code == 5 && number) || (code == 4 && (number || PyUnicode_CheckExact(v)))) {
        piece = PyObject_Format(v, spec);
    }
    if (piece != NULL && !PyUnicode_CheckExact(piece)) {
        Py_CLEAR(piece);
    }
    if (piece == NULL) {
        PyErr_Clear(); /* Python formats it again, and raises what plain str raises */
    }
    return piece;
}

/* ``template % items`` / ``template.format(*items)`` with TaintedStr operands, for a
 * site with a prog: _formatting._run_percent_fast / _run_brace_fast in C.  NULL
 * with no error set: anything else, and any failure, is Python's. */
static inline Py_UCS4
widest(Py_UCS4 maxc, PyObject *s)
{
    Py_UCS4 c = PyUnicode_MAX_CHAR_VALUE(s);
    return c > maxc ? c : maxc;
}

/* The string a prog makes: its lead, then each piece followed by its op's literal,
 * `len` characters of at most `maxc`, put together as the f-string site puts its
 * own (a parts tuple and str.join cost more) */
static PyObject *
prog_build(PyObject *lead, PyObject *ops, PyObject **pieces, Py_ssize_t len, Py_UCS4 maxc)
{
    PyObject *res = PyUnicode_New(len, maxc);
    if (res == NULL) {
        return NULL;
    }
    int kind = (int)PyUnicode_KIND(res);
    char *data = (char *)PyUnicode_DATA(res);
    Py_ssize_t pos = 0;
    if (site_put(res, kind, data, &pos, lead) < 0) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(ops); i++) {
        if (site_put(res, kind, data, &pos, pieces[i]) < 0 ||
            site_put(res, kind, data, &pos, PyTuple_GET_ITEM(PyTuple_GET_ITEM(ops, i), 3)) < 0) {
            goto error;
        }
    }
    return res;
error:
    Py_DECREF(res);
    return NULL;
}

static PyObject *
site_prog_tagged(SiteObject *self, PyObject **items)
{
    if (carrier == NULL || self->prog == NULL) {
        return NULL;
    }
    PyObject *lead = PyTuple_GET_ITEM(self->prog, 0);
    PyObject *ops = PyTuple_GET_ITEM(self->prog, 1);
    Py_ssize_t nops = PyTuple_GET_SIZE(ops);
    PyObject *pieces[SITE_STACK];
    Py_ssize_t at[SITE_STACK];
    Py_ssize_t pos = PyUnicode_GET_LENGTH(lead);
    Py_UCS4 maxc = PyUnicode_MAX_CHAR_VALUE(lead);
    Py_ssize_t made = 0; /* pieces[0:made] are ours */
    PyObject *res = NULL, *out = NULL;
    for (; made < nops; made++) {
        PyObject *op = PyTuple_GET_ITEM(ops, made);
        Py_ssize_t k = PyLong_AsSsize_t(PyTuple_GET_ITEM(op, 1)); /* checked with the prog */
        PyObject *piece = prog_piece(PyLong_AsLong(PyTuple_GET_ITEM(op, 0)),
                                     PyTuple_GET_ITEM(op, 2), items[k]);
        if (piece == NULL) {
            goto done; /* no error set: Python's */
        }
        PyObject *lit = PyTuple_GET_ITEM(op, 3);
        pieces[made] = piece;
        at[made] = pos;
        pos += PyUnicode_GET_LENGTH(piece) + PyUnicode_GET_LENGTH(lit);
        maxc = widest(widest(maxc, piece), lit);
    }
    res = prog_build(lead, ops, pieces, pos, maxc);
    if (res != NULL) {
        out = tag_pieces(res, pieces, at, nops);
    }
done:
    Py_XDECREF(res);
    for (Py_ssize_t i = 0; i < made; i++) {
        Py_DECREF(pieces[i]);
    }
    return out;
}

/* ``sep.join([items...])`` for a str separator and items each an exact str or a
 * TaintedStr (the site's operands and constants): put together as the f-string site
 * does, without the list and the call str.join needs, and tagged from the items'
 * ranges.  NULL with no error set: anything else (a str subclass, a non-str item,
 * more than SITE_STACK items), which the list and str.join do. */
static PyObject *
site_join_direct(PyObject *call, PyObject **items, Py_ssize_t m, int plain)
{
    PyObject *sep = PyCFunction_GET_SELF(call);
    if (!PyUnicode_CheckExact(sep) || m > SITE_STACK || m < 1 || (!plain && carrier == NULL)) {
        return NULL;
    }
    Py_ssize_t ls = PyUnicode_GET_LENGTH(sep);
    Py_ssize_t len = ls * (m - 1);
    Py_UCS4 maxc = m > 1 ? PyUnicode_MAX_CHAR_VALUE(sep) : 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        PyObject *it = items[i];
        if (!PyUnicode_CheckExact(it) && !Py_IS_TYPE(it, carrier)) {
            return NULL;
        }
        if (add_piece(it, &len, &maxc) < 0) {
            return NULL;
        }
    }
    PyObject *res = PyUnicode_New(len, maxc);
    if (res == NULL) {
        return NULL;
    }
    int kind = (int)PyUnicode_KIND(res);
    char *data = (char *)PyUnicode_DATA(res);
    Py_ssize_t pos = 0, at[SITE_STACK];
    for (Py_ssize_t i = 0; i < m; i++) {
        if ((i > 0 && site_put(res, kind, data, &pos, sep) < 0)) {
            Py_DECREF(res);
            return NULL;
        }
        at[i] = pos;
        if (site_put(res, kind, data, &pos, items[i]) < 0) {
            Py_DECREF(res);
            return NULL;
        }
    }
    if (plain) {
        return res;
    }
    PyObject *out = tag_pieces(res, items, at, m);
    Py_DECREF(res);
    return out;
}

/* ``template % items`` / ``template.format(*items)`` with plain operands, for a site
 * with a prog, when every field is a bare ``%s``/``%d``/``{}`` of an exact str or
 * int: the pieces are the str itself or str() of the int, as str's own formatting
 * makes them, put together in one string as an f-string site does (the template is
 * not parsed again on every call).  NULL with no error set: anything else, which
 * str's % or format() does. */
static PyObject *
site_prog_plain(SiteObject *self, PyObject **items)
{
    PyObject *lead = PyTuple_GET_ITEM(self->prog, 0);
    PyObject *ops = PyTuple_GET_ITEM(self->prog, 1);
    Py_ssize_t nops = PyTuple_GET_SIZE(ops); /* checked: at most SITE_STACK */
    PyObject *pieces[SITE_STACK];
    Py_ssize_t len = PyUnicode_GET_LENGTH(lead);
    Py_UCS4 maxc = PyUnicode_MAX_CHAR_VALUE(lead);
    Py_ssize_t made = 0; /* pieces[0:made] exist; those of ints are ours */
    PyObject *res = NULL;
    for (; made < nops; made++) {
        PyObject *op = PyTuple_GET_ITEM(ops, made);
        long code = PyLong_AsLong(PyTuple_GET_ITEM(op, 0)); /* checked small ints */
        PyObject *v = items[PyLong_AsSsize_t(PyTuple_GET_ITEM(op, 1))];
        PyObject *piece;
        if ((code == 0 || code == 5) && PyUnicode_CheckExact(v)) {
            piece = Py_NewRef(v);
        }
        else if ((code == 0 || code == 3 || code == 5) && PyLong_CheckExact(v)) {
            piece = PyLong_Type.tp_str(v); /* %s, %d and format(v, "") of an int */
            if (piece == NULL) {
                goto done;
            }
        }
        else {
            goto done; /* not this case: no error set */
        }
        pieces[made] = piece;
        PyObject *lit = PyTuple_GET_ITEM(op, 3);
        len += PyUnicode_GET_LENGTH(piece) + PyUnicode_GET_LENGTH(lit);
        maxc = widest(widest(maxc, piece), lit);
    }
    res = prog_build(lead, ops, pieces, len, maxc);
done:
    for (Py_ssize_t i = 0; i < made; i++) {
        Py_DECREF(pieces[i]);
    }
    return res;
}

static PyObject *
site_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    SiteObject *self = (SiteObject *)op;
    if (self->slow == NULL) { /* emptied by the GC's tp_clear (site_clear drops slow first) */
        PyErr_SetString(PyExc_ReferenceError, "purposetag Site called after it was cleared");
        return NULL;
    }
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    if (n != self->nvar + self->dyn || kwnames != NULL) {
        PyErr_Format(PyExc_TypeError, "purposetag site takes %zd operands, got %zd",
                     self->nvar + self->dyn, n);
        return NULL;
    }
    if (self->kind == SITE_FSTRING) {
        return site_fstring(self, args, n);
    }
    /* dyn: the first operand is the bound method (join, format) or the template (%) */
    PyObject *call = self->dyn ? args[0] : self->call;
    PyObject *slow_head = self->dyn ? args[0] : self->slow_head;
    PyObject *const *ops = args + self->dyn;
    Py_ssize_t m = PyTuple_GET_SIZE(self->items);
    PyObject *small[SITE_STACK + 1];
    PyObject **items = small + 1; /* small[0]: room for the bound method (dyn format) */
    int plain;
    site_fill(self, ops, items, &plain);
    PyObject *res = NULL;
    if (self->kind == SITE_FORMAT) {
        Py_ssize_t nk = self->kwnames ? PyTuple_GET_SIZE(self->kwnames) : 0;
        if (plain) {
            if (self->prog != NULL) {
                res = site_prog_plain(self, items);
                if (res != NULL || PyErr_Occurred()) {
                    return res;
                }
            }
            return PyObject_Vectorcall(call, items, (size_t)(m - nk), self->kwnames);
        }
        if (self->prog != NULL) { /* positional fields only: ranges in C if it can */
            res = site_prog_tagged(self, items);
            if (res != NULL || PyErr_Occurred()) {
                return res;
            }
        }
        if (self->dyn) { /* slow(m, *args, **kwargs) */
            small[0] = call;
            return PyObject_Vectorcall(self->slow, small, (size_t)(m - nk + 1), self->kwnames);
        }
        PyObject *pos = site_seq(self, items, m - nk, 0);
        if (pos == NULL) {
            return NULL;
        }
        PyObject *kw = PyDict_New();
        if (kw == NULL) {
            Py_DECREF(pos);
            return NULL;
        }
        for (Py_ssize_t j = 0; j < nk; j++) {
            if (PyDict_SetItem(kw, PyTuple_GET_ITEM(self->kwnames, j), items[m - nk + j]) < 0) {
                Py_DECREF(pos);
                Py_DECREF(kw);
                return NULL;
            }
        }
        res = PyObject_CallFunctionObjArgs(self->slow, slow_head, pos, kw, NULL);
        Py_DECREF(pos);
        Py_DECREF(kw);
        return res;
    }
    if (self->kind == SITE_JOIN && PyCFunction_Check(call) && is_builtin_join(call)) {
        res = site_join_direct(call, items, m, plain);
        if (res != NULL || PyErr_Occurred()) {
            return res;
        }
    }
    if (plain && self->kind == SITE_MOD && self->prog != NULL) {
        res = site_prog_plain(self, items);
        if (res != NULL || PyErr_Occurred()) {
            return res;
        }
    }
    PyObject *seq = site_seq(self, items, m, self->kind == SITE_JOIN && self->as_list);
    if (seq == NULL) {
        return NULL;
    }
    if (self->kind == SITE_JOIN) {
        /* A str/bytes join runs no Python code: join first, as the aspect does, so a
         * bad item fails here, from C.  Another object's join is called once only. */
        /* slow(join, items, result): the result is None when not computed yet */
        if (!self->dyn || is_builtin_join(call)) {
            res = PyObject_CallOneArg(call, seq);
            PyObject *sep = PyCFunction_Check(call) ? PyCFunction_GET_SELF(call) : NULL;
            if (res != NULL && !plain && sep != NULL && PyUnicode_CheckExact(sep) &&
                PyUnicode_CheckExact(res)) { /* every item is a str: the join succeeded */
                PyObject *out = tag_joined(res, sep, items, m);
                if (out != NULL || PyErr_Occurred()) {
                    Py_DECREF(res);
                    Py_DECREF(seq);
                    return out;
                }
            }
            if (res != NULL && !plain) {
                PyObject *joined = res;
                res = PyObject_CallFunctionObjArgs(self->slow, slow_head, seq, joined, NULL);
                Py_DECREF(joined);
            }
        }
        else if (plain) {
            res = PyObject_CallOneArg(call, seq);
        }
        else {
            res = PyObject_CallFunctionObjArgs(self->slow, slow_head, seq, Py_None, NULL);
        }
    }
    else if (plain) {
        res = PyNumber_Remainder(call, seq);
    }
    else {
        res = site_prog_tagged(self, items);
        if (res == NULL && !PyErr_Occurred()) {
            res = PyObject_CallFunctionObjArgs(self->slow, slow_head, seq, NULL);
        }
    }
    Py_DECREF(seq);
    return res;
}

/* `site.call`: the same call as a bound builtin method, which CPython's call sites
 * specialise (a direct C call) where a callable object takes the generic path. */
static PyObject *
site_fastcall(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return site_vectorcall(self, args, (size_t)nargs, NULL);
}

static PyMethodDef site_methods[] = {
    {"call", (PyCFunction)(void (*)(void))site_fastcall, METH_FASTCALL,
     "call(*operands): the site itself, as a builtin method."},
    {NULL, NULL, 0, NULL},
};

static PyObject *
site_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"kind",    "items", "slow",    "call", "slow_head",
                             "kwnames", "mark",  "as_list", "prog", "raw_last", NULL};
    int kind, as_list = 0, raw_last = 0;
    PyObject *items, *slow, *call = Py_None, *slow_head = Py_None, *kwnames = Py_None;
    PyObject *mark = Py_None, *prog = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iO!O|$OOOOpOp", kwlist, &kind, &PyTuple_Type,
                                     &items, &slow, &call, &slow_head, &kwnames, &mark,
                                     &as_list, &prog, &raw_last)) {
        return NULL;
    }
    if (raw_last && kind != SITE_FSTRING) {
        PyErr_SetString(PyExc_TypeError, "Site(): raw_last is for an f-string");
        return NULL;
    }
    if (prog != Py_None &&
        (!(kind == SITE_MOD ? PyUnicode_CheckExact(call)
                            : kind == SITE_FORMAT && PyUnicode_CheckExact(slow_head) &&
                                  kwnames == Py_None && call != Py_None) ||
         !site_prog_ok(prog, PyTuple_GET_SIZE(items)))) {
        PyErr_SetString(PyExc_TypeError,
                        "Site(): prog is (lead, ((code, operand, spec, literal), ...)), for a "
                        "% or .format() site with a str template");
        return NULL;
    }
    Py_ssize_t m = PyTuple_GET_SIZE(items);
    if (kind < SITE_FSTRING || kind > SITE_MOD || !PyCallable_Check(slow) ||
        (kind != SITE_FSTRING && (m > SITE_STACK || mark == Py_None))) {
        PyErr_SetString(PyExc_TypeError, "Site(): bad kind, slow, mark or too many items");
        return NULL;
    }
    Py_ssize_t nvar = 0, lit_len = 0;
    Py_UCS4 lit_max = 127;
    if (kind == SITE_FSTRING) {
        if (m < 1) {
            PyErr_SetString(PyExc_TypeError, "Site(): an f-string needs literals");
            return NULL;
        }
        for (Py_ssize_t i = 0; i < m; i++) {
            PyObject *lit = PyTuple_GET_ITEM(items, i);
            if (!PyUnicode_CheckExact(lit)) {
                PyErr_SetString(PyExc_TypeError, "Site(): f-string literals must be str");
                return NULL;
            }
#if PY_VERSION_HEX < 0x030C0000
            if (PyUnicode_READY(lit) < 0) {
                return NULL;
            }
#endif
            lit_len += PyUnicode_GET_LENGTH(lit);
            if (PyUnicode_MAX_CHAR_VALUE(lit) > lit_max) {
                lit_max = PyUnicode_MAX_CHAR_VALUE(lit);
            }
        }
        nvar = m - 1;
        if (!PyTuple_Check(call)) {
            PyErr_SetString(PyExc_TypeError, "Site(): an f-string needs its offsets as call");
            return NULL;
        }
    }
    else {
        for (Py_ssize_t i = 0; i < m; i++) {
            nvar += PyTuple_GET_ITEM(items, i) == mark;
        }
        if (kind == SITE_JOIN && call != Py_None && !PyCallable_Check(call)) {
            PyErr_SetString(PyExc_TypeError, "Site(): a join needs sep.join as call");
            return NULL;
        }
        if (kind == SITE_FORMAT && call != Py_None && !PyCallable_Check(call)) {
            PyErr_SetString(PyExc_TypeError, "Site(): a format needs tmpl.format as call");
            return NULL;
        }
    }
    if (kwnames != Py_None) {
        if (kind != SITE_FORMAT || !PyTuple_CheckExact(kwnames) ||
            PyTuple_GET_SIZE(kwnames) > m) {
            PyErr_SetString(PyExc_TypeError, "Site(): kwnames is a tuple, for format only");
            return NULL;
        }
        /* passed to vectorcall as keyword names, which must be distinct exact str */
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(kwnames); j++) {
            PyObject *k = PyTuple_GET_ITEM(kwnames, j);
            int bad = !PyUnicode_CheckExact(k);
            for (Py_ssize_t i = 0; !bad && i < j; i++) {
                bad = PyUnicode_Compare(k, PyTuple_GET_ITEM(kwnames, i)) == 0;
            }
            if (bad) {
                PyErr_SetString(PyExc_TypeError, "Site(): kwnames must be distinct str");
                return NULL;
            }
        }
    }
    PyTypeObject *want = NULL;
    if (kind == SITE_JOIN && call == Py_None) {
        want = &PyUnicode_Type;
    }
    else if (kind == SITE_JOIN) {
        if (!is_builtin_join(call)) {
            PyErr_SetString(PyExc_TypeError,
                            "Site(): a join's call is sep.join, its separator a str or bytes");
            return NULL;
        }
        want = Py_TYPE(PyCFunction_GET_SELF(call));
    }
    SiteObject *self = (SiteObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->kind = kind;
    self->items = Py_NewRef(items);
    self->mark = Py_NewRef(mark);
    self->call = Py_NewRef(call);
    self->kwnames = kwnames == Py_None ? NULL : Py_NewRef(kwnames);
    self->slow = Py_NewRef(slow);
    self->slow_head = Py_NewRef(slow_head);
    self->want = want;
    self->prog = prog == Py_None ? NULL : Py_NewRef(prog);
    self->nvar = nvar;
    self->lit_len = lit_len;
    self->lit_max = lit_max;
    self->as_list = as_list;
    self->raw_last = raw_last;
    self->dyn = kind != SITE_FSTRING && call == Py_None;
    self->vectorcall = site_vectorcall;
    return (PyObject *)self;
}

static int
site_traverse(PyObject *op, visitproc visit, void *arg)
{
    SiteObject *self = (SiteObject *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->items);
    Py_VISIT(self->mark);
    Py_VISIT(self->call);
    Py_VISIT(self->kwnames);
    Py_VISIT(self->slow);
    Py_VISIT(self->slow_head);
    Py_VISIT(self->prog);
    return 0;
}

static int
site_clear(PyObject *op)
{
    SiteObject *self = (SiteObject *)op;
    Py_CLEAR(self->slow); /* first: site_vectorcall refuses to run once it is NULL */
    Py_CLEAR(self->items);
    Py_CLEAR(self->mark);
    Py_CLEAR(self->call);
    Py_CLEAR(self->kwnames);
    Py_CLEAR(self->slow_head);
    Py_CLEAR(self->prog);
    return 0;
}

static void
site_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    site_clear(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyMemberDef site_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(SiteObject, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot site_slots[] = {
    {Py_tp_new, site_new},
    {Py_tp_dealloc, site_dealloc},
    {Py_tp_traverse, site_traverse},
    {Py_tp_clear, site_clear},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_members, site_members},
    {Py_tp_methods, site_methods},
    {Py_tp_doc, "One rewritten f-string/join/format/% site: plain operands in C."},
    {0, NULL},
};

static PyType_Spec site_spec = {
    .name = "purposetag._speedups.Site",
    .basicsize = sizeof(SiteObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = site_slots,
};

/* ---------------------------------------------------------------------------
 * TaggedHash: a hashlib/hmac object and the tags of what it was fed (NULL: none
 * yet).  Plain data goes straight to the wrapped object, and digests are its own
 * while no tags were fed; everything else is the pure-Python `TaggedHash`'s
 * methods (`set_hash_twin`), called with this object, whose `_h` and `_pt_tags`
 * they read and write.  Not tracked by the GC: it holds a hash object and a
 * frozenset of tags, which cannot refer back to it.  The other attributes of hash
 * objects (name, digest_size, ...) are forwarding properties added from Python: a
 * custom getattr would take every method call off CPython's fast path.
 */
typedef struct {
    PyObject_HEAD
    PyObject *h;
    PyObject *tags;
} HashObject;

static PyObject *twin_update = NULL, *twin_digest = NULL, *twin_hexdigest = NULL;
static PyObject *str_update = NULL, *str_digest = NULL, *str_hexdigest = NULL,
                *str_copy = NULL;

/* Freed wrappers kept for reuse (a hash per email hashed: malloc and free were a
 * tenth of ``sha256(data).hexdigest()``).  All TaggedHash types (one per module
 * instance) share it: they have the same size and allocator (not GC-tracked,
 * PyObject_Malloc'ed by PyType_GenericAlloc). */
#define HASH_FREE_MAX 16
static HashObject *hash_free[HASH_FREE_MAX];
static int hash_nfree = 0;

static PyObject *
hash_wrap(PyTypeObject *tp, PyObject *h, PyObject *tags)
{
    HashObject *o;
    if (hash_nfree > 0 && tp->tp_alloc == PyType_GenericAlloc) {
        o = hash_free[--hash_nfree];
#if defined(Py_REF_DEBUG) || defined(Py_TRACE_REFS)
        PyObject_Init((PyObject *)o, tp); /* sets the type (a new reference) and refcount */
#else
        /* PyObject_Init's work, inline: the block is still allocated (to tracemalloc
         * too), only its object is new */
        Py_SET_TYPE(o, (PyTypeObject *)Py_NewRef(tp));
        Py_SET_REFCNT(o, 1);
#endif
    }
    else {
        o = (HashObject *)tp->tp_alloc(tp, 0);
        if (o == NULL) {
            return NULL;
        }
    }
    o->h = Py_NewRef(h);
    o->tags = (tags == NULL || tags == Py_None) ? NULL : Py_NewRef(tags);
    return (PyObject *)o;
}

static PyObject *
hash_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"h", "tags", NULL};
    PyObject *h, *tags = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:TaggedHash", kwlist, &h, &tags)) {
        return NULL;
    }
    if (tags != NULL && tags != Py_None && !PyFrozenSet_CheckExact(tags)) {
        PyErr_SetString(PyExc_TypeError, "TaggedHash(): tags is a frozenset of tags or None");
        return NULL;
    }
    return hash_wrap(type, h, tags);
}

static void
hash_dealloc(PyObject *op)
{
    HashObject *self = (HashObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    Py_CLEAR(self->h);
    Py_CLEAR(self->tags);
    if (hash_nfree < HASH_FREE_MAX && tp->tp_free == PyObject_Free &&
        tp->tp_alloc == PyType_GenericAlloc) {
        hash_free[hash_nfree++] = self;
    }
    else {
        tp->tp_free(op);
    }
    Py_DECREF(tp);
}

/* twin(self, *args, **kwargs) */
static PyObject *
hash_twin(PyObject *twin, PyObject *self, PyObject *const *args, Py_ssize_t nargs,
          PyObject *kwnames)
{
    if (twin == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "purposetag: TaggedHash used before set_hash_twin");
        return NULL;
    }
    Py_ssize_t nk = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    PyObject *small[MAX_STACK];
    PyObject **stack = small;
    if (nargs + nk + 1 > MAX_STACK) {
        stack = PyMem_Malloc((size_t)(nargs + nk + 1) * sizeof(PyObject *));
        if (stack == NULL) {
            return PyErr_NoMemory();
        }
    }
    stack[0] = self;
    for (Py_ssize_t i = 0; i < nargs + nk; i++) {
        stack[i + 1] = args[i];
    }
    Py_INCREF(twin); /* a global: set_hash_twin, run by the twin, may drop it */
    PyObject *res = PyObject_Vectorcall(twin, stack, (size_t)(nargs + 1), kwnames);
    Py_DECREF(twin);
    if (stack != small) {
        PyMem_Free(stack);
    }
    return res;
}

/* The methods of the wrapped hash's type, looked up once (a two-entry cache) so a
 * forwarded call is a descriptor call, not a look-up by name.  Only for immutable
 * types without an instance dict (the C hash types): their methods cannot change. */
enum { HM_UPDATE = 0, HM_DIGEST = 1, HM_HEXDIGEST = 2 };
typedef struct {
    PyTypeObject *type;
    PyObject *m[3]; /* method descriptors, or NULL: call by name */
    PyCFunction noargs[3]; /* their C functions when METH_NOARGS (digests), else NULL */
} HashMethods;
static HashMethods hash_cache[2];
static int hash_cache_next = 0;

/* the cache entry of hash type `t`, or NULL */
static inline const HashMethods *
hash_cached(PyTypeObject *t)
{
    return hash_cache[0].type == t   ? &hash_cache[0]
           : hash_cache[1].type == t ? &hash_cache[1]
                                     : NULL;
}

/* `which` of h's type (borrowed), or NULL (no error set): call by name.  Borrowed is
 * safe while h lives: its type, which h holds, is immutable and keeps the method in
 * its dict even if the cache entry is replaced meanwhile. */
static PyObject *
hash_method(PyObject *h, int which)
{
    PyTypeObject *t = Py_TYPE(h);
    const HashMethods *c = hash_cached(t);
    if (c != NULL) {
        return c->m[which];
    }
    if (!PyType_HasFeature(t, Py_TPFLAGS_IMMUTABLETYPE) || t->tp_dictoffset != 0) {
        return NULL;
    }
    HashMethods fresh = {(PyTypeObject *)Py_NewRef(t), {NULL, NULL, NULL}, {NULL, NULL, NULL}};
    PyObject *names[3] = {str_update, str_digest, str_hexdigest};
    for (int k = 0; k < 3; k++) {
        PyObject *d = PyObject_GetAttr((PyObject *)t, names[k]);
        if (d == NULL) {
            PyErr_Clear();
        }
        else if (Py_IS_TYPE(d, &PyMethodDescr_Type) &&
                 PyType_IsSubtype(t, ((PyMethodDescrObject *)d)->d_common.d_type)) {
            fresh.m[k] = d;
            PyMethodDef *ml = ((PyMethodDescrObject *)d)->d_method;
            fresh.noargs[k] = ml->ml_flags == METH_NOARGS ? ml->ml_meth : NULL;
            continue;
        }
        Py_XDECREF(d);
    }
    HashMethods old = hash_cache[hash_cache_next];
    hash_cache[hash_cache_next] = fresh;
    hash_cache_next ^= 1;
    Py_XDECREF(old.type);
    for (int k = 0; k < 3; k++) {
        Py_XDECREF(old.m[k]);
    }
    return fresh.m[which];
}

/* h.<name>(*args, **kwargs) */
static PyObject *
hash_forward(HashObject *self, int which, PyObject *name, PyObject *const *args,
             Py_ssize_t nargs, PyObject *kwnames)
{
    Py_ssize_t nk = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs + nk + 1 <= MAX_STACK) {
        PyObject *d = hash_method(self->h, which); /* borrowed */
        if (d != NULL) {
            int done;
            PyObject *res = call_descr_direct(d, self->h, args, nargs, kwnames, &done);
            if (done) {
                return res;
            }
            PyObject *stack[MAX_STACK];
            stack[0] = self->h;
            for (Py_ssize_t i = 0; i < nargs + nk; i++) {
                stack[i + 1] = args[i];
            }
            return PyObject_Vectorcall(d, stack, (size_t)(nargs + 1), kwnames);
        }
    }
    if (nargs + nk + 1 > MAX_STACK) {
        PyObject *meth = PyObject_GetAttr(self->h, name);
        if (meth == NULL) {
            return NULL;
        }
        PyObject *res = PyObject_Vectorcall(meth, args, (size_t)nargs, kwnames);
        Py_DECREF(meth);
        return res;
    }
    PyObject *stack[MAX_STACK];
    stack[0] = self->h;
    for (Py_ssize_t i = 0; i < nargs + nk; i++) {
        stack[i + 1] = args[i];
    }
    return PyObject_VectorcallMethod(name, stack, (size_t)(nargs + 1), kwnames);
}

/* h.digest() / h.hexdigest() with no argument, the usual call: the C function of a
 * cached METH_NOARGS method straight away */
static inline PyObject *
hash_forward0(HashObject *self, int which, PyObject *name)
{
    const HashMethods *c = hash_cached(Py_TYPE(self->h));
    if (c != NULL && c->noargs[which] != NULL) {
        return c->noargs[which](self->h, NULL);
    }
    return hash_forward(self, which, name, NULL, 0, NULL);
}

static PyObject *
hash_update(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    HashObject *self = (HashObject *)op;
    if (nargs == 1 && kwnames == NULL) {
        Py_ssize_t budget = start_budget();
        if (is_plain(args[0], 0, &budget)) {
            return hash_forward(self, HM_UPDATE, str_update, args, 1, NULL);
        }
    }
    return hash_twin(twin_update, op, args, nargs, kwnames);
}

static PyObject *
hash_digest(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    HashObject *self = (HashObject *)op;
    if (self->tags == NULL) {
        if (nargs == 0 && kwnames == NULL) {
            return hash_forward0(self, HM_DIGEST, str_digest);
        }
        return hash_forward(self, HM_DIGEST, str_digest, args, nargs, kwnames);
    }
    return hash_twin(twin_digest, op, args, nargs, kwnames);
}

static PyObject *
hash_hexdigest(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    HashObject *self = (HashObject *)op;
    if (self->tags == NULL) {
        if (nargs == 0 && kwnames == NULL) {
            return hash_forward0(self, HM_HEXDIGEST, str_hexdigest);
        }
        return hash_forward(self, HM_HEXDIGEST, str_hexdigest, args, nargs, kwnames);
    }
    return hash_twin(twin_hexdigest, op, args, nargs, kwnames);
}

static PyObject *
hash_copy(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    HashObject *self = (HashObject *)op;
    PyObject *c = PyObject_CallMethodNoArgs(self->h, str_copy);
    if (c == NULL) {
        return NULL;
    }
    PyObject *o = hash_wrap(Py_TYPE(op), c, self->tags);
    Py_DECREF(c);
    return o;
}

static PyObject *
hash_repr(PyObject *op)
{
    return PyObject_Repr(((HashObject *)op)->h);
}

static PyObject *
hash_get_tags(PyObject *op, void *Py_UNUSED(closure))
{
    PyObject *t = ((HashObject *)op)->tags;
    return Py_NewRef(t != NULL ? t : Py_None);
}

static int
hash_set_tags(PyObject *op, PyObject *value, void *Py_UNUSED(closure))
{
    HashObject *self = (HashObject *)op;
    /* exact: a subclass has a __dict__, which could hold this untracked object */
    if (value != NULL && value != Py_None && !PyFrozenSet_CheckExact(value)) {
        PyErr_SetString(PyExc_TypeError, "TaggedHash._pt_tags is a frozenset of tags or None");
        return -1;
    }
    PyObject *old = self->tags;
    self->tags = (value == NULL || value == Py_None) ? NULL : Py_NewRef(value);
    Py_XDECREF(old);
    return 0;
}

static PyObject *
hash_get_h(PyObject *op, void *Py_UNUSED(closure))
{
    return Py_NewRef(((HashObject *)op)->h);
}

/* name, digest_size, block_size: read from the wrapped object in C (``hmac.HMAC``
 * reads two of them per construction; Python properties cost ~40 ns each).
 * `closure` points at the interned attribute name (set by module_exec). */
static PyObject *str_name = NULL, *str_digest_size = NULL, *str_block_size = NULL;

static PyObject *
hash_get_forward(PyObject *op, void *closure)
{
    return PyObject_GetAttr(((HashObject *)op)->h, *(PyObject **)closure);
}

static PyMethodDef hash_methods[] = {
    {"update", (PyCFunction)(void (*)(void))hash_update, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"digest", (PyCFunction)(void (*)(void))hash_digest, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"hexdigest", (PyCFunction)(void (*)(void))hash_hexdigest, METH_FASTCALL | METH_KEYWORDS,
     NULL},
    {"copy", hash_copy, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef hash_getset[] = {
    {"_h", hash_get_h, NULL, "the wrapped hash object", NULL},
    {"name", hash_get_forward, NULL, "the wrapped object's name", &str_name},
    {"digest_size", hash_get_forward, NULL, "the wrapped object's digest_size",
     &str_digest_size},
    {"block_size", hash_get_forward, NULL, "the wrapped object's block_size", &str_block_size},
    {"_pt_tags", hash_get_tags, hash_set_tags, "tags fed so far, or None", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot hash_slots[] = {
    {Py_tp_new, hash_new},
    {Py_tp_dealloc, hash_dealloc},
    {Py_tp_repr, hash_repr},
    {Py_tp_methods, hash_methods},
    {Py_tp_getset, hash_getset},
    {Py_tp_doc, "A hash (or HMAC) object that remembers the tags of the data it was fed."},
    {0, NULL},
};

static PyType_Spec hash_spec = {
    .name = "purposetag._speedups.TaggedHash",
    .basicsize = sizeof(HashObject),
    .flags = Py_TPFLAGS_DEFAULT, /* mutable: Python adds the forwarding properties */
    .slots = hash_slots,
};

/* ---------------------------------------------------------------------------
 * tag_deep(value, tags, keys): `_patching._tag_deep` for the bulk of a parsed
 * document.  Exact dicts and lists are rebuilt here, each exact str becoming a
 * new TaintedStr whose ranges are `tags` (the one shared, interned frozenset),
 * the exact scalars of `_SCALARS` are kept, and inside a list a plain dict key is
 * tagged once per distinct text through `keys` (plain key -> tagged key; None
 * outside any list, where a key is copied as any string is), as in Python.
 * Every other value (subclasses, tuples, bytes, proxies, tagged strings, and
 * anything deeper than TAG_DEPTH containers) is handed, with `tags` and `keys`,
 * to the Python `_tag_deep`, which is the reference.
 *
 * The TaintedStr type, the offset of its `_pt_ranges` slot and the Python
 * function are given once by `set_tag_deep` (nothing here imports purposetag).
 * A new TaintedStr is made exactly as ``str.__new__(TaintedStr, s)`` makes it:
 * str's own tp_new called with the subtype.
 *
 * The Python callback can run any code, which may change the containers being
 * walked: every item is held while it is worked on, a list's size is read again
 * at each step (as a list iterator does), and a dict that changes under us raises
 * what a dict iterator raises.
 */
#define TAG_DEPTH 64

static PyTypeObject *td_type = NULL; /* TaintedStr */
static Py_ssize_t td_offset = 0;     /* its _pt_ranges slot */
static PyObject *td_slow = NULL;     /* _patching._tag_deep */

typedef struct {
    PyTypeObject *type; /* these three: the call's own references (see sp_tag_deep) */
    PyObject *slow;
    Py_ssize_t offset;
    PyObject *tags;
    PyObject *keys; /* NULL outside any list when tag_deep was given None */
    PyObject *args; /* (s,): str's tp_new argument, reused (td_str); NULL before the first */
} TagDeep;

#define IS_SCALAR(o)                                                                      \
    (Py_TYPE(o) == &PyLong_Type || Py_TYPE(o) == &PyFloat_Type || (o) == Py_None ||       \
     Py_TYPE(o) == &PyBool_Type || Py_TYPE(o) == &PyComplex_Type)

/* ``o = str.__new__(TaintedStr, s); o._pt_ranges = tags`` for an exact str `s`.
 * The argument tuple str's tp_new reads is made once per call of tag_deep and
 * refilled while nothing else holds it (as zip() reuses its result tuple): a
 * tuple per string was a sixth of the time.  Only exact str go in, so a tuple the
 * GC untracked needs no tracking again. */
static PyObject *
td_str(TagDeep *c, PyObject *s)
{
    if (ob_type != NULL && c->type == ob_type) {
        return one_block(s, c->tags);
    }
    if (c->args != NULL && Py_REFCNT(c->args) == 1) {
        PyObject *old = PyTuple_GET_ITEM(c->args, 0);
        PyTuple_SET_ITEM(c->args, 0, Py_NewRef(s));
        Py_DECREF(old); /* a str: its dealloc runs no Python code */
    }
    else {
        Py_XSETREF(c->args, PyTuple_Pack(1, s));
        if (c->args == NULL) {
            return NULL;
        }
    }
    PyObject *o = PyUnicode_Type.tp_new(c->type, c->args, NULL);
    if (o == NULL) {
        return NULL;
    }
    if (Py_TYPE(o) != c->type) { /* str's tp_new always makes the subtype it is given */
        Py_DECREF(o);
        PyErr_SetString(PyExc_SystemError, "purposetag tag_deep: str.__new__ made another type");
        return NULL;
    }
    PyObject **slot = (PyObject **)((char *)o + c->offset);
    Py_XSETREF(*slot, Py_NewRef(c->tags)); /* a new object: the slot was empty */
    return o;
}

static PyObject *
td_slow_call(TagDeep *c, PyObject *v)
{
    PyObject *stack[3] = {v, c->tags, c->keys == NULL ? Py_None : c->keys};
    return PyObject_Vectorcall(c->slow, stack, 3, NULL);
}

static PyObject *td_dict(TagDeep *c, PyObject *d, int depth);
static PyObject *td_list(TagDeep *c, PyObject *l, int depth);

/* The caller holds a reference to `v`. */
static PyObject *
td_value(TagDeep *c, PyObject *v, int depth)
{
    PyTypeObject *t = Py_TYPE(v);
    if (t == &PyUnicode_Type) {
        return td_str(c, v);
    }
    if (IS_SCALAR(v)) {
        return Py_NewRef(v);
    }
    if (depth > 0 && (t == &PyDict_Type || t == &PyList_Type)) {
        /* each level counts against the recursion limit as a Python call of
         * _tag_deep would, so a document Python cannot walk fails here too */
        if (Py_EnterRecursiveCall(" while tagging a parsed document")) {
            return NULL;
        }
        PyObject *res = t == &PyDict_Type ? td_dict(c, v, depth - 1) : td_list(c, v, depth - 1);
        Py_LeaveRecursiveCall();
        return res;
    }
    return td_slow_call(c, v);
}

static PyObject *
td_list(TagDeep *c, PyObject *list, int depth)
{
    PyObject *out = PyList_New(0); /* grown by appends, like the Python loop's list */
    if (out == NULL) {
        return NULL;
    }
    PyObject *own = NULL; /* the records of this list share their tagged keys */
    if (c->keys == NULL) {
        c->keys = own = PyDict_New();
        if (own == NULL) {
            Py_DECREF(out);
            return NULL;
        }
    }
    /* the size is read at each step: a callback may have changed the list */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        PyObject *v = Py_NewRef(PyList_GET_ITEM(list, i));
        PyObject *o = td_value(c, v, depth);
        Py_DECREF(v);
        if (o == NULL) {
            goto error;
        }
        int rc = PyList_Append(out, o);
        Py_DECREF(o);
        if (rc < 0) {
            goto error;
        }
    }
    if (own != NULL) {
        c->keys = NULL;
        Py_DECREF(own);
    }
    return out;
error:
    if (own != NULL) {
        c->keys = NULL;
        Py_DECREF(own);
    }
    Py_DECREF(out);
    return NULL;
}

/* the tagged copy of the plain key `k`, shared through c->keys */
static PyObject *
td_key(TagDeep *c, PyObject *k)
{
    PyObject *tk = PyDict_GetItemWithError(c->keys, k);
    if (tk != NULL && tk != Py_None) {
        return Py_NewRef(tk);
    }
    if (tk == NULL && PyErr_Occurred()) {
        return NULL;
    }
    tk = td_str(c, k);
    if (tk != NULL && PyDict_SetItem(c->keys, k, tk) < 0) {
        Py_CLEAR(tk);
    }
    return tk;
}

static PyObject *
td_dict(TagDeep *c, PyObject *d, int depth)
{
    /* sized for what it will hold: growing it as Python's loop does cost a resize
     * for an object of six keys or more (the result is equal, only smaller) */
    PyObject *new = _PyDict_NewPresized(PyDict_GET_SIZE(d));
    if (new == NULL) {
        return NULL;
    }
    Py_ssize_t pos = 0, size = PyDict_GET_SIZE(d), left = size;
    PyObject *k, *v;
    for (;;) {
        /* a dict iterator's checks, in its order: before every step (the last, which
         * ends the loop, too) the size, then an item it did not count on */
        if (PyDict_GET_SIZE(d) != size) {
            PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
            goto error;
        }
        if (!PyDict_Next(d, &pos, &k, &v)) {
            break;
        }
        if (left-- == 0) {
            PyErr_SetString(PyExc_RuntimeError, "dictionary keys changed during iteration");
            goto error;
        }
        /* borrowed from `d`, which a callback (for the key or the value) may change */
        Py_INCREF(k);
        Py_INCREF(v);
        PyObject *tk = Py_TYPE(k) != &PyUnicode_Type ? td_value(c, k, depth)
                       : c->keys == NULL               ? td_str(c, k)
                                                       : td_key(c, k);
        Py_DECREF(k);
        if (tk == NULL) {
            Py_DECREF(v);
            goto error;
        }
        PyObject *o = td_value(c, v, depth);
        Py_DECREF(v);
        if (o == NULL) {
            Py_DECREF(tk);
            goto error;
        }
        int rc = PyDict_SetItem(new, tk, o);
        Py_DECREF(tk);
        Py_DECREF(o);
        if (rc < 0) {
            goto error;
        }
    }
    return new;
error:
    Py_DECREF(new);
    return NULL;
}

static PyObject *
tag_deep_run(PyObject *value, PyObject *tags, PyObject *keys)
{
    /* the call keeps what it uses: set_tag_deep, which Python code could run, may
     * replace the globals */
    TagDeep c = {(PyTypeObject *)Py_NewRef(td_type), Py_NewRef(td_slow), td_offset, tags,
                 keys == Py_None ? NULL : keys, NULL};
    PyObject *res;
    if (PyFrozenSet_CheckExact(tags) && (PyDict_CheckExact(keys) || keys == Py_None)) {
        res = td_value(&c, value, TAG_DEPTH);
    }
    else { /* not what tag_deep passes: all of it to Python */
        res = td_slow_call(&c, value);
    }
    Py_XDECREF(c.args);
    Py_DECREF(c.type);
    Py_DECREF(c.slow);
    return res;
}

static PyObject *
sp_tag_deep(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "tag_deep(value, tags, keys) takes 3 arguments");
        return NULL;
    }
    if (td_slow == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "purposetag: tag_deep used before set_tag_deep");
        return NULL;
    }
    return tag_deep_run(args[0], args[1], args[2]);
}

/* json.loads's Fast (`deep`): `doc` parsed from a string whose every character has
 * the tag set `tags` (a frozenset), as ``tag_deep(doc, tags)`` tags it; NULL with no
 * error set when set_tag_deep has not given the TaintedStr type Fast knows */
static PyObject *
tag_deep_lone(PyObject *doc, PyObject *tags)
{
    if (td_slow == NULL || td_type != carrier) {
        return NULL;
    }
    return tag_deep_run(doc, tags, Py_None);
}

static PyObject *
sp_set_tag_deep(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *tp, *slow;
    if (!PyArg_ParseTuple(args, "OO:set_tag_deep", &tp, &slow)) {
        return NULL;
    }
    if (!PyCallable_Check(slow)) {
        PyErr_SetString(PyExc_TypeError, "set_tag_deep(tainted_str, slow): slow is a callable");
        return NULL;
    }
    Py_ssize_t off = carrier_slot(tp, "set_tag_deep");
    if (off < 0) {
        return NULL;
    }
    Py_XSETREF(td_type, (PyTypeObject *)Py_NewRef(tp));
    td_offset = off;
    Py_XSETREF(td_slow, Py_NewRef(slow));
    Py_RETURN_NONE;
}

static PyObject *
sp_set_hash_twin(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *u, *d, *x;
    if (!PyArg_ParseTuple(args, "OOO:set_hash_twin", &u, &d, &x)) {
        return NULL;
    }
    if (!PyCallable_Check(u) || !PyCallable_Check(d) || !PyCallable_Check(x)) {
        PyErr_SetString(PyExc_TypeError, "set_hash_twin(update, digest, hexdigest): callables");
        return NULL;
    }
    Py_XSETREF(twin_update, Py_NewRef(u));
    Py_XSETREF(twin_digest, Py_NewRef(d));
    Py_XSETREF(twin_hexdigest, Py_NewRef(x));
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------------------
 * format_call(m): what a rewritten ``t.format(*a, **k)`` calls, CPython doing the
 * unpacking, with `m` the bound ``t.format``.  For a str template (or a subclass's
 * that keeps str's ``format``): a builtin method of `t` named ``format``, taking its
 * arguments as ``str.format`` does (METH_VARARGS: a ``**`` mapping arrives as a dict
 * whose keys CPython has not checked), so every error of the unpacking names
 * ``str.format()`` (``S.format()``) and reads as the original's.  Plain scalar
 * arguments: str.format itself; anything else: the Python
 * `format_unpacked(t, args, kwargs or None)` (set_format_call).  Any other `m` is
 * returned as it is, to be called as the code wrote it.
 */
static PyObject *format_unpacked = NULL;
static PyCFunction str_format_fn = NULL;

static PyObject *
fc_call(PyObject *template, PyObject *args, PyObject *kwargs)
{
    int plain = 1;
    for (Py_ssize_t i = 0; plain && i < PyTuple_GET_SIZE(args); i++) {
        plain = plain_scalar(PyTuple_GET_ITEM(args, i));
    }
    if (plain && kwargs != NULL) {
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (plain && PyDict_Next(kwargs, &pos, &k, &v)) {
            plain = plain_scalar(v);
        }
    }
    if (plain) { /* str.format itself, with the template (a str or a subclass) */
        return ((PyCFunctionWithKeywords)(void (*)(void))str_format_fn)(template, args, kwargs);
    }
    if (format_unpacked == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "purposetag: format_call used before set_format_call");
        return NULL;
    }
    PyObject *slow = Py_NewRef(format_unpacked); /* a global: the call may replace it */
    PyObject *res = PyObject_CallFunctionObjArgs(slow, template, args,
                                                 kwargs != NULL ? kwargs : Py_None, NULL);
    Py_DECREF(slow);
    return res;
}

static PyMethodDef fc_def = {"format", (PyCFunction)(void (*)(void))fc_call,
                             METH_VARARGS | METH_KEYWORDS, NULL};

static PyObject *
sp_format_call(PyObject *Py_UNUSED(module), PyObject *m)
{
    if (str_format_fn != NULL && PyCFunction_CheckExact(m) &&
        PyCFunction_GET_FUNCTION(m) == str_format_fn && PyCFunction_GET_SELF(m) != NULL &&
        PyUnicode_Check(PyCFunction_GET_SELF(m))) {
        return PyCFunction_NewEx(&fc_def, PyCFunction_GET_SELF(m), NULL);
    }
    return Py_NewRef(m);
}

static PyObject *
sp_set_format_call(PyObject *Py_UNUSED(module), PyObject *slow)
{
    if (!PyCallable_Check(slow)) {
        PyErr_SetString(PyExc_TypeError, "set_format_call(format_unpacked): a callable");
        return NULL;
    }
    Py_XSETREF(format_unpacked, Py_NewRef(slow));
    Py_RETURN_NONE;
}

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


/* ---------------------------------------------------------------------------
 * Memory files: the patched io.StringIO / io.BytesIO (Python subclasses, see
 * _p_io.py) get C `write` and `getvalue` methods and a C tp_init.  Real method
 * descriptors, so CPython's call sites specialise them as they do the originals'.
 * A plain write (an exact str / bytes), a getvalue while nothing tagged was
 * written, and a construction from a plain value call the C io functions
 * directly; anything else calls the Python methods (`slow_*`).  One state per
 * base: [0] StringIO, [1] BytesIO.
 */
typedef struct {
    PyTypeObject *cls;      /* the patched class */
    PyTypeObject *plain;    /* str or bytes */
    PyCFunction write;      /* the base's METH_O write */
    PyCFunction getvalue;   /* the base's METH_NOARGS getvalue */
    initproc init;          /* the base's tp_init */
    PyObject *slow_init, *slow_write, *slow_getvalue, *marks;
} MemState;

static MemState mem_state[2];

/* nothing tagged written yet: no instance dict, or no (or a None) `marks` entry */
static int
mem_unmarked(MemState *st, PyObject *self)
{
    Py_ssize_t off = Py_TYPE(self)->tp_dictoffset;
    if (off <= 0) {
        return 0;
    }
    PyObject *d = *(PyObject **)((char *)self + off);
    if (d == NULL) {
        return 1;
    }
    if (!PyDict_CheckExact(d)) {
        return 0;
    }
    PyObject *m = PyDict_GetItemWithError(d, st->marks); /* borrowed */
    if (m == NULL) {
        if (PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        return 1;
    }
    return m == Py_None;
}

static PyObject *
mem_write(MemState *st, PyObject *self, PyObject *arg)
{
    if (Py_IS_TYPE(arg, st->plain) && PyObject_TypeCheck(self, st->cls)) {
        return st->write(self, arg);
    }
    return PyObject_CallFunctionObjArgs(st->slow_write, self, arg, NULL);
}

static PyObject *
mem_getvalue(MemState *st, PyObject *self)
{
    if (PyObject_TypeCheck(self, st->cls) && mem_unmarked(st, self)) {
        return st->getvalue(self, NULL);
    }
    return PyObject_CallOneArg(st->slow_getvalue, self);
}

/* fn(self, *args, **kwds) for tp_init: 0, or -1 with the error set */
static int
init_through(PyObject *fn, PyObject *self, PyObject *args, PyObject *kwds)
{
    PyObject *full = PyTuple_New(PyTuple_GET_SIZE(args) + 1);
    if (full == NULL) {
        return -1;
    }
    PyTuple_SET_ITEM(full, 0, Py_NewRef(self));
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(args); j++) {
        PyTuple_SET_ITEM(full, j + 1, Py_NewRef(PyTuple_GET_ITEM(args, j)));
    }
    PyObject *res = PyObject_Call(fn, full, kwds);
    Py_DECREF(full);
    if (res == NULL) {
        return -1;
    }
    Py_DECREF(res);
    return 0;
}

static int
mem_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    for (int i = 0; i < 2; i++) {
        MemState *st = &mem_state[i];
        if (st->cls == NULL || !PyObject_TypeCheck(self, st->cls)) {
            continue;
        }
        /* an initial value that is a str/bytes subclass may carry tags: Python */
        PyObject *first = PyTuple_GET_SIZE(args) ? PyTuple_GET_ITEM(args, 0) : NULL;
        if ((kwds == NULL || PyDict_GET_SIZE(kwds) == 0) &&
            (first == NULL || PyUnicode_CheckExact(first) || PyBytes_CheckExact(first) ||
             !(PyUnicode_Check(first) || PyBytes_Check(first)))) {
            return st->init(self, args, kwds);
        }
        return init_through(st->slow_init, self, args, kwds);
    }
    /* a class installed before the current one (io patched again): its own __init__ */
    PyObject *init = PyObject_GetAttrString((PyObject *)Py_TYPE(self), "__init__");
    if (init == NULL) {
        return -1;
    }
    int rc = init_through(init, self, args, kwds);
    Py_DECREF(init);
    return rc;
}

static PyObject *mem_write0(PyObject *self, PyObject *arg) { return mem_write(&mem_state[0], self, arg); }
static PyObject *mem_write1(PyObject *self, PyObject *arg) { return mem_write(&mem_state[1], self, arg); }
static PyObject *mem_getvalue0(PyObject *self, PyObject *Py_UNUSED(a)) { return mem_getvalue(&mem_state[0], self); }
static PyObject *mem_getvalue1(PyObject *self, PyObject *Py_UNUSED(a)) { return mem_getvalue(&mem_state[1], self); }

static PyMethodDef mem_defs[2][2] = {
    {{"write", mem_write0, METH_O, NULL}, {"getvalue", mem_getvalue0, METH_NOARGS, NULL}},
    {{"write", mem_write1, METH_O, NULL}, {"getvalue", mem_getvalue1, METH_NOARGS, NULL}},
};

/* `name` of `base`: a method descriptor with exactly `flags`; its C function (and
 * docstring, in *doc) */
static PyCFunction
base_cfunc(PyTypeObject *base, const char *name, int flags, const char **doc)
{
    PyObject *d = PyObject_GetAttrString((PyObject *)base, name);
    if (d == NULL) {
        PyErr_Clear();
        return NULL;
    }
    PyCFunction fn = NULL;
    if (Py_IS_TYPE(d, &PyMethodDescr_Type) && ((PyMethodDescrObject *)d)->d_common.d_type == base &&
        ((PyMethodDescrObject *)d)->d_method->ml_flags == flags) {
        fn = ((PyMethodDescrObject *)d)->d_method->ml_meth;
        *doc = ((PyMethodDescrObject *)d)->d_method->ml_doc; /* static in CPython */
    }
    Py_DECREF(d);
    return fn;
}

static PyObject *
sp_memfile_install(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *cls, *plain, *slow_init, *slow_write, *slow_getvalue, *marks;
    if (!PyArg_ParseTuple(args, "O!OOOOU:memfile_install", &PyType_Type, &cls, &plain,
                          &slow_init, &slow_write, &slow_getvalue, &marks)) {
        return NULL;
    }
    PyTypeObject *tp = (PyTypeObject *)cls;
    PyTypeObject *base = tp->tp_base;
    int i = plain == (PyObject *)&PyUnicode_Type ? 0 : plain == (PyObject *)&PyBytes_Type ? 1 : -1;
    if (i < 0 || base == NULL || !(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) ||
        !PyCallable_Check(slow_init) || !PyCallable_Check(slow_write) ||
        !PyCallable_Check(slow_getvalue)) {
        PyErr_SetString(PyExc_TypeError,
                        "memfile_install(cls, str or bytes, init, write, getvalue, marks): cls "
                        "a Python class, the rest callables");
        return NULL;
    }
    const char *wdoc = NULL, *gdoc = NULL;
    PyCFunction w = base_cfunc(base, "write", METH_O, &wdoc);
    PyCFunction g = base_cfunc(base, "getvalue", METH_NOARGS, &gdoc);
    if (w == NULL || g == NULL || base->tp_init == NULL || tp->tp_dictoffset <= 0) {
        Py_RETURN_FALSE; /* not the io we know: the Python methods stay */
    }
    /* a base that is itself a class installed here (a memory file made over the
     * patched io.StringIO, as a re-import of _p_io while io is patched does): its
     * write/getvalue/tp_init are ours, which would call themselves for ever */
    if (w == mem_write0 || w == mem_write1 || g == mem_getvalue0 || g == mem_getvalue1 ||
        base->tp_init == mem_init) {
        Py_RETURN_FALSE;
    }
    mem_defs[i][0].ml_doc = wdoc; /* the originals' docs and text signatures */
    mem_defs[i][1].ml_doc = gdoc;
    PyObject *dw = PyDescr_NewMethod(tp, &mem_defs[i][0]);
    PyObject *dg = dw ? PyDescr_NewMethod(tp, &mem_defs[i][1]) : NULL;
    if (dg == NULL || PyObject_SetAttrString(cls, "write", dw) < 0 ||
        PyObject_SetAttrString(cls, "getvalue", dg) < 0) {
        Py_XDECREF(dw);
        Py_XDECREF(dg);
        return NULL;
    }
    Py_DECREF(dw);
    Py_DECREF(dg);
    MemState *st = &mem_state[i];
    Py_XSETREF(st->cls, (PyTypeObject *)Py_NewRef(cls));
    st->plain = i == 0 ? &PyUnicode_Type : &PyBytes_Type;
    st->write = w;
    st->getvalue = g;
    st->init = base->tp_init;
    Py_XSETREF(st->slow_init, Py_NewRef(slow_init));
    Py_XSETREF(st->slow_write, Py_NewRef(slow_write));
    Py_XSETREF(st->slow_getvalue, Py_NewRef(slow_getvalue));
    Py_XSETREF(st->marks, Py_NewRef(marks));
    /* construction: type_call calls tp_init directly (explicit __init__ calls and
     * subclasses still go through the Python __init__ in the class dict) */
    tp->tp_init = mem_init;
    Py_RETURN_TRUE;
}


/* ---------------------------------------------------------------------------
 * CsvWriter: what the patched csv.writer returns (a Fast with `make`, below).  It
 * holds the real writer; a row that is an exact list or tuple of plain scalars
 * goes straight to the real writer's C writerow, any other row to the Python
 * `writerow` of _p_io.TaggedCsvWriter (set by csv_setup), which reads the
 * `_w`, `_file`, `_spec` and `_side` attributes this type provides.
 */
typedef struct {
    PyObject_HEAD
    PyObject *w;      /* the real writer */
    PyObject *file;   /* the file it writes to */
    PyObject *orig;   /* the original csv.writer */
    PyObject *args;   /* further positional arguments, or NULL */
    PyObject *kwargs; /* keyword arguments (a dict), or NULL */
    PyObject *side;   /* managed by Python: the writer for tagged rows, or NULL */
} CsvObject;

static PyTypeObject *csv_writer_type = NULL; /* type of the real writers */
static PyCFunction csv_writerow_fn = NULL;   /* its METH_O writerow */
static PyObject *csv_slow_writerow = NULL, *csv_slow_writerows = NULL;

/* wrap `w`, made by orig(*args, **kwargs) (the vectorcall arguments given, n >= 1) */
static PyObject *
csv_wrap(PyTypeObject *tp, PyObject *w, PyObject *orig, PyObject *const *args, Py_ssize_t n,
         PyObject *kwnames)
{
    Py_ssize_t nk = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    CsvObject *o = PyObject_GC_New(CsvObject, tp);
    if (o == NULL) {
        return NULL;
    }
    o->w = Py_NewRef(w);
    o->file = Py_NewRef(args[0]);
    o->orig = Py_NewRef(orig);
    o->args = NULL;
    o->kwargs = NULL;
    o->side = NULL; /* (PyObject_GC_New took the reference to the heap type) */
    if (n > 1 && (o->args = PyTuple_New(n - 1)) != NULL) {
        for (Py_ssize_t i = 1; i < n; i++) {
            PyTuple_SET_ITEM(o->args, i - 1, Py_NewRef(args[i]));
        }
    }
    if (nk && (o->kwargs = PyDict_New()) != NULL) {
        for (Py_ssize_t j = 0; j < nk; j++) {
            if (PyDict_SetItem(o->kwargs, PyTuple_GET_ITEM(kwnames, j), args[n + j]) < 0) {
                Py_CLEAR(o->kwargs);
                break;
            }
        }
    }
    if ((n > 1 && o->args == NULL) || (nk && o->kwargs == NULL)) {
        Py_DECREF(o);
        return NULL;
    }
    PyObject_GC_Track(o);
    return (PyObject *)o;
}

static int
csv_traverse(PyObject *op, visitproc visit, void *arg)
{
    CsvObject *self = (CsvObject *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->w);
    Py_VISIT(self->file);
    Py_VISIT(self->orig);
    Py_VISIT(self->args);
    Py_VISIT(self->kwargs);
    Py_VISIT(self->side);
    return 0;
}

static int
csv_clear(PyObject *op)
{
    CsvObject *self = (CsvObject *)op;
    Py_CLEAR(self->w); /* first: the methods refuse to run once it is NULL */
    Py_CLEAR(self->file);
    Py_CLEAR(self->orig);
    Py_CLEAR(self->args);
    Py_CLEAR(self->kwargs);
    Py_CLEAR(self->side);
    return 0;
}

static void
csv_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    csv_clear(op);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static int
csv_alive(CsvObject *self)
{
    if (self->w == NULL) {
        PyErr_SetString(PyExc_ReferenceError, "purposetag csv writer used after it was cleared");
        return 0;
    }
    if (csv_slow_writerow == NULL || csv_slow_writerows == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "purposetag csv writer: csv_setup() not called");
        return 0;
    }
    return 1;
}

static PyObject *
csv_writerow(PyObject *op, PyObject *row)
{
    CsvObject *self = (CsvObject *)op;
    if (!csv_alive(self)) {
        return NULL;
    }
    if (PyList_CheckExact(row) || PyTuple_CheckExact(row)) {
        Py_ssize_t len = PySequence_Fast_GET_SIZE(row);
        PyObject **items = PySequence_Fast_ITEMS(row);
        Py_ssize_t i = 0;
        while (i < len && plain_scalar(items[i])) {
            i++;
        }
        if (i == len) { /* a row of plain values: nothing can carry a tag */
            if (Py_IS_TYPE(self->w, csv_writer_type) && csv_writerow_fn != NULL) {
                return csv_writerow_fn(self->w, row);
            }
            return PyObject_CallMethod(self->w, "writerow", "O", row);
        }
    }
    return PyObject_CallFunctionObjArgs(csv_slow_writerow, op, row, NULL);
}

static PyObject *
csv_writerows(PyObject *op, PyObject *rows)
{
    CsvObject *self = (CsvObject *)op;
    if (!csv_alive(self)) {
        return NULL;
    }
    return PyObject_CallFunctionObjArgs(csv_slow_writerows, op, rows, NULL);
}

static PyObject *
csv_get_dialect(PyObject *op, void *Py_UNUSED(closure))
{
    CsvObject *self = (CsvObject *)op;
    if (!csv_alive(self)) {
        return NULL;
    }
    return PyObject_GetAttrString(self->w, "dialect");
}

static PyObject *
csv_get_field(PyObject *op, void *closure)
{
    CsvObject *self = (CsvObject *)op;
    if (self->w == NULL) {
        csv_alive(self); /* sets the error */
        return NULL;
    }
    switch ((int)(intptr_t)closure) {
    case 0:
        return Py_NewRef(self->w);
    case 1:
        return Py_NewRef(self->file);
    case 2: { /* (orig, args, kwargs), as the Python writer keeps it */
        PyObject *a = self->args ? Py_NewRef(self->args) : PyTuple_New(0);
        PyObject *k = self->kwargs ? Py_NewRef(self->kwargs) : PyDict_New();
        PyObject *res = (a && k) ? PyTuple_Pack(3, self->orig, a, k) : NULL;
        Py_XDECREF(a);
        Py_XDECREF(k);
        return res;
    }
    default:
        return Py_NewRef(self->side ? self->side : Py_None);
    }
}

static int
csv_set_side(PyObject *op, PyObject *value, void *Py_UNUSED(closure))
{
    CsvObject *self = (CsvObject *)op;
    Py_XSETREF(self->side, (value == NULL || value == Py_None) ? NULL : Py_NewRef(value));
    return 0;
}

static PyObject *
csv_repr(PyObject *op)
{
    return PyUnicode_FromFormat("<purposetag csv writer at %p>", op);
}

/* the real writer cannot be copied or pickled: neither can this one, with its error */
static PyObject *
csv_reduce(PyObject *op, PyObject *Py_UNUSED(args))
{
    CsvObject *self = (CsvObject *)op;
    if (!csv_alive(self)) {
        return NULL;
    }
    PyErr_Format(PyExc_TypeError, "cannot pickle '%.200s' object", Py_TYPE(self->w)->tp_name);
    return NULL;
}

static PyMethodDef csv_methods[] = {
    {"__reduce__", csv_reduce, METH_NOARGS, NULL},
    {"__reduce_ex__", (PyCFunction)(void (*)(void))csv_reduce, METH_O, NULL},
    {"writerow", csv_writerow, METH_O, "writerow(row): as csv writer.writerow, keeping tags."},
    {"writerows", csv_writerows, METH_O, "writerows(rows): writerow for each row."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef csv_getset[] = {
    {"dialect", csv_get_dialect, NULL, "the real writer's dialect", NULL},
    {"_w", csv_get_field, NULL, "the real writer", (void *)0},
    {"_file", csv_get_field, NULL, "the file written to", (void *)1},
    {"_spec", csv_get_field, NULL, "(csv.writer, args, kwargs)", (void *)2},
    {"_side", csv_get_field, csv_set_side, "the writer for tagged rows, or None", (void *)3},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot csv_slots[] = {
    {Py_tp_dealloc, csv_dealloc},
    {Py_tp_traverse, csv_traverse},
    {Py_tp_clear, csv_clear},
    {Py_tp_repr, csv_repr},
    {Py_tp_methods, csv_methods},
    {Py_tp_getset, csv_getset},
    {Py_tp_doc, "A csv writer that writes rows holding tagged values as tagged lines."},
    {0, NULL},
};

static PyType_Spec csv_spec = {
    .name = "purposetag._speedups.CsvWriter",
    .basicsize = sizeof(CsvObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = csv_slots,
};

static PyObject *
sp_csv_setup(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *wtype, *slow_row, *slow_rows;
    if (!PyArg_ParseTuple(args, "O!OO:csv_setup", &PyType_Type, &wtype, &slow_row, &slow_rows)) {
        return NULL;
    }
    if (!PyCallable_Check(slow_row) || !PyCallable_Check(slow_rows)) {
        PyErr_SetString(PyExc_TypeError, "csv_setup(writer type, writerow, writerows): callables");
        return NULL;
    }
    const char *doc = NULL;
    PyCFunction fn = base_cfunc((PyTypeObject *)wtype, "writerow", METH_O, &doc);
    Py_XSETREF(csv_writer_type, (PyTypeObject *)Py_NewRef(wtype));
    csv_writerow_fn = fn; /* NULL: the real writerow is looked up by name */
    Py_XSETREF(csv_slow_writerow, Py_NewRef(slow_row));
    Py_XSETREF(csv_slow_writerows, Py_NewRef(slow_rows));
    Py_RETURN_NONE;
}

static PyObject *
sp_drop_finalizer(PyObject *Py_UNUSED(module), PyObject *cls)
{
    if (!PyType_Check(cls) || !(((PyTypeObject *)cls)->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
        PyErr_Format(PyExc_TypeError, "drop_finalizer: %R is not a Python class", cls);
        return NULL;
    }
    /* only this class: PyType_Ready fills a subclass's empty slot from its whole MRO */
    ((PyTypeObject *)cls)->tp_finalize = NULL;
    Py_RETURN_NONE;
}

static PyObject *
sp_set_carrier(PyObject *Py_UNUSED(module), PyObject *cls)
{
    Py_ssize_t off = carrier_slot(cls, "set_carrier");
    if (off < 0) {
        return NULL;
    }
    carrier_off = off;
    Py_XSETREF(carrier, (PyTypeObject *)Py_NewRef(cls));
    Py_RETURN_NONE;
}

/* TaintedStr.__format__ in C for the empty spec, which every f-string part without
 * one asks for (CPython's FORMAT_VALUE calls __format__ on any str subclass): the
 * tagged string itself, as the Python method returns.  Any other spec, and a
 * subclass, goes to that Python method (`format_slow`). */
static PyObject *format_slow = NULL; /* format_type: with the carrier, above */

static PyObject *
carrier_format(PyObject *self, PyObject *spec)
{
    if (Py_IS_TYPE(self, format_type) && PyUnicode_Check(spec) &&
        PyUnicode_GET_LENGTH(spec) == 0) {
        return Py_NewRef(self);
    }
    PyObject *args[2] = {self, spec};
    return PyObject_Vectorcall(format_slow, args, 2, NULL);
}

static PyMethodDef carrier_format_def = {
    "__format__", carrier_format, METH_O,
    "Return a formatted version of the string, keeping its tags (the empty spec: the "
    "string itself)."};

static PyObject *
sp_install_format(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *cls, *slow;
    if (!PyArg_ParseTuple(args, "OO:install_format", &cls, &slow)) {
        return NULL;
    }
    if (carrier_slot(cls, "install_format") < 0) {
        return NULL;
    }
    if (!PyCallable_Check(slow)) {
        PyErr_SetString(PyExc_TypeError, "install_format: the Python __format__ is callable");
        return NULL;
    }
    if (format_type != NULL) { /* installed once: the descriptor names this type */
        if ((PyObject *)format_type == cls) {
            Py_RETURN_NONE;
        }
        PyErr_SetString(PyExc_RuntimeError, "install_format: already installed on another type");
        return NULL;
    }
    PyObject *d = PyDescr_NewMethod((PyTypeObject *)cls, &carrier_format_def);
    if (d == NULL) {
        return NULL;
    }
    format_slow = Py_NewRef(slow);
    format_type = (PyTypeObject *)Py_NewRef(cls);
    int rc = PyObject_SetAttrString(cls, "__format__", d);
    Py_DECREF(d);
    if (rc < 0) {
        Py_CLEAR(format_slow);
        Py_CLEAR(format_type);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
sp_set_policy(PyObject *Py_UNUSED(module), PyObject *policy)
{
    Py_XSETREF(cur_policy, Py_NewRef(policy));
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------------------
 * html.escape(s, quote) for an exact str, in C: the first statement of the patched
 * function (see _codepatch's `front`) when its code is the one this mirrors (checked
 * in Python: the same replacements, in the same order).  Five str.replace calls,
 * each a method call in the original, made here without the interpreter; `quote`'s
 * truth asked after the first three, as there.  Anything but an exact str (a tagged
 * string, a str subclass with its own replace, None) goes to `he_slow`, the patched
 * function's tag-aware path, with the same arguments. */
static PyObject *he_slow = NULL;
static PyObject *he_pairs = NULL; /* ((old, new), ...): the five replacements */

static PyObject *
sp_html_escape(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || he_slow == NULL || he_pairs == NULL) {
        PyErr_SetString(PyExc_TypeError, "html_escape(s, quote), after set_html_escape");
        return NULL;
    }
    if (!PyUnicode_CheckExact(args[0])) {
        return PyObject_Vectorcall(he_slow, args, 2, NULL);
    }
    PyObject *res = Py_NewRef(args[0]);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(he_pairs); i++) {
        if (i == 3) {
            int q = PyObject_IsTrue(args[1]);
            if (q <= 0) {
                if (q < 0) {
                    Py_CLEAR(res);
                }
                return res;
            }
        }
        PyObject *pair = PyTuple_GET_ITEM(he_pairs, i);
        Py_SETREF(res, PyUnicode_Replace(res, PyTuple_GET_ITEM(pair, 0),
                                         PyTuple_GET_ITEM(pair, 1), -1));
        if (res == NULL) {
            return NULL;
        }
    }
    return res;
}

static PyObject *
sp_set_html_escape(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *slow, *pairs;
    if (!PyArg_ParseTuple(args, "OO!:set_html_escape", &slow, &PyTuple_Type, &pairs)) {
        return NULL;
    }
    int ok = PyCallable_Check(slow) && PyTuple_GET_SIZE(pairs) == 5;
    for (Py_ssize_t i = 0; ok && i < 5; i++) {
        PyObject *pair = PyTuple_GET_ITEM(pairs, i);
        ok = PyTuple_CheckExact(pair) && PyTuple_GET_SIZE(pair) == 2 &&
             PyUnicode_CheckExact(PyTuple_GET_ITEM(pair, 0)) &&
             PyUnicode_CheckExact(PyTuple_GET_ITEM(pair, 1));
    }
    if (!ok) {
        PyErr_SetString(PyExc_TypeError,
                        "set_html_escape(slow, pairs): a callable and five (old, new) str pairs");
        return NULL;
    }
    Py_XSETREF(he_slow, Py_NewRef(slow));
    Py_XSETREF(he_pairs, Py_NewRef(pairs));
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------------------
 * The methods of a compiled pattern made while instrumented (_p_re.TaggedPattern, a
 * Python class whose `__wrapped__` slot holds the re.Pattern): installed on the
 * class as real method descriptors, which CPython's call sites specialise (a Fast
 * there took the generic call path, ~10 ns of a 250 ns search).  Arguments that
 * are exact str/bytes/int/bool/None go straight to the wrapped pattern's own method;
 * anything else (a tagged string, a callable repl) to the Python method given at
 * install, with the same arguments. */
enum { PM_MATCH, PM_SEARCH, PM_FULLMATCH, PM_SUB, PM_SUBN, PM_SPLIT, PM_FINDALL, PM_N };
static PyObject *pm_orig[PM_N]; /* re.Pattern's method descriptors */
static PyObject *pm_slow[PM_N]; /* the Python methods */
static PyTypeObject *pm_inner_type = NULL; /* re.Pattern */
static Py_ssize_t pm_off = 0;              /* the `__wrapped__` slot */
static PyMethodDef pm_defs[PM_N];          /* below */

static PyObject *
pm_call(int which, PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    Py_ssize_t nk = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    PyObject *stack[MAX_STACK];
    if (plain_call(args, nargs, kwnames)) {
        PyObject *inner = *(PyObject **)((char *)self + pm_off);
        if (inner != NULL && Py_IS_TYPE(inner, pm_inner_type)) {
            Py_INCREF(inner); /* nothing below runs code of the caller's before the call */
            int done;
            PyObject *res = call_descr_direct(pm_orig[which], inner, args, nargs, kwnames, &done);
            if (!done && nargs + nk + 1 > MAX_STACK) { /* (re's methods are always done) */
                PyObject *m = PyObject_GetAttrString(inner, pm_defs[which].ml_name);
                res = m == NULL ? NULL : PyObject_Vectorcall(m, args, (size_t)nargs, kwnames);
                Py_XDECREF(m);
            }
            else if (!done) {
                stack[0] = inner;
                for (Py_ssize_t i = 0; i < nargs + nk; i++) {
                    stack[i + 1] = args[i];
                }
                res = PyObject_Vectorcall(pm_orig[which], stack, (size_t)(nargs + 1), kwnames);
            }
            Py_DECREF(inner);
            return res;
        }
    }
    if (nargs + nk + 1 > MAX_STACK) {
        PyObject *m = PyMethod_New(pm_slow[which], self);
        if (m == NULL) {
            return NULL;
        }
        PyObject *res = PyObject_Vectorcall(m, args, (size_t)nargs, kwnames);
        Py_DECREF(m);
        return res;
    }
    stack[0] = self;
    for (Py_ssize_t i = 0; i < nargs + nk; i++) {
        stack[i + 1] = args[i];
    }
    return PyObject_Vectorcall(pm_slow[which], stack, (size_t)(nargs + 1), kwnames);
}

#define PM_DEF(NAME, WHICH)                                                                  \
    static PyObject *pm_##NAME(PyObject *self, PyObject *const *args, Py_ssize_t nargs,      \
                               PyObject *kwnames)                                            \
    {                                                                                        \
        return pm_call(WHICH, self, args, nargs, kwnames);                                   \
    }
PM_DEF(match, PM_MATCH)
PM_DEF(search, PM_SEARCH)
PM_DEF(fullmatch, PM_FULLMATCH)
PM_DEF(sub, PM_SUB)
PM_DEF(subn, PM_SUBN)
PM_DEF(split, PM_SPLIT)
PM_DEF(findall, PM_FINDALL)
#undef PM_DEF

#define PM_FLAGS (METH_FASTCALL | METH_KEYWORDS)
static PyMethodDef pm_defs[PM_N] = {
    {"match", (PyCFunction)(void (*)(void))pm_match, PM_FLAGS,
     "match($self, /, string, pos=0, endpos=sys.maxsize)\n--\n\n"
     "Matches zero or more characters at the beginning of the string; tags kept."},
    {"search", (PyCFunction)(void (*)(void))pm_search, PM_FLAGS,
     "search($self, /, string, pos=0, endpos=sys.maxsize)\n--\n\n"
     "Scan through string looking for a match, and return a corresponding match object "
     "instance; tags kept."},
    {"fullmatch", (PyCFunction)(void (*)(void))pm_fullmatch, PM_FLAGS,
     "fullmatch($self, /, string, pos=0, endpos=sys.maxsize)\n--\n\n"
     "Matches against all of the string; tags kept."},
    {"sub", (PyCFunction)(void (*)(void))pm_sub, PM_FLAGS,
     "sub($self, /, repl, string, count=0)\n--\n\n"
     "Return the string obtained by replacing the leftmost non-overlapping occurrences of "
     "pattern in string by the replacement repl; tags kept."},
    {"subn", (PyCFunction)(void (*)(void))pm_subn, PM_FLAGS,
     "subn($self, /, repl, string, count=0)\n--\n\n"
     "Return the tuple (new_string, number_of_subs_made) found by replacing the leftmost "
     "non-overlapping occurrences of pattern with the replacement repl; tags kept."},
    {"split", (PyCFunction)(void (*)(void))pm_split, PM_FLAGS,
     "split($self, /, string, maxsplit=0)\n--\n\n"
     "Split string by the occurrences of pattern; tags kept."},
    {"findall", (PyCFunction)(void (*)(void))pm_findall, PM_FLAGS,
     "findall($self, /, string, pos=0, endpos=sys.maxsize)\n--\n\n"
     "Return a list of all non-overlapping matches of pattern in string; tags kept."},
};

/* install_pattern_methods(TaggedPattern, re.Pattern, slows): `slows` the seven
 * Python methods, in the order of pm_defs; TaggedPattern's `__wrapped__` must be a
 * slot of it (an object member).  Once per process: again, it changes nothing. */
static PyObject *
sp_install_pattern_methods(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *cls, *inner_type, *slows;
    if (!PyArg_ParseTuple(args, "O!O!O!:install_pattern_methods", &PyType_Type, &cls,
                          &PyType_Type, &inner_type, &PyTuple_Type, &slows)) {
        return NULL;
    }
    if (pm_inner_type != NULL) {
        Py_RETURN_NONE;
    }
    PyObject *name = PyUnicode_FromString("__wrapped__");
    if (name == NULL) {
        return NULL;
    }
    PyObject *d = _PyType_Lookup((PyTypeObject *)cls, name); /* borrowed */
    Py_DECREF(name);
    if (PyTuple_GET_SIZE(slows) != PM_N || d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type) ||
        ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX ||
        ((PyMemberDescrObject *)d)->d_common.d_type != (PyTypeObject *)cls) {
        PyErr_SetString(PyExc_TypeError,
                        "install_pattern_methods: a class with a __wrapped__ slot, re.Pattern "
                        "and its seven Python methods");
        return NULL;
    }
    PyObject *origs[PM_N];
    for (int i = 0; i < PM_N; i++) {
        PyObject *o = PyObject_GetAttrString(inner_type, pm_defs[i].ml_name);
        if (o == NULL) {
            for (int k = 0; k < i; k++) {
                Py_DECREF(origs[k]);
            }
            return NULL;
        }
        origs[i] = o;
        if (!Py_IS_TYPE(o, &PyMethodDescr_Type) || !PyCallable_Check(PyTuple_GET_ITEM(slows, i))) {
            for (int k = 0; k <= i; k++) {
                Py_DECREF(origs[k]);
            }
            PyErr_SetString(PyExc_TypeError, "install_pattern_methods: unexpected methods");
            return NULL;
        }
    }
    for (int i = 0; i < PM_N; i++) {
        pm_orig[i] = origs[i];
        pm_slow[i] = Py_NewRef(PyTuple_GET_ITEM(slows, i));
    }
    pm_off = ((PyMemberDescrObject *)d)->d_member->offset;
    pm_inner_type = (PyTypeObject *)Py_NewRef(inner_type);
    for (int i = 0; i < PM_N; i++) {
        PyObject *m = PyDescr_NewMethod((PyTypeObject *)cls, &pm_defs[i]);
        if (m == NULL || PyObject_SetAttrString(cls, pm_defs[i].ml_name, m) < 0) {
            Py_XDECREF(m);
            return NULL;
        }
        Py_DECREF(m);
    }
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"install_pattern_methods", sp_install_pattern_methods, METH_VARARGS,
     "install_pattern_methods(cls, re.Pattern, slows): cls's pattern methods in C."},
    {"html_escape", (PyCFunction)(void (*)(void))sp_html_escape, METH_FASTCALL,
     "html_escape(s, quote): html.escape of an exact str; anything else to the slow path "
     "given to set_html_escape."},
    {"set_html_escape", sp_set_html_escape, METH_VARARGS,
     "set_html_escape(slow, pairs): html_escape's slow path and its five replacements."},
    {"is_plain", sp_is_plain, METH_O,
     "True when `value` is, or is a small exact container of, plain builtin values."},
    {"set_hash_twin", sp_set_hash_twin, METH_VARARGS,
     "set_hash_twin(update, digest, hexdigest): TaggedHash's pure-Python methods, used "
     "when tagged data is fed or digested."},
    {"memfile_install", sp_memfile_install, METH_VARARGS,
     "memfile_install(cls, plain, init, write, getvalue, marks): C write/getvalue/tp_init "
     "for `cls`, the patched StringIO (plain str) or BytesIO (bytes); False when its base "
     "is not as expected."},
    {"csv_setup", sp_csv_setup, METH_VARARGS,
     "csv_setup(writer type, writerow, writerows): the real writers' type and the Python "
     "methods CsvWriter calls for rows that are not plain."},
    {"install_one_block", sp_install_one_block, METH_O,
     "install_one_block(TaintedStr): make its strings in one block from C; True when "
     "its layout allows it."},
    {"set_carrier", sp_set_carrier, METH_O,
     "set_carrier(TaintedStr): the tagged string type guards look into."},
    {"unbind", sp_unbind, METH_O,
     "unbind(fast): the same object as a FastFunction, not bound as a method on a class "
     "(for a patched builtin)."},
    {"front", sp_front, METH_VARARGS,
     "front(fast, name, doc, module, original): a builtin function named `name` (module "
     "`module`) calling `fast`, standing for the builtin `original`; `fast` itself when "
     "its lane is the simple one."},
    {"front_parts", sp_front_parts, METH_O,
     "front_parts(obj): (fast, original) for a function made by front(), else None."},
    {"format_call", sp_format_call, METH_O,
     "format_call(m): for a rewritten t.format(*a, **k), with m the bound t.format: a "
     "builtin method 'format' of the str t (unpacked into by CPython), else m."},
    {"set_format_call", sp_set_format_call, METH_O,
     "set_format_call(format_unpacked): format_call's path for arguments that are not "
     "plain scalars, called with (template, args, kwargs or None)."},
    {"install_format", sp_install_format, METH_VARARGS,
     "install_format(TaintedStr, its Python __format__): a C __format__ answering the "
     "empty spec itself."},
    {"set_policy", sp_set_policy, METH_O,
     "set_policy(policy): the policy in force (a guard's cache entries name the policy "
     "they were decided under)."},
    {"drop_finalizer", sp_drop_finalizer, METH_O,
     "drop_finalizer(cls): cls's instances skip the finalizer it inherited (its "
     "subclasses still get it)."},
    {"tag_deep", (PyCFunction)(void (*)(void))sp_tag_deep, METH_FASTCALL,
     "tag_deep(value, tags, keys): _patching._tag_deep, exact dicts, lists, str and "
     "scalars in C, everything else through the Python function given to set_tag_deep."},
    {"set_tag_deep", sp_set_tag_deep, METH_VARARGS,
     "set_tag_deep(tainted_str, slow): the TaintedStr type (its _pt_ranges slot is checked) "
     "and the Python _tag_deep, for tag_deep."},
    {"set_limits", sp_set_limits, METH_VARARGS,
     "set_limits(max_items, max_depth): the scanner's limits; beyond them C leaves a call "
     "to Python (which reports the truncation)."},
    {NULL, NULL, 0, NULL},
};

/* The interpreter this extension serves.  Its state (the carrier and policy, the
 * tag_deep type, the memory-file classes, the csv and hash callbacks) is per process
 * and holds that interpreter's objects: a second interpreter (a sub-interpreter, as
 * mod_wsgi gives each application) loading it would rewire the first one's fast
 * paths to its own classes and functions (tagged strings of another interpreter's
 * TaintedStr, which the first does not recognise as tagged; Python code of an
 * interpreter that may be gone).  So only the first interpreter that loads it gets
 * it (any number of module instances there); the others get an ImportError, and
 * purposetag's pure-Python code.  Interpreter ids are never reused. */
static int64_t owner_interp = -1;

static int
module_exec(PyObject *m)
{
    int64_t interp = PyInterpreterState_GetID(PyInterpreterState_Get());
    if (interp < 0) {
        return -1;
    }
    if (owner_interp >= 0 && owner_interp != interp) {
        PyErr_SetString(PyExc_ImportError,
                        "purposetag._speedups serves one interpreter per process, and another "
                        "one loaded it first");
        return -1;
    }
    owner_interp = interp;
    PyObject *fast_type = PyType_FromModuleAndSpec(m, &fast_spec, NULL);
    if (fast_type == NULL) {
        return -1;
    }
    int rc = PyModule_AddObjectRef(m, "Fast", fast_type);
    Py_DECREF(fast_type);
    if (rc < 0) {
        return -1;
    }
    PyObject *ff_type = PyType_FromModuleAndSpec(m, &fast_function_spec, NULL);
    if (ff_type == NULL) {
        return -1;
    }
    rc = PyModule_AddObjectRef(m, "FastFunction", ff_type);
    if (rc < 0) {
        Py_DECREF(ff_type);
        return -1;
    }
    Py_XSETREF(fast_function_type, (PyTypeObject *)ff_type); /* the reference made here */
    PyObject *site_type = PyType_FromModuleAndSpec(m, &site_spec, NULL);
    if (site_type == NULL) {
        return -1;
    }
    rc = PyModule_AddObjectRef(m, "Site", site_type);
    Py_DECREF(site_type);
    if (rc < 0) {
        return -1;
    }
    PyObject *es = PyUnicode_FromStringAndSize("", 0);
    PyObject *eb = PyBytes_FromStringAndSize("", 0);
    PyObject *sj = es ? PyObject_GetAttrString(es, "join") : NULL;
    PyObject *bj = eb ? PyObject_GetAttrString(eb, "join") : NULL;
    Py_XDECREF(es);
    Py_XDECREF(eb);
    if (sj == NULL || bj == NULL || !PyCFunction_Check(sj) || !PyCFunction_Check(bj)) {
        Py_XDECREF(sj);
        Py_XDECREF(bj);
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_SystemError, "str.join/bytes.join are not builtin methods");
        }
        return -1;
    }
    PyObject *sf = PyObject_GetAttrString(sj, "__self__");
    PyObject *sfm = sf ? PyObject_GetAttrString(sf, "format") : NULL;
    Py_XDECREF(sf);
    if (sfm == NULL || !PyCFunction_Check(sfm)) {
        Py_XDECREF(sfm);
        Py_DECREF(sj);
        Py_DECREF(bj);
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_SystemError, "str.format is not a builtin method");
        }
        return -1;
    }
    /* fc_call calls it as METH_VARARGS | METH_KEYWORDS, as CPython 3.11-3.13 define
     * it; anything else: format_call gives the bound method back (no tags) */
    str_format_fn = PyCFunction_GET_FLAGS(sfm) == (METH_VARARGS | METH_KEYWORDS)
                        ? PyCFunction_GET_FUNCTION(sfm)
                        : NULL;
    Py_DECREF(sfm);
    str_join_fn = PyCFunction_GET_FUNCTION(sj);
    bytes_join_fn = PyCFunction_GET_FUNCTION(bj);
    str_join_o = PyCFunction_GET_FLAGS(sj) == METH_O ? str_join_fn : NULL;
    bytes_join_o = PyCFunction_GET_FLAGS(bj) == METH_O ? bytes_join_fn : NULL;
    Py_DECREF(sj);
    Py_DECREF(bj);
    str_update = PyUnicode_InternFromString("update");
    str_digest = PyUnicode_InternFromString("digest");
    str_hexdigest = PyUnicode_InternFromString("hexdigest");
    str_copy = PyUnicode_InternFromString("copy");
    str_name = PyUnicode_InternFromString("name");
    str_digest_size = PyUnicode_InternFromString("digest_size");
    str_block_size = PyUnicode_InternFromString("block_size");
    if (!str_update || !str_digest || !str_hexdigest || !str_copy || !str_name ||
        !str_digest_size || !str_block_size) {
        return -1;
    }
    PyObject *ht = PyType_FromModuleAndSpec(m, &hash_spec, NULL);
    if (ht == NULL) {
        return -1;
    }
    rc = PyModule_AddObjectRef(m, "TaggedHash", ht);
    Py_DECREF(ht);
    if (rc < 0) {
        return -1;
    }
    PyObject *ct = PyType_FromModuleAndSpec(m, &csv_spec, NULL);
    if (ct == NULL) {
        return -1;
    }
    rc = PyModule_AddObjectRef(m, "CsvWriter", ct);
    Py_DECREF(ct);
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
