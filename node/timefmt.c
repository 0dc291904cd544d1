/* timefmt.c - RFC 3339 and local time text; see timefmt.h. */
#include "node/timefmt.h"
#include "node/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int ent_timefmt_rfc3339(char out[ENT_TIMEFMT_RFC3339_LEN + 1], uint64_t ms) {
    struct tm tm;
    char tmp[64];
    time_t t = (time_t)(ms / 1000);
    out[0] = '\0';
    if (ms > ENT_TIMEFMT_MAX_MS || gmtime_r(&t, &tm) == NULL)
        return ENT_EINVAL;
    int n = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
    if (n != ENT_TIMEFMT_RFC3339_LEN)
        return ENT_EINVAL;
    memcpy(out, tmp, ENT_TIMEFMT_RFC3339_LEN + 1);
    return ENT_OK;
}

int ent_timefmt_local(char out[ENT_TIMEFMT_LOCAL_LEN + 1], uint64_t ms) {
    struct tm tm;
    char tmp[64];
    time_t t = (time_t)(ms / 1000);
    out[0] = '\0';
    if (ms > ENT_TIMEFMT_MAX_MS || localtime_r(&t, &tm) == NULL)
        return ENT_EINVAL;
    int n = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d %02d:%02d:%02d",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
    if (n != ENT_TIMEFMT_LOCAL_LEN)
        return ENT_EINVAL;
    memcpy(out, tmp, ENT_TIMEFMT_LOCAL_LEN + 1);
    return ENT_OK;
}

/* Reads exactly n decimal digits at *p into *v and advances *p. */
static bool digits(const char **p, int n, int *v) {
    *v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        *v = *v * 10 + (c - '0');
    }
    *p += n;
    return true;
}

static bool leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int ent_timefmt_parse(const char *s, uint64_t *ms) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    unsigned frac = 0;
    const char *p = s;
    if (s == NULL || !digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
        *p++ != '-' || !digits(&p, 2, &d) || (*p != 'T' && *p != 't') ||
        (p++, !digits(&p, 2, &h)) || *p++ != ':' || !digits(&p, 2, &mi) ||
        *p++ != ':' || !digits(&p, 2, &sec))
        return ENT_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 ||
        d > mdays[mo - 1] + (mo == 2 && leap(y)) || h > 23 || mi > 59 ||
        sec > 60)
        return ENT_EINVAL;
    if (*p == '.') {
        int nd = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, nd++)
            if (nd < 3)
                frac = frac * 10 + (unsigned)(*p - '0');
        if (nd == 0)
            return ENT_EINVAL;
        for (; nd < 3; nd++)
            frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) ||
            oh > 23 || om > 59)
            return ENT_EINVAL;
    } else {
        return ENT_EINVAL;
    }
    if (*p != '\0')
        return ENT_EINVAL;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec == 60 ? 59 : sec}; /* a leap second */
    long long t =
        (long long)timegm(&tm) - (long long)sign * (oh * 3600 + om * 60);
    if (t < 0)
        return ENT_EINVAL;
    *ms = (uint64_t)t * 1000 + frac;
    return ENT_OK;
}
