import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..');
const SHARED_DIST = join(ROOT, 'dist');

/** Newest modification time of the application's TypeScript sources. */
function newestSourceMs(): number {
  return ['src', 'libs']
    .flatMap((folder) =>
      readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
        .map((file) => statSync(join(ROOT, folder, file)).mtimeMs),
    )
    .reduce((newest, mtime) => Math.max(newest, mtime), 0);
}

/**
 * The output folder of `nest build` (`src/main.js` inside): the shared dist/ when it is newer
 * than every source (CI builds before testing), else a private build in `privateDir` (never
 * touching the shared dist/; the caller removes it). Type checking is the build's and CI's
 * job; here it is skipped to keep tests short. Suites that start processes repeatedly use it
 * because plain node starts several times faster than ts-node.
 */
export async function builtApp(privateDir: string): Promise<string> {
  const sharedMain = join(SHARED_DIST, 'src', 'main.js');
  if (existsSync(sharedMain) && statSync(sharedMain).mtimeMs > newestSourceMs()) {
    return SHARED_DIST;
  }
  await mkdir(privateDir, { recursive: true });
  const tsconfig = join(privateDir, 'tsconfig.json');
  await writeFile(
    tsconfig,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { outDir: './out', noCheck: true },
      include: [join(ROOT, 'src'), join(ROOT, 'libs')],
    }),
  );
  await run('npx', ['nest', 'build', '--path', tsconfig.slice(ROOT.length + 1)], { cwd: ROOT });
  return join(privateDir, 'out');
}
