/*
 * log.c - levelled, timestamped log lines written through the sink of an
 * ent_log (no global state: every node and test has its own). See log.h.
 */
#include "node/log.h"
#include "node/err.h"
#include "node/term.h"

#include <jansson.h>

#include <stdlib.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR",
                                          "OFF"};

void ent_log_init(ent_log *lg, ent_log_level level, const char *name) {
    lg->level = level;
    lg->sink = NULL;
    lg->data = NULL;
    lg->name = name;
    lg->json = 0;
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

/* The JSON form of one record: {"time","level","name"?,"msg"}, one line
 * (jansson escapes every control character); line gets "" if it does not
 * fit. */
static void json_line(char *line, size_t cap, const char *time,
                      ent_log_level level, const char *name, const char *msg) {
    static const char *const lower[] = {"debug", "info", "warn", "error"};
    json_t *o = json_pack("{s:s,s:s,s:s}", "time", time, "level",
                          lower[level], "msg", msg);
    if (o != NULL && name != NULL)
        json_object_set_new(o, "name", json_string(name));
    char *t = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                            JSON_ENSURE_ASCII)
                        : NULL;
    snprintf(line, cap, "%s", t != NULL && strlen(t) < cap ? t : "");
    free(t);
    json_decref(o);
}

void ent_log_vwrite(const ent_log *lg, ent_log_level level, const char *fmt,
                    va_list ap) {
    if (lg == NULL || level < lg->level || level >= ENT_LOG_OFF)
        return;
    char line[1024], stamp[96], msg[sizeof(line)];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
    int ml = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (ml < 0)
        ml = 0;
    if ((size_t)ml >= sizeof(msg))
        ml = (int)sizeof(msg) - 1;
    if (lg->json) {
        /* a message is UTF-8 from us or escaped text; jansson refuses
         * invalid UTF-8, so such a message goes through the escaper */
        char esc[sizeof(line)];
        json_t *probe = json_stringn(msg, (size_t)ml);
        if (probe == NULL)
            ent_term_escape_buf(esc, sizeof(esc), msg, (size_t)ml);
        json_line(line, sizeof(line), stamp, level, lg->name,
                  probe != NULL ? msg : esc);
        json_decref(probe);
    } else {
        int n = snprintf(line, sizeof(line), "%s %-5s ", stamp,
                         level_names[level]);
        if (lg->name != NULL && n > 0 && (size_t)n < sizeof(line))
            n += snprintf(line + n, sizeof(line) - (size_t)n, "[%s] ",
                          lg->name);
        /* messages carry names, addresses and reasons from partners: no
         * control character reaches the terminal or the log file raw */
        if (n > 0 && (size_t)n < sizeof(line))
            ent_term_escape_buf(line + n, sizeof(line) - (size_t)n, msg,
                                (size_t)ml);
    }
    if (lg->sink != NULL) {
        lg->sink(lg->data, level, line);
    } else {
        fprintf(stderr, "%s\n", line);
    }
}

int ent_log_file_open(ent_log_file *lf, const char *path) {
    if (path == NULL || strlen(path) >= sizeof(lf->path))
        return ENT_EINVAL;
    snprintf(lf->path, sizeof(lf->path), "%s", path);
    lf->f = NULL;
    return ent_log_file_reopen(lf);
}

/* One lock for every log file: a line written on another thread (the CRM
 * import's second thread reads the store, whose errors are logged) never
 * meets the FILE a reopen closes. */
static pthread_mutex_t file_mu = PTHREAD_MUTEX_INITIALIZER;

int ent_log_file_reopen(ent_log_file *lf) {
    int rc = ENT_OK;
    pthread_mutex_lock(&file_mu);
    if (lf->f != NULL)
        fclose(lf->f);
    lf->f = NULL;
    int fd = open(lf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = ENT_EIO;
    } else if ((lf->f = fdopen(fd, "a")) == NULL) {
        close(fd);
        rc = ENT_EIO;
    }
    pthread_mutex_unlock(&file_mu);
    return rc;
}

void ent_log_file_close(ent_log_file *lf) {
    pthread_mutex_lock(&file_mu);
    if (lf->f != NULL)
        fclose(lf->f);
    lf->f = NULL;
    pthread_mutex_unlock(&file_mu);
}

void ent_log_file_sink(void *data, ent_log_level level, const char *line) {
    ent_log_file *lf = data;
    (void)level;
    pthread_mutex_lock(&file_mu);
    FILE *f = lf != NULL && lf->f != NULL ? lf->f : stderr;
    fprintf(f, "%s\n", line);
    fflush(f);
    pthread_mutex_unlock(&file_mu);
}

void ent_log_write(const ent_log *lg, ent_log_level level, const char *fmt,
                   ...) {
    va_list ap;
    va_start(ap, fmt);
    ent_log_vwrite(lg, level, fmt, ap);
    va_end(ap);
}
