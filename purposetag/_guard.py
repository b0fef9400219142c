"""Guards: ``@pt.guard``, ``pt.check``, ``@pt.source`` and ``pt.guard_function``.

A guard is a `wrapt.FunctionWrapper`, so binding (methods, classmethods,
staticmethods), signature, name and docstring behave as wrapt makes them.  A
call through an unbound guard (a plain function: the common case) takes a
Python ``__call__`` that skips wrapt's per-call ``__self__`` lookup; bound calls
go through wrapt, which hands the instance over separately so it is not scanned.
With the C accelerator (`_accel`), a guard that has its own use sends a call whose
arguments are all plain builtins straight to the function (nothing to check in
any mode); every other call runs that ``__call__``.

Generators, async functions and async generators are checked when called (before
the generator or coroutine object exists), so in ``enforce`` their bodies never start.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from types import MethodType
from typing import Any, TypeVar, overload

import wrapt

from . import _carriers, _decide, _events
from ._accel import _C, fast
from ._context import (
    _ENV_DATA,
    _ENV_KEY,
    SCOPE_MODE,
    SCOPE_USE,
    effective_mode,
    scoped_agen,
    scoped_gen,
)
from ._errors import PolicyError, PurposeTagError, PurposeViolation
from ._proxy import TaggedValue
from ._purposes import validate_purpose
from ._ranges import TagSet
from ._ranges import union as _union_ranges
from ._safe_repr import holds_tag, safe_repr
from ._scan import ATOMIC, Finding, Scanner, report_truncation
from ._settings import Mode, validate_mode
from ._tags import Tag
from ._tainted import TaintedBytes, TaintedStr

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

_settings_mod = sys.modules["purposetag._settings"]
if _C is not None:  # the accelerated guard looks into tagged strings (see _fast_class)
    _C.set_carrier(TaintedStr)
_EMPTY: TagSet = frozenset()


def _leaf_allowed(v: Any, t: type, use: str, cache: dict[TagSet, object]) -> bool:
    """Is `v` (of type `t`, not atomic) a tagged leaf whose tags the policy allows for `use`?

    Tagged strings and proxies over atoms are leaves; anything else is not (False).
    """
    if t is TaintedStr or t is TaintedBytes:
        r = v._pt_ranges
        if type(r) is frozenset:
            ts = r
        else:  # pieces of one tagged value: usually one shared set, no union to build
            ts = r[0][2]
            for piece in r:
                if piece[2] is not ts:
                    ts = _union_ranges(r)
                    break
    elif t is TaggedValue and type(v.__wrapped__) in ATOMIC:
        ts = v._self_tags
    else:
        return False
    return cache.get(ts) is _settings_mod._current.policy or _decide.policy_allows(ts, use, cache)


def _quick_allowed(values: Iterable[Any], use: str, cache: dict[TagSet, object]) -> bool:
    """True when a full scan of `values` would find nothing `use` may not see.

    Covers the common calls without building a `Scanner`: atoms, tagged strings
    (and proxies over atoms) whose every tag the policy allows for `use`, and
    exact lists/tuples/dicts of those.  False means "scan": something deeper, a
    tag the policy does not allow by itself (consent, denial: decided and
    reported by the scan), or more items than ``max_items`` (reported by the scan).
    Small containers are checked with a plain loop; large ones in C
    (``issuperset`` builds a set of the element types, ~10 ns per element) and
    are left to the scan if they hold anything but atoms.
    """
    current = _settings_mod._current
    policy = current.policy
    budget = current.max_items
    for v in values:
        t = type(v)
        if t in ATOMIC:
            continue
        if t is TaintedStr:  # the usual tagged argument: one shared, allowed set
            r = v._pt_ranges
            if type(r) is frozenset and cache.get(r) is policy:
                continue
        if t is list or t is tuple:
            n = len(v)
            budget -= n
            if budget < 0:
                return False
            if n > 8:
                if ATOMIC.issuperset(map(type, v)):
                    continue
                return False
            for x in v:
                tx = type(x)
                if tx in ATOMIC:
                    continue
                if tx is TaintedStr:
                    r = x._pt_ranges
                    if type(r) is frozenset and cache.get(r) is policy:
                        continue
                if not _leaf_allowed(x, tx, use, cache):
                    return False
        elif t is dict:
            n = len(v)
            budget -= n
            if budget < 0:
                return False
            if n > 8:
                if ATOMIC.issuperset(map(type, dict.values(v))) and ATOMIC.issuperset(
                    map(type, dict.keys(v))
                ):
                    continue
                return False
            for k, x in dict.items(v):
                tx = type(x)
                if tx not in ATOMIC:
                    if tx is TaintedStr:
                        r = x._pt_ranges
                        if type(r) is frozenset and cache.get(r) is policy:
                            pass
                        elif not _leaf_allowed(x, tx, use, cache):
                            return False
                    elif not _leaf_allowed(x, tx, use, cache):
                        return False
                tx = type(k)
                if tx not in ATOMIC and not _leaf_allowed(k, tx, use, cache):
                    return False
        elif not _leaf_allowed(v, t, use, cache):
            return False
    return True


class Sink:
    """What one guard checks: its name (``module.qualname``), its use, its own mode."""

    __slots__ = ("allowed", "mode", "name", "use")

    def __init__(self, name: str, use: str | None, mode: Mode | None) -> None:
        self.name = name
        self.use = use
        self.mode = mode
        # tag sets the policy allows for `use` (`_decide.allowed_cache`)
        self.allowed = None if use is None else _decide.allowed_cache(use)

    def __repr__(self) -> str:
        return f"Sink({self.name!r}, use={self.use!r}, mode={self.mode!r})"

    def check_call(self, mode: Mode, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Scan a call's arguments in `mode` (not ``off``); raise or log a violation."""
        __tracebackhide__ = True  # keep argument values out of test reports
        use = self.use
        cache = self.allowed
        if use is None or cache is None:
            use = SCOPE_USE.get()
            if use is None:
                raise PolicyError(
                    f"{self.name}: @pt.guard() has no use and no pt.processing(...) scope "
                    "is active; write @pt.guard('marketing.advertising') or call it inside "
                    "`with pt.processing('marketing.advertising'):`"
                )
            cache = _decide.allowed_cache(use)
        if _quick_allowed(args, use, cache) and (
            not kwargs
            or (
                _quick_allowed(kwargs.values(), use, cache)
                and _quick_allowed(kwargs.keys(), use, cache)
            )
        ):
            return
        roots: list[tuple[object, str]] = [(a, f"args[{i}]") for i, a in enumerate(args)]
        for i, (k, a) in enumerate(kwargs.items()):
            if type(k) is str and k.isidentifier():
                roots.append((a, f"kwargs[{k!r}]"))
            else:  # a tagged or odd keyword name: the name is data too, never shown
                roots.append((k, f"list(kwargs)[{i}]"))
                roots.append((a, f"list(kwargs.values())[{i}]"))
        inspect_values(self.name, use, mode, roots)

    def wrapper(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        """The wrapt wrapper (bound calls): check everything but the instance, then call."""
        __tracebackhide__ = True  # keep argument values out of test reports
        try:
            mode = effective_mode(self.mode)
            if mode != "off":
                self.check_call(mode, args, kwargs)
        except PurposeTagError:
            raise
        except Exception as exc:
            _events.internal_error(f"guard {self.name}", exc)
        return wrapped(*args, **kwargs)


def inspect_values(sink: str, use: str, mode: str, roots: Iterable[tuple[object, str]]) -> None:
    """Scan `roots` (value, path) and report: one event per call, raise in enforce."""
    __tracebackhide__ = True  # keep argument values out of test reports
    scanner = Scanner()
    for value, root in roots:
        scanner.scan(value, root)
    limit_error = report_truncation(scanner, sink=sink, use=use, mode=mode)
    if scanner.found:
        verdict = judge(scanner.found, use)
        if verdict is not None:
            report(sink, use, mode, *verdict)
    if limit_error is not None:
        raise limit_error


def judge(found: list[Finding], use: str) -> tuple[str, object, TagSet] | None:
    """The first offending path, its value, and the union of every denied tag; or None."""
    __tracebackhide__ = True  # keep argument values out of test reports
    decided: dict[TagSet, TagSet] = {}
    denied: set[Tag] = set()
    first: Finding | None = None
    cache = _decide.allowed_cache(use)
    for finding in found:
        bad = decided.get(finding.tags)
        if bad is None:
            if _decide.policy_allows(finding.tags, use, cache):
                bad = decided[finding.tags] = _EMPTY
            else:
                bad = decided[finding.tags] = _decide.denied_tags(finding.tags, use)
        if bad:
            denied |= bad
            if first is None:
                first = finding
    if first is None:
        return None
    return first.path, first.value, frozenset(denied)


def report(sink: str, use: str, mode: str, argument: str, value: object, tags: TagSet) -> None:
    """The ``purpose_violation`` event; `PurposeViolation` in enforce."""
    __tracebackhide__ = True  # keep argument values out of test reports
    enforce = mode == "enforce"
    desc = _events.describe(tags)
    _events.emit(
        "error" if enforce else "warning",
        "purpose_violation",
        sink=sink,
        use=use,
        mode=mode,
        action="raised" if enforce else "logged",
        argument=argument,
        purposes=desc["purposes"],
        categories=desc["categories"],
        sources=desc["sources"],
        fingerprint=_events.fingerprint(value),
    )
    del value  # not kept alive in this frame (traceback captures)
    if enforce:
        raise PurposeViolation(sink, use, tags, argument)


class ByReference(wrapt.FunctionWrapper):  # type: ignore[type-arg]
    """A function wrapper that copies and pickles as the function it stands for: by
    reference to its module and qualified name (``multiprocessing`` and
    ``ProcessPoolExecutor`` send functions this way), never by its contents."""

    def __reduce_ex__(self, protocol: Any) -> str:
        # pickle looks the name up in the wrapper's module (the function's) and checks
        # it finds this very object, as for a plain function: a local one still fails
        name: str = self.__qualname__
        return name

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: Any) -> Any:
        return self


