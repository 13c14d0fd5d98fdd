// Two languages, chosen by the browser unless the reporter switched (remembered).
const text = {
  'zh-CN': {
    'app.title': '随手拍',
    'lang.other': 'EN',
    'photo.heading': '看到隐患？拍下来',
    'photo.take': '拍照或选照片',
    'photo.skip': '没有照片，继续',
    'photo.reading': '正在处理照片…',
    'photo.remove': '删除这张照片',
    'photo.limit': '最多 5 张照片',
    'photo.bad': '“{name}”不是可以打开的图片。',
    'loc.heading': '位置',
    'loc.finding': '正在定位…',
    'loc.gps': '已定位（精度约 {m} 米）',
    'loc.exif': '已用照片中的位置',
    'loc.pin': '请拖动地图上的红点到隐患所在位置',
    'loc.pinned': '已用地图上选的位置',
    'loc.none': '无法自动定位，请在地图上选择位置',
    'loc.use': '用这个位置',
    'cat.heading': '是什么问题？',
    'cat.search': '搜索类别，如“井盖”“消防通道”',
    'cat.suggested': '可能是',
    'cat.none': '没有找到，请换个说法',
    'near.heading': '附近已有人报告',
    'near.intro': '这些问题是不是同一个？如果是，点“我也遇到了”，不用重复报告。',
    'near.metoo': '我也遇到了',
    'near.different': '不是同一个，继续报告',
    'near.thanks': '谢谢！已记下你的支持，共 {n} 人报告了这个问题。',
    'near.distance': '{m} 米外 · {h} 小时前',
    'details.heading': '补充说明',
    'details.description': '描述（写清楚什么问题、在哪里）',
    'details.contact': '联系方式（可选，仅工作人员可见）',
    'details.name': '称呼',
    'details.phone': '手机号',
    'details.anonymous': '匿名报告',
    'details.required': '（必填）',
    'details.choose': '请选择',
    'submit': '提交',
    'back': '返回',
    'next': '下一步',
    'done.heading': '已提交',
    'done.code': '查询码',
    'done.track': '查看处理进度',
    'done.again': '再拍一个',
    'queued.heading': '已保存，等待发送',
    'queued.body': '现在没有网络。报告已保存在手机上，联网后会自动发送，不会重复。',
    'queue.waiting': '{n} 个报告等待发送',
    'queue.refused': '有报告未被接受：{why}',
    'err.photo': '照片有问题：{why}',
    'err.outside': '这个位置不在本市服务范围内。',
    'err.category': '请选择问题类别。',
    'err.description': '请描述问题，或者附上照片。',
    'err.server': '提交未成功：{why}',
    'err.rate': '提交太频繁，请稍后再试。',
    'track.heading': '处理进度',
    'track.status': '状态',
    'track.missing': '没有找到这个查询码。',
    'status.submitted': '已提交', 'status.accepted': '已受理', 'status.assigned': '已派单',
    'status.in_progress': '处理中', 'status.returned': '已退回重派', 'status.resolved': '已办结',
    'status.verified': '已核查', 'status.closed': '已关闭', 'status.rejected': '未受理',
    'status.merged': '已并单', 'status.reopened': '已重新处理',
  },
  en: {
    'app.title': 'Snap & report',
    'lang.other': '中文',
    'photo.heading': 'Seen a hazard? Take a photo',
    'photo.take': 'Take or choose a photo',
    'photo.skip': 'No photo, continue',
    'photo.reading': 'Preparing the photo…',
    'photo.remove': 'Remove this photo',
    'photo.limit': 'At most 5 photos',
    'photo.bad': '“{name}” is not an image that can be opened.',
    'loc.heading': 'Location',
    'loc.finding': 'Finding your location…',
    'loc.gps': 'Located (to about {m} m)',
    'loc.exif': 'Using the location in the photo',
    'loc.pin': 'Drag the red dot on the map to the hazard',
    'loc.pinned': 'Using the place chosen on the map',
    'loc.none': 'Your location is not available; choose the place on the map',
    'loc.use': 'Use this place',
    'cat.heading': 'What is the problem?',
    'cat.search': 'Search, e.g. “manhole”, “fire lane”',
    'cat.suggested': 'Perhaps',
    'cat.none': 'Nothing found; try other words',
    'near.heading': 'Already reported nearby',
    'near.intro': 'Is it one of these? If so, press “Me too” instead of reporting it again.',
    'near.metoo': 'Me too',
    'near.different': 'Not the same, continue',
    'near.thanks': 'Thank you! Your support is counted: {n} people have reported this.',
    'near.distance': '{m} m away · {h} h ago',
    'details.heading': 'Details',
    'details.description': 'Description (what and where)',
    'details.contact': 'Contact (optional, seen by staff only)',
    'details.name': 'Name',
    'details.phone': 'Mobile number',
    'details.anonymous': 'Report anonymously',
    'details.required': '(required)',
    'details.choose': 'Choose',
    'submit': 'Send',
    'back': 'Back',
    'next': 'Next',
    'done.heading': 'Sent',
    'done.code': 'Tracking code',
    'done.track': 'Follow it',
    'done.again': 'Report another',
    'queued.heading': 'Saved, waiting to send',
    'queued.body': 'There is no network now. The report is saved on this phone and will be sent, once, when the network is back.',
    'queue.waiting': '{n} report(s) waiting to send',
    'queue.refused': 'A report was not accepted: {why}',
    'err.photo': 'There is a problem with the photo: {why}',
    'err.outside': 'This place is outside the area the city serves.',
    'err.category': 'Choose what kind of problem it is.',
    'err.description': 'Describe the problem or add a photo.',
    'err.server': 'Not sent: {why}',
    'err.rate': 'Too many reports at once; try again in a minute.',
    'track.heading': 'Progress',
    'track.status': 'Status',
    'track.missing': 'There is no report with this tracking code.',
    'status.submitted': 'Submitted', 'status.accepted': 'Accepted', 'status.assigned': 'Assigned',
    'status.in_progress': 'In progress', 'status.returned': 'Being reassigned', 'status.resolved': 'Resolved',
    'status.verified': 'Checked', 'status.closed': 'Closed', 'status.rejected': 'Not accepted',
    'status.merged': 'Merged with another', 'status.reopened': 'Reopened',
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

/** A category's, question's or value's name in the current language. */
export function named(thing) {
  if (lang === 'en') return thing.name_en || thing.description_en || thing.name || thing.description;
  return thing.name || thing.description;
}
