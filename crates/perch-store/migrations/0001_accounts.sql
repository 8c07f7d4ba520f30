-- Signed-in accounts: the non-secret metadata only. Tokens never live in this database: access
-- tokens stay in memory and refresh tokens in the OS keyring.
CREATE TABLE accounts (
    tenant_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    upn            TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    cloud          TEXT NOT NULL,
    login_host     TEXT NOT NULL,
    graph_host     TEXT NOT NULL,
    -- 'signed_in', 'needs_sign_in' or 'signed_out'.
    state          TEXT NOT NULL CHECK (state IN ('signed_in', 'needs_sign_in', 'signed_out')),
    -- Why the account needs sign-in (an error code), when it does.
    state_reason   TEXT,
    added_at       TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
) WITHOUT ROWID;
