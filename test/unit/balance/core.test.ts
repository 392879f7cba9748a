import { describe, expect, it } from 'vitest';
import {
  alertSubject,
  balanceLevel,
  buildSummary,
  composeAlertEmail,
  composeCheckFailingEmail,
  currencyExponent,
  decideAlerts,
  DEFAULT_THRESHOLDS,
  effectiveThresholds,
  formatMinor,
  isKnownCurrency,
  majorToMinor,
  parseThresholdsJson,
  percentOfThreshold,
  shouldMailCheckFailing,
  thresholdEntryProblem,
  type AlertLevel,
  type AlertState,
  type BalanceRow,
} from '../../../functions/core/balance';

describe('balanceLevel: boundaries exactly at 10 %, 30 %, 100 % and zero', () => {
  const T = 100_000; // 1000.00 USD
  it.each([
    [0, 'critical'],
    [-1, 'critical'],
    [1, 'critical'],
    [9_999, 'critical'],
    [10_000, 'warning'], // exactly 10 %: not below 10 %
    [10_001, 'warning'],
    [29_999, 'warning'],
    [30_000, 'info'], // exactly 30 %
    [99_999, 'info'],
    [100_000, 'ok'], // exactly 100 %
    [100_001, 'ok'],
    [5_000_000, 'ok'],
  ] as const)('available %i of 100000 -> %s', (available, level) => {
    expect(balanceLevel(available, T)).toBe(level);
  });

  it('uses exact integer arithmetic for thresholds not divisible by 10', () => {
    // 10 % of 12345 is 1234.5: 1234 is below it, 1235 is not.
    expect(balanceLevel(1234, 12_345)).toBe('critical');
    expect(balanceLevel(1235, 12_345)).toBe('warning');
    // 30 % of 12345 is 3703.5
    expect(balanceLevel(3703, 12_345)).toBe('warning');
    expect(balanceLevel(3704, 12_345)).toBe('info');
  });

  it('threshold 0: zero is ok, only a negative balance is below it', () => {
    expect(balanceLevel(0, 0)).toBe('ok');
    expect(balanceLevel(5, 0)).toBe('ok');
    expect(balanceLevel(-5, 0)).toBe('critical');
  });

  it('percentOfThreshold', () => {
    expect(percentOfThreshold(10_000, 100_000)).toBe(10);
    expect(percentOfThreshold(1, 3)).toBe(33.3);
    expect(percentOfThreshold(5, 0)).toBeNull();
  });
});

describe('currency exponents and major -> minor', () => {
  it.each([
    ['USD', 2],
    ['usd', 2],
    ['EUR', 2],
    ['GBP', 2],
    ['CAD', 2],
    ['JPY', 0],
    ['jpy', 0],
    ['KRW', 0],
    ['CLP', 0],
    ['VND', 0],
    ['XOF', 0],
    ['MGA', 0], // zero-decimal at Stripe
    ['ISK', 2], // Stripe represents ISK with two decimals
    ['KWD', 3],
    ['BHD', 3],
    ['JOD', 3],
    ['OMR', 3],
    ['TND', 3],
  ] as const)('%s has exponent %i', (c, e) => {
    expect(currencyExponent(c)).toBe(e);
  });

  it.each([
    [1000, 'USD', 100_000],
    [1000, 'JPY', 1000],
    [1000, 'KRW', 1000],
    [1000, 'KWD', 1_000_000],
    [1000, 'BHD', 1_000_000],
    [0, 'USD', 0],
    [1.005, 'USD', 101], // no binary-float drift (1.005 * 100 = 100.49999…)
    [0.1, 'EUR', 10],
    [12.3456, 'KWD', 12_346],
    [2.5, 'JPY', 3],
    [1e12, 'TND', 1e15],
  ] as const)('%d %s -> %d minor', (major, c, minor) => {
    expect(majorToMinor(major, c)).toBe(minor);
  });

  it('rejects non-finite thresholds', () => {
    expect(() => majorToMinor(Number.NaN, 'USD')).toThrow(RangeError);
    expect(() => majorToMinor(Number.POSITIVE_INFINITY, 'USD')).toThrow(RangeError);
  });

  it.each([
    [123_450, 'usd', '1234.50'],
    [5, 'usd', '0.05'],
    [-250, 'eur', '-2.50'],
    [1000, 'jpy', '1000'],
    [1_234_567, 'kwd', '1234.567'],
    [7, 'bhd', '0.007'],
  ] as const)('formatMinor(%i, %s) = %s', (m, c, s) => {
    expect(formatMinor(m, c)).toBe(s);
  });
});

