/**
 * Testing an application built on the spine, without its infrastructure.
 *
 *   database ─► users
 *
 * The real database package reads `DATABASE_URL` and opens a connection pool. In the test below it is replaced by
 * `Package.mock`: the same package (name, version, place in the graph) whose service is an in-memory table. The
 * users package is the real one, so the test exercises its rules — validation, uniqueness, not-found errors — against
 * the mock. `SpineTest.layer` boots the packages with short timeouts and no scheduled health checks.
 *
 * The mock implements only what the users service needs; `migrate` is left out, and calling it would die with
 * `Package.mock: "migrate" of package "database" has no implementation in this mock`.
 */
import { expect, layer } from "@effect/vitest"
import { Config, Context, Data, Effect, Layer, Option } from "effect"
import { Package, Spine } from "../src/index.js"
import * as SpineTest from "../src/testing/SpineTest.js"

// ---------------------------------------------------------------------------------------------------------------------
// The application
// ---------------------------------------------------------------------------------------------------------------------

interface UserRow {
  readonly id: number
  readonly email: string
  readonly name: string
}

class Database extends Context.Tag("testing-example/Database")<Database, {
  readonly insertUser: (row: Omit<UserRow, "id">) => Effect.Effect<UserRow>
  readonly findUserById: (id: number) => Effect.Effect<Option.Option<UserRow>>
  readonly findUserByEmail: (email: string) => Effect.Effect<Option.Option<UserRow>>
  readonly migrate: Effect.Effect<void>
}>() {}

const DatabasePackage = Package.make({
  name: "database",
  version: "3.1.0",
  category: "infrastructure",
  provides: Database,
  config: Config.string("DATABASE_URL"),
  layer: (url) =>
    Layer.effect(
      Database,
      // A real implementation would open a pool here; the test never gets this far.
      Effect.dieMessage(`no database server at ${url} in this example`)
    )
})

class InvalidEmail extends Data.TaggedError("InvalidEmail")<{ readonly email: string }> {}
class EmailTaken extends Data.TaggedError("EmailTaken")<{ readonly email: string }> {}
class UserNotFound extends Data.TaggedError("UserNotFound")<{ readonly id: number }> {}

class Users extends Context.Tag("testing-example/Users")<Users, {
  readonly register: (email: string, name: string) => Effect.Effect<UserRow, InvalidEmail | EmailTaken>
  readonly get: (id: number) => Effect.Effect<UserRow, UserNotFound>
  readonly greeting: (id: number) => Effect.Effect<string, UserNotFound>
}>() {}

const UsersPackage = Package.make({
  name: "users",
  version: "1.0.0",
  category: "domain",
  provides: Users,
  requires: [[Database, "^3.0.0"]],
  layer: Layer.effect(
    Users,
    Effect.gen(function*() {
      const db = yield* Database
      const get = (id: number) =>
        Effect.flatMap(
          db.findUserById(id),
          Option.match({
            onNone: () => Effect.fail(new UserNotFound({ id })),
            onSome: Effect.succeed
          })
        )
      return {
        register: (email, name) =>
          Effect.gen(function*() {
            const normalized = email.trim().toLowerCase()
            if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(normalized)) return yield* new InvalidEmail({ email })
            if (Option.isSome(yield* db.findUserByEmail(normalized))) {
              return yield* new EmailTaken({ email: normalized })
            }
            return yield* db.insertUser({ email: normalized, name: name.trim() })
          }),
        get,
        greeting: (id) => Effect.map(get(id), (user) => `Hello, ${user.name}!`)
      }
    })
  )
})

// ---------------------------------------------------------------------------------------------------------------------
// The test: the database mocked with an in-memory table
// ---------------------------------------------------------------------------------------------------------------------

const rows = new Map<number, UserRow>()

const DatabaseMock = Package.mock(DatabasePackage, {
  insertUser: (row) =>
    Effect.sync(() => {
      const user = { id: rows.size + 1, ...row }
      rows.set(user.id, user)
      return user
    }),
  findUserById: (id) => Effect.sync(() => Option.fromNullable(rows.get(id))),
  findUserByEmail: (email) => Effect.sync(() => Option.fromNullable([...rows.values()].find((r) => r.email === email)))
})

layer(SpineTest.layer({ packages: [DatabaseMock, UsersPackage] }))("users service (database mocked)", (it) => {
  it.effect("boots with the mock in the database's place, without reading DATABASE_URL", () =>
    Effect.gen(function*() {
      const spine = yield* Spine.Spine
      expect(yield* spine.state("database")).toBe("ready")
      expect(yield* spine.state("users")).toBe("ready")
      expect((yield* spine.graph).dependents("database")).toEqual(["users"])
    }))

  it.effect("registers a user with a normalised email and reads it back", () =>
    Effect.gen(function*() {
      const users = yield* Users
      const ada = yield* users.register("  Ada@Example.com ", " Ada ")
      expect(ada).toMatchObject({ email: "ada@example.com", name: "Ada" })
      expect(rows.get(ada.id)).toEqual(ada)
      expect(yield* users.get(ada.id)).toEqual(ada)
      expect(yield* users.greeting(ada.id)).toBe("Hello, Ada!")
    }))

  it.effect("refuses an email that is already taken, whatever its case", () =>
    Effect.gen(function*() {
      const users = yield* Users
      yield* users.register("grace@example.com", "Grace")
      const error = yield* Effect.flip(users.register("GRACE@example.com", "Another Grace"))
      expect(error).toEqual(new EmailTaken({ email: "grace@example.com" }))
    }))

  it.effect("refuses an invalid email without touching the database", () =>
    Effect.gen(function*() {
      const users = yield* Users
      const before = rows.size
      const error = yield* Effect.flip(users.register("not-an-email", "Nobody"))
      expect(error._tag).toBe("InvalidEmail")
      expect(rows.size).toBe(before)
    }))

  it.effect("fails with UserNotFound for an unknown id", () =>
    Effect.gen(function*() {
      const users = yield* Users
      expect(yield* Effect.flip(users.greeting(404))).toEqual(new UserNotFound({ id: 404 }))
    }))
})
