"""Whether a function's code could change a built-in, read from lint.py's syntax tree.

CloudFront starts every request in a fresh VM (spec §1.5), so what an invocation does to Object,
Array.prototype, JSON... is gone at the next. edgesim keeps one isolate per function, so such a
function's built-ins are restored after each invocation (pristine.js); that costs microseconds,
which only functions found here pay. The reading taken: flag generously (a false alarm only costs
the restore), from the syntax alone: a write whose target is reached from a built-in's name,
`globalThis`, a top-level `this`, `.constructor`, `.__proto__` or `getPrototypeOf()`. Where the
write's target is named (`Object.prototype.x = ...`, `delete JSON.parse`), only that container is
restored, in a fraction of a microsecond; otherwise (`x.constructor.prototype`, `Object[k]`,
`getPrototypeOf(x)`) all of them, which costs tens. An alias (`var O = Object; O.keys = ...`) is
out of a syntax check's reach; pristine.js's intact() covers the commonest built-ins for those.
"""

from __future__ import annotations

from tree_sitter import Node

# The globals a function starts with that are objects of the runtime: ECMAScript's and edgesim's
# (prelude.js). Map, Set, Reflect... are taken away (spec §1.5) but listed: a false alarm is cheap.
BUILTINS = frozenset((
    "Object", "Function", "Array", "String", "Number", "Boolean", "Symbol", "BigInt", "Math", "JSON", "Date",
    "RegExp", "Promise", "Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError",
    "AggregateError", "ArrayBuffer", "SharedArrayBuffer", "DataView", "Int8Array", "Uint8Array", "Uint8ClampedArray",
    "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array",
    "BigUint64Array", "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "Proxy", "Reflect", "Intl", "Atomics",
    "parseInt", "parseFloat", "isNaN", "isFinite", "encodeURI", "encodeURIComponent", "decodeURI",
    "decodeURIComponent", "escape", "unescape", "NaN", "Infinity", "undefined", "globalThis", "eval",
    "console", "require", "Buffer", "atob", "btoa", "TextEncoder", "TextDecoder",
))
# Calls that change their first argument's properties, prototype or extensibility.
_CHANGERS = frozenset((
    "Object.defineProperty", "Object.defineProperties", "Object.assign", "Object.setPrototypeOf", "Object.freeze",
    "Object.seal", "Object.preventExtensions", "Reflect.set", "Reflect.defineProperty", "Reflect.deleteProperty",
    "Reflect.setPrototypeOf", "Reflect.preventExtensions",
))
# Methods that change the object they are called on (Array.prototype is an array itself), and the
# legacy accessor definers.
_MUTATOR_METHODS = frozenset((
    "push", "pop", "shift", "unshift", "splice", "sort", "reverse", "fill", "copyWithin", "set",
    "__defineGetter__", "__defineSetter__",
))
_MEMBERS = ("member_expression", "subscript_expression")


ANY = "*"  # a built-in the syntax cannot name: every container is restored


def written_builtin(node: Node) -> str | None:
    """The built-in container `node` (any node of the tree, visited once each) could change, as a
    path from the global object ("Object.prototype", "JSON", "globalThis"), ANY when the syntax
    cannot tell which, or None when it changes none."""
    kind = node.type
    if kind in ("assignment_expression", "augmented_assignment_expression", "for_in_statement"):
        return _target(node.child_by_field_name("left"))
    if kind == "update_expression":
        return _target(node.child_by_field_name("argument"))
    if kind == "unary_expression":
        operator = node.child_by_field_name("operator")
        if operator is not None and operator.type == "delete":
            return _target(node.child_by_field_name("argument"))
        return None
    if kind == "call_expression":
        return _changing_call(node)
    return None


def _changing_call(node: Node) -> str | None:
    callee = _unwrap(node.child_by_field_name("function"))
    if callee is None or callee.type not in _MEMBERS:
        return None
    args = node.child_by_field_name("arguments")
    first = next((c for c in args.named_children), None) if args is not None else None
    if _text(callee) in _CHANGERS:
        return _container(first)
    if _property(callee) in _MUTATOR_METHODS:  # Array.prototype.push(1): Array.prototype is an array
        receiver = _unwrap(callee.child_by_field_name("object"))
        return _container(receiver) if receiver is not None and receiver.type in _MEMBERS else None
    return None


def _target(node: Node | None) -> str | None:
    """The container an assignment's, update's or delete's target is a property of, if a built-in."""
    node = _unwrap(node)
    if node is None:
        return None
    if node.type == "identifier":
        # `parseInt = ...` writes the global (a local var of that name is a false alarm)
        return "globalThis" if _text(node) in BUILTINS else None
    if node.type not in _MEMBERS:
        return None
    name = _property(node)
    obj = _unwrap(node.child_by_field_name("object"))
    if obj is not None and _is_global_object(obj) and name is not None:
        # `globalThis.cache = ...` adds a global of the function's own, which prelude.js's
        # resetGlobals removes; only a built-in global's name, or edgesim's own (__cf), counts.
        return "globalThis" if name in BUILTINS or name.startswith("__") else None
    # `x.__proto__ = p` changes only x's prototype: a built-in's when x is one (found below)
    return _container(obj)


def _container(node: Node | None) -> str | None:
    """The path of the built-in object `node` may evaluate to, ANY when it may be one the syntax
    cannot name, or None when it is none (the function's own object)."""
    node = _unwrap(node)
    if node is None:
        return None
    if node.type == "identifier":
        return _text(node) if _text(node) in BUILTINS else None
    if node.type == "this":
        return "globalThis" if _top_level(node) else None
    if node.type == "call_expression":
        callee = node.child_by_field_name("function")
        return ANY if callee is not None and _text(callee).endswith("getPrototypeOf") else None
    if node.type not in _MEMBERS:
        return None
    name: str | None = _property(node)
    if name in ("constructor", "__proto__"):
        return ANY  # x.constructor, x.__proto__: a built-in for most x
    obj = _unwrap(node.child_by_field_name("object"))
    if obj is not None and _is_global_object(obj):
        return (name if name in BUILTINS else None) if name is not None else ANY
    inner = _container(obj)
    if inner is None or inner == ANY:
        return inner
    return f"{inner}.{name}" if name is not None else ANY  # Object[k]: any property of Object


def _is_global_object(node: Node) -> bool:
    return (node.type == "identifier" and _text(node) == "globalThis") or (node.type == "this" and _top_level(node))


def _property(node: Node) -> str | None:
    """The property a member expression names; None when computed from something other than a string."""
    if node.type == "member_expression":
        prop = node.child_by_field_name("property")
        return _text(prop) if prop is not None else None
    index = node.child_by_field_name("index")
    if index is not None and index.type == "string":
        return _text(index)[1:-1]
    return None


def _unwrap(node: Node | None) -> Node | None:
    """(x) and (0, x) are x."""
    while node is not None and node.type in ("parenthesized_expression", "sequence_expression"):
        named = node.named_children
        node = named[-1] if named else None
    return node


def _text(node: Node) -> str:
    return node.text.decode("utf-8") if node.text is not None else ""


def _top_level(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in ("function_declaration", "function_expression", "function", "method_definition",
                           "generator_function_declaration", "generator_function"):
            return False  # an arrow function keeps the top level's `this`
        parent = parent.parent
    return True
