/*
 * session_int.h - the private state of protocol/session.c: a session, the
 * refusal summary, the manager, a queued frame. Only session.c includes
 * it (kept apart to keep session.c short); nothing here is an API.
 */
#ifndef ENT_SESSION_INT_H
#define ENT_SESSION_INT_H

#include <uv.h>

#include "crypto/noise.h"
#include "protocol/flow.h"
#include "protocol/session.h"
#include "protocol/wire.h"

#define AUTH_LEN (ENT_PK_LEN + ENT_SIG_LEN) /* identity proof: pk || sig */
#define ADDR_LEN 80                         /* "[v6]:port", or a dial text */
#define HOST_LEN 48                         /* an IPv4 or IPv6 address */
#define REKEY_MASK (ENT_SESSION_REKEY_INTERVAL - 1)

enum session_state {
    S_CONNECTING = 0, /* dialling: resolving or connecting */
    S_HANDSHAKE = 1,  /* TCP up, Noise messages flowing */
    S_OPEN = 2,       /* authenticated; transport frames */
    S_CLOSING = 3,    /* handles closing; nothing more is read or sent */
};

struct ent_session {
    ent_session_mgr *m;
    ent_session *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect_req;
    uv_getaddrinfo_t gai_req;
    uv_shutdown_t shutdown_req;
    int handles; /* of tcp and timer, not yet closed */
    int state;   /* enum session_state */
    int step;    /* handshake messages processed so far */
    int reason;  /* passed to closed() */
    bool initiator;
    bool has_expected;
    bool known;          /* the caller has seen s: closed() is owed */
    bool authorized;     /* remote_org is set */
    bool resolving;      /* gai_req outstanding */
    bool reading;        /* uv_read_start() in effect */
    bool paused;         /* the caller stopped reading */
    bool refused;        /* closed at once over a per-address limit */
    const char *refusal; /* authorize()'s reason (ent_session_set_refusal) */
    uint8_t expected[ENT_PK_LEN];
    uint8_t remote_org[ENT_PK_LEN];
    uint8_t hh[ENT_NOISE_HASH_LEN];
    ent_noise *hs;
    ent_noise_cipher *tx, *rx;
    ent_wire_reader *rd;
    size_t pending;     /* bytes in write requests not yet completed */
    uint64_t last_rx;   /* uv_now() of the last bytes received */
    uint64_t tokens;    /* frame-rate bucket, in thousandths of a frame */
    uint64_t tokens_at; /* uv_now() of the last refill */
    ent_flow flow;      /* credit both ways (protocol/flow.h) */
    char port[8];       /* while resolving */
    char addr[ADDR_LEN];
    char host[HOST_LEN]; /* the IP of addr (accepted), or the dialled host */
    void *user;
};

/*
 * The refusal summary of one interval (spec/sessions.md "Refusal summary"):
 * how many, why (reasons in order of first appearance) and from which
 * addresses. The first refusal after a quiet time starts the interval; one
 * line at its end says it all.
 */
typedef struct refusal_log {
    uint64_t n;
    const char *why[ENT_SESSION_REFUSAL_REASONS];
    uint64_t count[ENT_SESSION_REFUSAL_REASONS];
    size_t nwhy;
    uint64_t other; /* refusals for reasons beyond the table */
    char addrs[ENT_SESSION_REFUSAL_ADDRS][HOST_LEN];
    size_t naddrs;
    bool addrs_full;  /* more addresses than the table holds */
    uint64_t started; /* uv_now() of the first refusal of the interval */
    bool running;     /* the timer runs */
} refusal_log;

struct ent_session_mgr {
    uv_loop_t *loop;
    const ent_identity *id;
    const ent_log *log;
    ent_session_callbacks cb;
    void *data;
    ent_session_config cfg;
    ent_session_stats st;
    ent_session *head;
    uv_tcp_t listener;
    uv_timer_t anchor;   /* makes the completion of mgr_close asynchronous */
    uv_timer_t sumtimer; /* ends an interval of the refusal summary */
    int handles;         /* listener, anchor and sumtimer, not yet closed */
    refusal_log rl;
    bool listener_inited;
    bool closing;
    bool flow; /* sessions opened from now on use flow/1 (PROBE) */
    ent_session_mgr_close_cb close_cb;
    void *close_data;
    char listen_addr[ADDR_LEN];
    int dump_fd;         /* ENTENTE_WIRE_DUMP test hook; -1 when off */
    uint8_t rbuf[65536]; /* socket reads, all sessions */
    uint8_t pbuf[ENT_NOISE_MAX_MSG]; /* decrypted plaintext */
};

/* One queued frame: the write request and the bytes it writes. */
typedef struct wreq {
    uv_write_t req;
    ent_session *s;
    size_t len;
    uint8_t buf[];
} wreq;

#endif
