/**
 * The dashboard page: a static HTML shell with the bundled script and stylesheet inlined
 * (from the committed `bundle.generated.ts`, built by `scripts/build-dashboard.ts`), and a
 * Content-Security-Policy that allows exactly those two inline blocks (by SHA-256) and
 * same-origin `fetch` to the admin API: nothing is loaded from anywhere else.
 */
import { createHash } from 'node:crypto';
import { DASHBOARD_CSS, DASHBOARD_JS } from './bundle.generated';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The page's CSP: inline script and style by hash only; API calls to the same origin only. */
export function contentSecurityPolicy(js: string = DASHBOARD_JS, css: string = DASHBOARD_CSS): string {
  return [
    "default-src 'none'",
    `script-src ${sha256(js)}`,
    `style-src ${sha256(css)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

export function renderPage(js: string = DASHBOARD_JS, css: string = DASHBOARD_CSS): string {
  if (/<\/script/i.test(js) || /<\/style/i.test(css)) throw new Error('the dashboard bundle must not contain a closing script/style tag');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<meta name="referrer" content="no-referrer">
<title>Stripe balance · Rift admin</title>
<link rel="icon" href="data:,">
<style>${css}</style>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="topbar">
  <p class="brand"><span class="brand-mark" aria-hidden="true">R</span>Rift admin <span class="brand-sub">Stripe platform balance</span></p>
  <div class="session" id="session" hidden>
    <span id="session-user"></span>
    <button type="button" class="btn btn-ghost btn-small" id="sign-out">Sign out</button>
  </div>
</header>
<main id="main" tabindex="-1">
  <noscript><div class="notice notice-error"><p>This page needs JavaScript.</p></div></noscript>

  <section id="view-signin" class="panel narrow" aria-labelledby="signin-title" hidden>
    <h1 class="view-title" id="signin-title" tabindex="-1">Sign in</h1>
    <p class="muted">The Stripe balance dashboard is for admins. Paste a bearer token (a Cognito ID token whose <code>cognito:groups</code> includes <code>admin</code>).</p>
    <div id="signin-message" role="alert"></div>
    <form id="signin-form" novalidate>
      <label for="token">Bearer token</label>
      <textarea id="token" name="token" rows="5" spellcheck="false" autocomplete="off" autocapitalize="off" aria-describedby="token-hint token-error" required></textarea>
      <p class="field-error" id="token-error" hidden></p>
      <p class="hint" id="token-hint">Locally: <code>npm run token -- --sub admin --admin</code>. In AWS: see <code>docs/dashboard.md</code>. The token is kept in this browser tab only (sessionStorage).</p>
      <div class="form-actions"><button type="submit" class="btn">Sign in</button></div>
    </form>
  </section>

  <section id="view-forbidden" class="panel narrow" aria-labelledby="forbidden-title" hidden>
    <h1 class="view-title" id="forbidden-title" tabindex="-1">Not an admin</h1>
    <div class="notice notice-warn" role="alert" id="forbidden-message">
      <p><strong>You are signed in, but not as an admin.</strong> The API answered <code>403 forbidden</code>.</p>
      <p id="forbidden-detail"></p>
    </div>
    <p>Only users in the Cognito <code>admin</code> group can see the platform balance. Ask an administrator to add you to the group, then sign in again with a fresh token.</p>
    <div class="form-actions"><button type="button" class="btn" id="forbidden-retry">Use another token</button></div>
  </section>

  <section id="view-dashboard" aria-labelledby="dash-title" hidden>
    <div class="toolbar">
      <div>
        <h1 class="view-title" id="dash-title" tabindex="-1">Stripe balance</h1>
        <p class="muted small" id="checked-at">Loading…</p>
      </div>
      <div class="toolbar-actions">
        <label class="checkbox" for="auto-refresh"><input type="checkbox" id="auto-refresh" checked> Refresh every 60 s</label>
        <button type="button" class="btn" id="check-now">Check now</button>
      </div>
    </div>
    <p class="status" id="status" role="status" aria-live="polite"></p>
    <div id="dash-error" role="alert"></div>

    <section aria-labelledby="balances-title">
      <h2 id="balances-title" class="visually-hidden-heading">Balances</h2>
      <div class="cards" id="cards"></div>
    </section>

    <div class="lower">
      <section class="panel" aria-labelledby="alerts-title">
        <h2 id="alerts-title">Recent alerts</h2>
        <div id="alerts"></div>
      </section>

      <section class="panel" aria-labelledby="thresholds-title">
        <h2 id="thresholds-title">Thresholds</h2>
        <p class="muted small" id="thresholds-hint">Minimum available balance per currency, in major units (1000 = 1,000.00). Below 100 % is info, below 30 % warning, below 10 % critical. Saving replaces the whole set used by the scheduled monitor.</p>
        <form id="thresholds-form" novalidate aria-describedby="thresholds-hint">
          <div id="thresholds-summary" role="alert"></div>
          <div class="threshold-head" aria-hidden="true"><span>Currency</span><span>Minimum (major units)</span></div>
          <div class="threshold-rows" id="threshold-rows"></div>
          <button type="button" class="btn btn-ghost btn-small add-currency" id="add-currency"><span aria-hidden="true">+</span> Add currency</button>
          <div class="form-actions">
            <button type="submit" class="btn" id="save-thresholds">Save thresholds</button>
            <button type="button" class="btn btn-ghost" id="reset-thresholds">Discard changes</button>
          </div>
        </form>
      </section>
    </div>
  </section>
</main>
<script>${js}</script>
</body>
</html>
`;
}
