//! `--state FILE`.

use crate::config::EmulatorConfig;
use crate::model::Tenant;
use crate::state::Shared;
use crate::Error;

/// Loads the tenant from the state file, if configured and present.
pub fn load(_config: &EmulatorConfig) -> Result<Option<Tenant>, Error> {
    Ok(None)
}

/// Saves the tenant to the state file, if configured.
pub fn save(_shared: &Shared) -> Result<(), Error> {
    Ok(())
}
