/* pulsetrace._core: module definition. */
#include "core.h"
#include "lines.h"

PyObject *pt_module = NULL;

static PyObject *monotonic_ns(PyObject *module, PyObject *unused)
{
    return PyLong_FromUnsignedLongLong(pt_now_ns());
}

static PyMethodDef module_methods[] = {
    {"monotonic_ns", monotonic_ns, METH_NOARGS, "CLOCK_MONOTONIC in ns: the clock of every record."},
    {"encode_events", (PyCFunction)(void (*)(void))pt_encode_events, METH_FASTCALL,
     "encode_events(chunks) -> bytes: records to the native file's varint stream."},
    {"decode_events", (PyCFunction)(void (*)(void))pt_decode_events, METH_FASTCALL,
     "decode_events(data, count) -> bytes: a native varint stream back to records."},
    {"chrome_json_events", (PyCFunction)(void (*)(void))pt_chrome_json_events, METH_FASTCALL,
     "chrome_json_events(chunks, names, pid, tid, base_ns, write, first) -> int: one thread's slices "
     "as Chrome X events."},
    {"function_totals", (PyCFunction)(void (*)(void))pt_function_totals, METH_FASTCALL,
     "function_totals(chunks, nfuncs, totals) -> None: add one thread's per-function calls, primitive "
     "calls, slices, total, self and max ns into totals (a bytearray of nfuncs rows of six int64)."},
    {"bounded_repr", (PyCFunction)(void (*)(void))pt_bounded_repr_py, METH_FASTCALL,
     "bounded_repr(value, limit) -> str: reprs.bounded_repr as the C core renders it."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pulsetrace._core",
    .m_doc = "The pulsetrace C core: records calls of every thread; encodes and exports events.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__core(void)
{
    if (PyType_Ready(&PtRecorder_Type) < 0 || PyType_Ready(&PtLineRecorder_Type) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    Py_INCREF(&PtRecorder_Type);
    if (PyModule_AddObject(m, "Recorder", (PyObject *)&PtRecorder_Type) < 0)
        goto fail;
    Py_INCREF(&PtLineRecorder_Type);
    if (PyModule_AddObject(m, "LineRecorder", (PyObject *)&PtLineRecorder_Type) < 0)
        goto fail;
#if PT_HAS_MONITORING
    PyObject *backends = Py_BuildValue("(ss)", "monitoring", "setprofile");
#else
    PyObject *backends = Py_BuildValue("(s)", "setprofile");
#endif
    if (backends == NULL || PyModule_AddObject(m, "BACKENDS", backends) < 0)
        goto fail;
    if (PyModule_AddIntConstant(m, "RECORD_SIZE", (long)sizeof(PtRecord)) < 0)
        goto fail;
    pt_clock_init();
    if (pt_setprofile_init() < 0)
        goto fail;
    if (PyModule_AddStringConstant(m, "CLOCK", pt_use_tsc ? "tsc" : "monotonic") < 0)
        goto fail;
    pt_module = m;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
