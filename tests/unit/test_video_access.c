/* Who may watch: the pure visibility rule behind /watch, the playback API and the catalog. */
#include <criterion/criterion.h>
#include "video_access.h"

Test(video_access, admins_see_everything)
{
	cr_assert(video_access_decide("admin", 9, 1, "private", 0, 0));
	cr_assert(video_access_decide("admin", 9, 1, "class", 0, 0));
}

Test(video_access, owners_see_their_own_private_videos)
{
	cr_assert(video_access_decide("creator", 5, 5, "private", 0, 0));
	cr_assert_not(video_access_decide("creator", 6, 5, "private", 0, 0));
	cr_assert_not(video_access_decide("viewer", 6, 5, "private", 1, 1));
}

Test(video_access, public_videos_are_for_everyone_including_guests)
{
	cr_assert(video_access_decide(NULL, 0, 5, "public", 0, 0));
	cr_assert(video_access_decide("guest", 7, 5, "public", 0, 0));
	cr_assert(video_access_decide("viewer", 7, 5, "public", 0, 0));
}

Test(video_access, org_videos_need_the_same_org)
{
	cr_assert(video_access_decide("viewer", 7, 5, "org", 1, 0));
	cr_assert_not(video_access_decide("viewer", 7, 5, "org", 0, 0));
	cr_assert_not(video_access_decide(NULL, 0, 5, "org", 1, 0), "not logged in");
	cr_assert_not(video_access_decide("guest", 7, 5, "org", 1, 0), "guests see the public catalog only");
}

Test(video_access, class_videos_need_an_enrolment)
{
	cr_assert(video_access_decide("viewer", 7, 5, "class", 0, 1));
	cr_assert_not(video_access_decide("viewer", 7, 5, "class", 1, 0));
}

Test(video_access, unknown_visibility_is_closed)
{
	cr_assert_not(video_access_decide("viewer", 7, 5, "everyone", 1, 1));
	cr_assert_not(video_access_decide("viewer", 7, 5, NULL, 1, 1));
}
