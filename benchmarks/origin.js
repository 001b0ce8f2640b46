// The fast origin: a few lines of Node http serving a small static body with keep-alive.
// Usage: node origin.js PORT   (listens on 127.0.0.1 only)
const http = require('http');
const body = Buffer.from('<!doctype html><title>edgesim bench</title><p>' + 'x'.repeat(512) + '</p>\n');
const port = Number(process.argv[2]);
const server = http.createServer((req, res) => {
  res.writeHead(200, {
    'Content-Type': 'text/html',
    'Content-Length': body.length,
    'Cache-Control': 'max-age=3600',
  });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1', () => console.log('ready'));
