-- Data-subject requests (issue 14, item 10): erasing a person keeps the account row (videos, courses and
-- assignments they made still point at it) but pseudonymises everything that names them. erased_at marks it done.
ALTER TABLE users ADD COLUMN IF NOT EXISTS erased_at timestamptz;

-- Erase user uid under pseudonym (chosen by the caller, "erased-<random>"), in the caller's transaction.
-- Returns the values that named the person (for the caller's checks); raises 'no_user' / 'already_erased'.
-- Every table that holds a person's data must be handled here: tests/integration/test_protect_dsr.c scans every
-- text, jsonb and array column of every table for the erased values.
CREATE OR REPLACE FUNCTION dsr_erase(uid bigint, pseudonym text) RETURNS text[]
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    u users%ROWTYPE;
    ru roster_users%ROWTYPE;
    sid text;
    needles text[];
BEGIN
    SELECT * INTO u FROM users WHERE id = uid FOR UPDATE;
    IF NOT FOUND THEN RAISE EXCEPTION 'no_user'; END IF;
    IF u.erased_at IS NOT NULL THEN RAISE EXCEPTION 'already_erased'; END IF;
    sid := u.sourced_id;
    SELECT * INTO ru FROM roster_users WHERE sourced_id = sid FOR UPDATE;
    -- what names the person: identifiers, addresses, the full name in the usual spellings, kana, phone numbers
    needles := ARRAY[u.email, u.username, NULLIF(u.name, ''), sid, ru.email, ru.username, ru.identifier,
                     ru.user_master_identifier, ru.sms, ru.phone,
                     NULLIF(btrim(ru.family_name || ' ' || ru.given_name), ''), NULLIF(ru.family_name || ru.given_name, ''),
                     NULLIF(btrim(ru.given_name || ' ' || ru.family_name), ''),
                     NULLIF(btrim(COALESCE(ru.metadata->>'jp.kanaFamilyName', '') || ' ' || COALESCE(ru.metadata->>'jp.kanaGivenName', '')), ''),
                     NULLIF(COALESCE(ru.metadata->>'jp.kanaFamilyName', '') || COALESCE(ru.metadata->>'jp.kanaGivenName', ''), '')]
               || COALESCE(ru.user_ids, '{}');
    needles := ARRAY(SELECT DISTINCT v FROM unnest(needles) v WHERE v IS NOT NULL AND length(v) >= 3 ORDER BY v);

    -- the account: no way in any more (disabled, no password, token generation moved: every session and token ends)
    UPDATE users SET email = NULL, username = NULL, name = pseudonym, password_hash = NULL,
           sourced_id = CASE WHEN sid IS NULL THEN NULL ELSE pseudonym END, lang = NULL, time_zone = NULL,
           disabled = true, token_gen = token_gen + 1, last_login_at = NULL, erased_at = now(), updated_at = now()
     WHERE id = uid;

    -- roster records: pseudonymised and marked tobedeleted, so lists and delta exports drop them
    IF sid IS NOT NULL THEN
        UPDATE roster_users SET sourced_id = pseudonym, status = 'tobedeleted', date_last_modified = now(),
               username = pseudonym, user_ids = '{}', given_name = pseudonym, family_name = '', middle_name = NULL,
               identifier = NULL, email = NULL, sms = NULL, phone = NULL, user_master_identifier = NULL,
               preferred_given_name = NULL, preferred_middle_name = NULL, preferred_family_name = NULL, pronouns = NULL,
               agent_sourced_ids = '{}', metadata = '{}'
         WHERE sourced_id = sid;
        UPDATE roster_users SET agent_sourced_ids = array_replace(agent_sourced_ids, sid, pseudonym)
         WHERE sid = ANY (agent_sourced_ids);
        UPDATE roster_enrollments SET sourced_id = replace(sourced_id, sid, pseudonym), user_sourced_id = pseudonym,
               status = 'tobedeleted', date_last_modified = now(), metadata = '{}'
         WHERE user_sourced_id = sid;
        UPDATE roster_roles SET sourced_id = replace(sourced_id, sid, pseudonym), user_sourced_id = pseudonym,
               status = 'tobedeleted', date_last_modified = now(), metadata = '{}'
         WHERE user_sourced_id = sid;
        UPDATE roster_user_profiles SET sourced_id = replace(sourced_id, sid, pseudonym), user_sourced_id = pseudonym,
               username = pseudonym, status = 'tobedeleted', date_last_modified = now(), metadata = '{}'
         WHERE user_sourced_id = sid;
        DELETE FROM roster_demographics WHERE sourced_id = sid;
    END IF;

    -- viewing: only the anonymous rollups (stats_video_*) stay
    DELETE FROM view_sessions WHERE user_id = uid;
    DELETE FROM view_progress WHERE user_id = uid;
    DELETE FROM watch_positions WHERE user_id = uid;
    DELETE FROM stats_user_last WHERE user_id = uid;
    -- messages, preferences, ways in
    DELETE FROM mail_outbox WHERE user_id = uid;
    DELETE FROM notifications WHERE user_id = uid;
    DELETE FROM notify_subscriptions WHERE user_id = uid;
    DELETE FROM notify_prefs WHERE user_id = uid;
    DELETE FROM notify_settings WHERE user_id = uid;
    DELETE FROM login_codes WHERE user_id = uid;
    DELETE FROM password_resets WHERE user_id = uid;
    DELETE FROM mfa_recovery_codes WHERE user_id = uid;
    DELETE FROM mfa_totp WHERE user_id = uid;
    IF u.email IS NOT NULL THEN
        DELETE FROM login_throttle WHERE account = encode(sha256(convert_to(lower(btrim(u.email)), 'UTF8')), 'hex');
    END IF;
    -- free text that may quote the person: import findings, job payloads and messages
    FOR i IN 1 .. COALESCE(array_length(needles, 1), 0) LOOP
        UPDATE roster_import_findings SET message_ja = replace(message_ja, needles[i], pseudonym),
               message_en = replace(message_en, needles[i], pseudonym)
         WHERE strpos(message_ja, needles[i]) > 0 OR strpos(message_en, needles[i]) > 0;
        UPDATE jobs SET message = replace(message, needles[i], pseudonym), error = replace(error, needles[i], pseudonym)
         WHERE strpos(message, needles[i]) > 0 OR strpos(error, needles[i]) > 0;
    END LOOP;
    -- the audit log, through its owner's function (the application may not change audit rows)
    PERFORM audit_pseudonymise(needles, pseudonym);
    RETURN needles;
END $$;
