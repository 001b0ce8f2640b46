// Index rewrite: /docs/ and /docs become /docs/index.html, as S3 website hosting would do.
// viewer-request, cloudfront-js-1.0 and 2.0.
function handler(event) {
    var request = event.request;
    var uri = request.uri;
    if (uri.endsWith('/')) {
        request.uri += 'index.html';
    } else if (!uri.includes('.')) {
        request.uri += '/index.html';
    }
    return request;
}
