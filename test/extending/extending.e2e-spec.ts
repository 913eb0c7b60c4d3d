import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Client } from 'pg';

const ROOT = resolve(__dirname, '..', '..');
const STEPS_HEADING = '## A new domain module, step by step';
/** Not part of a fresh clone, or rebuilt by the steps. */
const NOT_COPIED = new Set(['node_modules', '.git', '.data', 'dist', 'reports', 'coverage']);

/** One step of the docs: a shell command, or a file written as shown. */
type Step = { command: string } | { path: string; content: string };

/** The section's fenced blocks in order: each `sh` line is a command, each `ts` block a file. */
function stepsOf(markdown: string): Step[] {
  const start = markdown.indexOf(STEPS_HEADING);
  if (start < 0) throw new Error(`docs/extending.md has no "${STEPS_HEADING}"`);
  const end = markdown.indexOf('\n## ', start + STEPS_HEADING.length);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const steps: Step[] = [];
  for (const [, language, body] of section.matchAll(/```(\w+)\n([\s\S]*?)```/g)) {
    if (language === 'sh') {
      for (const command of body.split('\n').filter((line) => line.trim() !== '')) {
        steps.push({ command });
      }
    } else {
      const [first, ...rest] = body.split('\n');
      const path = /^\/\/ (\S+)$/.exec(first)?.[1];
      if (!path) throw new Error(`a ${language} block of the steps does not start with // <path>`);
      steps.push({ path, content: rest.join('\n') });
    }
  }
  return steps;
}

/** Runs `command` without a terminal (stdin closed), as CI and scripts do. */
function run(
  command: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, output }));
  });
}

/**
 * docs/extending.md's steps for a new module, followed literally on a copy of the repository:
 * the generators run without a terminal, the module is served under `/api`, the generated
 * specs and the docs' e2e test pass, and the result passes the type check and the lint rules.
 */
describe('extending: a new domain module as docs/extending.md says (e2e)', () => {
  const database = `extending_${process.pid}_test`;
  let copy: string;
  let admin: Client;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    copy = await mkdtemp(join(tmpdir(), 'loadstar-extending-'));
    await cp(ROOT, copy, {
      recursive: true,
      filter: (source) => source === ROOT || !NOT_COPIED.has(basename(source)),
    });
    await symlink(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
    admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `/${database}`;
    env = { ...process.env, DATABASE_URL: url.toString() };
    delete env.JEST_WORKER_ID;
  });

  afterAll(async () => {
    if (copy) await rm(copy, { recursive: true, force: true });
    await admin?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin?.end();
  });

  it('generates, serves and tests the module; README shows the same commands', async () => {
    const steps = stepsOf(await readFile(join(ROOT, 'docs', 'extending.md'), 'utf8'));
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const generators = steps.flatMap((step) =>
      'command' in step && step.command.startsWith('npx nest g') ? [step.command] : [],
    );
    expect(generators).toHaveLength(3);
    expect(generators.filter((command) => !readme.includes(command))).toEqual([]);
    for (const step of steps) {
      if ('command' in step) {
        const { code, output } = await run(step.command, copy, env);
        if (code !== 0) throw new Error(`"${step.command}" exited with ${code}:\n${output}`);
      } else {
        await mkdir(dirname(join(copy, step.path)), { recursive: true });
        await writeFile(join(copy, step.path), step.content);
      }
    }

    const appModule = await readFile(join(copy, 'src', 'app.module.ts'), 'utf8');
    expect(appModule).toContain("import { OrdersModule } from './orders/orders.module';");
    for (const check of [
      'npx tsc --noEmit -p tsconfig.json',
      'npx eslint src/orders src/app.module.ts test/orders',
      'npx prettier --check src/orders src/app.module.ts test/orders',
    ]) {
      const { code, output } = await run(check, copy, env);
      if (code !== 0) throw new Error(`"${check}" exited with ${code}:\n${output}`);
    }
  }, 600_000);
});
