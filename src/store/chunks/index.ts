/** The chunk codec shared by the SQLite and PostgreSQL line stores (design in codec.ts and bloom.ts). */
export { decodeChunk, encodeChunk, levelBit, levelsAtLeast, searchText, type ChunkMeta, type DecodeFilter, type EncodedChunk } from './codec.js';
export { bloomMayContain } from './bloom.js';
export { mergeChunks, SMALL_SEGMENT_LINES } from './merge.js';
/** the name PostgreSQL's store (h6b) coded against: the same bits as levelsAtLeast (1 << index in LEVELS) */
export { levelsAtLeast as levelsAtOrAbove } from './codec.js';
