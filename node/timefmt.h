/*
 * timefmt.h - the two printed forms of a point in time.
 *
 * Entente keeps times as milliseconds since the Unix epoch (log entries,
 * tree heads, the wall-clock part of HLC values, peers' last contact) or
 * seconds (invite expiry). They are printed in exactly two ways:
 *
 *   JSON (API and --json):  RFC 3339 in UTC with milliseconds,
 *                           "2026-12-05T04:52:58.123Z" (always 24 bytes)
 *   text output:            the local time of the reader, to the second,
 *                           "2026-12-05 05:52:58" (the TZ of the process)
 *
 * Fixed-width RFC 3339 strings sort as the times they stand for. A leaf
 * module: it depends on nothing but err.h and the C library.
 */
#ifndef ENT_TIMEFMT_H
#define ENT_TIMEFMT_H

#include <stdint.h>

#define ENT_TIMEFMT_RFC3339_LEN 24 /* "2026-12-05T04:52:58.123Z" */
#define ENT_TIMEFMT_LOCAL_LEN 19   /* "2026-12-05 05:52:58" */
/* The last millisecond that has a 4-digit year: 9999-12-31T23:59:59.999Z. */
#define ENT_TIMEFMT_MAX_MS UINT64_C(253402300799999)

/*
 * Writes ms since the Unix epoch as RFC 3339 UTC with milliseconds.
 * @return ENT_OK, or ENT_EINVAL past ENT_TIMEFMT_MAX_MS (out is "").
 */
int ent_timefmt_rfc3339(char out[ENT_TIMEFMT_RFC3339_LEN + 1], uint64_t ms);

/*
 * Parses an RFC 3339 date-time ("2026-12-05T04:52:58Z", with any number of
 * fraction digits, 't'/'z' in either case, or an offset "+01:00") into ms
 * since the Unix epoch (fractions beyond milliseconds are cut).
 * @return ENT_OK, or ENT_EINVAL (not RFC 3339, or before 1970).
 */
int ent_timefmt_parse(const char *s, uint64_t *ms);

/*
 * Writes ms since the Unix epoch as the local time "YYYY-MM-DD HH:MM:SS".
 * @return ENT_OK, or ENT_EINVAL past ENT_TIMEFMT_MAX_MS (out is "").
 */
int ent_timefmt_local(char out[ENT_TIMEFMT_LOCAL_LEN + 1], uint64_t ms);

#endif
