// Benchmark Lambda@Edge origin-response (Node): add a header to the response.
exports.handler = async (event) => {
    const response = event.Records[0].cf.response;
    response.headers['x-bench-origin-response'] = [{ key: 'X-Bench-Origin-Response', value: '1' }];
    return response;
};
