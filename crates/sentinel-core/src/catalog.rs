//! Categories, departments and routing rules: the city's configuration. A built-in
//! set drawn from the hazards in the source (fire lanes, elevators, food safety,
//! roads, construction, traffic, public order) serves until a city loads its own
//! (`sentinel import config FILE`, TOML or JSON, or the admin API).

use crate::Priority;
use crate::calendar::Limit;
use crate::routing::RoutingRule;
use serde::{Deserialize, Serialize};

/// The Open311 datatypes of a category's extra questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributeType {
    /// A short line of text.
    String,
    /// A number.
    Number,
    /// An RFC 3339 date-time.
    Datetime,
    /// Free text.
    Text,
    /// One key from `values`.
    Singlevaluelist,
    /// Several keys from `values`.
    Multivaluelist,
}

/// One allowed answer of a list question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeValue {
    /// Stored key.
    pub key: String,
    /// Chinese label.
    pub name: String,
    /// English label.
    #[serde(default)]
    pub name_en: String,
}

/// An extra question a category asks (an Open311 service attribute).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// Key in the report's `attributes`.
    pub code: String,
    /// The question in Chinese.
    pub description: String,
    /// The question in English.
    #[serde(default)]
    pub description_en: String,
    /// Answer type.
    pub datatype: AttributeType,
    /// Must be answered.
    #[serde(default)]
    pub required: bool,
    /// Display order.
    #[serde(default)]
    pub order: u32,
    /// Allowed answers, for list types.
    #[serde(default)]
    pub values: Vec<AttributeValue>,
}

fn default_radius() -> f64 {
    100.0
}
fn default_window() -> u32 {
    72
}
fn yes() -> bool {
    true
}
/// Time limits of a category (see [`crate::calendar`] for how they count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    /// From submission to 受理.
    pub accept: Limit,
    /// From 受理 to 派单.
    pub dispatch: Limit,
    /// From 派单 to 办结.
    pub resolve: Limit,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            accept: Limit::Hours(2),
            dispatch: Limit::Hours(4),
            resolve: Limit::WorkingDays(5),
        }
    }
}

/// A kind of hazard a reporter can choose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    /// Stable code, used by clients and Open311 `service_code`.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Group for the picker.
    pub group: String,
    /// Short description shown to reporters.
    #[serde(default)]
    pub description: String,
    /// Words that suggest this category in a description.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Extra questions.
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    /// Priority a new report gets.
    #[serde(default)]
    pub default_priority: Priority,
    /// Department that handles it when no routing rule is more specific.
    #[serde(default)]
    pub default_department: String,
    /// Time limits for normal priority.
    #[serde(default)]
    pub deadlines: Deadlines,
    /// Tighter (or looser) limits for some priorities.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub deadlines_by_priority: std::collections::BTreeMap<Priority, Deadlines>,
    /// Whether a report may be filed without contact details.
    #[serde(default = "yes")]
    pub allow_anonymous: bool,
    /// Whether 核查 is required before closing.
    #[serde(default)]
    pub requires_verification: bool,
    /// Open reports of this category within this distance are likely duplicates.
    #[serde(default = "default_radius")]
    pub duplicate_radius_m: f64,
    /// ...if filed within this many hours.
    #[serde(default = "default_window")]
    pub duplicate_window_hours: u32,
    /// Open311: answer POST at once (true) or with a token for later (false).
    #[serde(default = "yes")]
    pub realtime: bool,
}

/// A department that handles work orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Department {
    /// Stable code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    #[serde(default)]
    pub name_en: String,
}

/// A heading the category picker groups categories under, named in both languages
/// (a person never reads the code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryGroup {
    /// Stable code, named by categories and routing rules.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
}

/// The built-in groups' names, which a city's configuration may use without
/// declaring them: (code, Chinese, English).
const BUILTIN_GROUPS: &[(&str, &str, &str)] = &[
    ("fire_safety", "消防安全", "Fire safety"),
    ("equipment", "电梯与特种设备", "Lifts and equipment"),
    ("market", "食品与市场", "Food and markets"),
    ("roads", "道路交通", "Roads and traffic"),
    ("construction", "建筑施工", "Construction"),
    ("city", "市容市政", "Streets and public works"),
    ("public_safety", "社会治安", "Public order"),
    ("other", "其他", "Other"),
];

