// Verify an HS256 JSON Web Token from the `token` query parameter or the Authorization header,
// with crypto.createHmac. Expired or badly signed tokens get 401.
// viewer-request, cloudfront-js-2.0. Replace SECRET with your own key.
import crypto from 'crypto';

var SECRET = 'edgesim-demo-secret';

function base64url(text) {
    return text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function verify(token) {
    var parts = token.split('.');
    if (parts.length !== 3) {
        throw new Error('token must have three parts');
    }
    var expected = crypto.createHmac('sha256', SECRET).update(parts[0] + '.' + parts[1]).digest('base64url');
    if (expected !== base64url(parts[2])) {
        throw new Error('bad signature');
    }
    var payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (payload.exp && Date.now() / 1000 >= payload.exp) {
        throw new Error('token expired');
    }
    return payload;
}

function handler(event) {
    var request = event.request;
    var token = request.querystring.token ? request.querystring.token.value : '';
    var auth = request.headers.authorization;
    if (!token && auth && auth.value.indexOf('Bearer ') === 0) {
        token = auth.value.slice(7);
    }
    try {
        var payload = verify(token);
        delete request.querystring.token;
        request.headers['x-user'] = { value: String(payload.sub) };
        return request;
    } catch (e) {
        console.log('JWT rejected: ' + e.message);
        return { statusCode: 401, statusDescription: 'Unauthorized' };
    }
}
