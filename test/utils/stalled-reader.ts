import { connect, Socket } from 'node:net';

/** The status and headers of a response whose body is left unread. */
export interface StalledReader {
  status: number;
  headers: Record<string, string>;
  socket: Socket;
  /** Resolves once the server ended or reset the connection. */
  closed: Promise<void>;
}

/**
 * Sends `GET path` on a raw socket, reads the response head from the first bytes that arrive,
 * then stops reading for good: the body piles up in the socket buffers until the server's
 * writes wait on back-pressure, as behind a client that hangs mid-download.
 */
export function stalledReader(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<StalledReader> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => undefined);
    socket.once('error', reject);
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.pause();
      socket.off('data', onData);
      const [statusLine, ...lines] = head.slice(0, end).split('\r\n');
      const fields = Object.fromEntries(
        lines.map((line) => {
          const colon = line.indexOf(':');
          return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
        }),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers: fields, socket, closed });
    };
    socket.on('data', onData);
    const extra = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n${extra}\r\n`);
  });
}
