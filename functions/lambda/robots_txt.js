// Lambda@Edge viewer-request: answer /robots.txt at the edge, without a trip to the origin.
// Node.js twin of robots_txt.py, in the callback style.
'use strict';

const ROBOTS = 'User-agent: *\nDisallow: /private/\n';

exports.handler = (event, context, callback) => {
  const request = event.Records[0].cf.request;
  if (request.uri !== '/robots.txt') {
    callback(null, request);
    return;
  }
  callback(null, {
    status: 200,
    statusDescription: 'OK',
    headers: { 'content-type': [{ key: 'Content-Type', value: 'text/plain; charset=utf-8' }] },
    body: ROBOTS,
  });
};