class GuardedFunction(ByReference):
    """A guard around a function or method (see the module doc)."""

    def __init__(self, wrapped: Any, sink: Sink) -> None:
        super().__init__(wrapped, sink.wrapper)
        self._self_sink = sink

    @property
    def __purposetag_sink__(self) -> Sink:
        sink: Sink = self._self_sink
        return sink


# Python 3.13 stopped chaining descriptors in classmethod: ``@classmethod`` over a
# guard calls it with the class first instead of binding it through wrapt.
_CLASSMETHOD_UNCHAINED = sys.version_info >= (3, 13)


def _called_as_classmethod(guard: Any, first: Any) -> bool:
    """Is `first` the class a ``classmethod`` around `guard` was looked up on?

    Never raises and runs no user code (``type()``, not ``isinstance``, which would
    read a ``__class__`` property): a failure here must not skip the check.
    """
    try:
        if not issubclass(type(first), type):
            return False
        # any class of the MRO holding ``classmethod(guard)``, under any name: an
        # override calling ``super().m()`` binds the subclass, and one guard may be
        # installed under another name (``other = classmethod(guard)``)
        for klass in type.__dict__["__mro__"].__get__(first):
            for v in type.__dict__["__dict__"].__get__(klass).values():
                if type(v) is classmethod and v.__func__ is guard:
                    return True
    except Exception:
        return False
    return False


