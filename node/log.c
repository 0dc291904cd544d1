/*
 * log.c - levelled, timestamped log lines written through the sink of an
 * ent_log (no global state: every node and test has its own). See log.h.
 */
#include "node/log.h"
#include "node/err.h"
#include "node/term.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR",
                                          "OFF"};

void ent_log_init(ent_log *lg, ent_log_level level, const char *name) {
    lg->level = level;
    lg->sink = NULL;
    lg->data = NULL;
    lg->name = name;
}

int ent_log_level_parse(const char *s, ent_log_level *out) {
    for (int i = 0; i <= ENT_LOG_OFF; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (ent_log_level)i;
            return ENT_OK;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = ENT_LOG_WARN;
        return ENT_OK;
    }
    return ENT_EINVAL;
}

const char *ent_log_level_name(ent_log_level level) {
    if ((int)level < 0 || level > ENT_LOG_OFF)
        return "?";
    return level_names[level];
}

void ent_log_vwrite(const ent_log *lg, ent_log_level level, const char *fmt,
                    va_list ap) {
    if (lg == NULL || level < lg->level || level >= ENT_LOG_OFF)
        return;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                     level_names[level]);
    if (lg->name != NULL && n > 0 && (size_t)n < sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, "[%s] ", lg->name);
    if (n > 0 && (size_t)n < sizeof(line)) {
        /* messages carry names, addresses and reasons from partners: no
         * control character reaches the terminal or the log file raw */
        char msg[sizeof(line)];
        int ml = vsnprintf(msg, sizeof(msg), fmt, ap);
        if (ml > 0)
            ent_term_escape_buf(line + n, sizeof(line) - (size_t)n, msg,
                                (size_t)ml < sizeof(msg) ? (size_t)ml
                                                         : sizeof(msg) - 1);
    }
    if (lg->sink != NULL) {
        lg->sink(lg->data, level, line);
    } else {
        fprintf(stderr, "%s\n", line);
    }
}

void ent_log_write(const ent_log *lg, ent_log_level level, const char *fmt,
                   ...) {
    va_list ap;
    va_start(ap, fmt);
    ent_log_vwrite(lg, level, fmt, ap);
    va_end(ap);
}
