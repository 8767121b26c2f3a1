/**
 * 简体中文: the station's language and the front end's default. Terms are
 * the station glossary's (docs/glossary.md): 执法记录仪, 警号, 设备编号, the
 * docking states. This catalog names every key; en.ts must have the same.
 * `{name}` is filled in by t().
 */
export const zhCN = {
  'app.name': 'bodyvault 采集站',
  'home.title': '采集站',
  'home.dockScreen': '采集站屏幕（插入执法记录仪后显示采集进度）',
  'lang.switch': 'English',
  'lang.switchLabel': '切换到英文',

  'station.title': '执法记录仪采集',
  'station.conn.open': '已连接',
  'station.conn.connecting': '正在连接采集站…',
  'station.conn.reconnecting': '与采集站的连接已断开，正在重新连接…',
  'station.conn.stale': '以下信息可能已过时',
  'station.stopping': '采集站正在停止：请等它重新启动后再插入记录仪',
  'station.empty': '请将执法记录仪插入采集站',
  'station.emptyHint': '插入后此处显示采集进度。看到“采集完成，可以拔出”后再拔出记录仪。',
  'station.cameras': '已插入的记录仪',
  'station.recent': '刚拔出的记录仪',

  'state.detected': '已识别',
  'state.unlocking': '正在解锁',
  'state.queued': '排队中',
  'state.copying': '正在采集',
  'state.verifying': '正在校验',
  'state.wiping': '正在清除记录仪',
  'state.safe-to-undock': '采集完成，可以拔出',
  'state.error': '出错',

  'tile.doNotUndock': '采集未完成，请勿拔出',
  'tile.safe': '采集完成，可以拔出',
  'tile.safeDetail': '全部 {files} 个文件已校验存入，共 {bytes}',
  'tile.wiped': '记录仪已清除',
  'tile.officerUnknown': '未识别民警',
  'tile.policeNo': '警号 {no}',
  'tile.device': '设备编号 {id}',
  'tile.deviceUnknown': '设备编号未知',
  'tile.files': '{done} / {total} 个文件',
  'tile.bytes': '{done} / {total}',
  'tile.rate': '{rate}/秒',
  'tile.eta': '预计还需 {eta}',
  'tile.queued': '前面还有记录仪在采集，请稍候',
  'tile.waiting': '正在等待记录仪的存储空间出现',
  'tile.surveying': '正在读取记录仪中的文件列表…',
  'tile.progress': '采集进度',
  'tile.clockDrift': '记录仪时间偏差：比采集站快 {ahead}，请校准记录仪时间',
  'tile.error.todo': '请拔出记录仪，再重新插入重试；仍然出错请联系系统管理员。',
  'tile.error.detail': '详细信息：{detail}',

  'recent.complete': '采集完成',
  'recent.incomplete': '采集未完成：请重新插入以继续采集',
  'recent.left': '{time} 拔出',
  'recent.files': '{done} / {total} 个文件',

  'credential.missing.title': '此屏幕还没有采集站凭据',
  'credential.missing.body': '在采集站电脑上运行下面的命令，然后在此浏览器中打开它给出的地址（只需一次）：',
  'credential.rejected.title': '采集站拒绝了此屏幕的凭据',
  'credential.rejected.body': '凭据已被吊销或无效。请重新生成，然后在此浏览器中打开新的地址：',

  'unit.B': '{n} B',
  'unit.KB': '{n} KB',
  'unit.MB': '{n} MB',
  'unit.GB': '{n} GB',
  'unit.TB': '{n} TB',
  'duration.s': '{s} 秒',
  'duration.ms': '{m} 分 {s} 秒',
  'duration.hm': '{h} 小时 {m} 分',
} as const

export type MessageKey = keyof typeof zhCN
export type Messages = Record<MessageKey, string>