def _fast_class(fn: Any, sink: Sink) -> type[GuardedFunction]:
    """A `GuardedFunction` subclass whose ``__call__`` closes over `fn` and `sink`.

    Calls are the hot path (budget: 10x a bare call).  Reading an attribute of a
    wrapt proxy costs ~60 ns and wrapt's own call paths 400-1200 ns, so this
    ``__call__`` reads nothing from ``self``.  For a plain (sync, non-generator)
    function, ``instance.method`` binds to a `types.MethodType` over a closure that
    skips the instance; everything else (``Class.method(obj, ...)``, async and
    generator methods, classmethods, staticmethods) binds through wrapt.
    """
    own_mode = sink.mode
    use = sink.use
    name = sink.name
    check_call = sink.check_call
    cache = sink.allowed  # None when the use comes from a pt.processing() scope
    quick = _quick_allowed
    quick_use = use or ""  # read only when `cache` is set, i.e. the guard has a use
    env = _ENV_DATA
    env_key = _ENV_KEY
    scope_mode = SCOPE_MODE.get
    settings = _settings_mod
    atomic = ATOMIC

    def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # keep argument values out of test reports
        try:
            if env_key not in env:
                mode = scope_mode() or own_mode or settings._current.mode or "enforce"
            else:
                mode = effective_mode(own_mode)
            if mode != "off":
                seen = args
                if _CLASSMETHOD_UNCHAINED and args and _called_as_classmethod(self, args[0]):
                    seen = args[1:]  # the class is the binding, not an argument
                if kwargs or cache is None:
                    check_call(mode, seen, kwargs)
                else:
                    for a in seen:
                        if type(a) not in atomic:
                            if not quick(seen, quick_use, cache):
                                check_call(mode, seen, kwargs)
                            break
        except PurposeTagError:
            raise
        except Exception as exc:
            _events.internal_error(f"guard {name}", exc)
        if kwargs:
            return fn(*args, **kwargs)
        return fn(*args)

    # With the C accelerator, a call whose arguments are all plain, or plain and
    # tagged strings whose tag sets the cache already holds as allowed for `use` under
    # the policy in force (nothing to report whatever the mode), goes straight to
    # `fn`; the rest runs `__call__`.  A guard without its own use needs the scope
    # check, so it always runs it.
    checked = cache is not None
    namespace: dict[str, Any] = {
        "__call__": (
            fast(__call__, fast=fn, check_from=1, fast_from=1, allowed=cache)
            if checked
            else __call__
        )
    }
    if inspect.isfunction(fn) and not (
        inspect.iscoroutinefunction(fn)
        or inspect.isgeneratorfunction(fn)
        or inspect.isasyncgenfunction(fn)
    ):
        # The same check as __call__, written out again on purpose: one more
        # function call per guarded call is ~15 % of the guard's whole budget.
        @functools.wraps(fn)
        def bound_call(instance: Any, *args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True  # keep argument values out of test reports
            # the same check as __call__, never looking at `instance`
            try:
                if env_key not in env:
                    mode = scope_mode() or own_mode or settings._current.mode or "enforce"
                else:
                    mode = effective_mode(own_mode)
                if mode != "off":
                    if kwargs or cache is None:
                        check_call(mode, args, kwargs)
                    else:
                        for a in args:
                            if type(a) not in atomic:
                                if not quick(args, quick_use, cache):
                                    check_call(mode, args, kwargs)
                                break
            except PurposeTagError:
                raise
            except Exception as exc:
                _events.internal_error(f"guard {name}", exc)
            return fn(instance, *args, **kwargs)

        wrapt_get = GuardedFunction.__get__
        bound = fast(bound_call, fast=fn, check_from=1, allowed=cache) if checked else bound_call

        def __get__(self: Any, instance: Any, owner: Any = None) -> Any:
            if instance is None:
                return wrapt_get(self, instance, owner)
            return MethodType(bound, instance)

        namespace["__get__"] = __get__
    return type("GuardedFunction", (GuardedFunction,), namespace)


def _function_of(obj: Any) -> Any:
    """The function under a classmethod/staticmethod (for names and kinds)."""
    if isinstance(obj, classmethod | staticmethod):
        return obj.__func__
    return obj


def sink_name(obj: Any) -> str:
    fn = _function_of(obj)
    module = getattr(fn, "__module__", None) or "<unknown>"
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if qualname is None:
        qualname = type(fn).__qualname__
    return f"{module}.{qualname}"


def _wrap(obj: Any, sink: Sink) -> GuardedFunction:
    if isinstance(obj, classmethod | staticmethod):
        return GuardedFunction(obj, sink)
    if not callable(obj):
        raise PolicyError(
            f"@pt.guard(...) decorates a function or method, got a {type(obj).__name__}"
        )
    return _fast_class(obj, sink)(obj, sink)


@overload
def guard(use: F, *, mode: Mode | None = None) -> F: ...
@overload
def guard(use: str | None = None, *, mode: Mode | None = None) -> Callable[[F], F]: ...


def guard(use: Any = None, *, mode: Mode | None = None) -> Any:
    """``@pt.guard("marketing.advertising")``: the function uses its arguments for `use`.

    Every call scans all arguments deeply (the instance of a method excepted).  In
    ``enforce`` a disallowed value raises `PurposeViolation` and the body does not
    run; in ``monitor`` one ``purpose_violation`` event is logged and the call runs;
    in ``off`` nothing is scanned.  Without a use, the guard checks against the
    innermost ``pt.processing(...)`` scope.  A bad `use` or `mode` raises
    `PolicyError` here, when the decorator is applied.
    """
    if mode is not None:
        mode = validate_mode(mode, "@pt.guard(mode=...)")
    if use is not None and not isinstance(use, str):
        if callable(use) or isinstance(use, classmethod | staticmethod):  # bare @pt.guard
            return _wrap(use, Sink(sink_name(use), None, mode))
    checked = None if use is None else validate_purpose(use, " in @pt.guard(...)")

    def decorator(fn: F) -> F:
        return _wrap(fn, Sink(sink_name(fn), checked, mode))  # type: ignore[return-value]

    return decorator


def _caller_sink(depth: int = 2) -> str:
    try:
        frame = sys._getframe(depth)
    except ValueError:  # pragma: no cover
        return "<unknown>"
    module = frame.f_globals.get("__name__", "<unknown>")
    return f"{module}.{frame.f_code.co_qualname}"


def check(value: T, use: str | None = None, *, sink: str | None = None) -> T:
    """The guard's check, inline: returns `value` when allowed (or logged in monitor).

    In ``enforce`` a disallowed value raises `PurposeViolation`.  `sink` names the
    place in events (default: the calling function's ``module.qualname``).  Without
    a use, the innermost ``pt.processing(...)`` scope's use is checked.
    """
    __tracebackhide__ = True  # keep argument values out of test reports
    if use is not None:
        use = validate_purpose(use, " in pt.check(...)")
    if sink is not None and (not isinstance(sink, str) or not sink):
        raise PolicyError(f"pt.check(sink=...) takes a non-empty str, got {safe_repr(sink)}")
    if sink is not None and type(sink) is not str:
        if holds_tag(sink):  # a name that is data would be logged
            raise PolicyError("pt.check(sink=...) is a tagged value: name the sink plainly")
        sink = str.__str__(sink)
    try:
        mode = effective_mode()
        if mode == "off":
            return value
        name = sink or _caller_sink()
        if use is None:
            use = SCOPE_USE.get()
            if use is None:
                raise PolicyError(
                    f"{name}: pt.check(value) needs a use, or a pt.processing(...) scope"
                )
        if type(value) in ATOMIC:
            return value
        inspect_values(name, use, mode, [(value, "value")])
    except PurposeTagError:
        raise
    except Exception as exc:
        _events.internal_error("check", exc)
    return value


def source(
    *purposes: str, category: str | None = None, source: str | None = None
) -> Callable[[F], F]:
    """``@pt.source("security.authentication")``: tag what the function returns.

    Sync results directly, the awaited result of an async function, and each item
    of a generator or async generator.  Bad purposes raise `PolicyError` here.
    """
    if not purposes:
        raise PolicyError(
            "@pt.source(...) needs at least one purpose, e.g. "
            "@pt.source('security.authentication.two_factor')"
        )
    the_tag = Tag(purposes, category=category, source=source)

    def tag_it(value: Any) -> Any:
        return _carriers.with_tag(value, the_tag)

    def decorator(fn: F) -> F:
        inner = _function_of(fn)
        if not callable(inner):
            raise PolicyError(
                f"@pt.source(...) decorates a function or method, got a {type(fn).__name__}"
            )
        if inspect.isasyncgenfunction(inner):

            def agen_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
                return scoped_agen(wrapped(*args, **kwargs), nullcontext, tag_it)

            return ByReference(fn, agen_wrapper)  # type: ignore[return-value]
        if inspect.iscoroutinefunction(inner):

            async def awaited(coro: Any) -> Any:
                return tag_it(await coro)

            def async_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
                return awaited(wrapped(*args, **kwargs))

            return ByReference(fn, async_wrapper)  # type: ignore[return-value]
        if inspect.isgeneratorfunction(inner):

            def gen_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
                return scoped_gen(wrapped(*args, **kwargs), nullcontext, tag_it)

            return ByReference(fn, gen_wrapper)  # type: ignore[return-value]

        def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            return tag_it(wrapped(*args, **kwargs))

        return ByReference(fn, wrapper)  # type: ignore[return-value]

    return decorator


# --- guarding code you do not own -------------------------------------------------

_APPLIED: set[tuple[str, str, str, str | None]] = set()
_APPLIED_LOCK = threading.Lock()


def dotted_name(value: object, where: str, key: str) -> str:
    """`value` if it is a dotted Python name (``adsdk.audiences``, ``Audience.upload``)."""
    if (
        not isinstance(value, str)
        or not value
        or not all(part.isidentifier() for part in value.split("."))
    ):
        raise PolicyError(
            f"{where}: {key} = {safe_repr(value)} must be a dotted Python name "
            f"like {'adsdk.audiences' if key == 'module' else 'Audience.upload'}"
        )
    return str.__str__(value)  # a name: no tags on it


def guard_function(module: str, qualname: str, use: str, *, mode: Mode | None = None) -> None:
    """Guard ``module.qualname`` (a function or ``Class.method``) for `use`, without editing it.

    Applied at once if the module is imported, else when it is (wrapt post-import
    hook).  Guarding the same target for the same use and mode twice does nothing.
    A target that cannot be wrapped logs ``purpose_internal_error``; the host's
    import always goes on.
    """
    module = dotted_name(module, "pt.guard_function(...)", "module")
    qualname = dotted_name(qualname, "pt.guard_function(...)", "qualname")
    use = validate_purpose(use, f" in pt.guard_function({module!r}, {qualname!r})")
    if mode is not None:
        mode = validate_mode(mode, f"pt.guard_function({module!r}, {qualname!r}, mode=...)")
    key = (module, qualname, use, mode)
    with _APPLIED_LOCK:
        if key in _APPLIED:
            return
        _APPLIED.add(key)
    sink = Sink(f"{module}.{qualname}", use, mode)

    def apply(mod: Any) -> None:
        try:
            wrapt.wrap_object(mod, qualname, _wrap, (sink,))  # type: ignore[arg-type]
        except Exception as exc:
            with _APPLIED_LOCK:
                _APPLIED.discard(key)
            _events.emit(
                "error",
                "purpose_internal_error",
                where="guard_function",
                sink=sink.name,
                error_type=type(exc).__name__,
                error=str(exc),
            )

    wrapt.register_post_import_hook(apply, module)
