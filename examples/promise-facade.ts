/**
 * The Promise facade: an application without Effect boots its packages with
 * `await spine.initialize()`, reads health and a report, uses a service, and
 * releases everything with `await spine.cleanup()`. Effect appears only where
 * the packages' layers are defined.
 *
 * Run: npx tsx examples/promise-facade.ts
 */
import { Context, Effect, Layer } from "effect"
import { AuthSpine, AuthSpineError, Package, Report } from "../src/index.js"

// --- packages (Effect layers) ------------------------------------------------

interface UserStore {
  readonly add: (name: string) => Effect.Effect<number>
  readonly count: Effect.Effect<number>
}
class Users extends Context.Tag("example/Users")<Users, UserStore>() {}

interface Greeting {
  readonly greet: (name: string) => Effect.Effect<string>
}
class Greeter extends Context.Tag("example/Greeter")<Greeter, Greeting>() {}

interface Auditing {
  readonly entries: Array<string>
}
class Audit extends Context.Tag("example/Audit")<Audit, Auditing>() {}

const UsersPackage = Package.make({
  name: "users",
  version: "1.0.0",
  category: "core",
  provides: Users,
  layer: Layer.scoped(
    Users,
    Effect.acquireRelease(
      Effect.sync((): UserStore => {
        const names = new Set<string>()
        return {
          add: (name) => Effect.sync(() => names.add(name).size),
          count: Effect.sync(() => names.size)
        }
      }),
      () => Effect.sync(() => console.log("released users"))
    )
  ),
  health: (users) => Effect.asVoid(users.count)
})

const AuditPackage = Package.make({
  name: "audit",
  version: "1.0.0",
  category: "observability",
  provides: Audit,
  feature: "audit",
  layer: Layer.scoped(
    Audit,
    Effect.acquireRelease(
      Effect.sync((): Auditing => ({ entries: [] })),
      (audit) => Effect.sync(() => console.log(`released audit (${audit.entries.length} entries)`))
    )
  )
})

const GreeterPackage = Package.make({
  name: "greeter",
  version: "2.1.0",
  category: "api",
  provides: Greeter,
  requires: [Users],
  layer: Layer.scoped(
    Greeter,
    Effect.acquireRelease(
      Effect.map(Users, (users): Greeting => ({
        greet: (name) => Effect.map(users.add(name), (n) => `hello ${name} (user #${n})`)
      })),
      () => Effect.sync(() => console.log("released greeter"))
    )
  )
})

// --- the application: plain async/await --------------------------------------

const main = async (): Promise<void> => {
  const spine = new AuthSpine({
    packages: [UsersPackage, GreeterPackage, AuditPackage],
    features: { audit: true }
  })
  try {
    await spine.initialize()

    const health = await spine.getHealth()
    console.log(`health: ${health.status} (ready ${health.ready}, live ${health.live})`)

    const greeter = await spine.get(Greeter)
    console.log(await Effect.runPromise(greeter.greet("ada")))
    console.log(await Effect.runPromise(greeter.greet("grace")))

    if (await spine.isFeatureEnabled("audit")) {
      const audit = await spine.get(Audit)
      audit.entries.push("greeted ada", "greeted grace")
    }

    const greeterInfo = await spine.getPackage("greeter")
    console.log(`greeter ${greeterInfo.version} is ${greeterInfo.state}, requires ${greeterInfo.requires[0]?.tag}`)

    const report = await spine.generateReport()
    const { summary } = report
    console.log(
      `report: ${summary.healthyPackages}/${summary.totalPackages} healthy, overall ${summary.overallHealth}, ` +
        `initialized ${summary.initialized}`
    )
    console.log(Report.toText(report))
  } catch (error) {
    if (error instanceof AuthSpineError) console.error(`${error.name}: ${error.message}`)
    else console.error(error)
    process.exitCode = 1
  } finally {
    await spine.cleanup()
  }
}

await main()
