import { once } from 'node:events';
import { createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of PostgreSQL that counts the statements whose text contains
 * `statement`, as PostgreSQL receives them (a query travels as plain text in its Parse or
 * Query message). App processes pointed at {@link url} are counted whatever they report about
 * themselves, and no other client of the shared server disturbs the count.
 */
export class PostgresStatementCounter {
  /** Statements seen so far. */
  count = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly target: URL,
    private readonly statement: string,
  ) {}

  /** @param databaseUrl the PostgreSQL the proxy forwards to (no TLS) */
  static async start(databaseUrl: string, statement: string): Promise<PostgresStatementCounter> {
    const server = createServer();
    const counter = new PostgresStatementCounter(server, new URL(databaseUrl), statement);
    server.on('connection', (client) => counter.forward(client));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return counter;
  }

  /** `databaseUrl` with the proxy's address. */
  get url(): string {
    const url = new URL(this.target);
    const address = this.server.address();
    url.host = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return url.toString();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((done) => this.server.close(done));
  }

  private forward(client: Socket): void {
    const upstream = createConnection(Number(this.target.port || 5432), this.target.hostname);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    // A match can straddle two chunks: keep the last few bytes of one in front of the next.
    const overlap = this.statement.length - 1;
    let tail = '';
    client.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      for (let at = text.indexOf(this.statement); at !== -1;) {
        this.count++;
        at = text.indexOf(this.statement, at + this.statement.length);
      }
      tail = text.slice(-overlap);
      upstream.write(chunk);
    });
    upstream.pipe(client);
  }
}
