// Lambda@Edge origin-request: send /api/ requests to another origin, switching S3 to custom.
// Node.js twin of switch_origin.py (CommonJS, async style). Set API_DOMAIN to your API's host.
'use strict';

const API_DOMAIN = 'localhost';
const API_PORT = 8080;

exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  if (!request.uri.startsWith('/api/')) return request;
  request.origin = {
    custom: {
      domainName: API_DOMAIN,
      port: API_PORT,
      protocol: 'http',
      path: '',
      sslProtocols: ['TLSv1.2'],
      readTimeout: 30,
      keepaliveTimeout: 5,
      customHeaders: {},
    },
  };
  request.headers.host = [{ key: 'Host', value: API_DOMAIN }];
  return request;
};
