// Redirects driven by a KeyValueStore: key = path, value = target URL. Edit the store and the
// next request sees the change (CloudFront docs: "Amazon CloudFront KeyValueStore").
// viewer-request, cloudfront-js-2.0.
import cf from 'cloudfront';

const kvs = cf.kvs();

async function handler(event) {
    const request = event.request;
    let target;
    try {
        target = await kvs.get(request.uri);
    } catch (err) {
        return request; // no redirect for this path
    }
    return {
        statusCode: 301,
        statusDescription: 'Moved Permanently',
        headers: { location: { value: target } }
    };
}
