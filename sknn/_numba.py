"""The one decorator every sknn kernel goes through.

``cache=True`` needs a writable cache location (``NUMBA_CACHE_DIR``, the package's
``__pycache__`` or ``~/.cache/numba``); on read-only installs numba raises at
decoration time, so we fall back to an uncached kernel with a warning instead of
failing the import.  ``error_model="numpy"`` lets divisions vectorise (no
ZeroDivisionError branch), which made Adam ~5x faster in our measurements.

Compile time.  A kernel called from another kernel never needs numba's CPython
and C-callable wrappers (argument unboxing, result boxing): building them for
every helper, and linking them into every caller's module, was about a fifth of
a cold first fit.  So each kernel is compiled *without* them for its jitted
callers, and a Python call goes to a twin dispatcher of the same function,
compiled with wrappers on its first Python call (entry points such as
``train_epoch`` are only ever compiled that way; helpers only the other way,
unless a test calls them).  The twin has its own qualified name, hence its own
entries in numba's cache: numba keys cache entries on the signature, not on
the compile options, so the two must never share an index.
"""

import contextlib
import gc
import inspect
import os
import warnings

from numba import config, njit, types
from numba.core import ir
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import FunctionPass, register_pass
from numba.core.imputils import impl_ret_borrowed
from numba.core.registry import CPUDispatcher
from numba.core.untyped_passes import InlineInlinables, RewriteSemanticConstants
from numba.extending import intrinsic, overload, register_jitable, typeof_impl

__all__ = ["Code", "code_record", "jit", "jitable", "python_dispatcher"]

#: numba options of every kernel.
OPTIONS = {"error_model": "numpy"}
#: Options of the copy jitted callers link in: no wrappers to build or link.
INTERNAL = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}
#: Suffix of the Python-callable twin's qualified name (its cache file name).
TWIN_SUFFIX = "_py"
#: Allocations between the cyclic garbage collector's youngest-generation runs
#: while numba compiles (Python's default: 700).  A compile allocates millions
#: of short-lived objects; at the default the collector took 5-10% of a cold
#: first fit (about 1-2 s CPU), at this setting almost nothing (+11 MB peak).
COMPILE_GC_THRESHOLD = 10000


class Code(int):
    """An option code (activation, loss, solver) kernels are compiled for.

    numba types it as a literal, so an entry kernel taking it (in a record or as
    an argument) is compiled once per code value, and the code reaches the
    helpers declaring it ``static`` as a constant: only the branch of that
    option is compiled (the other activations, losses and solvers cost numba's
    typing and LLVM's optimisation time for nothing).  A plain ``int`` gives the
    generic kernel with every branch.
    """

    __slots__ = ()

    def __repr__(self):
        return f"Code({int(self)})"

    def __str__(self):  # the plain number: LLVM IR prints a constant Code with str()
        return int.__repr__(self)

    def __reduce__(self):
        return int, (int(self),)  # pickles (estimator state) hold plain ints


@typeof_impl.register(Code)
def _typeof_code(val, c):
    return types.IntegerLiteral(int(val))


def code_record(cls, codes):
    """Let the named-tuple record class ``cls`` carry ``Code`` fields as literals.

    numba widens the field types of a named tuple (a ``Code`` field would type as
    int64 and select no branch); the fields named in ``codes`` keep their literal
    type when they hold a ``Code``, in a record passed from Python and in one built
    in jitted code by the returned function (``make(*fields)``, a plain
    ``cls(*fields)`` in Python), where the other fields' constants are widened.
    """

    @typeof_impl.register(cls)
    def _typeof(val, c):
        tys = [typeof_impl(v, c) for v in val]
        if any(t is None for t in tys):
            return None
        return types.NamedTuple(tys, cls)

    def make(*fields):
        return cls(*fields)

    keep = [name in codes for name in cls._fields]

    @intrinsic(prefer_literal=True)
    def _build(typingctx, fields):
        ret = types.NamedTuple(tuple(t if k else types.unliteral(t)
                                     for t, k in zip(fields, keep)), cls)

        def codegen(context, builder, sig, args):
            values = [context.cast(builder, builder.extract_value(args[0], i), fields[i],
                                   ret.types[i]) for i in range(len(fields))]
            record = context.make_tuple(builder, ret, values)
            # the fields are borrowed from the argument tuple: the record is a new reference
            return impl_ret_borrowed(context, builder, ret, record)

        return ret(fields), codegen

    @overload(make, prefer_literal=True)
    def _make(*fields):
        return lambda *fields: _build(fields)

    return make


