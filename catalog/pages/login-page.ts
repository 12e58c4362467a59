/** The sign-in form: the admin token, exchanged for a session cookie (catalog-auth.ts). */
import { html } from '../html';
import { page } from '../layout';

export function loginPage(csrf: string, next: string, problem?: string): string {
  return page({
    title: 'Sign in',
    body: html`<div class="login">
<h1>Sign in to the catalog</h1>
${problem ? html`<p class="error" role="alert">${problem}</p>` : ''}
<form method="post" action="/catalog/login">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="next" value="${next}">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<p class="meta">The token named by <code>admin.tokenEnv</code> in pgveil.yaml. It is checked once and never stored in the browser: you get a session cookie for this catalog only.</p>
<button type="submit" class="primary">Sign in</button>
</form>
</div>`,
  });
}

export function refusedPage(reason: string, next: string): string {
  return page({
    title: 'Sign-in needed',
    body: html`<div class="login"><h1>Sign-in needed</h1><p class="error" role="alert">${reason}</p><p><a href="/catalog/login?next=${encodeURIComponent(next)}">Sign in with the admin token</a></p></div>`,
  });
}
