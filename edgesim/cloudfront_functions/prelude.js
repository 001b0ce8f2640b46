// What the CloudFront Functions runtime provides (spec §1.5, §1.7, §1.8), evaluated once per
// warm isolate before the user's code. __CF_RUNTIME ("1.0" | "2.0") is set just before this file.
// Everything here is written for V8; only the user's code is held to CloudFront's language subset.
(function (G) {
  "use strict";
  var RUNTIME = G.__CF_RUNTIME;
  var V2 = RUNTIME === "2.0";
  var OrigDate = G.Date, stringify = JSON.stringify, parse = JSON.parse;
  var LOG_CAP = 10 * 1024; // spec §1.5: logs are cut at 10 KB per invocation
  var st = null; // per-invocation state, reset by __cf.invoke
  // pristine.js's snapshot and restore of the built-ins, driven by __cf.guard and after().
  var pristine = G.__cf_pristine;
  delete G.__cf_pristine;
  var makeCwt = G.__cf_cwt; // cwt.js: cf.cwt, built with this file's Buffer and HMAC (2.0 only)
  delete G.__cf_cwt;

  // --- Date frozen at the invocation's start (spec §1.5) -------------------------------------
  function FrozenDate(a, b, c, d, e, f, g) {
    var n = arguments.length;
    if (!new.target) return new OrigDate(st ? st.now : OrigDate.now()).toString();
    if (n === 0) return new OrigDate(st ? st.now : OrigDate.now());
    if (n === 1) return new OrigDate(a);
    return new OrigDate(a, b, n > 2 ? c : 1, n > 3 ? d : 0, n > 4 ? e : 0, n > 5 ? f : 0, n > 6 ? g : 0);
  }
  FrozenDate.prototype = OrigDate.prototype;
  FrozenDate.now = function now() { return st ? st.now : OrigDate.now(); };
  FrozenDate.parse = OrigDate.parse;
  FrozenDate.UTC = OrigDate.UTC;
  Object.defineProperty(OrigDate.prototype, "constructor", { value: FrozenDate, writable: true, configurable: true });
  G.Date = FrozenDate;

  // --- RegExp flags (spec §1.5): g, i, m and y only ----------------------------------------------
  // lint.py refuses a literal's other flags (/u, /s, /d) as njs's parser does; njs's constructor
  // refuses them too, with the whole flags string (nginx/njs src/njs_regexp.c, njs_regexp_constructor:
  // 'SyntaxError: Invalid RegExp flags "su"'). Only the global binding is wrapped: the prototype and
  // its constructor stay V8's own, so literals and split/replace keep V8's fast paths.
  var OrigRegExp = G.RegExp, constructWith = Reflect.construct;
  var CfRegExp = function RegExp(pattern, flags) {
    if (flags !== undefined) {
      var f = String(flags), i;
      for (i = 0; i < f.length; i++)
        if ("gimy".indexOf(f[i]) < 0 || f.indexOf(f[i]) !== i) throw new SyntaxError('Invalid RegExp flags "' + f + '"');
    }
    // V8's own constructor as new.target, so the object gets V8's initial RegExp map (fast paths).
    return new.target ? constructWith(OrigRegExp, arguments) : OrigRegExp.apply(undefined, arguments);
  };
  CfRegExp.prototype = OrigRegExp.prototype;
  Object.setPrototypeOf(CfRegExp, OrigRegExp); // statics (RegExp.$1...) are V8's own
  Object.defineProperty(G, "RegExp", { value: CfRegExp, writable: true, configurable: true });

  // Math.random is seeded with the invocation's timestamp (spec §1.5), so a pinned clock
  // (test-function --now) repeats the same numbers. mulberry32: small, fast, well spread.
  var seed = 0;
  Math.random = function random() {
    seed = (seed + 0x6d2b79f5) | 0;
    var t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  // --- UTF-8 and base64 helpers shared by crypto, Buffer and the byte-string helpers ----------
  function utf8Encode(s) {
    s = String(s);
    var out = [], i, c, c2;
    for (i = 0; i < s.length; i++) {
      c = s.charCodeAt(i);
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
        c2 = s.charCodeAt(i + 1);
        if (c2 >= 0xdc00 && c2 < 0xe000) { c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00); i++; }
        else c = 0xfffd;
      } else if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(out);
  }
  // Returns null on invalid UTF-8 when strict, else replaces bad sequences with U+FFFD.
  function utf8Decode(b, start, end, strict) {
    var s = "", i = start || 0, e = end === undefined ? b.length : end, c, n, cp, k, parts = [];
    while (i < e) {
      c = b[i];
      if (c < 0x80) { cp = c; n = 0; }
      else if (c >= 0xc2 && c < 0xe0) { cp = c & 31; n = 1; }
      else if (c >= 0xe0 && c < 0xf0) { cp = c & 15; n = 2; }
      else if (c >= 0xf0 && c < 0xf5) { cp = c & 7; n = 3; }
      else { if (strict) return null; parts.push(0xfffd); i++; continue; }
      if (i + n >= e + (n ? 0 : 1) && n) { if (strict) return null; parts.push(0xfffd); break; }
      for (k = 1; k <= n; k++) {
        if ((b[i + k] & 0xc0) !== 0x80) break;
        cp = (cp << 6) | (b[i + k] & 63);
      }
      if (k <= n) { if (strict) return null; parts.push(0xfffd); i += k; continue; }
      parts.push(cp); i += n + 1;
      if (parts.length > 4096) { s += String.fromCodePoint.apply(null, parts); parts = []; }
    }
    return s + String.fromCodePoint.apply(null, parts);
  }
  var B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  var B64R = {};
  for (var bi = 0; bi < 64; bi++) B64R[B64[bi]] = bi;
  B64R["-"] = 62; B64R["_"] = 63;
  function b64Encode(b, url) {
    var out = "", i, n;
    for (i = 0; i + 2 < b.length; i += 3) {
      n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
      out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
    }
    if (b.length - i === 1) { n = b[i] << 16; out += B64[n >> 18] + B64[(n >> 12) & 63] + "=="; }
    else if (b.length - i === 2) { n = (b[i] << 16) | (b[i + 1] << 8); out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + "="; }
    if (url) out = out.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    return out;
  }
  // Lenient like Node: skips characters outside the alphabet, stops at "=".
  function b64Decode(s) {
    var out = [], acc = 0, bits = 0, i, v;
    s = String(s);
    for (i = 0; i < s.length; i++) {
      if (s[i] === "=") break;
      v = B64R[s[i]];
      if (v === undefined) continue;
      acc = (acc << 6) | v; bits += 6;
      if (bits >= 8) { bits -= 8; out.push((acc >> bits) & 255); }
    }
    return new Uint8Array(out);
  }
  function hexEncode(b) {
    var out = "", i;
    for (i = 0; i < b.length; i++) out += (b[i] < 16 ? "0" : "") + b[i].toString(16);
    return out;
  }
  function hexDecode(s) {
    var out = [], i, v;
    for (i = 0; i + 1 < s.length; i += 2) {
      v = parseInt(s.substr(i, 2), 16);
      if (isNaN(v)) break;
      out.push(v);
    }
    return new Uint8Array(out);
  }
  function latin1Encode(s) {
    var out = new Uint8Array(s.length), i;
    for (i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 255;
    return out;
  }
  function latin1Decode(b, start, end) {
    var s = "", i, e = end === undefined ? b.length : end;
    for (i = start || 0; i < e; i += 8192) s += String.fromCharCode.apply(null, b.subarray(i, Math.min(e, i + 8192)));
    return s;
  }
  // The encodings CloudFront's engine takes wherever an encoding is named (Buffer.from, toString,
  // byteLength, write, fill, hash.update...): JavaScript runtime 2.0 features, "Buffer" ("utf8, hex,
  // base64, base64url"); njs's table (nginx/njs src/njs_buffer.c, njs_buffer_encodings[]) is exactly
  // these five names, matched as written ("UTF8", "latin1", "binary", "ascii" are refused). V8 and
  // Node take more, so a function using Buffer.from(s, 'latin1') ran here and failed on CloudFront.
  var ENCODINGS = { utf8: 1, "utf-8": 1, hex: 1, base64: 1, base64url: 1 };
  // njs_buffer_encoding(): no encoding is UTF-8; one that is not a string, or not in the table, is a
  // TypeError in njs's words.
  function encodingName(enc) {
    if (enc === undefined) return "utf8";
    if (typeof enc !== "string") throw new TypeError("encoding must be a string");
    if (ENCODINGS[enc] !== 1) throw new TypeError('"' + enc + '" encoding is not supported');
    return enc;
  }
  function encodeString(s, enc) {
    enc = encodingName(enc);
    if (enc === "utf8" || enc === "utf-8") return utf8Encode(s);
    if (enc === "hex") return hexDecode(String(s));
    return b64Decode(s); // base64, base64url
  }
  function decodeBytes(b, enc, start, end) {
    enc = encodingName(enc);
    var v = (start || end !== undefined) ? b.subarray(start || 0, end === undefined ? b.length : end) : b;
    if (enc === "utf8" || enc === "utf-8") return utf8Decode(v, 0, v.length, false);
    if (enc === "hex") return hexEncode(v);
    return b64Encode(v, enc === "base64url");
  }
  // A byte string (1.0) holds one byte per char; anything typed becomes bytes; other strings UTF-8.
  function toBytes(data, enc) {
    if (data instanceof Uint8Array) return data;
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (typeof data !== "string") throw new TypeError("data must be a string, Buffer or typed array");
    return encodeString(data, enc);
  }

  // --- crypto: md5, sha1, sha256 and HMAC (spec §1.7) -----------------------------------------
  function rotl(x, n) { return (x << n) | (x >>> (32 - n)); }
  function padMessage(bytes, littleEndian) {
    var len = bytes.length, total = ((len + 9 + 63) >> 6) << 6, m = new Uint8Array(total), bitsLo = (len * 8) >>> 0, bitsHi = Math.floor(len / 0x20000000), i;
    m.set(bytes); m[len] = 0x80;
    for (i = 0; i < 4; i++) {
      if (littleEndian) { m[total - 8 + i] = (bitsLo >>> (8 * i)) & 255; m[total - 4 + i] = (bitsHi >>> (8 * i)) & 255; }
      else { m[total - 1 - i] = (bitsLo >>> (8 * i)) & 255; m[total - 5 - i] = (bitsHi >>> (8 * i)) & 255; }
    }
    return m;
  }
  function wordsOut(words, littleEndian) {
    var out = new Uint8Array(words.length * 4), i, j;
    for (i = 0; i < words.length; i++)
      for (j = 0; j < 4; j++) out[i * 4 + j] = littleEndian ? (words[i] >>> (8 * j)) & 255 : (words[i] >>> (24 - 8 * j)) & 255;
    return out;
  }
  var MD5_S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21], MD5_K = [];
  for (var mi = 0; mi < 64; mi++) MD5_K[mi] = Math.floor(Math.abs(Math.sin(mi + 1)) * 4294967296) | 0;
  function md5(bytes) {
    var m = padMessage(bytes, true), h = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476], X = new Int32Array(16), o, i, a, b, c, d, f, g, t;
    for (o = 0; o < m.length; o += 64) {
      for (i = 0; i < 16; i++) X[i] = m[o + i * 4] | (m[o + i * 4 + 1] << 8) | (m[o + i * 4 + 2] << 16) | (m[o + i * 4 + 3] << 24);
      a = h[0]; b = h[1]; c = h[2]; d = h[3];
      for (i = 0; i < 64; i++) {
        if (i < 16) { f = (b & c) | (~b & d); g = i; }
        else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) & 15; }
        else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) & 15; }
        else { f = c ^ (b | ~d); g = (7 * i) & 15; }
        t = d; d = c; c = b;
        b = (b + rotl((a + f + MD5_K[i] + X[g]) | 0, MD5_S[(i >> 4) * 4 + (i & 3)])) | 0;
        a = t;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
    }
    return wordsOut(h, true);
  }
  function sha1(bytes) {
    var m = padMessage(bytes, false), h = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0], W = new Int32Array(80), o, i, a, b, c, d, e, t;
    for (o = 0; o < m.length; o += 64) {
      for (i = 0; i < 16; i++) W[i] = (m[o + i * 4] << 24) | (m[o + i * 4 + 1] << 16) | (m[o + i * 4 + 2] << 8) | m[o + i * 4 + 3];
      for (i = 16; i < 80; i++) W[i] = rotl(W[i - 3] ^ W[i - 8] ^ W[i - 14] ^ W[i - 16], 1);
      a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4];
      for (i = 0; i < 80; i++) {
        if (i < 20) t = ((b & c) | (~b & d)) + 0x5a827999;
        else if (i < 40) t = (b ^ c ^ d) + 0x6ed9eba1;
        else if (i < 60) t = ((b & c) | (b & d) | (c & d)) + 0x8f1bbcdc;
        else t = (b ^ c ^ d) + 0xca62c1d6;
        t = (rotl(a, 5) + t + e + W[i]) | 0;
        e = d; d = c; c = rotl(b, 30); b = a; a = t;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0; h[4] = (h[4] + e) | 0;
    }
    return wordsOut(h, false);
  }
  var SHA256_K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  function sha256(bytes) {
    var m = padMessage(bytes, false), h = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]),
      W = new Int32Array(64), o, i, a, b, c, d, e, f, g, hh, t1, t2, s0, s1;
    for (o = 0; o < m.length; o += 64) {
      for (i = 0; i < 16; i++) W[i] = (m[o + i * 4] << 24) | (m[o + i * 4 + 1] << 16) | (m[o + i * 4 + 2] << 8) | m[o + i * 4 + 3];
      for (i = 16; i < 64; i++) {
        s0 = ((W[i - 15] >>> 7) | (W[i - 15] << 25)) ^ ((W[i - 15] >>> 18) | (W[i - 15] << 14)) ^ (W[i - 15] >>> 3);
        s1 = ((W[i - 2] >>> 17) | (W[i - 2] << 15)) ^ ((W[i - 2] >>> 19) | (W[i - 2] << 13)) ^ (W[i - 2] >>> 10);
        W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
      }
      a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
      for (i = 0; i < 64; i++) {
        s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        t1 = (hh + s1 + ((e & f) ^ (~e & g)) + SHA256_K[i] + W[i]) | 0;
        s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
    }
    return wordsOut(h, false);
  }
  var HASHES = { md5: md5, sha1: sha1, sha256: sha256 };
  function concatBytes(chunks) {
    var n = 0, i, out, o = 0;
    for (i = 0; i < chunks.length; i++) n += chunks[i].length;
    out = new Uint8Array(n);
    for (i = 0; i < chunks.length; i++) { out.set(chunks[i], o); o += chunks[i].length; }
    return out;
  }
  // The errors below are njs's (nginx/njs external/njs_crypto_module.c: njs_crypto_algorithm,
  // njs_crypto_encoding, njs_hash_prototype_update), TypeErrors all: what FunctionErrorMessage shows.
  function digestOut(bytes, enc) {
    if (enc === undefined) return V2 ? Buffer.from(bytes) : byteString(latin1Decode(bytes)); // spec §1.5: Buffer (2.0) / byte string (1.0)
    if (typeof enc !== "string") throw new TypeError("encoding must be a string");
    if (enc === "hex" || enc === "base64" || enc === "base64url") return decodeBytes(bytes, enc);
    throw new TypeError('Unknown digest encoding: "' + enc + '"');
  }
  function checkAlgorithm(alg) {
    if (typeof alg !== "string") throw new TypeError("algorithm must be a string");
    if (HASHES[alg] === undefined || !Object.prototype.hasOwnProperty.call(HASHES, alg)) throw new TypeError('not supported algorithm: "' + alg + '"');
  }
  function dataBytes(data, enc, what) {
    if (typeof data !== "string" && !ArrayBuffer.isView(data))
      throw new TypeError(what + ' argument "' + (data === null ? "null" : Array.isArray(data) ? "array" : typeof data) + '" is not a string or Buffer-like object');
    return byteInput(data, enc);
  }
  // njs tells byte strings (from digest(), bytesFrom(), toUTF8()...) from text strings and hashes
  // a byte string's bytes, text as UTF-8. V8 strings carry no such mark, so 1.0 remembers the byte
  // strings its helpers made during this invocation (as in an HMAC chain for request signing).
  var byteStrings = Object.create(null);
  function byteString(s) { if (st && /[\x80-\xff]/.test(s)) byteStrings[s] = true; return s; }
  function byteInput(data, enc) {
    if (typeof data === "string" && !V2 && !enc && byteStrings[data] === true) return latin1Encode(data);
    return toBytes(data, enc);
  }
  function Hash(alg) {
    checkAlgorithm(alg);
    this._alg = alg; this._chunks = []; this._done = false;
  }
  Hash.prototype.update = function (data, enc) {
    if (this._done) throw new Error("Digest already called");
    this._chunks.push(dataBytes(data, enc, "data")); return this;
  };
  Hash.prototype.digest = function (enc) {
    if (this._done) throw new Error("Digest already called");
    this._done = true;
    return digestOut(HASHES[this._alg](concatBytes(this._chunks)), enc);
  };
  Hash.prototype.copy = function () { var h = new Hash(this._alg); h._chunks = this._chunks.slice(); return h; };
  function Hmac(alg, key) {
    checkAlgorithm(alg);
    var k = dataBytes(key, undefined, "key"), ipad = new Uint8Array(64), opad = new Uint8Array(64), i;
    if (k.length > 64) k = HASHES[alg](k);
    for (i = 0; i < 64; i++) { ipad[i] = (k[i] || 0) ^ 0x36; opad[i] = (k[i] || 0) ^ 0x5c; }
    this._alg = alg; this._opad = opad; this._chunks = [ipad]; this._done = false;
  }
  Hmac.prototype.update = Hash.prototype.update;
  Hmac.prototype.digest = function (enc) {
    if (this._done) throw new Error("Digest already called");
    this._done = true;
    var f = HASHES[this._alg], inner = f(concatBytes(this._chunks));
    return digestOut(f(concatBytes([this._opad, inner])), enc);
  };
  var cryptoModule = Object.freeze({
    createHash: function createHash(alg) { return new Hash(alg); },
    createHmac: function createHmac(alg, key) { return new Hmac(alg, key); },
  });

  // --- querystring (spec §1.7) -----------------------------------------------------------------
  function qsUnescape(s) {
    s = String(s).replace(/\+/g, " ");
    try { return decodeURIComponent(s); } catch (e) {
      return s.replace(/(%[0-9a-fA-F]{2})+/g, function (m) { return utf8Decode(hexDecode(m.replace(/%/g, "")), 0, undefined, false); });
    }
  }
  function qsEscape(s) { return encodeURIComponent(String(s)); }
  function qsParse(str, sep, eq, options) {
    // As njs's parse (nginx/njs external/njs_query_string_module.c): the result has no prototype
    // (params.hasOwnProperty is undefined there, as in Node), and a decodeURIComponent option is
    // not called for an empty key or value.
    var out = Object.create(null), decode = (options && options.decodeURIComponent) || qsUnescape, max = 1000, parts, i, p, k, v, idx;
    var dec = function (t) { return t.length === 0 ? t : String(decode(t)); };
    if (options && typeof options.maxKeys === "number") max = options.maxKeys;
    if (typeof str !== "string" || str.length === 0) return out;
    sep = sep || "&"; eq = eq || "=";
    parts = str.split(sep);
    if (max > 0 && parts.length > max) parts = parts.slice(0, max);
    for (i = 0; i < parts.length; i++) {
      p = parts[i];
      if (p.length === 0) continue;
      idx = p.indexOf(eq);
      if (idx >= 0) { k = dec(p.slice(0, idx)); v = dec(p.slice(idx + eq.length)); } else { k = dec(p); v = ""; }
      if (!Object.prototype.hasOwnProperty.call(out, k)) out[k] = v;
      else if (Array.isArray(out[k])) out[k].push(v);
      else out[k] = [out[k], v];
    }
    return out;
  }
  function qsPrim(v) {
    if (typeof v === "string") return v;
    if (typeof v === "number" && isFinite(v)) return "" + v;
    if (typeof v === "boolean") return v ? "true" : "false";
    return "";
  }
  function qsStringify(obj, sep, eq, options) {
    var encode = (options && options.encodeURIComponent) || qsEscape, out = [], keys, i, j, k, v;
    sep = sep || "&"; eq = eq || "=";
    if (obj === null || typeof obj !== "object") return "";
    keys = Object.keys(obj);
    for (i = 0; i < keys.length; i++) {
      k = keys[i]; v = obj[k];
      if (Array.isArray(v)) for (j = 0; j < v.length; j++) out.push(encode(k) + eq + encode(qsPrim(v[j])));
      else out.push(encode(k) + eq + encode(qsPrim(v)));
    }
    return out.join(sep);
  }
  var querystringModule = Object.freeze({ parse: qsParse, decode: qsParse, stringify: qsStringify, encode: qsStringify, escape: qsEscape, unescape: qsUnescape });

  // --- errors in the words of CloudFront's engine (spec §1.10) --------------------------------
  // V8 and njs word the commonest run-time errors differently, and TestFunction's error message
  // and the function's logs carry njs's words: `TypeError: cannot get property "value" of
  // undefined` (seen in aws-samples/amazon-cloudfront-functions issue #19). String(e), `${e}`,
  // console.log(e) and FunctionErrorMessage use them; e.message keeps V8's own text.
  var NJS_WORDS = [
    ["TypeError", /^Cannot read properties of (undefined|null) \(reading '([^]*)'\)$/, 'cannot get property "$2" of $1'],
    ["TypeError", /^Cannot set properties of (undefined|null) \(setting '([^]*)'\)$/, 'cannot set property "$2" of $1'],
    ["ReferenceError", /^([\w$]+) is not defined$/, '"$1" is not defined'],
  ];
  function njsMessage(name, message) {
    var text = String(message), i, w;
    for (i = 0; i < NJS_WORDS.length; i++) {
      w = NJS_WORDS[i];
      if (name === w[0] && w[1].test(text)) return text.replace(w[1], w[2]);
    }
    return text;
  }
  Object.defineProperty(Error.prototype, "toString", { writable: true, configurable: true, value: function toString() {
    if (this === null || (typeof this !== "object" && typeof this !== "function")) throw new TypeError("Error.prototype.toString requires that 'this' be an Object");
    var name = this.name === undefined ? "Error" : String(this.name), msg = this.message === undefined ? "" : njsMessage(name, this.message);
    return name === "" ? msg : (msg === "" ? name : name + ": " + msg);
  } });

  // --- console.log (spec §1.5): 1.0 joins arguments; 2.0 does not support several arguments ----
  function show(v) {
    if (typeof v === "string") return v;
    if (v === undefined) return "undefined";
    if (typeof v === "function") return "[Function]";
    if (v instanceof Error) return String(v);
    try { var s = stringify(v); return s === undefined ? String(v) : s; } catch (e) { return String(v); }
  }
  function log() {
    if (!st) return;
    // Reading taken: 2.0 logs only the first argument (the docs say several are not supported).
    var line = V2 ? show(arguments[0]) : Array.prototype.map.call(arguments, show).join(" ");
    var size = utf8Encode(line).length;
    if (st.logBytes >= LOG_CAP) return;
    if (st.logBytes + size > LOG_CAP) {
      line = utf8Decode(utf8Encode(line).subarray(0, LOG_CAP - st.logBytes), 0, undefined, false);
      size = LOG_CAP - st.logBytes;
    }
    st.logBytes += size;
    st.logs.push(line);
  }
  // UNCERTAIN: the docs name console.log only; console is the embedder's object, and njs's own shell
  // gives log, info, warn and error one implementation (njs_shell.c, njs_ext_console_log's magic), so
  // the others are taken to log as console.log does rather than to throw "not a function".
  G.console = Object.freeze({ log: log, info: log, warn: log, error: log, debug: log });

  // --- 2.0 built-ins: Buffer, atob/btoa, TextEncoder/TextDecoder (spec §1.5) -----------------
  var Buffer = null;
  if (V2) {
    Buffer = (function () {
      // `new Buffer(...)` is a TypeError on CloudFront whatever it is given: njs's Buffer is not a
      // constructor (nginx/njs src/njs_buffer.c, njs_buffer_constructor: "Buffer is not a
      // constructor"), only Buffer.from / alloc make one. V8's Uint8Array made an empty buffer of
      // Node's deprecated `new Buffer(string)` without a word (a Basic auth check ported from
      // Lambda@Edge then compared against 'Basic ' and refused every viewer), and took `new
      // Buffer(10)`. hints.py says what to write instead, beside the engine's words. The prelude
      // makes its own through make(); the typed-array methods (map, filter...) through Species.
      var making = false;
      class Buffer extends Uint8Array {
        constructor(a, b, c) {
          if (!making) throw new TypeError("Buffer is not a constructor");
          making = false;
          super(a, b, c);
        }
        static get [Symbol.species]() { return Species; }
        static from(v, enc, len) {
          if (typeof v === "string") return Buffer._wrap(encodeString(v, enc));
          if (v instanceof ArrayBuffer) return make(v, enc || 0, len === undefined ? v.byteLength - (enc || 0) : len);
          if (ArrayBuffer.isView(v)) return Buffer._wrap(new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice());
          if (Array.isArray(v)) return Buffer._wrap(new Uint8Array(v));
          if (v && typeof v === "object" && v.type === "Buffer" && Array.isArray(v.data)) return Buffer._wrap(new Uint8Array(v.data));
          if (v && typeof v === "object" && typeof v.length === "number") return Buffer._wrap(new Uint8Array(Array.prototype.slice.call(v)));
          throw new TypeError("The first argument must be a string, Buffer, ArrayBuffer, Array, or array-like object");
        }
        static _wrap(u8) { return make(u8.buffer, u8.byteOffset, u8.byteLength); }
        static alloc(n, fill, enc) { var b = make(size(n)); if (fill !== undefined) b.fill(fill, 0, n, enc); return b; }
        static allocUnsafe(n) { return make(size(n)); }
        static byteLength(v, enc) { return typeof v === "string" ? encodeString(v, enc).length : v.byteLength; }
        static isBuffer(v) { return v instanceof Buffer; }
        static isEncoding(e) { return typeof e === "string" && ENCODINGS[e] === 1; }
        static concat(list, total) {
          var b = Buffer._wrap(concatBytes(list.map(function (x) { return toBytes(x); })));
          return total === undefined ? b : (total <= b.length ? b.subarray(0, total) : Buffer.concat([b, Buffer.alloc(total - b.length)]));
        }
        static compare(a, b) { return a.compare(b); }
        toString(enc, start, end) { return decodeBytes(this, enc, start, end); }
        toJSON() { return { type: "Buffer", data: Array.prototype.slice.call(this) }; }
        equals(o) { return this.compare(o) === 0; }
        compare(o) {
          var n = Math.min(this.length, o.length), i;
          for (i = 0; i < n; i++) if (this[i] !== o[i]) return this[i] < o[i] ? -1 : 1;
          return this.length === o.length ? 0 : (this.length < o.length ? -1 : 1);
        }
        copy(target, ts, ss, se) {
          ts = ts || 0; ss = ss || 0; se = se === undefined ? this.length : se;
          var part = this.subarray(ss, Math.min(se, ss + target.length - ts));
          target.set(part, ts); return part.length;
        }
        fill(v, s, e, enc) {
          if (typeof s === "string") { enc = s; s = 0; e = this.length; }
          s = s || 0; e = e === undefined ? this.length : e;
          if (typeof v === "number") return Uint8Array.prototype.fill.call(this, v & 255, s, e);
          var bytes = toBytes(v, enc), i;
          if (bytes.length === 0) return Uint8Array.prototype.fill.call(this, 0, s, e);
          for (i = s; i < e; i++) this[i] = bytes[(i - s) % bytes.length];
          return this;
        }
        indexOf(v, from, enc) {
          if (typeof v === "number") return Uint8Array.prototype.indexOf.call(this, v & 255, from);
          var n = toBytes(v, enc), i, j;
          for (i = from || 0; i <= this.length - n.length; i++) {
            for (j = 0; j < n.length && this[i + j] === n[j]; j++);
            if (j === n.length) return i;
          }
          return -1;
        }
        lastIndexOf(v, from, enc) {
          if (typeof v === "number") return Uint8Array.prototype.lastIndexOf.call(this, v & 255, from === undefined ? this.length - 1 : from);
          var n = toBytes(v, enc), i, j;
          for (i = Math.min(from === undefined ? this.length : from, this.length - n.length); i >= 0; i--) {
            for (j = 0; j < n.length && this[i + j] === n[j]; j++);
            if (j === n.length) return i;
          }
          return -1;
        }
        includes(v, from, enc) { return this.indexOf(v, from, enc) !== -1; }
        subarray(s, e) { var u = Uint8Array.prototype.subarray.call(this, s, e); return make(u.buffer, u.byteOffset, u.length); }
        slice(s, e) { return this.subarray(s, e); }
        write(str, off, len, enc) {
          if (typeof off === "string") { enc = off; off = 0; len = undefined; }
          else if (typeof len === "string") { enc = len; len = undefined; }
          off = off || 0;
          var b = encodeString(str, enc), n = Math.min(b.length, this.length - off, len === undefined ? Infinity : len);
          this.set(b.subarray(0, n), off); return n;
        }
        _dv() { return new DataView(this.buffer, this.byteOffset, this.byteLength); }
        readIntBE(o, n) { var v = this.readUIntBE(o, n); return v >= Math.pow(2, 8 * n - 1) ? v - Math.pow(2, 8 * n) : v; }
        readIntLE(o, n) { var v = this.readUIntLE(o, n); return v >= Math.pow(2, 8 * n - 1) ? v - Math.pow(2, 8 * n) : v; }
        readUIntBE(o, n) { var v = 0, i; for (i = 0; i < n; i++) v = v * 256 + this._at(o + i); return v; }
        readUIntLE(o, n) { var v = 0, i; for (i = n - 1; i >= 0; i--) v = v * 256 + this._at(o + i); return v; }
        writeUIntBE(v, o, n) { var i; for (i = n - 1; i >= 0; i--) { this[o + i] = v % 256; v = Math.floor(v / 256); } return o + n; }
        writeUIntLE(v, o, n) { var i; for (i = 0; i < n; i++) { this[o + i] = v % 256; v = Math.floor(v / 256); } return o + n; }
        writeIntBE(v, o, n) { return this.writeUIntBE(v < 0 ? v + Math.pow(2, 8 * n) : v, o, n); }
        writeIntLE(v, o, n) { return this.writeUIntLE(v < 0 ? v + Math.pow(2, 8 * n) : v, o, n); }
        _at(i) { if (i < 0 || i >= this.length) throw new RangeError("Index out of range"); return this[i]; }
        swap16() { for (var i = 0; i + 1 < this.length; i += 2) { var t = this[i]; this[i] = this[i + 1]; this[i + 1] = t; } return this; }
        swap32() { for (var i = 0; i + 3 < this.length; i += 4) this.subarray(i, i + 4).reverse(); return this; }
        swap64() { for (var i = 0; i + 7 < this.length; i += 8) this.subarray(i, i + 8).reverse(); return this; }
      }
      function make(a, b, c) {
        making = true;
        try { return new Buffer(a, b, c); } finally { making = false; }
      }
      // njs_buffer_alloc_safe's checks on Buffer.alloc(size) / allocUnsafe(size).
      function size(n) {
        if (typeof n !== "number") throw new TypeError('"size" argument must be of type number');
        if (n < 0 || n > 2147483647) throw new RangeError("invalid size");
        return n;
      }
      function Species(a, b, c) { return make(a, b, c); }
      var DV = [["Int8", 1], ["UInt8", 1, "Uint8"], ["Int16", 2], ["UInt16", 2, "Uint16"], ["Int32", 4], ["UInt32", 4, "Uint32"],
        ["Float", 4, "Float32"], ["Double", 8, "Float64"]];
      DV.forEach(function (d) {
        var name = d[0], size = d[1], dv = d[2] || name;
        var ends = size === 1 ? [""] : ["BE", "LE"];
        ends.forEach(function (end) {
          var little = end === "LE";
          Buffer.prototype["read" + name + end] = function (o) {
            o = o || 0; if (o + size > this.length) throw new RangeError("Index out of range");
            return this._dv()["get" + dv](o, little);
          };
          Buffer.prototype["write" + name + end] = function (v, o) {
            o = o || 0; if (o + size > this.length) throw new RangeError("Index out of range");
            this._dv()["set" + dv](o, v, little); return o + size;
          };
        });
      });
      ["readUint8", "readUint16BE", "readUint16LE", "readUint32BE", "readUint32LE", "writeUint8", "writeUint16BE", "writeUint16LE", "writeUint32BE", "writeUint32LE"]
        .forEach(function (a) { Buffer.prototype[a] = Buffer.prototype[a.replace("int", "Int")]; });
      return Buffer;
    })();
    G.Buffer = Buffer;
    // atob / btoa as njs has them (nginx/njs src/njs_string.c, njs_string_atob / njs_string_btoa):
    // atob drops spaces (only spaces), takes "=" padding only to make a multiple of 4, and refuses a
    // length of 4n+1 or any character outside the base64 alphabet ("-" and "_" included) with a
    // TypeError; btoa refuses a character above U+00FF. The lenient decoder this was before turned
    // a corrupt token into some bytes here where CloudFront's function threw.
    var ATOB_BAD = "the string to be decoded is not correctly encoded";
    G.atob = function atob(s) {
      s = String(s).replace(/ /g, "");
      var pad = 0;
      if (s.length % 4 === 0 && s.length > 0) pad = s.charAt(s.length - 1) === "=" ? (s.charAt(s.length - 2) === "=" ? 2 : 1) : 0;
      else if (s.length % 4 === 1) throw new TypeError(ATOB_BAD);
      if (/[^A-Za-z0-9+/]/.test(s.slice(0, s.length - pad))) throw new TypeError(ATOB_BAD);
      return latin1Decode(b64Decode(s));
    };
    G.btoa = function btoa(s) {
      s = String(s);
      if (/[^\x00-\xff]/.test(s)) throw new TypeError("invalid character (>= U+00FF)");
      return b64Encode(latin1Encode(s), false);
    };
    // TextEncoder / TextDecoder as njs has them (nginx/njs src/njs_encoding.c): labels "utf-8" and
    // "utf8" only, as written; decode() takes a typed array (not an ArrayBuffer or a DataView);
    // encodeInto() writes whole characters only and counts what it read in UTF-16 units.
    G.TextEncoder = function TextEncoder() { if (!new.target) throw new TypeError("Constructor of TextEncoder requires 'new'"); };
    G.TextEncoder.prototype.encoding = "utf-8";
    G.TextEncoder.prototype.encode = function (s) { return utf8Encode(s === undefined ? "" : String(s)); };
    G.TextEncoder.prototype.encodeInto = function (s, dest) {
      if (!(dest instanceof Uint8Array)) throw new TypeError('The "destination" argument must be an instance of Uint8Array');
      s = String(s);
      var read = 0, written = 0, i = 0, c, b;
      while (i < s.length) {
        c = s.codePointAt(i);
        b = utf8Encode(String.fromCodePoint(c >= 0xd800 && c < 0xe000 ? 0xfffd : c));
        if (written + b.length > dest.length) break;
        dest.set(b, written); written += b.length;
        read += c > 0xffff ? 2 : 1; i += c > 0xffff ? 2 : 1;
      }
      return { read: read, written: written };
    };
    G.TextDecoder = function TextDecoder(enc, opts) {
      if (!new.target) throw new TypeError("Constructor of TextDecoder requires 'new'");
      enc = enc === undefined ? "utf-8" : String(enc);
      if (enc !== "utf-8" && enc !== "utf8") throw new RangeError('The "' + enc + '" encoding is not supported');
      if (opts !== undefined && (opts === null || typeof opts !== "object")) throw new TypeError('The "options" argument must be of type object');
      this.encoding = "utf-8"; this.fatal = !!(opts && opts.fatal); this.ignoreBOM = !!(opts && opts.ignoreBOM);
    };
    G.TextDecoder.prototype.decode = function (b) {
      if (b !== undefined && !(ArrayBuffer.isView(b) && !(b instanceof DataView)))
        throw new TypeError('The "input" argument must be an instance of TypedArray');
      var u = b === undefined ? new Uint8Array(0) : toBytes(b), s;
      if (!this.ignoreBOM && u[0] === 0xef && u[1] === 0xbb && u[2] === 0xbf) u = u.subarray(3);
      s = utf8Decode(u, 0, u.length, this.fatal);
      if (s === null) throw new TypeError("The encoded data was not valid");
      return s;
    };
  } else {
    // --- 1.0's byte-string helpers (spec §1.5); njs has bytesFrom static, docs say prototype: both.
    var bytesFrom = function bytesFrom(v, enc) {
      if (typeof v === "string") {
        if (enc === "hex" || enc === "base64" || enc === "base64url") return byteString(latin1Decode(encodeString(v, enc)));
        throw new TypeError("Unknown encoding: " + enc);
      }
      return byteString(latin1Decode(new Uint8Array(Array.prototype.map.call(v, function (x) { return x & 255; }))));
    };
    var def = function (name, fn) { Object.defineProperty(String.prototype, name, { value: fn, writable: true, configurable: true }); };
    String.bytesFrom = bytesFrom;
    def("bytesFrom", function (enc) { return bytesFrom(String(this), enc); });
    def("fromBytes", function (s, e) { return byteString(latin1Decode(latin1Encode(String(this).slice(s, e)))); });
    def("fromUTF8", function (s, e) {
      var str = String(this).slice(s, e);
      if (/[^\x00-\xff]/.test(str)) return null;
      return utf8Decode(latin1Encode(str), 0, undefined, true);
    });
    def("toBytes", function (s, e) { var str = String(this).slice(s, e); return /[^\x00-\xff]/.test(str) ? null : byteString(str); });
    def("toUTF8", function (s, e) { return byteString(latin1Decode(utf8Encode(String(this).slice(s, e)))); });
    // njs's toString(encoding) encodes a byte string or an ASCII one, so the basic-auth functions
    // that build `(user + ':' + pass).toString('base64')` work on 1.0; text with other characters
    // throws. 2.0's engine dropped it with the five helpers above and ignores the argument, as V8 does.
    var stringValue = String.prototype.valueOf;
    def("toString", function toString(enc) {
      var str = stringValue.call(this);
      if (enc === undefined) return str;
      if (enc !== "hex" && enc !== "base64" && enc !== "base64url") throw new TypeError('Unknown encoding: "' + String(enc) + '"');
      if (/[^\x00-\x7f]/.test(str) && byteStrings[str] !== true) throw new TypeError("argument must be a byte string");
      return decodeBytes(latin1Encode(str), enc);
    });
  }

  // --- the cloudfront module, 2.0 only (spec §1.7, §1.8) --------------------------------------
  var kvsData = null, kvsMeta = null;
  function kvsHandle() {
    function need(key) {
      if (typeof key !== "string" || key.length === 0) throw new TypeError("key must be a non-empty string");
    }
    return Object.freeze({
      get: function get(key, opts) {
        try {
          need(key);
          if (!Object.prototype.hasOwnProperty.call(kvsData, key)) throw new Error("Key " + key + " not found"); // spec §1.8: missing key rejects
          var v = kvsData[key], fmt = (opts && opts.format) || "string";
          if (fmt === "string") return Promise.resolve(v);
          if (fmt === "json") return Promise.resolve(parse(v));
          if (fmt === "bytes") return Promise.resolve(Buffer.from(v, "utf8"));
          throw new Error('Unknown format "' + fmt + '"; use "string", "json" or "bytes"');
        } catch (e) { return Promise.reject(e); }
      },
      exists: function exists(key) {
        try { need(key); return Promise.resolve(Object.prototype.hasOwnProperty.call(kvsData, key)); } catch (e) { return Promise.reject(e); }
      },
      meta: function meta() { return Promise.resolve(Object.assign({}, kvsMeta)); },
    });
  }
  function originChange(kind, args) {
    if (!st) throw new Error("origin helpers only work during an invocation");
    if (st.eventType !== "viewer-request") throw new Error(kind + " can only be called in a viewer-request function");
    st.origin = { kind: kind, args: args };
  }
  var cloudfrontModule = V2 ? Object.freeze({
    kvs: function kvs(id) {
      if (kvsData === null) throw new Error("No KeyValueStore is associated with this function");
      return kvsHandle();
    },
    updateRequestOrigin: function updateRequestOrigin(params) { originChange("updateRequestOrigin", [params]); },
    selectRequestOriginById: function selectRequestOriginById(id, params) { originChange("selectRequestOriginById", [id, params === undefined ? null : params]); },
    createRequestOriginGroup: function createRequestOriginGroup(params) { originChange("createRequestOriginGroup", [params]); },
    get edgeLocation() { return st && st.eventType === "viewer-request" ? Object.assign({}, st.edge) : {}; },
    logCustomData: function logCustomData(s) {
      if (st) st.logData = String(s);
    },
    cwt: makeCwt(Buffer, cryptoModule.createHmac, utf8Encode, utf8Decode),
  }) : null;

  var modules = { crypto: cryptoModule, querystring: querystringModule };
  if (V2) modules.cloudfront = cloudfrontModule;
  G.require = function require(name) {
    if (Object.prototype.hasOwnProperty.call(modules, name)) return modules[name];
    throw new Error('Cannot find module "' + name + '"');
  };

  // --- what CloudFront takes away (spec §1.5) -------------------------------------------------
  // eval and new Function throw. V8 already refuses them when edgesim set
  // --disallow-code-generation-from-strings; these stand-ins cover an engine started without it.
  function noCodegen() { throw new EvalError("Code generation from strings disallowed for this context"); }
  var OrigFunction = Function;
  noCodegen.prototype = OrigFunction.prototype;
  [OrigFunction.prototype, Object.getPrototypeOf(async function () {}), Object.getPrototypeOf(function* () {})].forEach(function (p) {
    Object.defineProperty(p, "constructor", { value: noCodegen, writable: false, configurable: false });
  });
  G.Function = noCodegen;
  G.eval = noCodegen;
  var gone = ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "setImmediate", "__timer_manager", "queueMicrotask",
    "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry", "Proxy", "Reflect", "Intl", "WebAssembly",
    "SharedArrayBuffer", "Atomics", "Iterator", "AsyncDisposableStack", "DisposableStack", "SuppressedError", "fetch", "process",
    "Temporal", "Float16Array"];
  // BigInt is in neither runtime's feature list (spec §1.5; njs has no BigInt, and lint.py refuses
  // a 5n literal), nor are its two typed arrays in the nine the lists name.
  gone.push("BigInt", "BigInt64Array", "BigUint64Array");
  if (!V2) gone.push("Buffer", "atob", "btoa", "TextEncoder", "TextDecoder");
  // Error objects both runtimes' pages list and V8 lacks: InternalError (both runtimes) and
  // MemoryError (1.0 only: JavaScript runtime 2.0 features' list drops it). Error subclasses,
  // callable with or without `new` as Error is; `e instanceof InternalError` works as on CloudFront.
  var construct = Reflect.construct;
  (V2 ? ["InternalError"] : ["InternalError", "MemoryError"]).forEach(function (name) {
    var E = function (message) { return construct(Error, arguments, new.target || E); };
    E.prototype = Object.create(Error.prototype, {
      constructor: { value: E, writable: true, configurable: true },
      name: { value: name, writable: true, configurable: true },
      message: { value: "", writable: true, configurable: true },
    });
    Object.setPrototypeOf(E, Error);
    Object.defineProperty(E, "name", { value: name, configurable: true });
    Object.defineProperty(G, name, { value: E, writable: true, configurable: true });
  });
  // mini-racer declares its timers with `var`, which cannot be deleted: those become undefined.
  gone.forEach(function (n) { try { delete G[n]; } catch (e) { G[n] = undefined; } });
  delete Array.from; // absent from both allow-lists (spec §1.5)
  ["toSorted", "toReversed", "toSpliced", "with", "at", "flat", "flatMap", "findLast", "findLastIndex"].forEach(function (n) { delete Array.prototype[n]; });
  ["at", "isWellFormed", "toWellFormed"].forEach(function (n) { delete String.prototype[n]; });
  // String methods in neither runtime's String list (1.0's list is njs's String.prototype table as
  // it was, nginx/njs src/njs_string.c: no normalize, localeCompare, matchAll, toLocale*Case,
  // trimLeft/Right, HTML methods, String.raw; njs has no Intl or ICU to give them). UNCERTAIN for
  // 2.0, whose list adds replaceAll only: taken as absent there too.
  ["normalize", "localeCompare", "matchAll", "toLocaleLowerCase", "toLocaleUpperCase", "trimLeft", "trimRight",
    "anchor", "big", "blink", "bold", "fixed", "fontcolor", "fontsize", "italics", "link", "small", "strike", "sub",
    "sup"].forEach(function (n) { delete String.prototype[n]; });
  delete String.raw;
  // The same ES2022+ methods on typed arrays: neither runtime's typed-array list has them.
  ["at", "findLast", "findLastIndex", "toSorted", "toReversed", "with"].forEach(function (n) {
    delete Object.getPrototypeOf(Uint8Array).prototype[n];
  });
  // ES2024 and later, newer than either runtime's engine: absent from both allow-lists, so a
  // function using them fails on CloudFront and must fail here.
  [[Object, "groupBy"], [Promise, "withResolvers"], [Promise, "try"], [Array, "fromAsync"], [OrigRegExp, "escape"], [Error, "isError"],
    [Math, "f16round"], [Uint8Array, "fromBase64"], [Uint8Array, "fromHex"], [Uint8Array.prototype, "toBase64"],
    [Uint8Array.prototype, "toHex"], [Uint8Array.prototype, "setFromBase64"], [Uint8Array.prototype, "setFromHex"],
    [DataView.prototype, "getFloat16"], [DataView.prototype, "setFloat16"], [ArrayBuffer.prototype, "transfer"],
    [ArrayBuffer.prototype, "transferToFixedLength"], [ArrayBuffer.prototype, "resize"]].forEach(function (p) { delete p[0][p[1]]; });
  if (!V2) {
    delete String.prototype.replaceAll;
    ["all", "allSettled", "any", "race"].forEach(function (n) { delete Promise[n]; });
    // 2.0 added these; 1.0's typed arrays have copyWithin, fill, join, set, slice, subarray, toString.
    delete Object.getOwnPropertyDescriptors; delete Symbol.for; delete Symbol.keyFor; delete G.DataView;
    var TypedArray = Object.getPrototypeOf(Uint8Array);
    delete TypedArray.from; delete TypedArray.of;
    ["every", "filter", "find", "findIndex", "forEach", "includes", "indexOf", "lastIndexOf", "map", "reduce", "reduceRight",
      "reverse", "some", "sort"].forEach(function (n) { delete TypedArray.prototype[n]; });
  }

  // --- the invocation --------------------------------------------------------------------------
  // Globals a function adds (globalThis.cache = ...) are gone at the next invocation, as in njs's
  // per-request VM. The first invocation records the runtime's own enumerable globals.
  var baseGlobals = null, baseCount = 0;
  function resetGlobals() {
    var keys = Object.keys(G), i;
    if (baseGlobals === null) {
      baseGlobals = Object.create(null);
      for (i = 0; i < keys.length; i++) baseGlobals[keys[i]] = true;
      baseCount = keys.length;
      return;
    }
    if (keys.length === baseCount) return;
    for (i = 0; i < keys.length; i++) {
      if (baseGlobals[keys[i]] !== true) { try { delete G[keys[i]]; } catch (e) { G[keys[i]] = undefined; } }
    }
  }
  var PENDING = "pending", RETRY = "retry";
  var ERR_LINE = /\(?([^\s()]+):(\d+):(\d+)\)?/;
  function errorLine(e, file) {
    var stack = e && typeof e === "object" && typeof e.stack === "string" ? e.stack.split("\n") : [], i, m;
    for (i = 0; i < stack.length; i++) {
      m = ERR_LINE.exec(stack[i]);
      if (m && m[1] === file) return +m[2];
    }
    return null;
  }
  function describe(e) {
    if (e instanceof Error || (e && typeof e === "object" && typeof e.name === "string" && "message" in e)) return e.name + ": " + njsMessage(e.name, e.message);
    return "Error: " + show(e);
  }
  function result(extra) {
    extra.logs = st.logs;
    extra.origin = st.origin;
    extra.logData = st.logData;
    return extra;
  }
  function fail(e) { return stringify(result({ ok: false, error: describe(e), line: errorLine(e, st.file) })); }
  function finish(out) {
    var s, changes = st.pristine ? changeSet(out, st.pristine) : null;
    if (changes !== null) {
      try { return stringify(result({ ok: true, changes: changes })); } catch (e) { /* the whole output below says why */ }
    }
    try { s = stringify(result({ ok: true, output: out === undefined ? null : out })); }
    catch (e) { return stringify(result({ ok: false, invalid: true, error: "the returned object cannot be serialised: " + describe(e) })); }
    return s;
  }
  // --- the answer as a change set (issue 6) -------------------------------------------------
  // Most handlers return the event's request (response) with a few headers added, changed or
  // removed. Then the answer says only that (changes: {headers: {name: entry}, removed: [name]})
  // and output.py takes the rest from the event it built, instead of reading, normalising and
  // comparing all of it again. `pristine` is a copy of the event's request (response) made
  // before the handler ran (copyOf), as the handler received it. The change set is given only when it says exactly
  // what the whole output would: anything else (another shape, a part other than the headers
  // changed, headers reordered, a toJSON that stringify would call) answers the whole output.
  // Captured now: the function may change the built-ins (pristine.js puts them back after it).
  var keysOf = Object.keys, isArray = Array.isArray, defineProperty = Object.defineProperty, OP = Object.prototype;
  var hasOwn = Function.prototype.call.bind(OP.hasOwnProperty);
  var JSON_PROTOS = [OP, Array.prototype, String.prototype, Number.prototype, Boolean.prototype];
  // Whether `a` stringifies as the JSON value `b` does (b from JSON.parse). false is always safe:
  // that entry (or the whole output) is then sent as stringify writes it.
  function same(a, b) {
    if (a === b) return true;
    if (typeof a !== "object" || a === null || typeof b !== "object" || b === null || typeof a.toJSON === "function") return false;
    var i, k, ka, kb;
    if (isArray(b)) {
      if (!isArray(a) || a.length !== b.length) return false;
      for (i = 0; i < b.length; i++) if (!same(a[i], b[i])) return false;
      return true;
    }
    if (isArray(a)) return false;
    ka = keysOf(a); kb = keysOf(b);
    if (ka.length !== kb.length) return false;
    for (i = 0; i < kb.length; i++) {
      k = kb[i];
      if (!hasOwn(a, k) || !same(a[k], b[k])) return false;
    }
    return true;
  }
  // An own property `k` of `o`, also when `k` is "__proto__" (which `o[k] = v` would take for
  // the prototype). Plain objects, not Object.create(null)'s: V8 reads those several times slower.
  function put(o, k, v) {
    if (k === "__proto__") defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
    else o[k] = v;
  }
  // A copy of a JSON value (the event as parsed).
  function copyOf(v) {
    var i, keys, out;
    if (v === null || typeof v !== "object") return v;
    if (isArray(v)) {
      out = [];
      for (i = 0; i < v.length; i++) out[i] = copyOf(v[i]);
      return out;
    }
    out = {};
    keys = keysOf(v);
    for (i = 0; i < keys.length; i++) put(out, keys[i], copyOf(v[keys[i]]));
    return out;
  }
  function changeSet(out, pristine) {
    try {
      var i, j = 0, k, parts, names, h = out && out.headers, ph = pristine.headers, changed = {}, removed = [];
      var added = false;
      if (out === null || typeof out !== "object" || isArray(out) || typeof out.toJSON === "function") return null;
      if (h === null || typeof h !== "object" || isArray(h) || typeof h.toJSON === "function") return null;
      for (i = 0; i < JSON_PROTOS.length; i++) if (JSON_PROTOS[i].toJSON !== undefined) return null;
      parts = keysOf(pristine);
      if (keysOf(out).length !== parts.length) return null;
      for (i = 0; i < parts.length; i++) {
        k = parts[i];
        if (!hasOwn(out, k)) return null;
        if (k !== "headers" && !same(out[k], pristine[k])) return null;
      }
      // The event's names keep their order and come before any added one: the order the output
      // would have after output.py's merge (a name deleted and set again moves to the end: whole).
      names = keysOf(ph);
      parts = keysOf(h);
      for (i = 0; i < parts.length; i++) {
        k = parts[i];
        if (hasOwn(ph, k)) {
          if (added) return null;
          while (j < names.length && names[j] !== k) j++; // kept names: a subsequence of the event's
          if (j++ === names.length) return null;
          if (!same(h[k], ph[k])) put(changed, k, h[k]);
        } else {
          added = true;
          put(changed, k, h[k]);
        }
      }
      // Not removed.push: the function may have changed Array.prototype (pristine.js restores it after).
      for (i = 0; i < names.length; i++) if (!hasOwn(h, names[i])) removed[removed.length] = names[i];
      return { headers: changed, removed: removed };
    } catch (e) {
      return null; // a getter threw: the whole output's stringify says so in its own words
    }
  }
  // event: the event object; now: epoch ms; edge: cf.edgeLocation; rawQuery: the query string
  // as sent, or null; file: for error lines.
  // changes: isolate.py asks for a change set (the event is edgesim's own, see changeSet).
  function run(event, now, eventType, edge, rawQuery, file, changes) {
    resetGlobals();
    byteStrings = Object.create(null);
    seed = (now % 4294967296) | 0;
    st = { now: now, logs: [], logBytes: 0, origin: null, logData: null, eventType: eventType, edge: edge, file: file,
      pristine: changes ? copyOf(event[eventType === "viewer-request" ? "request" : "response"]) : null };
    var handler, out;
    if (V2 && event.request && typeof event.request === "object") {
      var raw = rawQuery;
      Object.defineProperty(event.request, "rawQueryString", { value: function rawQueryString() { return raw === null ? undefined : raw; }, enumerable: false });
    }
    try {
      // A fresh top level per invocation: njs runs each request in a cloned VM, so nothing a
      // function keeps in its own globals survives to the next request.
      handler = G.__cf_factory();
      if (typeof handler !== "function") throw new ReferenceError("handler is not defined");
      out = handler(event);
    } catch (e) { return fail(e); }
    if (out !== null && typeof out === "object" && typeof out.then === "function") {
      // An async handler (2.0). With no timers and a KeyValueStore that answers at once, its
      // promise settles in a microtask checkpoint, or never. The checkpoint runs here, inside this
      // script, so a runaway loop in a promise continuation is stopped by the time limit like any
      // other (V8 cannot interrupt the automatic checkpoint after a script; v8.py enables the
      // natives syntax for this one call). __cf.settled() then reads the outcome.
      var mine = st;
      Promise.resolve(out).then(function (v) { mine.settled = finish(v); }, function (e) { mine.settled = fail(e); });
      %PerformMicrotaskCheckpoint();
      return mine.settled !== undefined ? mine.settled : PENDING;
    }
    return finish(out);
  }
  // Pristine built-ins per invocation (pristine.js says which reading was taken). guarded: the
  // lint found code that could change a built-in, so each invocation ends with a restore of what
  // it names. Every invocation ends with the cheap intact() check; a function it catches is
  // "stale": isolate.py renews the isolate and guards every container from then on (everything).
  // dirty: an invocation started and its after() has not run yet (V8 stopped it, or its promise
  // is pending).
  var watching = false, guarded = false, everything = false, dirty = false, stale = false;
  function after() {
    var restored = guarded;
    dirty = false;
    try {
      if (guarded && !pristine.restore()) stale = true;
      if (!everything && !pristine.intact()) stale = true;
    } catch (e) { stale = true; } // a getter the function defined threw: renew rather than guess
    return restored;
  }
  // One invocation, then its after(). The answer notes the restore ("guard", which isolate.py
  // does not bill: it calibrates its cost) and "stale". The answer is made before the restore, as
  // CloudFront reads the function's output from the VM the function left behind.
  function invoke(event, now, eventType, edge, rawQuery, file, changes) {
    if (!watching) return run(event, now, eventType, edge, rawQuery, file, changes);
    if (dirty) after();
    dirty = true;
    var r = run(event, now, eventType, edge, rawQuery, file, changes);
    return r === PENDING ? r : settle(r);
  }
  function settle(r) {
    if (!after() && !stale) return r;
    return "{" + (guarded ? '"guard":1,' : "") + (stale ? '"stale":1,' : "") + pristine.tail(r);
  }

  // isolate.py calls __cf.call with the request's arguments as JSON text for `this` (v8.py run):
  // a call of the same function every time, which V8 neither compiles nor looks up per request.
  G.__cf = Object.freeze({
    invoke: invoke,
    // a[6]: isolate.py asks for a change set (see run).
    call: function call() {
      var a = parse(this);
      return invoke(a[0], a[1], a[2], a[3], a[4], a[5], a[6] === 1);
    },
    // isolate.py's batches: `this` is a JSON array of call()'s argument arrays, run one after
    // another as separate invocations; the answer is the JSON array of their answers.
    batch: function batch() {
      var all = parse(this), out = new Array(all.length), i, a, r;
      for (i = 0; i < all.length; i++) {
        a = all[i];
        r = invoke(a[0], a[1], a[2], a[3], a[4], a[5], a[6] === 1);
        out[i] = r === PENDING ? '"' + PENDING + '"' : r;
        // A built-in this one changed is still changed: the rest run again in a new isolate.
        if (stale) { for (i++; i < all.length; i++) out[i] = '"' + RETRY + '"'; }
      }
      // Joined without Array.prototype.join, which the function may have changed (pristine.js).
      for (r = "[" + out[0], i = 1; i < out.length; i++) r += "," + out[i];
      return r + "]";
    },
    settled: function settled() {
      if (!st || st.settled === undefined) return PENDING;
      return watching && dirty ? settle(st.settled) : st.settled;
    },
    // Once, before the first request (isolate.py): snapshot the built-in containers at `paths`
    // (lint.py's builtin_writes; "*" for all) as the runtime made them, and arm intact().
    guard: function guard(paths) {
      if (watching) return 0;
      var iterProto = Object.getPrototypeOf([][Symbol.iterator]());
      var n = pristine.snapshot(paths, [Hash.prototype, Hmac.prototype, iterProto, Object.getPrototypeOf(iterProto),
        Object.getPrototypeOf(""[Symbol.iterator]()), Object.getPrototypeOf(/a/g[Symbol.matchAll]("a")),
        Object.getPrototypeOf(async function () {})]);
      watching = true; guarded = paths.length > 0; everything = paths.indexOf("*") !== -1;
      return n;
    },
    // After V8 stopped an invocation, or its promise never settled (isolate.py, not billed):
    // "stale" when a built-in could not be put back.
    restore: function restore() {
      if (watching && dirty) after();
      return stale ? "stale" : "ok";
    },
    // isolate.py's calibration: the bare cost of ten restores of untouched built-ins.
    restoreCost: function restoreCost() { for (var i = 0; i < 10; i++) pristine.restore(); return 0; },
    logs: function logs() { return stringify(st ? st.logs : []); },
    // Let V8 optimise the byte-crunching built-ins before the first request, so compute
    // utilization reflects the function, not V8's interpreter warming up (njs runs these natively).
    warm: function warm(rounds) {
      var text = "warm-up text \u00e9\u4e16 ".repeat(8), bytes = utf8Encode(text), algs = Object.keys(HASHES), i, alg;
      for (i = 0; i < rounds; i++) {
        alg = algs[i % algs.length];
        new Hmac(alg, text).update(text).digest("hex");
        new Hash(alg).update(bytes).digest("base64url");
        utf8Decode(b64Decode(b64Encode(bytes, i % 2 === 0)), 0, undefined, false);
        hexDecode(hexEncode(bytes));
      }
    },
    kvsLoad: function kvsLoad(json, meta) { kvsData = parse(json); kvsMeta = parse(meta); },
  });
  G.__CF_RUNTIME = undefined;
})(globalThis);
