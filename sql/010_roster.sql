-- OneRoster 1.2 (+ Japan Profile) rostering data held by the hub, and the import/export bookkeeping.
--
-- Model:
--  * One table per OneRoster CSV file: roster_orgs, roster_academic_sessions, roster_courses, roster_classes,
--    roster_users, roster_roles, roster_user_profiles, roster_enrollments, roster_demographics.
--  * Every row: sourced_id (the OneRoster sourcedId, primary key), status ('active' | 'tobedeleted'),
--    date_last_modified (set by the hub when the row changes, never taken from the CSV), then the spec columns
--    in snake_case, then metadata jsonb holding extension columns: CSV header "metadata.jp.kanaGivenName"
--    becomes key "jp.kanaGivenName" (the "metadata." prefix dropped, the rest kept exactly, both ShussekiNo
--    spellings kept as sent).
--  * Lists (grades, subjects, subject_codes, periods, term_sourced_ids, agent_sourced_ids, user_ids,
--    resource_sourced_ids) are text[]; user_ids items keep the CSV form "{type:identifier}".
--  * References between entities are plain text columns, indexed, without FOREIGN KEY constraints: the
--    importer checks them set-based (anti-joins against staging + stored rows) and deleted rows stay as
--    'tobedeleted' tombstones that references may still point at.
--  * Rows are never physically deleted by an import: a bulk file marks rows it no longer lists 'tobedeleted'
--    (date_last_modified = import time) so REST delta consumers see the deletion. A delta file applies its rows.
--  * Passwords from users.csv / userProfiles.csv are not stored.
--  * enrollments.primary is stored as is_primary ("primary" is an SQL keyword).
--  * Rostered users also become platform `users` rows (users.sourced_id = roster_users.sourced_id), role mapped
--    per SPEC §2, no password.
--  * roster_imports / roster_import_findings / roster_exports record each import (with its validation findings)
--    and export job.

CREATE TABLE IF NOT EXISTS roster_orgs (
	sourced_id          text PRIMARY KEY,
	status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'tobedeleted')),
	date_last_modified  timestamptz NOT NULL DEFAULT now(),
	name                text NOT NULL,
	type                text NOT NULL,
	identifier          text,
	parent_sourced_id   text,
	metadata            jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS roster_orgs_dlm_idx ON roster_orgs (date_last_modified);
CREATE INDEX IF NOT EXISTS roster_orgs_status_idx ON roster_orgs (status);
CREATE INDEX IF NOT EXISTS roster_orgs_type_idx ON roster_orgs (type);
CREATE INDEX IF NOT EXISTS roster_orgs_parent_idx ON roster_orgs (parent_sourced_id);

CREATE TABLE IF NOT EXISTS roster_academic_sessions (
	sourced_id          text PRIMARY KEY,
	status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'tobedeleted')),
	date_last_modified  timestamptz NOT NULL DEFAULT now(),
	title               text NOT NULL,
	type                text NOT NULL,
	start_date          date,
	end_date            date,
	parent_sourced_id   text,
	school_year         integer,
	metadata            jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS roster_academic_sessions_dlm_idx ON roster_academic_sessions (date_last_modified);
CREATE INDEX IF NOT EXISTS roster_academic_sessions_status_idx ON roster_academic_sessions (status);
CREATE INDEX IF NOT EXISTS roster_academic_sessions_type_idx ON roster_academic_sessions (type);
CREATE INDEX IF NOT EXISTS roster_academic_sessions_parent_idx ON roster_academic_sessions (parent_sourced_id);

CREATE TABLE IF NOT EXISTS roster_courses (
	sourced_id              text PRIMARY KEY,
	status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'tobedeleted')),
	date_last_modified      timestamptz NOT NULL DEFAULT now(),
	school_year_sourced_id  text,
	title                   text NOT NULL,
	course_code             text,
	grades                  text[] NOT NULL DEFAULT '{}',
	org_sourced_id          text NOT NULL,
	subjects                text[] NOT NULL DEFAULT '{}',
	subject_codes           text[] NOT NULL DEFAULT '{}',
	metadata                jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS roster_courses_dlm_idx ON roster_courses (date_last_modified);
CREATE INDEX IF NOT EXISTS roster_courses_status_idx ON roster_courses (status);
CREATE INDEX IF NOT EXISTS roster_courses_org_idx ON roster_courses (org_sourced_id);
CREATE INDEX IF NOT EXISTS roster_courses_school_year_idx ON roster_courses (school_year_sourced_id);