describe('thresholds', () => {
  it('knows ISO-4217 codes', () => {
    expect(isKnownCurrency('USD')).toBe(true);
    expect(isKnownCurrency('KWD')).toBe(true);
    expect(isKnownCurrency('XYZ')).toBe(false);
  });

  it.each([
    ['USD', 1000, null],
    ['USD', 0, null],
    ['JPY', 2.5, null],
    ['usd', 1000, 'unknown currency'],
    ['XYZ', 1000, 'unknown currency'],
    ['USDX', 1000, 'unknown currency'],
    ['USD', -1, 'negative'],
    ['USD', '1000', 'finite number'],
    ['USD', Number.NaN, 'finite number'],
    ['USD', Number.POSITIVE_INFINITY, 'finite number'],
    ['USD', null, 'finite number'],
    ['USD', 1e13, 'at most'],
  ] as const)('%s = %s -> %s', (c, v, problem) => {
    const p = thresholdEntryProblem(c, v);
    if (problem === null) expect(p).toBeNull();
    else expect(p).toContain(problem);
  });

  it('parses BALANCE_THRESHOLDS, dropping bad entries and never throwing', () => {
    expect(parseThresholdsJson(undefined)).toEqual({ thresholds: null, problems: [] });
    expect(parseThresholdsJson('{"USD":500,"GBP":20}').thresholds).toEqual({ USD: 500, GBP: 20 });
    const partial = parseThresholdsJson('{"USD":500,"usd":1,"XXX":3,"EUR":-1}');
    expect(partial.thresholds).toEqual({ USD: 500 });
    expect(partial.problems).toHaveLength(3);
    expect(parseThresholdsJson('not json').thresholds).toBeNull();
    expect(parseThresholdsJson('[1,2]').thresholds).toBeNull();
  });

  it('stored > env > defaults, override merged over for the run', () => {
    expect(effectiveThresholds({ stored: null, env: null })).toEqual(DEFAULT_THRESHOLDS);
    expect(effectiveThresholds({ stored: null, env: { GBP: 5 } })).toEqual({ GBP: 5 });
    expect(effectiveThresholds({ stored: { USD: 1 }, env: { GBP: 5 } })).toEqual({ USD: 1 });
    expect(effectiveThresholds({ stored: { USD: 1, EUR: 2 }, env: null, override: { USD: 3, JPY: 4 } })).toEqual({ USD: 3, EUR: 2, JPY: 4 });
  });
});

describe('buildSummary', () => {
  const at = '2024-05-01T12:00:00.000Z';
  it('one row per threshold currency, lower-case, minor units, sorted; absent currency = 0', () => {
    const s = buildSummary(
      [
        { currency: 'usd', available: 5000, pending: 100 },
        { currency: 'gbp', available: 1, pending: 0 }, // no threshold: not in the summary
      ],
      { USD: 1000, EUR: 1000, JPY: 10_000 },
      at,
    );
    expect(s).toEqual({
      checkedAt: at,
      balances: [
        { currency: 'eur', available: 0, pending: 0, threshold: 100_000, level: 'critical' },
        { currency: 'jpy', available: 0, pending: 0, threshold: 10_000, level: 'critical' },
        { currency: 'usd', available: 5000, pending: 100, threshold: 100_000, level: 'critical' },
      ],
    });
  });

  it("one currency's bad data never hides the others", () => {
    const s = buildSummary(
      [
        { currency: 'usd', available: Number.NaN, pending: 0 },
        { currency: 'eur', available: 50_000, pending: 0 },
        { currency: 'cad', available: 12.5, pending: 0 },
      ],
      { USD: 1000, EUR: 1000, CAD: 1000, XXX: 5 } as Record<string, number>,
      at,
    );
    const by = Object.fromEntries(s.balances.map((b) => [b.currency, b]));
    expect(by.eur?.level).toBe('info');
    expect(by.usd?.level).toBe('unknown');
    expect(by.usd?.error).toMatch(/available/);
    expect(by.cad?.level).toBe('unknown');
    expect(by.xxx?.level).toBe('unknown');
    expect(by.xxx?.error).toMatch(/unknown currency/);
  });
});

