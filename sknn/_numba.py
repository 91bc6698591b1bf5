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

Kernels only called from jitted code, and the overload implementations
(``np.dot``, ``np.empty``...) kernels use, get code libraries without machine
code (``_link_only_library_class``): their callers link their LLVM IR.
"""

import contextlib
import gc
import inspect
import os
import warnings

from llvmlite import binding as llvm
from llvmlite import ir as llvmir
from numba import config, njit, types
from numba.core import ir
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_lock import global_compiler_lock, require_global_compiler_lock
from numba.core.compiler_machinery import FunctionPass, register_pass
from numba.core.decorators import jit as njit_decorator
from numba.core.imputils import impl_ret_borrowed
from numba.core.registry import CPUDispatcher
from numba.core.typed_passes import NopythonTypeInference
from numba.core.typing.templates import _OverloadFunctionTemplate
from numba.core.untyped_passes import RewriteSemanticConstants
from numba.extending import intrinsic, overload, register_jitable, typeof_impl

__all__ = ["Code", "code_record", "jit", "jitable", "python_dispatcher", "type_fact"]

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


#: Python functions whose jitted value is a fact of their arguments' numba types:
#: function -> that fact computed from the types (``type_fact``).
_TYPE_FACTS = {}


def type_fact(of_types):
    """Make a predicate on kernel arguments a compile-time constant in kernels.

    ``of_types(*numba_types)`` computes the function's value from its arguments'
    numba types.  In a kernel (``jit``), a call whose arguments are the kernel's
    arguments or fields of them (``StaticArgsToConstants``) becomes that
    constant before branch pruning, so an ``if`` on it compiles one branch; other
    jitted calls get it as a constant too (an overload); Python calls run the
    function.
    """

    def decorate(func):
        _TYPE_FACTS[func] = of_types

        @overload(func)
        def _fact(*args):
            value = of_types(*args)
            return lambda *args: value

        return func

    return decorate


def _type_fact_value(func_ir, expr, args):
    """The constant value of the call ``expr`` to a ``type_fact`` function, or None."""
    try:
        fn = func_ir.get_definition(expr.func)
    except KeyError:
        return None
    if not isinstance(fn, (ir.Global, ir.FreeVar)) or expr.kws or expr.vararg:
        return None
    try:
        of_types = _TYPE_FACTS.get(fn.value)
    except TypeError:  # unhashable
        return None
    if of_types is None:
        return None
    tys = [_known_type(func_ir, a, args) for a in expr.args]
    if any(t is None for t in tys):
        return None
    return of_types(*tys)


@register_pass(mutates_CFG=True, analysis_only=False)
class StaticArgsToConstants(FunctionPass):
    """A literal-typed argument or record field becomes a constant, so numba prunes
    its dead branches; so does a call of a ``type_fact`` function on arguments.

    numba's dead-branch pruning only sees constants, globals and closure
    variables; a literal *argument* type (a ``static`` argument's ``Code``), or
    the literal type of a field of a record argument (a ``Code`` field of a
    ``code_record``, e.g. an option switched off), is turned into the constant it
    stands for before that pruning runs.
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
                if isinstance(stmt.value, ir.Expr) and stmt.value.op == "call":
                    value = _type_fact_value(func_ir, stmt.value, state.args)
                    ty = None if value is None else types.literal(value)
                else:
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


#: Prefix of numba's per-function environment pointers (``NumbaEnv`` globals).
_ENV_PREFIX = "_ZN08NumbaEnv"
_LINK_ONLY_CLASSES = {}


def _link_only_library_class(codegen):
    """The code-library class of kernels only ever linked into jitted callers, or None.

    numba adds every compiled function's final module to its MCJIT engine and
    emits machine code for it (``finalize_object``); a wrapper-less kernel's
    machine code is never called (its callers link its LLVM IR and inline it),
    so a ``LinkOnly`` library stops before the final module's optimisation
    and linking: a caller links this IR with everything it calls and optimises
    it once (a kernel's optimised final module, with its callees' IR linked in
    and optimised again, used to be re-optimised by every caller); it adds only
    its environment pointers to the engine (numba sets each compiled
    function's pointer there, and inlined code reads its callees' through the
    engine's symbol), and it is cached as that linked LLVM bitcode (a later
    process compiling a new entry point loads it, emitting its machine code
    once; a warm first fit never loads it).  Built on the
    codegen's own library class; None (numba's default) if that class lacks the
    internals this relies on (checked on numba 0.60 and 0.68).
    """
    base = getattr(codegen, "_library_class", None)
    if base not in _LINK_ONLY_CLASSES:
        needed = ("_finalize_final_module", "_finalize_dynamic_globals",
                  "_verify_declare_only_symbols", "serialize_using_bitcode",
                  "serialize_using_object_code")
        engine = getattr(codegen, "_engine", None)
        ok = (base is not None and all(hasattr(base, n) for n in needed)
              and hasattr(engine, "finalize_object") and hasattr(codegen, "_add_module")
              and hasattr(codegen, "_create_empty_module"))
        _LINK_ONLY_CLASSES[base] = _make_link_only(base) if ok else None
    return _LINK_ONLY_CLASSES[base]


def _make_link_only(base):
    class LinkOnlyCodeLibrary(base):
        _link_only = True
        #: run numba's final-module steps (link the callees, optimise) before
        #: callers link this IR, as for a library with machine code; only the
        #: machine code is left out (``LinkOnlyOverloadLibrary``)
        _optimise = False

        def finalize(self):
            if not self._env_names():  # unexpected (lowering declares one): numba's way
                self._link_only = False
                return super().finalize()
            if self._optimise:  # numba's steps; ``_finalize_final_module`` emits nothing
                return super().finalize()
            # no final-module optimisation: the jitted caller linking this IR
            # optimises it with its own (bottom-up: callees first), once
            require_global_compiler_lock()
            self._codegen._check_llvm_bugs()
            self._raise_if_finalized()
            if hasattr(self, "_reload_init"):  # numba >= 0.61: callers inherit it
                for library in self._linking_libraries:
                    self._reload_init.update(library._reload_init)
            self._final_module.verify()
            self._finalize_final_module()

        def _get_module_for_linking(self):
            # this library's IR and everything it calls: what a caller links
            self._ensure_finalized()
            if not self._link_only or self._optimise:
                return super()._get_module_for_linking()
            if self._shared_module is None:
                mod = self._final_module.clone()
                seen = set()
                for library in self._linking_libraries:
                    if library not in seen:
                        seen.add(library)
                        mod.link_in(library._get_module_for_linking(), preserve=True)
                for fn in mod.functions:
                    if not fn.is_declaration and fn.linkage == llvm.Linkage.external:
                        fn.linkage = "linkonce_odr"
                self._shared_module = mod
            return self._shared_module

        def _env_names(self):
            return [gv.name for gv in self._final_module.global_variables
                    if gv.name.startswith(_ENV_PREFIX) and not gv.is_declaration]

        def _finalize_final_module(self):
            if not self._link_only:
                return super()._finalize_final_module()
            envs = self._env_names()
            self._finalize_dynamic_globals()
            codegen = self._codegen
            stub = codegen._create_empty_module(self.name + ".env")
            ptr = llvmir.IntType(8).as_pointer()
            for name in envs:
                gv = llvmir.GlobalVariable(stub, ptr, name)
                gv.linkage = "common"
                gv.initializer = llvmir.Constant(ptr, None)
            codegen._add_module(llvm.parse_assembly(str(stub)))
            codegen._engine.finalize_object()
            self._finalized = True

        def serialize_using_object_code(self):
            if not self._link_only:
                return super().serialize_using_object_code()
            # no object code was emitted: cache the IR callers link
            return (self.name, "bitcode", self._get_module_for_linking().as_bitcode())

    return LinkOnlyCodeLibrary


@register_pass(mutates_CFG=False, analysis_only=False)
class LinkOnlyLibrary(FunctionPass):
    """A wrapper-less kernel (no CPython or C wrapper: only jitted code calls it)
    gets a ``LinkOnly`` code library (``_link_only_library_class``)."""

    _name = "sknn_link_only_library"

    def __init__(self):
        FunctionPass.__init__(self)

    def run_pass(self, state):
        flags = state.flags
        if state.library is None and flags.no_cpython_wrapper and flags.no_cfunc_wrapper:
            codegen = state.targetctx.codegen()
            cls = _link_only_library_class(codegen)
            if cls is not None:
                state.library = cls(codegen, state.func_id.func_qualname)
                state.library.enable_object_caching()
        return False


@register_pass(mutates_CFG=False, analysis_only=False)
class LinkOnlyOverloadLibrary(LinkOnlyLibrary):
    """``LinkOnlyLibrary`` for an overload's implementation: its final module is
    linked and optimised as numba does (callers link the same IR as with machine
    code, so their code is unchanged); only the machine code is left out."""

    _name = "sknn_link_only_overload_library"

    def run_pass(self, state):
        super().run_pass(state)
        if getattr(state.library, "_link_only", False):
            state.library._optimise = True
        return False


class KernelPipeline(CompilerBase):
    """numba's nopython pipeline with ``StaticArgsToConstants`` before branch pruning."""

    def define_pipelines(self):
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pm.add_pass_after(StaticArgsToConstants, RewriteSemanticConstants)
        pm.add_pass_after(LinkOnlyLibrary, NopythonTypeInference)
        pm.finalize()
        return [pm]


class OverloadPipeline(CompilerBase):
    """numba's nopython pipeline for an overload's implementation compiled inside
    a kernel (``_link_only_overloads``): a ``LinkOnly`` code library."""

    def define_pipelines(self):
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pm.add_pass_after(LinkOnlyOverloadLibrary, NopythonTypeInference)
        pm.finalize()
        return [pm]


def _overload_jitter(jitter):
    """``jitter`` (an overload template's jit decorator) making link-only code."""

    def decorate(**options):
        if options.get("pipeline_class") is None and options.get("nopython", True):
            options = dict(options, pipeline_class=OverloadPipeline, no_cpython_wrapper=True,
                           no_cfunc_wrapper=True)
        return jitter(**options)

    return decorate


@contextlib.contextmanager
def _link_only_overloads():
    """Compile the overload implementations kernels use (``np.dot``, ``np.empty``,
    sknn's ``jitable`` helpers...) without machine code, while sknn compiles.

    numba builds an overload's implementation as a dispatcher of its own, with a
    C wrapper, and emits its machine code, although jitted callers only link
    its (optimised) LLVM IR.  Under this context the overload templates' jit
    decorator adds ``OverloadPipeline`` (a ``LinkOnly`` library that still
    optimises its final module: callers link the IR they linked before) and no
    wrappers.  numba keeps those implementations per caller's compile
    flags: a jitted function outside sknn with exactly sknn's flags may link one
    (its IR, as any caller does).  Holds numba's compiler lock (no other thread
    compiles meanwhile).
    """
    cls = _OverloadFunctionTemplate
    get = cls.__dict__.get("_get_jit_decorator")
    if get is None:  # not numba's internals of 0.60-0.68
        yield
        return

    def _get_jit_decorator(self):
        jitter = get(self)
        return _overload_jitter(jitter) if jitter is njit_decorator else jitter

    with global_compiler_lock:
        if cls.__dict__.get("_get_jit_decorator") is not get:  # nested: already on
            yield
            return
        cls._get_jit_decorator = _get_jit_decorator
        try:
            yield
        finally:
            cls._get_jit_decorator = get


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
    compiled inside it) run with the garbage collector relaxed (``_compile_gc``)
    and build the overload implementations they use link-only
    (``_link_only_overloads``)."""

    def compile(self, sig):
        with _compile_gc(), _link_only_overloads():
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

    numba's ``inline`` option is refused: callers link a kernel's LLVM IR anyway
    (link-only libraries), while IR-level inlining cost each caller's
    specialization typing and lowering time and would bypass the ``static``
    arguments' pruning, which runs before numba inlines.
    """
    if "inline" in options:
        raise ValueError("sknn's jit does not take numba's 'inline' option: kernels are "
                         "linked into their callers at the LLVM level")

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
