// A real OpenID Connect provider (the certified `oidc-provider`) for ccweb's
// OIDC tests, on 127.0.0.1 at a free port. Prints `issuer <URL>` once it
// listens. One static confidential client from the environment
// (OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI). Logging in uses
// the provider's development login form, which takes any login name (the
// account id) and any password; consent is granted without a prompt.
// Accounts in ACCOUNTS have the claims listed; any other id gets
// `<id>@example.com` (verified) and no groups.
import http from 'node:http';
import Provider from 'oidc-provider';

const ACCOUNTS = {
  // A provider name that is no valid ccweb name as such.
  'mixed': { preferred_username: 'Mixed Case', email: 'mixed@example.com', email_verified: true, groups: ['staff'] },
  'ops-person': { preferred_username: 'opsperson', email: 'ops@example.com', email_verified: true, groups: ['staff', 'ops'] },
  'outsider': { preferred_username: 'outsider', email: 'outsider@elsewhere.org', email_verified: true, groups: ['staff'] },
  'unverified': { preferred_username: 'unverified', email: 'unverified@example.com', email_verified: false, groups: ['staff'] },
  'nogroup': { preferred_username: 'nogroup', email: 'nogroup@example.com', email_verified: true, groups: [] },
  'emailonly': { email: 'mailer@example.com', email_verified: true, groups: ['staff'] },
};

function claimsOf(id) {
  return ACCOUNTS[id] ?? { preferred_username: id, email: `${id}@example.com`, email_verified: true, groups: ['staff'] };
}

let handler = (_req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: process.env.OIDC_CLIENT_ID,
      client_secret: process.env.OIDC_CLIENT_SECRET,
      redirect_uris: [process.env.OIDC_REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'groups'],
    },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id) {
      return { accountId: id, async claims() { return { sub: id, ...claimsOf(id) }; } };
    },
    // First-party client: grant what it asks for without a consent page.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(ctx.oidc.params.scope);
      await grant.save();
      return grant;
    },
  });
  handler = provider.callback();
  process.stdout.write(`issuer ${issuer}\n`);
});
// Ends with the test that started it.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
