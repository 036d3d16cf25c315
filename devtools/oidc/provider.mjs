// A small OpenID provider on loopback for seqvault's tests and local trials (never production).
//
//   node provider.mjs --port 0 --client-id seqvault --client-secret s3cret \
//     --redirect-uri http://127.0.0.1:8000/oidc/callback/ [--accounts accounts.json] \
//     [--issuer-file var/oidc/issuer] [--parent-pid 1234]
//
// Options may also come from the environment (docker-compose's `oidc` service does so):
// OIDC_PORT, OIDC_HOST (listen address, default 127.0.0.1), OIDC_ISSUER (default
// http://<host>:<port>; set it when browsers reach the provider under another name),
// OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS (comma separated), OIDC_ACCOUNTS.
//
// What seqvault (mozilla-django-oidc) relies on, and how it is set here:
// - authorization-code flow with the client secret in the token request body
//   (client_secret_post, mozilla-django-oidc's default), PKCE verified when the client sends it;
// - ID tokens signed RS256 with a key whose `kid` is published at /jwks (a fresh key per start);
// - opaque access tokens that the userinfo endpoint (/me) accepts: that is how bearer tokens on
//   seqvault's API are checked; revocation (/token/revocation) makes them fail at once;
// - the claims sub, email, email_verified, name and preferred_username.
//
// Accounts live in a JSON file (a list of {sub, login, password, email, name,
// preferred_username}) read again on every use, so a test can change an e-mail between two
// sign-ins; without --accounts two built-in accounts exist (alice/alice and bob/bob).
// The sign-in page is a plain form (fields `login` and `password`); consent is implied, since
// the one client is first-party. Once listening, the issuer URL is printed and, with
// --issuer-file, written to that file.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const SCOPES_CLAIMS = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'preferred_username'],
};
const BUILT_IN_ACCOUNTS = [
  {
    sub: 'dev-alice', login: 'alice', password: 'alice', email: 'alice@example.org', name: 'Alice Example',
  },
  {
    sub: 'dev-bob', login: 'bob', password: 'bob', email: 'bob@example.org', name: 'Bob Example',
  },
];

function options() {
  const env = process.env;
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: env.OIDC_PORT || '0' },
      host: { type: 'string', default: env.OIDC_HOST || '127.0.0.1' },
      issuer: { type: 'string', default: env.OIDC_ISSUER || '' },
      'client-id': { type: 'string', default: env.OIDC_CLIENT_ID || 'seqvault' },
      'client-secret': { type: 'string', default: env.OIDC_CLIENT_SECRET || 'seqvault-dev-secret' },
      'redirect-uri': { type: 'string', multiple: true },
      accounts: { type: 'string', default: env.OIDC_ACCOUNTS || '' },
      'issuer-file': { type: 'string', default: '' },
      'parent-pid': { type: 'string', default: '' },
    },
    strict: true,
  });
  const redirectUris = values['redirect-uri']
    || (env.OIDC_REDIRECT_URIS || 'http://127.0.0.1:8000/oidc/callback/').split(',').filter(Boolean);
  return {
    port: Number.parseInt(values.port, 10),
    host: values.host,
    issuer: values.issuer.replace(/\/+$/, ''),
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
    redirectUris,
    accountsFile: values.accounts,
    issuerFile: values['issuer-file'],
    parentPid: values['parent-pid'] ? Number.parseInt(values['parent-pid'], 10) : null,
  };
}

function loadAccounts(file) {
  return file ? JSON.parse(readFileSync(file, 'utf8')) : BUILT_IN_ACCOUNTS;
}

