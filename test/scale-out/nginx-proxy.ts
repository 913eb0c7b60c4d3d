import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiClient } from '../utils/api-client';
import { freePort, sleep } from '../utils/net';
import { createTestCertificates } from '../utils/tls-certificates';

const NGINX_DIR = resolve(__dirname, '..', '..', 'deploy', 'nginx');

/** A real nginx in front of app processes, started by a test and stopped only by it. */
export interface NginxProxy {
  /** Plain HTTP/1.1. */
  url: string;
  /** TLS with HTTP/2, on a certificate for `127.0.0.1` signed by {@link ca}. */
  httpsUrl: string;
  /** PEM of the test CA that signed nginx's certificate. */
  ca: string;
  pid: number;
  api: ApiClient;
  /** nginx's access log so far (started with `accessLog`), in the shipped format; else []. */
  accessLog(): string[];
  stop(): Promise<void>;
}

/** An app to proxy to: a port on loopback, or `address:port`. */
export type Upstream = number | string;

/**
 * The shipped `deploy/nginx/nginx.conf` (with its `loadstar-proxy.conf`), but with `upstreams`
 * as the upstream servers (their shipped parameters kept, but `resolve`) and free loopback
 * ports to listen on, plain and TLS.
 */
function configFor(upstreams: Upstream[], listenPort: number, tlsPort: number): string {
  const shipped = readFileSync(join(NGINX_DIR, 'nginx.conf'), 'utf8');
  // fixed addresses need no `resolve` (which Debian's nginx 1.22 does not know)
  const parameters = (/^\s*server\s+app-\d+:\d+([^;\n]*);/m.exec(shipped)?.[1] ?? '').replace(
    /\s+resolve\b/,
    '',
  );
  const servers = upstreams
    .map((upstream) => {
      const address = typeof upstream === 'number' ? `127.0.0.1:${upstream}` : upstream;
      return `    server ${address}${parameters};`;
    })
    .join('\n');
  const listen = `listen 127.0.0.1:${listenPort};`;
  const listenTls = `listen 127.0.0.1:${tlsPort} ssl http2;`;
  const config = shipped
    .replace(/^(\s*server\s+app-\d+:\d+[^;\n]*;\n)+/m, `${servers}\n`)
    .replace(/^(\s*)listen\s+\d+;/m, `$1${listen}`)
    .replace(/^(\s*)listen\s+\d+ ssl http2;/m, `$1${listenTls}`);
  if (![servers, listen, listenTls].every((line) => config.includes(line))) {
    throw new Error('deploy/nginx/nginx.conf no longer has the upstream and listen lines expected');
  }
  return config;
}

function nginxBinary(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      'nginx is not installed: apt-get install nginx-light (.ci/validate-deploy does)',
    );
  }
}

/**
 * Starts nginx in the foreground (`daemon off`) on a free loopback port, with its pid file,
 * error log and configuration in a temporary folder, and waits until it proxies to the apps.
 * With `accessLog`, the access log (the shipped format) is kept for `accessLog()`.
 */
export async function startNginxProxy(
  upstreams: Upstream[],
  options: { accessLog?: boolean } = {},
): Promise<NginxProxy> {
  const binary = nginxBinary();
  const dir = mkdtempSync(join(tmpdir(), 'loadstar-nginx-'));
  const port = await freePort();
  const tlsPort = await freePort();
  const accessLogFile = join(dir, 'access.log');
  let config = configFor(upstreams, port, tlsPort);
  if (options.accessLog) {
    // a file: the shipped /dev/stdout cannot be opened on the pipe (a socket) Node gives nginx
    config = config.replace(/access_log \/dev\/stdout /, `access_log ${accessLogFile} `);
    if (!config.includes(accessLogFile)) throw new Error('nginx.conf no longer logs to stdout');
  }
  writeFileSync(join(dir, 'nginx.conf'), config);
  copyFileSync(join(NGINX_DIR, 'loadstar-proxy.conf'), join(dir, 'loadstar-proxy.conf'));
  const certificates = await createTestCertificates();
  const ca = readFileSync(certificates.caFile, 'utf8');
  mkdirSync(join(dir, 'tls'));
  writeFileSync(join(dir, 'tls', 'tls.crt'), certificates.cert);
  writeFileSync(join(dir, 'tls', 'tls.key'), certificates.key);
  await certificates.remove();
  const child: ChildProcess = spawn(
    binary,
    [
      '-p',
      `${dir}/`,
      '-c',
      join(dir, 'nginx.conf'),
      '-e',
      join(dir, 'error.log'),
      '-g',
      `daemon off; pid ${join(dir, 'nginx.pid')};`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const url = `http://127.0.0.1:${port}`;
  const api = new ApiClient(url);
  for (let attempt = 0; ; attempt++) {
    if (hasExited) throw new Error(`nginx exited at start:\n${stderr}`);
    // the shipped configuration answers the operations routes itself: ask the API
    const proxied = await api.get('/api/config').catch(() => undefined);
    if (proxied?.status === 200) break;
    if (attempt === 100) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not proxy within 10 s:\n${stderr}`);
    }
    await sleep(100);
  }

  const stop = async () => {
    if (!hasExited) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    url,
    httpsUrl: `https://127.0.0.1:${tlsPort}`,
    ca,
    pid: child.pid!,
    api,
    accessLog: () =>
      options.accessLog ? readFileSync(accessLogFile, 'utf8').split('\n').filter(Boolean) : [],
    stop,
  };
}
