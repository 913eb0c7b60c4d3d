import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { freePort } from '../utils/net';
import { startTestApp, TestApp } from '../utils/test-app';

/** The Dockerfile's HEALTHCHECK command (exec form), as Docker runs it. */
function healthcheckCommand(): string[] {
  const dockerfile = readFileSync(resolve(__dirname, '..', '..', 'Dockerfile'), 'utf8');
  const instruction = /^HEALTHCHECK\b(?:[^\n]*\\\n)*[^\n]*/m.exec(dockerfile)?.[0] ?? '';
  const exec = /CMD\s+(\[.*\])\s*$/.exec(instruction.replace(/\\\n\s*/g, ' '));
  if (!exec) throw new Error('the Dockerfile has no HEALTHCHECK CMD in exec form');
  return JSON.parse(exec[1]) as string[];
}

/** Runs the healthcheck against `port` as the image would (PORT, OPS_PORT from its environment). */
function runHealthcheck(port: number, opsPort?: number): Promise<number> {
  const [file, ...args] = healthcheckCommand();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port) };
  delete env.OPS_PORT;
  if (opsPort !== undefined) env.OPS_PORT = String(opsPort);
  return new Promise((done) => {
    const child = execFile(file, args, {
      env,
      timeout: 5_000,
    });
    child.once('exit', (code) => done(code ?? -1));
  });
}

describe("the image's HEALTHCHECK (e2e, without Docker)", () => {
  let t: TestApp;
  let unhealthy: Server;

  beforeAll(async () => {
    t = await startTestApp();
    // answers /health/live with a 503, as a process whose event loop is stuck would
    unhealthy = createServer((_, res) => res.writeHead(503).end());
    await new Promise<void>((done) => unhealthy.listen(0, '127.0.0.1', done));
  });
  afterAll(async () => {
    await t.close();
    await new Promise((done) => unhealthy.close(done));
  });

  it('starts no Node process', () => {
    expect(healthcheckCommand()[0]).not.toMatch(/\bnode\b/);
  });

  it('passes while /health/live answers 200', async () => {
    expect(await runHealthcheck(Number(new URL(t.url).port))).toBe(0);
  });

  it('checks the operations listener when OPS_PORT is set', async () => {
    const split = await startTestApp({ OPS_PORT: '0' });
    try {
      const [api, ops] = [split.url, split.ops!.baseUrl].map((url) => Number(new URL(url).port));
      expect(await runHealthcheck(api, ops)).toBe(0);
      // the public listener answers /health/live with a 404 then
      expect(await runHealthcheck(api)).not.toBe(0);
    } finally {
      await split.close();
    }
  });

  it('fails on a 503 and when nothing listens', async () => {
    expect(await runHealthcheck((unhealthy.address() as AddressInfo).port)).not.toBe(0);
    expect(await runHealthcheck(await freePort())).not.toBe(0);
  });
});
