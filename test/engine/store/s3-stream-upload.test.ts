import { MAX_PART_MEMORY, planParts } from '../../../engine/store/backends/s3-stream-upload';

const MiB = 1024 * 1024;

describe('planParts: multipart sizing within S3 limits and bounded memory', () => {
  it('uses 16 MiB parts, 3 in flight, for ordinary images', () => {
    expect(planParts({ expectedSize: 20 * 1024 * MiB })).toEqual({ partSize: 16 * MiB, inFlight: 3 });
  });

  it('grows parts so a 1 TB image fits in 10 000 parts, and then uploads fewer at once', () => {
    const { partSize, inFlight } = planParts({ expectedSize: 1e12 });
    expect(partSize).toBe(1e8);
    expect(Math.ceil(1e12 / partSize)).toBeLessThanOrEqual(10_000);
    expect(inFlight).toBe(1);
    // One part uploading and one filling: about 191 MiB, not the 4 x 95 MiB of three in flight.
    expect((inFlight + 1) * partSize).toBeLessThan(2 * MAX_PART_MEMORY);
  });

  it('keeps the caller\'s bounds: at least 5 MiB parts, 1 to 4 in flight', () => {
    expect(planParts({ partSize: 1024, partsInFlight: 9 })).toEqual({ partSize: 5 * MiB, inFlight: 4 });
    expect(planParts({ partsInFlight: 0 })).toEqual({ partSize: 16 * MiB, inFlight: 1 });
  });
});
