/*
 * daemon.h - the composition of a running node: what `entente serve` starts.
 *
 * This is the one place that knows every subsystem. ent_daemon_open() opens
 * the node handle (node/node.h) and creates, wires and attaches, lowest
 * first, the object engine (node/objects), the peer layer (node/peers, which
 * brings witnessing from node/audit) and the local API (node/api). Lower parts
 * never call their owner: the handle drives the parts through their
 * ent_node_part tables, and the parts report upward through callbacks that
 * are set here (the object engine's org_name callback asks the peer layer for
 * partner names, for instance). The rest of the life cycle is the handle's:
 * ent_node_start(), ent_node_stop() and ent_node_free().
 */
#ifndef ENT_DAEMON_H
#define ENT_DAEMON_H

#include "node/node.h"

struct uv_loop_s;

/*
 * Opens the node of home (ent_node_open_diag) with the object engine, the
 * peer layer and the local API attached. loop and log are borrowed and must
 * outlive the node; log and diag may be NULL. Free the result with
 * ent_node_free(). @return the errors of ent_node_open_diag(), ENT_ENOMEM,
 * or those of a part's constructor.
 */
int ent_daemon_open_diag(ent_node **out, struct uv_loop_s *loop,
                         const char *home, const ent_log *log,
                         ent_node_diag *diag);

/* ent_daemon_open_diag() without the diagnosis. */
int ent_daemon_open(ent_node **out, struct uv_loop_s *loop, const char *home,
                    const ent_log *log);

/*
 * Writes to out the peer address this node advertises to partners (in
 * invites and HELLO; the peer layer decides, node/peers/peer.h), or "" when
 * no peer layer is attached. Meaningful once the node is started.
 */
void ent_daemon_advertised(ent_node *n, char out[ENT_ADDR_STRLEN]);

#endif
