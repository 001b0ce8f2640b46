// Lambda@Edge viewer-request with include_body: refuse scripts in form posts, trim the rest.
// Node.js twin of inspect_body.py (CommonJS, async style).
'use strict';

exports.handler = async (event) => {
  const request = event.Records[0].cf.request;
  const body = request.body;
  if (!body || !body.data) return request;
  if (body.inputTruncated) return { status: '413', statusDescription: 'Payload Too Large' };
  const text = Buffer.from(body.data, 'base64').toString('utf8');
  if (text.toLowerCase().includes('<script')) {
    return {
      status: '403',
      statusDescription: 'Forbidden',
      headers: { 'content-type': [{ key: 'Content-Type', value: 'text/plain' }] },
      body: 'scripts are not accepted\n',
    };
  }
  body.action = 'replace';
  body.encoding = 'text';
  body.data = text.trim();
  return request;
};
