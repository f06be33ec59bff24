-- Video catalog: videos, resumable uploads, categories/tags (N:M), captions, per-user resume positions.
-- Owned by the video area (fcgi/h_videos.c, fcgi/job_transcode.c). Applied in one transaction by db_migrate.

CREATE TABLE IF NOT EXISTS videos (
	id                bigserial PRIMARY KEY,
	public_id         text NOT NULL UNIQUE CHECK (public_id ~ '^[a-f0-9]{16}$'),
	title             text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
	description       text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
	owner_id          bigint REFERENCES users(id) ON DELETE SET NULL,
	status            text NOT NULL DEFAULT 'uploading'
		CHECK (status IN ('uploading', 'queued', 'transcoding', 'ready', 'failed', 'rejected')),
	visibility        text NOT NULL DEFAULT 'private'
		CHECK (visibility IN ('public', 'org', 'class', 'private')),
	org_sourced_id    text,
	class_sourced_ids text[] NOT NULL DEFAULT '{}',
	source_name       text,                 -- sanitised original file name, for display only
	source_size       bigint,
	duration          double precision,     -- seconds, from ffprobe
	width             int,
	height            int,
	probe             jsonb,                -- summary of the ffprobe result
	renditions        jsonb,                -- [{"name":"720p","width":1280,"height":720,"bandwidth":...}]
	reject_reason     text,                 -- message key, shown translated
	error_tail        text,                 -- ffmpeg's last lines when the transcode failed
	job_id            bigint,               -- the current transcode job
	poster            text,                 -- file name inside hls/<public_id>/
	storyboard        text,                 -- WebVTT file name inside hls/<public_id>/
	created_at        timestamptz NOT NULL DEFAULT now(),
	updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS videos_owner_idx ON videos (owner_id);
CREATE INDEX IF NOT EXISTS videos_status_idx ON videos (status);
CREATE INDEX IF NOT EXISTS videos_created_idx ON videos (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS videos_classes_idx ON videos USING gin (class_sourced_ids);

-- A resumable upload: chunks are appended to uploads/<id>.part in order; received is the committed length.
CREATE TABLE IF NOT EXISTS video_uploads (
	id         text PRIMARY KEY CHECK (id ~ '^[a-f0-9]{32}$'),
	owner_id   bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	filename   text NOT NULL,
	size       bigint NOT NULL CHECK (size > 0),
	received   bigint NOT NULL DEFAULT 0 CHECK (received >= 0 AND received <= size),
	state      text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'complete', 'cancelled')),
	title      text,
	video_id   bigint REFERENCES videos(id) ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS video_uploads_owner_idx ON video_uploads (owner_id, state);

CREATE TABLE IF NOT EXISTS categories (
	id         bigserial PRIMARY KEY,
	slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
	name_ja    text NOT NULL CHECK (length(name_ja) BETWEEN 1 AND 100),
	name_en    text NOT NULL CHECK (length(name_en) BETWEEN 1 AND 100),
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS tags (
	id         bigserial PRIMARY KEY,
	name       text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 50),
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS video_categories (
	video_id    bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	category_id bigint NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
	PRIMARY KEY (video_id, category_id)
);
CREATE INDEX IF NOT EXISTS video_categories_cat_idx ON video_categories (category_id);

CREATE TABLE IF NOT EXISTS video_tags (
	video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	tag_id   bigint NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
	PRIMARY KEY (video_id, tag_id)
);
CREATE INDEX IF NOT EXISTS video_tags_tag_idx ON video_tags (tag_id);

CREATE TABLE IF NOT EXISTS captions (
	id         bigserial PRIMARY KEY,
	video_id   bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	lang       text NOT NULL CHECK (lang ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$'),
	label      text NOT NULL CHECK (length(label) BETWEEN 1 AND 60),
	path       text NOT NULL CHECK (path ~ '^captions-[a-z0-9-]+\.vtt$'),  -- file inside hls/<public_id>/
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (video_id, lang)
);

CREATE TABLE IF NOT EXISTS watch_positions (
	user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	video_id   bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
	position   double precision NOT NULL CHECK (position >= 0),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (user_id, video_id)
);
