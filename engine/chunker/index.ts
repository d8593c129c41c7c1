export * from './fastcdc';
export * from './chunk-stream';
