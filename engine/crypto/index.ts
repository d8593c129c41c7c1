export * from './kdf';
export * from './subkeys';
export * from './chunk-id';
export * from './seal';
export * from './key-file';
