-- OpenID Connect identities: which provider account logs in as which user.
--
-- The link is the pair (issuer, subject): the only identifier OpenID Connect
-- promises to be stable and unique. Names and e-mail addresses can change or
-- be reused at the provider, so they are never used to find a user once a
-- link exists. A user has at most one identity per issuer, so a second
-- provider account can never be attached to an account that already has one.
CREATE TABLE oidc_identities (
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (issuer, subject),
    UNIQUE (issuer, user_id)
);
