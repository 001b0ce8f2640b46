// Query-string normalisation for a better cache hit ratio: lowercase names, drop tracking
// parameters, sort, and write the query string back as a string.
// viewer-request, cloudfront-js-1.0 and 2.0.
var DROP = { utm_source: true, utm_medium: true, utm_campaign: true, fbclid: true, gclid: true };

function handler(event) {
    var request = event.request;
    var qs = request.querystring;
    var pairs = [];
    Object.keys(qs).forEach(function (name) {
        var key = name.toLowerCase();
        if (DROP[key]) {
            return;
        }
        var entry = qs[name];
        var values = entry.multiValue ? entry.multiValue : [entry];
        values.forEach(function (item) {
            pairs.push(item.value === '' ? key : key + '=' + item.value);
        });
    });
    pairs.sort();
    request.querystring = pairs.join('&');
    return request;
}
