// Send viewers to a country site with a 302. Needs CloudFront-Viewer-Country in the cache policy
// or origin request policy (CloudFront docs: "Add CloudFront request headers").
// viewer-request, cloudfront-js-1.0 and 2.0.
var SITES = { DE: '/de', FR: '/fr', JP: '/ja' };

function handler(event) {
    var request = event.request;
    var country = request.headers['cloudfront-viewer-country'];
    var prefix = country ? SITES[country.value] : undefined;
    if (prefix && request.uri.indexOf(prefix + '/') !== 0) {
        return {
            statusCode: 302,
            statusDescription: 'Found',
            headers: { location: { value: prefix + request.uri } }
        };
    }
    return request;
}
