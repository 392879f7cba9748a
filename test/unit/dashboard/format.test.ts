import { describe, expect, it } from 'vitest';
import {
  formatMajor,
  formatMoney,
  formatMoneyCompact,
  formatPercent,
  levelLabel,
  normalizeToken,
  thresholdValue,
  tokenClaims,
} from '../../../functions/dashboard/format';

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
/** ICU puts no-break spaces in some formats; compare them as spaces. */
const sp = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');
const jwt = (claims: unknown) => `${b64url({ alg: 'HS256' })}.${b64url(claims)}.sig`;

describe('dashboard formatting', () => {
  it('formats minor units with the currency exponent', () => {
    expect(formatMoney(5000, 'usd', 'en-US')).toBe('$50.00');
    expect(formatMoney(123456789, 'USD', 'en-US')).toBe('$1,234,567.89');
    expect(formatMoney(5000, 'jpy', 'en-US')).toBe('¥5,000');
    expect(sp(formatMoney(5000, 'kwd', 'en-US'))).toBe('KWD 5.000');
    expect(sp(formatMoney(100000, 'eur', 'de-DE'))).toBe('1.000,00 €');
    expect(formatMoney(-250, 'cad', 'en-US')).toBe('-CA$2.50');
  });

  it('falls back for a code Intl does not know', () => {
    expect(formatMoney(1234, 'zzzz', 'en-US')).toBe('12.34 ZZZZ');
    expect(formatMoneyCompact(1234, 'zzzz', 'en-US')).toBe('12.3 ZZZZ');
  });

  it('formats axis values compactly, thresholds and percentages', () => {
    expect(formatMoneyCompact(1_000_000, 'usd', 'en-US')).toBe('$10K');
    expect(formatMoneyCompact(250_000, 'usd', 'en-US')).toBe('$2.5K');
    expect(formatMajor(1000, 'USD', 'en-US')).toBe('1,000');
    expect(formatPercent(5, 'en-US')).toBe('5.0 % of threshold');
    expect(formatPercent(null)).toBe('no threshold');
    expect(levelLabel('critical')).toBe('Critical');
    expect(levelLabel('weird')).toBe('weird');
  });

  it('turns form text into the API value, leaving what is not a number for the API to explain', () => {
    expect(thresholdValue('1000')).toBe(1000);
    expect(thresholdValue(' 1,000.50 ')).toBe(1000.5);
    expect(thresholdValue('-5')).toBe(-5);
    expect(thresholdValue('')).toBe('');
    expect(thresholdValue('abc')).toBe('abc');
  });

  it('reads sub and the admin group from a token for display (no verification)', () => {
    expect(tokenClaims(jwt({ sub: 'ada', 'cognito:groups': ['admin'] }))).toEqual({ sub: 'ada', admin: true });
    expect(tokenClaims(jwt({ sub: 'bob', 'cognito:groups': '[ops admin]' }))).toEqual({ sub: 'bob', admin: true });
    expect(tokenClaims(jwt({ sub: 'bob', 'cognito:groups': '[administrators]' }))).toEqual({ sub: 'bob', admin: false });
    expect(tokenClaims(jwt({ sub: 'zoë' }))).toEqual({ sub: 'zoë', admin: false });
    expect(tokenClaims('garbage')).toEqual({});
    expect(tokenClaims('a.%%%.c')).toEqual({});
  });

  it('normalizes a pasted token', () => {
    expect(normalizeToken('  Bearer abc.def.ghi \n')).toBe('abc.def.ghi');
    expect(normalizeToken('abc.def\n.ghi')).toBe('abc.def.ghi');
  });
});
