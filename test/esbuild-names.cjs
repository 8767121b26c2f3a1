// tsx (esbuild, keepNames) wraps named functions in a module-local `__name(fn, 'name')`. src/ledger/audit.ts
// builds its worker's source from functions' text (fn.toString()), which then calls `__name` where no module
// defines it: "ReferenceError: __name is not defined" in the worker. tsc's build (dist/, what a station runs)
// has no such call. This preload (package.json "tap" "node-arg") defines esbuild's own helper globally, so the
// tests run src/ as the build runs. --require, not --import: worker threads run --require preloads (on Node 20
// not --import ones).
globalThis.__name ??= (target, value) => Object.defineProperty(target, 'name', { value, configurable: true })
