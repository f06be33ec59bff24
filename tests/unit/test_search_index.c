/* The search indexer's batch split: a batch's cue text is read in parts of whole videos, each within a byte limit. */
#include <criterion/criterion.h>
#include "search_index.h"

Test(search_index, parts_hold_whole_videos_within_the_limit)
{
	long long bytes[] = {4, 3, 2, 6, 1, 1};
	int starts[6];
	int n = search_cue_parts(bytes, 6, 7, starts);
	cr_assert_eq(n, 4);   /* {4 3} {2} {6 1} {1}: a part may reach the limit, never pass it */
	cr_assert_eq(starts[0], 0);
	cr_assert_eq(starts[1], 2);
	cr_assert_eq(starts[2], 3);
	cr_assert_eq(starts[3], 5);
}

Test(search_index, a_video_above_the_limit_is_a_part_alone)
{
	long long bytes[] = {1, 50, 1, 0, 0};
	int starts[5];
	int n = search_cue_parts(bytes, 5, 10, starts);
	cr_assert_eq(n, 3);
	cr_assert_eq(starts[0], 0);
	cr_assert_eq(starts[1], 1);
	cr_assert_eq(starts[2], 2);   /* videos without captions join the part they follow */
}

Test(search_index, every_video_is_in_exactly_one_part)
{
	long long bytes[64];
	int starts[64];
	for (int i = 0; i < 64; i++) bytes[i] = (i * 37) % 11;
	int n = search_cue_parts(bytes, 64, 20, starts);
	cr_assert_eq(starts[0], 0);
	for (int k = 0; k < n; k++) {
		int end = k + 1 < n ? starts[k + 1] : 64;
		cr_assert_lt(starts[k], end, "part %d is empty", k);
		long long sum = 0;
		for (int i = starts[k]; i < end; i++) sum += bytes[i];
		cr_assert(sum <= 20 || end - starts[k] == 1, "part %d holds %lld bytes", k, sum);
	}
	cr_assert_eq(search_cue_parts(bytes, 0, 20, starts), 0);
}
