// cf.cwt, runtime 2.0's CBOR Web Tokens (spec §1.5; DG/cwt-support-cloudfront-functions): a COSE
// MAC0 structure (tag 17, optionally inside the CWT tag 61) MACed with HMAC-SHA256, at most 1 KB.
// Evaluated before prelude.js, which builds the module with its own Buffer, HMAC and UTF-8
// helpers (G.__cf_cwt, deleted there, as pristine.js's G.__cf_pristine is).
(function (G) {
  "use strict";
  G.__cf_cwt = function makeCwt(Buffer, createHmac, utf8Encode, utf8Decode) {
    var MAX_TOKEN_BYTES = 1024; // "a limit of 1KB for the maximum token size"; UNCERTAIN: 1024, not 1000
    var TAG_CWT = 61, TAG_MAC0 = 17, MAX_DEPTH = 32;
    // The page gives no error texts: these are ours (UNCERTAIN), all plain Errors but for argument types.
    function bad(why) { throw new Error("Invalid CWT token: " + why); }
    function isBytes(v) { return v instanceof Uint8Array; }
    function needKey(key) {
      if (typeof key !== "string" && !isBytes(key)) throw new TypeError("key must be a string or a Buffer");
      return key;
    }

    // --- CBOR decoding (RFC 8949): definite lengths only, which is what COSE encoders write ------
    function reader(b) {
      var pos = 0, dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      function take(n) { if (n > b.length - pos) bad("truncated CBOR"); var at = pos; pos += n; return at; }
      function arg(info) {
        if (info < 24) return info;
        if (info === 24) return b[take(1)];
        if (info === 25) return dv.getUint16(take(2));
        if (info === 26) return dv.getUint32(take(4));
        if (info === 27) {
          var hi = dv.getUint32(take(8)), lo = dv.getUint32(pos - 4);
          if (hi > 0x1fffff) bad("integer beyond 2^53");
          return hi * 4294967296 + lo;
        }
        return bad(info === 31 ? "indefinite-length CBOR is not supported" : "malformed CBOR");
      }
      function half(h) {
        var e = (h >> 10) & 31, m = h & 1023, v = e === 0 ? m * Math.pow(2, -24) : e === 31 ? (m ? NaN : Infinity) : (m + 1024) * Math.pow(2, e - 25);
        return h & 0x8000 ? -v : v;
      }
      function item(depth) {
        if (depth > MAX_DEPTH) bad("nested too deeply");
        var ib = b[take(1)], major = ib >> 5, info = ib & 31, n, out, i, k;
        if (major === 7) {
          if (info === 20) return false;
          if (info === 21) return true;
          if (info === 22) return null;
          if (info === 23) return undefined;
          if (info === 25) return half(dv.getUint16(take(2)));
          if (info === 26) return dv.getFloat32(take(4));
          if (info === 27) return dv.getFloat64(take(8));
          return bad("malformed CBOR");
        }
        n = arg(info);
        if (major === 0) return n;
        if (major === 1) return -1 - n;
        if (major === 2) { i = take(n); return Buffer.from(b.subarray(i, i + n)); }
        if (major === 3) {
          i = take(n); out = utf8Decode(b, i, i + n, true);
          return out === null ? bad("text is not UTF-8") : out;
        }
        if (major === 4) { out = []; for (i = 0; i < n; i++) out.push(item(depth + 1)); return out; }
        if (major === 5) {
          // "Once decoded, all claim keys are represented as strings": JavaScript's own object keys.
          out = {};
          for (i = 0; i < n; i++) {
            k = item(depth + 1);
            if (typeof k !== "number" && typeof k !== "string") bad("map key is neither an integer nor text");
            out[String(k)] = item(depth + 1);
          }
          return out;
        }
        return item(depth + 1); // a tag (major 6) inside the token: its value
      }
      return {
        tag: function () { if (pos < b.length && b[pos] >> 5 === 6) return arg(b[take(1)] & 31); return -1; },
        item: function () { return item(0); },
        end: function () { if (pos !== b.length) bad("bytes after the token"); },
      };
    }
    function decodeMap(bytes) {
      if (bytes.length === 0) return {}; // RFC 8152 §3: an empty protected header is a zero-length bstr
      var r = reader(bytes), v = r.item();
      r.end();
      if (v === null || typeof v !== "object" || Array.isArray(v) || isBytes(v)) bad("a header or payload is not a CBOR map");
      return v;
    }

    // --- CBOR encoding ------------------------------------------------------------------------------
    function head(out, major, n) {
      var m = major << 5;
      if (n < 24) out.push(m | n);
      else if (n < 256) out.push(m | 24, n);
      else if (n < 65536) out.push(m | 25, n >> 8, n & 255);
      else if (n < 4294967296) { out.push(m | 26); word(out, n); }
      else { out.push(m | 27); word(out, Math.floor(n / 4294967296)); word(out, n % 4294967296); }
    }
    function word(out, n) { out.push(n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255); }
    function run(out, major, b) { head(out, major, b.length); for (var i = 0; i < b.length; i++) out.push(b[i]); }
    function bytes(out, b) { run(out, 2, b); }
    function encode(out, v, depth) {
      if (depth > MAX_DEPTH) throw new RangeError("CWT value nested too deeply");
      var i, keys, f;
      if (v === null) out.push(0xf6);
      else if (v === undefined) out.push(0xf7);
      else if (typeof v === "boolean") out.push(v ? 0xf5 : 0xf4);
      else if (typeof v === "number") {
        if (Number.isSafeInteger(v)) { if (v >= 0) head(out, 0, v); else head(out, 1, -1 - v); }
        else { f = new DataView(new ArrayBuffer(8)); f.setFloat64(0, v); out.push(0xfb); for (i = 0; i < 8; i++) out.push(f.getUint8(i)); }
      } else if (typeof v === "string") run(out, 3, utf8Encode(v));
      else if (isBytes(v)) bytes(out, v);
      else if (Array.isArray(v)) { head(out, 4, v.length); for (i = 0; i < v.length; i++) encode(out, v[i], depth + 1); }
      else if (typeof v === "object") {
        keys = Object.keys(v);
        head(out, 5, keys.length);
        for (i = 0; i < keys.length; i++) {
          // Claim and header labels are integers in CWT/COSE; JavaScript keeps them as strings.
          if (/^-?(0|[1-9][0-9]*)$/.test(keys[i]) && Number.isSafeInteger(+keys[i])) encode(out, +keys[i], depth + 1);
          else encode(out, keys[i], depth + 1);
          encode(out, v[keys[i]], depth + 1);
        }
      } else throw new TypeError("cannot encode a " + typeof v + " in a CWT");
    }
    function cbor(v) { var out = []; encode(out, v, 0); return new Uint8Array(out); }

    // --- COSE MAC0 (RFC 8152 §6.3) -------------------------------------------------------------------
    // Algorithm 5 is HMAC 256/256 (HS256); 4, HMAC 256/64, is the page's example token (an 8-byte
    // tag). UNCERTAIN: the page's generateToken example writes the algorithm as the string "5", and
    // says nothing of a token without one: both are read as HS256 here.
    function tagLength(protectedHeaders) {
      var alg = protectedHeaders["1"];
      if (alg === undefined || alg === 5 || alg === "5") return 32;
      if (alg === 4 || alg === "4") return 8;
      throw new Error("Unsupported CWT algorithm " + String(alg) + ": only HS256 (HMAC-SHA256) is supported");
    }
    function mac(key, protectedBytes, payloadBytes, length) {
      var toMac = [0x84]; // ["MAC0", protected, external_aad (empty), payload]
      encode(toMac, "MAC0", 0); bytes(toMac, protectedBytes); bytes(toMac, []); bytes(toMac, payloadBytes);
      return createHmac("sha256", key).update(new Uint8Array(toMac)).digest().subarray(0, length);
    }

    function validateToken(token, handlerContext) {
      if (!(token instanceof Buffer)) throw new TypeError("token must be a Buffer");
      if (!handlerContext || typeof handlerContext !== "object") throw new TypeError("handlerContext must be an object with a key");
      var key = needKey(handlerContext.key);
      if (token.length > MAX_TOKEN_BYTES) throw new Error("CWT token exceeds the maximum size of " + MAX_TOKEN_BYTES + " bytes");
      var r = reader(token), tag = r.tag();
      if (tag === TAG_CWT) tag = r.tag();
      if (tag !== TAG_MAC0) bad("not a COSE_Mac0 structure (tag 17)");
      var parts = r.item();
      r.end();
      if (!Array.isArray(parts) || parts.length !== 4) bad("COSE_Mac0 is not an array of 4 items");
      var p = parts[0], unprotectedHeaders = parts[1], payload = parts[2], sent = parts[3];
      if (!isBytes(p) || !isBytes(payload) || !isBytes(sent)) bad("protected headers, payload and tag must be byte strings");
      if (unprotectedHeaders === null || typeof unprotectedHeaders !== "object" || Array.isArray(unprotectedHeaders) || isBytes(unprotectedHeaders)) {
        bad("unprotected headers are not a map");
      }
      var protectedHeaders = decodeMap(p), expected = mac(key, p, payload, tagLength(protectedHeaders)), diff = sent.length ^ expected.length, i;
      for (i = 0; i < expected.length; i++) diff |= expected[i] ^ (sent[i] | 0);
      if (diff !== 0) throw new Error("CWT token signature verification failed"); // UNCERTAIN text
      // The page: "this function does no validation on the claim set" (exp, nbf... are the caller's).
      return { protectedHeaders: protectedHeaders, unprotectedHeaders: unprotectedHeaders, payload: decodeMap(payload) };
    }

    // The page's signature is generateToken(generatorContext, payload), but both its examples pass
    // (payload, generatorContext), one of them with `protected` / `unprotected` and the other with
    // what validateToken returned: UNCERTAIN, the context is told by its coseTag / key, and both
    // spellings of the headers are taken.
    function generateToken(a, b) {
      var ctx = b, cwt = a;
      if (a && typeof a === "object" && ("coseTag" in a || "key" in a) && !("payload" in a)) { ctx = a; cwt = b; }
      if (!ctx || typeof ctx !== "object") throw new TypeError("generatorContext must be an object");
      if (ctx.coseTag !== "MAC0") throw new Error("Unsupported coseTag " + String(ctx.coseTag) + ": only MAC0 is supported");
      var key = needKey(ctx.key);
      if (!cwt || typeof cwt !== "object" || !cwt.payload || typeof cwt.payload !== "object") throw new TypeError("payload must be a CWTObject with a payload");
      var ph = cwt.protectedHeaders || cwt.protected || {}, uh = cwt.unprotectedHeaders || cwt.unprotected || {};
      var p = Object.keys(ph).length === 0 ? new Uint8Array(0) : cbor(ph), payload = cbor(cwt.payload), out = [];
      if (ctx.cwtTag === true) head(out, 6, TAG_CWT);
      head(out, 6, TAG_MAC0); out.push(0x84);
      bytes(out, p); encode(out, uh, 0); bytes(out, payload); bytes(out, mac(key, p, payload, tagLength(ph)));
      if (out.length > MAX_TOKEN_BYTES) throw new Error("CWT token exceeds the maximum size of " + MAX_TOKEN_BYTES + " bytes");
      return Buffer.from(out);
    }

    return Object.freeze({ validateToken: validateToken, generateToken: generateToken });
  };
})(globalThis);
