import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** A throw-away certificate authority and a server certificate it signed, as PEM files. */
export interface TestCertificates {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The server's certificate and key as text (to copy where a server wants them). */
  cert: string;
  key: string;
  remove(): Promise<void>;
}

/**
 * Makes, with the machine's `openssl`, a CA and a server certificate for `127.0.0.1` and
 * `localhost` (valid one day, P-256 keys), so tests can run TLS servers that clients verify
 * fully, hostname included, once they trust the CA.
 */
export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'loadstar-tls-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileAsync('openssl', args, { cwd: dir });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = ['-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=loadstar test CA'];
  await openssl('req', '-x509', ...key, ...ca);
  await openssl(
    'req',
    ...key,
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
  );
  await writeFile(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'server.ext',
  );
  return {
    caFile: file('ca.crt'),
    certFile: file('server.crt'),
    keyFile: file('server.key'),
    cert: await readFile(file('server.crt'), 'utf8'),
    key: await readFile(file('server.key'), 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
