import { once } from 'node:events';
import { AddressInfo, connect, createServer, Socket } from 'node:net';
import { CountingPgProxy, FrontendMessageReader } from './pg-counter';

function startup(code = 196608): Buffer {
  const message = Buffer.alloc(8);
  message.writeInt32BE(8, 0);
  message.writeInt32BE(code, 4);
  return message;
}

function typed(type: string, ...parts: (string | Buffer)[]): Buffer {
  const body = Buffer.concat(
    parts.map((part) => (typeof part === 'string' ? Buffer.from(`${part}\0`) : part)),
  );
  const header = Buffer.alloc(5);
  header.write(type, 0);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

const query = (sql: string) => typed('Q', sql);
/** Parse: statement name, SQL, parameter type count (0). */
const parse = (sql: string, name = '') => typed('P', name, sql, Buffer.from([0, 0]));
const sync = () => typed('S');

describe(FrontendMessageReader.name, () => {
  describe('#push', () => {
    it('skips the startup message and yields simple and extended-protocol statements', () => {
      const reader = new FrontendMessageReader();
      const stream = Buffer.concat([
        startup(),
        query('SELECT 1'),
        parse('SELECT * FROM users WHERE id = $1', 'named'),
        typed('B', Buffer.from([0, 0, 0, 0, 0, 0, 0])),
        sync(),
      ]);
      expect(reader.push(stream)).toEqual(['SELECT 1', 'SELECT * FROM users WHERE id = $1']);
    });

    it('finds messages split at any byte boundary', () => {
      const reader = new FrontendMessageReader();
      const stream = Buffer.concat([startup(), parse('SELECT a FROM users'), query('SELECT 2')]);
      const seen: string[] = [];
      for (let i = 0; i < stream.length; i++) seen.push(...reader.push(stream.subarray(i, i + 1)));
      expect(seen).toEqual(['SELECT a FROM users', 'SELECT 2']);
    });

    it('expects a second startup message after an SSL request', () => {
      const reader = new FrontendMessageReader();
      expect(reader.push(Buffer.concat([startup(80877103), startup(), query('SELECT 3')]))).toEqual(
        ['SELECT 3'],
      );
    });
  });
});

describe(CountingPgProxy.name, () => {
  let upstream: ReturnType<typeof createServer>;
  let received: Buffer[];
  let proxy: CountingPgProxy;

  beforeEach(async () => {
    received = [];
    upstream = createServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        socket.write('ack');
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as AddressInfo).port;
    proxy = await CountingPgProxy.start(`postgres://postgres@127.0.0.1:${port}/db`, /from users/i);
  });

  afterEach(async () => {
    await proxy.close();
    upstream.close();
  });

  describe('#url', () => {
    it('keeps user and database and points at the proxy', () => {
      const url = new URL(proxy.url);
      expect(url.username).toBe('postgres');
      expect(url.pathname).toBe('/db');
      expect(url.port).not.toBe(String((upstream.address() as AddressInfo).port));
    });
  });

  describe('#count', () => {
    it('counts matching statements and relays every byte both ways', async () => {
      const url = new URL(proxy.url);
      const client: Socket = connect(Number(url.port), '127.0.0.1');
      await once(client, 'connect');
      const sent = Buffer.concat([
        startup(),
        parse('SELECT id FROM users WHERE id = $1'),
        query('SELECT 1'),
        query('select name from USERS'),
      ]);
      const answered = once(client, 'data');
      client.write(sent);
      expect(String((await answered)[0])).toContain('ack');
      for (let i = 0; i < 50 && Buffer.concat(received).length < sent.length; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(Buffer.concat(received).equals(sent)).toBe(true);
      expect(proxy.count).toBe(2);
      client.destroy();
    });
  });
});