function accountClaims(account) {
  return {
    sub: account.sub,
    email: account.email,
    email_verified: account.email_verified ?? true,
    name: account.name ?? account.login,
    preferred_username: account.preferred_username ?? account.login,
  };
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(8).toString('hex');
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`
    + `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function loginPage(uid, { error = '', login = '' } = {}) {
  const alert = error ? `<p role="alert">${escapeHtml(error)}</p>` : '';
  return page('Sign in to the development OpenID provider', `${alert}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
  <label>Login <input name="login" value="${escapeHtml(login)}" required autofocus></label>
  <label>Password <input name="password" type="password" required></label>
  <button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// The sign-in interaction: GET shows the form, POST …/login checks the password, …/abort cancels.
function interactions(accountsFile) {
  return async (ctx, next) => {
    const match = /^\/interaction\/([\w-]+)(?:\/(login|abort))?$/.exec(ctx.path);
    if (!match) return next();
    const [, uid, action] = match;
    const provider = ctx.app;
    ctx.set('Cache-Control', 'no-store');
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
    if (action === 'abort') {
      const result = { error: 'access_denied', error_description: 'The user cancelled the sign-in.' };
      await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
      ctx.respond = false;
      return undefined;
    }
    if (details.prompt.name !== 'login') {
      // Consent is implied (see loadExistingGrant); any other prompt has nothing to ask.
      await provider.interactionFinished(ctx.req, ctx.res, {}, { mergeWithLastSubmission: true });
      ctx.respond = false;
      return undefined;
    }
    if (action !== 'login' || ctx.method !== 'POST') {
      ctx.type = 'html';
      ctx.body = loginPage(uid);
      return undefined;
    }
    const form = await readForm(ctx.req);
    const login = form.get('login') || '';
    const account = loadAccounts(accountsFile).find((a) => a.login === login);
    if (!account || account.password !== form.get('password')) {
      ctx.status = 200;
      ctx.type = 'html';
      ctx.body = loginPage(uid, { error: 'Unknown login or wrong password.', login });
      return undefined;
    }
    const result = { login: { accountId: account.sub } };
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.respond = false;
    return undefined;
  };
}

function configuration(opts) {
  return {
    clients: [{
      client_id: opts.clientId,
      client_secret: opts.clientSecret,
      redirect_uris: opts.redirectUris,
      post_logout_redirect_uris: opts.redirectUris.map((uri) => new URL('/', uri).href),
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    }],
    claims: SCOPES_CLAIMS,
    jwks: { keys: [signingKey()] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      introspection: { enabled: true },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const account = loadAccounts(opts.accountsFile).find((a) => a.sub === sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => accountClaims(account) };
    },
    // The one client is first-party: grant what it asks for instead of showing a consent page.
    async loadExistingGrant(ctx) {
      const { provider, client, session } = ctx.oidc;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      let grant = grantId ? await provider.Grant.find(grantId) : undefined;
      if (!grant) grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
      await grant.save();
      return grant;
    },
    pkce: { required: () => false },
    ttl: {
      AccessToken: 60 * 60,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      Grant: 14 * 24 * 60 * 60,
      Interaction: 60 * 60,
      RefreshToken: 14 * 24 * 60 * 60,
      Session: 14 * 24 * 60 * 60,
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Sign-in error', `<pre>${escapeHtml(JSON.stringify(out, null, 2))}</pre>`);
    },
  };
}

// With --parent-pid, stop when the process that started us is gone (a test run that crashed).
function exitWithParent(parentPid) {
  if (!parentPid) return;
  setInterval(() => {
    try {
      process.kill(parentPid, 0);
    } catch {
      process.exit(0);
    }
  }, 1000).unref();
}

function main() {
  const opts = options();
  const server = createServer();
  server.listen(opts.port, opts.host, () => {
    const issuer = opts.issuer || `http://${opts.host}:${server.address().port}`;
    const provider = new Provider(issuer, configuration(opts));
    provider.use(interactions(opts.accountsFile));
    server.on('request', provider.callback());
    if (opts.issuerFile) {
      writeFileSync(`${opts.issuerFile}.partial`, `${issuer}\n`);
      renameSync(`${opts.issuerFile}.partial`, opts.issuerFile);
    }
    console.log(`OpenID provider listening at ${issuer} (client ${opts.clientId})`);
  });
  exitWithParent(opts.parentPid);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => process.exit(0));
  }
}

main();
