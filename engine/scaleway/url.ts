import { InvalidInputError } from '../errors';

export interface ScalewayBlockUrl {
  zone: string;
  volumeId?: string;
}

const URL_RE = /^scaleway-block:\/\/([a-z]{2}-[a-z]{3}-[1-9])(?:\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))?\/?$/i;

/** `scaleway-block://ZONE/VOLUME_ID` (a backup source) or `scaleway-block://ZONE` (a restore target). */
export function parseScalewayBlockUrl(url: string, needVolume: boolean): ScalewayBlockUrl {
  const m = URL_RE.exec(url);
  const expected = needVolume ? 'scaleway-block://ZONE/VOLUME_ID (e.g. scaleway-block://fr-par-1/11111111-2222-3333-4444-555555555555)' : 'scaleway-block://ZONE (e.g. scaleway-block://fr-par-1)';
  if (!m || (needVolume && !m[2]) || (!needVolume && m[2])) throw new InvalidInputError(url, `is not a Scaleway Block URL: expected ${expected}`);
  return { zone: m[1].toLowerCase(), volumeId: m[2]?.toLowerCase() };
}
