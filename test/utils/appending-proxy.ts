import { createServer, request, Server } from 'node:http';
import { once } from 'node:events';

/** A reverse proxy of the test's own on a free loopback port, closed only by the test. */
export interface AppendingProxy {
  url: string;
  close(): Promise<void>;
}

/**
 * A reverse proxy that appends the address it saw to `X-Forwarded-For`, after whatever the
 * client sent, as ingress controllers and cloud load balancers do (nginx's
 * `$proxy_add_x_forwarded_for`). The client's own entries stay in front of the real one.
 */
export async function startAppendingProxy(target: string): Promise<AppendingProxy> {
  const upstream = new URL(target);
  const server: Server = createServer((incoming, outgoing) => {
    const sent = incoming.headers['x-forwarded-for'];
    const seen = incoming.socket.remoteAddress ?? '';
    const forwarded = sent ? `${String(sent)}, ${seen}` : seen;
    const proxied = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, 'x-forwarded-for': forwarded },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    proxied.on('error', () => outgoing.destroy());
    incoming.pipe(proxied);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('proxy did not listen');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/**
 * Status of a GET sent from the loopback address `from` (127.0.0.2, 127.0.0.3, … are distinct
 * client addresses on Linux without any setup).
 */
export function getFrom(url: string, from: string, headers: Record<string, string> = {}) {
  return new Promise<number>((resolve, reject) => {
    const req = request(url, { localAddress: from, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
