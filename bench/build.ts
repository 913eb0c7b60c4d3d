import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import * as ts from 'typescript';

/** Folders compiled for the processes the bench starts. */
const SOURCE_FOLDERS = ['src', 'libs', 'bench/peers', 'bench/preload'];
const SKIPPED = /\.(spec|e2e-spec)\.ts$|\.d\.ts$/;

async function* filesUnder(folder: string): AsyncGenerator<string> {
  for (const entry of await readdir(folder, { withFileTypes: true }).catch(() => [])) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}

const ALIASED_REQUIRE = /require\("(@app\/[\w-]+)((?:\/[^"]*)?)"\)/g;

/**
 * `require("@app/<lib>…")` as a relative path to where `paths` maps it, as `nest build` emits
 * it: the processes then need no `tsconfig-paths` hook, which costs a fifth of a start.
 */
export function resolveAliases(
  code: string,
  fromDir: string,
  outDir: string,
  paths: Readonly<Record<string, readonly string[]>>,
): string {
  return code.replace(ALIASED_REQUIRE, (whole, alias: string, rest: string) => {
    const target = paths[alias]?.[0];
    if (target === undefined) return whole;
    const path = relative(fromDir, join(outDir, target)) + rest;
    return `require("${path.startsWith('.') ? path : `./${path}`}")`;
  });
}

/**
 * Compiles the app and the peers once per run into `outDir`, file by file like
 * `ts-node --transpile-only` (and like the e2e suite runs them), with the `@app/*` aliases
 * resolved, so each of the dozen processes a run starts is plain `node`, ready in about a
 * second instead of re-transpiling everything. Type checking is `tsc`'s job in CI, not the
 * bench's; files other than TypeScript (e.g. scripts a lib reads at run time) are copied as
 * they are.
 *
 * @returns the number of files written.
 */
export async function buildForBench(repoRoot: string, outDir: string): Promise<number> {
  const parsed = ts.parseJsonConfigFileContent(
    ts.readConfigFile(join(repoRoot, 'tsconfig.json'), ts.sys.readFile).config,
    ts.sys,
    repoRoot,
  );
  const compilerOptions: ts.CompilerOptions = {
    ...parsed.options,
    sourceMap: false,
    inlineSourceMap: false,
    incremental: false,
    declaration: false,
  };
  await rm(outDir, { recursive: true, force: true });
  let written = 0;
  for (const folder of SOURCE_FOLDERS) {
    for await (const file of filesUnder(join(repoRoot, folder))) {
      if (SKIPPED.test(file)) continue;
      const target = join(outDir, relative(repoRoot, file));
      await mkdir(dirname(target), { recursive: true });
      if (file.endsWith('.ts')) {
        const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), {
          compilerOptions,
          fileName: file,
        });
        const code = resolveAliases(
          outputText,
          dirname(target),
          outDir,
          parsed.options.paths ?? {},
        );
        await writeFile(target.replace(/\.ts$/, '.js'), code);
      } else {
        await copyFile(file, target);
      }
      written++;
    }
  }
  return written;
}
