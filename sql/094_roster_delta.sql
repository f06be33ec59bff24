-- Delta queries (filter=dateLastModified>'…', every learning tool polls them) and sort=dateLastModified pages:
-- (date_last_modified, sourced_id) gives the window's sourcedIds from the index alone and the sorted order with the
-- sourcedId tie-break the API uses. It replaces the single-column index of 010, which it covers, so an import
-- still maintains one index per table for this.
DO $$
DECLARE t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['roster_orgs', 'roster_academic_sessions', 'roster_courses', 'roster_classes',
				 'roster_users', 'roster_roles', 'roster_user_profiles', 'roster_enrollments',
				 'roster_demographics'] LOOP
		EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I (date_last_modified, sourced_id)', t || '_dlm_sid_idx', t);
		EXECUTE format('DROP INDEX IF EXISTS %I', t || '_dlm_idx');
	END LOOP;
END $$;
