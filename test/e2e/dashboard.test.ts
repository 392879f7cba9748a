/**
 * The admin dashboard in a real browser: Debian's chromium driven by playwright-core, against an
 * in-process local stack (DynamoDB Local from the global setup, the Stripe emulator, SES local).
 *
 * Without /usr/bin/chromium this FAILS (it must not be silently green) unless
 * SKIP_BROWSER_TESTS=1. Screenshots go to test-artifacts/ (git-ignored).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { localDynamoClient } from '../../local/dynamodb';
import { mintToken } from '../../local/jwt';
import { createBalanceStore } from '../../functions/adapters/balance-store';
import { balanceLevel } from '../../functions/core/balance';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(import.meta.dirname, '../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const SKIP = process.env.SKIP_BROWSER_TESTS === '1';

describe.skipIf(SKIP)('admin dashboard in chromium (GET /admin/stripe-balance)', () => {
  let stack: LocalStack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let adminToken: string;
  let userToken: string;
  const consoleProblems: string[] = [];
  const foreignRequests: string[] = [];

  const pageUrl = () => `${stack.apiUrl}/admin/stripe-balance`;

  const api = async (method: string, p: string, body?: unknown, tok = adminToken) => {
    const res = await fetch(`${stack.apiUrl}${p}`, {
      method,
      headers: { authorization: `Bearer ${tok}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  const setBalance = async (currency: string, available: number) => {
    const res = await fetch(`${stack.stripeUrl}/_emulator/balance`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ currency, available }),
    });
    expect(res.status).toBe(200);
  };

  const signIn = async (tok: string) => {
    await page.getByLabel('Bearer token').fill(tok);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  const card = (code: string) => page.getByRole('article', { name: code, exact: true });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM}: the dashboard browser test cannot run. ` +
          'Install it (apt-get install -y chromium; .ci/run does this in CI) or set SKIP_BROWSER_TESTS=1 to skip it explicitly.',
      );
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    const tableName = `rift-dash-${randomUUID().slice(0, 8)}`;
    stack = await startLocalStack({
      port: 0,
      stripePort: 0,
      sesPort: 0,
      dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT,
      tableName,
      schedule: false,
      quiet: true,
      log: () => undefined,
    });
    adminToken = await mintToken({ sub: 'admin_ada', groups: ['admin'] });
    userToken = await mintToken({ sub: 'user_bob' });

    // A day of scheduled checks (hourly), so the trend charts have something to draw: USD
    // falling, CAD steady, EUR dipping and recovering. Written through the balance store, as
    // the scheduled monitor would have.
    const store = createBalanceStore(
      DynamoDBDocumentClient.from(localDynamoClient(stack.dynamodbEndpoint), { marshallOptions: { removeUndefinedValues: true } }),
      tableName,
    );
    const hours = 12;
    const now = Date.now();
    for (let i = hours; i >= 1; i--) {
      const checkedAt = new Date(now - i * 3600_000).toISOString();
      const k = hours - i; // 0 .. 11
      const avail = {
        usd: Math.round(620_000 - k * 48_000 + (k % 3) * 9_000),
        cad: Math.round(480_000 + Math.sin(k / 2) * 30_000),
        eur: Math.round(k < 6 ? 260_000 - k * 32_000 : 120_000 + (k - 6) * 40_000),
      };
      await store.putSnapshot({
        snapshotId: `snap_seed_${k}`,
        checkedAt,
        ok: true,
        trigger: 'schedule',
        thresholds: { USD: 1000, CAD: 1000, EUR: 1000 },
        balances: (['usd', 'cad', 'eur'] as const).map((c) => ({
          currency: c,
          available: avail[c],
          pending: 0,
          threshold: 100_000,
          level: balanceLevel(avail[c], 100_000),
        })),
      });
    }
    await setBalance('usd', 90_000);
    await setBalance('cad', 470_000);
    await setBalance('eur', 350_000);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    });
    context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC', viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    page = await context.newPage();
    page.on('console', (m) => {
      const text = m.text();
      // A fetch answered 400/401/403 is logged by Chromium as "Failed to load resource": expected here.
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 40[013] /.test(text)) consoleProblems.push(text);
      if (/Content Security Policy|Trusted Type/i.test(text)) consoleProblems.push(text);
    });
    page.on('pageerror', (e) => consoleProblems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(`${stack.apiUrl}/`) && !u.startsWith('data:')) foreignRequests.push(u);
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await stack?.stop();
  });

  it('serves the page as HTML with a strict CSP and no token needed', async () => {
    const res = await fetch(pageUrl());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const html = await res.text();
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/);
    // The only URL in the page is the SVG namespace (an identifier, never fetched).
    expect(html.match(/https?:\/\/[^\s"`]+/g)?.filter((u) => u !== 'http://www.w3.org/2000/svg') ?? []).toEqual([]);
  });

  it('asks for a token, and a non-admin token gets a clear "not an admin" message', async () => {
    await page.goto(pageUrl());
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true);
    // An empty submit is refused next to the field.
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#token-error').textContent()).toContain('Paste a token first');
    expect(await page.getByLabel('Bearer token').getAttribute('aria-invalid')).toBe('true');

    await signIn(userToken);
    await expect.poll(() => page.getByRole('heading', { name: 'Not an admin' }).isVisible()).toBe(true);
    const msg = await page.locator('#forbidden-message').innerText();
    expect(msg).toContain('403 forbidden');
    expect(msg).toContain('user_bob');
    expect(await page.locator('#cards article').count()).toBe(0);
    await page.getByRole('button', { name: 'Use another token' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('rift.admin.token'))).toBeNull();
  });

  it('shows every seeded currency with its balance, level badge, percentage and trend chart', async () => {
    await signIn(adminToken);
    await expect.poll(() => page.locator('#cards article').count()).toBe(3);
    for (const code of ['USD', 'CAD', 'EUR']) expect(await card(code).isVisible()).toBe(true);

    const usd = card('USD');
    expect(await usd.locator('[data-field=available]').innerText()).toBe('$900.00');
    expect(await usd.locator('[data-field=pending]').innerText()).toBe('$0.00');
    expect(await usd.locator('[data-field=threshold]').innerText()).toBe('$1,000.00');
    expect(await usd.locator('.badge').innerText()).toMatch(/^info$/i);
    expect(await usd.locator('[data-field=percent]').innerText()).toBe('90.0 % of threshold');
    expect(await card('EUR').locator('[data-field=available]').innerText()).toBe('€3,500.00');
    expect(await card('EUR').locator('.badge').innerText()).toMatch(/^ok$/i);

    // A chart per currency: the available polyline and the dashed threshold, with axis labels.
    const chart = usd.locator('svg[role=img]');
    expect(await chart.locator('polyline[data-series=available]').count()).toBe(1);
    expect(await chart.locator('polyline[data-series=threshold]').getAttribute('class')).toBe('chart-threshold');
    expect(await chart.locator('text.chart-axis').count()).toBeGreaterThanOrEqual(5);
    const points = (await chart.locator('polyline[data-series=available]').getAttribute('points'))!.trim().split(/\s+/);
    expect(points).toHaveLength(12);

    // The token survives a reload (sessionStorage), not a new tab session.
    expect(await page.evaluate(() => sessionStorage.getItem('rift.admin.token'))).toBe(adminToken);
    await page.reload();
    await expect.poll(() => page.locator('#cards article').count()).toBe(3);
    expect(await page.getByRole('heading', { name: 'Stripe balance' }).isVisible()).toBe(true);
  });

  it('"Check now" after the balance drops: critical badge, the new alert, and a status update (keyboard only)', async () => {
    await setBalance('usd', 5_000);
    // Reach the button with the keyboard and press it.
    await page.locator('#main').focus();
    let focused = '';
    for (let i = 0; i < 40 && focused !== 'check-now'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.id ?? '');
    }
    expect(focused).toBe('check-now');
    await page.keyboard.press('Enter');

    await expect.poll(() => card('USD').getAttribute('data-level'), { timeout: 20_000 }).toBe('critical');
    expect(await card('USD').locator('.badge').innerText()).toMatch(/^critical$/i);
    expect(await card('USD').locator('[data-field=available]').innerText()).toBe('$50.00');
    expect(await card('USD').locator('[data-field=percent]').innerText()).toBe('5.0 % of threshold');
    await expect.poll(() => page.getByRole('status').innerText()).toMatch(/Checked .*USD critical.*1 new alert, emailed/);

    const alertRow = page.locator('#alerts tbody tr[data-currency=usd][data-level=critical]');
    await expect.poll(() => alertRow.count()).toBe(1);
    expect(await alertRow.innerText()).toContain('$50.00');
    // The run was stored: the chart gained a point.
    const points = (await card('USD').locator('polyline[data-series=available]').getAttribute('points'))!.trim().split(/\s+/);
    expect(points).toHaveLength(13);

    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  });

  it('changes a threshold and stores it (PUT /api/admin/thresholds)', async () => {
    const input = page.getByLabel('CAD threshold (major units)');
    await input.fill('5000');
    await page.getByRole('button', { name: 'Save thresholds' }).click();
    await expect.poll(() => page.getByRole('status').innerText()).toContain('Thresholds saved');
    const stored = await api('GET', '/api/admin/thresholds');
    expect(stored.json.thresholds).toEqual({ USD: 1000, CAD: 5000, EUR: 1000 });
    // The summary was reloaded with the new threshold: 4,700 of 5,000 is info.
    await expect.poll(() => card('CAD').getAttribute('data-level')).toBe('info');
    expect(await card('CAD').locator('[data-field=threshold]').innerText()).toBe('CA$5,000.00');
    expect(await card('CAD').locator('[data-field=percent]').innerText()).toBe('94.0 % of threshold');
  });

  it("shows the API's validation error next to the field, and stores nothing", async () => {
    const input = page.getByLabel('EUR threshold (major units)');
    await input.fill('-5');
    await page.getByRole('button', { name: 'Save thresholds' }).click();
    const error = page.locator('#th-EUR-error');
    await expect.poll(() => error.isVisible()).toBe(true);
    expect(await error.innerText()).toContain('threshold must not be negative');
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    expect((await input.getAttribute('aria-describedby'))!.split(' ')).toContain('th-EUR-error');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('th-EUR-amount');
    expect(await page.locator('#thresholds-summary').innerText()).toContain('EUR: threshold must not be negative');
    expect((await api('GET', '/api/admin/thresholds')).json.thresholds).toEqual({ USD: 1000, CAD: 5000, EUR: 1000 });

    // An unknown currency added through the form is explained next to its own row.
    await input.fill('1000');
    await page.getByRole('button', { name: 'Add currency' }).click();
    await page.getByLabel('Currency', { exact: true }).fill('XYZ');
    await page.getByLabel('Threshold for the new currency (major units)').fill('10');
    await page.getByRole('button', { name: 'Save thresholds' }).click();
    await expect.poll(() => page.locator('.threshold-row[data-code=""] .field-error').innerText()).toContain('unknown currency "XYZ"');
    const codeInput = page.getByLabel('Currency', { exact: true });
    expect(await codeInput.getAttribute('aria-invalid')).toBe('true');
    expect(await codeInput.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await page.locator('#th-EUR-error').isVisible()).toBe(false);

    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-validation.png'), fullPage: true });
    await page.getByRole('button', { name: 'Discard changes' }).click();
    expect(await page.locator('.threshold-row').count()).toBe(3);
  });

  it('refreshes by itself every 60 s and announces a level change', async () => {
    await page.clock.install();
    await page.reload();
    await expect.poll(() => card('EUR').getAttribute('data-level')).toBe('ok');
    await setBalance('eur', 50_000);
    await page.clock.fastForward(30_000);
    expect(await card('EUR').getAttribute('data-level')).toBe('ok'); // not yet
    await page.clock.fastForward(35_000);
    await expect.poll(() => card('EUR').getAttribute('data-level')).toBe('info');
    expect(await card('EUR').locator('[data-field=available]').innerText()).toBe('€500.00');
    await expect.poll(() => page.getByRole('status').innerText()).toContain('EUR is now Info (was OK).');
  });

  it('is readable at phone width (no horizontal scrolling)', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await card('USD').isVisible()).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('loaded nothing from elsewhere and broke no CSP rule', () => {
    expect(foreignRequests).toEqual([]);
    expect(consoleProblems).toEqual([]);
  });
});
