/*
 * log.h - levelled logging with timestamps, no global state.
 *
 * A logger is a small value passed to whoever logs (toxcore's Logger): the
 * node owns one, tests make their own. A NULL logger is valid and discards
 * everything. The default sink writes one line per record to stderr:
 *
 *   2026-11-23T17:40:00.123Z INFO  [name] message
 *
 * Control characters in the message (a partner's name, a reason it sent)
 * are written as visible escapes (node/term.h), so a record is always one
 * line and never drives the terminal.
 */
#ifndef ENT_LOG_H
#define ENT_LOG_H

#include <stdarg.h>

typedef enum ent_log_level {
    ENT_LOG_DEBUG = 0,
    ENT_LOG_INFO = 1,
    ENT_LOG_WARN = 2,
    ENT_LOG_ERROR = 3,
    ENT_LOG_OFF = 4,
} ent_log_level;

/* Receives one formatted line (no trailing newline); data is the sink's own. */
typedef void (*ent_log_sink)(void *data, ent_log_level level, const char *line);

typedef struct ent_log {
    ent_log_level level; /* records below this level are dropped */
    ent_log_sink sink;   /* NULL: write to stderr */
    void *data;          /* passed to sink */
    const char *name;    /* optional tag printed in brackets; borrowed */
    int json;            /* 1: one JSON object a line (for log shippers):
                            {"time","level","name","msg"}, name only when
                            set; level lowercase */
} ent_log;

/* Initialises lg to log at level to stderr with the given tag. */
void ent_log_init(ent_log *lg, ent_log_level level, const char *name);

/*
 * Parses "debug", "info", "warn", "error" or "off" into *out.
 * @return ENT_OK, or ENT_EINVAL for anything else (*out untouched).
 */
int ent_log_level_parse(const char *s, ent_log_level *out);

/*
 * A log file for the sink: appended to, created mode 0600, every line
 * flushed. ent_log_file_reopen() closes and opens the path again (after
 * logrotate moved the file: serve calls it on SIGHUP); while a reopen
 * fails, lines go to stderr. ent_log_file_sink is the ent_log_sink (data:
 * the ent_log_file). Lines may come from several threads: writes, reopens
 * and closes of log files take one lock.
 */
typedef struct ent_log_file {
    char path[4096];
    void *f; /* FILE * */
} ent_log_file;

int ent_log_file_open(ent_log_file *lf, const char *path);
int ent_log_file_reopen(ent_log_file *lf);
void ent_log_file_close(ent_log_file *lf);
void ent_log_file_sink(void *data, ent_log_level level, const char *line);

/* Returns "DEBUG", "INFO", ... for level. */
const char *ent_log_level_name(ent_log_level level);

void ent_log_write(const ent_log *lg, ent_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ent_log_vwrite(const ent_log *lg, ent_log_level level, const char *fmt,
                    va_list ap);

#define ENT_DEBUG(lg, ...) ent_log_write((lg), ENT_LOG_DEBUG, __VA_ARGS__)
#define ENT_INFO(lg, ...) ent_log_write((lg), ENT_LOG_INFO, __VA_ARGS__)
#define ENT_WARN(lg, ...) ent_log_write((lg), ENT_LOG_WARN, __VA_ARGS__)
#define ENT_ERROR(lg, ...) ent_log_write((lg), ENT_LOG_ERROR, __VA_ARGS__)

#endif
