-- The audit log is append-only for the application's role (issue 14, item 9). The two ways rows may still change
-- are these functions: retention by age, and pseudonymising a person erased by a data-subject request. They are
-- SECURITY DEFINER: scripts/audit_lock.sql (run as a superuser, by scripts/stack.sh and at install) gives the
-- table and both functions to the role rstream_audit and leaves the application only SELECT and INSERT on it.
CREATE OR REPLACE FUNCTION audit_purge(days integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n bigint;
    total bigint := 0;
BEGIN
    IF days IS NULL OR days < 1 OR days > 36500 THEN
        RAISE EXCEPTION 'audit_purge: days must be 1..36500';
    END IF;
    -- batches of 10,000 so no long lock is held on the table
    LOOP
        DELETE FROM audit_log a USING (SELECT id FROM audit_log WHERE at < now() - make_interval(days => days)
                                       ORDER BY id LIMIT 10000) old
         WHERE a.id = old.id;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
        EXIT WHEN n < 10000;
    END LOOP;
    RETURN total;
END $$;

-- Replace every occurrence of the given values (a person's e-mail, name, ids) in the rows about them by a
-- pseudonym. Values shorter than 3 characters are ignored: they would rewrite unrelated rows.
CREATE OR REPLACE FUNCTION audit_pseudonymise(needles text[], pseudonym text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v text;
    row record;
    d text;
    total bigint := 0;
BEGIN
    FOREACH v IN ARRAY needles LOOP
        CONTINUE WHEN v IS NULL OR length(v) < 3;
        FOR row IN SELECT id, detail::text AS detail FROM audit_log
                    WHERE strpos(actor, v) > 0 OR strpos(target, v) > 0 OR strpos(detail::text, v) > 0 LOOP
            d := replace(row.detail, v, pseudonym);
            BEGIN
                UPDATE audit_log SET actor = replace(actor, v, pseudonym), target = replace(target, v, pseudonym),
                       detail = d::jsonb WHERE id = row.id;
            EXCEPTION WHEN invalid_text_representation THEN
                -- the value was part of the JSON's structure, not of a string: keep only that it was rewritten
                UPDATE audit_log SET actor = replace(actor, v, pseudonym), target = replace(target, v, pseudonym),
                       detail = jsonb_build_object('pseudonymised', true) WHERE id = row.id;
            END;
            total := total + 1;
        END LOOP;
    END LOOP;
    RETURN total;
END $$;
