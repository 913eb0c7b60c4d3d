import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiClient } from '../utils/api-client';
import { freePort, sleep } from '../utils/net';

const NGINX_DIR = resolve(__dirname, '..', '..', 'deploy', 'nginx');

/** A real nginx in front of app processes, started by a test and stopped only by it. */
export interface NginxProxy {
  url: string;
  pid: number;
  api: ApiClient;
  stop(): Promise<void>;
}

/**
 * The shipped `deploy/nginx/nginx.conf` (with its `loadstar-proxy.conf`), but with `ports`
 * on loopback as the upstream servers and a free loopback port to listen on.
 */
function configFor(upstreamPorts: number[], listenPort: number): string {
  const shipped = readFileSync(join(NGINX_DIR, 'nginx.conf'), 'utf8');
  const servers = upstreamPorts.map((port) => `    server 127.0.0.1:${port};`).join('\n');
  const config = shipped
    // loopback addresses need no `resolve` (which Debian's nginx 1.22 does not know)
    .replace(/^(\s*server\s+app-\d+:\d+(\s+resolve)?;\n)+/m, `${servers}\n`)
    .replace(/^(\s*)listen\s+\d+;/m, `$1listen 127.0.0.1:${listenPort};`);
  if (!config.includes(servers) || !config.includes(`listen 127.0.0.1:${listenPort};`)) {
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
 */
export async function startNginxProxy(upstreamPorts: number[]): Promise<NginxProxy> {
  const binary = nginxBinary();
  const dir = mkdtempSync(join(tmpdir(), 'loadstar-nginx-'));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), configFor(upstreamPorts, port));
  copyFileSync(join(NGINX_DIR, 'loadstar-proxy.conf'), join(dir, 'loadstar-proxy.conf'));
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
  return { url, pid: child.pid!, api, stop };
}
