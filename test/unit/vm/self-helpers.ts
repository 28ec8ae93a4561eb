export { seededRandom as seededRandomForTest } from '../../../src/common/index.ts'
export { breed, exportTrace, offlineHost, replayTrace, runSource } from '../../../src/vm/index.ts'
