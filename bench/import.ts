/**
 * The cost of importing the library in a fresh process (compiled by
 * bench/index.ts): `node --expose-gc .bench/bench/import.js`. Prints one JSON
 * line with the heap the import keeps after GC and the time it takes.
 */
const gc = globalThis.gc
if (gc === undefined) throw new Error("run with node --expose-gc")
gc()
gc()
const before = process.memoryUsage().heapUsed
const start = performance.now()
await import("../src/index.js")
const importMs = performance.now() - start
gc()
gc()
console.log(JSON.stringify({ importMs, heapMB: (process.memoryUsage().heapUsed - before) / 1e6 }))
