// Pristine built-ins for every invocation (spec §1.5: each request runs in a fresh VM, so nothing
// a function does to Object, Array.prototype, JSON... survives to the next request). Evaluated
// before prelude.js, which takes __cf_pristine off the global object and drives it (__cf.guard).
//
// The reading taken (isolate.py's Isolate passes lint.py's finding to __cf.guard):
// - A function whose code could change a built-in (mutation.py) is "guarded": after each of its
//   invocations, batches included, restore() puts back the containers its code writes to, named
//   by the syntax ("Object.prototype", "JSON", "globalThis"), as snapshot() saw them before the
//   first request. That costs well under a microsecond for a few named containers. Where the syntax
//   cannot name the container (`x.constructor.prototype.y = ...`, `Object.getPrototypeOf(x).y`),
//   every container is snapshot and restored: the global object, each global's value, the
//   constructors' prototypes, their prototype chains, the iterator prototypes (tens of
//   microseconds). isolate.py calibrates what a restore of untouched built-ins costs and does not
//   bill it to the function.
// - Every function also pays intact(), tens of nanoseconds: identity checks of the most used
//   built-ins and for-in over empty objects. It catches what the syntax cannot see, aliasing
//   (`var O = Object; O.keys = ...`), for those built-ins: the answer then says "stale", and
//   isolate.py renews the isolate and restores every container after each invocation from then on.
//   Snapshotting every container for every function would cost each isolate ~70 KB and its load a
//   few milliseconds, for functions that almost never need it.
// - Not restored: what an alias changes in a built-in intact() does not look at (`var M = Math;
//   M.max = ...`), in a function whose code names no built-in container write. Not restorable in
//   place: a built-in frozen, sealed or made non-extensible, or a property of one made
//   non-configurable: restore() reports those ("stale"), and isolate.py renews the isolate.
(function (G) {
  "use strict";
  // Taken before anything else runs (prelude.js deletes Reflect; a user may replace any of them).
  var ownKeys = Reflect.ownKeys, gopd = Object.getOwnPropertyDescriptor, define = Reflect.defineProperty,
    remove = Reflect.deleteProperty, getProto = Object.getPrototypeOf, setProto = Reflect.setPrototypeOf,
    isExtensible = Object.isExtensible, SetC = Set, apply = Reflect.apply, slice = String.prototype.slice;
  var WRITABLE = 1, ENUMERABLE = 2, CONFIGURABLE = 4, ACCESSOR = 8;
  var records = null; // one per built-in container: {o, keys, vals, sets, flags, proto, ext}

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

  // intact(): the most used built-ins compared by identity with what they were just before the
  // first request, and for-in over empty objects, which finds a property added to Object.prototype,
  // Array.prototype or Function.prototype by assignment. Straight-line named loads, so V8 inlines
  // them: tens of nanoseconds in all. (String.prototype is a String object, over which for-in
  // takes microseconds: its methods are compared instead.)
  var O, A, S, N, J, M, D, R, OP, AP, SP, RP, pI, eU, dU, keys, assign, hop, ots, isArr, push, join, aIdx, map, each,
    filter, aSlice, some, aInc, split, sIdx, replace, lower, starts, ends, sSlice, substring, trim, sInc, match,
    stringify, parse, floor, random, now, test, exec;
  var EMPTY_O = {}, EMPTY_A = [], EMPTY_F = function () {};
  function arm() {
    O = G.Object; A = G.Array; S = G.String; N = G.Number; J = G.JSON; M = G.Math; D = G.Date; R = G.RegExp;
    OP = O.prototype; AP = A.prototype; SP = S.prototype; RP = R.prototype;
    pI = G.parseInt; eU = G.encodeURIComponent; dU = G.decodeURIComponent;
    keys = O.keys; assign = O.assign; hop = OP.hasOwnProperty; ots = OP.toString; isArr = A.isArray;
    push = AP.push; join = AP.join; aIdx = AP.indexOf; map = AP.map; each = AP.forEach; filter = AP.filter;
    aSlice = AP.slice; some = AP.some; aInc = AP.includes; split = SP.split; sIdx = SP.indexOf; replace = SP.replace;
    lower = SP.toLowerCase; starts = SP.startsWith; ends = SP.endsWith; sSlice = SP.slice; substring = SP.substring;
    trim = SP.trim; sInc = SP.includes; match = SP.match; stringify = J.stringify; parse = J.parse;
    floor = M.floor; random = M.random; now = D.now; test = RP.test; exec = RP.exec;
  }
  function intact() {
    var k;
    for (k in EMPTY_O) return false;
    for (k in EMPTY_A) return false;
    for (k in EMPTY_F) return false;
    return G.Object === O && G.Array === A && G.String === S && G.Number === N && G.JSON === J && G.Math === M &&
      G.Date === D && G.RegExp === R && G.parseInt === pI && G.encodeURIComponent === eU && G.decodeURIComponent === dU &&
      O.prototype === OP && A.prototype === AP && S.prototype === SP && R.prototype === RP &&
      O.keys === keys && O.assign === assign && OP.hasOwnProperty === hop && OP.toString === ots && A.isArray === isArr &&
      AP.push === push && AP.join === join && AP.indexOf === aIdx && AP.map === map && AP.forEach === each &&
      AP.filter === filter && AP.slice === aSlice && AP.some === some && AP.includes === aInc &&
      SP.split === split && SP.indexOf === sIdx && SP.replace === replace && SP.toLowerCase === lower &&
      SP.startsWith === starts && SP.endsWith === ends && SP.slice === sSlice && SP.substring === substring &&
      SP.trim === trim && SP.includes === sInc && SP.match === match && J.stringify === stringify && J.parse === parse &&
      M.floor === floor && M.random === random && D.now === now && RP.test === test && RP.exec === exec;
  }

  // The containers at `paths` from the global object ("Object.prototype", "globalThis"), or all
  // of them for "*"; Object.prototype first in any case (see containers()).
  function named(paths, extra) {
    var list = [Object.prototype], i, j, o, parts;
    for (i = 0; i < paths.length; i++) {
      if (paths[i] === "*") return containers(extra);
      parts = paths[i].split(".");
      o = G;
      for (j = parts[0] === "globalThis" ? 1 : 0; j < parts.length && o !== null && o !== undefined; j++) {
        o = typeof o === "object" || typeof o === "function" ? o[parts[j]] : undefined;
      }
      if ((typeof o === "object" && o !== null) || typeof o === "function") {
        for (j = 0; j < list.length && list[j] !== o; j++);
        if (j === list.length) list.push(o);
      }
    }
    return list;
  }

  G.__cf_pristine = {
    // Records the built-ins as they are now (after prelude.js, before the first request): the
    // containers at `paths` (lint.py's builtin_writes; none for most functions), and arms intact().
    // `extra`: containers not reachable from the global object (the prelude's own prototypes).
    snapshot: function snapshot(paths, extra) {
      var list = paths.length ? named(paths, extra) : [], i;
      records = new Array(list.length);
      for (i = 0; i < list.length; i++) records[i] = record(list[i]);
      arm();
      return list.length;
    },
    restore: restore,
    intact: intact,
    // `text` without its first character, whatever the function did to String.prototype.slice
    // (prelude.js adds to an answer after intact() found a built-in changed, and not restored).
    tail: function tail(text) { return apply(slice, text, [1]); },
  };
})(globalThis);
