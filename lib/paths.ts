import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (the directory holding package.json); FUNCTIONS entry paths are relative to it. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const LOCK_FILE = join(PROJECT_ROOT, 'package-lock.json');
export const fromRoot = (p: string) => join(PROJECT_ROOT, p);
