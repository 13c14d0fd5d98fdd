//! Sentinels (哨兵): citizens with an account, and the groups the city recruits
//! from, such as the delivery riders of the source (外卖骑手). A group is joined on
//! request and an admin approves it, so a group badge means someone checked.

use crate::report::string_enum;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

string_enum! {
    /// The groups a sentinel may belong to.
    SentinelGroup {
        /// 外卖骑手.
        DeliveryRider = "delivery_rider",
        /// 快递员.
        Courier = "courier",
        /// 网约车司机.
        RideHailingDriver = "ride_hailing_driver",
        /// 退休人员.
        Retiree = "retiree",
        /// 网格员.
        GridWorker = "grid_worker",
    }
}

impl SentinelGroup {
    /// The name in Chinese.
    pub fn name_zh(&self) -> &'static str {
        match self {
            SentinelGroup::DeliveryRider => "外卖骑手",
            SentinelGroup::Courier => "快递员",
            SentinelGroup::RideHailingDriver => "网约车司机",
            SentinelGroup::Retiree => "退休人员",
            SentinelGroup::GridWorker => "网格员",
        }
    }

    /// The name in English.
    pub fn name_en(&self) -> &'static str {
        match self {
            SentinelGroup::DeliveryRider => "Delivery rider",
            SentinelGroup::Courier => "Courier",
            SentinelGroup::RideHailingDriver => "Ride-hailing driver",
            SentinelGroup::Retiree => "Retiree",
            SentinelGroup::GridWorker => "Grid worker",
        }
    }
}

string_enum! {
    /// Where a request to join a group stands.
    MembershipStatus {
        /// Waiting for an admin.
        Requested = "requested",
        /// An admin approved it.
        Approved = "approved",
        /// An admin declined it.
        Declined = "declined",
    }
}

/// A sentinel's account. Contact details are personal data: never public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentinel {
    /// Row id.
    pub id: i64,
    /// The account name reports refer to (`Reporter::Account`).
    pub handle: String,
    /// The name shown to staff.
    pub display_name: String,
    /// Mobile number, if signed up with one.
    pub phone: Option<String>,
    /// Email, if signed up with one.
    pub email: Option<String>,
    /// When the phone or email was proved by a code; unverified accounts cannot
    /// sign in.
    pub verified_at: Option<OffsetDateTime>,
    /// When the account was made.
    pub created_at: OffsetDateTime,
}

/// One group membership (or request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The group.
    pub group: SentinelGroup,
    /// Where it stands.
    pub status: MembershipStatus,
    /// When it was asked for.
    pub requested_at: OffsetDateTime,
    /// When an admin decided, and who.
    pub decided: Option<(OffsetDateTime, String)>,
}

/// What a new account needs; one of phone or email at least.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSentinel {
    /// Account name.
    pub handle: String,
    /// Shown name.
    pub display_name: String,
    /// Mobile number.
    pub phone: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// argon2id hash of the password.
    pub password_hash: String,
    /// Already verified (imports, the demo).
    pub verified_at: Option<OffsetDateTime>,
}

/// Normalises a mainland mobile number (optionally +86, spaces and dashes) to 11
/// digits starting with 1, or says why not.
pub fn normalise_phone(s: &str) -> Result<String, String> {
    let digits: String = s
        .trim()
        .trim_start_matches("+86")
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    if digits.len() == 11 && digits.starts_with('1') && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(format!(
            "{s:?} is not a mainland mobile number (11 digits starting with 1)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_have_stable_codes_and_names_in_both_languages() {
        assert_eq!(SentinelGroup::ALL.len(), 5);
        for g in SentinelGroup::ALL {
            assert_eq!(g.as_str().parse::<SentinelGroup>().unwrap(), *g);
            assert!(!g.name_zh().is_empty() && !g.name_en().is_empty());
        }
        assert!("pilot".parse::<SentinelGroup>().is_err());
    }

    #[test]
    fn phone_numbers_are_normalised_or_refused() {
        assert_eq!(normalise_phone("+86 138-0000-1234").unwrap(), "13800001234");
        assert!(normalise_phone("2380000123").is_err());
        assert!(normalise_phone("1380000123a").is_err());
    }
}
