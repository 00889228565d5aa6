-- One row per webhook delivery id that a replica has claimed.
-- The id is bytea because a webhook-id header may hold any bytes, and text
-- refuses some of them.
CREATE TABLE {{schema}}.webhook_deliveries (
    id           bytea       PRIMARY KEY,
    -- The token of the claim's holder: only it may complete or release it.
    owner        uuid        NOT NULL,
    claimed_at   timestamptz NOT NULL,
    -- Past this, another delivery may take the claim over.
    lease_until  timestamptz NOT NULL,
    -- Set once the callback succeeded; the row then answers "done".
    completed_at timestamptz
);

CREATE INDEX webhook_deliveries_completed_at ON {{schema}}.webhook_deliveries (completed_at)
    WHERE completed_at IS NOT NULL;
CREATE INDEX webhook_deliveries_lease_until ON {{schema}}.webhook_deliveries (lease_until)
    WHERE completed_at IS NULL;

-- Usage events recorded in the business transaction, waiting to be sent.
CREATE TABLE {{schema}}.usage_outbox (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The event's JSON, byte for byte as the SDK sends it. Not jsonb, which
    -- rewrites it and refuses some valid strings ("\u0000").
    payload     bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- The relay term sending the row, until lease_until; NULL when none is.
    lease_owner uuid,
    lease_until timestamptz,
    -- How many times a relay took the row to send.
    attempts    integer     NOT NULL DEFAULT 0
);

-- Events Alguna refused for good, with the reason, for a person to look at.
CREATE TABLE {{schema}}.usage_outbox_failed (
    -- The id the row had in usage_outbox.
    id         bigint      PRIMARY KEY,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now(),
    reason     text        NOT NULL
);