/// Where a report outside every jurisdiction goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutsideServiceArea {
    /// Refused with 422 "outside the service area".
    #[default]
    Refuse,
    /// Accepted into the dispatch queue.
    DispatchQueue,
}

/// The categories, departments and routing rules in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// All departments.
    pub departments: Vec<Department>,
    /// All categories.
    pub categories: Vec<Category>,
    /// The names of the categories' groups; built-in group codes may be left out.
    #[serde(default)]
    pub groups: Vec<CategoryGroup>,
    /// Routing rules; see [`crate::routing`].
    #[serde(default)]
    pub rules: Vec<RoutingRule>,
    /// The department (usually the command centre) that gets what no rule covers.
    pub dispatch_queue: String,
    /// What to do with a report outside every jurisdiction.
    #[serde(default)]
    pub outside_service_area: OutsideServiceArea,
    /// Hours after a missed deadline before 督办 goes to the dispatcher (催办 comes at
    /// the deadline itself).
    #[serde(default = "default_escalation_hours")]
    pub escalate_after_hours: u32,
}

fn default_escalation_hours() -> u32 {
    4
}

/// A configuration that does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Category {
    /// The limits that apply at `priority`.
    pub fn deadlines_for(&self, priority: Priority) -> Deadlines {
        self.deadlines_by_priority
            .get(&priority)
            .copied()
            .unwrap_or(self.deadlines)
    }
}

impl Catalog {
    /// The category with this code.
    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// Every group some category is in, in the order categories first name them,
    /// with its names (declared, else built in; [`Catalog::check`] makes sure one is).
    pub fn group_list(&self) -> Vec<CategoryGroup> {
        let mut out: Vec<CategoryGroup> = Vec::new();
        for c in &self.categories {
            if out.iter().any(|g| g.code == c.group) {
                continue;
            }
            if let Some(g) = self.group(&c.group) {
                out.push(g);
            }
        }
        out
    }

    /// The group with this code and its names.
    pub fn group(&self, code: &str) -> Option<CategoryGroup> {
        self.groups
            .iter()
            .find(|g| g.code == code)
            .cloned()
            .or_else(|| {
                BUILTIN_GROUPS
                    .iter()
                    .find(|g| g.0 == code)
                    .map(|(code, name, name_en)| CategoryGroup {
                        code: (*code).into(),
                        name: (*name).into(),
                        name_en: (*name_en).into(),
                    })
            })
    }

