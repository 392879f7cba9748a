/**
 * The committed browser bundle (functions/dashboard/bundle.generated.ts) must be exactly what
 * scripts/build-dashboard.ts builds from the current sources: the handler inlines that file, so a
 * stale one would ship an old page.
 */
import { describe, expect, it } from 'vitest';
import { buildDashboardModule, GENERATED, readCommitted } from '../../../scripts/build-dashboard';
import { DASHBOARD_CSS, DASHBOARD_JS } from '../../../functions/dashboard/bundle.generated';

describe('dashboard bundle', () => {
  it('is up to date with functions/dashboard (rebuilt in memory and compared)', async () => {
    const built = await buildDashboardModule();
    const committed = readCommitted();
    expect(committed, `${GENERATED} is missing: run npx tsx scripts/build-dashboard.ts`).not.toBeNull();
    // A plain boolean first, so a stale bundle fails with the fix rather than a 30 kB diff.
    const fresh = committed === built;
    expect(fresh, `${GENERATED} is stale: run npx tsx scripts/build-dashboard.ts and commit it`).toBe(true);
  }, 30_000);

  it('is a self-contained browser script and stylesheet that can be inlined', () => {
    expect(DASHBOARD_JS.length).toBeGreaterThan(1000);
    expect(DASHBOARD_CSS.length).toBeGreaterThan(500);
    expect(DASHBOARD_JS).not.toMatch(/<\/script/i);
    expect(DASHBOARD_CSS).not.toMatch(/<\/style/i);
    // No module syntax left (an IIFE), no Node built-ins, nothing loaded at run time.
    expect(DASHBOARD_JS).not.toMatch(/\bimport\s*\(|\brequire\(|node:/);
    expect(DASHBOARD_JS).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(/);
    expect(DASHBOARD_CSS).not.toMatch(/@import|url\(/);
  });
});
