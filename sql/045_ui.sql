-- UI: a person may see times in their own zone (NULL = the deployment's time_zone setting).
ALTER TABLE users ADD COLUMN IF NOT EXISTS time_zone text CHECK (time_zone ~ '^[A-Za-z0-9/_+-]{1,64}$');