describe('decideAlerts (table-driven)', () => {
  const now = new Date('2024-05-01T12:00:00.000Z');
  const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();
  const row = (level: AlertLevel | 'unknown', currency = 'usd'): BalanceRow => ({ currency, available: 1, pending: 0, threshold: 100, level });

  interface Case {
    name: string;
    level: AlertLevel | 'unknown';
    prev?: AlertState;
    force?: boolean;
    undelivered?: boolean;
    expect: string | null;
  }
  const cases: Case[] = [
    { name: 'ok never mails', level: 'ok', expect: null },
    { name: 'info never mails', level: 'info', expect: null },
    { name: 'info never mails, even forced', level: 'info', force: true, expect: null },
    { name: 'ok never mails, even forced', level: 'ok', force: true, expect: null },
    { name: 'unknown never mails', level: 'unknown', force: true, expect: null },
    { name: 'first warning', level: 'warning', expect: 'first' },
    { name: 'first critical', level: 'critical', expect: 'first' },
    { name: 'same warning within window', level: 'warning', prev: { level: 'warning', sentAt: hoursAgo(1) }, expect: null },
    { name: 'same critical within window', level: 'critical', prev: { level: 'critical', sentAt: hoursAgo(5.99) }, expect: null },
    { name: 'same level exactly at window end', level: 'critical', prev: { level: 'critical', sentAt: hoursAgo(6) }, expect: 'repeat' },
    { name: 'same level after window', level: 'warning', prev: { level: 'warning', sentAt: hoursAgo(7) }, expect: 'repeat' },
    { name: 'escalation warning -> critical within window', level: 'critical', prev: { level: 'warning', sentAt: hoursAgo(0.5) }, expect: 'escalation' },
    { name: 'escalation info -> warning', level: 'warning', prev: { level: 'info', sentAt: hoursAgo(0.5) }, expect: 'escalation' },
    { name: 'drop critical -> warning within window', level: 'warning', prev: { level: 'critical', sentAt: hoursAgo(1) }, expect: null },
    { name: 'drop critical -> warning after window', level: 'warning', prev: { level: 'critical', sentAt: hoursAgo(8) }, expect: 'repeat' },
    { name: 'forced within window', level: 'warning', prev: { level: 'warning', sentAt: hoursAgo(1) }, force: true, expect: 'forced' },
    { name: 'forced drop within window', level: 'warning', prev: { level: 'critical', sentAt: hoursAgo(1) }, force: true, expect: 'forced' },
    { name: 'forced first is still first', level: 'critical', force: true, expect: 'first' },
    { name: 'undelivered earlier alert is retried within window', level: 'warning', prev: { level: 'warning', sentAt: hoursAgo(1) }, undelivered: true, expect: 'retry' },
  ];
  it.each(cases)('$name', (c) => {
    const d = decideAlerts({
      balances: [row(c.level)],
      state: c.prev ? { usd: c.prev } : {},
      now,
      repeatHours: 6,
      force: c.force,
      undelivered: c.undelivered ? new Set(['usd']) : undefined,
    });
    expect(d.map((x) => x.reason)).toEqual(c.expect === null ? [] : [c.expect]);
  });

  it('decides per currency: a return to the same level within the window stays silent while another currency escalates', () => {
    const d = decideAlerts({
      balances: [row('critical', 'usd'), row('critical', 'eur'), row('info', 'cad')],
      state: { usd: { level: 'critical', sentAt: hoursAgo(2) }, eur: { level: 'warning', sentAt: hoursAgo(2) } },
      now,
      repeatHours: 6,
    });
    expect(d.map((x) => [x.row.currency, x.reason])).toEqual([['eur', 'escalation']]);
  });

  it('repeatHours 0 always repeats', () => {
    const d = decideAlerts({ balances: [row('warning')], state: { usd: { level: 'warning', sentAt: now.toISOString() } }, now, repeatHours: 0 });
    expect(d).toHaveLength(1);
  });
});

