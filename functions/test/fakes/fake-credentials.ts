import { OAuth2Client } from 'google-auth-library';

/**
 * An auth client holding a fixed, never-expiring access token: BigQuery requests carry `Authorization: Bearer
 * fake-token` and google-auth-library never looks for Application Default Credentials or the metadata server.
 * (Storage skips auth by itself when `apiEndpoint` is a custom endpoint.)
 */
export function fakeAuthClient(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: 'fake-token', expiry_date: Date.now() + 24 * 3600 * 1000 });
  return client;
}
