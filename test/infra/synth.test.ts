import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../functions/routes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'rift-synth-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** The environment of a machine with no AWS account at all: no credentials, no profile, no IMDS. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AWS_|CDK_DEFAULT_)/.test(k)) continue;
    env[k] = v;
  }
  return {
    ...env,
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(out, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(out, 'no-aws-credentials'),
  };
}

describe('cdk synth (real bundling, offline, no AWS credentials)', () => {
  it(
    'synthesizes both stacks and bundles every function with esbuild',
    () => {
      const r = spawnSync('npx', ['cdk', 'synth', '--all', '--quiet', '--no-notices', '-c', 'stage=dev', '-o', out], {
        cwd: ROOT,
        env: offlineEnv(),
        encoding: 'utf8',
        timeout: 240_000,
      });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);

      const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
      const stacks = Object.entries(manifest.artifacts as Record<string, { type: string }>)
        .filter(([, a]) => a.type === 'aws:cloudformation:stack')
        .map(([id]) => id);
      expect(new Set(stacks)).toEqual(new Set(['Rift-dev-Stateful', 'Rift-dev-Stateless']));

      const template = JSON.parse(readFileSync(join(out, 'Rift-dev-Stateless.template.json'), 'utf8'));
      const fns = Object.values(template.Resources as Record<string, { Type: string; Metadata?: Record<string, string> }>).filter(
        (r) => r.Type === 'AWS::Lambda::Function',
      );
      expect(fns).toHaveLength(Object.keys(FUNCTIONS).length);
      for (const fn of fns) {
        const asset = fn.Metadata?.['aws:asset:path'];
        expect(asset).toBeDefined();
        const files = readdirSync(join(out, asset!));
        expect(files).toContain('index.mjs'); // ESM bundle
        expect(files).toContain('index.mjs.map'); // source map
        expect(files.filter((f) => f !== 'index.mjs' && f !== 'index.mjs.map')).toEqual([]); // no node_modules: all bundled
      }
      expect(existsSync(join(out, 'Rift-dev-Stateful.template.json'))).toBe(true);
    },
    300_000,
  );
});
