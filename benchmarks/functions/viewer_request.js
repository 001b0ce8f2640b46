// Benchmark CloudFront Function, viewer-request: a typical small edit (add a header), then continue.
function handler(event) {
    var request = event.request;
    request.headers['x-bench-viewer-request'] = { value: '1' };
    return request;
}
