// Lambda@Edge origin-response: add the security headers every site should send.
// Node.js twin of security_headers.py (CommonJS, async style).
'use strict';

const HEADERS = {
  'strict-transport-security': 'max-age=63072000; includeSubDomains; preload',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
};

const keyOf = (name) => name.split('-').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('-');

exports.handler = async (event) => {
  const response = event.Records[0].cf.response;
  for (const [name, value] of Object.entries(HEADERS)) {
    response.headers[name] = [{ key: keyOf(name), value }];
  }
  return response;
};
