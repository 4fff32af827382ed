import { addEqualityTesters } from "@effect/vitest"

// `toEqual` compares Effect data (Option, Exit, Data classes, HashMap) with `Equal`, structurally
addEqualityTesters()
