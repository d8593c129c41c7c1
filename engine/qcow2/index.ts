/**
 * QCOW2 images: read what QEMU and Scaleway write (openQcow2), write what Scaleway imports
 * (qcow2Stream). Other folders import only this file.
 */
export { isQcow2 } from './header';
export { openQcow2, Qcow2Image } from './reader';
export type { Qcow2OpenOptions, Qcow2ReadStats, Qcow2Description } from './reader';
export type { CompressionType } from './features';
export { planQcow2, qcow2DataPlacement, qcow2Metadata, qcow2Stream, qcow2StreamLength } from './writer';
export { qcow2Range } from './range';
export type { Qcow2Plan, Qcow2WriteOptions } from './writer';
