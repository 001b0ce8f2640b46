// HTTP Basic authentication in front of the whole distribution. Change the credentials before use:
// the expected header is "Basic " + base64("user:password"). viewer-request, cloudfront-js-1.0 and 2.0.
var EXPECTED = 'Basic ' + 'ZWRnZXNpbTpzZWNyZXQ='; // edgesim:secret

function handler(event) {
    var authorization = event.request.headers.authorization;
    if (!authorization || authorization.value !== EXPECTED) {
        return {
            statusCode: 401,
            statusDescription: 'Unauthorized',
            headers: { 'www-authenticate': { value: 'Basic realm="edgesim"' } }
        };
    }
    return event.request;
}
