import { DamagedObjectError } from '../errors';
import {
  EXT_BACKING_FORMAT,
  EXT_BITMAPS,
  EXT_DATA_FILE,
  EXT_END,
  EXT_FDE,
  EXT_FEATURE_NAMES,
  FEATURE_NAME_ENTRY,
  FEATURE_NAME_LENGTH,
} from './constants';

/** What the header extensions told us (spec "Header extensions"). */
export interface HeaderExtensions {
  /** "incompatible:3" / "compatible:0" / "autoclear:1" → name, from the feature name table. */
  featureNames: Map<string, string>;
  backingFormat?: string;
  dataFile?: string;
  hasEncryptionHeader: boolean;
  hasBitmaps: boolean;
  /** Types we did not recognise and skipped, as the spec allows ("other: can be safely ignored"). */
  unknown: number[];
}

const FEATURE_TYPES = ['incompatible', 'compatible', 'autoclear'];

/**
 * Walk the header extensions in `area` (the bytes from the end of the fixed header to the end of
 * the extension area). Each is type (4), length (4), data padded to a multiple of 8. A missing end
 * marker is tolerated when the area runs out; an extension running past the area is damage.
 */
export function parseExtensions(location: string, area: Uint8Array, areaStart: number): HeaderExtensions {
  const out: HeaderExtensions = { featureNames: new Map(), hasEncryptionHeader: false, hasBitmaps: false, unknown: [] };
  const dv = new DataView(area.buffer, area.byteOffset, area.length);
  let at = 0;
  while (at + 8 <= area.length) {
    const type = dv.getUint32(at);
    const length = dv.getUint32(at + 4);
    if (type === EXT_END) break;
    const dataStart = at + 8;
    if (length > area.length - dataStart) {
      throw new DamagedObjectError(
        location,
        `header extension 0x${type.toString(16)} at byte ${areaStart + at} claims ${length} bytes, past the end of the header area`,
      );
    }
    const data = area.subarray(dataStart, dataStart + length);
    switch (type) {
      case EXT_FEATURE_NAMES:
        readFeatureNames(data, out.featureNames);
        break;
      case EXT_BACKING_FORMAT:
        out.backingFormat = text(data);
        break;
      case EXT_DATA_FILE:
        out.dataFile = text(data);
        break;
      case EXT_FDE:
        out.hasEncryptionHeader = true;
        break;
      case EXT_BITMAPS:
        // Dirty-tracking bitmaps describe changes, not content: irrelevant to reading the disk.
        out.hasBitmaps = true;
        break;
      default:
        out.unknown.push(type);
    }
    at = dataStart + Math.ceil(length / 8) * 8;
  }
  return out;
}

function readFeatureNames(data: Uint8Array, into: Map<string, string>): void {
  for (let at = 0; at + FEATURE_NAME_ENTRY <= data.length; at += FEATURE_NAME_ENTRY) {
    const type = FEATURE_TYPES[data[at]];
    const bit = data[at + 1];
    if (type === undefined || bit > 63) continue; // a bad entry only costs us a nicer message
    const raw = data.subarray(at + 2, at + 2 + FEATURE_NAME_LENGTH);
    const end = raw.indexOf(0);
    into.set(`${type}:${bit}`, text(end < 0 ? raw : raw.subarray(0, end)));
  }
}

function text(bytes: Uint8Array): string {
  // Names are for messages only; keep them printable and short.
  return Buffer.from(bytes.subarray(0, 1024)).toString('utf8').replace(/[^\x20-\x7e]/g, '?');
}
