// Benchmark Lambda@Edge origin-request (Node): add a header to the request and continue.
exports.handler = async (event) => {
    const request = event.Records[0].cf.request;
    request.headers['x-bench-origin-request'] = [{ key: 'X-Bench-Origin-Request', value: '1' }];
    return request;
};
