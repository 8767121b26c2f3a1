// ts-node's transpiler for the suite (tsconfig.json, "ts-node": tap runs the tests through ts-node, which reads that file): the
// one ts-node uses by default in tap's transpile-only mode (its own
// createTsTranspileModule, TypeScript's transpileModule per file, same
// options), with each output kept on disk by a digest of the compiler, its
// options and the file's name and text. Every test process transpiled the
// ~250 modules test/helpers.ts reaches afresh: ~4.5 CPU-s a file, a quarter
// of the suite's CPU on 2 cores. The output is the same text; a changed file
// is a new digest. BODYVAULT_TS_CACHE moves the cache.
'use strict'
const { createHash } = require('node:crypto')
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs')
const { dirname, join } = require('node:path')

const CACHE = process.env.BODYVAULT_TS_CACHE || join(__dirname, '..', 'node_modules', '.cache', 'bodyvault-tap-ts')

exports.create = ({ service: { config, projectLocalResolveHelper }, nodeModuleEmitKind }) => {
  const ts = require(projectLocalResolveHelper('typescript', true))
  // Not in the package's exports: required by its path, as ts-node itself loads it.
  const tsNode = dirname(require.resolve('@isaacs/ts-node-temp-fork-for-pr-2009'))
  const { createTsTranspileModule } = require(join(tsNode, 'ts-transpile-module.js'))
  const transpile = createTsTranspileModule(ts, { compilerOptions: config.options, reportDiagnostics: true })
  const format = nodeModuleEmitKind === 'nodeesm' ? 'module' : 'commonjs'
  const salt = JSON.stringify([ts.version, config.options, format, readFileSync(__filename, 'utf8')])
  let made = false
  return {
    transpile(input, { fileName }) {
      const key = createHash('sha256').update(salt).update('\0').update(fileName).update('\0').update(input).digest('hex')
      const file = join(CACHE, key.slice(0, 2), `${key}.json`)
      try {
        return JSON.parse(readFileSync(file, 'utf8'))
      } catch {
        // not there yet (or half a file from a crash: made again)
      }
      const out = transpile(input, { fileName }, format)
      // A file with diagnostics is not kept: ts-node reports them every time.
      if (!out.diagnostics?.length) {
        const kept = { outputText: out.outputText, sourceMapText: out.sourceMapText }
        if (!made) mkdirSync(CACHE, { recursive: true })
        made = true
        mkdirSync(dirname(file), { recursive: true })
        const tmp = `${file}.${process.pid}.tmp`
        writeFileSync(tmp, JSON.stringify(kept))
        renameSync(tmp, file) // whole or not at all: tap's parallel files read it
      }
      return out
    },
  }
}
