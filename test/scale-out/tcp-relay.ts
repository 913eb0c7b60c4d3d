import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, Server } from 'node:net';
import { createInterface } from 'node:readline';

/** A relay process started by a test and stopped only by it, by its pid. */
export interface TcpRelay {
  pid: number;
  /** The port the relay listens on at each of its addresses. */
  ports: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * Relays TCP connections made to `listenHosts` (addresses of the root namespace, an ephemeral
 * port each) to `target`, in a process of its own: the server PostgreSQL listens on loopback
 * only, which a network namespace cannot reach, and the test process, busy with the load, is
 * no place to carry the hosts' database traffic as well.
 */
export async function startTcpRelay(
  target: { host: string; port: number },
  listenHosts: string[],
): Promise<TcpRelay> {
  // a built copy of this file runs as is, the TypeScript one through ts-node
  const preload = __filename.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only'] : [];
  const child: ChildProcess = spawn(
    process.execPath,
    [...preload, __filename, `${target.host}:${target.port}`, ...listenHosts],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit');
  const [line] = (await Promise.race([
    once(createInterface({ input: child.stdout! }), 'line'),
    exited.then(() => {
      throw new Error('the TCP relay exited before it listened');
    }),
  ])) as [string];
  return {
    pid: child.pid!,
    ports: JSON.parse(line) as Record<string, number>,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

function relay(target: { host: string; port: number }, listenHost: string): Promise<Server> {
  const server = createServer({ noDelay: true }, (client) => {
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, () => resolve(server));
  });
}

/** As a process: `tcp-relay <target host:port> <listen address>…`; prints the ports as JSON. */
async function main([targetArg, ...listenHosts]: string[]): Promise<void> {
  const [host, port] = targetArg.split(':');
  const ports: Record<string, number> = {};
  for (const listenHost of listenHosts) {
    const server = await relay({ host, port: Number(port) }, listenHost);
    ports[listenHost] = (server.address() as { port: number }).port;
  }
  process.stdout.write(`${JSON.stringify(ports)}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`tcp-relay: ${String(error)}\n`);
    process.exit(1);
  });
}
