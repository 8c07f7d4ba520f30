//! The deterministic demo tenant.

use crate::config::EmulatorConfig;
use crate::model::Tenant;

/// Generates the tenant for `config.profile` from `config.seed`.
pub fn generate(_config: &EmulatorConfig) -> Tenant {
    Tenant {
        id: uuid::Uuid::nil(),
        domain: "contoso.example".into(),
        display_name: "Contoso".into(),
        apps: vec![],
        users: vec![],
        teams: vec![],
    }
}
