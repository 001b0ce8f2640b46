// Pristine built-ins for every invocation (spec §1.5: each request runs in a fresh VM, so nothing
// a function does to Object, Array.prototype, JSON... survives to the next request). Evaluated
// before prelude.js, which takes __cf_pristine off the global object and drives it (__cf.guard).
//
// The reading taken (isolate.py's Isolate.start chooses the mode from lint.py's finding):
// - A function whose code could change a built-in (lint.py `mutates_builtins`) is "guarded":
//   after each of its invocations, batches included, restore() puts every built-in container
//   (the global object, each global's value, constructors' prototypes, their prototype chains and
//   the iterator prototypes) back as snapshot() saw it before the first request. It costs several
//   microseconds an invocation, which isolate.py calibrates and does not bill to the function.
// - Any other function pays only intact(): a few dozen identity comparisons of the most used
//   built-ins and for-in over empty objects (enumerable additions to Object.prototype,
//   Array.prototype, String.prototype, Function.prototype), well under a microsecond. It catches
//   what the lint cannot see, aliasing (`var O = Object; O.keys = ...`), for those built-ins: the
//   function is then restored and guarded from that invocation on.
// - Not restored: the own properties of individual built-in methods (`Array.prototype.map.x = 1`),
//   and what cannot be undone in place: a built-in frozen, sealed or made non-extensible, or a
//   property of one made non-configurable. restore() reports those, and isolate.py starts a new
//   isolate for the next invocation.
(function (G) {
  "use strict";
  // Taken before anything else runs (prelude.js deletes Reflect; a user may replace any of them).
  var ownKeys = Reflect.ownKeys, gopd = Object.getOwnPropertyDescriptor, define = Reflect.defineProperty,
    remove = Reflect.deleteProperty, getProto = Object.getPrototypeOf, setProto = Reflect.setPrototypeOf,
    isExtensible = Object.isExtensible, SetC = Set;
  var WRITABLE = 1, ENUMERABLE = 2, CONFIGURABLE = 4, ACCESSOR = 8;
  var records = null; // one per built-in container: {o, keys, vals, sets, flags, proto, ext}
  var marks = null; // intact(): [object, key, value] triples, flattened

  function sameValue(a, b) { return a === b || (a !== a && b !== b); }

  // Every built-in container reachable from the global object, Object.prototype first (restore()
  // relies on that: a descriptor read looks up "value", "get"... on Object.prototype).
  function containers(extra) {
    var list = [], seen = new SetC(), i, j, o, k, d, keys;
    function add(v) {
      if (v === null || (typeof v !== "object" && typeof v !== "function") || seen.has(v)) return;
      seen.add(v); list.push(v);
    }
    add(Object.prototype); add(G);
    for (i = 0; i < extra.length; i++) add(extra[i]);
    for (i = 0; i < list.length; i++) {
      o = list[i];
      add(getProto(o));
      if (o === G) {
        keys = ownKeys(G);
        for (j = 0; j < keys.length; j++) { d = gopd(G, keys[j]); if ("value" in d) add(d.value); }
      } else if (typeof o === "function") {
        d = gopd(o, "prototype");
        if (d !== undefined && "value" in d) add(d.value);
      }
    }
    return list;
  }

  function record(o) {
    var keys = ownKeys(o), n = keys.length, vals = new Array(n), sets = null, flags = new Array(n), i, d, f;
    for (i = 0; i < n; i++) {
      d = gopd(o, keys[i]);
      f = (d.enumerable ? ENUMERABLE : 0) | (d.configurable ? CONFIGURABLE : 0);
      if ("value" in d) { vals[i] = d.value; f |= d.writable ? WRITABLE : 0; }
      else { vals[i] = d.get; (sets || (sets = new Array(n)))[i] = d.set; f |= ACCESSOR; }
      flags[i] = f;
    }
    return { o: o, keys: keys, vals: vals, sets: sets, flags: flags, proto: getProto(o), ext: isExtensible(o) };
  }

  // The descriptor that puts property i of r back, with no prototype (a polluted
  // Object.prototype.get must not turn it into an accessor).
  function original(r, i) {
    var d = { __proto__: null }, f = r.flags[i];
    d.enumerable = (f & ENUMERABLE) !== 0; d.configurable = (f & CONFIGURABLE) !== 0;
    if (f & ACCESSOR) { d.get = r.vals[i]; d.set = r.sets[i]; }
    else { d.value = r.vals[i]; d.writable = (f & WRITABLE) !== 0; }
    return d;
  }

  function unchanged(c, r, i) {
    var f = r.flags[i];
    if (c === undefined || c.enumerable !== ((f & ENUMERABLE) !== 0) || c.configurable !== ((f & CONFIGURABLE) !== 0)) return false;
    if (f & ACCESSOR) return c.get === r.vals[i] && c.set === r.sets[i];
    return c.writable === ((f & WRITABLE) !== 0) && sameValue(c.value, r.vals[i]);
  }

  // Puts one container back; false when something could not be (see the top of this file).
  function restoreOne(r) {
    var o = r.o, keys = r.keys, n = keys.length, cur = ownKeys(o), ok = true, i, j, same = cur.length === n;
    for (i = 0; same && i < n; i++) same = cur[i] === keys[i];
    if (!same) {
      for (i = 0; i < cur.length; i++) {
        for (j = 0; j < n && keys[j] !== cur[i]; j++);
        if (j === n && !remove(o, cur[i])) ok = false; // added by the function
      }
    }
    for (i = 0; i < n; i++) {
      if (!unchanged(gopd(o, keys[i]), r, i) && !define(o, keys[i], original(r, i))) ok = false;
    }
    if (getProto(o) !== r.proto && !setProto(o, r.proto)) ok = false;
    if (r.ext && !isExtensible(o)) ok = false;
    return ok;
  }

  function restore() {
    var ok = true, i;
    for (i = 0; i < records.length; i++) if (!restoreOne(records[i])) ok = false;
    return ok;
  }

  // What intact() compares: values as they are now, just before the first request.
  function mark(list) {
    var i, o, k;
    marks = [];
    for (i = 0; i < list.length; i += 2) {
      o = list[i]; k = list[i + 1];
      marks.push(o, k, o[k]);
    }
  }
  var EMPTY_O = {}, EMPTY_A = [], EMPTY_S = new String(""), EMPTY_F = function () {};
  function intact() {
    var k, i, m = marks;
    for (k in EMPTY_O) return false;
    for (k in EMPTY_A) return false;
    for (k in EMPTY_S) return false;
    for (k in EMPTY_F) return false;
    for (i = 0; i < m.length; i += 3) if (m[i][m[i + 1]] !== m[i + 2]) return false;
    return true;
  }

  G.__cf_pristine = {
    // Records the built-ins as they are now (after prelude.js, before the first request).
    // `extra`: containers not reachable from the global object (the prelude's own prototypes).
    snapshot: function snapshot(extra) {
      var list = containers(extra), i;
      records = new Array(list.length);
      for (i = 0; i < list.length; i++) records[i] = record(list[i]);
      return list.length;
    },
    mark: mark,
    restore: restore,
    intact: intact,
  };
})(globalThis);
