// Security headers on every response (HSTS, CSP, frame and content-type protections).
// viewer-response, cloudfront-js-1.0 and 2.0.
function handler(event) {
    var response = event.response;
    var headers = response.headers;
    headers['strict-transport-security'] = { value: 'max-age=63072000; includeSubDomains; preload' };
    headers['content-security-policy'] = { value: "default-src 'self'; img-src 'self' data:; object-src 'none'" };
    headers['x-content-type-options'] = { value: 'nosniff' };
    headers['x-frame-options'] = { value: 'DENY' };
    headers['referrer-policy'] = { value: 'strict-origin-when-cross-origin' };
    return response;
}