CREATE TABLE IF NOT EXISTS roster_classes (
	sourced_id          text PRIMARY KEY,
	status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'tobedeleted')),
	date_last_modified  timestamptz NOT NULL DEFAULT now(),
	title               text NOT NULL,
	grades              text[] NOT NULL DEFAULT '{}',
	course_sourced_id   text NOT NULL,
	class_code          text,
	class_type          text NOT NULL,
	location            text,
	school_sourced_id   text NOT NULL,
	term_sourced_ids    text[] NOT NULL DEFAULT '{}',
	subjects            text[] NOT NULL DEFAULT '{}',
	subject_codes       text[] NOT NULL DEFAULT '{}',
	periods             text[] NOT NULL DEFAULT '{}',
	metadata            jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS roster_classes_dlm_idx ON roster_classes (date_last_modified);
CREATE INDEX IF NOT EXISTS roster_classes_status_idx ON roster_classes (status);
CREATE INDEX IF NOT EXISTS roster_classes_course_idx ON roster_classes (course_sourced_id);
CREATE INDEX IF NOT EXISTS roster_classes_school_idx ON roster_classes (school_sourced_id);
CREATE INDEX IF NOT EXISTS roster_classes_terms_idx ON roster_classes USING gin (term_sourced_ids);

CREATE TABLE IF NOT EXISTS roster_users (
	sourced_id              text PRIMARY KEY,
	status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'tobedeleted')),
	date_last_modified      timestamptz NOT NULL DEFAULT now(),
	enabled_user            boolean NOT NULL DEFAULT true,
	username                text NOT NULL,
	user_ids                text[] NOT NULL DEFAULT '{}',
	given_name              text NOT NULL,
	family_name             text NOT NULL,
	middle_name             text,
	identifier              text,
	email                   text,
	sms                     text,
	phone                   text,
	agent_sourced_ids       text[] NOT NULL DEFAULT '{}',
	grades                  text[] NOT NULL DEFAULT '{}',
	user_master_identifier  text,
	resource_sourced_ids    text[] NOT NULL DEFAULT '{}',   -- CSV 1.2 only (removed in 1.2.1)
	preferred_given_name    text,
	preferred_middle_name   text,
	preferred_family_name   text,
	primary_org_sourced_id  text,
	pronouns                text,
	metadata                jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS roster_users_dlm_idx ON roster_users (date_last_modified);
CREATE INDEX IF NOT EXISTS roster_users_status_idx ON roster_users (status);
CREATE INDEX IF NOT EXISTS roster_users_name_idx ON roster_users (family_name, given_name);
CREATE INDEX IF NOT EXISTS roster_users_given_idx ON roster_users (given_name);
CREATE INDEX IF NOT EXISTS roster_users_username_idx ON roster_users (username);
CREATE INDEX IF NOT EXISTS roster_users_primary_org_idx ON roster_users (primary_org_sourced_id);
CREATE INDEX IF NOT EXISTS roster_users_grades_idx ON roster_users USING gin (grades);
CREATE INDEX IF NOT EXISTS roster_users_home_class_idx ON roster_users ((metadata ->> 'jp.homeClass'));

CREATE TABLE IF NOT EXISTS roster_roles (
	sourced_id               text PRIMARY KEY,
	status                   text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'tobedeleted')),
	date_last_modified       timestamptz NOT NULL DEFAULT now(),
	user_sourced_id          text NOT NULL,
	role_type                text NOT NULL,
	role                     text NOT NULL,
	begin_date               date,
	end_date                 date,
	org_sourced_id           text NOT NULL,
	user_profile_sourced_id  text,
	metadata                 jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS roster_roles_dlm_idx ON roster_roles (date_last_modified);
CREATE INDEX IF NOT EXISTS roster_roles_status_idx ON roster_roles (status);
CREATE INDEX IF NOT EXISTS roster_roles_user_idx ON roster_roles (user_sourced_id);
CREATE INDEX IF NOT EXISTS roster_roles_org_idx ON roster_roles (org_sourced_id);
CREATE INDEX IF NOT EXISTS roster_roles_role_idx ON roster_roles (role);
CREATE INDEX IF NOT EXISTS roster_roles_profile_idx ON roster_roles (user_profile_sourced_id);

CREATE TABLE IF NOT EXISTS roster_user_profiles (
	sourced_id          text PRIMARY KEY,
	status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'tobedeleted')),
	date_last_modified  timestamptz NOT NULL DEFAULT now(),
	user_sourced_id     text NOT NULL,
	profile_type        text NOT NULL,
	vendor_id           text NOT NULL,
	application_id      text,
	description         text,
	credential_type     text NOT NULL,
	username            text NOT NULL,
	metadata            jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS roster_user_profiles_dlm_idx ON roster_user_profiles (date_last_modified);
CREATE INDEX IF NOT EXISTS roster_user_profiles_status_idx ON roster_user_profiles (status);
CREATE INDEX IF NOT EXISTS roster_user_profiles_user_idx ON roster_user_profiles (user_sourced_id);

