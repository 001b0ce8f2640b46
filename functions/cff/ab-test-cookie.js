// A/B test by cookie: viewers with ab=b get the /b/ variant of each page; others get /a/. The
// origin (or a viewer-response function) sets the cookie; with no cookie the choice is made from
// the viewer's IP, so one viewer always lands in the same group. viewer-request, 1.0 and 2.0.
function handler(event) {
    var request = event.request;
    var cookie = request.cookies.ab;
    var group = cookie ? cookie.value : undefined;
    if (group !== 'a' && group !== 'b') {
        var last = event.viewer.ip.split(/[.:]/).pop();
        group = parseInt(last || '0', 16) % 2 === 0 ? 'a' : 'b';
        request.cookies.ab = { value: group };
    }
    request.uri = '/' + group + request.uri;
    return request;
}