def _known_type(func_ir, value, args):
    """The numba type of the IR value ``value`` known from the argument types alone.

    An argument, or a field of one: a record field (``net.layers``), an item of
    an unpacked record or tuple (``a, b = rec``), through any chain of those;
    None for anything else (or a variable with several definitions).
    """
    try:
        while isinstance(value, ir.Var):
            value = func_ir.get_definition(value)
    except KeyError:
        return None
    if isinstance(value, ir.Arg):
        return args[value.index]
    if not isinstance(value, ir.Expr):
        return None
    if value.op == "getattr":
        rec = _known_type(func_ir, value.value, args)
        if isinstance(rec, types.BaseNamedTuple) and value.attr in rec.fields:
            return rec.types[rec.fields.index(value.attr)]
    elif value.op == "exhaust_iter":
        return _known_type(func_ir, value.value, args)
    elif value.op == "static_getitem" and isinstance(value.index, int):
        try:
            src = func_ir.get_definition(value.value)
            if isinstance(src, ir.Expr) and src.op == "exhaust_iter":
                src = func_ir.get_definition(src.value)
        except KeyError:
            return None
        if isinstance(src, ir.Expr) and src.op == "build_tuple":  # a, b, c, d = x.a, ...
            return (_known_type(func_ir, src.items[value.index], args)
                    if 0 <= value.index < len(src.items) else None)
        tup = _known_type(func_ir, value.value, args)
        if isinstance(tup, types.BaseTuple) and 0 <= value.index < len(tup):
            return tup.types[value.index]
    return None


@register_pass(mutates_CFG=True, analysis_only=False)
class StaticArgsToConstants(FunctionPass):
    """A literal-typed argument or record field becomes a constant, so numba prunes
    its dead branches.

    numba's dead-branch pruning only sees constants, globals and closure
    variables; a literal *argument* type (a ``static`` argument's ``Code``), or
    the literal type of a field of a record argument (a ``Code`` field of a
    ``code_record``, e.g. an option switched off), is turned into the constant it
    stands for before that pruning runs.  It runs again after numba inlines the
    ``inline="always"`` kernels, whose arguments are then the caller's.
    """

    _name = "sknn_static_args_to_constants"

    def __init__(self):
        FunctionPass.__init__(self)

    def run_pass(self, state):
        changed = False
        func_ir = state.func_ir
        for block in func_ir.blocks.values():
            for stmt in block.body:
                if not isinstance(stmt, ir.Assign) or not isinstance(stmt.value, (ir.Arg, ir.Expr)):
                    continue
                ty = _known_type(func_ir, stmt.value, state.args)
                if isinstance(ty, (types.IntegerLiteral, types.BooleanLiteral)):
                    const = ir.Const(ty.literal_value, stmt.value.loc)
                    defs = func_ir._definitions.get(stmt.target.name, [])
                    # keep the definitions in step: the pruning that follows reads them
                    func_ir._definitions[stmt.target.name] = [
                        const if d is stmt.value else d for d in defs]
                    stmt.value = const
                    changed = True
        return changed


@register_pass(mutates_CFG=True, analysis_only=False)
class InlinedStaticArgsToConstants(StaticArgsToConstants):
    """``StaticArgsToConstants`` again, on the code of inlined kernels."""

    _name = "sknn_inlined_static_args_to_constants"