CREATE TABLE IF NOT EXISTS roster_enrollments (
	sourced_id          text PRIMARY KEY,
	status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'tobedeleted')),
	date_last_modified  timestamptz NOT NULL DEFAULT now(),
	class_sourced_id    text NOT NULL,
	school_sourced_id   text NOT NULL,
	user_sourced_id     text NOT NULL,
	role                text NOT NULL,
	is_primary          boolean,              -- CSV column "primary"
	begin_date          date,
	end_date            date,
	metadata            jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS roster_enrollments_dlm_idx ON roster_enrollments (date_last_modified);
CREATE INDEX IF NOT EXISTS roster_enrollments_status_idx ON roster_enrollments (status);
CREATE INDEX IF NOT EXISTS roster_enrollments_class_role_idx ON roster_enrollments (class_sourced_id, role);
CREATE INDEX IF NOT EXISTS roster_enrollments_user_idx ON roster_enrollments (user_sourced_id);
CREATE INDEX IF NOT EXISTS roster_enrollments_school_idx ON roster_enrollments (school_sourced_id);

CREATE TABLE IF NOT EXISTS roster_demographics (
	sourced_id                                  text PRIMARY KEY,   -- = the user's sourcedId
	status                                      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'tobedeleted')),
	date_last_modified                          timestamptz NOT NULL DEFAULT now(),
	birth_date                                  date,
	sex                                         text,
	american_indian_or_alaska_native            boolean,
	asian                                       boolean,
	black_or_african_american                   boolean,
	native_hawaiian_or_other_pacific_islander   boolean,
	white                                       boolean,
	demographic_race_two_or_more_races          boolean,
	hispanic_or_latino_ethnicity                boolean,
	country_of_birth_code                       text,
	state_of_birth_abbreviation                 text,
	city_of_birth                               text,
	public_school_residence_status              text,
	metadata                                    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS roster_demographics_dlm_idx ON roster_demographics (date_last_modified);
CREATE INDEX IF NOT EXISTS roster_demographics_status_idx ON roster_demographics (status);

-- One row per import (upload, API or CLI). state: queued → running → done | failed (errors found or job failure).
-- counts: {"users":{"rows":n,"inserted":n,"updated":n,"unchanged":n,"deleted":n},...,"errors":n,"warnings":n}
CREATE TABLE IF NOT EXISTS roster_imports (
	id           bigserial PRIMARY KEY,
	filename     text NOT NULL,                 -- sanitised original name, display only
	path         text,                          -- file under data_dir/roster/imports/ (id-based name)
	size         bigint,
	sha256       text,
	mode         text NOT NULL DEFAULT 'zip' CHECK (mode IN ('zip', 'csv')),
	dry_run      boolean NOT NULL DEFAULT false,
	state        text NOT NULL DEFAULT 'queued'
		CHECK (state IN ('queued', 'running', 'done', 'failed', 'rejected')),
	counts       jsonb NOT NULL DEFAULT '{}',
	job_id       bigint,
	created_by   bigint,
	created_at   timestamptz NOT NULL DEFAULT now(),
	started_at   timestamptz,
	finished_at  timestamptz,
	error        text
);
CREATE INDEX IF NOT EXISTS roster_imports_created_idx ON roster_imports (created_at DESC);

CREATE TABLE IF NOT EXISTS roster_import_findings (
	id          bigserial PRIMARY KEY,
	import_id   bigint NOT NULL REFERENCES roster_imports(id) ON DELETE CASCADE,
	file        text NOT NULL,
	line        bigint NOT NULL DEFAULT 0,       -- 1-based CSV record number incl. header; 0 = whole file/bundle
	col         text NOT NULL DEFAULT '',        -- header name, '' when not column-specific
	rule        text NOT NULL,                   -- e.g. OR-REQ-001, JP-GRADE-001
	severity    text NOT NULL CHECK (severity IN ('error', 'warning')),
	message_ja  text NOT NULL,
	message_en  text NOT NULL
);
CREATE INDEX IF NOT EXISTS roster_import_findings_import_idx ON roster_import_findings (import_id, file, rule, line);

CREATE TABLE IF NOT EXISTS roster_exports (
	id           bigserial PRIMARY KEY,
	mode         text NOT NULL CHECK (mode IN ('bulk', 'delta')),
	since        timestamptz,                   -- delta: rows with date_last_modified > since
	state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
	path         text,                          -- file under data_dir/roster/exports/
	size         bigint,
	sha256       text,
	counts       jsonb NOT NULL DEFAULT '{}',
	job_id       bigint,
	created_by   bigint,
	created_at   timestamptz NOT NULL DEFAULT now(),
	finished_at  timestamptz,
	error        text
);
CREATE INDEX IF NOT EXISTS roster_exports_created_idx ON roster_exports (created_at DESC);