describe('shouldMailCheckFailing', () => {
  const now = new Date('2024-05-01T12:00:00.000Z');
  const iso = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();
  it.each([
    { name: 'one failure: silent', n: 1, since: iso(0), state: undefined, undelivered: false, expect: false },
    { name: 'two in a row: mail', n: 2, since: iso(0.5), state: undefined, undelivered: false, expect: true },
    { name: 'three, mailed this streak within window: silent', n: 3, since: iso(1), state: { level: 'critical' as const, sentAt: iso(0.5) }, undelivered: false, expect: false },
    { name: 'mailed in an earlier streak: mail', n: 2, since: iso(0.5), state: { level: 'critical' as const, sentAt: iso(3) }, undelivered: false, expect: true },
    { name: 'still failing after the window: mail', n: 20, since: iso(10), state: { level: 'critical' as const, sentAt: iso(6) }, undelivered: false, expect: true },
    { name: 'undelivered earlier mail: retry', n: 3, since: iso(1), state: { level: 'critical' as const, sentAt: iso(0.5) }, undelivered: true, expect: true },
  ])('$name', (c) => {
    expect(shouldMailCheckFailing({ consecutiveFailures: c.n, failingSince: c.since, state: c.state, now, repeatHours: 6, undelivered: c.undelivered })).toBe(c.expect);
  });
});

describe('alert email', () => {
  const rows: BalanceRow[] = [
    { currency: 'eur', available: 25_000, pending: 0, threshold: 100_000, level: 'warning' },
    { currency: 'usd', available: 5_000, pending: 1_000, threshold: 100_000, level: 'critical' },
    { currency: 'kwd', available: 1_234_567, pending: 0, threshold: 5_000_000, level: 'warning' },
  ];

  it('subject names the worst level and the currencies', () => {
    expect(alertSubject([{ currency: 'usd', level: 'critical' }])).toBe('[CRITICAL] Stripe balance low: USD');
    expect(alertSubject([{ currency: 'eur', level: 'warning' }])).toBe('[WARNING] Stripe balance low: EUR');
    const e = composeAlertEmail(rows, '2024-05-01T12:00:00.000Z');
    expect(e.subject).toBe('[CRITICAL] Stripe balance low: USD, EUR, KWD'); // worst first
  });

  it('HTML table with currency, available, pending, threshold, percentage, level, action; text part too', () => {
    const e = composeAlertEmail(rows, '2024-05-01T12:00:00.000Z');
    for (const h of ['Currency', 'Available', 'Pending', 'Threshold', 'Percentage', 'Level', 'Recommended action']) expect(e.html).toContain(`>${h}</th>`);
    const trs = e.html.match(/<tr data-currency="[a-z]+">.*?<\/tr>/g) ?? [];
    expect(trs).toHaveLength(3);
    const cells = (tr: string) => [...tr.matchAll(/<td[^>]*>(?:<strong[^>]*>)?(.*?)(?:<\/strong>)?<\/td>/g)].map((m) => m[1]);
    expect(cells(trs[0]!).slice(0, 6)).toEqual(['USD', '50.00', '10.00', '1000.00', '5%', 'critical']);
    expect(cells(trs[2]!).slice(0, 6)).toEqual(['KWD', '1234.567', '0.000', '5000.000', '24.7%', 'warning']);
    expect(cells(trs[0]!)[6]).toMatch(/Top up/);
    expect(e.text).toContain('USD: available 50.00, pending 10.00, threshold 1000.00 (5%) - CRITICAL');
    expect(e.text).toContain('EUR: available 250.00');
    expect(e.text).not.toContain('<');
  });

  it('the check-failing email says what failed', () => {
    const e = composeCheckFailingEmail({ consecutiveFailures: 2, failingSince: 'A', lastError: 'boom <b>', now: 'B' });
    expect(e.subject).toMatch(/balance check failing/);
    expect(e.html).toContain('boom &lt;b&gt;');
    expect(e.text).toContain('boom <b>');
  });
});
