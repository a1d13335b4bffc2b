-- The credential a legacy token was made through (issue 14: every user may make one): an API
-- key (`api_key`, its id), the account's password (`password`, a fingerprint of its hash,
-- when it was made from a signed-in session) or nothing (made at `stella init`, or before this
-- was recorded). A token ends with it, as offline tokens do: revoking the key or changing the
-- password ends the token made through them.
ALTER TABLE users ADD COLUMN legacy_token_issued_by_kind TEXT;
ALTER TABLE users ADD COLUMN legacy_token_issued_by TEXT;
