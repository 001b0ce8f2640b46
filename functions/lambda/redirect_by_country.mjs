// Lambda@Edge origin-request: send viewers to their country's site, mobile viewers to m/.
// Node.js twin of redirect_by_country.py, written as an ES module.
// Needs a policy forwarding CloudFront-Viewer-Country and CloudFront-Is-Mobile-Viewer.

const COUNTRY_PATHS = { DE: '/de', FR: '/fr', GB: '/uk', JP: '/jp' };

const first = (headers, name) => (headers[name] ? headers[name][0].value : '');

export const handler = async (event) => {
  const request = event.Records[0].cf.request;
  let prefix = COUNTRY_PATHS[first(request.headers, 'cloudfront-viewer-country')] || '';
  if (first(request.headers, 'cloudfront-is-mobile-viewer') === 'true') prefix += '/m';
  if (!prefix || request.uri.startsWith(prefix + '/')) return request;
  const location = prefix + request.uri + (request.querystring ? '?' + request.querystring : '');
  return {
    status: '302',
    statusDescription: 'Found',
    headers: {
      location: [{ key: 'Location', value: location }],
      'cache-control': [{ key: 'Cache-Control', value: 'max-age=3600' }],
    },
  };
};
