// oidc-provider (the npm package, pinned in package.json) configured like the Vestibule that
// scripts/oidc-bench measures, so the two can be driven with the same wrk scripts:
//
// - ES256 signing (Vestibule's default algorithm), one P-256 key generated at start;
// - the token endpoint at /oauth2/token and the JWKS at /.well-known/jwks.json (Vestibule's
//   paths; oidc-provider's defaults are /token and /jwks);
// - a confidential web client `bench-web` (client_secret_basic; authorization_code and
//   refresh_token) and a machine client `bench-m2m` (client_secret_basic; client_credentials);
// - access tokens are ES256 JWTs for one resource server (resourceIndicators), as Vestibule's
//   are (RFC 9068), so a refresh signs two JWTs (access token and ID token) on both sides;
// - refresh tokens rotate (rotateRefreshToken: true) and are bound to the session
//   (expiresWithSession), as Vestibule's are: a refresh looks up the token, its grant, its
//   session and the account;
// - the in-memory adapter (oidc-provider's default, its dev adapter); nothing is persisted.
//
// OP_AT_FORMAT=opaque keeps oidc-provider's default opaque access tokens instead (stored in the
// adapter, one signature per refresh instead of two), for comparison.
//
// Refresh tokens are seeded programmatically in this process, not through the interaction
// flow: GET http://127.0.0.1:$SEED_PORT/seed?n=64 creates n Sessions, each with one Grant
// (scopes `openid email`, resource scope `api:read`) and one RefreshToken, through the
// provider's own models, and answers the n refresh token values, one a line. The seed server
// listens on loopback only and is idle while wrk runs.
//
// Benchmark harness only (scripts/oidc-bench); never a test, never exposed.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const PORT = Number(process.env.PORT || 18090);
const SEED_PORT = Number(process.env.SEED_PORT || PORT + 1);
const ISSUER = `http://localhost:${PORT}`;
const WEB_SECRET = process.env.WEB_SECRET || 'bench-web-secret-0123456789';
const M2M_SECRET = process.env.M2M_SECRET || 'bench-m2m-secret-0123456789';
const RESOURCE = 'urn:vestibule-bench:api';
const jwtAccessTokens = (process.env.OP_AT_FORMAT || 'jwt') === 'jwt';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

const accounts = new Map();
function account(id) {
  let found = accounts.get(id);
  if (!found) {
    found = {
      accountId: id,
      claims: async () => ({ sub: id, email: `${id}@example.com`, email_verified: true }),
    };
    accounts.set(id, found);
  }
  return found;
}

const configuration = {
  clients: [
    {
      client_id: 'bench-web',
      client_secret: WEB_SECRET,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://localhost:3000/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
    {
      client_id: 'bench-m2m',
      client_secret: M2M_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api:read api:write',
    },
  ],
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  jwks: { keys: [jwk] },
  findAccount: async (_ctx, id) => account(id),
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  scopes: ['openid', 'email', 'offline_access', 'api:read', 'api:write'],
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  routes: { token: '/oauth2/token', jwks: '/.well-known/jwks.json' },
  rotateRefreshToken: true,
  // Vestibule's Application defaults: access token 10m, ID token 1h, refresh family 720h.
  ttl: {
    AccessToken: 600,
    ClientCredentials: 600,
    IdToken: 3600,
    RefreshToken: 30 * 24 * 3600,
    Grant: 30 * 24 * 3600,
    Session: 30 * 24 * 3600,
    AuthorizationCode: 60,
    Interaction: 3600,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({
        scope: 'api:read api:write',
        audience: RESOURCE,
        accessTokenTTL: 600,
        accessTokenFormat: jwtAccessTokens ? 'jwt' : 'opaque',
        ...(jwtAccessTokens ? { jwt: { sign: { alg: 'ES256' } } } : {}),
      }),
    },
  },
};

const provider = new Provider(ISSUER, configuration);
provider.on('server_error', (_ctx, error) => console.error('server_error', error));

let serial = 0;
async function seed(n) {
  const client = await provider.Client.find('bench-web');
  const values = [];
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < n; i += 1) {
    serial += 1;
    const accountId = `bench-user-${serial}`;
    const grant = new provider.Grant({ accountId, clientId: client.clientId });
    grant.addOIDCScope('openid email');
    grant.addResourceScope(RESOURCE, 'api:read');
    const grantId = await grant.save();
    const sid = randomBytes(16).toString('base64url');
    const session = new provider.Session({
      accountId,
      loginTs: now,
      authorizations: { [client.clientId]: { grantId, sid } },
    });
    await session.save(30 * 24 * 3600);
    const refreshToken = new provider.RefreshToken({
      accountId,
      authTime: now,
      client,
      expiresWithSession: true,
      grantId,
      gty: 'authorization_code',
      resource: RESOURCE,
      scope: 'openid email api:read',
      sessionUid: session.uid,
      sid,
    });
    values.push(await refreshToken.save());
  }
  return values;
}

const seeder = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname !== '/seed') {
    res.writeHead(404).end();
    return;
  }
  try {
    const n = Math.min(Number(url.searchParams.get('n') || 64), 4096);
    const tokens = await seed(n);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${tokens.join('\n')}\n`);
  } catch (error) {
    console.error(error);
    res.writeHead(500).end(String(error));
  }
});

provider.listen(PORT, '127.0.0.1', () => {
  seeder.listen(SEED_PORT, '127.0.0.1', () => {
    console.log(`oidc-provider ${ISSUER} (seed on 127.0.0.1:${SEED_PORT}, access tokens ${jwtAccessTokens ? 'ES256 JWT' : 'opaque'})`);
  });
});
