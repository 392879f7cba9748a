/** The dashboard handler: the HTML page, its headers and the hash-pinned CSP. */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handler } from '../../../functions/api/dashboard';
import { contentSecurityPolicy, renderPage } from '../../../functions/dashboard/page';

const ROOT = path.resolve(import.meta.dirname, '../../..');

const event = (requestId = 'req_test') =>
  ({
    routeKey: 'GET /admin/stripe-balance',
    rawPath: '/admin/stripe-balance',
    headers: {},
    requestContext: { requestId, http: { method: 'GET', path: '/admin/stripe-balance' } },
  }) as unknown as APIGatewayProxyEventV2;

const hashOf = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

describe('GET /admin/stripe-balance (dashboard handler)', () => {
  it('answers 200 text/html with security headers and the request id', async () => {
    const res = await handler(event('req_abc'));
    expect(res.statusCode).toBe(200);
    const h = res.headers as Record<string, string>;
    expect(h['content-type']).toBe('text/html; charset=utf-8');
    expect(h['x-request-id']).toBe('req_abc');
    expect(h['x-content-type-options']).toBe('nosniff');
    expect(h['x-frame-options']).toBe('DENY');
    expect(h['referrer-policy']).toBe('no-referrer');
    expect(h['cache-control']).toBe('no-store');
    expect(res.body).toMatch(/^<!doctype html>/);
  });

  it('pins the inline script and stylesheet by SHA-256 and allows nothing from another origin', async () => {
    const res = await handler(event());
    const html = res.body!;
    const csp = (res.headers as Record<string, string>)['content-security-policy']!;
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const directives = Object.fromEntries(csp.split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]));
    expect(directives['default-src']).toBe("'none'");
    expect(directives['script-src']).toBe(hashOf(script));
    expect(directives['style-src']).toBe(hashOf(style));
    expect(directives['connect-src']).toBe("'self'");
    expect(directives['frame-ancestors']).toBe("'none'");
    expect(directives['require-trusted-types-for']).toBe("'script'");
    expect(csp).not.toMatch(/unsafe-|https?:|\*/);
    // One inline script, one inline style, no external resources, no inline handlers or style attributes.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html.match(/<style/g)).toHaveLength(1);
    expect(html).not.toMatch(/<script[^>]*\ssrc=|<link[^>]*stylesheet|\son[a-z]+="|\sstyle="/i);
    expect(csp).toBe(contentSecurityPolicy());
  });

  it('has every element the script looks up, and a label for every input', () => {
    const html = renderPage('', '');
    const app = readFileSync(path.join(ROOT, 'functions/dashboard/app.ts'), 'utf8');
    const ids = new Set([...app.matchAll(/\$(?:<[^>]+>)?\('([a-z0-9-]+)'\)/g)].map((m) => m[1]!));
    // ids in the view-to-title map
    for (const m of app.matchAll(/(?:signin|forbidden|dashboard): '([a-z-]+)'/g)) ids.add(m[1]!);
    expect(ids.size).toBeGreaterThan(15);
    for (const id of ids) expect(html, `#${id}`).toContain(`id="${id}"`);
    for (const m of html.matchAll(/<(?:input|textarea|select)[^>]*\sid="([^"]+)"/g)) {
      expect(html, `label for #${m[1]}`).toMatch(new RegExp(`<label[^>]*for="${m[1]}"`));
    }
    expect(html).toContain('role="status"');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('<html lang="en">');
  });

  it('refuses a bundle that would break out of its inline element', () => {
    expect(() => renderPage('alert("</script>")', '')).toThrow(/closing/);
    expect(() => renderPage('', 'a{}</style>')).toThrow(/closing/);
  });
});
