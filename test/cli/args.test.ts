import { InvalidInputError } from '../../engine';
import { parseSize, parseVolumeSize } from '../../cli/args';

test('--size of a Scaleway volume counts G as Scaleway does (10^9), GiB as 2^30; store sizes stay binary', () => {
  expect(parseVolumeSize('20G', '--size')).toBe(20_000_000_000);
  expect(parseVolumeSize('20GB', '--size')).toBe(20_000_000_000);
  expect(parseVolumeSize('20gb', '--size')).toBe(20_000_000_000);
  expect(parseVolumeSize('20GiB', '--size')).toBe(20 * 2 ** 30);
  expect(parseVolumeSize('1T', '--size')).toBe(1e12);
  expect(parseVolumeSize('500M', '--size')).toBe(500_000_000);
  expect(parseVolumeSize('10000000000', '--size')).toBe(1e10);
  for (const bad of ['20 GX', 'G', '-1G', '1.5G', '']) expect(() => parseVolumeSize(bad, '--size')).toThrow(InvalidInputError);
  expect(() => parseVolumeSize('20X', '--size')).toThrow('--size: "20X" is not a volume size (e.g. 20G = 20000000000 bytes, as Scaleway counts; 20GiB = 20·2^30 bytes)');
  // --chunk-size, --pack-size: unchanged, binary.
  expect(parseSize('16M', '--pack-size')).toBe(16 * 2 ** 20);
});
