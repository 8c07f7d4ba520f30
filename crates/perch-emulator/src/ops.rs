//! Writes to the tenant, shared by Graph's POST/PATCH handlers, the admin API's "act as another
//! user" and the live colleagues.
