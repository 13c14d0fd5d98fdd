// The console's words in two languages; the browser's language unless switched
// (remembered, shared with the reporter app).
const text = {
  'zh-CN': {
    'a.title': '研判', 'a.back': '← 指挥台', 'a.group_by': '分组', 'a.period': '周期', 'a.go': '查询',
    'a.g.category': '类别', 'a.g.group': '类别组', 'a.g.department': '部门', 'a.g.jurisdiction': '辖区', 'a.g.channel': '渠道',
    'a.l.district': '区县', 'a.l.town': '乡镇街道', 'a.l.grid': '网格',
    'a.p.day': '日', 'a.p.week': '周', 'a.p.month': '月', 'a.p.quarter': '季度', 'a.p.year': '年',
    'a.trend.title': '{at} 工单量：同比 {yoy}，环比 {mom}', 'a.trend.total': '全市 {n} 件',
    'a.trend.partial': '本期未结束：按前 {days} 天同口径比较',
    'a.yoy': '同比', 'a.mom': '环比', 'a.double': '双下降', 'a.count': '数量', 'a.prev': '{p}', 'a.change': '变化',
    'a.method': '显著性：两期工单数按泊松计数处理，以条件二项精确检验比较日均数（各期天数不同也可比），表内多行比较经 Benjamini–Hochberg 校正，α = 0.05。',
    'a.export': '导出本期全部工单：', 'a.scores': '部门考核（同比变化，百分点）',
    'a.s.response_rate': '按时受理率', 'a.s.resolution_rate': '解决率', 'a.s.on_time_rate': '按期办结率',
    'a.s.satisfaction_rate': '满意率', 'a.s.reopen_rate': '重办率', 'a.s.return_rate': '退单率',
    'a.s.accept': '受理用时 中位/P90（小时）', 'a.s.resolve': '办结用时 中位/P90（小时）',
    'a.hours': '时段分布（星期 × 小时）', 'a.resolve': '办结用时分布',
    'a.resolve.summary': '已办结 {n} 件，中位 {p50} 小时，P90 {p90} 小时',
    'a.weekdays': '周一,周二,周三,周四,周五,周六,周日',
    'a.hotspots': '热点', 'a.hotspots.summary': '本期 {cells} 个六边形有工单，最多 {top} 件；新兴热点（近 7 天显著高于本期此前水平）{emerging} 个',
    'a.hotspots.map': '热点与新兴热点在指挥台地图的“热点”图层中显示。',
    'a.failed': '查询失败：{why}', 'nav.analysis': '研判',
    'layer.hotspots': '热点（近 90 天）', 'legend.emerging': '新兴热点',
    title: '指挥台', 'lang.other': 'EN', signout: '退出', help: '快捷键', close: '关闭',
    'signin.name': '用户名', 'signin.password': '密码', 'signin.go': '登录',
    'signin.failed': '用户名或密码不对。', 'signin.role': '这个账号不能使用指挥台。',
    'live.on': '实时 · {n}', 'live.off': '连接中断，正在重连…', 'live.connecting': '正在连接…',
    layers: '图层', 'layer.reports': '工单', 'layer.heat': '工单热力', 'layer.units': '警力（实时）',
    'layer.areas': '行政区划', 'layer.kind.cameras': '摄像头', 'layer.kind.drone_bases': '无人机机场',
    'layer.kind.patrol_points': '巡逻点', 'layer.kind.units': '单位驻地', 'layer.kind.generic': '图层',
    'legend.open': '待办', 'legend.overdue': '超期', 'legend.done': '已办结', 'legend.cells': '六边形：数量',
    'legend.available': '空闲', 'legend.busy': '出警中', 'legend.off': '休息', 'legend.stale': '位置过时',
    'legend.on_scene': '在现场', 'unit.traffic_police': '交警', 'unit.special_police': '特警', 'unit.office_staff': '机关', 'unit.police_station': '派出所',
    'f.open': '未办结', 'f.all': '全部状态', 'f.done': '已办结', 'f.all_categories': '全部类别', 'f.all_departments': '全部部门',
    'queue.new': '新工单', 'queue.overdue': '超期', 'queue.returned': '退单', 'queue.escalated': '督办',
    'queue.empty': '没有待办', 'queue.patrol': '巡逻',
    'patrol.checkin': '巡逻签到', 'patrol.done': '已签到：{name}，{at}', 'patrol.print': '打印二维码',
    'patrol.visits': '今日 {n}/{of} 次', 'patrol.state.done': '已完成', 'patrol.state.on_time': '按时',
    'patrol.state.due': '即将到期', 'patrol.state.overdue': '超期', 'patrol.checkin_for': '代签到',
    'd.status': '状态', 'd.category': '类别', 'd.department': '主办部门', 'd.routing': '分派理由', 'd.due': '期限',
    'd.overdue': '已超期', 'd.supporters': '{n} 人报告', 'd.reporter': '报告人', 'd.timeline': '处理经过',
    'ph.processing': '正在为人脸和车牌打码…', 'ph.removed': '已从公开页面移除', 'ph.edit': '打码', 'ph.original': '原图',
    'ph.original_hint': '查看原图（记入个人信息访问日志）', 'ph.hide': '不公开', 'ph.show': '恢复公开',
    'ph.hidden_done': '照片已不再公开', 'ph.shown_done': '照片已恢复公开', 'ph.save': '保存并重新打码', 'ph.saved': '已保存，正在重新打码',
    'ph.help': '拖动框选需要打码的区域；点击已有的框可取消该处打码。', 'ph.failed': '打码失败：{why}',
    'ph.kind.face': '人脸', 'ph.kind.plate': '车牌', 'ph.kind.manual': '人工添加',
    'd.duplicates': '可能重复', 'd.merge_into': '并入这个', 'd.near_identical': '照片几乎相同',
    'd.cameras': '附近摄像头', 'd.units': '附近可派警力', 'd.dispatch': '派警', 'd.dispatches': '派警记录',
    'd.no_units': '范围内没有空闲警力', 'd.no_cameras': '附近没有摄像头', 'd.no_duplicates': '没有疑似重复',
    'd.accept': '受理 (A)', 'd.reject': '不予受理 (R)', 'd.assign': '派单 (D)', 'd.reassign': '改派',
    'd.escalate': '督办', 'd.comment': '备注', 'd.reason': '理由', 'd.note': '备注内容', 'd.cancel_dispatch': '撤回',
    'd.merge': '并单 (M)', 'd.merge_code': '并入的查询码', 'd.done': '已完成：{what}',
    'd.meters': '{m} 米', 'd.eta': '约 {min} 分钟', 'd.stream': '打开视频',
    'err.reason': '请填写理由。', 'err.action': '没有成功：{why}',
    'k.next': '下一条', 'k.prev': '上一条', 'k.open': '打开', 'k.accept': '受理', 'k.reject': '不予受理',
    'k.merge': '并单', 'k.assign': '按分派规则派单', 'k.close': '关闭工单抽屉', 'k.tabs': '切换队列',
    'step.assigned': '已派', 'step.acknowledged': '已接收', 'step.en_route': '在途', 'step.on_scene': '到场',
    'step.cleared': '已完成', 'step.cancelled': '已撤回',
    'status.submitted': '待受理', 'status.accepted': '已受理', 'status.rejected': '不予受理', 'status.merged': '已并单',
    'status.assigned': '已派单', 'status.in_progress': '办理中', 'status.returned': '退单', 'status.resolved': '已办结',
    'status.verified': '已核查', 'status.closed': '已关闭', 'status.reopened': '重新办理',
  },
  en: {
    'a.title': 'Analysis', 'a.back': '← Console', 'a.group_by': 'By', 'a.period': 'Period', 'a.go': 'Show',
    'a.g.category': 'Category', 'a.g.group': 'Category group', 'a.g.department': 'Department', 'a.g.jurisdiction': 'Jurisdiction', 'a.g.channel': 'Channel',
    'a.l.district': 'District', 'a.l.town': 'Town', 'a.l.grid': 'Grid',
    'a.p.day': 'Day', 'a.p.week': 'Week', 'a.p.month': 'Month', 'a.p.quarter': 'Quarter', 'a.p.year': 'Year',
    'a.trend.title': 'Reports in {at}: year on year against {yoy}, period on period against {mom}', 'a.trend.total': '{n} reports city-wide',
    'a.trend.partial': 'the period is still running: its first {days} days against the same days then',
    'a.yoy': 'Year on year', 'a.mom': 'Period on period', 'a.double': 'double decline', 'a.count': 'Count', 'a.prev': '{p}', 'a.change': 'Change',
    'a.method': 'Significance: the two periods\' counts are treated as Poisson counts and their daily rates compared with the exact conditional binomial test (fair across periods of different lengths); a table\'s rows are adjusted with Benjamini–Hochberg; α = 0.05.',
    'a.export': 'Export every report of the period: ', 'a.scores': 'Department scores (change on a year before, in points)',
    'a.s.response_rate': 'Accepted on time', 'a.s.resolution_rate': 'Resolved', 'a.s.on_time_rate': 'Resolved on time',
    'a.s.satisfaction_rate': 'Satisfied', 'a.s.reopen_rate': 'Reopened', 'a.s.return_rate': 'Returned',
    'a.s.accept': 'Hours to accept, median / P90', 'a.s.resolve': 'Hours to resolve, median / P90',
    'a.hours': 'When reports come in (weekday × hour)', 'a.resolve': 'Time to resolve',
    'a.resolve.summary': '{n} resolved, median {p50} h, P90 {p90} h',
    'a.weekdays': 'Mon,Tue,Wed,Thu,Fri,Sat,Sun',
    'a.hotspots': 'Hotspots', 'a.hotspots.summary': '{cells} hexagons with reports in the period, the busiest with {top}; {emerging} emerging (the last 7 days significantly above the period before)',
    'a.hotspots.map': 'Hotspots and emerging hotspots are a layer (“Hotspots”) on the console map.',
    'a.failed': 'Could not load: {why}', 'nav.analysis': 'Analysis',
    'layer.hotspots': 'Hotspots (90 days)', 'legend.emerging': 'Emerging',
    title: 'Command console', 'lang.other': '中文', signout: 'Sign out', help: 'Shortcuts', close: 'Close',
    'signin.name': 'User name', 'signin.password': 'Password', 'signin.go': 'Sign in',
    'signin.failed': 'Wrong name or password.', 'signin.role': 'This account cannot use the console.',
    'live.on': 'Live · {n}', 'live.off': 'Connection lost, reconnecting…', 'live.connecting': 'Connecting…',
    layers: 'Layers', 'layer.reports': 'Reports', 'layer.heat': 'Report heatmap', 'layer.units': 'Units (live)',
    'layer.areas': 'Jurisdictions', 'layer.kind.cameras': 'Cameras', 'layer.kind.drone_bases': 'Drone bases',
    'layer.kind.patrol_points': 'Patrol points', 'layer.kind.units': 'Unit stations', 'layer.kind.generic': 'Layer',
    'legend.open': 'Open', 'legend.overdue': 'Overdue', 'legend.done': 'Done', 'legend.cells': 'Hexagons: count',
    'legend.available': 'Available', 'legend.busy': 'On a job', 'legend.off': 'Off duty', 'legend.stale': 'Stale position',
    'legend.on_scene': 'On scene', 'unit.traffic_police': 'Traffic police', 'unit.special_police': 'Special police', 'unit.office_staff': 'Office staff', 'unit.police_station': 'Police station',
    'f.open': 'Open', 'f.all': 'All statuses', 'f.done': 'Done', 'f.all_categories': 'All categories', 'f.all_departments': 'All departments',
    'queue.new': 'New', 'queue.overdue': 'Overdue', 'queue.returned': 'Returned', 'queue.escalated': 'Escalated',
    'queue.empty': 'Nothing waiting', 'queue.patrol': 'Patrol',
    'patrol.checkin': 'Patrol check-in', 'patrol.done': 'Checked in: {name}, {at}', 'patrol.print': 'Print QR code',
    'patrol.visits': '{n} of {of} today', 'patrol.state.done': 'Done', 'patrol.state.on_time': 'On time',
    'patrol.state.due': 'Due soon', 'patrol.state.overdue': 'Overdue', 'patrol.checkin_for': 'Check in',
    'd.status': 'Status', 'd.category': 'Category', 'd.department': 'Lead department', 'd.routing': 'Routing reason', 'd.due': 'Due',
    'd.overdue': 'Overdue', 'd.supporters': '{n} reported it', 'd.reporter': 'Reporter', 'd.timeline': 'Timeline',
    'ph.processing': 'Blurring faces and plates…', 'ph.removed': 'Removed from public view', 'ph.edit': 'Blur', 'ph.original': 'Original',
    'ph.original_hint': 'See the original (written to the personal-data access log)', 'ph.hide': 'Hide from public', 'ph.show': 'Show to public',
    'ph.hidden_done': 'The photo is no longer public', 'ph.shown_done': 'The photo is public again', 'ph.save': 'Save and blur again', 'ph.saved': 'Saved; blurring again',
    'ph.help': 'Drag to blur another area; click a box to take its blur away.', 'ph.failed': 'Blurring failed: {why}',
    'ph.kind.face': 'Face', 'ph.kind.plate': 'Number plate', 'ph.kind.manual': 'Added by staff',
    'd.duplicates': 'Possible duplicates', 'd.merge_into': 'Merge into this', 'd.near_identical': 'near-identical photo',
    'd.cameras': 'Nearest cameras', 'd.units': 'Nearest available units', 'd.dispatch': 'Dispatch', 'd.dispatches': 'Dispatches',
    'd.no_units': 'No available unit in range', 'd.no_cameras': 'No camera nearby', 'd.no_duplicates': 'No likely duplicate',
    'd.accept': 'Accept (A)', 'd.reject': 'Reject (R)', 'd.assign': 'Assign (D)', 'd.reassign': 'Reassign',
    'd.escalate': 'Escalate', 'd.comment': 'Comment', 'd.reason': 'Reason', 'd.note': 'Note', 'd.cancel_dispatch': 'Call off',
    'd.merge': 'Merge (M)', 'd.merge_code': 'Tracking code to merge into', 'd.done': 'Done: {what}',
    'd.meters': '{m} m', 'd.eta': 'about {min} min', 'd.stream': 'Open stream',
    'err.reason': 'Please give a reason.', 'err.action': 'That did not work: {why}',
    'k.next': 'Next', 'k.prev': 'Previous', 'k.open': 'Open', 'k.accept': 'Accept', 'k.reject': 'Reject',
    'k.merge': 'Merge', 'k.assign': 'Assign as routed', 'k.close': 'Close the drawer', 'k.tabs': 'Switch queue',
    'step.assigned': 'Assigned', 'step.acknowledged': 'Acknowledged', 'step.en_route': 'En route', 'step.on_scene': 'On scene',
    'step.cleared': 'Cleared', 'step.cancelled': 'Called off',
    'status.submitted': 'Submitted', 'status.accepted': 'Accepted', 'status.rejected': 'Rejected', 'status.merged': 'Merged',
    'status.assigned': 'Assigned', 'status.in_progress': 'In progress', 'status.returned': 'Returned', 'status.resolved': 'Resolved',
    'status.verified': 'Verified', 'status.closed': 'Closed', 'status.reopened': 'Reopened',
  },
};

function initial() {
  const saved = localStorage.getItem('lang');
  if (saved && text[saved]) return saved;
  return (navigator.language || 'zh-CN').toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export let lang = initial();

export function t(key, vars = {}) {
  const s = text[lang][key] ?? text['zh-CN'][key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}

export function setLang(next) {
  lang = text[next] ? next : 'zh-CN';
  localStorage.setItem('lang', lang);
  document.documentElement.lang = lang;
}

/** A category's or department's name in the current language. */
export function named(thing) {
  if (!thing) return '';
  if (lang === 'en') return thing.name_en || thing.name || thing.code;
  return thing.name || thing.code;
}
