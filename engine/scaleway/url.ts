import { InvalidInputError } from '../errors';

const ZONE = '([a-z]{2}-[a-z]{3}-[1-9])';
const UUID = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';
const EXAMPLE_ID = '11111111-2222-3333-4444-555555555555';

/**
 * `SCHEME://ZONE/ID` or `SCHEME://ZONE`: `needId` true requires the id, false forbids it, undefined
 * allows both. Refusals name the URL and show the expected form.
 */
function parseZoneUrl(url: string, scheme: string, what: string, idName: string, needId: boolean | undefined): { zone: string; id?: string } {
  const m = new RegExp(`^${scheme}://${ZONE}(?:/${UUID})?/?$`, 'i').exec(url);
  if (!m || (needId === true && !m[2]) || (needId === false && m[2])) {
    const withId = `${scheme}://ZONE/${idName} (e.g. ${scheme}://fr-par-1/${EXAMPLE_ID})`;
    const bare = `${scheme}://ZONE (e.g. ${scheme}://fr-par-1)`;
    const expected = needId === true ? withId : needId === false ? bare : `${withId} or ${scheme}://ZONE`;
    throw new InvalidInputError(url, `is not a Scaleway ${what} URL: expected ${expected}`);
  }
  return { zone: m[1].toLowerCase(), id: m[2]?.toLowerCase() };
}

export interface ScalewayBlockUrl {
  zone: string;
  volumeId?: string;
}

/** `scaleway-block://ZONE/VOLUME_ID` (a backup source) or `scaleway-block://ZONE` (a restore target). */
export function parseScalewayBlockUrl(url: string, needVolume: boolean): ScalewayBlockUrl {
  const { zone, id } = parseZoneUrl(url, 'scaleway-block', 'Block', 'VOLUME_ID', needVolume);
  return { zone, volumeId: id };
}

export interface ScalewayInstanceUrl {
  zone: string;
  serverId?: string;
}

/**
 * `scaleway-instance://ZONE/SERVER_ID` (a backup source, or an existing server to restore onto) or
 * `scaleway-instance://ZONE` (with a new server's name).
 */
export function parseScalewayInstanceUrl(url: string, needServer: boolean): ScalewayInstanceUrl {
  const { zone, id } = parseZoneUrl(url, 'scaleway-instance', 'Instance', 'SERVER_ID', needServer ? true : undefined);
  return { zone, serverId: id };
}
