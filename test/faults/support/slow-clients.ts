import { readFileSync } from 'node:fs';
import { get, IncomingMessage } from 'node:http';
import { connect, Socket } from 'node:net';

/** Resident memory of a process in bytes, from `/proc` (Linux). */
export function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Samples a process's resident memory until stopped; `peak()` is the highest seen. */
export function watchMemory(pid: number, everyMs = 100) {
  let peak = residentBytes(pid);
  const timer = setInterval(() => (peak = Math.max(peak, residentBytes(pid))), everyMs);
  return {
    peak: () => peak,
    stop: () => clearInterval(timer),
  };
}

const SLOW_REQUEST_HEAD = 'GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ';

/**
 * `count` connections that send a request's headers one byte at a time and never finish
 * (Slowloris). One timer feeds them all, so the attack costs the test process little.
 */
export async function startHeaderTricklers(port: number, count: number, byteEveryMs = 200) {
  const sockets: Socket[] = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  let sent = 0;
  let closedByServer = 0;
  for (const socket of sockets) {
    socket.on('error', () => undefined);
    socket.once('close', () => closedByServer++);
    socket.resume();
  }
  const timer = setInterval(() => {
    const byte = sent < SLOW_REQUEST_HEAD.length ? SLOW_REQUEST_HEAD[sent] : 'a';
    for (const socket of sockets) if (!socket.destroyed) socket.write(byte);
    sent++;
  }, byteEveryMs);
  return {
    /** Connections still open (the server may close them after its headers timeout). */
    open: () => sockets.filter((s) => !s.destroyed).length,
    closedByServer: () => closedByServer,
    stop: () => {
      clearInterval(timer);
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * A client that reads `url` at about `bytesPerSecond`: the response stays paused and only
 * that much is taken from it each second, so the server sees TCP backpressure.
 */
export function startSlowReader(url: string, bytesPerSecond = 1024) {
  const tick = 100;
  const perTick = Math.max(1, Math.round((bytesPerSecond * tick) / 1000));
  let received = 0;
  let status = 0;
  let ended = false;
  let response: IncomingMessage | undefined;
  let timer: NodeJS.Timeout | undefined;
  const request = get(url, { agent: false }, (res) => {
    response = res;
    status = res.statusCode ?? 0;
    res.pause();
    res.once('end', () => (ended = true));
    res.on('error', () => undefined);
    timer = setInterval(() => {
      const chunk = res.read(perTick) as Buffer | null;
      if (chunk) received += chunk.length;
    }, tick);
  });
  request.on('error', () => undefined);
  return {
    status: () => status,
    received: () => received,
    ended: () => ended,
    stop: () => {
      clearInterval(timer);
      response?.destroy();
      request.destroy();
    },
  };
}
