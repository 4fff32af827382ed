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
      self: "[Circular]"
    })
    expect(Object.is((toJson(value) as { negativeZero: number }).negativeZero, 0)).toBe(true)
  })
})