    /// The department with this code.
    pub fn department(&self, code: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.code == code)
    }

    /// Reads a configuration from TOML or JSON (by content) and checks it.
    pub fn parse(text: &str) -> Result<Catalog, ConfigError> {
        let c: Catalog = if text.trim_start().starts_with('{') {
            serde_json::from_str(text)
                .map_err(|e| ConfigError(format!("invalid JSON configuration: {e}")))?
        } else {
            toml::from_str(text)
                .map_err(|e| ConfigError(format!("invalid TOML configuration: {e}")))?
        };
        c.check()?;
        Ok(c)
    }

    /// Checks that names are unique and every reference resolves.
    pub fn check(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(m));
        let mut seen = std::collections::HashSet::new();
        for d in &self.departments {
            if d.code.trim().is_empty() || !seen.insert(d.code.as_str()) {
                return err(format!(
                    "department code {:?} is empty or appears twice",
                    d.code
                ));
            }
        }
        let dept = |code: &str, whose: &str| -> Result<(), ConfigError> {
            if self.department(code).is_none() {
                return Err(ConfigError(format!(
                    "{whose} names unknown department {code:?}"
                )));
            }
            Ok(())
        };
        dept(&self.dispatch_queue, "dispatch_queue")?;
        let mut codes = std::collections::HashSet::new();
        for c in &self.categories {
            if c.code.trim().is_empty() || !codes.insert(c.code.as_str()) {
                return err(format!(
                    "category code {:?} is empty or appears twice",
                    c.code
                ));
            }
            if !c.default_department.is_empty() {
                dept(&c.default_department, &format!("category {}", c.code))?;
            }
            if !(c.duplicate_radius_m.is_finite() && c.duplicate_radius_m >= 0.0) {
                return err(format!(
                    "category {}: duplicate_radius_m must be a non-negative number",
                    c.code
                ));
            }
            let mut keys = std::collections::HashSet::new();
            for a in &c.attributes {
                if !keys.insert(a.code.as_str()) {
                    return err(format!(
                        "category {}: attribute {:?} appears twice",
                        c.code, a.code
                    ));
                }
                let list = matches!(
                    a.datatype,
                    AttributeType::Singlevaluelist | AttributeType::Multivaluelist
                );
                if list == a.values.is_empty() {
                    return err(format!(
                        "category {}: attribute {:?}: list types need values, others none",
                        c.code, a.code
                    ));
                }
            }
        }
        let mut declared = std::collections::HashSet::new();
        for g in &self.groups {
            if g.code.trim().is_empty() || !declared.insert(g.code.as_str()) {
                return err(format!("group code {:?} is empty or appears twice", g.code));
            }
            if g.name.trim().is_empty() || g.name_en.trim().is_empty() {
                return err(format!(
                    "group {:?} needs a name and a name_en: people read them",
                    g.code
                ));
            }
        }
        for c in &self.categories {
            if self.group(&c.group).is_none() {
                return err(format!(
                    "category {} is in group {:?}, which has no name: add [[groups]] with code = {:?}, name and name_en",
                    c.code, c.group, c.group
                ));
            }
        }
        let groups: std::collections::HashSet<&str> =
            self.categories.iter().map(|c| c.group.as_str()).collect();
        for (i, r) in self.rules.iter().enumerate() {
            let whose = format!("rule {i}");
            dept(&r.department, &whose)?;
            for d in &r.co_departments {
                dept(d, &whose)?;
            }
            if let Some(c) = &r.category
                && self.category(c).is_none()
            {
                return err(format!("{whose} names unknown category {c:?}"));
            }
            if let Some(g) = &r.group
                && !groups.contains(g.as_str())
            {
                return err(format!("{whose} names unknown category group {g:?}"));
            }
            if r.category.is_some() && r.group.is_some() {
                return err(format!(
                    "{whose} names both a category and a group; use one"
                ));
            }
            if r.jurisdiction.is_some() && r.level.is_some() {
                return err(format!(
                    "{whose} names both a jurisdiction and a level; use one"
                ));
            }
        }
        Ok(())
    }

    /// The built-in set.
    pub fn builtin() -> Catalog {
        let dept = |code: &str, name: &str, name_en: &str| Department {
            code: code.into(),
            name: name.into(),
            name_en: name_en.into(),
        };
        let departments = vec![
            dept("fire", "消防救援支队", "Fire and Rescue"),
            dept("market", "市场监督管理局", "Market Regulation"),
            dept(
                "special_equipment",
                "特种设备安全监察",
                "Special Equipment Safety",
            ),
            dept("housing", "住房和城乡建设局", "Housing and Construction"),
            dept("traffic", "公安交警支队", "Traffic Police"),
            dept("police", "派出所", "Police Station"),
            dept("property", "物业管理", "Property Management"),
            dept("city_management", "城市管理局", "City Management"),
            dept("water", "供水公司", "Water Utility"),
            dept("dispatch", "指挥中心", "Command Centre"),
        ];
        #[allow(clippy::too_many_arguments)]
        fn cat(
            code: &str,
            name: &str,
            name_en: &str,
            group: &str,
            description: &str,
            keywords: &[&str],
            priority: Priority,
            department: &str,
            verification: bool,
        ) -> Category {
            Category {
                code: code.into(),
                name: name.into(),
                name_en: name_en.into(),
                group: group.into(),
                description: description.into(),
                keywords: keywords.iter().map(|k| (*k).into()).collect(),
                attributes: vec![],
                default_priority: priority,
                default_department: department.into(),
                deadlines: Deadlines::default(),
                deadlines_by_priority: Default::default(),
                allow_anonymous: true,
                requires_verification: verification,
                duplicate_radius_m: default_radius(),
                duplicate_window_hours: default_window(),
                realtime: true,
            }
        }
        use Priority::*;
        let categories = vec![
            cat(
                "fire_lane_blocked",
                "消防通道堵塞",
                "Fire lane blocked",
                "fire_safety",
                "Vehicles or objects blocking a fire lane or exit",
                &["消防通道", "堵塞", "占用", "fire lane", "blocked"],
                High,
                "fire",
                true,
            ),
            cat(
                "fire_hazard",
                "火灾隐患",
                "Fire hazard",
                "fire_safety",
                "Flying wires, e-bikes charging indoors, locked exits, broken extinguishers",
                &["飞线", "充电", "电动车", "灭火器", "wires", "charging"],
                High,
                "fire",
                true,
            ),
            cat(
                "elevator_fault",
                "电梯故障",
                "Elevator fault",
                "equipment",
                "Elevators stopping, grinding or with doors that do not close",
                &["电梯", "异响", "困人", "elevator", "lift"],
                Urgent,
                "special_equipment",
                true,
            ),
            cat(
                "food_safety",
                "食品安全",
                "Food safety",
                "market",
                "Dirty kitchens, spoiled food, unlicensed food sellers",
                &["后厨", "卫生", "变质", "外卖", "kitchen", "food"],
                Normal,
                "market",
                false,
            ),
            cat(
                "pothole",
                "道路坑洼",
                "Pothole",
                "roads",
                "Holes, subsidence or broken surfaces on roads and pavements",
                &["坑", "塌陷", "路面", "pothole", "road"],
                Normal,
                "housing",
                false,
            ),
            cat(
                "manhole_cover",
                "井盖缺失",
                "Missing manhole cover",
                "roads",
                "Missing, broken or loose manhole covers",
                &["井盖", "manhole"],
                Urgent,
                "city_management",
                true,
            ),
            cat(
                "construction_safety",
                "工地安全",
                "Construction site safety",
                "construction",
                "Unsafe scaffolding, missing fences, falling objects near sites",
                &["工地", "脚手架", "围挡", "construction", "scaffold"],
                High,
                "housing",
                true,
            ),
            cat(
                "traffic_hazard",
                "交通隐患",
                "Traffic hazard",
                "roads",
                "Broken signals, missing signs, dangerous junctions",
                &["信号灯", "红绿灯", "标志", "路口", "traffic light", "sign"],
                High,
                "traffic",
                false,
            ),
            cat(
                "illegal_parking",
                "违法停车",
                "Illegal parking",
                "roads",
                "Vehicles parked where they endanger others",
                &["违停", "停车", "parking"],
                Normal,
                "traffic",
                false,
            ),
            cat(
                "public_order",
                "治安隐患",
                "Public order hazard",
                "public_safety",
                "Suspicious activity, damaged locks, dark alleys",
                &["治安", "可疑", "小偷", "门锁", "suspicious", "theft"],
                Normal,
                "police",
                false,
            ),
            cat(
                "gas_leak",
                "燃气隐患",
                "Gas hazard",
                "fire_safety",
                "Smell of gas, damaged gas pipes or cylinders",
                &["燃气", "煤气", "气味", "gas"],
                Urgent,
                "housing",
                true,
            ),
            cat(
                "rubbish",
                "垃圾堆放",
                "Rubbish",
                "city",
                "Rubbish piled up, overflowing bins, fly-tipping",
                &[
                    "垃圾",
                    "垃圾桶",
                    "乱扔",
                    "乱倒",
                    "堆放",
                    "清运",
                    "脏乱",
                    "rubbish",
                    "trash",
                    "garbage",
                    "litter",
                    "bin",
                ],
                Normal,
                "city_management",
                false,
            ),
            cat(
                "streetlight",
                "路灯故障",
                "Streetlight out",
                "city",
                "Street lamps that are out, flicker or hang loose",
                &[
                    "路灯",
                    "灯不亮",
                    "不亮",
                    "灯坏",
                    "照明",
                    "黑灯",
                    "streetlight",
                    "street light",
                    "lamp",
                    "dark",
                ],
                Normal,
                "city_management",
                false,
            ),
            cat(
                "tree_hazard",
                "树木隐患",
                "Dangerous tree",
                "city",
                "Fallen trees, broken or hanging branches, trees leaning on wires",
                &[
                    "树", "树木", "树枝", "断枝", "倒伏", "倒树", "tree", "branch", "fallen",
                ],
                High,
                "city_management",
                false,
            ),
            cat(
                "water_leak",
                "供水漏水",
                "Water leak",
                "city",
                "Burst or leaking water pipes, water running in the street",
                &[
                    "漏水", "水管", "爆管", "跑水", "冒水", "积水", "停水", "leak", "water",
                    "pipe", "burst",
                ],
                High,
                "water",
                false,
            ),
            cat(
                "other",
                "其他隐患",
                "Other hazard",
                "other",
                "Anything else that puts people at risk",
                &[],
                Normal,
                "dispatch",
                false,
            ),
        ];
        let mut categories = categories;
        let choice = |key: &str, name: &str, name_en: &str| AttributeValue {
            key: key.into(),
            name: name.into(),
            name_en: name_en.into(),
        };
        #[allow(clippy::too_many_arguments)]
        let question = |code: &str,
                        zh: &str,
                        en: &str,
                        datatype: AttributeType,
                        required: bool,
                        order: u32,
                        values: Vec<AttributeValue>| Attribute {
            code: code.into(),
            description: zh.into(),
            description_en: en.into(),
            datatype,
            required,
            order,
            values,
        };
        let urgent = Deadlines {
            accept: Limit::Hours(1),
            dispatch: Limit::Hours(1),
            resolve: Limit::Hours(24),
        };
        let high = Deadlines {
            accept: Limit::Hours(2),
            dispatch: Limit::Hours(2),
            resolve: Limit::WorkingDays(3),
        };
        for c in &mut categories {
            c.deadlines = match c.default_priority {
                Priority::Urgent => urgent,
                Priority::High => high,
                _ => Deadlines::default(),
            };
            c.deadlines_by_priority.insert(Priority::Urgent, urgent);
            c.attributes = match c.code.as_str() {
                "fire_lane_blocked" => vec![question(
                    "blocked_by",
                    "堵塞物",
                    "What blocks it",
                    AttributeType::Singlevaluelist,
                    false,
                    1,
                    vec![
                        choice("vehicle", "机动车", "Car or van"),
                        choice("tricycle", "三轮车/电动车", "Tricycle or e-bike"),
                        choice("goods", "杂物", "Goods or rubbish"),
                        choice("locked_gate", "门被锁", "Locked gate"),
                    ],
                )],
                "elevator_fault" => vec![
                    question(
                        "people_trapped",
                        "是否有人被困",
                        "Is anyone trapped?",
                        AttributeType::Singlevaluelist,
                        true,
                        1,
                        vec![choice("yes", "是", "Yes"), choice("no", "否", "No")],
                    ),
                    question(
                        "floor",
                        "所在楼层",
                        "Floor",
                        AttributeType::Number,
                        false,
                        2,
                        vec![],
                    ),
                ],
                "food_safety" => vec![
                    question(
                        "venue",
                        "店名",
                        "Name of the place",
                        AttributeType::String,
                        false,
                        1,
                        vec![],
                    ),
                    question(
                        "problems",
                        "问题",
                        "What is wrong",
                        AttributeType::Multivaluelist,
                        false,
                        2,
                        vec![
                            choice("dirty_kitchen", "后厨脏乱", "Dirty kitchen"),
                            choice("spoiled_food", "食材变质", "Spoiled food"),
                            choice("no_licence", "无证经营", "No licence"),
                            choice("pests", "虫鼠", "Pests"),
                        ],
                    ),
                ],
                "pothole" => vec![question(
                    "size",
                    "大小",
                    "Size",
                    AttributeType::Singlevaluelist,
                    false,
                    1,
                    vec![
                        choice("small", "小于脸盆", "Smaller than a washbasin"),
                        choice("medium", "井盖大小", "About a manhole cover"),
                        choice("large", "大于一米", "Over a metre"),
                    ],
                )],
                _ => vec![],
            };
        }
        // How far and how long a second report of the same kind is probably the same
        // hazard: a pothole stays put for weeks, a parked car for hours.
        for c in &mut categories {
            let (radius, hours) = match c.code.as_str() {
                "fire_lane_blocked" => (50.0, 24),
                "elevator_fault" => (30.0, 72),
                "food_safety" => (50.0, 168),
                "pothole" | "manhole_cover" => (30.0, 720),
                "illegal_parking" => (30.0, 6),
                "construction_safety" => (150.0, 336),
                "rubbish" | "tree_hazard" => (50.0, 72),
                "streetlight" => (30.0, 336),
                "water_leak" => (100.0, 48),
                _ => continue,
            };
            c.duplicate_radius_m = radius;
            c.duplicate_window_hours = hours;
        }
        let groups = BUILTIN_GROUPS
            .iter()
            .filter(|g| categories.iter().any(|c| c.group == g.0))
            .map(|(code, name, name_en)| CategoryGroup {
                code: (*code).into(),
                name: (*name).into(),
                name_en: (*name_en).into(),
            })
            .collect();
        Catalog {
            categories,
            groups,
            departments,
            rules: vec![],
            dispatch_queue: "dispatch".into(),
            outside_service_area: OutsideServiceArea::Refuse,
            escalate_after_hours: default_escalation_hours(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_set_passes_its_own_checks_and_round_trips_through_json() {
        let c = Catalog::builtin();
        c.check().unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(Catalog::parse(&json).unwrap(), c);
    }

    #[test]
    fn a_toml_configuration_is_read_and_its_mistakes_named() {
        let base = r#"
            dispatch_queue = "centre"
            [[departments]]
            code = "centre"
            name = "指挥中心"
            [[departments]]
            code = "fire"
            name = "消防"
            [[categories]]
            code = "fire_lane"
            name = "消防通道堵塞"
            name_en = "Fire lane blocked"
            group = "fire_safety"
            default_department = "fire"
            [[categories.attributes]]
            code = "blocked_by"
            description = "堵塞物"
            datatype = "singlevaluelist"
            required = true
            values = [{ key = "car", name = "汽车" }, { key = "goods", name = "杂物" }]
        "#;
        let c = Catalog::parse(base).unwrap();
        assert_eq!(c.categories[0].attributes[0].values.len(), 2);
        assert_eq!(c.categories[0].duplicate_radius_m, 100.0);
        let bad_rule =
            format!("{base}\n[[rules]]\ncategory = \"fire_lane\"\ndepartment = \"nasa\"\n");
        assert!(
            Catalog::parse(&bad_rule)
                .unwrap_err()
                .0
                .contains("unknown department \"nasa\"")
        );
        let dup = base.replace("code = \"fire_lane\"", "code = \"x\"")
            + "\n[[categories]]\ncode = \"x\"\nname = \"x\"\nname_en = \"x\"\ngroup = \"g\"\n";
        let e = Catalog::parse(&dup).unwrap_err().0;
        assert!(e.contains("appears twice"), "{e}");
        assert!(
            Catalog::parse("dispatch_queue = ")
                .unwrap_err()
                .0
                .contains("TOML")
        );
    }

    #[test]
    fn every_group_a_person_reads_has_a_name_in_both_languages() {
        let c = Catalog::builtin();
        let groups = c.group_list();
        assert!(
            groups
                .iter()
                .any(|g| g.code == "city" && g.name == "市容市政")
        );
        for cat in &c.categories {
            assert!(groups.iter().any(|g| g.code == cat.group), "{}", cat.code);
        }
        // A city's own group must be named; a built-in one may be left out.
        let mut own = c.clone();
        own.groups.clear();
        own.categories[0].group = "harbour".into();
        let e = own.check().unwrap_err().0;
        assert!(e.contains("group \"harbour\", which has no name"), "{e}");
        own.groups.push(CategoryGroup {
            code: "harbour".into(),
            name: "港口".into(),
            name_en: "Harbour".into(),
        });
        own.check().unwrap();
        assert_eq!(own.group_list()[0].name_en, "Harbour");
        assert_eq!(own.group("roads").unwrap().name, "道路交通");
    }

    #[test]
    fn everyday_words_find_everyday_categories() {
        let c = Catalog::builtin();
        let find = |word: &str| -> Vec<&str> {
            c.categories
                .iter()
                .filter(|x| x.name.contains(word) || x.keywords.iter().any(|k| k.contains(word)))
                .map(|x| x.code.as_str())
                .collect()
        };
        assert_eq!(find("垃圾"), ["rubbish"]);
        assert_eq!(find("路灯"), ["streetlight"]);
        assert!(find("树").contains(&"tree_hazard"));
        assert!(find("漏水").contains(&"water_leak"));
    }

    #[test]
    fn every_builtin_category_routes_to_a_known_department() {
        let c = Catalog::builtin();
        for cat in &c.categories {
            assert!(
                c.department(&cat.default_department).is_some(),
                "{}",
                cat.code
            );
        }
        assert!(c.category("pothole").is_some());
        assert!(c.category("nonsense").is_none());
    }
}
