/*
 * notify.h - readiness and state changes of `entente serve` for a service
 * manager, in the sd_notify(3) protocol of systemd (Type=notify units),
 * without libsystemd: one datagram of "KEY=VALUE" lines written to the
 * AF_UNIX datagram socket whose path the manager put in $NOTIFY_SOCKET.
 *
 * The caller reads the environment and passes the socket name in, so that
 * tests can point it at a socket of their own.
 */
#ifndef ENT_DAEMON_NOTIFY_H
#define ENT_DAEMON_NOTIFY_H

/*
 * Sends state (for instance "READY=1\nSTATUS=listening on 0.0.0.0:7411")
 * as one datagram to the socket named socket_name: an absolute path, or an
 * abstract socket written with a leading '@'. socket_name NULL or "" means
 * no service manager asked: nothing is sent and ENT_OK is returned. Never
 * blocks (MSG_DONTWAIT): a manager that does not read loses the message.
 * @return ENT_OK; ENT_EINVAL (socket_name is neither an absolute path nor
 *         '@'-prefixed, or state is empty); ENT_ETOOBIG (name longer than a
 *         socket address holds); ENT_ENOENT, ENT_EPERM, ENT_EAGAIN or
 *         another translated errno from socket() or sendto().
 */
int ent_daemon_notify(const char *socket_name, const char *state);

#endif
