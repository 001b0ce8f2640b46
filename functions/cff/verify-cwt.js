// Let through only requests carrying a CBOR Web Token (COSE MAC0, HS256) signed with SECRET, from
// the `token` query parameter or an `Authorization: CWT <base64url>` header, with cf.cwt. The
// module checks the structure, size (1 KB) and MAC but no claim: expiry (4, exp) and not-before
// (5, nbf) are checked here. Bad, expired or missing tokens get 401.
// viewer-request, cloudfront-js-2.0. Replace SECRET with your own key (or read it from a KeyValueStore).
import cf from 'cloudfront';

var SECRET = 'edgesim-demo-secret';
var CLAIM = { sub: '2', exp: '4', nbf: '5' };

function tokenOf(request) {
    if (request.querystring.token) {
        return request.querystring.token.value;
    }
    var auth = request.headers.authorization;
    if (auth && auth.value.indexOf('CWT ') === 0) {
        return auth.value.slice(4);
    }
    return '';
}

function handler(event) {
    var request = event.request;
    var now = Math.floor(Date.now() / 1000);
    try {
        var token = tokenOf(request);
        if (!token) {
            throw new Error('no token');
        }
        var claims = cf.cwt.validateToken(Buffer.from(token, 'base64url'), { key: SECRET }).payload;
        if (typeof claims[CLAIM.exp] === 'number' && now >= claims[CLAIM.exp]) {
            throw new Error('token expired');
        }
        if (typeof claims[CLAIM.nbf] === 'number' && now < claims[CLAIM.nbf]) {
            throw new Error('token not yet valid');
        }
        delete request.querystring.token;
        request.headers['x-user'] = { value: String(claims[CLAIM.sub]) };
        return request;
    } catch (e) {
        console.log('CWT rejected: ' + e.message);
        return { statusCode: 401, statusDescription: 'Unauthorized' };
    }
}
