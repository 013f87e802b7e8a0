/*
 * Connection state recovery (internal): the sessions of sockets that left
 * for a recoverable reason, and the history of what was emitted
 * (history.h), one of each per server. The Socket.IO layer calls in at
 * four points: an emit that a recovery may need (recovery_offset() then
 * recovery_store()), a socket leaving (recovery_persist()), a CONNECT
 * (recovery_find(), recovery_apply(), then recovery_resume() once the
 * socket is let in) and a namespace going away.
 *
 * What a session keeps of its socket: the id, pid, rooms, JSON data, and
 * three offsets that make a replay exact: `start` (the last offset given
 * out when it first connected), `rooms_seq` (the same when its rooms last
 * changed) and `delivered` (the last record it was a recipient of). A
 * record after `delivered` and before the disconnect was not for it; one
 * after the disconnect was for it when it matches the rooms it left with;
 * one between the client's offset and `delivered` is judged by the
 * rooms, which is exact only when they did not change since that offset.
 */
#ifndef SIOC_SERVER_RECOVERY_H
#define SIOC_SERVER_RECOVERY_H

#include <stdbool.h>
#include <stdint.h>

#include <sioc.h>

#include "transports/queue.h"

struct sio_layer;
struct sio_namespace;
struct sio_socket;
struct sio_client;
struct recovery;
struct rec_session;

/* The recovery state of a layer whose options enable it; NULL when out of
 * memory. */
struct recovery *recovery_create(struct sio_layer *io);
/* Frees every session and record. NULL is a no-op. */
void recovery_destroy(struct recovery *rc);

/* The last offset given out (what a socket's stamps hold). */
uint64_t recovery_now(const struct recovery *rc);
/* Whether a recovered socket skips the namespace's middleware. */
bool recovery_skip_middlewares(const struct recovery *rc);

/* Appends the next offset (a string) to the event array `data`, for an
 * emit to be stored with recovery_store() right after encoding. Returns
 * the offset, or 0 when out of memory (then nothing was appended and the
 * emit is not stored). */
uint64_t recovery_offset(struct recovery *rc, json_t *data);
/* Stores the emit numbered seq: in nsp, to the selection t (NULL: all) or,
 * when `to` is set, to that socket alone. The buffers get a reference. */
void recovery_store(struct recovery *rc, uint64_t seq, const struct sio_namespace *nsp,
                    const struct sio_target *t, const char *to, struct outbuf **bufs, size_t n);

/* Keeps the session of s, which is leaving for `reason`, when that reason
 * is one the reference keeps sessions for. Its rooms must still be
 * joined. */
void recovery_persist(struct recovery *rc, struct sio_socket *s, const char *reason);

/* A connected socket of s's namespace is findable by its pid from now on
 * until recovery_forget(). */
void recovery_remember(struct recovery *rc, struct sio_socket *s);
void recovery_forget(struct recovery *rc, struct sio_socket *s);
/* A CONNECT on client c whose auth names, with an offset it may hold, the
 * pid of a socket of nsp still connected on another connection: the client
 * came back before the server saw the old transport go (a client-side
 * ping timeout, a network switch). When the old connection has left a
 * ping unanswered for half the ping timeout or more, it is closed (reason
 * "transport close"), which keeps the session for recovery_find(); a live
 * one is left alone. */
void recovery_take_over(struct recovery *rc, const struct sio_namespace *nsp,
                        const struct sio_client *c, const json_t *auth);
/* The session a CONNECT to nsp with `auth` may take back, or NULL: the
 * pid must name a live session of nsp and the offset (absent: nothing
 * received) one the server can replay exactly from. *from is where the
 * replay starts. The session stays kept until recovery_resume(). */
struct rec_session *recovery_find(struct recovery *rc, const struct sio_namespace *nsp,
                                  const json_t *auth, uint64_t *from);
/* Gives the new socket s (not connected yet) the session's id, pid, rooms
 * and JSON data, before its middleware runs. Returns 0 or SIO_ENOMEM. */
int recovery_apply(struct recovery *rc, struct sio_socket *s, struct rec_session *sess);
/* s is let in: the session ends, and every record after `from` that was
 * or would have been for it is queued on its connection. */
void recovery_resume(struct recovery *rc, struct sio_socket *s, struct rec_session *sess,
                     uint64_t from);
/* The sessions kept, and the history's records and bytes, now. */
void recovery_counts(const struct recovery *rc, uint64_t *sessions, uint64_t *records,
                     uint64_t *bytes);
/* Sockets join / leave on a selection (this node's call or another
 * node's request): every session of nsp kept for a socket that the
 * selection t (NULL: all) holds, judged by the rooms it has now, joins
 * (join) or leaves `room` too, from the next offset on: what is replayed
 * to it is judged by its rooms at each record's time, and a recovery gives
 * it the rooms it has then. A session that cannot keep the change (out of
 * memory, SESSION_MAX_CHANGES) is dropped. */
void recovery_sessions_rooms(struct recovery *rc, struct sio_namespace *nsp,
                             const struct sio_target *t, const char *room, bool join);
/* Disconnect sockets on a selection: the sessions of nsp that t holds are
 * dropped (a deliberate disconnect keeps nothing). */
void recovery_sessions_drop(struct recovery *rc, struct sio_namespace *nsp,
                            const struct sio_target *t);
/* Forgets the sessions of nsp (a namespace being freed). */
void recovery_drop_namespace(struct recovery *rc, struct sio_namespace *nsp);

#endif
