/**
 * Compiles src + bench into .bench/ with bench/tsconfig.json. Bench children
 * run the library as tsc compiles it, as users get it: a transpile-on-load
 * hook (tsx) wraps every closure and would measure itself.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

export const compile = () => {
  const root = fileURLToPath(new URL("..", import.meta.url))
  const compiled = spawnSync("npx", ["tsc", "-p", "bench/tsconfig.json"], {
    cwd: root,
    encoding: "utf8",
    timeout: 180_000
  })
  if (compiled.status !== 0) throw new Error(`compiling the bench failed:\n${compiled.stdout}${compiled.stderr}`)
}
