import { writeFileSync } from 'node:fs'
import { UsageError } from '../../common/errors.js'
import { custodyReport, type Lang, type ReportKind } from '../../report/custody.js'
import { custodyHtml } from '../../report/html.js'
import { custodyPdf } from '../../report/pdf.js'
import { EXIT, io, parse, type Command, showUsage } from '../common.js'
import { usageOf } from '../table.js'
import { station } from '../open-station.js'

const usage = usageOf('report')

async function cmdReport(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { out: { type: 'string' }, lang: { type: 'string' } }, usage)
  if (values.help) return showUsage(usage)
  const [kind, ref] = positionals
  if (!['recording', 'case', 'export'].includes(kind ?? '') || ref === undefined || positionals.length !== 2)
    throw new UsageError(`report takes recording, case or export and an id\n\nUsage: bodyvault ${usage}`)
  if (values.out === undefined) throw new UsageError(`report writes a file: give --out FILE.pdf (or FILE.html)\n\nUsage: bodyvault ${usage}`)
  const lang = values.lang ?? 'zh'
  if (lang !== 'zh' && lang !== 'en') throw new UsageError(`--lang is zh or en, not "${lang}"`)
  const st = station(values)
  try {
    const r = custodyReport(st.db, { kind: kind as ReportKind, ref, lang: lang as Lang, station: st.cfg.station, now: new Date() })
    const html = values.out.toLowerCase().endsWith('.html')
    writeFileSync(values.out, html ? custodyHtml(r) : await custodyPdf(r))
    io.stdout(
      values.json
        ? JSON.stringify(r, null, 2) + '\n'
        : `wrote ${values.out}: custody report of ${kind} ${ref}, ${r.items.length} recording(s), ${html ? 'HTML' : 'PDF'} in ${lang === 'zh' ? 'Chinese' : 'English'}\n`,
    )
    return EXIT.ok
  } finally {
    st.close()
  }
}

export const reportCommand: Command = { name: 'report', usage, run: cmdReport }
