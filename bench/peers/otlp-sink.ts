import { createServer } from 'node:http';

/**
 * The cheapest collector: accepts OTLP/HTTP exports (any path, either encoding) and discards
 * them, so scenario 7's tracing rows measure what tracing costs the app, not a collector's
 * work. An empty protobuf message is a valid `ExportTraceServiceResponse` (full success);
 * anything but a POST (the readiness probe) gets a plain 200.
 */
const server = createServer((request, response) => {
  if (request.method !== 'POST') {
    response.writeHead(200).end();
    return;
  }
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});

server.listen(Number(process.env.PORT ?? 4318), process.env.HOST ?? '127.0.0.1');
server.on('error', (error) => {
  process.stderr.write(`otlp-sink: ${String(error)}\n`);
  process.exit(1);
});
