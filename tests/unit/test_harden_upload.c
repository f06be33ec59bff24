#include <criterion/criterion.h>
#include "config.h"
#include "upload_guard.h"

/* The disk-free floor: an upload is refused when it would leave less than upload.min_free_mb free. */
Test(upload_guard, refuses_below_the_disk_floor)
{
	char err[200];
	config_reset();
	cfg.data_dir = "/tmp";
	cr_assert_eq(config_parse_text("upload.min_free_mb = 0\n", err, sizeof err), 0, "%s", err);
	cr_assert_eq(upload_guard_disk(0), UG_OK);
	/* no volume has an exabyte free */
	config_reset();
	cfg.data_dir = "/tmp";
	cr_assert_eq(config_parse_text("upload.min_free_mb = 1000000000000\n", err, sizeof err), 0, "%s", err);
	cr_assert_eq(upload_guard_disk(0), UG_DISK);
	/* the incoming bytes count: a floor of 0 still refuses a body larger than the free space */
	config_reset();
	cfg.data_dir = "/tmp";
	cr_assert_eq(config_parse_text("upload.min_free_mb = 0\n", err, sizeof err), 0, "%s", err);
	cr_assert_eq(upload_guard_disk(9000000000000000000L), UG_DISK);
	config_reset();
}
