import { AddressInfo, createServer, Server, Socket, connect } from 'node:net';

/** Startup-phase request codes after which the client sends another startup message. */
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/**
 * Reads the client → server half of the PostgreSQL wire protocol and yields the SQL text of
 * every simple query (`Q`) and every statement parsed for the extended protocol (`P`), which
 * is how node-postgres sends parameterised queries. Messages may arrive split or merged.
 */
export class FrontendMessageReader {
  private buffer = Buffer.alloc(0);
  private startup = true;

  /** Feeds the next chunk; returns the statements it completed. */
  push(chunk: Buffer): string[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const statements: string[] = [];
    for (;;) {
      if (this.startup) {
        if (this.buffer.length < 8) break;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) break;
        const code = this.buffer.readInt32BE(4);
        this.startup = code === SSL_REQUEST || code === GSSENC_REQUEST;
        this.buffer = this.buffer.subarray(length);
        continue;
      }
      if (this.buffer.length < 5) break;
      const type = String.fromCharCode(this.buffer[0]);
      const end = 1 + this.buffer.readInt32BE(1);
      if (this.buffer.length < end) break;
      const body = this.buffer.subarray(5, end);
      if (type === 'Q') statements.push(cString(body, 0));
      if (type === 'P') statements.push(cString(body, body.indexOf(0) + 1));
      this.buffer = this.buffer.subarray(end);
    }
    return statements;
  }
}

function cString(buffer: Buffer, start: number): string {
  const end = buffer.indexOf(0, start);
  return buffer.toString('utf8', start, end === -1 ? buffer.length : end);
}

/**
 * A loopback TCP proxy in front of PostgreSQL that counts the statements matching `pattern`:
 * the database loads of a stampede, counted on the wire whatever the app does to avoid them.
 */
export class CountingPgProxy {
  /** Statements that matched so far. */
  count = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly upstream: URL,
  ) {}

  static async start(databaseUrl: string, pattern: RegExp): Promise<CountingPgProxy> {
    const upstream = new URL(databaseUrl);
    const server = createServer();
    const proxy = new CountingPgProxy(server, upstream);
    server.on('connection', (client) => proxy.relay(client, pattern));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** `databaseUrl` with the proxy's address in place of the server's. */
  get url(): string {
    const url = new URL(this.upstream.toString());
    url.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return url.toString();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket, pattern: RegExp): void {
    const server = connect(Number(this.upstream.port || 5432), this.upstream.hostname);
    const reader = new FrontendMessageReader();
    for (const socket of [client, server]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      for (const statement of reader.push(chunk)) if (pattern.test(statement)) this.count++;
    });
    client.pipe(server);
    server.pipe(client);
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
  }
}
