// Benchmark CloudFront Function, viewer-response: add a header to the response.
function handler(event) {
    var response = event.response;
    response.headers['x-bench-viewer-response'] = { value: '1' };
    return response;
}