class KernelPipeline(CompilerBase):
    """numba's nopython pipeline with ``StaticArgsToConstants`` before branch pruning."""

    def define_pipelines(self):
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pm.add_pass_after(StaticArgsToConstants, RewriteSemanticConstants)
        pm.add_pass_after(InlinedStaticArgsToConstants, InlineInlinables)
        pm.finalize()
        return [pm]


class KernelDispatcher(CPUDispatcher):
    """A wrapper-less dispatcher whose Python calls go to a twin with wrappers.

    Calls from other kernels compile one specialization per argument *types*:
    literal argument types (``0`` in ``coef_view(theta, layout, 0, ...)``) are
    widened to their plain type, except for the ``static`` arguments, whose
    literal (a ``Code``) selects the compiled branch.
    """

    def __call__(self, *args, **kwargs):
        return python_dispatcher(self)(*args, **kwargs)

    def get_call_template(self, args, kws):
        static = self.__dict__["_sknn_static"]
        args = tuple(a if i in static else types.unliteral(a) for i, a in enumerate(args))
        kws = {k: (a if k in static else types.unliteral(a)) for k, a in kws.items()}
        return super().get_call_template(args, kws)


@contextlib.contextmanager
def _compile_gc():
    """Run the cyclic garbage collector less often while numba compiles."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], COMPILE_GC_THRESHOLD), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


class TwinDispatcher(CPUDispatcher):
    """The Python-callable twin; its compiles (and those of the kernels it calls,
    compiled inside it) run with the garbage collector relaxed (``_compile_gc``)."""

    def compile(self, sig):
        with _compile_gc():
            return super().compile(sig)


def python_dispatcher(kernel):
    """The dispatcher Python calls of ``kernel`` run (itself without the split)."""
    if not isinstance(kernel, KernelDispatcher):
        return kernel
    twin = kernel.__dict__.get("_sknn_twin")
    if twin is None:
        func = kernel.py_func
        copy = type(func)(func.__code__, func.__globals__, func.__name__, func.__defaults__,
                          func.__closure__)
        copy.__qualname__ = func.__qualname__ + TWIN_SUFFIX
        copy.__module__ = func.__module__
        copy.__doc__ = func.__doc__
        twin = _compile(copy, kernel.__dict__["_sknn_options"])
        twin.__class__ = TwinDispatcher
        kernel.__dict__["_sknn_twin"] = twin
    return twin


def _compile(func, options, internal=False):
    opts = dict(OPTIONS, pipeline_class=KernelPipeline, **options)
    if internal:
        opts.update(INTERNAL)
    if os.environ.get("SKNN_NUMBA_CACHE", "1") != "0":
        try:
            return njit(cache=True, **opts)(func)
        except RuntimeError as exc:  # no writable cache location
            warnings.warn(
                f"numba cache disabled ({exc}); set NUMBA_CACHE_DIR to a writable "
                "directory to avoid recompiling sknn's kernels in every process",
                RuntimeWarning,
                stacklevel=3,
            )
    return njit(**opts)(func)


def jit(static=(), **options):
    """Return a decorator compiling a function with sknn's numba settings.

    ``static``: names of int-code arguments the kernel is compiled once per value
    of, when its caller passes a ``Code`` (see ``Code``); other literal argument
    types are widened, so a constant argument does not add a specialization.
    """

    def decorate(func):
        if config.DISABLE_JIT:
            return func
        names = list(inspect.signature(func).parameters)
        kernel = _compile(func, options, internal=True)
        kernel.__class__ = KernelDispatcher
        kernel.__dict__["_sknn_options"] = options
        kernel.__dict__["_sknn_static"] = {names.index(n) for n in static} | set(static)
        return kernel

    return decorate


def jitable(func):
    """A small helper callable from both Python and jitted code.

    Compiled into each jitted caller (no dispatcher, nothing cached of its own), and
    a plain function in Python: for interface facts such as "is this input block
    sparse" that kernels and their Python callers must agree on.
    """
    return register_jitable(func)
