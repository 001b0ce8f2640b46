// Single-page app: every path without a file extension is served /index.html, so client-side
// routes (/users/42) load the app. viewer-request, cloudfront-js-1.0 and 2.0.
function handler(event) {
    var request = event.request;
    var last = request.uri.split('/').pop();
    if (last.indexOf('.') === -1) {
        request.uri = '/index.html';
    }
    return request;
}
