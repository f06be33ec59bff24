#include <criterion/criterion.h>
#include <string.h>
#include "router.h"

static void h_a(req *r) { (void)r; }
static void h_b(req *r) { (void)r; }
static const struct route table[] = {
	{"GET", "/users", h_a, PERM_ADMIN, 0, NULL},
	{"GET", "/users/:id", h_b, PERM_ADMIN, 0, NULL},
	{"POST", "/users/:id", h_a, PERM_ADMIN, 0, NULL},
	{"GET", "/schools/:sid/classes/:cid/students", h_a, PERM_NONE, 0, NULL},
	{"GET", "/files/*", h_b, PERM_NONE, 0, NULL},
};
static const int n = sizeof table / sizeof table[0];

static req *mkreq(void)
{
	static req r;
	memset(&r, 0, sizeof r);
	r.a = arena_new(4096);
	return &r;
}

Test(router, matches_literal_routes)
{
	req *r = mkreq();
	int mm;
	cr_assert_eq(route_match(table, n, r, "GET", "/users", &mm), &table[0]);
}

Test(router, extracts_and_decodes_params)
{
	req *r = mkreq();
	int mm;
	const struct route *rt = route_match(table, n, r, "GET", "/schools/s%201/classes/c-2/students", &mm);
	cr_assert_eq(rt, &table[3]);
	cr_assert_str_eq(req_param(r, "sid"), "s 1");
	cr_assert_str_eq(req_param(r, "cid"), "c-2");
}

Test(router, reports_method_mismatch_for_known_paths)
{
	req *r = mkreq();
	int mm;
	cr_assert_null(route_match(table, n, r, "DELETE", "/users/7", &mm));
	cr_assert_eq(mm, 1);
	cr_assert_null(route_match(table, n, r, "GET", "/nope", &mm));
	cr_assert_eq(mm, 0);
}

Test(router, does_not_match_empty_params_or_extra_segments)
{
	req *r = mkreq();
	int mm;
	cr_assert_null(route_match(table, n, r, "GET", "/users/", &mm));
	cr_assert_null(route_match(table, n, r, "GET", "/users/1/x", &mm));
}

Test(router, head_uses_get_routes)
{
	req *r = mkreq();
	int mm;
	cr_assert_eq(route_match(table, n, r, "HEAD", "/users/3", &mm), &table[1]);
}

Test(router, star_captures_the_rest)
{
	req *r = mkreq();
	int mm;
	cr_assert_eq(route_match(table, n, r, "GET", "/files/a/b.txt", &mm), &table[4]);
	cr_assert_str_eq(req_param(r, "rest"), "a/b.txt");
}

Test(router, permissions_follow_role_rank)
{
	struct user admin = {.role = "admin"}, creator = {.role = "creator"}, viewer = {.role = "viewer"};
	cr_assert(perm_allows(PERM_NONE, NULL));
	cr_assert_not(perm_allows(PERM_LOGIN, NULL));
	cr_assert(perm_allows(PERM_LOGIN, &viewer));
	cr_assert_not(perm_allows(PERM_CREATOR, &viewer));
	cr_assert(perm_allows(PERM_CREATOR, &creator));
	cr_assert_not(perm_allows(PERM_ADMIN, &creator));
	cr_assert(perm_allows(PERM_ADMIN, &admin));
}
