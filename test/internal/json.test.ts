import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { toJson } from "../../src/internal/json.js"

/** What JSON itself makes of a value it can write. */
const viaJson = (value: unknown): unknown => {
  const text = JSON.stringify(value)
  return text === undefined ? undefined : JSON.parse(text)
}

const jsonable = fc.anything({
  withBoxedValues: true,
  withDate: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true
})

/** Values JSON cannot write: bigints, maps and sets, and (added below) cycles and getters that throw. */
const anything = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withSparseArray: true,
  withTypedArray: true
})

/** `value` with a cycle and a throwing getter hung on its first plain object, if it has one. */
const withTraps = (value: unknown): unknown => {
  const visit = (node: unknown): boolean => {
    if (typeof node !== "object" || node === null) return false
    if (!Array.isArray(node) && Object.getPrototypeOf(node) === Object.prototype && Object.isExtensible(node)) {
      Object.assign(node, { loop: value })
      Object.defineProperty(node, "broken", {
        enumerable: true,
        get: () => {
          throw new Error("no")
        }
      })
      return true
    }
    return Object.values(node).some(visit)
  }
  visit(value)
  return value
}

describe("toJson", () => {
  it.prop("is what JSON makes of any value JSON can write", [jsonable], ([value]) => {
    expect(toJson(value)).toEqual(viaJson(value))
  }, { fastCheck: { numRuns: 500 } })

  it.prop("never throws, and gives plain JSON: writing and reading it changes nothing", [anything], ([value]) => {
    const plain = toJson(withTraps(value))
    expect(viaJson(plain)).toEqual(plain)
  }, { fastCheck: { numRuns: 500 } })

  it("follows toJSON and unboxing as JSON does, and ends a cycle made through toJSON", () => {
    class Node {
      readonly children: Array<Node> = []
      constructor(readonly name: string, readonly parent?: Node) {
        parent?.children.push(this)
      }
      toJSON() {
        return { name: this.name, parent: this.parent, children: [...this.children] }
      }
    }
    const root = new Node("root")
    new Node("leaf", root)
    expect(toJson(root)).toEqual({ name: "root", children: [{ name: "leaf", parent: "[Circular]", children: [] }] })
    const session: Record<string, unknown> = { id: 7 }
    session.toJSON = () => ({ id: 7, self: session })
    expect(toJson(session)).toEqual({ id: 7, self: "[Circular]" })
    const parent: Record<string, unknown> = { name: "p" }
    parent.child = { toJSON: () => parent }
    expect(toJson(parent)).toEqual({ name: "p", child: "[Circular]" })

    const jsonable = {
      itself: {
        a: 1,
        toJSON() {
          return this
        }
      },
      version: Object.assign(() => "1.2.3", { toJSON: () => "1.2.3" }),
      id: Object.assign(new String("internal"), { toString: () => "shown" }),
      n: Object.assign(new Number(1), { [Symbol.toPrimitive]: () => 42 })
    }
    expect(toJson(jsonable)).toEqual(viaJson(jsonable))
    expect(toJson(jsonable)).toEqual({ itself: { a: 1 }, version: "1.2.3", id: "shown", n: 42 })
  })

  it("writes bigints as decimals, maps and sets as objects and arrays, cycles and throwing reads by name", () => {
    const value: Record<string, unknown> = {
      big: -12345678901234567890n,
      map: new Map<unknown, unknown>([[1, "one"], ["two", 2n]]),
      set: new Set([1, 2]),
      negativeZero: -0,
      nan: NaN,
      list: [undefined, () => 1, Symbol("s")],
      shared: [{ a: 1 }],
      toJSONThrows: {
        toJSON: () => {
          throw new Error("no")
        }
      }
    }
    value.again = value.shared
    value.self = value
    value.boxed = Object(12n)
    const list = [1, 2, 3]
    Object.defineProperty(list, 1, {
      enumerable: true,
      get: () => {
        throw new Error("no")
      }
    })
    value.getters = list
    expect(toJson(value)).toEqual({
      big: "-12345678901234567890",
      map: { 1: "one", two: "2" },
      set: [1, 2],
      negativeZero: 0,
      nan: null,
      list: [null, null, null],
      shared: [{ a: 1 }],
      toJSONThrows: "[Unserializable]",
      again: [{ a: 1 }],
      self: "[Circular]",
      boxed: "12",
      getters: [1, "[Unserializable]", 3]
    })
    expect(Object.is((toJson(value) as { negativeZero: number }).negativeZero, 0)).toBe(true)
  })
})
