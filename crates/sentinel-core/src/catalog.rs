//! Categories and departments. A built-in set drawn from the hazards in the source
//! (fire lanes, elevators, food safety, roads, construction, traffic, public order)
//! serves until a city loads its own configuration.

use crate::Priority;
use serde::Serialize;

/// A kind of hazard a reporter can choose.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub description: String,
    /// Words that suggest this category in a description.
    pub keywords: Vec<String>,
    /// Priority a new report gets.
    pub default_priority: Priority,
    /// Department that handles it by default.
    pub default_department: String,
    /// Whether a report may be filed without contact details.
    pub allow_anonymous: bool,
    /// Whether 核查 is required before closing.
    pub requires_verification: bool,
    /// Open reports of this category within this distance are likely duplicates.
    pub duplicate_radius_m: f64,
    /// ...if filed within this many hours.
    pub duplicate_window_hours: u32,
}

/// A department that handles work orders.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Department {
    /// Stable code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
}

/// The categories and departments in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    /// All categories.
    pub categories: Vec<Category>,
    /// All departments.
    pub departments: Vec<Department>,
}

impl Catalog {
    /// The category with this code.
    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// The department with this code.
    pub fn department(&self, code: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.code == code)
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
                default_priority: priority,
                default_department: department.into(),
                allow_anonymous: true,
                requires_verification: verification,
                duplicate_radius_m: 100.0,
                duplicate_window_hours: 72,
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
                &["治安", "可疑", "路灯", "suspicious"],
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
                _ => continue,
            };
            c.duplicate_radius_m = radius;
            c.duplicate_window_hours = hours;
        }
        Catalog {
            categories,
            departments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
